"""Findings against the ground truth of a synthetic county: recall and precision per rule type.

A finding is *true* when a planting recorded it (:data:`~yibao.synth.planting.PLANTED_SCHEMA`): the
same rule type, claim and lines. The clean part of a synthetic county is clean by construction, so
there are no other true findings; every finding not planted counts against precision.
"""

from __future__ import annotations

import polars as pl

from yibao.audit.types import RULE_TYPES

KEY = ["rule_type", "claim_id", "feedetl_sns"]

SCORE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "rule_type": pl.Utf8,
    "planted": pl.Int64,
    "found": pl.Int64,
    "matched": pl.Int64,
}


def _keys(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(pl.col("rule_type"), pl.col("claim_id"), pl.col("feedetl_sns").list.sort()).unique()


def score(planted: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Per rule type (every known type, in :data:`RULE_TYPES` order): planted, found, matched, recall, precision.

    ``recall`` = matched / planted and ``precision`` = matched / found (null when the divisor is 0).
    """
    p, f = _keys(planted), _keys(findings)
    matched = p.join(f, on=KEY, how="semi")
    types = pl.DataFrame({"rule_type": list(RULE_TYPES)})
    out = types
    for name, df in (("planted", p), ("found", f), ("matched", matched)):
        out = out.join(df.group_by("rule_type").agg(pl.len().cast(pl.Int64).alias(name)), on="rule_type", how="left")
    out = out.with_columns(pl.col("planted", "found", "matched").fill_null(0))
    ratio = {"recall": "planted", "precision": "found"}
    return out.with_columns(
        pl.when(pl.col(d) > 0).then(pl.col("matched") / pl.col(d)).otherwise(None).alias(n) for n, d in ratio.items()
    )


def unplanted(planted: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """The findings no planting accounts for (their keys)."""
    return _keys(findings).join(_keys(planted), on=KEY, how="anti").sort(KEY)


def missed(planted: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """The planted findings the audit did not make (their keys)."""
    return _keys(planted).join(_keys(findings), on=KEY, how="anti").sort(KEY)
