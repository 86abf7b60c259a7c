"""Institution anomalies (机构异常监测): monthly indicators per institution, each compared with the
institution's peers of the same level and with its own past.

Pure: frames in, frames out (Polars); the app reads the ledger. The inputs:

- ``claims``: the claims frame every report reads (:mod:`yibao.rules.claims`; used here: ``setl_id``,
  ``psn_no``, ``month``, ``med_type``, ``fixmedins_code``, ``medfee_sumamt``, ``psn_part_amt``, ``township``);
- ``stays`` (optional): ``setl_id``, ``begndate``, ``enddate`` of each settled admission (入院/出院日期);
- ``fees`` (optional, :data:`FEES_SCHEMA`): per settlement, its fee lines' total and the fee of the drugs,
  examinations and materials among them, by the catalogue's kind of each item
  (:data:`yibao.audit.knowledge.ITEM_KINDS`; :func:`settlement_fees` makes it from the lines).

Indicators (:data:`INDICATORS`), per unit (an institution, or a township for the township view) and month
(the settlement's month). Each keeps its numerator and denominator; its value is exact integer arithmetic,
rounded half up: basis points (1/10000) for ratios, fen for money, thousandths of a day for stays.

- ``admission_rate`` 收住率: admissions / the unit's enrolled persons. The enrolled persons of an
  institution's catchment are, by default, the persons who had a settlement there in the claims given
  (``assumed``: the data says who an institution serves for every level, for hospitals outside the county
  as for township health centres; the registry's enrolled count of a township fits only its own centre).
  A caller may pass ``catchment`` counts instead (the township view passes the registry's enrolled persons).
- ``cost_per_admission`` 次均住院费用: the admissions' total cost / admissions.
- ``avg_los`` 平均住院日: days (discharge − admission, at least 1) / admissions with dates.
- ``readmit_15d`` 15日再入院率: admissions beginning 0..15 days after an earlier discharge of the same person
  from the same unit / admissions with dates (the earlier stay must be in the claims given: the app reads
  :attr:`Params.trend_months` months before the period, which covers it).
- ``drug_share``, ``exam_share``, ``material_share`` 药占比, 检查占比, 耗材占比: the kind's fee / all fee lines'
  fee (items not in the catalogue count in the whole only).
- ``selfpay_share`` 个人负担比例: ``psn_part_amt`` / ``medfee_sumamt``.
- ``persons_per_visit`` 人次人头比 (as persons per settlement): distinct persons / settlements; low means
  many settlements per person (分解门诊).

Admissions are settlements whose ``med_type`` is inpatient (:data:`yibao.audit.model.INPATIENT_MED_TYPES`).

Comparison (:func:`compare`): within each month and peer group (``hosp_lv``), over the units whose indicator
rests on at least :attr:`Params.min_cases` cases, when there are at least :attr:`Params.min_peers` of them:
the quartiles (linear interpolation between order statistics, as numpy's default: position ``(n-1)·p``),
the spread (IQR, at least the unit's :attr:`Params.min_spread`), Tukey's fences ``Q1 − k·spread``,
``Q3 + k·spread`` (k = 1.5) and the far fences (k = 3); a lower fence below 0 is 0 (no indicator is
negative). A value beyond a fence is flagged ``high`` or ``low``; its score is how far beyond the fence it
lies, in spreads. The trend test compares a value with
the median of the unit's own previous :attr:`Params.trend_months` months (at least
:attr:`Params.trend_min_months` of them): a rise above +50% is flagged. All comparisons are exact
(fractions of the integer values).

The ranked list (:func:`rank`): beyond a fence first, by score (far before out follows from it), then
trend-only flags by their rise; ties by unit code, month and indicator order — deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import polars as pl

from yibao.audit.indicators import BY_CODE, ORDER, SCALE, Unit
from yibao.audit.model import INPATIENT_MED_TYPES
from yibao.core.i18n import Said, pick, t
from yibao.core.money import fmt_yuan

INDICATOR_LABELS: dict[str, Said] = {
    "admission_rate": ("收住率", "admission rate"),
    "cost_per_admission": ("次均住院费用", "cost per admission"),
    "avg_los": ("平均住院日", "average stay"),
    "readmit_15d": ("15日再入院率", "15-day readmission"),
    "drug_share": ("药占比", "drug share"),
    "exam_share": ("检查占比", "exam share"),
    "material_share": ("耗材占比", "material share"),
    "selfpay_share": ("个人负担比例", "self-paid share"),
    "persons_per_visit": ("人次人头比", "persons per visit"),
}
"""Each indicator's name, once."""
INDICATOR_NOTES: dict[str, Said] = {
    "admission_rate": (
        "住院人次 ÷ 机构服务的参保人数（期间内在该机构结算过的人数）",
        "admissions ÷ the persons it serves (persons settled there in the period)",
    ),
    "cost_per_admission": ("住院总费用 ÷ 住院人次", "admissions' total cost ÷ admissions"),
    "avg_los": ("住院天数之和 ÷ 有入出院日期的住院人次", "days in hospital ÷ admissions with dates"),
    "readmit_15d": (
        "出院后15日内在同一机构再次入院的人次 ÷ 住院人次",
        "admissions within 15 days of a discharge from the same institution ÷ admissions",
    ),
    "drug_share": ("药品费用 ÷ 明细费用合计", "drug fees ÷ all fee lines"),
    "exam_share": ("检查检验费用 ÷ 明细费用合计", "examination fees ÷ all fee lines"),
    "material_share": ("医用耗材费用 ÷ 明细费用合计", "material fees ÷ all fee lines"),
    "selfpay_share": ("个人负担总额 ÷ 医疗总费用", "patient's part ÷ total cost"),
    "persons_per_visit": (
        "就诊人数 ÷ 结算人次（越低表示同一人结算次数越多）",
        "persons ÷ settlements (low: many settlements per person)",
    ),
}
"""How each indicator is computed, for the reader."""
KIND_LABELS: dict[str, Said] = {
    "far": ("远超同级围栏", "far beyond the peers' fence"),
    "out": ("超出同级围栏", "beyond the peers' fence"),
    "trend": ("较自身近期上升超过50%", "risen over 50% on its own past"),
}
DIRECTION_LABELS: dict[str, Said] = {"high": ("偏高", "high"), "low": ("偏低", "low")}
SHARE_KINDS = {"drug_share": "drug", "exam_share": "exam", "material_share": "material"}


@dataclass(frozen=True)
class Params:
    """The comparison's parameters; every default is ``assumed`` (no national figure prescribes them)."""

    k: Fraction = Fraction(3, 2)
    """Tukey's fence (source: Tukey 1977, the usual 1.5)."""
    far_k: Fraction = Fraction(3)
    """Tukey's far fence ("far out", 3)."""
    min_peers: int = 5
    """assumed: quartiles of fewer than five peers say little; a smaller group is not compared."""
    min_cases: int = 5
    """assumed: a value resting on fewer cases (admissions, settlements, persons) is too noisy to flag."""
    min_spread_bp: int = 100
    """assumed: the spread is at least 1 percentage point, so that peers all equal do not flag a hair's difference."""
    min_spread_fen: int = 10_000
    """assumed: at least 100 yuan."""
    min_spread_milli_day: int = 500
    """assumed: at least half a day."""
    trend_months: int = 6
    """assumed: the institution's own past is its previous six months."""
    trend_min_months: int = 3
    """assumed: a past of fewer than three months is not a baseline."""
    trend_rise: Fraction = Fraction(1, 2)
    """assumed: a rise above +50% on the past's median is flagged (Huaibei-style 异常预警)."""
    readmit_days: int = 15
    """The issue's 15-day readmission window (分解住院's default N)."""

    def min_spread(self, unit: Unit) -> int:
        return {"bp": self.min_spread_bp, "fen": self.min_spread_fen, "milli_day": self.min_spread_milli_day}[unit]


DEFAULT_PARAMS = Params()

INDICATOR_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "code": pl.Utf8, "month": pl.Utf8, "indicator": pl.Utf8, "num": pl.Int64, "den": pl.Int64, "n": pl.Int64,
    "value": pl.Int64,
}  # fmt: skip
"""One unit-month-indicator: ``value`` = num/den in the indicator's unit; ``n`` the cases it rests on."""
BAND_COLUMNS = ("q1", "median", "q3", "lower", "upper", "lower_far", "upper_far")
BAND_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "group": pl.Utf8, "month": pl.Utf8, "indicator": pl.Utf8, "peers": pl.Int64, **{c: pl.Int64 for c in BAND_COLUMNS},
}  # fmt: skip
"""The peer band of a group, month and indicator (rounded half up to the indicator's unit for showing)."""
RANKED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "rank": pl.Int64, "code": pl.Utf8, "group": pl.Utf8, "month": pl.Utf8, "indicator": pl.Utf8, "unit": pl.Utf8,
    "value": pl.Int64, "num": pl.Int64, "den": pl.Int64, "n": pl.Int64, "peers": pl.Int64,
    **{c: pl.Int64 for c in BAND_COLUMNS},
    "kind": pl.Utf8, "direction": pl.Utf8, "score_milli": pl.Int64, "trend": pl.Boolean, "trend_base": pl.Int64,
    "trend_rise_bp": pl.Int64,
}  # fmt: skip
"""A flag: ``kind`` far / out (beyond the far fence / the fence) or trend (within the fences, risen);
``score_milli`` the distance beyond the fence in thousandths of a spread; ``trend`` whether it also rose."""


def indicator_label(code: str, lang: str = "zh") -> str:
    said = INDICATOR_LABELS.get(code)
    return code if said is None else pick(said, lang)


def shown(value: int | None, unit: str, lang: str = "zh") -> str:
    """A value as a reader sees it: basis points as a percentage, fen as yuan, thousandths of a day as days."""
    if value is None:
        return "—"
    if unit == "bp":
        return f"{value / 100:.2f}%"
    if unit == "fen":
        return fmt_yuan(value) + t(lang, "元", " yuan")
    return f"{value / 1000:.2f}" + t(lang, "天", " days")


def half_up(x: Fraction) -> int:
    """The nearest integer, halves away from zero."""
    return int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2))


def ratio(num: int, den: int, unit: Unit) -> int:
    return half_up(Fraction(num * SCALE[unit], den))


def quantile(sorted_values: Sequence[int], p: Fraction) -> Fraction:
    """Linear interpolation between order statistics at position ``(n-1)·p`` (numpy's default), exact."""
    pos = (len(sorted_values) - 1) * p
    lo = int(pos)
    frac = pos - lo
    if frac == 0:
        return Fraction(sorted_values[lo])
    return sorted_values[lo] + frac * (sorted_values[lo + 1] - sorted_values[lo])


@dataclass(frozen=True)
class Band:
    """Peers' quartiles and fences (exact)."""

    peers: int
    q1: Fraction
    median: Fraction
    q3: Fraction
    spread: Fraction
    lower: Fraction
    upper: Fraction
    lower_far: Fraction
    upper_far: Fraction

    def shown(self) -> dict[str, int]:
        return {c: half_up(getattr(self, c)) for c in BAND_COLUMNS}


def band(values: Iterable[int], unit: Unit, params: Params = DEFAULT_PARAMS) -> Band:
    """The band of a set of peer values (at least one)."""
    xs = sorted(values)
    q1, med, q3 = (quantile(xs, Fraction(p, 4)) for p in (1, 2, 3))
    spread = max(q3 - q1, Fraction(params.min_spread(unit)))
    zero = Fraction(0)  # no indicator is negative: a lower fence below 0 is 0 (it flags the same values)
    return Band(
        len(xs), q1, med, q3, spread,
        max(q1 - params.k * spread, zero), q3 + params.k * spread, max(q1 - params.far_k * spread, zero),
        q3 + params.far_k * spread,
    )  # fmt: skip


# --- indicators ---------------------------------------------------------------------------------------------


def _rows(df: pl.DataFrame, indicator: str, num: str, den: str, n: str) -> pl.DataFrame:
    unit = BY_CODE[indicator].unit
    out = df.filter(pl.col(den) > 0).select(
        pl.col("code"), pl.col("month"), pl.lit(indicator).alias("indicator"),
        pl.col(num).cast(pl.Int64).alias("num"), pl.col(den).cast(pl.Int64).alias("den"), pl.col(n).cast(pl.Int64).alias("n"),
    )  # fmt: skip
    values = [ratio(a, b, unit) for a, b in zip(out["num"].to_list(), out["den"].to_list(), strict=True)]
    return out.with_columns(pl.Series("value", values, pl.Int64))


def _claims(claims: pl.DataFrame, key: str) -> pl.DataFrame:
    return claims.filter(pl.col(key).is_not_null()).select(
        "setl_id", "psn_no", "month", "medfee_sumamt", "psn_part_amt", pl.col(key).alias("code"),
        pl.col("med_type").is_in(list(INPATIENT_MED_TYPES)).alias("adm"),
    )  # fmt: skip


def _claim_indicators(c: pl.DataFrame, catchment: Mapping[str, int] | None) -> list[pl.DataFrame]:
    monthly = c.group_by("code", "month").agg(
        pl.len().alias("settlements"),
        pl.col("psn_no").n_unique().alias("persons"),
        pl.col("adm").sum().alias("admissions"),
        pl.col("medfee_sumamt").filter(pl.col("adm")).sum().alias("adm_cost"),
        pl.col("medfee_sumamt").sum().alias("medfee"),
        pl.col("psn_part_amt").sum().alias("psn_part"),
    )
    if catchment is None:
        enrolled = c.group_by("code").agg(pl.col("psn_no").n_unique().alias("enrolled"))
    else:
        enrolled = pl.DataFrame(
            {"code": list(catchment), "enrolled": list(catchment.values())}, {"code": pl.Utf8, "enrolled": pl.Int64}
        )
    monthly = monthly.join(enrolled, on="code", how="left").with_columns(pl.col("enrolled").fill_null(0))
    return [
        _rows(monthly, "admission_rate", "admissions", "enrolled", "enrolled"),
        _rows(monthly, "cost_per_admission", "adm_cost", "admissions", "admissions"),
        _rows(monthly, "selfpay_share", "psn_part", "medfee", "settlements"),
        _rows(monthly, "persons_per_visit", "persons", "settlements", "settlements"),
    ]


def _stay_indicators(c: pl.DataFrame, stays: pl.DataFrame, params: Params) -> list[pl.DataFrame]:
    s = (
        c.filter(pl.col("adm"))
        .join(stays.select("setl_id", "begndate", "enddate"), on="setl_id", how="inner")
        .filter(pl.col("begndate").is_not_null() & pl.col("enddate").is_not_null())
        .sort("code", "psn_no", "begndate", "enddate", "setl_id")
        .with_columns(
            pl.max_horizontal((pl.col("enddate") - pl.col("begndate")).dt.total_days(), pl.lit(1)).alias("days"),
            pl.col("enddate").cum_max().shift(1).over("code", "psn_no").alias("prev_end"),
        )
        .with_columns(
            ((pl.col("begndate") - pl.col("prev_end")).dt.total_days().is_between(0, params.readmit_days))
            .fill_null(False)
            .alias("readmit")
        )
    )
    monthly = s.group_by("code", "month").agg(
        pl.len().alias("stays"), pl.col("days").sum().alias("days"), pl.col("readmit").sum().alias("readmits")
    )
    return [_rows(monthly, "avg_los", "days", "stays", "stays"), _rows(monthly, "readmit_15d", "readmits", "stays", "stays")]


FEE_KINDS = tuple(SHARE_KINDS.values())
FEES_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "setl_id": pl.Utf8,
    "total": pl.Int64,
    **dict.fromkeys(FEE_KINDS, pl.Int64),
}
"""Per settlement: all its fee lines' fee and the fee of each kind the shares look at (fen)."""


def settlement_fees(lines: pl.DataFrame, kinds: Mapping[str, str]) -> pl.DataFrame:
    """:data:`FEES_SCHEMA` from fee lines (``setl_id``, ``med_list_codg``, ``det_item_fee_sumamt``) and the
    catalogue's kind of each item (an item not in it counts in the total only)."""
    catalogue = pl.DataFrame(
        {"med_list_codg": list(kinds), "kind": list(kinds.values())}, {"med_list_codg": pl.Utf8, "kind": pl.Utf8}
    )
    fee = pl.col("det_item_fee_sumamt")
    out = (
        lines.select("setl_id", "med_list_codg", "det_item_fee_sumamt")
        .join(catalogue, on="med_list_codg", how="left")
        .group_by("setl_id")
        .agg(fee.sum().alias("total"), *(fee.filter(pl.col("kind") == kind).sum().alias(kind) for kind in FEE_KINDS))
    )
    return out.cast(FEES_SCHEMA).sort("setl_id")  # type: ignore[arg-type]


def _fee_indicators(c: pl.DataFrame, fees: pl.DataFrame) -> list[pl.DataFrame]:
    monthly = (
        fees.join(c.select("setl_id", "code", "month"), on="setl_id", how="inner")
        .group_by("code", "month")
        .agg(pl.col("total").sum(), pl.len().alias("settlements"), *(pl.col(k).sum() for k in FEE_KINDS))
    )
    return [_rows(monthly, code, kind, "total", "settlements") for code, kind in SHARE_KINDS.items()]


def indicators(
    claims: pl.DataFrame, *, key: str = "fixmedins_code", stays: pl.DataFrame | None = None,
    fees: pl.DataFrame | None = None, catchment: Mapping[str, int] | None = None, params: Params = DEFAULT_PARAMS,
) -> pl.DataFrame:  # fmt: skip
    """Every indicator of every unit (``key``: ``fixmedins_code`` or ``township``) and month, as
    :data:`INDICATOR_SCHEMA` rows sorted by code, month and indicator order."""
    c = _claims(claims, key)
    parts = _claim_indicators(c, catchment)
    if stays is not None:
        parts += _stay_indicators(c, stays, params)
    if fees is not None:
        parts += _fee_indicators(c, fees)
    out = pl.concat([p.select(list(INDICATOR_SCHEMA)) for p in parts]).cast(INDICATOR_SCHEMA)  # type: ignore[arg-type]
    return _sorted(out)


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    order = pl.col("indicator").replace_strict(ORDER, return_dtype=pl.Int64)
    return df.sort(pl.col("code"), pl.col("month"), order)


# --- comparison -----------------------------------------------------------------------------------------------


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


@dataclass(frozen=True)
class Flag:
    code: str
    group: str
    month: str
    indicator: str
    value: int
    num: int
    den: int
    n: int
    band: Band | None
    kind: Literal["far", "out", "trend"]
    direction: Literal["high", "low"]
    score: Fraction
    trend_base: Fraction | None
    trend_rise: Fraction | None


@dataclass(frozen=True)
class Comparison:
    bands: pl.DataFrame
    """:data:`BAND_SCHEMA`."""
    ranked: pl.DataFrame
    """:data:`RANKED_SCHEMA`, best (most anomalous) first."""


def _trend(past: Mapping[int, int], month: str, value: int, params: Params) -> tuple[Fraction | None, Fraction | None, bool]:
    """The median of the unit's previous months, the rise on it, and whether the rise is flagged."""
    m = month_index(month)
    before = sorted(v for i, v in past.items() if m - params.trend_months <= i < m)
    if len(before) < params.trend_min_months:
        return None, None, False
    base = quantile(before, Fraction(1, 2))
    if base <= 0:
        return base, None, False
    rise = (value - base) / base
    return base, rise, rise > params.trend_rise


def compare(
    ind: pl.DataFrame, groups: Mapping[str, str], months: Iterable[str] | None = None, params: Params = DEFAULT_PARAMS
) -> Comparison:
    """Peer bands per group (``groups``: unit code -> its peer group, e.g. ``hosp_lv``; a unit without one is
    not compared) and month, and the ranked flags of ``months`` (all months when None)."""
    keep = set(months) if months is not None else None
    rows = [r for r in ind.iter_rows(named=True) if r["n"] >= params.min_cases and r["code"] in groups]
    peers: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    past: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for r in rows:
        peers[(groups[r["code"]], r["month"], r["indicator"])].append(r["value"])
        past[(r["code"], r["indicator"])][month_index(r["month"])] = r["value"]
    bands = {k: band(vs, BY_CODE[k[2]].unit, params) for k, vs in peers.items() if len(vs) >= params.min_peers}
    flags: list[Flag] = []
    for r in rows:
        if keep is not None and r["month"] not in keep:
            continue
        flag = _flag(r, groups[r["code"]], bands.get((groups[r["code"]], r["month"], r["indicator"])), past, params)
        if flag is not None:
            flags.append(flag)
    return Comparison(_bands_frame(bands, keep), rank(flags))


def _flag(
    r: Mapping[str, object], group: str, b: Band | None, past: Mapping[tuple[str, str], Mapping[int, int]], params: Params
) -> Flag | None:
    code, month, indicator = str(r["code"]), str(r["month"]), str(r["indicator"])
    value = int(r["value"])  # type: ignore[call-overload]
    base, rise, risen = _trend(past[(code, indicator)], month, value, params)
    kind: Literal["far", "out", "trend"] | None = None
    direction: Literal["high", "low"] = "high"
    score = Fraction(0)
    if b is not None and value > b.upper:
        kind, score = ("far" if value > b.upper_far else "out"), (value - b.upper) / b.spread
    elif b is not None and value < b.lower:
        kind, direction, score = ("far" if value < b.lower_far else "out"), "low", (b.lower - value) / b.spread
    elif risen:
        kind = "trend"
    if kind is None:
        return None
    nums = (int(r["num"]), int(r["den"]), int(r["n"]))  # type: ignore[call-overload]
    return Flag(code, group, month, indicator, value, *nums, b, kind, direction, score, base, rise if risen else None)


def rank(flags: Iterable[Flag]) -> pl.DataFrame:
    """Beyond a fence first by score, then trend-only flags by rise; ties by code, month and indicator order."""

    def key(f: Flag) -> tuple[int, Fraction, str, str, int]:
        fenced = f.kind != "trend"
        weight = f.score if fenced else (f.trend_rise or Fraction(0))
        return (0 if fenced else 1, -weight, f.code, f.month, ORDER[f.indicator])

    rows = []
    for i, f in enumerate(sorted(flags, key=key), start=1):
        shown = f.band.shown() if f.band else dict.fromkeys(BAND_COLUMNS)
        rows.append({
            "rank": i, "code": f.code, "group": f.group, "month": f.month, "indicator": f.indicator,
            "unit": BY_CODE[f.indicator].unit, "value": f.value, "num": f.num, "den": f.den, "n": f.n,
            "peers": f.band.peers if f.band else None, **shown, "kind": f.kind, "direction": f.direction,
            "score_milli": int(f.score * 1000) if f.kind != "trend" else None, "trend": f.trend_rise is not None,
            "trend_base": half_up(f.trend_base) if f.trend_base is not None else None,
            "trend_rise_bp": int(f.trend_rise * 10_000) if f.trend_rise is not None else None,
        })  # fmt: skip
    return pl.DataFrame(rows, schema=RANKED_SCHEMA, orient="row")


def _bands_frame(bands: Mapping[tuple[str, str, str], Band], keep: set[str] | None) -> pl.DataFrame:
    rows = [
        {"group": g, "month": m, "indicator": i, "peers": b.peers, **b.shown()}
        for (g, m, i), b in bands.items()
        if keep is None or m in keep
    ]
    df = pl.DataFrame(rows, schema=BAND_SCHEMA, orient="row")
    return df.sort(pl.col("group"), pl.col("month"), pl.col("indicator").replace_strict(ORDER, return_dtype=pl.Int64))


# --- summaries and the township view ------------------------------------------------------------------------------


def summary(ranked: pl.DataFrame) -> pl.DataFrame:
    """Per unit: flags, far flags, trend flags, the months flagged (how many, which), the worst score; the unit with
    the best-ranked flag first (ties by code)."""
    return (
        ranked.group_by("code", "group")
        .agg(
            pl.len().cast(pl.Int64).alias("flags"),
            (pl.col("kind") == "far").sum().cast(pl.Int64).alias("far"),
            pl.col("trend").sum().cast(pl.Int64).alias("trends"),
            pl.col("month").n_unique().cast(pl.Int64).alias("months"),
            pl.col("month").unique().sort().alias("month_list"),
            pl.col("score_milli").max().alias("worst_milli"),
            pl.col("rank").min().alias("best_rank"),
        )
        .sort("best_rank", "code")
    )


SERVED_SHARE_BP = 5000
"""assumed: an institution serves a township when at least half of its persons live there."""


def served_townships(claims: pl.DataFrame) -> pl.DataFrame:
    """The township each institution serves: where most of its persons live (ties: the first name in
    code-point order), with those persons' share of all its persons in basis points; ``served`` when they
    are at least :data:`SERVED_SHARE_BP` of them (else it serves several townships: a county or city
    hospital). ``assumed``: the patients say which township an institution serves, whatever its name or address."""
    persons = (
        claims.filter(pl.col("fixmedins_code").is_not_null())
        .select("fixmedins_code", "psn_no", pl.col("township").fill_null(""))
        .unique()
    )
    total = persons.group_by("fixmedins_code").agg(pl.len().cast(pl.Int64).alias("persons"))
    by_town = persons.group_by("fixmedins_code", "township").agg(pl.len().cast(pl.Int64).alias("from_township"))
    top = (
        by_town.sort("fixmedins_code", pl.col("from_township"), "township", descending=[False, True, False])
        .group_by("fixmedins_code", maintain_order=True)
        .first()
    )
    out = top.join(total, on="fixmedins_code")
    shares = [ratio(a, b, "bp") for a, b in zip(out["from_township"].to_list(), out["persons"].to_list(), strict=True)]
    return out.with_columns(
        pl.Series("share_bp", shares, pl.Int64), (pl.Series(shares, dtype=pl.Int64) >= SERVED_SHARE_BP).alias("served")
    ).sort("township", "fixmedins_code")


TOWNSHIP_GROUP = "all"
"""Townships are compared with one another (one peer group)."""


@dataclass(frozen=True)
class Anomalies:
    """Everything the page, the API and the command show."""

    indicators: pl.DataFrame
    """Per institution and month (:data:`INDICATOR_SCHEMA`), every month read (the past included)."""
    institutions: Comparison
    summary: pl.DataFrame
    served: pl.DataFrame
    """:func:`served_townships`."""
    township_indicators: pl.DataFrame
    townships: Comparison


def analyse(
    claims: pl.DataFrame, levels: Mapping[str, int], *, months: Iterable[str] | None = None,
    stays: pl.DataFrame | None = None, fees: pl.DataFrame | None = None, township_enrolled: Mapping[str, int] | None = None,
    params: Params = DEFAULT_PARAMS,
) -> Anomalies:  # fmt: skip
    """Institutions compared with peers of their level (``levels``: code -> ``hosp_lv``), townships (the
    patients' township) with one another, flags for ``months`` (the claims may reach further back: the past
    the trend and the readmissions look at)."""
    wanted = list(months) if months is not None else None
    groups = {code: str(lv) for code, lv in levels.items()}
    ind = indicators(claims, stays=stays, fees=fees, params=params)
    inst = compare(ind, groups, wanted, params)
    town_claims = claims.filter(pl.col("township").is_not_null() & (pl.col("township") != ""))
    town_ind = indicators(town_claims, key="township", stays=stays, fees=fees, catchment=township_enrolled, params=params)
    towns = compare(town_ind, dict.fromkeys(town_ind["code"].unique().to_list(), TOWNSHIP_GROUP), wanted, params)
    return Anomalies(ind, inst, summary(inst.ranked), served_townships(claims), town_ind, towns)
