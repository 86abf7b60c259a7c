"""One table of settled claims, whichever engine settled them.

Monitoring and every report read this frame and nothing else, so the ledger (SQLite or
PostgreSQL, read by :func:`yibao.store.claims.from_ledger`) and a simulation (the batch engine's
Parquet output, :func:`from_batch`) give figures the same way.
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


EVERYWHERE = Place()
"""No narrowing: every place."""


def finish(df: pl.DataFrame) -> pl.DataFrame:
    """``year`` and ``month`` from ``setl_date``, then exactly the table's columns and types."""
    df = df.with_columns(
        pl.col("setl_date").dt.year().cast(pl.Int32).alias("year"),
        pl.col("setl_date").dt.strftime("%Y-%m").alias("month"),
    )
    return df.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def from_batch(
    settled: pl.DataFrame, claims: pl.DataFrame, people: pl.DataFrame, start: date | None = None, end: date | None = None,
    place: Place = EVERYWHERE,
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
    return finish(df)
