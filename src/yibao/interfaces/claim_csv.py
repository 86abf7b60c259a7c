"""Reading people and claims from CSV files (UTF-8, header row).

``people.csv``
    ``psn_no`` (required), ``psn_name``, ``insutype`` (390 resident / 310 employee, default 390),
    ``identities`` — ``category:from[:to]`` items separated by ``|``, category as code or Chinese
    name (``低保:2022-01-01|jiance:2022-07-01:2022-12-31``), ``chronic_filings`` —
    ``dise_codg:from[:to]`` items, ``cross_region_filings`` — ``from[:to[:kind]]`` items (kind: long_term,
    referral or temporary; none: a filing of no stated kind),
    ``emp_status`` (in_service / retired), ``emp_tier`` (unit / individual_1 / individual_2),
    ``birth_date`` (YYYY-MM-DD) or ``certno`` (the 18-character resident ID number: the birth date is
    taken from it; both given, they must agree) for lines that go by age, ``resident_tiers`` — the
    residents' contribution tier ``tier:from[:to]`` items, tier 1 / 2 / 一档 / 二档
    (``二档:2023-01-01:2023-12-31``), ``institutions`` — institutions chosen ``role:fixmedins_code:from[:to]``
    items, role designated (general outpatient), linked or signed (chronic outpatient), ``family_doctor`` —
    family-doctor contracts ``from[:to]`` items, ``acct_balance`` — employees' personal-account (个人账户) balance in
    yuan with at most two decimals, before the year's claims (empty: none; a resident's must be empty),
    ``township`` — the township (乡镇) the person lives in and ``signed_township`` — the township of the institution
    the person signed with (both optional: who a capitation township counts).

``claims.csv``
    ``claim_id``, ``psn_no``, ``setl_date`` (YYYY-MM-DD), ``med_type`` (11, 14, 21 …),
    ``hosp_lv`` (1–3), ``place`` (in_county / out_of_county / cross_region / cross_emergency, default in_county),
    ``dise_codg``, ``fixmedins_code``; for a summarised claim the amounts in yuan
    ``medfee_sumamt``, ``fulamt_ownpay_amt``, ``overlmt_selfpay``, ``preselfpay_amt`` and optionally
    ``inscp_scp_amt``, and the parts of it a line pays apart ``full_pay_scp_amt``, ``fixed_share_scp_amt``,
    ``class_b_scp_amt``. Leave ``medfee_sumamt`` empty when the claim's fee lines are given.
    ``major_dise_flag`` (optional): 1 when the claim is for a 重特大疾病 (the assistance tiers' ``major``
    terms apply, as for their ``major_diseases`` codes); 0 or empty otherwise. ``township`` (optional): the
    township group of the claim's institution (a township hospital or one of its village clinics; empty: none),
    which decides whether the claim draws on a capitation township's pot.

``fee_lines.csv`` (optional)
    ``claim_id``, ``feedetl_sn``, ``med_list_codg``, ``med_list_name``, ``chrgitm_lv`` (01/02/03),
    ``det_item_fee_sumamt`` (yuan), ``cnt``, ``pric`` (yuan).

Every row is checked; all problems are reported together, each with file, row, field and value.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from yibao.core.errors import InputError, InputErrors
from yibao.core.idcard import parse_certno
from yibao.core.identities import IdentityPeriod, normalise_category
from yibao.core.money import yuan_to_fen
from yibao.settlement.model import (
    FILING_KINDS,
    INSTITUTION_ROLES,
    PLACES_IN,
    ChronicFiling,
    Claim,
    FeeLine,
    InstitutionChoice,
    Period,
    Person,
    PolicyRangeSummary,
    ResidentTierPeriod,
    yes_no,
)
from yibao.settlement.policy_range import SCP_PARTS

T = TypeVar("T")


@dataclass
class Row:
    file: str
    number: int
    values: dict[str, str]
    errors: list[InputError]

    def where(self) -> str:
        return f"{self.file} row {self.number}"

    def text(self, name: str, required: bool = False, default: str = "") -> str:
        v = (self.values.get(name) or "").strip()
        if required and not v:
            self.errors.append(InputError(self.where(), name, v, "a value (this column is required)"))
        return v or default

    def parse(self, name: str, conv: Callable[[str], T], expected: str, required: bool = False) -> T | None:
        raw = self.text(name, required)
        if not raw:
            return None
        try:
            return conv(raw)
        except (ValueError, InvalidOperation) as exc:
            detail = str(exc) if isinstance(exc, ValueError) and str(exc) else ""
            self.errors.append(InputError(self.where(), name, raw, expected + (f" ({detail})" if detail else "")))
            return None

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
        raw = self.text(name)
        if not raw:
            return default
        if raw not in allowed:
            self.errors.append(InputError(self.where(), name, raw, " / ".join(allowed)))
            return default
        return raw


def read_rows(path: Path, required: tuple[str, ...]) -> list[Row]:
    errors: list[InputError] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in required if c not in header]
            if missing:
                raise InputErrors(
                    [InputError(path.name, "header", ",".join(header), f"columns {list(required)}; missing {missing}")]
                )
            reader.fieldnames = header
            return [Row(path.name, i, dict(r), errors) for i, r in enumerate(reader, start=2)]
    except FileNotFoundError:
        raise InputErrors([InputError(str(path), "file", str(path), "an existing CSV file")]) from None
    except UnicodeDecodeError:
        raise InputErrors([InputError(path.name, "encoding", "not UTF-8", "a UTF-8 CSV (save as “CSV UTF-8”)")]) from None


def _day(text: str) -> date:
    return date.fromisoformat(text.strip())


def _periods(text: str) -> list[list[str]]:
    return [item.split(":") for item in text.split("|") if item.strip()]


def _identities(text: str) -> tuple[IdentityPeriod, ...]:
    out = []
    for parts in _periods(text):
        if len(parts) not in (2, 3):
            raise ValueError(f"item {':'.join(parts)!r} is not category:from[:to]")
        out.append(
            IdentityPeriod(normalise_category(parts[0]), _day(parts[1]), _day(parts[2]) if len(parts) == 3 and parts[2] else None)
        )
    return tuple(out)


def _filings(text: str) -> tuple[ChronicFiling, ...]:
    out = []
    for parts in _periods(text):
        if len(parts) not in (2, 3) or not parts[0].strip():
            raise ValueError(f"item {':'.join(parts)!r} is not dise_codg:from[:to]")
        out.append(ChronicFiling(parts[0].strip(), _day(parts[1]), _day(parts[2]) if len(parts) == 3 and parts[2] else None))
    return tuple(out)


def _cross(text: str) -> tuple[Period, ...]:
    """Cross-region filings: ``from[:to[:kind]]`` items (kind one of :data:`FILING_KINDS`)."""
    out = []
    for parts in _periods(text):
        if len(parts) not in (1, 2, 3) or (len(parts) == 3 and parts[2].strip() not in FILING_KINDS):
            raise ValueError(f"item {':'.join(parts)!r} is not from[:to[:kind]]")
        kind = parts[2].strip() if len(parts) == 3 else ""
        out.append(Period(_day(parts[0]), _day(parts[1]) if len(parts) >= 2 and parts[1] else None, kind))
    return tuple(out)


def _spans(text: str) -> tuple[Period, ...]:
    """Plain ``from[:to]`` items (family-doctor contracts)."""
    out = []
    for parts in _periods(text):
        if len(parts) not in (1, 2):
            raise ValueError(f"item {':'.join(parts)!r} is not from[:to]")
        out.append(Period(_day(parts[0]), _day(parts[1]) if len(parts) == 2 and parts[1] else None))
    return tuple(out)


_TIER_NAMES = {"1": 1, "2": 2, "一档": 1, "二档": 2}


def _tiers(text: str) -> tuple[ResidentTierPeriod, ...]:
    out = []
    for parts in _periods(text):
        if len(parts) not in (2, 3) or parts[0].strip() not in _TIER_NAMES:
            raise ValueError(f"item {':'.join(parts)!r} is not tier:from[:to]")
        tier = _TIER_NAMES[parts[0].strip()]
        out.append(ResidentTierPeriod(tier, _day(parts[1]), _day(parts[2]) if len(parts) == 3 and parts[2] else None))  # type: ignore[arg-type]
    return tuple(out)


def _institutions(text: str) -> tuple[InstitutionChoice, ...]:
    out = []
    for parts in _periods(text):
        if len(parts) not in (3, 4) or parts[0].strip() not in INSTITUTION_ROLES or not parts[1].strip():
            raise ValueError(f"item {':'.join(parts)!r} is not role:fixmedins_code:from[:to]")
        role, code = parts[0].strip(), parts[1].strip()
        out.append(InstitutionChoice(code, role, _day(parts[2]), _day(parts[3]) if len(parts) == 4 and parts[3] else None))  # type: ignore[arg-type]
    return tuple(out)


def _birth_date(row: Row) -> date | None:
    """``birth_date``, else the birth date in ``certno``; both given and different: an error."""
    given = row.parse("birth_date", _day, "a date written YYYY-MM-DD")
    certno = row.text("certno")
    if not certno:
        return given
    try:
        from_id = parse_certno(certno).brdy
    except ValueError as exc:
        row.errors.append(InputError(row.where(), "certno", certno, f"a resident ID number ({exc})"))
        return given
    if given is not None and given != from_id:
        row.errors.append(InputError(row.where(), "birth_date", given.isoformat(), f"the birth date in certno ({from_id})"))
    return from_id


ACCT_BALANCE_EXPECTED = "an amount in yuan >= 0 with at most 2 decimals"
MAX_BALANCE_FEN = 10**10
"""Largest personal-account balance accepted (100,000,000 yuan): anything larger is a typing error."""


def _balance(text: str) -> int:
    fen = yuan_to_fen(text)
    if not 0 <= fen <= MAX_BALANCE_FEN:
        raise ValueError("from 0 to 100,000,000 yuan")
    return fen


def acct_balance(row: Row, insutype: str | None) -> int | None:
    """The row's ``acct_balance`` (yuan, at most two decimals) in fen; ``None`` when empty. Only an employee (insutype 310)
    has a personal account: a resident's balance is an error."""
    fen = row.parse("acct_balance", _balance, ACCT_BALANCE_EXPECTED)
    if fen is not None and insutype != "310":
        expected = "empty for a resident (390): only employees (310) have a personal account"
        row.errors.append(InputError(row.where(), "acct_balance", row.text("acct_balance"), expected))
        return None
    return fen


def read_account_balances(path: Path) -> list[tuple[str, str, int]]:
    """The personal-account balances of a people file (``psn_no`` and ``acct_balance`` columns; rows with no balance are
    left out): ``(where, psn_no, fen)`` per row; every bad row is reported, with file, row, field and value."""
    rows = read_rows(path, ("psn_no", "acct_balance"))
    out = []
    for row in rows:
        psn_no = row.text("psn_no", required=True)
        fen = acct_balance(row, row.text("insutype") or "310")
        if psn_no and fen is not None:
            out.append((row.where(), psn_no, fen))
    _raise(rows[0].errors if rows else [])
    return out


TOWNSHIP_EXPECTED = "a township name of at most 64 characters on one line, without | or :"
TOWNSHIP_EXPECTED_ZH = "乡镇名称（一行，至多 64 个字符，不含 | 或 :）"


def township(row: Row, name: str) -> str:
    """A township column (``township``, ``signed_township``): the name as written, trimmed; empty: none. A name
    is one line of at most 64 characters without the list separators ``|`` and ``:`` (items of a list column pasted
    into it are refused)."""
    text = row.text(name)
    if len(text) > 64 or any(ch in text for ch in "|:\r\n"):
        row.errors.append(InputError(row.where(), name, text, TOWNSHIP_EXPECTED, expected_zh=TOWNSHIP_EXPECTED_ZH))
        return ""
    return text


def _raise(errors: list[InputError]) -> None:
    if errors:
        raise InputErrors(errors)


def read_people(path: Path) -> dict[str, Person]:
    rows = read_rows(path, ("psn_no",))
    people: dict[str, Person] = {}
    for row in rows:
        psn_no = row.text("psn_no", required=True)
        if psn_no in people:
            row.errors.append(InputError(row.where(), "psn_no", psn_no, "each person once"))
        insutype = row.choice("insutype", ("390", "310"), "390")
        kw: dict[str, Any] = {
            "psn_no": psn_no,
            "psn_name": row.text("psn_name"),
            "insutype": insutype,
            "identities": row.parse("identities", _identities, "category:YYYY-MM-DD[:YYYY-MM-DD] items joined by |") or (),
            "chronic_filings": row.parse("chronic_filings", _filings, "dise_codg:YYYY-MM-DD[:YYYY-MM-DD] items joined by |")
            or (),
            "cross_region_filings": row.parse("cross_region_filings", _cross, "YYYY-MM-DD[:YYYY-MM-DD[:kind]] items joined by |")
            or (),
            "emp_status": row.choice("emp_status", ("in_service", "retired")),
            "emp_tier": row.choice("emp_tier", ("unit", "individual_1", "individual_2")),
            "birth_date": _birth_date(row),
            "resident_tiers": row.parse("resident_tiers", _tiers, "tier:YYYY-MM-DD[:YYYY-MM-DD] items joined by |") or (),
            "institutions": row.parse(
                "institutions", _institutions, "role:fixmedins_code:YYYY-MM-DD[:YYYY-MM-DD] items joined by |"
            )
            or (),
            "family_doctor": row.parse("family_doctor", _spans, "YYYY-MM-DD[:YYYY-MM-DD] items joined by |") or (),
            "acct_balance": acct_balance(row, insutype) or 0,
            **{name: township(row, name) for name in ("township", "signed_township")},
        }
        if psn_no:
            people[psn_no] = Person(**kw)
    _raise(rows[0].errors if rows else [])
    return people


def _fen(text: str) -> int:
    return yuan_to_fen(text)


def read_fee_lines(path: Path) -> dict[str, list[FeeLine]]:
    rows = read_rows(path, ("claim_id", "med_list_codg", "chrgitm_lv", "det_item_fee_sumamt"))
    out: dict[str, list[FeeLine]] = defaultdict(list)
    for row in rows:
        claim_id = row.text("claim_id", required=True)
        lv = row.choice("chrgitm_lv", ("01", "02", "03"))
        amount = row.parse("det_item_fee_sumamt", _fen, "an amount in yuan >= 0 with at most 2 decimals", required=True)
        if amount is not None and amount < 0:
            row.errors.append(InputError(row.where(), "det_item_fee_sumamt", row.text("det_item_fee_sumamt"), "an amount >= 0"))
        cnt = row.parse("cnt", Decimal, "a number such as 1 or 0.5")
        pric = row.parse("pric", _fen, "a unit price in yuan with at most 2 decimals")
        if claim_id and lv and amount is not None:
            sn = row.text("feedetl_sn") or f"{claim_id}-{len(out[claim_id]) + 1}"
            out[claim_id].append(
                FeeLine(
                    sn,
                    row.text("med_list_codg", required=True),
                    amount,
                    lv,
                    cnt if cnt is not None else Decimal(1),
                    pric,
                    row.text("med_list_name"),
                )
            )
    _raise(rows[0].errors if rows else [])
    return dict(out)


def claim_person(path: Path, claim_id: str) -> str | None:
    """The ``psn_no`` of claim ``claim_id`` in a claims file (None: no such claim)."""
    for row in read_rows(path, ("claim_id", "psn_no")):
        if row.text("claim_id") == claim_id:
            return row.text("psn_no")
    return None


def read_claims(
    path: Path, people: dict[str, Person], fee_lines: dict[str, list[FeeLine]] | None = None, only: str | None = None
) -> list[Claim]:
    """Every claim of the file (``only``: the claims of that one person, the others' rows neither read nor checked)."""
    rows = read_rows(path, ("claim_id", "psn_no", "setl_date", "med_type", "hosp_lv"))
    fee_lines = fee_lines or {}
    claims: list[Claim] = []
    seen: set[str] = set()
    for row in rows:
        if only is not None and row.text("psn_no") != only:
            continue
        claim_id = row.text("claim_id", required=True)
        if claim_id in seen:
            row.errors.append(InputError(row.where(), "claim_id", claim_id, "each claim once"))
        seen.add(claim_id)
        psn_no = row.text("psn_no", required=True)
        if psn_no and psn_no not in people:
            row.errors.append(InputError(row.where(), "psn_no", psn_no, "a person listed in the people file"))
        day = row.parse("setl_date", _day, "a date YYYY-MM-DD", required=True)
        lv = row.choice("hosp_lv", ("1", "2", "3"))
        place = row.choice("place", PLACES_IN, "in_county")
        med_type = row.text("med_type", required=True)
        summary = None
        lines = tuple(fee_lines.get(claim_id, ()))
        if row.text("medfee_sumamt"):
            amounts = {
                n: row.parse(n, _fen, "an amount in yuan with at most 2 decimals")
                for n in (
                    "medfee_sumamt",
                    "fulamt_ownpay_amt",
                    "overlmt_selfpay",
                    "preselfpay_amt",
                    "inscp_scp_amt",
                    *SCP_PARTS,
                )
            }
            if lines:
                row.errors.append(
                    InputError(
                        row.where(),
                        "medfee_sumamt",
                        row.text("medfee_sumamt"),
                        "empty when the claim's fee lines are given in the fee-lines file",
                    )
                )
            if amounts["medfee_sumamt"] is not None:
                summary = PolicyRangeSummary(
                    medfee_sumamt=amounts["medfee_sumamt"],
                    fulamt_ownpay_amt=amounts["fulamt_ownpay_amt"] or 0,
                    overlmt_selfpay=amounts["overlmt_selfpay"] or 0,
                    preselfpay_amt=amounts["preselfpay_amt"] or 0,
                    inscp_scp_amt=amounts["inscp_scp_amt"],
                    **{n: amounts[n] or 0 for n in SCP_PARTS},
                )
        elif not lines:
            row.errors.append(InputError(row.where(), "medfee_sumamt", "", "a total in yuan, or fee lines for this claim"))
        if claim_id and psn_no and day and lv and place and med_type and (summary or lines):
            claims.append(
                Claim(
                    claim_id,
                    psn_no,
                    day,
                    med_type,
                    int(lv),
                    place,  # type: ignore[arg-type]
                    row.text("dise_codg"),
                    lines if summary is None else (),
                    summary,
                    row.text("fixmedins_code"),
                    major_dise_flag=bool(row.parse("major_dise_flag", yes_no, "1 or 0 (yes/no, true/false), or empty")),
                    township=township(row, "township"),
                )
            )
    _raise(rows[0].errors if rows else [])
    return claims
