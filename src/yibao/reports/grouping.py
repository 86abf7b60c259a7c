"""SQL's GROUPING SETS in Polars, and the key of a subtotal or total row (shared by the claims cube and the tables)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ALL = "all"
"""The key of a subtotal or total row."""


def grouping_sets(df: pl.DataFrame, keys: Sequence[str], sets: Sequence[Sequence[str]], aggs: Sequence[pl.Expr]) -> pl.DataFrame:
    """SQL's GROUPING SETS: ``aggs`` per combination of ``sets``, the keys left out set to :data:`ALL`.

    The empty set gives one total row even for an empty frame.
    """
    parts = []
    for kept in sets:
        part = df.group_by(list(kept)).agg(aggs) if kept else df.select(aggs)
        part = part.with_columns(pl.lit(ALL, pl.Utf8).alias(k) for k in keys if k not in kept)
        parts.append(part.select(*keys, pl.exclude(*keys)))
    return pl.concat(parts, how="vertical_relaxed")
