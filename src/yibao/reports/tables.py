"""The bureau's reports: pure Polars functions over the claims frame and the people frame.

Every figure comes from :mod:`yibao.rules.claims` (the ledger or a batch simulation: the
same columns) and, for enrolment, premiums and fund income, from a *people frame*
(:data:`PEOPLE_SCHEMA`, one row per person of the place) that the readers in
:mod:`yibao.app.report_sources` build from the ``enrolment`` table or from a synthetic
county and its pack. The functions here do no I/O, so the ledger and a simulation are
reported by the same code.

- Amounts are integer fen; ratios integer basis points, computed from the exact sums and
  rounded once, half up (:func:`yibao.core.money.round_half_up_div`); every ratio's numerator and
  denominator stay in the table beside it.
- Codes stay codes in the data (``identity``, ``line``, ``med_type``); :data:`ALL` marks a
  subtotal or total row. :func:`cell_text` and :func:`header` turn them into Chinese (default)
  or English for people.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

import polars as pl

from yibao.core.i18n import Said, pick
from yibao.core.identities import ORDINARY
from yibao.core.money import BP, fmt_yuan, half_up
from yibao.core.vocab import GROUPS, MED_TYPES, TIERS, identity_label, label
from yibao.policy.coverage import DEFAULT_PRIORITY, TARGET_CATEGORIES, CoverageRow, cat_order
from yibao.policy.pack import PolicyPack
from yibao.rules.claims import Place

ALL = "all"
"""The key of a subtotal or total row."""
LOW_INCOME = "low_income"
"""The enrolment table's row for the low-income and 脱贫 target group (:data:`TARGET_CATEGORIES`)."""
PAYERS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
"""The three tiers' payers in order: basic, critical illness, assistance, tilted assistance."""
INPATIENT = "21"
RESIDENT = "390"
EMPLOYEE = "310"

PEOPLE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "psn_no": pl.Utf8,
    "county": pl.Utf8,
    "township": pl.Utf8,
    "village": pl.Utf8,
    "category": pl.Utf8,
    "enrolled": pl.Boolean,
    "exempt": pl.Boolean,
    "resident_rows": pl.Int64,
    "subsidy_category": pl.Utf8,
    "individual": pl.Int64,
    "assistance_subsidy": pl.Int64,
    "fiscal_subsidy": pl.Int64,
    "premium": pl.Int64,
}
"""One row per person of the place for the report's year.

``category``: the deciding identity on 1 January (``ordinary`` without one); ``enrolled``:
enrolled in any scheme (``psn_insu_stas`` 1); ``exempt``: not enrolled but with a special status
(视同参保); ``resident_rows``: the person's enrolled resident rows, whose premium split
(``individual`` paid by the person, ``assistance_subsidy`` by the assistance fund,
``fiscal_subsidy``, ``premium`` their total) is summed; ``subsidy_category``: the category that
decided the subsidy on the pack's cut-off day."""
INSTITUTION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {"fixmedins_code": pl.Utf8, "fixmedins_name": pl.Utf8}


# ---------------------------------------------------------------------------------------------
# Context: the pack's identity order and benefit lines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInfo:
    zh: str
    en: str
    insutype: str


@dataclass(frozen=True)
class Context:
    """What the tables need from the policy pack: identity order (rows) and benefit lines (labels, scheme)."""

    priority: tuple[str, ...] = DEFAULT_PRIORITY
    lines: Mapping[str, LineInfo] = field(default_factory=dict)

    @classmethod
    def from_pack(cls, pack: PolicyPack, day: date) -> Context:
        policy = pack.at(day if pack.covers(day) else pack.valid_from)
        lines = {k: LineInfo(v.label_zh, v.label_en, v.insutype) for k, v in policy.lines.items()}
        return cls(tuple(policy.identity_priority), lines)

    def identity_order(self) -> list[str]:
        return [*self.priority, ORDINARY]

    def scheme(self) -> pl.Expr:
        """``insutype`` of each claim's benefit line (an unknown ``employee_…`` line counts as employee)."""
        guess = pl.when(pl.col("line").str.starts_with("employee")).then(pl.lit(EMPLOYEE)).otherwise(pl.lit(RESIDENT))
        known = {k: v.insutype for k, v in self.lines.items()}
        return pl.col("line").replace_strict(known, default=guess, return_dtype=pl.Utf8)


@dataclass(frozen=True)
class ReportMeta:
    start: date
    end: date
    place: Place
    source: Literal["ledger", "batch"]
    pack_id: str | None
    cutoff: date | None = None
    """The pack's premium cut-off day (the subsidy category's day)."""
    detail: str = ""
    """Where the data came from (database URL without password, or the folder)."""

    @property
    def year(self) -> int:
        return self.start.year


# ---------------------------------------------------------------------------------------------
# Expressions and grouping
# ---------------------------------------------------------------------------------------------


def ratio_bp(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den`` in basis points, rounded half up (away from zero for a negative ``num``); null when ``den`` is 0."""
    mag = half_up(num.abs() * BP, den)
    return pl.when(den > 0).then(pl.when(num < 0).then(-mag).otherwise(mag)).otherwise(None).cast(pl.Int64)


def mean_fen(total: pl.Expr, count: pl.Expr) -> pl.Expr:
    """``total / count`` in fen, rounded half up; null for no count."""
    return pl.when(count > 0).then(half_up(total, count)).otherwise(None).cast(pl.Int64)


def _row_sum(*payers: str) -> pl.Expr:
    return pl.sum_horizontal(*(pl.col(p) for p in payers))


def total(df: pl.DataFrame, *columns: str) -> int:
    """The exact sum of ``columns`` over every row (0 for an empty frame)."""
    return int(df.select(_row_sum(*columns).sum()).item())


def _count(alias: str, condition: pl.Expr | None = None) -> pl.Expr:
    return (condition.sum() if condition is not None else pl.len()).cast(pl.Int64).alias(alias)


def _persons(alias: str, condition: pl.Expr | None = None) -> pl.Expr:
    who = pl.col("psn_no") if condition is None else pl.col("psn_no").filter(condition)
    return who.n_unique().cast(pl.Int64).alias(alias)


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


def _rank(column: str, order: Sequence[str]) -> pl.Expr:
    ranks = {v: i for i, v in enumerate(order)}
    ranks[ALL] = len(order) + 1
    return pl.col(column).replace_strict(ranks, default=len(order), return_dtype=pl.Int64)


def _sorted(df: pl.DataFrame, orders: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Rows in the given order of each key (unknown codes after known ones, :data:`ALL` last)."""
    return df.sort([*(_rank(c, o) for c, o in orders.items()), *orders])


def line_order(claims: pl.DataFrame, ctx: Context) -> list[str]:
    return [*ctx.lines, *sorted(set(claims["line"].unique().drop_nulls().to_list()) - set(ctx.lines))]


# ---------------------------------------------------------------------------------------------
# 1. Policy-range reimbursement ratios after each tier
# ---------------------------------------------------------------------------------------------


def reimbursement_ratios(claims: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """政策范围内报销比例 after basic, after critical illness and after assistance, per line and identity.

    Rows: each (line, identity), each line's subtotal (identity ``all``), each identity over all
    lines (line ``all``) and the total. ``basic_pay`` = hifp; ``ci_pay`` = hifp + hifmi;
    ``assist_pay`` = hifp + hifmi + maf + oth; each ratio is that over ``inscp_scp_amt``.
    """
    aggs = [
        _count("claims"),
        pl.col("medfee_sumamt").sum(),
        pl.col("inscp_scp_amt").sum(),
        pl.col("hifp_pay").sum().alias("basic_pay"),
        _row_sum(*PAYERS[:2]).sum().alias("ci_pay"),
        _row_sum(*PAYERS).sum().alias("assist_pay"),
    ]
    df = grouping_sets(claims, ("line", "identity"), [("line", "identity"), ("line",), ("identity",), ()], aggs)
    den = pl.col("inscp_scp_amt")
    df = df.with_columns(
        ratio_bp(pl.col("basic_pay"), den).alias("basic_bp"),
        ratio_bp(pl.col("ci_pay"), den).alias("ci_bp"),
        ratio_bp(pl.col("assist_pay"), den).alias("assist_bp"),
    )
    return _sorted(df, {"line": line_order(claims, ctx), "identity": ctx.identity_order()})


# ---------------------------------------------------------------------------------------------
# 2. Admissions and visits
# ---------------------------------------------------------------------------------------------

MED_TYPE_ORDER = ("21", "14", "11")


def visits(claims: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """住院人次与门诊人次, cost per admission or visit, by med_type, line and identity (with subtotals)."""
    aggs = [
        _count("visits"),
        _persons("persons"),
        pl.col("medfee_sumamt").sum(),
        pl.col("inscp_scp_amt").sum(),
        pl.col("fund_pay_sumamt").sum(),
        pl.col("psn_part_amt").sum(),
    ]
    keys = ("med_type", "line", "identity")
    df = grouping_sets(claims, keys, [keys, keys[:2], keys[:1], ()], aggs)
    df = df.with_columns(mean_fen(pl.col("medfee_sumamt"), pl.col("visits")).alias("avg_cost"))
    df = df.select(*keys, "visits", "persons", "medfee_sumamt", "avg_cost", "inscp_scp_amt", "fund_pay_sumamt", "psn_part_amt")
    return _sorted(df, {"med_type": MED_TYPE_ORDER, "line": line_order(claims, ctx), "identity": ctx.identity_order()})


# ---------------------------------------------------------------------------------------------
# 3. Enrolment rates
# ---------------------------------------------------------------------------------------------


def enrolment_rates(people: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """参保率 per deciding category, for the low-income and 脱贫 target group, and overall.

    The rows are :class:`yibao.policy.coverage.CoverageRow` (the rule of ``yibao coverage``:
    enrolled in any scheme; exempt = not enrolled with a special status; rates rounded half up).
    """
    counts = people.group_by("category").agg(
        _count("persons"), _count("enrolled", pl.col("enrolled")), _count("exempt", pl.col("exempt") & ~pl.col("enrolled"))
    )
    rows = [CoverageRow(str(c), int(p), int(e), int(x)) for c, p, e, x in counts.iter_rows()]
    rows.sort(key=lambda r: cat_order(r.category, ctx.priority))

    def total(code: str, part: Sequence[CoverageRow]) -> CoverageRow:
        return CoverageRow(code, sum(r.persons for r in part), sum(r.enrolled for r in part), sum(r.exempt for r in part))

    rows += [total(LOW_INCOME, [r for r in rows if r.category in TARGET_CATEGORIES]), total(ALL, rows)]
    return pl.DataFrame(
        [(r.category, r.persons, r.enrolled, r.exempt, r.gap, r.enrolled_rate_bp, r.covered_rate_bp) for r in rows],
        schema={
            "category": pl.Utf8,
            "persons": pl.Int64,
            "enrolled": pl.Int64,
            "exempt": pl.Int64,
            "gap": pl.Int64,
            "enrolled_bp": pl.Int64,
            "covered_bp": pl.Int64,
        },
        orient="row",
    )


# ---------------------------------------------------------------------------------------------
# 4. Assistance: subsidised premiums and treatment assistance
# ---------------------------------------------------------------------------------------------


def premium_subsidies(people: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """资助参保: enrolled residents' premiums by subsidy category and payer (persons, subsidised persons, fen)."""
    priced = people.filter(pl.col("resident_rows") > 0).with_columns(pl.col("subsidy_category").fill_null(ORDINARY))
    aggs = [
        _count("persons"),
        _count("subsidised", pl.col("assistance_subsidy") > 0),
        *(pl.col(c).sum() for c in ("individual", "assistance_subsidy", "fiscal_subsidy", "premium")),
    ]
    df = grouping_sets(priced, ("subsidy_category",), [("subsidy_category",), ()], aggs)
    return _sorted(df, {"subsidy_category": ctx.identity_order()})


def treatment_assistance(claims: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """医疗救助 (maf_pay) and 倾斜救助 (oth_pay): persons, settlements and amounts per identity and in all."""
    helped = (pl.col("maf_pay") + pl.col("oth_pay")) > 0
    aggs = [
        _persons("maf_persons", pl.col("maf_pay") > 0),
        _count("maf_claims", pl.col("maf_pay") > 0),
        pl.col("maf_pay").sum(),
        _persons("oth_persons", pl.col("oth_pay") > 0),
        _count("oth_claims", pl.col("oth_pay") > 0),
        pl.col("oth_pay").sum(),
        _persons("persons", helped),
        _count("claims", helped),
        _row_sum("maf_pay", "oth_pay").sum().alias("assistance_pay"),
    ]
    df = grouping_sets(claims, ("identity",), [("identity",), ()], aggs)
    return _sorted(df, {"identity": ctx.identity_order()})


ASSISTANCE_ITEMS = ("premium_subsidy", "medical_assistance", "tilted_assistance", ALL)


def assistance_summary(claims: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """救助人数与金额: subsidised premiums, medical assistance, tilted assistance, and all (distinct persons)."""
    subsidised = people.filter(pl.col("assistance_subsidy") > 0)
    maf = claims.filter(pl.col("maf_pay") > 0)
    oth = claims.filter(pl.col("oth_pay") > 0)
    everyone = pl.concat([subsidised["psn_no"], maf["psn_no"], oth["psn_no"]])
    rows = [
        ("premium_subsidy", subsidised["psn_no"].n_unique(), subsidised.height, total(subsidised, "assistance_subsidy")),
        ("medical_assistance", maf["psn_no"].n_unique(), maf.height, total(maf, "maf_pay")),
        ("tilted_assistance", oth["psn_no"].n_unique(), oth.height, total(oth, "oth_pay")),
    ]
    rows.append((ALL, everyone.n_unique(), sum(r[2] for r in rows), sum(r[3] for r in rows)))
    return pl.DataFrame(rows, schema={"item": pl.Utf8, "persons": pl.Int64, "times": pl.Int64, "amount": pl.Int64}, orient="row")


# ---------------------------------------------------------------------------------------------
# 5. Fund income against spending, and the monthly trend
# ---------------------------------------------------------------------------------------------

FUND_ITEMS = (
    "income_individual",
    "income_assistance",
    "income_fiscal",
    "income_total",
    "spend_basic",
    "spend_critical",
    "spend_pool",
    "balance",
    "assist_premium",
    "assist_medical",
    "assist_tilted",
    "assist_total",
    "employee_pool",
)


def fund_balance(claims: pl.DataFrame, people: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """基金收支: the year's resident premiums against the period's spending by payer, with the balance.

    The resident pool (城乡居民医保基金) takes every enrolled resident's premium (the person's
    part, the assistance fund's subsidy of it, the fiscal subsidy) and pays basic insurance and
    critical illness insurance on resident lines (大病保险 is bought from the pool). The
    assistance fund pays the premium subsidies, medical assistance and tilted assistance (all
    schemes). Employee pooling is listed apart: its income is not in the enrolment table.
    ``ratio_bp`` is each pool figure over the premium income (spending: 支出进度; balance: 结余率).
    """
    income = {c: total(people, c) for c in ("individual", "assistance_subsidy", "fiscal_subsidy", "premium")}
    by_scheme = claims.with_columns(ctx.scheme().alias("scheme"))
    resident = by_scheme.filter(pl.col("scheme") == RESIDENT)
    basic, critical = total(resident, "hifp_pay"), total(resident, "hifmi_pay")
    medical, tilted = total(claims, "maf_pay"), total(claims, "oth_pay")
    amounts = [
        income["individual"],
        income["assistance_subsidy"],
        income["fiscal_subsidy"],
        income["premium"],
        basic,
        critical,
        basic + critical,
        income["premium"] - basic - critical,
        income["assistance_subsidy"],
        medical,
        tilted,
        income["assistance_subsidy"] + medical + tilted,
        total(by_scheme.filter(pl.col("scheme") != RESIDENT), "hifp_pay", "hifmi_pay"),
    ]
    pool = {"income_individual", "income_assistance", "income_fiscal", "income_total", "spend_basic", "spend_critical"}
    pool |= {"spend_pool", "balance"}
    df = pl.DataFrame({"item": FUND_ITEMS, "amount": amounts}, schema={"item": pl.Utf8, "amount": pl.Int64})
    share = ratio_bp(pl.col("amount"), pl.lit(income["premium"], pl.Int64))
    return df.with_columns(pl.when(pl.col("item").is_in(list(pool))).then(share).otherwise(None).alias("ratio_bp"))


def months_between(start: date, end: date) -> list[str]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


MONTHLY_AMOUNTS = ("medfee_sumamt", *PAYERS, "assistance_pay", "fund_pay", "psn_part_amt")


def monthly_spending(claims: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """月度支出: settlements and spending by payer per month of the period (every month, zeros included), and the total."""
    aggs = [
        _count("claims"),
        *(pl.col(c).sum() for c in ("medfee_sumamt", *PAYERS)),
        _row_sum("maf_pay", "oth_pay").sum().alias("assistance_pay"),
        _row_sum(*PAYERS).sum().alias("fund_pay"),
        pl.col("psn_part_amt").sum(),
    ]
    months = pl.DataFrame({"month": months_between(start, end)}, schema={"month": pl.Utf8})
    per_month = months.join(claims.group_by("month").agg(aggs), on="month", how="left").fill_null(0)
    total = claims.select(aggs).with_columns(pl.lit(ALL, pl.Utf8).alias("month"))
    return pl.concat([per_month, total.select(per_month.columns)], how="vertical_relaxed")


# ---------------------------------------------------------------------------------------------
# 6. Institutions
# ---------------------------------------------------------------------------------------------


def institutions(claims: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Per institution: admissions, cost per admission, outpatient visits, and the share the funds paid."""
    inpatient = pl.col("med_type") == INPATIENT
    aggs = [
        _count("admissions", inpatient),
        pl.col("medfee_sumamt").filter(inpatient).sum().alias("inpatient_cost"),
        _count("outpatient_visits", ~inpatient),
        pl.col("medfee_sumamt").sum(),
        pl.col("fund_pay_sumamt").sum(),
    ]
    df = grouping_sets(
        claims.with_columns(pl.col("fixmedins_code").fill_null("")), ("fixmedins_code",), [("fixmedins_code",), ()], aggs
    )
    df = df.join(names.select(*INSTITUTION_SCHEMA).unique("fixmedins_code"), on="fixmedins_code", how="left")
    df = df.with_columns(
        pl.when(pl.col("fixmedins_code") == ALL).then(pl.lit(ALL)).otherwise(pl.col("fixmedins_name")).alias("fixmedins_name"),
        mean_fen(pl.col("inpatient_cost"), pl.col("admissions")).alias("avg_admission_cost"),
        ratio_bp(pl.col("fund_pay_sumamt"), pl.col("medfee_sumamt")).alias("fund_share_bp"),
    )
    cols = ("fixmedins_code", "fixmedins_name", "admissions", "inpatient_cost", "avg_admission_cost", "outpatient_visits")
    return df.sort(
        [pl.col("fixmedins_code") == ALL, "admissions", "medfee_sumamt", "fixmedins_code"], descending=[False, True, True, False]
    ).select(*cols, "medfee_sumamt", "fund_pay_sumamt", "fund_share_bp")


# ---------------------------------------------------------------------------------------------
# The set of tables for one period and place
# ---------------------------------------------------------------------------------------------

ReportName = Literal[
    "ratios",
    "visits",
    "enrolment",
    "premium_subsidy",
    "treatment_assistance",
    "assistance",
    "fund_balance",
    "monthly",
    "institutions",
]
TABLES: tuple[str, ...] = get_args(ReportName)


@dataclass(frozen=True)
class ReportSet:
    """Every table of the bureau's report for one period and place."""

    meta: ReportMeta
    ctx: Context
    ratios: pl.DataFrame
    visits: pl.DataFrame
    enrolment: pl.DataFrame
    premium_subsidy: pl.DataFrame
    treatment_assistance: pl.DataFrame
    assistance: pl.DataFrame
    fund_balance: pl.DataFrame
    monthly: pl.DataFrame
    institutions: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: self.table(name) for name in TABLES}

    def table(self, name: str) -> pl.DataFrame:
        if name not in TABLES:
            raise KeyError(name)
        df: pl.DataFrame = getattr(self, name)
        return df


def build_reports(claims: pl.DataFrame, people: pl.DataFrame, names: pl.DataFrame, meta: ReportMeta, ctx: Context) -> ReportSet:
    """All tables from the claims frame (already cut to the period and place), the people frame and institution names."""
    return ReportSet(
        meta=meta,
        ctx=ctx,
        ratios=reimbursement_ratios(claims, ctx),
        visits=visits(claims, ctx),
        enrolment=enrolment_rates(people, ctx),
        premium_subsidy=premium_subsidies(people, ctx),
        treatment_assistance=treatment_assistance(claims, ctx),
        assistance=assistance_summary(claims, people),
        fund_balance=fund_balance(claims, people, ctx),
        monthly=monthly_spending(claims, meta.start, meta.end),
        institutions=institutions(claims, names),
    )


# ---------------------------------------------------------------------------------------------
# Words for people: titles, headers, cells (Chinese by default, English on request)
# ---------------------------------------------------------------------------------------------

Kind = Literal["amount", "bp", "count", "identity", "line", "med_type", "month", "item", "code", "text"]


@dataclass(frozen=True)
class Column:
    zh: str
    en: str
    kind: Kind


def _c(zh: str, en: str, kind: Kind) -> Column:
    return Column(zh, en, kind)


COLUMNS: dict[str, Column] = {
    "line": _c("待遇类别", "benefit line", "line"),
    "identity": _c("身份类别", "identity", "identity"),
    "category": _c("人员类别", "category", "identity"),
    "subsidy_category": _c("资助类别", "subsidy category", "identity"),
    "med_type": _c("医疗类别", "med type", "med_type"),
    "month": _c("月份", "month", "month"),
    "item": _c("项目", "item", "item"),
    "fixmedins_code": _c("定点机构编号", "institution code", "code"),
    "fixmedins_name": _c("定点机构名称", "institution", "code"),
    "claims": _c("结算人次", "settlements", "count"),
    "visits": _c("人次", "visits", "count"),
    "persons": _c("人数", "persons", "count"),
    "times": _c("人次", "person-times", "count"),
    "enrolled": _c("参保人数", "enrolled", "count"),
    "exempt": _c("视同参保/免缴人数", "exempt", "count"),
    "gap": _c("应保未保人数", "gap", "count"),
    "subsidised": _c("资助人数", "subsidised persons", "count"),
    "admissions": _c("住院人次", "admissions", "count"),
    "outpatient_visits": _c("门诊人次", "outpatient visits", "count"),
    "maf_persons": _c("医疗救助人数", "assistance persons", "count"),
    "maf_claims": _c("医疗救助人次", "assistance settlements", "count"),
    "oth_persons": _c("倾斜救助人数", "tilted persons", "count"),
    "oth_claims": _c("倾斜救助人次", "tilted settlements", "count"),
    "medfee_sumamt": _c("医疗总费用（元）", "total cost (yuan)", "amount"),
    "inscp_scp_amt": _c("政策范围内费用（元）", "policy-range cost (yuan)", "amount"),
    "basic_pay": _c("基本医保支付（元）", "basic paid (yuan)", "amount"),
    "ci_pay": _c("基本+大病支付（元）", "basic + critical illness (yuan)", "amount"),
    "assist_pay": _c("三重制度合计支付（元）", "all three tiers (yuan)", "amount"),
    "basic_bp": _c("基本医保报销比例", "ratio after basic", "bp"),
    "ci_bp": _c("叠加大病保险后报销比例", "ratio after critical illness", "bp"),
    "assist_bp": _c("叠加医疗救助后报销比例", "ratio after assistance", "bp"),
    "avg_cost": _c("次均费用（元）", "cost per visit (yuan)", "amount"),
    "fund_pay_sumamt": _c("基金支付（元）", "funds paid (yuan)", "amount"),
    "psn_part_amt": _c("个人负担（元）", "patient paid (yuan)", "amount"),
    "enrolled_bp": _c("参保率", "enrolment rate", "bp"),
    "covered_bp": _c("参保率（含视同参保）", "coverage incl. exempt", "bp"),
    "individual": _c("个人缴费（元）", "individual (yuan)", "amount"),
    "assistance_subsidy": _c("医疗救助资助（元）", "assistance subsidy (yuan)", "amount"),
    "fiscal_subsidy": _c("财政补助（元）", "fiscal subsidy (yuan)", "amount"),
    "premium": _c("筹资合计（元）", "premiums (yuan)", "amount"),
    "hifp_pay": _c("基本医保统筹（元）", "basic insurance (yuan)", "amount"),
    "hifmi_pay": _c("大病保险（元）", "critical illness (yuan)", "amount"),
    "maf_pay": _c("医疗救助（元）", "medical assistance (yuan)", "amount"),
    "oth_pay": _c("倾斜救助（元）", "tilted assistance (yuan)", "amount"),
    "assistance_pay": _c("救助合计（元）", "assistance in all (yuan)", "amount"),
    "fund_pay": _c("基金支出合计（元）", "funds in all (yuan)", "amount"),
    "amount": _c("金额（元）", "amount (yuan)", "amount"),
    "ratio_bp": _c("占筹资比例", "of premium income", "bp"),
    "inpatient_cost": _c("住院总费用（元）", "inpatient cost (yuan)", "amount"),
    "avg_admission_cost": _c("次均住院费用（元）", "cost per admission (yuan)", "amount"),
    "fund_share_bp": _c("基金支付占比", "share paid by funds", "bp"),
}

TITLES: dict[str, tuple[str, str]] = {
    "ratios": ("政策范围内报销比例", "Policy-range reimbursement ratios"),
    "visits": ("住院与门诊人次", "Admissions and visits"),
    "enrolment": ("参保率", "Enrolment rates"),
    "premium_subsidy": ("资助参保", "Subsidised premiums"),
    "treatment_assistance": ("医疗救助待遇", "Treatment assistance"),
    "assistance": ("救助人数与金额", "Assistance persons and amounts"),
    "fund_balance": ("基金收支", "Fund income and spending"),
    "monthly": ("月度基金支出", "Monthly spending"),
    "institutions": ("定点医疗机构", "Institutions"),
}

NOTES: dict[str, tuple[str, str]] = {
    "ratios": (
        "政策范围内报销比例 = 基金支付 ÷ 政策范围内费用（分子、分母均列出）；"
        "依次为基本医保、叠加大病保险、叠加医疗救助（含倾斜救助）后；四舍五入到 0.01%。",
        "Ratio = funds paid / policy-range cost (both listed): after basic, after critical illness, after assistance "
        "(incl. tilted); rounded half up to 0.01%.",
    ),
    "visits": (
        "住院（21）为住院人次，普通门诊（11）、门诊慢特病（14）为门诊人次；次均费用 = 医疗总费用 ÷ 人次。",
        "Inpatient (21) counts admissions; general (11) and chronic (14) outpatient count visits; "
        "cost per visit = total / visits.",
    ),
    "enrolment": (
        "人员类别按当年 1 月 1 日所持身份（多重身份取最高一项）；参保：任一险种参保状态正常；"
        "视同参保：死亡、服兵役、服刑、省外参保等。",
        "Categories as held on 1 January (highest-ranking); enrolled in any scheme; exempt: a recorded special status.",
    ),
    "premium_subsidy": (
        "已参保城乡居民的保费：资助类别按政策包缴费截止日所持身份（当年缴费，次年享受）。",
        "Enrolled residents' premiums; subsidy category as held on the pack's cut-off day.",
    ),
    "treatment_assistance": (
        "医疗救助（maf_pay）与倾斜救助（oth_pay）：人数为去重人数，人次为结算笔数。",
        "Medical assistance (maf_pay) and tilted assistance (oth_pay): distinct persons and settlements.",
    ),
    "assistance": (
        "资助参保与医疗救助、倾斜救助；合计人数为去重人数。",
        "Premium subsidies, medical and tilted assistance; the total counts each person once.",
    ),
    "fund_balance": (
        "筹资为全年（已参保城乡居民保费）；支出为报表期间。居民医保基金支付基本医保和大病保险；医疗救助基金支付资助参保、"
        "医疗救助和倾斜救助；职工医保另列。占筹资比例：支出即支出进度，结余即结余率（以收定支、收支平衡、略有结余）。",
        "Income is the year's resident premiums; spending is the period's. The resident pool pays basic and critical illness; "
        "the assistance fund pays premium subsidies, medical and tilted assistance; employee pooling apart. The ratio of "
        "spending to income is the spending progress, of the balance the balance rate.",
    ),
    "monthly": (
        "按结算日期所在月份；基金支出合计 = 基本 + 大病 + 医疗救助 + 倾斜救助。",
        "By settlement month; funds = the four payers.",
    ),
    "institutions": (
        "基金支付占比 = 基金支付 ÷ 医疗总费用（全部结算）；次均住院费用 = 住院总费用 ÷ 住院人次。",
        "Share paid by funds = funds / total cost (all settlements); cost per admission = inpatient cost / admissions.",
    ),
}

ITEMS: dict[str, tuple[str, str]] = {
    "premium_subsidy": ("资助参保", "premium subsidy"),
    "medical_assistance": ("医疗救助", "medical assistance"),
    "tilted_assistance": ("倾斜救助", "tilted assistance"),
    "income_individual": ("筹资：个人缴费", "income: individuals"),
    "income_assistance": ("筹资：医疗救助资助参保", "income: assistance fund subsidy"),
    "income_fiscal": ("筹资：财政补助", "income: fiscal subsidy"),
    "income_total": ("筹资合计", "income in all"),
    "spend_basic": ("支出：基本医保统筹", "spending: basic insurance"),
    "spend_critical": ("支出：大病保险", "spending: critical illness"),
    "spend_pool": ("居民医保基金支出合计", "resident pool spending"),
    "balance": ("居民医保基金结余（筹资 − 支出）", "resident pool balance"),
    "assist_premium": ("医疗救助基金：资助参保", "assistance fund: premium subsidies"),
    "assist_medical": ("医疗救助基金：医疗救助", "assistance fund: medical assistance"),
    "assist_tilted": ("医疗救助基金：倾斜救助", "assistance fund: tilted assistance"),
    "assist_total": ("医疗救助基金支出合计", "assistance fund in all"),
    "employee_pool": ("职工医保统筹支出（另列）", "employee pooling (apart)"),
}

SPECIAL_ROWS: dict[str, Said] = {ALL: TIERS["total"], LOW_INCOME: GROUPS[LOW_INCOME]}


def title(name: str, lang: str = "zh") -> str:
    return pick(TITLES[name], lang)


def note(name: str, lang: str = "zh") -> str:
    return pick(NOTES[name], lang)


def column(name: str) -> Column:
    return COLUMNS.get(name, Column(name, name, "text"))


def header(name: str, lang: str = "zh") -> str:
    col = column(name)
    return col.zh if lang == "zh" else col.en


def fmt_bp(bp: int) -> str:
    """``8491`` -> ``"84.91%"`` (always two decimals, exact)."""
    sign = "-" if bp < 0 else ""
    whole, part = divmod(abs(bp), 100)
    return f"{sign}{whole}.{part:02d}%"


def code_label(kind: Kind, code: str, lang: str, ctx: Context) -> str:
    """The words for a code column's value (identity, line, med_type, month, item; other codes as they are)."""
    if code in SPECIAL_ROWS:
        return pick(SPECIAL_ROWS[code], lang)
    if kind == "identity":
        return identity_label(code, lang)
    if kind == "line":
        info = ctx.lines.get(code)
        return code if info is None else (info.zh if lang == "zh" else info.en)
    if kind == "med_type":
        return label(MED_TYPES, code, lang)
    if kind == "item":
        return label(ITEMS, code, lang)
    return code


CODE_KINDS: Collection[Kind] = ("identity", "line", "med_type", "month", "item", "code")


def cell_text(name: str, value: Any, lang: str, ctx: Context) -> str:
    """A cell for people to read: yuan with two decimals, percentages, counts, labels."""
    if value is None:
        return "—" if column(name).kind == "bp" else ""
    kind = column(name).kind
    formats: dict[str, Callable[[Any], str]] = {"amount": lambda v: fmt_yuan(int(v)), "bp": lambda v: fmt_bp(int(v))}
    formats["count"] = lambda v: f"{int(v):,}"
    if kind in formats:
        return formats[kind](value)
    if kind in CODE_KINDS:
        return code_label(kind, str(value), lang, ctx)
    return str(value)


def is_total(row: Mapping[str, Any]) -> bool:
    """A subtotal or total row (some key is :data:`ALL`)."""
    return any(v == ALL for v in row.values())


def place_label(place: Place, lang: str = "zh") -> str:
    where = place.label()
    return where if where != "全部" or lang == "zh" else "all"
