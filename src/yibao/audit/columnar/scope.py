"""超支付范围 and 超支付标准 over many claims (columnar form of :mod:`yibao.audit.scalar.scope`, whose
docstring defines each rule type).

Each rule picks the lines of the items its knowledge names by item number
(:mod:`yibao.audit.columnar.indexed`) and takes what the knowledge says of each item
(:func:`scope_items`, built from the same index the scalar form looks items up in, so a code listed
twice counts once, the last row winning) for those lines only (:func:`scope_lines`); it keeps the
offending lines with frame expressions only, takes their claim's or person's columns by position,
and writes the findings with :func:`line_findings`."""

from __future__ import annotations

import polars as pl

from yibao.audit.columnar.indexed import indexed
from yibao.audit.columnar.memo import remembered
from yibao.audit.knowledge import ItemLimit, Knowledge
from yibao.audit.model import MILLI, Frames
from yibao.audit.pack import RuleSpec
from yibao.core.money import half_up
from yibao.core.vocab import GENDERS
from yibao.settlement.policy_range import price_excess

Schema = dict[str, pl.DataType | type[pl.DataType]]
TOTAL = pl.col("det_item_fee_sumamt")
NO_LIMIT = ItemLimit()


def table(kb: Knowledge, name: str, columns: Schema) -> pl.DataFrame:
    """A knowledge table as a frame with ``columns`` (empty when the pack has none)."""
    rows = [{c: r[c] for c in columns} for r in kb.table(name)]
    return pl.DataFrame(rows, schema=columns)


ITEM_SCHEMA: Schema = {
    "med_list_codg": pl.Utf8, "lim_gend": pl.Utf8, "age_min": pl.Int64, "age_max": pl.Int64, "med_types": pl.Utf8,
    "min_hosp_lv": pl.Int64, "insutypes": pl.Utf8, "std_pric": pl.Int64, "per_line": pl.Int64, "ceiling": pl.Int64,
}  # fmt: skip
"""What the scope rules know of an item: its restrictions (code sets as sorted codes joined by commas),
payment standard, per-line quantity limit and price ceiling; null where there is none."""


def _codes(codes: frozenset[str] | None) -> str | None:
    return None if codes is None else ",".join(sorted(codes))


def scope_items(kb: Knowledge) -> pl.DataFrame:
    """One row (:data:`ITEM_SCHEMA`) per item some scope knowledge names, from the knowledge's index."""
    std = {c: r["std_pric"] for c, r in kb.catalogue.items() if r.get("std_pric") is not None}
    rows = []
    for c in sorted({*kb.item_limits, *std, *kb.per_line, *kb.price_ceilings}):
        lim = kb.item_limits.get(c, NO_LIMIT)
        rows.append(
            (c, lim.gend, lim.age_min, lim.age_max, _codes(lim.med_types), lim.min_hosp_lv, _codes(lim.insutypes),
             std.get(c), kb.per_line.get(c), kb.price_ceilings.get(c))
        )  # fmt: skip
    return pl.DataFrame(rows, schema=ITEM_SCHEMA, orient="row")


def _by_item(kb: Knowledge, f: Frames) -> pl.DataFrame:
    """:func:`scope_items` laid out by item number (row ``i`` for item ``i``), once per audit."""
    return remembered(f, kb, "scope_items", lambda: indexed(f).by_item(scope_items(kb)))


def item_value(kb: Knowledge, f: Frames, column: str) -> pl.Expr:
    """A line's item's ``column`` (of :data:`ITEM_SCHEMA`), taken by item number: for a ``where`` of :func:`scope_lines`."""
    return pl.lit(_by_item(kb, f).get_column(column)).gather(pl.col("item"))


def scope_lines(kb: Knowledge, f: Frames, *columns: str, where: pl.Expr | None = None) -> pl.DataFrame:
    """The lines whose item has a value in one of ``columns`` (of :data:`ITEM_SCHEMA`), with all of them;
    only those where ``where`` (over the lines' own columns and :func:`item_value`) holds too, if given.

    One pass over the lines, picked by item number (:mod:`yibao.audit.columnar.indexed`), not by a
    string join; the item's columns are then taken for the lines kept only.
    """
    ix = indexed(f)
    by = _by_item(kb, f)
    codes = by.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in columns])).get_column("med_list_codg")
    keep = ix.has_item(codes)
    df = ix.lines.filter(keep if where is None else keep & where.fill_null(False))
    at = df.get_column("item")
    return df.with_columns([by.get_column(c).gather(at) for c in ITEM_SCHEMA if c != "med_list_codg"])


def with_claims(df: pl.DataFrame, f: Frames, *columns: str) -> pl.DataFrame:
    """``df``'s lines with their claim's ``columns``."""
    return indexed(f).with_claims(df, *columns)


def with_people(df: pl.DataFrame, f: Frames, *columns: str) -> pl.DataFrame:
    """``df``'s lines with their person's ``columns`` (lines of a person not in ``f.people`` are dropped)."""
    return indexed(f).with_people(df, *columns)


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


def json_bound(expr: pl.Expr) -> pl.Expr:
    """An optional bound, like :func:`yibao.audit.scalar.scope.bound_arg`: the number, or ``""`` when null."""
    return pl.when(expr.is_null()).then(pl.lit('""')).otherwise(json_int(expr))


def cnt_text(milli: pl.Expr) -> pl.Expr:
    """Counts in thousandths as text, like :func:`yibao.audit.scalar.scope.cnt_text` (1500 → ``1.5``)."""
    a = milli.abs()
    frac = a % MILLI
    whole = pl.concat_str([pl.when(milli < 0).then(pl.lit("-")).otherwise(pl.lit("")), (a // MILLI).cast(pl.Utf8)])
    decimals = frac.cast(pl.Utf8).str.zfill(3).str.strip_chars_end("0")
    return pl.when(frac == 0).then(whole).otherwise(pl.concat_str([whole, pl.lit("."), decimals]))


def sorted_evidence(evidence: pl.Expr) -> pl.Expr:
    """Lists of evidence strings, deduplicated and sorted.

    ``list.eval``: in this polars ``list.unique().list.sort()`` costs some 20 µs a row (a sort per
    list on the thread pool), ten times this.
    """
    return evidence.list.eval(pl.element().unique().sort())


def line_findings(
    rule: RuleSpec,
    df: pl.DataFrame | pl.LazyFrame,
    amount: pl.Expr,
    args: list[tuple[str, pl.Expr]],
    evidence: pl.Expr | None = None,
) -> pl.DataFrame:
    """Findings on single lines: ``df`` holds the offending lines (claim_id, feedetl_sn, med_list_codg, …).

    ``args`` gain ``item`` like :func:`yibao.audit.scalar.scope.line_finding`; ``evidence`` is a list of
    extra evidence strings (``item:<code>`` is always added), deduplicated and sorted.
    """
    item_ev = pl.concat_list([pl.concat_str([pl.lit("item:"), pl.col("med_list_codg")])])
    ev = item_ev if evidence is None else sorted_evidence(pl.concat_list([item_ev, evidence]))
    return (
        df.lazy()
        .select(
            pl.lit(rule.code).alias("rule_code"),
            pl.lit(rule.type).alias("rule_type"),
            pl.lit(rule.result).alias("result"),
            pl.col("claim_id"),
            pl.concat_list([pl.col("feedetl_sn")]).alias("feedetl_sns"),
            amount.cast(pl.Int64).alias("amount"),
            ev.alias("evidence"),
            args_json(("item", json_text(pl.col("med_list_codg"))), *args).alias("args"),
        )
        .collect()
    )


def gender_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    g = pl.DataFrame(
        {"lim_gend": list(GENDERS), "gl_zh": [v[0] for v in GENDERS.values()], "gl_en": [v[1] for v in GENDERS.values()]}
    )
    df = with_people(scope_lines(kb, f, "lim_gend"), f, "gend").filter(pl.col("gend") != pl.col("lim_gend"))
    args = [
        ("gend_label", json_text(pl.col("gl_zh"))),
        ("gend_label_en", json_text(pl.col("gl_en"))),
        ("gend", json_text(pl.col("gend"))),
    ]
    return line_findings(rule, df.join(g, on="lim_gend"), TOTAL, args)


def age_on(day: pl.Expr, brdy: pl.Expr) -> pl.Expr:
    """Whole years of age on ``day``, like :meth:`yibao.audit.model.PersonFacts.age_on`."""

    def month_day(d: pl.Expr) -> pl.Expr:
        return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)

    before_birthday = (month_day(day) < month_day(brdy)).cast(pl.Int32)
    return day.dt.year().cast(pl.Int32) - brdy.dt.year().cast(pl.Int32) - before_birthday


def age_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    df = with_people(scope_lines(kb, f, "age_min", "age_max"), f, "brdy")
    df = df.with_columns(age=age_on(pl.col("fee_ocur_date"), pl.col("brdy")))
    below = (pl.col("age") < pl.col("age_min")).fill_null(False)
    above = (pl.col("age") > pl.col("age_max")).fill_null(False)
    args = [
        ("age_min", json_bound(pl.col("age_min"))),
        ("age_max", json_bound(pl.col("age_max"))),
        ("age", json_int(pl.col("age"))),
    ]
    return line_findings(rule, df.filter(below | above), TOTAL, args)


def _allowed_codes(rule: RuleSpec, kb: Knowledge, f: Frames, attr: str, key: str) -> pl.DataFrame:
    """Lines whose claim's ``key`` is not among the item's ``item_limits.<attr>`` codes."""
    sets: dict[str, frozenset[str]] = {c: v for c, lim in kb.item_limits.items() if (v := getattr(lim, attr)) is not None}
    pairs = pl.DataFrame(
        {"med_list_codg": [c for c, s in sets.items() for _ in s], key: [v for s in sets.values() for v in s]},
        schema={"med_list_codg": pl.Utf8, key: pl.Utf8},
    )
    df = with_claims(scope_lines(kb, f, attr), f, key).join(pairs, on=["med_list_codg", key], how="anti")
    return line_findings(rule, df, TOTAL, [("allowed", json_text(pl.col(attr))), (key, json_text(pl.col(key)))])


def med_type_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    return _allowed_codes(rule, kb, f, "med_types", "med_type")


def insutype_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    return _allowed_codes(rule, kb, f, "insutypes", "insutype")


def hosp_lv_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    df = with_claims(scope_lines(kb, f, "min_hosp_lv"), f, "hosp_lv").filter(pl.col("hosp_lv") < pl.col("min_hosp_lv"))
    return line_findings(
        rule, df, TOTAL, [("min_hosp_lv", json_int(pl.col("min_hosp_lv"))), ("hosp_lv", json_int(pl.col("hosp_lv")))]
    )


def unknown_item(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    ix = indexed(f)
    df = ix.lines.filter(~ix.has_item(kb.catalogue)) if kb.catalogue else f.lines.clear()
    return line_findings(rule, df, TOTAL, [])


def _above_price(rule: RuleSpec, kb: Knowledge, f: Frames, column: str, key: str) -> pl.DataFrame:
    """Lines priced above their item's ``column``: the excess for the count (the settlement's arithmetic)."""
    ref = pl.col(column)
    df = scope_lines(kb, f, column, where=pl.col("pric") > item_value(kb, f, column))
    amount = pl.min_horizontal(TOTAL, price_excess(pl.col("pric"), ref, pl.col("cnt_milli"), MILLI))
    return line_findings(rule, df, amount, [("pric_fen", json_int(pl.col("pric"))), (key, json_int(ref))])


def price_standard(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    return _above_price(rule, kb, f, "std_pric", "std_fen")


def price_ceiling(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    return _above_price(rule, kb, f, "ceiling", "ceiling_fen")


def quantity_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    limit = pl.col("per_line")
    df = scope_lines(kb, f, "per_line", where=pl.col("cnt_milli") > item_value(kb, f, "per_line"))
    amount = half_up(TOTAL * (pl.col("cnt_milli") - limit), pl.col("cnt_milli"))
    return line_findings(
        rule, df, amount, [("cnt", json_text(cnt_text(pl.col("cnt_milli")))), ("limit", json_text(cnt_text(limit)))]
    )


RULES = {
    "gender_limit": gender_limit,
    "age_limit": age_limit,
    "med_type_limit": med_type_limit,
    "hosp_lv_limit": hosp_lv_limit,
    "insutype_limit": insutype_limit,
    "unknown_item": unknown_item,
    "price_standard": price_standard,
    "price_ceiling": price_ceiling,
    "quantity_limit": quantity_limit,
}
