"""就医行为 over many claims (columnar form of :mod:`yibao.audit.scalar.episodes`, same definitions).

A claim's history here is every claim of the same person with a smaller ``seq``; for
住院期间门诊结算 an admission of any ``seq`` counts when it began by the day of the outpatient care
(it was registered by then). 异常高频 exists in this form only: it compares each person's visits in
a month with everyone's.

Speed: the claims are aggregated once per audit (:func:`claim_view`: totals from the lines summed
along runs of one claim's lines, persons numbered by :mod:`yibao.audit.columnar.indexed`) and
shared by the rules of the family, as are the outpatient-in-stay pairs (:func:`stay_pairs`); pairs
are found by joining a person's admissions with their other claims only (few admissions per
person), and visits are sorted (few columns) and ranked along runs of the sorted frame. Nothing runs
per row in Python.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.audit.columnar.indexed import indexed
from yibao.audit.columnar.memo import remembered
from yibao.audit.columnar.scope import args_json, json_int, json_text
from yibao.audit.knowledge import Knowledge
from yibao.audit.model import FINDING_SCHEMA, INPATIENT_MED_TYPES, Frames
from yibao.audit.pack import RuleSpec

PHARMACY = "41"
"""``med_type`` of a pharmacy purchase (scenario 购药)."""


def _line_totals(f: Frames) -> pl.DataFrame:
    """Each claim's ``total``, ``first_day`` and ``last_day`` from its lines, in the claims' order (nulls without lines).

    Lines come in runs of one claim's lines: each run is summed with ``numpy``'s ``reduceat`` (no group-by
    over millions of lines), and the runs added up per claim (a claim may have several)."""
    ix = indexed(f)
    n = ix.claims.height
    if not ix.lines.height:
        return pl.DataFrame(
            {"total": [None] * n, "first_day": [None] * n, "last_day": [None] * n},
            schema={"total": pl.Int64, "first_day": pl.Date, "last_day": pl.Date},
        )
    cidx = ix.lines.get_column("cidx").to_numpy()
    days = ix.lines.get_column("fee_ocur_date").to_physical().to_numpy()
    amounts = ix.lines.get_column("det_item_fee_sumamt").to_numpy()
    starts = np.flatnonzero(np.r_[True, cidx[1:] != cidx[:-1]])
    at = cidx[starts]
    total = np.zeros(n, dtype=np.int64)
    first = np.full(n, np.iinfo(np.int32).max, dtype=np.int32)
    last = np.full(n, np.iinfo(np.int32).min, dtype=np.int32)
    np.add.at(total, at, np.add.reduceat(amounts, starts))
    np.minimum.at(first, at, np.minimum.reduceat(days, starts))
    np.maximum.at(last, at, np.maximum.reduceat(days, starts))
    has = np.zeros(n, dtype=bool)
    has[at] = True
    return pl.DataFrame(
        {
            "total": pl.Series(total).set(pl.Series(~has), None),
            "first_day": pl.Series(first).set(pl.Series(~has), None).cast(pl.Date),
            "last_day": pl.Series(last).set(pl.Series(~has), None).cast(pl.Date),
        }
    )


VIEW_COLUMNS = ("claim_id", "seq", "pidx", "pid", "fixmedins_code", "med_type", "begndate", "enddate")


def _build_view(f: Frames) -> pl.DataFrame:
    inpatient = pl.col("med_type").is_in(list(INPATIENT_MED_TYPES))
    claims = indexed(f).claims
    return (
        pl.concat([claims, _line_totals(f)], how="horizontal")
        .select(*VIEW_COLUMNS, pl.col("dise_codg").fill_null(""), pl.col("total").fill_null(0), "first_day", "last_day")
        .with_columns(inpatient.alias("inpatient"), (~inpatient & (pl.col("med_type") != PHARMACY)).alias("visit"))
    )


def claim_view(f: Frames) -> pl.DataFrame:
    """Every claim of ``f`` with its ``total`` (fen, 0 without lines), ``first_day``/``last_day`` of its lines,
    ``pidx`` (its person's row in ``f.people``, null when not there), ``pid`` (an integer per person),
    ``inpatient`` and ``visit``; in the claims' order."""
    return remembered(f, None, "claim_view", lambda: _build_view(f))


def _build_stay_pairs(f: Frames) -> pl.DataFrame:
    v = claim_view(f)
    adm = v.filter(pl.col("inpatient")).select(
        "pid",
        pl.col("claim_id").alias("a_id"),
        pl.col("seq").alias("a_seq"),
        pl.col("fixmedins_code").alias("a_inst"),
        pl.col("begndate").alias("a_beg"),
        pl.col("enddate").alias("a_end"),
        pl.col("total").alias("a_total"),
    )
    out = (
        v.filter(~pl.col("inpatient"))
        .join(adm.select("pid").unique(), on="pid", how="semi")
        .select("pid", "claim_id", "seq", "fixmedins_code", pl.col("begndate").alias("day"), "total")
    )
    return out.join(adm, on="pid").filter(pl.col("day").is_between(pl.col("a_beg"), pl.col("a_end")))


def stay_pairs(f: Frames) -> pl.DataFrame:
    """Each outpatient claim (a visit or a purchase) with each admission of the same person (any ``seq``)
    whose ``begndate <= day <= enddate``: the outpatient claim's columns, the admission's as ``a_*``."""
    return remembered(f, None, "stay_pairs", lambda: _build_stay_pairs(f))


def _ranked(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``df`` (sorted by ``keys``) with ``n``, 1, 2, … within each run of equal ``keys``, and ``size``, the run's length."""
    start = df.select(pl.any_horizontal([(pl.col(k) != pl.col(k).shift(1)).fill_null(True) for k in keys])).to_series()
    starts = np.flatnonzero(start.to_numpy())
    sizes = np.diff(np.append(starts, df.height))
    n = np.arange(df.height, dtype=np.int64) - np.repeat(starts, sizes) + 1
    return df.with_columns(n=pl.Series(n), size=pl.Series(np.repeat(sizes, sizes).astype(np.int64)))


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
    adm = claim_view(f).filter(pl.col("inpatient"))
    prev = adm.select(
        "pid",
        pl.col("claim_id").alias("p_id"),
        pl.col("seq").alias("p_seq"),
        pl.col("enddate").alias("p_end"),
        pl.col("dise_codg").alias("p_dise"),
    )
    known = (pl.col("dise_codg") != "") & (pl.col("p_dise") != "")
    same = known & (pl.col("dise_codg").str.slice(0, prefix) == pl.col("p_dise").str.slice(0, prefix))
    pairs = (
        adm.select("claim_id", "seq", "pid", "begndate", "dise_codg", "total")
        .join(prev, on="pid")
        .with_columns((pl.col("begndate") - pl.col("p_end")).dt.total_days().alias("gap"))
        .filter((pl.col("p_seq") < pl.col("seq")) & pl.col("gap").is_between(0, days))
        .with_columns(pl.when(same).then(2).when(~known).then(1).otherwise(0).alias("rank"))
        .filter(pl.col("rank") > 0)
        .sort(["claim_id", "rank", "p_end", "p_seq"])
        .unique("claim_id", keep="last", maintain_order=True)
    )
    if not pairs.height:
        return _empty()
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
    hits = (
        stay_pairs(f)
        .filter((pl.col("seq") < pl.col("a_seq")) & (pl.col("fixmedins_code") != pl.col("a_inst")))
        .group_by("a_id")
        .agg(pl.col("day").unique().sort().alias("days"), pl.col("claim_id").alias("ids"), pl.col("a_total").first())
        .filter(pl.col("days").list.len() >= min_days)
        .rename({"a_id": "claim_id", "a_total": "total"})
    )
    if not hits.height:
        return _empty()
    dates = pl.col("days").list.eval(_date_text(pl.element()))
    args = [("n", json_int(pl.col("days").list.len())), ("dates", json_text(dates.list.join(", ")))]
    ev = pl.concat_list([_prefixed("claim:", pl.col("ids")), _prefixed("date:", dates)])
    return claim_findings(rule, hits, args, ev)


def outpatient_during_stay(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    hits = (
        stay_pairs(f)
        .sort(["claim_id", "a_beg", "a_id"])
        .group_by("claim_id", maintain_order=True)
        .agg(
            pl.col("day").first(),
            pl.col("total").first(),
            pl.col("a_beg").first(),
            pl.col("a_inst").first(),
            pl.col("a_id").alias("ids"),
        )
    )
    if not hits.height:
        return _empty()
    args = [
        ("day", json_text(_date_text(pl.col("day")))),
        ("stay", json_text(pl.concat_str([pl.col("a_inst"), _date_text(pl.col("a_beg"))], separator=" "))),
    ]
    return claim_findings(rule, hits, args, _prefixed("claim:", pl.col("ids")))


def after_death(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    dead = (
        f.people.with_row_index("pidx")
        .filter(pl.col("death_date").is_not_null())
        .select("pidx", pl.col("death_date").alias("death"))
    )
    if not dead.height:
        return _empty()
    cand = (
        claim_view(f)
        .join(dead, on="pidx")
        .filter((pl.col("begndate") > pl.col("death")) | (pl.col("last_day") > pl.col("death")))
        .select("claim_id", "begndate", "first_day", "death", "total")
    )
    # care wholly after death: its first day is the earliest; otherwise look at its lines after death
    first = pl.min_horizontal("begndate", "first_day")
    easy = cand.filter(first > pl.col("death")).with_columns(first.alias("day"))
    hard = cand.filter(first <= pl.col("death"))
    if hard.height:
        line_days = (
            f.lines.filter(pl.col("claim_id").is_in(hard["claim_id"].implode()))
            .select("claim_id", "fee_ocur_date")
            .join(hard.select("claim_id", "death"), on="claim_id")
            .filter(pl.col("fee_ocur_date") > pl.col("death"))
            .group_by("claim_id")
            .agg(pl.col("fee_ocur_date").min().alias("line_day"))
        )
        later = pl.when(pl.col("begndate") > pl.col("death")).then(pl.col("begndate"))
        hard = hard.join(line_days, on="claim_id", how="left").with_columns(pl.min_horizontal(later, "line_day").alias("day"))
    else:
        hard = hard.with_columns(pl.lit(None, dtype=pl.Date).alias("day"))
    late = pl.concat([easy, hard.select(easy.columns)]).filter(pl.col("day").is_not_null())
    if not late.height:
        return _empty()
    args = [("day", json_text(_date_text(pl.col("day")))), ("death", json_text(_date_text(pl.col("death"))))]
    ev = pl.concat_list([pl.lit("date:") + _date_text(pl.col("death"))])
    return claim_findings(rule, late, args, ev)


def _visits(f: Frames, period: pl.Expr) -> pl.DataFrame:
    """Visits with ``period`` (their day or month), sorted by person, period and ``seq``, ranked ``n`` 1, 2, …
    within the person's period, ``visits`` of them in all.

    Person and period are packed in one integer ``key`` (a person number below 2³¹, a period of 32 bits);
    when the claims come in ``seq`` order, as the ledger writes them, a stable sort by ``key`` alone keeps it.
    """
    key = pl.col("pid").cast(pl.Int64) * (1 << 32) + pl.col("period").to_physical().cast(pl.Int64) + (1 << 31)
    v = claim_view(f).filter(pl.col("visit")).select("claim_id", "seq", "pid", "total", period.alias("period"))
    v = v.with_columns(key=key)
    seq = v.get_column("seq").to_numpy()
    v = v.sort("key", maintain_order=True) if bool(np.all(seq[1:] >= seq[:-1])) else v.sort(["key", "seq"])
    return _ranked(v, ["key"]).rename({"size": "visits"})


def _earlier_ids(v: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
    """``flagged`` with ``others``: the ids of the visits before each in its person's period (``seq`` order)."""
    groups = (
        v.join(flagged.select("pid", "period").unique(), on=["pid", "period"], how="semi")
        .group_by(["pid", "period"], maintain_order=True)
        .agg(pl.col("claim_id").alias("all_ids"))
    )
    return flagged.join(groups, on=["pid", "period"]).with_columns(pl.col("all_ids").list.head(pl.col("n") - 1).alias("others"))


def same_day_visits(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    v = _visits(f, pl.col("begndate"))
    flagged = v.filter(pl.col("n") > int(rule.param("max_visits")))
    if not flagged.height:
        return _empty()
    args = [("n", json_int(pl.col("n"))), ("others", json_text(pl.col("others").list.join(", ")))]
    return claim_findings(rule, _earlier_ids(v, flagged), args, _prefixed("claim:", pl.col("others")))


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
    month = pl.col("begndate").dt.year().cast(pl.Int32) * 100 + pl.col("begndate").dt.month().cast(pl.Int32)
    v = _visits(f, month)
    counts = v.filter(pl.col("n") == 1)  # a row per person and month
    k = ((pl.len().cast(pl.Int64) * pct + 99) // 100).clip(1, pl.len().cast(pl.Int64)) - 1
    thresholds = counts.group_by("period").agg(pl.col("visits").sort().gather(k).first().alias("threshold"))
    flagged = v.filter(pl.col("n") > min_visits).join(thresholds, on="period").filter(pl.col("n") > pl.col("threshold"))
    if not flagged.height:
        return _empty()
    month_text = pl.concat_str(
        [(pl.col("period") // 100).cast(pl.Utf8), (pl.col("period") % 100).cast(pl.Utf8).str.zfill(2)], separator="-"
    )
    args = [
        ("month", json_text(month_text)),
        ("visits", json_int(pl.col("visits"))),
        ("percentile", json_int(pl.lit(pct))),
        ("threshold", json_int(pl.col("threshold"))),
    ]
    return claim_findings(rule, _earlier_ids(v, flagged), args, _prefixed("claim:", pl.col("others")))


RULES = {
    "split_admission": split_admission,
    "bed_hanging": bed_hanging,
    "outpatient_during_stay": outpatient_during_stay,
    "after_death": after_death,
    "same_day_visits": same_day_visits,
    "high_frequency": high_frequency,
}
