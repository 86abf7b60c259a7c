"""Chronic-disease filings (门诊慢特病) and cross-region filings (异地就医备案) of the county's people."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from yibao.core.identities import ORDINARY
from yibao.synth.draws import NO_DATE, Arr, days_between, epoch_day, gather, normalised, nullable_dates, to_dates
from yibao.synth.identities import CAT_INDEX
from yibao.synth.people import age_bin

# chronic filings: (dise_codg, weight, cost multiplier)
CHRONIC_DISEASES: tuple[tuple[str, float, float], ...] = (
    ("I10", 40, 1.0),
    ("E11", 20, 1.3),
    ("J44", 7, 1.4),
    ("I63", 6, 1.2),
    ("I25", 5, 1.2),
    ("I50", 4, 1.6),
    ("N18", 5, 4.0),
    ("C34", 1.5, 6.0),
    ("C16", 1.2, 6.0),
    ("C22", 1.2, 6.0),
    ("C50", 1.1, 5.0),
    ("F20", 3, 1.0),
    ("M05", 2, 1.2),
    ("K74", 1.5, 2.0),
)

# filing prevalence by age bin (adults only), times 1.3 for low-income identities
_CHRONIC_P_BY_AGE = np.array([0.0, 0.0, 0.012, 0.03, 0.09, 0.22, 0.30])


def draw_filings(
    rng: np.random.Generator, p: dict[str, Arr], year: int, y0: int, y1: int
) -> tuple[dict[str, Arr], dict[str, Arr]]:
    n = int(p["n"])
    age, cat = p["age"], p["cat"]
    low_income = (cat != CAT_INDEX[ORDINARY]) & (cat != CAT_INDEX["tuopin"])
    prob = _CHRONIC_P_BY_AGE[age_bin(age)] * np.where(age >= 18, 1.0, 0.0) * np.where(low_income, 1.3, 1.0)
    filed = np.flatnonzero(rng.random(n) < prob)
    two = rng.random(len(filed)) < 0.2
    persons = np.concatenate([filed, filed[two]])
    k = len(CHRONIC_DISEASES)
    w = normalised([d[1] for d in CHRONIC_DISEASES])
    d1 = rng.choice(k, size=len(filed), p=w)
    d2 = rng.choice(k, size=len(filed), p=w)[two]
    d2 = np.where(d2 == d1[two], (d2 + 1) % k, d2)
    dise = np.concatenate([d1, d2])
    m = len(persons)
    in_year = rng.random(m) < 0.15
    begin = np.where(in_year, y0 + rng.integers(0, 300, size=m), days_between(rng, epoch_day(date(year - 8, 1, 1)), y0 - 1, m))
    ends = rng.random(m) < 0.03
    end_lo = np.maximum(begin, y0) + 30
    end = np.where(ends, days_between(rng, end_lo, y1, m), NO_DATE)
    order = np.lexsort((dise, begin, persons))
    chronic = {"person": persons[order], "dise": dise[order], "begin": begin[order], "end": end[order]}

    migrant = (age >= 18) & (age <= 55) & ~p["employee"]
    cp = np.flatnonzero(migrant & (rng.random(n) < 0.045))
    mc = len(cp)
    c_in_year = rng.random(mc) < 0.4
    c_begin = np.where(
        c_in_year, y0 + rng.integers(0, 300, size=mc), days_between(rng, epoch_day(date(year - 2, 1, 1)), y0 - 1, mc)
    )
    c_ends = rng.random(mc) < 0.3
    c_end = np.where(c_ends, days_between(rng, np.maximum(c_begin, y0) + 30, y1, mc), NO_DATE)
    cross = {"person": cp, "begin": c_begin, "end": c_end}
    return chronic, cross


def chronic_frame(chronic: dict[str, Arr], psn_no: pl.Series) -> pl.DataFrame:
    """``chronic_filings``: psn_no, dise_codg, begin, end."""
    return pl.DataFrame(
        {
            "psn_no": psn_no.gather(pl.Series(chronic["person"])),
            "dise_codg": gather([d for d, _, _ in CHRONIC_DISEASES], chronic["dise"]),
            "begin": to_dates(chronic["begin"]),
            "end": nullable_dates(chronic["end"]),
        }
    )


def cross_frame(cross: dict[str, Arr], psn_no: pl.Series) -> pl.DataFrame:
    """``cross_filings``: psn_no, begin, end."""
    return pl.DataFrame(
        {
            "psn_no": psn_no.gather(pl.Series(cross["person"])),
            "begin": to_dates(cross["begin"]),
            "end": nullable_dates(cross["end"]),
        }
    )
