"""Money: integer fen everywhere.

Amounts are ``int`` numbers of fen (0.01 yuan). Ratios are ``int`` basis points
(1/10000: 70% == 7000). Floats never touch an amount.

The rounding rule (one rule, used everywhere)
---------------------------------------------
A payer's amount for a claim is computed exactly as ``fen x basis points`` (an
integer in units of 1/10000 fen) and rounded **once**, half up, to the fen
(:func:`apply_ratio`; the same as the national platform's two-decimal yuan
rounding). Every payer is rounded separately, in tier order; the patient's part is
never rounded: it is the bill total minus the rounded payments, so the payers'
parts plus the patient's part equal the bill total exactly.

Per-fee-line shares (the 乙类 self-pay-first share, over-limit price excess) are
rounded by the same rule per line, then summed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:  # the same rule on arrays and frame expressions; money itself imports neither
    import numpy as np
    import numpy.typing as npt
    import polars as pl

BP = 10_000  # basis points in 100 %
FEN_PER_YUAN = 100
MAX_YUAN = 10**12
"""No bill or parameter reaches a trillion yuan; larger numbers are typing errors (and would overflow)."""


@overload
def half_up(numerator: int, denominator: int) -> int: ...
@overload
def half_up(numerator: npt.NDArray[np.int64], denominator: int) -> npt.NDArray[np.int64]: ...
@overload
def half_up(numerator: pl.Expr, denominator: int | pl.Expr) -> pl.Expr: ...
def half_up(numerator: Any, denominator: Any) -> Any:
    """The rounding rule itself: ``numerator / denominator`` rounded half up, in integers.

    Works alike on an ``int``, a numpy int64 array (the batch engine) and a polars
    expression; numerators must be >= 0 and denominators > 0 (checked by
    :func:`round_half_up_div` for scalars).
    """
    return (2 * numerator + denominator) // (2 * denominator)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative numerators."""
    if numerator < 0 or denominator <= 0:
        raise ValueError(f"round_half_up_div needs numerator >= 0 and denominator > 0, got {numerator}/{denominator}")
    return half_up(numerator, denominator)


def apply_ratio(amount_fen: int, ratio_bp: int) -> int:
    """``amount x ratio`` in fen, rounded half up to the fen."""
    return round_half_up_div(amount_fen * ratio_bp, BP)


_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")
"""An amount with thousands separators as people write it: ``1,234.56``, ``-12,345``."""


def yuan_to_fen(value: object, *, thousands: bool = True) -> int:
    """Exact yuan (int, str or Decimal, at most two decimals) to fen.

    Floats are accepted only when they are exactly representable with two decimals
    after a round trip through ``str`` (YAML gives floats for ``12.5``); anything
    with more than two decimals is refused rather than rounded.

    A comma is never a decimal comma: it is read as a thousands separator only between groups of
    three digits before the point (``1,234.56``), and refused anywhere else (``"1,25"`` is neither
    1.25 nor 125 yuan). ``thousands=False`` refuses every comma (amounts a machine sends: the
    national interface, the counter's typed amounts).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an amount in yuan, got {value!r}")
    if isinstance(value, int):
        if abs(value) >= MAX_YUAN:
            raise ValueError(f"expected an amount below {MAX_YUAN:,} yuan, got {value!r}")
        return value * FEN_PER_YUAN
    text = str(value).strip()
    if "," in text:
        if not thousands:
            raise ValueError(f"expected an amount without commas (the decimal point is '.', as in 1.25), got {value!r}")
        if not _GROUPED.fullmatch(text):
            raise ValueError(f"expected a comma only between groups of three digits (1,234.56), got {value!r}")
        text = text.replace(",", "")
    try:
        dec = Decimal(text)
    except (ArithmeticError, ValueError) as exc:
        raise ValueError(f"expected an amount in yuan such as 1500 or 12.50, got {value!r}") from exc
    if not dec.is_finite():
        raise ValueError(f"expected a finite amount in yuan, got {value!r}")
    if dec.adjusted() >= 12:  # compares the exponent: no arithmetic on a huge number
        raise ValueError(f"expected an amount below {MAX_YUAN:,} yuan, got {value!r}")
    fen = dec * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"expected at most two decimals (whole fen), got {value!r}")
    return int(fen)


def percent_to_bp(value: object) -> int:
    """Exact percent (``70``, ``72.5``, ``"60%"``) to basis points."""
    if isinstance(value, bool):
        raise ValueError(f"expected a percentage, got {value!r}")
    text = str(value).strip().rstrip("%")
    try:
        dec = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"expected a percentage such as 70 or 72.5, got {value!r}") from exc
    if not dec.is_finite():
        raise ValueError(f"expected a finite percentage, got {value!r}")
    if dec.adjusted() >= 6:
        raise ValueError(f"expected a percentage such as 70 or 72.5, got {value!r}")
    bp = dec * 100
    if bp != bp.to_integral_value():
        raise ValueError(f"expected at most two decimals in a percentage, got {value!r}")
    return int(bp)


def fen_to_yuan_str(fen: int) -> str:
    """``123456`` -> ``"1234.56"`` (exact; for display and exports)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{part:02d}"


def fmt_yuan(fen: int) -> str:
    """``123456`` -> ``"1,234.56"`` for people to read."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{part:02d}"


def fmt_percent(bp: int) -> str:
    """``7250`` -> ``"72.5%"``; ``-250`` -> ``"-2.5%"``."""
    sign = "-" if bp < 0 else ""
    whole, part = divmod(abs(bp), 100)
    return f"{sign}{whole}%" if part == 0 else f"{sign}{whole}.{part:02d}".rstrip("0") + "%"


def optional_yuan(text: str | None, where: str, field: str) -> int | None:
    """Typed yuan (blank: ``None``) to fen; anything else is refused naming ``field``."""
    from yibao.core.errors import InputError  # errors does not import money; kept local so money stays dependency-free

    if text is None or not text.strip():
        return None
    try:
        return yuan_to_fen(text.strip())
    except (ValueError, ArithmeticError):
        raise InputError(where, field, text, "金额（元），最多两位小数 / yuan with at most two decimals") from None
