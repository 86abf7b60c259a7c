"""超支付范围 and 超支付标准 over many claims (columnar form of :mod:`yibao.audit.scalar.scope`)."""

from __future__ import annotations

import polars as pl

from yibao.audit.knowledge import Knowledge
from yibao.audit.model import Frames
from yibao.audit.pack import RuleSpec
from yibao.core.vocab import GENDERS


def table(kb: Knowledge, name: str, columns: dict[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    """A knowledge table as a frame with ``columns`` (empty when the pack has none)."""
    rows = [{c: r[c] for c in columns} for r in kb.table(name)]
    return pl.DataFrame(rows, schema=columns)


def args_json(*pairs: tuple[str, pl.Expr]) -> pl.Expr:
    """The findings' ``args`` column: a JSON object with keys sorted, like :func:`json.dumps` (sort_keys, ensure_ascii off).

    Values that are integers (Int64 expressions) are written as numbers, the rest as strings.
    """
    pairs = tuple(sorted(pairs, key=lambda p: p[0]))
    parts: list[pl.Expr] = [pl.lit("{")]
    for i, (key, expr) in enumerate(pairs):
        sep = ", " if i else ""
        parts.append(pl.lit(f'{sep}"{key}": '))
        parts.append(expr)
    parts.append(pl.lit("}"))
    return pl.concat_str(parts)


def json_text(expr: pl.Expr) -> pl.Expr:
    """A string value as JSON (quotes and backslashes escaped)."""
    escaped = expr.cast(pl.Utf8).str.replace_all("\\\\", "\\\\\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    return pl.concat_str([pl.lit('"'), escaped, pl.lit('"')])


def json_int(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int64).cast(pl.Utf8)


def line_findings(
    rule: RuleSpec, df: pl.DataFrame, amount: pl.Expr, args: list[tuple[str, pl.Expr]], evidence: pl.Expr | None = None
) -> pl.DataFrame:
    """Findings on single lines: ``df`` holds the offending lines (claim_id, feedetl_sn, med_list_codg, …).

    ``args`` gain ``item`` like :func:`yibao.audit.scalar.scope.line_finding`; ``evidence`` is a list of
    extra evidence strings (``item:<code>`` is always added), deduplicated and sorted.
    """
    item_ev = pl.concat_list([pl.concat_str([pl.lit("item:"), pl.col("med_list_codg")])])
    ev = item_ev if evidence is None else pl.concat_list([item_ev, evidence])
    return df.select(
        pl.lit(rule.code).alias("rule_code"),
        pl.lit(rule.type).alias("rule_type"),
        pl.lit(rule.result).alias("result"),
        pl.col("claim_id"),
        pl.concat_list([pl.col("feedetl_sn")]).alias("feedetl_sns"),
        amount.cast(pl.Int64).alias("amount"),
        ev.list.unique().list.sort().alias("evidence"),
        args_json(("item", json_text(pl.col("med_list_codg"))), *args).alias("args"),
    )


def gender_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    lim = table(kb, "item_limits", {"med_list_codg": pl.Utf8, "gend": pl.Utf8}).drop_nulls("gend")
    g = pl.DataFrame(
        {"lim_gend": list(GENDERS), "gl_zh": [v[0] for v in GENDERS.values()], "gl_en": [v[1] for v in GENDERS.values()]}
    )
    df = (
        f.lines.join(lim, on="med_list_codg")
        .rename({"gend": "lim_gend"})
        .join(f.claims.select("claim_id", "psn_no"), on="claim_id")
        .join(f.people.select("psn_no", "gend"), on="psn_no")
        .filter(pl.col("gend") != pl.col("lim_gend"))
        .join(g, on="lim_gend")
    )
    args = [
        ("gend_label", json_text(pl.col("gl_zh"))),
        ("gend_label_en", json_text(pl.col("gl_en"))),
        ("gend", json_text(pl.col("gend"))),
    ]
    return line_findings(rule, df, pl.col("det_item_fee_sumamt"), args)


RULES = {"gender_limit": gender_limit}
