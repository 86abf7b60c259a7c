"""就医行为 over many claims (columnar form of :mod:`yibao.audit.scalar.episodes`, same definitions).

A claim's history here is every claim of the same person with a smaller ``seq``; for
住院期间门诊结算 an admission of any ``seq`` counts when it began by the day of the outpatient care
(it was registered by then). 异常高频 exists in this form only: it compares each person's visits in
a month with everyone's.

Pairs of claims are found by joining on ``psn_no`` only between a person's admissions and their
other claims (few admissions per person), and visits are ranked within a person's day or month
over frames sorted once; nothing runs per row in Python.
"""

from __future__ import annotations

import weakref

import polars as pl

from yibao.audit.columnar.scope import args_json, json_int, json_text
from yibao.audit.knowledge import Knowledge
from yibao.audit.model import FINDING_SCHEMA, INPATIENT_MED_TYPES, Frames
from yibao.audit.pack import RuleSpec

PHARMACY = "41"
"""``med_type`` of a pharmacy purchase (scenario 购药)."""

_INPATIENT = pl.col("med_type").is_in(list(INPATIENT_MED_TYPES))
_VISIT = ~_INPATIENT & (pl.col("med_type") != PHARMACY)

_totals_cache: list[tuple[weakref.ref[pl.DataFrame], weakref.ref[pl.DataFrame], pl.DataFrame]] = []


def claim_totals(f: Frames) -> pl.DataFrame:
    """``claim_id``, ``total`` (fen) of every claim of ``f``, 0 without lines; remembered for the last frames seen."""
    if _totals_cache and _totals_cache[0][0]() is f.lines and _totals_cache[0][1]() is f.claims:
        return _totals_cache[0][2]
    sums = f.lines.group_by("claim_id").agg(pl.col("det_item_fee_sumamt").sum().alias("total"))
    out = f.claims.select("claim_id").join(sums, on="claim_id", how="left").with_columns(pl.col("total").fill_null(0))
    _totals_cache[:] = [(weakref.ref(f.lines), weakref.ref(f.claims), out)]
    return out


def _with_total(f: Frames, df: pl.DataFrame) -> pl.DataFrame:
    return df.join(claim_totals(f), on="claim_id", how="left")


def _date_text(expr: pl.Expr) -> pl.Expr:
    return expr.dt.to_string("%Y-%m-%d")


def _prefixed(prefix: str, expr: pl.Expr) -> pl.Expr:
    """``prefix`` + each element of a list column."""
    return expr.list.eval(pl.lit(prefix) + pl.element())


def claim_findings(
    rule: RuleSpec, df: pl.DataFrame, args: list[tuple[str, pl.Expr]], evidence: pl.Expr, result: str | None = None
) -> pl.DataFrame:
    """Findings on whole claims (no lines), amount ``total``: ``df`` holds the claims (``claim_id``, ``total``, …);
    ``evidence`` is a list of evidence strings, deduplicated and sorted here."""
    return df.select(
        pl.lit(rule.code).alias("rule_code"),
        pl.lit(rule.type).alias("rule_type"),
        pl.lit(result or rule.result).alias("result"),
        pl.col("claim_id"),
        pl.lit([], dtype=pl.List(pl.Utf8)).alias("feedetl_sns"),
        pl.col("total").cast(pl.Int64).alias("amount"),
        evidence.list.unique().list.sort().alias("evidence"),
        args_json(*args).alias("args"),
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def split_admission(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    days, prefix = int(rule.param("days")), int(rule.param("prefix"))
    adm = f.claims.filter(_INPATIENT).select(
        "claim_id", "seq", "psn_no", "begndate", "enddate", pl.col("dise_codg").fill_null("")
    )
    prev = adm.select(
        "psn_no",
        pl.col("claim_id").alias("p_id"),
        pl.col("seq").alias("p_seq"),
        pl.col("enddate").alias("p_end"),
        pl.col("dise_codg").alias("p_dise"),
    )
    known = (pl.col("dise_codg") != "") & (pl.col("p_dise") != "")
    same = known & (pl.col("dise_codg").str.slice(0, prefix) == pl.col("p_dise").str.slice(0, prefix))
    pairs = (
        adm.join(prev, on="psn_no")
        .with_columns((pl.col("begndate") - pl.col("p_end")).dt.total_days().alias("gap"))
        .filter((pl.col("p_seq") < pl.col("seq")) & pl.col("gap").is_between(0, days))
        .with_columns(pl.when(same).then(2).when(~known).then(1).otherwise(0).alias("rank"))
        .filter(pl.col("rank") > 0)
        .sort(["claim_id", "rank", "p_end", "p_seq"])
        .unique("claim_id", keep="last", maintain_order=True)
    )
    if not pairs.height:
        return _empty()
    pairs = _with_total(f, pairs)
    args = [
        ("gap", json_int(pl.col("gap"))),
        ("days", json_int(pl.lit(days))),
        ("group", json_text(pl.col("dise_codg").str.slice(0, prefix))),
        ("prev", json_text(pl.col("p_id"))),
    ]
    ev = pl.concat_list([pl.lit("claim:") + pl.col("p_id")])
    return pl.concat(
        [
            claim_findings(rule, pairs.filter(pl.col("rank") == 2), args, ev),
            claim_findings(
                rule,
                pairs.filter(pl.col("rank") == 1),
                [*args, ("missing", json_text(pl.lit("dise_codg")))],
                ev,
                "unevaluable",
            ),
        ]
    )


def bed_hanging(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    min_days = max(int(rule.param("min_days")), 1)
    adm = f.claims.filter(_INPATIENT).select("claim_id", "seq", "psn_no", "fixmedins_code", "begndate", "enddate")
    out = (
        f.claims.filter(~_INPATIENT)
        .join(adm.select("psn_no").unique(), on="psn_no", how="semi")
        .select(
            "psn_no",
            pl.col("claim_id").alias("o_id"),
            pl.col("seq").alias("o_seq"),
            pl.col("fixmedins_code").alias("o_inst"),
            pl.col("begndate").alias("day"),
        )
    )
    hits = (
        adm.join(out, on="psn_no")
        .filter(
            (pl.col("o_seq") < pl.col("seq"))
            & (pl.col("o_inst") != pl.col("fixmedins_code"))
            & pl.col("day").is_between(pl.col("begndate"), pl.col("enddate"))
        )
        .group_by("claim_id")
        .agg(pl.col("day").unique().sort().alias("days"), pl.col("o_id").alias("ids"))
        .filter(pl.col("days").list.len() >= min_days)
    )
    if not hits.height:
        return _empty()
    dates = pl.col("days").list.eval(_date_text(pl.element()))
    args = [("n", json_int(pl.col("days").list.len())), ("dates", json_text(dates.list.join(", ")))]
    ev = pl.concat_list([_prefixed("claim:", pl.col("ids")), _prefixed("date:", dates)])
    return claim_findings(rule, _with_total(f, hits), args, ev)


def outpatient_during_stay(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    adm = f.claims.filter(_INPATIENT).select(
        "psn_no",
        pl.col("claim_id").alias("a_id"),
        pl.col("fixmedins_code").alias("a_inst"),
        pl.col("begndate").alias("a_beg"),
        pl.col("enddate").alias("a_end"),
    )
    out = (
        f.claims.filter(~_INPATIENT)
        .join(adm.select("psn_no").unique(), on="psn_no", how="semi")
        .select("claim_id", "psn_no", pl.col("begndate").alias("day"))
    )
    hits = (
        out.join(adm, on="psn_no")
        .filter(pl.col("day").is_between(pl.col("a_beg"), pl.col("a_end")))
        .sort(["claim_id", "a_beg", "a_id"])
        .group_by("claim_id", maintain_order=True)
        .agg(pl.col("day").first(), pl.col("a_beg").first(), pl.col("a_inst").first(), pl.col("a_id").alias("ids"))
    )
    if not hits.height:
        return _empty()
    args = [
        ("day", json_text(_date_text(pl.col("day")))),
        ("stay", json_text(pl.concat_str([pl.col("a_inst"), _date_text(pl.col("a_beg"))], separator=" "))),
    ]
    return claim_findings(rule, _with_total(f, hits), args, _prefixed("claim:", pl.col("ids")))


def after_death(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    dead = f.people.filter(pl.col("death_date").is_not_null()).select("psn_no", pl.col("death_date").alias("death"))
    cl = f.claims.join(dead, on="psn_no").select("claim_id", "begndate", "death")
    if not cl.height:
        return _empty()
    line_days = f.lines.select("claim_id", pl.col("fee_ocur_date").alias("begndate")).join(
        cl.select("claim_id", "death"), on="claim_id"
    )
    late = (
        pl.concat([cl, line_days.select(cl.columns)])
        .filter(pl.col("begndate") > pl.col("death"))
        .group_by("claim_id")
        .agg(pl.col("begndate").min().alias("day"), pl.col("death").first())
    )
    if not late.height:
        return _empty()
    args = [("day", json_text(_date_text(pl.col("day")))), ("death", json_text(_date_text(pl.col("death"))))]
    ev = pl.concat_list([pl.lit("date:") + _date_text(pl.col("death"))])
    return claim_findings(rule, _with_total(f, late), args, ev)


def _ranked_visits(f: Frames, period: pl.Expr) -> pl.DataFrame:
    """Visits with ``period`` (their day or month), ranked ``n`` 1, 2, … by ``seq`` within the person's period,
    and ``ids``: the period's visits in ``seq`` order."""
    v = (
        f.claims.filter(_VISIT)
        .select("claim_id", "seq", "psn_no", period.alias("period"))
        .sort(["psn_no", "period", "seq"])
        .with_columns((pl.int_range(pl.len()).over(["psn_no", "period"]) + 1).alias("n"))
    )
    return v


def _earlier_ids(v: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
    """``flagged`` with ``others``: the ids of the visits before each in its person's period (``seq`` order)."""
    groups = (
        v.join(flagged.select("psn_no", "period").unique(), on=["psn_no", "period"], how="semi")
        .group_by(["psn_no", "period"], maintain_order=True)
        .agg(pl.col("claim_id").alias("all_ids"))
    )
    return flagged.join(groups, on=["psn_no", "period"]).with_columns(
        pl.col("all_ids").list.head(pl.col("n") - 1).alias("others")
    )


def same_day_visits(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    v = _ranked_visits(f, pl.col("begndate"))
    flagged = v.filter(pl.col("n") > int(rule.param("max_visits")))
    if not flagged.height:
        return _empty()
    df = _with_total(f, _earlier_ids(v, flagged))
    args = [("n", json_int(pl.col("n"))), ("others", json_text(pl.col("others").list.join(", ")))]
    return claim_findings(rule, df, args, _prefixed("claim:", pl.col("others")))


def high_frequency(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    """异常高频 (after settlement only): a person's visits in a calendar month above everyone's.

    For each month, take the visit counts of the persons with at least one visit that month, sorted
    ascending (N of them); the threshold is the ``percentile``-th percentile by the nearest-rank
    method: the k-th smallest count with ``k = ceil(percentile × N / 100)`` in integers, kept within
    1..N. A person's visits that month beyond ``limit = max(threshold, min_visits)``, counted in
    ``seq`` order, are flagged; ``visits`` is the person's count that month, the evidence the
    visits before it that month. Amount: the claim's total.
    """
    pct, min_visits = int(rule.param("percentile")), int(rule.param("min_visits"))
    v = _ranked_visits(f, pl.col("begndate").dt.strftime("%Y-%m"))
    counts = v.group_by(["psn_no", "period"]).agg(pl.len().cast(pl.Int64).alias("visits"))
    k = ((pl.len().cast(pl.Int64) * pct + 99) // 100).clip(1, pl.len().cast(pl.Int64)) - 1
    thresholds = counts.group_by("period").agg(pl.col("visits").sort().gather(k).first().alias("threshold"))
    flagged = (
        v.join(counts, on=["psn_no", "period"])
        .join(thresholds, on="period")
        .filter(pl.col("n") > pl.max_horizontal(pl.col("threshold"), pl.lit(min_visits, dtype=pl.Int64)))
    )
    if not flagged.height:
        return _empty()
    df = _with_total(f, _earlier_ids(v, flagged))
    args = [
        ("month", json_text(pl.col("period"))),
        ("visits", json_int(pl.col("visits"))),
        ("percentile", json_int(pl.lit(pct))),
        ("threshold", json_int(pl.col("threshold"))),
    ]
    return claim_findings(rule, df, args, _prefixed("claim:", pl.col("others")))


RULES = {
    "split_admission": split_admission,
    "bed_hanging": bed_hanging,
    "outpatient_during_stay": outpatient_during_stay,
    "after_death": after_death,
    "same_day_visits": same_day_visits,
    "high_frequency": high_frequency,
}
