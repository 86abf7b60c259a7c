"""One table of settled claims, whichever engine settled them.

Monitoring and every report read this frame and nothing else, so the ledger (SQLite or
PostgreSQL) and a simulation (the batch engine's Parquet output) give figures the same way.
Columns (amounts in integer fen, national names):

    setl_id, psn_no, setl_date, year, month ("YYYY-MM"), med_type, line, identity, fixmedins_code,
    medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt,
    hifp_pay, hifmi_pay, maf_pay, oth_pay, fund_pay_sumamt, psn_part_amt,
    psn_name, certno, hh_no, county, township, village

A settlement that was reversed is left out together with its reversal (their amounts cancel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt",
)  # fmt: skip
PERSON_COLUMNS = ("psn_name", "certno", "hh_no", "county", "township", "village")
CODES = ("setl_id", "psn_no", "med_type", "line", "identity", "fixmedins_code")
SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **{c: pl.Utf8 for c in CODES},
    "setl_date": pl.Date,
    "year": pl.Int32,
    "month": pl.Utf8,
    **{a: pl.Int64 for a in AMOUNTS},
    **{c: pl.Utf8 for c in PERSON_COLUMNS},
}


@dataclass(frozen=True)
class Place:
    """Where a report or a monitoring run looks: any of the fields narrows it (None: all)."""

    county: str | None = None
    township: str | None = None
    village: str | None = None
    fixmedins_code: str | None = None

    def label(self) -> str:
        parts = [p for p in (self.county, self.township, self.village) if p]
        if self.fixmedins_code:
            parts.append(self.fixmedins_code)
        return " / ".join(parts) or "全部"


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    df = df.with_columns(
        pl.col("setl_date").dt.year().cast(pl.Int32).alias("year"),
        pl.col("setl_date").dt.strftime("%Y-%m").alias("month"),
    )
    return df.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def from_ledger(session: Session, start: date, end: date, place: Place = Place()) -> pl.DataFrame:
    """Settlements dated ``start``..``end`` (inclusive) that stand (not reversed), with the person's place."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.kind == "reverse", LedgerEntry.reverses.is_not(None))
    cols = [getattr(LedgerEntry, c) for c in (*CODES, "setl_date", *AMOUNTS)]
    q = (
        sa.select(*cols, *(getattr(Person, c) for c in PERSON_COLUMNS))
        .join(Person, Person.id == LedgerEntry.person_id)
        .where(
            LedgerEntry.kind == "settle",
            LedgerEntry.setl_date >= start,
            LedgerEntry.setl_date <= end,
            LedgerEntry.setl_id.not_in(reversed_ids),
        )
        .order_by(LedgerEntry.person_id, LedgerEntry.setl_date, LedgerEntry.id)
    )
    for field in ("county", "township", "village"):
        if getattr(place, field):
            q = q.where(getattr(Person, field) == getattr(place, field))
    if place.fixmedins_code:
        q = q.where(LedgerEntry.fixmedins_code == place.fixmedins_code)
    names = [*CODES, "setl_date", *AMOUNTS, *PERSON_COLUMNS]
    rows = session.execute(q).all()
    if not rows:
        return empty()
    df = pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row", infer_schema_length=None)
    return _finish(df)


def from_batch(
    settled: pl.DataFrame, claims: pl.DataFrame, people: pl.DataFrame, start: date | None = None, end: date | None = None,
    place: Place = Place(),
) -> pl.DataFrame:  # fmt: skip
    """The batch engine's per-claim output joined to its input claims (institution) and people (place)."""
    keep_people = [c for c in ("psn_no", *PERSON_COLUMNS) if c in people.columns]
    df = settled.with_columns(pl.col(c).cast(pl.Utf8) for c in ("med_type", "line", "identity")).join(
        claims.select("claim_id", pl.col("fixmedins_code").cast(pl.Utf8)), on="claim_id", how="left"
    )
    df = df.rename({"claim_id": "setl_id"}).join(people.select(keep_people), on="psn_no", how="left")
    for c in PERSON_COLUMNS:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.Utf8).alias(c))
    if start is not None:
        df = df.filter(pl.col("setl_date") >= start)
    if end is not None:
        df = df.filter(pl.col("setl_date") <= end)
    for field in ("county", "township", "village", "fixmedins_code"):
        if getattr(place, field):
            df = df.filter(pl.col(field) == getattr(place, field))
    return _finish(df)
