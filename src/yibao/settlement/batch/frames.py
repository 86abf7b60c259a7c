"""Person and claim objects <-> the batch engine's tables (for tests, small runs and cross-checks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from yibao.settlement.batch.engine import BatchInput
from yibao.settlement.batch.prepare import FAMILY_DOCTOR_SCHEMA, INSTITUTION_SCHEMA, RESIDENT_TIER_SCHEMA
from yibao.settlement.model import Claim, Person, YearToDate

IDENTITY_SCHEMA = {"psn_no": pl.Utf8, "category": pl.Utf8, "valid_from": pl.Date, "valid_to": pl.Date}
FILING_SCHEMA = {"psn_no": pl.Utf8, "dise_codg": pl.Utf8, "begin": pl.Date, "end": pl.Date}
CROSS_SCHEMA = {"psn_no": pl.Utf8, "begin": pl.Date, "end": pl.Date, "kind": pl.Utf8}


def _side(people: list[Person], attribute: str, schema: dict[str, Any]) -> pl.DataFrame:
    """A side table: one row per item of each person's ``attribute`` (identities, filings, tiers …), ``psn_no``
    then the item's fields named by the schema's other columns."""
    fields = list(schema)[1:]
    rows = [(p.psn_no, *(getattr(item, f) for f in fields)) for p in people for item in getattr(p, attribute)]
    return pl.DataFrame(rows, schema=schema, orient="row")


def to_frames(people: Iterable[Person], claims: Iterable[Claim]) -> BatchInput:
    """Tables for :func:`yibao.settlement.batch.engine.settle_batch`; claims must be summarised."""
    people = list(people)
    rows = []
    for c in claims:
        if c.summary is None:
            raise ValueError(f"claim {c.claim_id}: the batch engine takes summarised claims")
        s = c.summary
        rows.append({
            "claim_id": c.claim_id, "psn_no": c.psn_no, "setl_date": c.setl_date, "med_type": c.med_type,
            "hosp_lv": c.hosp_lv, "place": c.place, "dise_codg": c.dise_codg, "medfee_sumamt": s.medfee_sumamt,
            "fulamt_ownpay_amt": s.fulamt_ownpay_amt, "overlmt_selfpay": s.overlmt_selfpay,
            "preselfpay_amt": s.preselfpay_amt, "inscp_scp_amt": s.inscp_scp_amt, "full_pay_scp_amt": s.full_pay_scp_amt,
            "fixed_share_scp_amt": s.fixed_share_scp_amt, "class_b_scp_amt": s.class_b_scp_amt,
            "fixmedins_code": c.fixmedins_code, "major_dise_flag": c.major_dise_flag, "township": c.township,
        })  # fmt: skip
    claim_schema = {
        "claim_id": pl.Utf8, "psn_no": pl.Utf8, "setl_date": pl.Date, "med_type": pl.Utf8, "hosp_lv": pl.Int64,
        "place": pl.Utf8, "dise_codg": pl.Utf8, "medfee_sumamt": pl.Int64, "fulamt_ownpay_amt": pl.Int64,
        "overlmt_selfpay": pl.Int64, "preselfpay_amt": pl.Int64, "inscp_scp_amt": pl.Int64, "full_pay_scp_amt": pl.Int64,
        "fixed_share_scp_amt": pl.Int64, "class_b_scp_amt": pl.Int64,
        "fixmedins_code": pl.Utf8, "major_dise_flag": pl.Boolean, "township": pl.Utf8,
    }  # fmt: skip
    return BatchInput(
        claims=pl.DataFrame(rows, schema=claim_schema),
        people=pl.DataFrame(
            [
                {
                    "psn_no": p.psn_no,
                    "insutype": p.insutype,
                    "emp_status": p.emp_status,
                    "emp_tier": p.emp_tier,
                    "acct_balance": p.acct_balance,
                    "birth_date": p.birth_date,
                    "township": p.township,
                    "signed_township": p.signed_township,
                }
                for p in people
            ],
            schema={
                "psn_no": pl.Utf8,
                "insutype": pl.Utf8,
                "emp_status": pl.Utf8,
                "emp_tier": pl.Utf8,
                "birth_date": pl.Date,
                "acct_balance": pl.Int64,
                "township": pl.Utf8,
                "signed_township": pl.Utf8,
            },
        ),
        identities=_side(people, "identities", IDENTITY_SCHEMA),
        chronic_filings=_side(people, "chronic_filings", FILING_SCHEMA),
        cross_filings=_side(people, "cross_region_filings", CROSS_SCHEMA),
        resident_tiers=_side(people, "resident_tiers", RESIDENT_TIER_SCHEMA),
        institutions=_side(people, "institutions", INSTITUTION_SCHEMA),
        family_doctor=_side(people, "family_doctor", FAMILY_DOCTOR_SCHEMA),
    )


def ytd_from_row(row: dict[str, object]) -> YearToDate:
    """A person-year row of the batch engine's ``year_to_date`` table as accumulators."""
    scalars = {k: int(v) for k, v in row.items() if k in YearToDate._SCALARS and v is not None}  # type: ignore[call-overload]
    maps: dict[str, dict[str, int]] = {name: {} for name in YearToDate._MAPS}
    for key, v in row.items():
        name, _, group = key.partition(".")
        if name in maps and group and v:
            maps[name][group] = int(v)  # type: ignore[call-overload]
    return YearToDate(int(row["year"]), **scalars, **maps)  # type: ignore[call-overload, arg-type]
