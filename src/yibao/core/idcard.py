"""Resident ID numbers (居民身份证号码, GB 11643-1999): 18 characters, the last a check digit or X."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yibao.core.clock import beijing_today

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class IdNumber:
    certno: str
    admdvs: str
    """The six-digit administrative division of first registration."""
    brdy: date
    gend: str
    """"1" male (odd 17th digit), "2" female."""


def parse_certno(raw: object) -> IdNumber:
    """Validate and parse; ``ValueError`` says what is wrong in terms a clerk can act on."""
    text = str(raw).strip().upper() if raw is not None else ""
    if len(text) != 18:
        raise ValueError(f"18 characters (GB 11643), got {len(text)}")
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise ValueError("17 digits followed by a digit or X")
    try:
        brdy = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError(f"a real birth date in characters 7-14, got {text[6:14]}") from None
    if brdy.year < 1880 or brdy > beijing_today():
        raise ValueError(f"a plausible birth date in characters 7-14, got {brdy.isoformat()}")
    expected = check_digit(text[:17])
    if text[17] != expected:
        raise ValueError(f"check digit {expected} (GB 11643), got {text[17]}")
    return IdNumber(text, text[:6], brdy, "1" if int(text[16]) % 2 else "2")


def mask(certno: str) -> str:
    """``530902199001011234`` -> ``530902********1234`` for lists, exports and logs."""
    return certno[:6] + "*" * 8 + certno[14:] if len(certno) == 18 else "*" * len(certno)
