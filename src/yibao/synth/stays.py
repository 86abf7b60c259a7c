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


def with_stays(rng: np.random.Generator, claims: pl.DataFrame, y0: int) -> pl.DataFrame:
    """``claims`` with ``begndate`` and ``enddate``: the stay of an admission, the day of a visit."""
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
    )


def _month(day: pl.Expr) -> pl.Expr:
    return day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32)


def clean_episodes(claims: pl.DataFrame) -> pl.DataFrame:
    """``claims`` without those that would make an accidental episode finding (see the module)."""
    inp = pl.col("med_type") == "21"
    adm = (
        claims.filter(inp)
        .sort(["psn_no", "enddate", "claim_id"])
        .with_columns(pl.col("enddate").shift(1).over("psn_no").alias("prev_end"))
        .filter(pl.col("prev_end").is_null() | ((pl.col("begndate") - pl.col("prev_end")).dt.total_days() > QUIET_DAYS))
    )
    quiet = adm.select(
        "psn_no",
        (pl.col("begndate") - pl.duration(days=QUIET_DAYS)).alias("q_beg"),
        (pl.col("enddate") + pl.duration(days=QUIET_DAYS)).alias("q_end"),
    )
    visits = claims.filter(~inp)
    near = (
        visits.select("claim_id", "psn_no", "begndate")
        .join(quiet, on="psn_no")
        .filter(pl.col("begndate").is_between(pl.col("q_beg"), pl.col("q_end")))
        .select("claim_id")
    )
    kept = pl.concat([adm.drop("prev_end"), visits.join(near, on="claim_id", how="anti")])
    return (
        kept.sort(["psn_no", "setl_date", "claim_id"])
        .filter(pl.int_range(pl.len()).over(["psn_no", "setl_date"]) == 0)
        .filter(inp | (pl.int_range(pl.len()).over(["psn_no", _month(pl.col("setl_date")), inp]) < MAX_MONTH_VISITS))
        .select(claims.columns)
    )
