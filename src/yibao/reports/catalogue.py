"""The report catalogue: one :class:`Report` entry per report of the bureau's statistics, in display order.

An entry says everything about its report: its name, its title and note in Chinese and English,
which inputs its table function takes, that function (a pure one, in :mod:`yibao.reports.tables`
or another module of this package), its columns (header in both languages and kind), the columns
the terminal prints when the table is wide, and the charts shown above it in the HTML report.

:func:`build_reports` makes a :class:`ReportSet` (report name -> table) by going through the
catalogue, and every reader goes through the set's entries: the workbook (a sheet per report),
the HTML report and the web page (a section per report), the API (``/api/reports/{name}``
accepts the catalogue's names) and ``yibao report`` (a terminal table per report). To add a
report, write its table function and add its entry to :data:`CATALOGUE`; nothing else changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import polars as pl

from yibao.core.i18n import Said, pick
from yibao.core.vocab import BUDGET_FUNDS, BUDGET_WARNINGS
from yibao.reports import budget, outcomes, tables
from yibao.reports.budget import BudgetInput
from yibao.reports.cells import Column, text_column
from yibao.reports.cube import ClaimsCube, as_cube
from yibao.reports.people import PeopleCube, as_people
from yibao.reports.tables import Context, ReportMeta

Input = Literal["claims", "people", "names", "ctx", "start", "end", "recovered", "applied", "budget"]
"""What a table function may take, by the name of its parameter: ``claims`` the claims cube
(:class:`yibao.reports.cube.ClaimsCube` of the claims cut to the period and place), ``people`` the people cube
(:class:`yibao.reports.people.PeopleCube` of the place's people), ``names`` the institutions' names
(:data:`yibao.reports.tables.INSTITUTION_SCHEMA`), ``ctx`` the pack's identity order and benefit
lines (:class:`yibao.reports.tables.Context`), ``start`` and ``end`` the period, ``recovered`` the amounts
疑点 closed as 扣款 recovered (:data:`yibao.reports.tables.RECOVERED_SCHEMA`; none for a simulation), ``applied`` the
assistance paid on application (:data:`yibao.reports.tables.APPLIED_SCHEMA`; none for a simulation), ``budget`` the
year's fund budget and the spending to date (:class:`yibao.reports.budget.BudgetInput`; none for a simulation or a
report of one place)."""
INPUTS: tuple[Input, ...] = get_args(Input)


@dataclass(frozen=True)
class Inputs:
    """The frames and the period every table is made from (the ledger's or a simulation's)."""

    claims: ClaimsCube
    people: PeopleCube
    names: pl.DataFrame
    meta: ReportMeta
    ctx: Context
    recovered: pl.DataFrame | None = None
    applied: pl.DataFrame | None = None
    budget: BudgetInput | None = None

    def value(self, name: Input) -> Any:
        if name == "start":
            return self.meta.start
        if name == "end":
            return self.meta.end
        return getattr(self, name)


@dataclass(frozen=True)
class Report:
    """One report: what it is called, what it is made from and how, and the words of its columns."""

    name: str
    title: Said
    note: Said
    inputs: tuple[Input, ...]
    """The table function's parameters, in order (checked against its signature)."""
    table: Callable[..., pl.DataFrame]
    columns: tuple[Column, ...]
    """The table's columns, in order (checked against every table made)."""
    terminal: tuple[str, ...] = ()
    """The columns ``yibao report`` prints on the terminal when the table is too wide for it (empty: all)."""
    charts: tuple[str, ...] = ()
    """The charts (:mod:`yibao.reports.charts`) the HTML report shows above the table."""

    def __post_init__(self) -> None:
        params = tuple(inspect.signature(self.table).parameters)
        if params != self.inputs or not set(params) <= set(INPUTS):
            raise ValueError(f"report {self.name}: inputs {self.inputs} but {self.table.__name__} takes {params}")
        unknown = set(self.terminal) - set(self.names)
        if unknown or len(set(self.names)) != len(self.names):
            raise ValueError(f"report {self.name}: columns {self.names}, terminal columns {self.terminal}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next((c for c in self.columns if c.name == name), None) or text_column(name)

    def title_in(self, lang: str = "zh") -> str:
        return pick(self.title, lang)

    def note_in(self, lang: str = "zh") -> str:
        return pick(self.note, lang)

    def build(self, inputs: Inputs) -> pl.DataFrame:
        """The report's table (``ValueError`` when the function's columns are not the entry's)."""
        df = self.table(*(inputs.value(name) for name in self.inputs))
        if tuple(df.columns) != self.names:
            raise ValueError(f"report {self.name}: {self.table.__name__} gave columns {df.columns}, the entry says {self.names}")
        return df


# ---------------------------------------------------------------------------------------------
# Columns more than one report has
# ---------------------------------------------------------------------------------------------

LINE = Column("line", "待遇类别", "benefit line", "line")
IDENTITY = Column("identity", "身份类别", "identity", "identity")
CLAIMS = Column("claims", "结算人次", "settlements", "count")
PERSONS = Column("persons", "人数", "persons", "count")
MEDFEE = Column("medfee_sumamt", "医疗总费用（元）", "total cost (yuan)", "amount")
INSCP = Column("inscp_scp_amt", "政策范围内费用（元）", "policy-range cost (yuan)", "amount")
FUND_PAID = Column("fund_pay_sumamt", "基金支付（元）", "funds paid (yuan)", "amount")
RECOVERED = Column("recovered_amt", "追回金额（元）", "recovered (yuan)", "amount")
"""What 疑点 closed as 扣款 recovered from institutions (on the settlements of the month or period)."""
PATIENT_PAID = Column("psn_part_amt", "个人负担（元）", "patient paid (yuan)", "amount")
MAF_PAY = Column("maf_pay", "医疗救助（元）", "medical assistance (yuan)", "amount")
OTH_PAY = Column("oth_pay", "倾斜救助（元）", "tilted assistance (yuan)", "amount")
ASSISTANCE_PAY = Column("assistance_pay", "救助合计（元）", "assistance in all (yuan)", "amount")
AMOUNT = Column("amount", "金额（元）", "amount (yuan)", "amount")
MONTH = Column("month", "月份", "month", "month")


def items(words: Mapping[str, Said]) -> Column:
    """The ``item`` column of a report whose rows are named items."""
    return Column("item", "项目", "item", "item", words)


# ---------------------------------------------------------------------------------------------
# The reports, in display order
# ---------------------------------------------------------------------------------------------

RATIOS = Report(
    name="ratios",
    title=("政策范围内报销比例", "Policy-range reimbursement ratios"),
    note=(
        "政策范围内报销比例 = 基金支付 ÷ 政策范围内费用（分子、分母均列出）；"
        "依次为基本医保、叠加大病保险、叠加医疗救助（含倾斜救助）后；四舍五入到 0.01%。",
        "Ratio = funds paid / policy-range cost (both listed): after basic, after critical illness, after assistance "
        "(incl. tilted); rounded half up to 0.01%.",
    ),
    inputs=("claims", "ctx"),
    table=tables.reimbursement_ratios,
    columns=(
        LINE,
        IDENTITY,
        CLAIMS,
        MEDFEE,
        INSCP,
        Column("basic_pay", "基本医保支付（元）", "basic paid (yuan)", "amount"),
        Column("ci_pay", "基本+大病支付（元）", "basic + critical illness (yuan)", "amount"),
        Column("assist_pay", "三重制度合计支付（元）", "all three tiers (yuan)", "amount"),
        Column("basic_bp", "基本医保报销比例", "ratio after basic", "bp"),
        Column("ci_bp", "叠加大病保险后报销比例", "ratio after critical illness", "bp"),
        Column("assist_bp", "叠加医疗救助后报销比例", "ratio after assistance", "bp"),
    ),
    terminal=("line", "identity", "claims", "inscp_scp_amt", "basic_bp", "ci_bp", "assist_bp"),
    charts=("ratios", "payers"),
)

VISITS = Report(
    name="visits",
    title=("住院与门诊人次", "Admissions and visits"),
    note=(
        "住院（21）为住院人次，普通门诊（11）、门诊慢特病（14）为门诊人次；次均费用 = 医疗总费用 ÷ 人次。",
        "Inpatient (21) counts admissions; general (11) and chronic (14) outpatient count visits; "
        "cost per visit = total / visits.",
    ),
    inputs=("claims", "ctx"),
    table=tables.visits,
    columns=(
        Column("med_type", "医疗类别", "med type", "med_type"),
        LINE,
        IDENTITY,
        Column("visits", "人次", "visits", "count"),
        PERSONS,
        MEDFEE,
        Column("avg_cost", "次均费用（元）", "cost per visit (yuan)", "amount"),
        INSCP,
        FUND_PAID,
        PATIENT_PAID,
    ),
    terminal=("med_type", "line", "identity", "visits", "persons", "avg_cost", "fund_pay_sumamt"),
)

ENROLMENT = Report(
    name="enrolment",
    title=("参保率", "Enrolment rates"),
    note=(
        "人员类别按当年 1 月 1 日所持身份（多重身份取最高一项）；参保：任一险种参保状态正常；"
        "视同参保：死亡、服兵役、服刑、省外参保等。",
        "Categories as held on 1 January (highest-ranking); enrolled in any scheme; exempt: a recorded special status.",
    ),
    inputs=("people", "ctx"),
    table=tables.enrolment_rates,
    columns=(
        Column("category", "人员类别", "category", "identity"),
        PERSONS,
        Column("enrolled", "参保人数", "enrolled", "count"),
        Column("exempt", "视同参保/免缴人数", "exempt", "count"),
        Column("gap", "应保未保人数", "gap", "count"),
        Column("enrolled_bp", "参保率", "enrolment rate", "bp"),
        Column("covered_bp", "参保率（含视同参保）", "coverage incl. exempt", "bp"),
    ),
)

PREMIUM_SUBSIDY = Report(
    name="premium_subsidy",
    title=("资助参保", "Subsidised premiums"),
    note=(
        "已参保城乡居民的保费：资助类别按政策包缴费截止日所持身份（当年缴费，次年享受）。",
        "Enrolled residents' premiums; subsidy category as held on the pack's cut-off day.",
    ),
    inputs=("people", "ctx"),
    table=tables.premium_subsidies,
    columns=(
        Column("subsidy_category", "资助类别", "subsidy category", "identity"),
        PERSONS,
        Column("subsidised", "资助人数", "subsidised persons", "count"),
        Column("individual", "个人缴费（元）", "individual (yuan)", "amount"),
        Column("assistance_subsidy", "医疗救助资助（元）", "assistance subsidy (yuan)", "amount"),
        Column("fiscal_subsidy", "财政补助（元）", "fiscal subsidy (yuan)", "amount"),
        Column("premium", "筹资合计（元）", "premiums (yuan)", "amount"),
    ),
)

TREATMENT_ASSISTANCE = Report(
    name="treatment_assistance",
    title=("医疗救助待遇", "Treatment assistance"),
    note=(
        "医疗救助（maf_pay）与倾斜救助（oth_pay）：人数为去重人数，人次为结算笔数。",
        "Medical assistance (maf_pay) and tilted assistance (oth_pay): distinct persons and settlements.",
    ),
    inputs=("claims", "ctx"),
    table=tables.treatment_assistance,
    columns=(
        IDENTITY,
        Column("maf_persons", "医疗救助人数", "assistance persons", "count"),
        Column("maf_claims", "医疗救助人次", "assistance settlements", "count"),
        MAF_PAY,
        Column("oth_persons", "倾斜救助人数", "tilted persons", "count"),
        Column("oth_claims", "倾斜救助人次", "tilted settlements", "count"),
        OTH_PAY,
        PERSONS,
        CLAIMS,
        ASSISTANCE_PAY,
    ),
    terminal=("identity", "maf_persons", "maf_pay", "oth_persons", "oth_pay", "persons", "assistance_pay"),
)

ASSISTANCE = Report(
    name="assistance",
    title=("救助人数与金额", "Assistance persons and amounts"),
    note=(
        "资助参保与医疗救助、倾斜救助；合计人数为去重人数。",
        "Premium subsidies, medical and tilted assistance; the total counts each person once.",
    ),
    inputs=("claims", "people"),
    table=tables.assistance_summary,
    columns=(
        items(
            {
                "premium_subsidy": ("资助参保", "premium subsidy"),
                "medical_assistance": ("医疗救助", "medical assistance"),
                "tilted_assistance": ("倾斜救助", "tilted assistance"),
            }
        ),
        PERSONS,
        Column("times", "人次", "person-times", "count"),
        AMOUNT,
    ),
)

FUND_BALANCE = Report(
    name="fund_balance",
    title=("基金收支", "Fund income and spending"),
    note=(
        "筹资为全年（已参保城乡居民保费）；支出为报表期间。居民医保基金支付基本医保和大病保险；医疗救助基金支付资助参保、"
        "医疗救助和倾斜救助；职工医保另列。占筹资比例：支出即支出进度，结余即结余率（以收定支、收支平衡、略有结余）。"
        "依申请救助：本期确认的依申请医疗救助（扣除撤销）。追回金额：本期结算经疑点处理扣款追回的金额。",
        "Income is the year's resident premiums; spending is the period's. The resident pool pays basic and critical illness; "
        "the assistance fund pays premium subsidies, medical and tilted assistance; employee pooling apart. The ratio of "
        "spending to income is the spending progress, of the balance the balance rate. Assistance on application: what the "
        "applications decided in the period paid (less reversals). Recovered: what deductions after review "
        "recovered from institutions on the period's settlements.",
    ),
    inputs=("claims", "people", "ctx", "recovered", "applied"),
    table=tables.fund_balance,
    columns=(
        items(
            {
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
                "assist_application": ("医疗救助基金：依申请救助", "assistance fund: assistance on application"),
                "assist_total": ("医疗救助基金支出合计", "assistance fund in all"),
                "employee_pool": ("职工医保统筹支出（另列）", "employee pooling (apart)"),
                "recovered": ("追回金额（疑点扣款）", "recovered (deducted after review)"),
            }
        ),
        AMOUNT,
        Column("ratio_bp", "占筹资比例", "of premium income", "bp"),
    ),
)

MONTHLY = Report(
    name="monthly",
    title=("月度基金支出", "Monthly spending"),
    note=(
        "按结算日期所在月份；基金支出合计 = 基本 + 大病 + 医疗救助 + 倾斜救助。",
        "By settlement month; funds = the four payers.",
    ),
    inputs=("claims", "start", "end", "recovered"),
    table=tables.monthly_spending,
    columns=(
        MONTH,
        CLAIMS,
        MEDFEE,
        Column("hifp_pay", "基本医保统筹（元）", "basic insurance (yuan)", "amount"),
        Column("hifmi_pay", "大病保险（元）", "critical illness (yuan)", "amount"),
        MAF_PAY,
        OTH_PAY,
        ASSISTANCE_PAY,
        Column("fund_pay", "基金支出合计（元）", "funds in all (yuan)", "amount"),
        PATIENT_PAID,
        RECOVERED,
    ),
    terminal=("month", "claims", "hifp_pay", "hifmi_pay", "assistance_pay", "fund_pay", "psn_part_amt"),
    charts=("trend",),
)

FUND = Column("fund", "基金", "fund", "item", BUDGET_FUNDS)

BUDGET = Report(
    name="budget",
    title=("基金预算执行", "Budget against actual"),
    note=(
        "按基金和月份：预算、实际支出（按结算月份，口径同基金收支：基本医保、大病保险为居民险种，医疗救助基金为医疗救助、"
        "倾斜救助和依申请救助，资助参保不计入月度支出）、差额（实际 − 预算）、自 1 月起累计；预算使用进度 = 累计实际 ÷ "
        "全年预算，时间进度 = 月份 ÷ 12；使用进度减时间进度大于政策包的预警幅度即为支出超进度。合计行的预算为全年预算。"
        "只有全县（不选地区和机构）且已录入该年度预算的报表列出预算。",
        "By fund and month: budget, actual spending (by settlement month, as in fund income and spending: basic and critical "
        "illness on resident lines; the assistance fund's medical, tilted and on-application assistance; premium subsidies are "
        "not monthly spending), variance (actual − budget), both from January; budget used = actual to date / the year's "
        "budget, year elapsed = month / 12; used ahead of elapsed by more than the pack's margin is a warning. The total "
        "row's budget is the year's. Only a report of the whole county (no place or institution chosen) of a year with a "
        "recorded budget lists it.",
    ),
    inputs=("budget",),
    table=budget.budget_table,
    columns=(
        FUND,
        MONTH,
        Column("budget", "预算（元）", "budget (yuan)", "amount"),
        Column("actual", "实际支出（元）", "actual (yuan)", "amount"),
        Column("variance", "差额（元）", "variance (yuan)", "amount"),
        Column("budget_ytd", "累计预算（元）", "budget to date (yuan)", "amount"),
        Column("actual_ytd", "累计支出（元）", "actual to date (yuan)", "amount"),
        Column("used_bp", "预算使用进度", "budget used", "bp"),
        Column("elapsed_bp", "时间进度", "year elapsed", "bp"),
        Column("flag", "预警", "warning", "item", BUDGET_WARNINGS),
    ),
    terminal=("fund", "month", "budget", "actual", "variance", "used_bp", "elapsed_bp", "flag"),
)

BUDGET_ALERTS = Report(
    name="budget_warnings",
    title=("基金预算预警", "Budget warnings"),
    note=(
        "支出超进度：预算使用进度 − 时间进度（百分点）超过预警幅度；结余率低于预警线：城乡居民医保基金预计全年结余率 ="
        "（全年筹资 − 截至当月的基本医保和大病保险支出 − 其后各月预算）÷ 全年筹资。预警幅度和预警线取自政策包（基金预算）。",
        "Spending ahead: budget used − year elapsed (points) above the margin; balance rate below the line: the resident "
        "pool's expected balance rate for the year = (premium income − basic and critical illness spending to the month's "
        "end − the budget of the months after it) / premium income. The margin and the line are the pack's (fund budget).",
    ),
    inputs=("budget",),
    table=budget.budget_warnings,
    columns=(
        Column("warning", "预警类型", "warning", "item", BUDGET_WARNINGS),
        FUND,
        MONTH,
        Column("measured_bp", "测算值", "measured", "bp"),
        Column("line_bp", "预警幅度/预警线", "margin or line", "bp"),
    ),
)

INSTITUTIONS = Report(
    name="institutions",
    title=("定点医疗机构", "Institutions"),
    note=(
        "基金支付占比 = 基金支付 ÷ 医疗总费用（全部结算）；次均住院费用 = 住院总费用 ÷ 住院人次。",
        "Share paid by funds = funds / total cost (all settlements); cost per admission = inpatient cost / admissions.",
    ),
    inputs=("claims", "names", "recovered"),
    table=tables.institutions,
    columns=(
        Column("fixmedins_code", "定点机构编号", "institution code", "code"),
        Column("fixmedins_name", "定点机构名称", "institution", "code"),
        Column("admissions", "住院人次", "admissions", "count"),
        Column("inpatient_cost", "住院总费用（元）", "inpatient cost (yuan)", "amount"),
        Column("avg_admission_cost", "次均住院费用（元）", "cost per admission (yuan)", "amount"),
        Column("outpatient_visits", "门诊人次", "outpatient visits", "count"),
        MEDFEE,
        FUND_PAID,
        Column("fund_share_bp", "基金支付占比", "share paid by funds", "bp"),
        RECOVERED,
    ),
    terminal=("fixmedins_name", "admissions", "avg_admission_cost", "outpatient_visits", "medfee_sumamt", "fund_share_bp"),
)

OUTCOMES = Report(
    name="outcomes",
    title=("公布口径报销比例", "Reimbursement ratios as bureaus publish them"),
    note=(
        "各地公布的报销比例口径：重点帮扶对象住院（三重保障合计 ÷ 政策范围内费用）、重点帮扶对象门诊慢特病"
        "（三重保障合计 ÷ 医疗总费用）、居民住院与普通门诊（基本医保 ÷ 政策范围内费用）；四舍五入到 0.01%。",
        "The ratios as bureaus publish them: priority groups' inpatient (all tiers / policy-range cost) and chronic "
        "outpatient (all tiers / total cost), residents' inpatient and general outpatient (basic / policy-range cost); "
        "rounded half up to 0.01%.",
    ),
    inputs=("claims", "ctx"),
    table=outcomes.outcome_table,
    columns=(
        items({o.name: (o.zh, o.en) for o in outcomes.OUTCOMES.values() if o.base != "ci_above_deductible"}),
        Column("outcome_num", "分子（元）", "numerator (yuan)", "amount"),
        Column("outcome_den", "分母（元）", "denominator (yuan)", "amount"),
        Column("outcome_bp", "比例", "ratio", "bp"),
    ),
)

CATALOGUE: tuple[Report, ...] = (
    RATIOS,
    OUTCOMES,
    VISITS,
    ENROLMENT,
    PREMIUM_SUBSIDY,
    TREATMENT_ASSISTANCE,
    ASSISTANCE,
    FUND_BALANCE,
    MONTHLY,
    BUDGET,
    BUDGET_ALERTS,
    INSTITUTIONS,
)
"""Every report, in the order the workbook, the pages and the terminal show them."""


# ---------------------------------------------------------------------------------------------
# The set of tables for one period and place
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReportSet(Mapping[str, pl.DataFrame]):
    """Every table of the bureau's report for one period and place: report name -> table, in catalogue order.

    ``rs["ratios"]``, ``rs.table("ratios")`` and ``rs.ratios`` are the same table; ``rs.reports``
    are the entries the set was made with, which the workbook, the pages and the terminal go through.
    """

    meta: ReportMeta
    ctx: Context
    frames: Mapping[str, pl.DataFrame]
    reports: tuple[Report, ...] = CATALOGUE

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __getattr__(self, name: str) -> pl.DataFrame:
        frames = self.__dict__.get("frames")
        if frames is None or name not in frames:
            raise AttributeError(name)
        df: pl.DataFrame = frames[name]
        return df

    def table(self, name: str) -> pl.DataFrame:
        """One report's table (``KeyError`` for a name not in the set)."""
        return self[name]

    def tables(self) -> dict[str, pl.DataFrame]:
        return dict(self.frames)

    def report(self, name: str) -> Report:
        """One report's entry (``KeyError`` for a name not in the set)."""
        found = next((r for r in self.reports if r.name == name), None)
        if found is None:
            raise KeyError(name)
        return found


def build_reports(
    claims: ClaimsCube | pl.DataFrame,
    people: PeopleCube | pl.DataFrame,
    names: pl.DataFrame,
    meta: ReportMeta,
    ctx: Context,
    catalogue: Sequence[Report] = CATALOGUE,
    recovered: pl.DataFrame | None = None,
    applied: pl.DataFrame | None = None,
    budget: BudgetInput | None = None,
) -> ReportSet:
    """Every report of ``catalogue`` from the claims cube (:func:`yibao.reports.cube.cube_of` of a claims frame given
    instead; already cut to the period and place), the people cube (:func:`yibao.reports.people.people_cube_of` of a
    people frame given instead), the institutions' names, the amounts recovered,
    the assistance paid on application and the fund budget (none: a simulation's)."""
    inputs = Inputs(as_cube(claims), as_people(people), names, meta, ctx, recovered, applied, budget)
    return ReportSet(meta, ctx, {r.name: r.build(inputs) for r in catalogue}, tuple(catalogue))


# ---------------------------------------------------------------------------------------------
# The catalogue's words by name
# ---------------------------------------------------------------------------------------------

BY_NAME: dict[str, Report] = {r.name: r for r in CATALOGUE}
TABLES: tuple[str, ...] = tuple(BY_NAME)
"""The reports' names, in display order."""


def column_index(reports: Iterable[Report]) -> dict[str, Column]:
    """Every column of ``reports`` by name (``ValueError`` when two reports give one name two headers or kinds)."""
    out: dict[str, Column] = {}
    for col in (c for r in reports for c in r.columns):
        seen = out.setdefault(col.name, col)
        if (seen.zh, seen.en, seen.kind) != (col.zh, col.en, col.kind):
            raise ValueError(f"column {col.name}: {seen.zh}/{seen.en} ({seen.kind}) and {col.zh}/{col.en} ({col.kind})")
        out[col.name] = replace(seen, words={**seen.words, **col.words})
    return out


COLUMNS = column_index(CATALOGUE)


def report(name: str) -> Report:
    """A catalogue entry by name (``KeyError`` for an unknown name)."""
    return BY_NAME[name]


def title(name: str, lang: str = "zh") -> str:
    return report(name).title_in(lang)


def note(name: str, lang: str = "zh") -> str:
    return report(name).note_in(lang)


def column(name: str) -> Column:
    return COLUMNS.get(name) or text_column(name)


def header(name: str, lang: str = "zh") -> str:
    return column(name).header(lang)


def cell_text(name: str, value: Any, lang: str, ctx: Context) -> str:
    """A cell of the column ``name`` for people to read (:meth:`yibao.reports.cells.Column.text`)."""
    return column(name).text(value, lang, ctx)
