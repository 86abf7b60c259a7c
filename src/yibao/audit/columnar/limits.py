"""超剂量, 超频次, 超疗程, 重复收费, 分解收费, 关联缺失, 药品与诊断不符 over many claims (columnar form).

The same rules as :mod:`yibao.audit.scalar.limits` (whose docstrings define them), with joins,
group-bys and window expressions over the frames: running totals are cumulative sums over lines
sorted by person, group, claim ``seq`` and ``line_no``, so a claim's "history" is the person's claims
before it in the same frame. Knowledge comes from the same indexed tables as the scalar form.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from yibao.audit.columnar.indexed import indexed
from yibao.audit.columnar.scope import args_json, cnt_text, json_int, json_text, line_findings
from yibao.audit.knowledge import WINDOWS, Knowledge
from yibao.audit.model import FINDING_SCHEMA, Frames
from yibao.audit.pack import RuleSpec
from yibao.core.money import half_up
from yibao.core.vocab import AUDIT_WINDOWS

STR = pl.Utf8
INT = pl.Int64


def pairs(rows: Mapping[str, object], left: str, right: str, dtype: type[pl.DataType] = STR) -> pl.DataFrame:
    """A frame of (``left``, ``right``) from an item → value or item → values mapping (values deduplicated)."""
    data = sorted({(k, v) for k, vs in rows.items() for v in (vs if isinstance(vs, frozenset | tuple | list | set) else (vs,))})
    return pl.DataFrame(data, schema={left: STR, right: dtype}, orient="row")


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def day_text(e: pl.Expr) -> pl.Expr:
    return e.dt.strftime("%Y-%m-%d")


def over_limits(lines: pl.DataFrame, f: Frames, group: list[str]) -> pl.DataFrame:
    """The lines over their group's ``limit``: running totals of ``cnt_milli`` per person and ``group``
    in (``seq``, ``line_no``) order; adds ``after`` (the total through the line), ``amount`` and
    ``evidence`` (``claim:<id>`` of the earlier claims with a line in the group).

    Only groups whose positive counts add up to more than the limit can go over it, so the running
    totals are taken over those groups' lines alone (groups found by a hash of their keys: a
    collision only keeps more lines)."""
    keys = ["pid", *group]
    cnt, limit, total = pl.col("cnt_milli"), pl.col("limit"), pl.col("det_item_fee_sumamt")
    df = (
        indexed(f)
        .with_claims(lines, "pid", "seq")
        .lazy()
        .filter(cnt.clip(lower_bound=0).sum().over(pl.struct(keys).hash()) > limit)
        .sort([*keys, "seq", "line_no"])
        .with_columns(after=cnt.cum_sum().over(keys))
        .collect()
    )
    before = pl.col("after") - cnt
    flagged = df.filter(pl.col("after") > limit).with_columns(
        amount=pl.when((before >= limit) | (cnt <= 0)).then(total).otherwise(half_up(total * (pl.col("after") - limit), cnt))
    )
    members = df.select(*keys, ev_claim="claim_id", ev_seq="seq").unique()
    ev = (
        flagged.select(*keys, "claim_id", "line_no", "seq")
        .join(members, on=keys)
        .filter(pl.col("ev_seq") < pl.col("seq"))
        .group_by(["claim_id", "line_no", *keys])
        .agg(evidence=pl.concat_str(pl.lit("claim:"), pl.col("ev_claim")))
    )
    return flagged.join(ev, on=["claim_id", "line_no", *keys], how="left").with_columns(
        pl.col("evidence").fill_null(pl.lit([], dtype=pl.List(STR)))
    )


def dose_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    if not kb.per_day:
        return empty()
    lim = pairs(kb.per_day, "med_list_codg", "limit", INT)
    lines = indexed(f).of_items(kb.per_day).join(lim, on="med_list_codg")
    df = over_limits(lines, f, ["med_list_codg", "fee_ocur_date"])
    args = [
        ("day", json_text(day_text(pl.col("fee_ocur_date")))),
        ("cnt", json_text(cnt_text(pl.col("after")))),
        ("limit", json_text(cnt_text(pl.col("limit")))),
    ]
    return line_findings(rule, df, pl.col("amount"), args, pl.col("evidence"))


def window_start(day: pl.Expr, window: pl.Expr) -> pl.Expr:
    """The first day of ``day``'s natural window (ISO weeks start on Monday)."""
    return (
        pl.when(window == "day").then(day)
        .when(window == "week").then(day.dt.truncate("1w"))
        .when(window == "month").then(day.dt.month_start())
        .when(window == "quarter").then(day.dt.truncate("1q"))
        .otherwise(day.dt.truncate("1y"))
    )  # fmt: skip


def frequency_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    if not kb.frequency:
        return empty()
    rows = sorted({(code, w, m) for code, lims in kb.frequency.items() for w, m in lims})
    freq = pl.DataFrame(rows, schema={"med_list_codg": STR, "window": STR, "limit": INT}, orient="row")
    labels = pl.DataFrame(
        {
            "window": list(WINDOWS),
            "window_idx": list(range(len(WINDOWS))),
            "wl_zh": [AUDIT_WINDOWS[w][0] for w in WINDOWS],
            "wl_en": [AUDIT_WINDOWS[w][1] for w in WINDOWS],
        }
    )
    lines = (
        indexed(f)
        .of_items(kb.frequency)
        .join(freq, on="med_list_codg")
        .with_columns(wstart=window_start(pl.col("fee_ocur_date"), pl.col("window")))
    )
    df = (
        over_limits(lines, f, ["med_list_codg", "window", "limit", "wstart"])
        .join(labels, on="window")
        .sort(["claim_id", "line_no", "amount", "window_idx", "limit"], descending=[False, False, True, False, False])
        .unique(["claim_id", "line_no"], keep="first", maintain_order=True)
    )
    args = [
        ("window", json_text(pl.col("window"))),
        ("window_label", json_text(pl.col("wl_zh"))),
        ("window_label_en", json_text(pl.col("wl_en"))),
        ("cnt", json_text(cnt_text(pl.col("after")))),
        ("limit", json_text(cnt_text(pl.col("limit")))),
    ]
    return line_findings(rule, df, pl.col("amount"), args, pl.col("evidence"))


def course_limit(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    if not kb.course_days:
        return empty()
    by = ["claim_id", "med_list_codg"]
    day = pl.col("fee_ocur_date")
    df = (
        indexed(f)
        .of_items(kb.course_days)
        .join(pairs(kb.course_days, "med_list_codg", "limit", INT), on="med_list_codg")
        .with_columns(rank=day.rank("dense").over(by), days=day.n_unique().over(by))
        .filter(pl.col("rank") > pl.col("limit"))
    )
    args = [("days", json_int(pl.col("days"))), ("limit", json_int(pl.col("limit"))), ("day", json_text(day_text(day)))]
    return line_findings(rule, df, pl.col("det_item_fee_sumamt"), args)


def duplicate_pair(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    pf = pairs(kb.duplicate_subs, "main", "sub").filter(pl.col("main") != pl.col("sub"))
    if not pf.height:
        return empty()
    on = ["claim_id", "fee_ocur_date", "main"]
    ix = indexed(f)
    mains = ix.of_items(pf.get_column("main")).lazy().select("claim_id", "fee_ocur_date", main="med_list_codg")
    df = (
        ix.of_items(pf.get_column("sub"))
        .lazy()
        .join(pf.lazy(), left_on="med_list_codg", right_on="sub")
        .join(mains, on=on, how="semi")
        .group_by(["claim_id", "line_no", "feedetl_sn", "med_list_codg", "det_item_fee_sumamt"])
        .agg(mains=pl.col("main").unique().sort())
        .collect()
    )
    ev = pl.col("mains").list.eval(pl.concat_str(pl.lit("item:"), pl.element()))
    return line_findings(rule, df, pl.col("det_item_fee_sumamt"), [("main", json_text(pl.col("mains").list.join(",")))], ev)


def bundle_split(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    bp = pairs(kb.bundles, "bundle", "part")
    if not bp.height:
        return empty()
    on = ["claim_id", "fee_ocur_date", "bundle"]
    ix = indexed(f)
    present = ix.of_items(bp.get_column("bundle")).select("claim_id", "fee_ocur_date", bundle="med_list_codg")
    std = pl.DataFrame(
        [(b, int(s)) for b in kb.bundles if (s := (kb.catalogue.get(b) or {}).get("std_pric")) is not None],
        schema={"bundle": STR, "std": INT},
        orient="row",
    )
    total = pl.col("total")
    known = pl.col("std").is_not_null()
    df = (
        ix.of_items(bp.get_column("part"))
        .join(bp, left_on="med_list_codg", right_on="part")
        .join(present.unique(), on=on, how="anti")
        .sort(["claim_id", "line_no"])
        .group_by(on)
        .agg(
            feedetl_sns=pl.col("feedetl_sn"),
            parts=pl.col("med_list_codg").n_unique().cast(INT),
            total=pl.col("det_item_fee_sumamt").sum(),
        )
        .filter(pl.col("parts") >= int(rule.param("min_parts")))
        .join(std, on="bundle", how="left")
        .with_columns(amount=pl.when(known).then(pl.max_horizontal(total - pl.col("std"), pl.lit(0))).otherwise(total).cast(INT))
        .sort(["claim_id", "amount", "bundle"], descending=[False, True, False])
        .unique(["claim_id", pl.col("feedetl_sns").list.join("\x1f")], keep="first", maintain_order=True)
    )
    day = day_text(pl.col("fee_ocur_date"))
    common = [
        ("bundle", json_text(pl.col("bundle"))),
        ("parts", json_int(pl.col("parts"))),
        ("day", json_text(day)),
        ("parts_fen", json_int(total)),
    ]
    with_std = args_json(*common, ("basis", json_text(pl.lit("std_pric"))), ("std_fen", json_int(pl.col("std"))))
    without = args_json(*common, ("basis", json_text(pl.lit("parts"))))
    return df.select(
        pl.lit(rule.code).alias("rule_code"),
        pl.lit(rule.type).alias("rule_type"),
        pl.lit(rule.result).alias("result"),
        pl.col("claim_id"),
        pl.col("feedetl_sns"),
        pl.col("amount"),
        pl.concat_list(pl.concat_str(pl.lit("date:"), day), pl.concat_str(pl.lit("item:"), pl.col("bundle")))
        .list.sort()
        .alias("evidence"),
        pl.when(known).then(with_std).otherwise(without).alias("args"),
    )


def with_result(rule: RuleSpec, df: pl.DataFrame, args: list[tuple[str, pl.Expr]], unevaluable: pl.Expr) -> pl.DataFrame:
    """Whole-line findings on ``df``'s lines, ``unevaluable`` where the expression holds, else the rule's result."""
    found = line_findings(rule, df, pl.col("det_item_fee_sumamt"), args)
    return found.with_columns(
        result=df.select(pl.when(unevaluable).then(pl.lit("unevaluable")).otherwise(pl.lit(rule.result)))
        .to_series()
        .alias("result")
    )


def _with_dise(lines: pl.DataFrame, f: Frames) -> pl.DataFrame:
    return indexed(f).with_claims(lines, "dise_codg").with_columns(dise=pl.col("dise_codg").fill_null(""))


def missing_required(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    ri = pairs(kb.requires_items, "med_list_codg", "req")
    rd = pairs(kb.requires_dise, "med_list_codg", "prefix")
    codes = pl.concat([ri["med_list_codg"], rd["med_list_codg"]]).unique()
    if not codes.len():
        return empty()
    by = ["claim_id", "med_list_codg"]
    lines = _with_dise(indexed(f).of_items(codes), f)
    ci = lines.select(*by, "dise").unique()
    present = indexed(f).of_items(ri.get_column("req")).select("claim_id", req="med_list_codg")
    miss = (
        ci.join(ri, on="med_list_codg")
        .join(present.unique(), on=["claim_id", "req"], how="anti")
        .group_by(by)
        .agg(missing=pl.col("req").sort().str.join(","))
    )
    dd = (
        ci.join(rd, on="med_list_codg")
        .group_by(by)
        .agg(
            ok=pl.col("dise").str.starts_with(pl.col("prefix")).any(),
            pref=pl.concat_str(pl.col("prefix"), pl.lit("*")).unique().sort().str.join(","),
        )
    )
    missing = pl.col("missing").fill_null("")
    pref = pl.when(pl.col("ok").fill_null(True)).then(pl.lit("")).otherwise(pl.col("pref"))
    state = (
        ci.join(miss, on=by, how="left")
        .join(dd, on=by, how="left")
        .with_columns(
            required=pl.concat_str(missing, pl.when((missing != "") & (pref != "")).then(pl.lit(",")).otherwise(pl.lit("")), pref)
        )
        .filter(pl.col("required") != "")
        .select(*by, "required", none_missing=missing == "")
    )
    df = lines.join(state, on=by)
    args = [("required", json_text(pl.col("required"))), ("dise_codg", json_text(pl.col("dise")))]
    return with_result(rule, df, args, pl.col("none_missing") & (pl.col("dise") == ""))


def diagnosis_mismatch(rule: RuleSpec, kb: Knowledge, f: Frames) -> pl.DataFrame:
    ind = pairs(kb.indications, "med_list_codg", "prefix")
    if not ind.height:
        return empty()
    by = ["claim_id", "med_list_codg"]
    lines = _with_dise(indexed(f).of_items(ind.get_column("med_list_codg")), f)
    state = (
        lines.select(*by, "dise")
        .unique()
        .join(ind, on="med_list_codg")
        .group_by(by)
        .agg(
            ok=pl.col("dise").str.starts_with(pl.col("prefix")).any(),
            inds=pl.concat_str(pl.col("prefix"), pl.lit("*")).unique().sort().str.join(","),
        )
        .filter(~pl.col("ok"))
    )
    df = lines.join(state, on=by)
    args = [("indications", json_text(pl.col("inds"))), ("dise_codg", json_text(pl.col("dise")))]
    return with_result(rule, df, args, pl.col("dise") == "")


RULES = {
    "dose_limit": dose_limit,
    "frequency_limit": frequency_limit,
    "course_limit": course_limit,
    "duplicate_pair": duplicate_pair,
    "bundle_split": bundle_split,
    "missing_required": missing_required,
    "diagnosis_mismatch": diagnosis_mismatch,
}
