"""Small vectorised helpers of the generator: day numbers, draws from tables, identifiers.

Days are ``int`` days since 1970-01-01 while drawing (:data:`NO_DATE` for an open end) and
``pl.Date`` in the frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

Arr = npt.NDArray[Any]

_EPOCH = date(1970, 1, 1)


def epoch_day(d: date) -> int:
    return (d - _EPOCH).days


def to_dates(days: Arr) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def cumulative(probs: Arr) -> Arr:
    """Cumulative probabilities along the last axis, the last one exactly 1."""
    c: Arr = np.cumsum(probs, axis=-1)
    return c / c[..., -1:]


def gather(values: Sequence[str], idx: Arr) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(idx.astype(np.int64)))


def numbered(prefix: str, n: int, width: int) -> pl.Series:
    """``prefix`` + 1..n zero-padded to ``width`` digits ("P0000001")."""
    numbers = (pl.int_range(1, n + 1, dtype=pl.Int64) + 10**width).cast(pl.String)
    return pl.select(numbers.str.replace("1", prefix, literal=True, n=1).alias("id")).to_series()


def normalised(w: Sequence[float] | Arr) -> Arr:
    a: Arr = np.asarray(w, dtype=np.float64)
    out: Arr = a / a.sum()
    return out


def year_start(years: Arr) -> Arr:
    """Days since the epoch of 1 January of each year."""
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def days_between(rng: np.random.Generator, first: Arr | int, last: Arr | int, n: int) -> Arr:
    """Uniform day in ``[first, last]`` (inclusive), element-wise."""
    first_a = np.broadcast_to(np.asarray(first, dtype=np.int64), (n,))
    last_a = np.broadcast_to(np.asarray(last, dtype=np.int64), (n,))
    return first_a + np.floor(rng.random(n) * (last_a - first_a + 1)).astype(np.int64)


NO_DATE = np.iinfo(np.int32).max


def nullable_dates(days: Arr) -> pl.Series:
    s = to_dates(np.where(days == NO_DATE, 0, days))
    return pl.select(pl.when(pl.Series(days == NO_DATE)).then(None).otherwise(s)).to_series()
