"""Admission dates for the county's claims, and a county clean of accidental episodes.

An admission (``med_type`` 21) is settled on its discharge day: ``enddate`` is its ``setl_date``
and ``begndate`` is drawn from a length of stay that grows with the cost and the level. An
outpatient claim begins and ends on its day.

:func:`clean_episodes` drops the claims that would make a 就医行为 finding by accident, so that
every such finding on a synthetic county is one that was planted (:mod:`yibao.synth.planting`).
It is conservative — wider than any rule's window — and drops, for each person:

- an admission beginning within :data:`QUIET_DAYS` days after the discharge of the person's
  previous admission (or overlapping it);
- an outpatient claim within :data:`QUIET_DAYS` days of a kept admission (before, during, after);
- a second claim on a day that already has one;
- outpatient claims beyond the :data:`MAX_MONTH_VISITS`-th in a calendar month.
"""

from __future__ import annotations

import numpy as np
import polars as pl

QUIET_DAYS = 30
"""No other care within this many days of an admission (分解住院 uses 15; planting needs the room)."""
MAX_MONTH_VISITS = 3
"""Outpatient claims kept per person and month: below 异常高频's floor of 4 even with one planted visit more."""

_LOS_MEDIAN = np.array([5.0, 7.0, 9.0])
_COST_MEDIAN = np.array([200_000.0, 350_000.0, 660_000.0])
_MAX_LOS = 60


def with_stays(rng: np.random.Generator, claims: pl.DataFrame, people: pl.DataFrame, y0: int) -> pl.DataFrame:
    """``claims`` with ``begndate`` and ``enddate`` (the stay of an admission, the day of a visit), and
    ``pid`` (the person's row in ``people``, sorted by ``psn_no``) and ``ord`` (the claim's row) to sort by."""
    setl = claims["setl_date"].cast(pl.Int32).to_numpy().astype(np.int64)
    lv = np.clip(claims["hosp_lv"].to_numpy().astype(np.int64), 1, 3) - 1
    cost = claims["medfee_sumamt"].to_numpy().astype(np.float64)
    inpatient = (claims["med_type"] == "21").to_numpy()
    z = rng.standard_normal(len(setl))
    los = _LOS_MEDIAN[lv] * np.exp(0.45 * z) * np.power(np.maximum(cost, 1.0) / _COST_MEDIAN[lv], 0.3)
    los_days = np.clip(np.round(los), 1, _MAX_LOS).astype(np.int64)
    los_days = np.minimum(los_days, np.maximum(setl - y0, 0))
    beg = np.where(inpatient, setl - los_days, setl)
    return claims.with_columns(
        pl.Series("begndate", beg.astype(np.int32)).cast(pl.Date),
        pl.col("setl_date").alias("enddate"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("ord"),
    ).join(person_ids(people), on="psn_no", how="left")


def person_ids(people: pl.DataFrame) -> pl.DataFrame:
    """``psn_no`` and ``pid``: the person's row in ``psn_no`` order (a number that sorts like the id)."""
    return people.select("psn_no").sort("psn_no").with_row_index("pid").with_columns(pl.col("pid").cast(pl.Int64))


def _starts(key: pl.Expr) -> pl.Expr:
    """True where a run of equal ``key`` values begins (the frame sorted by it)."""
    return key != key.shift(1)


def _rank_in_run(key: pl.Expr) -> pl.Expr:
    """0, 1, 2, … within each run of equal ``key`` values (the frame sorted by it)."""
    idx = pl.int_range(pl.len(), dtype=pl.Int64)
    return idx - pl.when(_starts(key).fill_null(True)).then(idx).otherwise(None).forward_fill()


def clean_episodes(claims: pl.DataFrame) -> pl.DataFrame:
    """``claims`` without those that would make an accidental episode finding (see the module).

    ``claims`` carry ``pid`` (the person as a number, in ``psn_no`` order) and ``ord`` (their order
    among a person's claims of a day); both sort fast, unlike the text ids.
    """
    inp = pl.col("med_type") == "21"
    day = pl.col("setl_date").cast(pl.Int64)
    adm = (
        claims.filter(inp)
        .sort(["pid", "enddate", "ord"])
        .with_columns(pl.when(pl.col("pid") == pl.col("pid").shift(1)).then(pl.col("enddate").shift(1)).alias("prev_end"))
        .filter(pl.col("prev_end").is_null() | ((pl.col("begndate") - pl.col("prev_end")).dt.total_days() > QUIET_DAYS))
    )
    quiet = adm.select(
        "pid",
        (pl.col("begndate") - pl.duration(days=QUIET_DAYS)).alias("q_beg"),
        (pl.col("enddate") + pl.duration(days=QUIET_DAYS)).alias("q_end"),
    )
    visits = claims.filter(~inp)
    near = (
        visits.select("ord", "pid", "begndate")
        .join(quiet, on="pid")
        .filter(pl.col("begndate").is_between(pl.col("q_beg"), pl.col("q_end")))
        .select("ord")
    )
    kept = pl.concat([adm.drop("prev_end"), visits.join(near, on="ord", how="anti")]).sort(["pid", "setl_date", "ord"])
    kept = kept.filter(_starts(pl.col("pid") * 1_000_000 + day).fill_null(True))
    month = pl.col("setl_date").dt.year().cast(pl.Int64) * 12 + pl.col("setl_date").dt.month().cast(pl.Int64)
    visits = kept.filter(~inp)
    visits = visits.filter(_rank_in_run(pl.col("pid") * 1_000_000 + month) < MAX_MONTH_VISITS)
    return pl.concat([kept.filter(inp), visits]).sort(["pid", "setl_date", "ord"]).select(claims.columns)
