"""The bureau's reports: pure Polars functions over the claims cube and the people cube.

Every claims figure comes from the claims cube (:mod:`yibao.reports.cube`: the ledger's, aggregated in the database,
or a batch simulation's, aggregated from its :mod:`yibao.rules.claims` frame; a function given a claims frame cubes
it first) and, for enrolment, premiums and fund income, from the people cube (:mod:`yibao.reports.people`: the
registry's, aggregated in the database, or a simulation's, aggregated from its *people frame*,
:data:`PEOPLE_SCHEMA`, one row per person of the place, that :mod:`yibao.app.report_sources` builds from a
synthetic county and its pack). The functions here do no I/O, so the ledger and a simulation are
reported by the same code.

- Amounts are integer fen; ratios integer basis points, computed from the exact sums and
  rounded once, half up (:func:`yibao.core.money.round_half_up_div`); every ratio's numerator and
  denominator stay in the table beside it.
- Codes stay codes in the data (``identity``, ``line``, ``med_type``); :data:`ALL` marks a
  subtotal or total row. Each table's entry in :mod:`yibao.reports.catalogue` gives its title,
  note and column headers; :mod:`yibao.reports.cells` turns cells into Chinese (default) or
  English for people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import polars as pl

from yibao.core.identities import ORDINARY
from yibao.core.money import BP, half_up
from yibao.policy.coverage import DEFAULT_PRIORITY, TARGET_CATEGORIES, CoverageRow, cat_order
from yibao.policy.in_force import policy_or_first
from yibao.policy.pack import PolicyPack
from yibao.reports.cube import VISIT_KEYS, VISIT_SETS, ClaimsCube, as_cube
from yibao.reports.grouping import ALL as ALL
from yibao.reports.grouping import grouping_sets as grouping_sets
from yibao.reports.people import PREMIUM_COLUMNS, PeopleCube, as_people
from yibao.rules.claims import Place

Claims = ClaimsCube | pl.DataFrame
"""What a claims table function takes: the claims cube, or a claims frame (cubed first)."""
People = PeopleCube | pl.DataFrame
"""What a people table function takes: the people cube (:mod:`yibao.reports.people`), or a people frame
(:data:`PEOPLE_SCHEMA`, cubed first)."""
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
RECOVERED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "month": pl.Utf8,
    "fixmedins_code": pl.Utf8,
    "recovered_amt": pl.Int64,
}
"""追回金额: what 疑点 closed as 扣款 recovered, by the month of the settlement concerned (``YYYY-MM``) and institution."""


def recovered_or_none(recovered: pl.DataFrame | None) -> pl.DataFrame:
    """The amounts recovered, or none (a simulation has no 疑点)."""
    return pl.DataFrame(schema=RECOVERED_SCHEMA) if recovered is None else recovered.select(list(RECOVERED_SCHEMA))


# ---------------------------------------------------------------------------------------------
# Context: the pack's identity order and benefit lines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInfo:
    zh: str
    en: str
    insutype: str
    med_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """What the tables need from the policy pack: identity order (rows) and benefit lines (labels, scheme)."""

    priority: tuple[str, ...] = DEFAULT_PRIORITY
    lines: Mapping[str, LineInfo] = field(default_factory=dict)
    validity: Mapping[str, int] = field(default_factory=dict)
    """The pack's ``identity_validity`` (category -> months from recognition), for the people's deciding identity."""

    @classmethod
    def from_pack(cls, pack: PolicyPack, day: date) -> Context:
        policy = policy_or_first(pack, day)
        lines = {k: LineInfo(v.label_zh, v.label_en, v.insutype, tuple(v.med_types)) for k, v in policy.lines.items()}
        return cls(tuple(policy.identity_priority), lines, dict(policy.identity_validity))

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
    not_covered: tuple[tuple[str, int, int], ...] = ()
    """A simulation's schemes the pack does not cover: (insutype, people, claims) left unsettled, said in the about lines
    (:attr:`yibao.settlement.batch.io.BatchRun.not_covered`)."""

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


def _persons(alias: str, condition: pl.Expr | None = None) -> pl.Expr:
    who = pl.col("psn_no") if condition is None else pl.col("psn_no").filter(condition)
    return who.n_unique().cast(pl.Int64).alias(alias)


def _summed(alias: str, column: str = "claims", condition: pl.Expr | None = None) -> pl.Expr:
    """A count or amount of the cube's cells added up (only the cells meeting ``condition`` when given)."""
    col = pl.col(column) if condition is None else pl.col(column).filter(condition)
    return col.sum().cast(pl.Int64).alias(alias)


def _rank(column: str, order: Sequence[str]) -> pl.Expr:
    ranks = {v: i for i, v in enumerate(order)}
    ranks[ALL] = len(order) + 1
    return pl.col(column).replace_strict(ranks, default=len(order), return_dtype=pl.Int64)


def _sorted(df: pl.DataFrame, orders: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Rows in the given order of each key (unknown codes after known ones, :data:`ALL` last)."""
    return df.sort([*(_rank(c, o) for c, o in orders.items()), *orders])


def line_order(cells: pl.DataFrame, ctx: Context) -> list[str]:
    """The pack's lines, then any other line of ``cells`` (or a claims frame) by name."""
    return [*ctx.lines, *sorted(set(cells["line"].unique().drop_nulls().to_list()) - set(ctx.lines))]


# ---------------------------------------------------------------------------------------------
# 1. Policy-range reimbursement ratios after each tier
# ---------------------------------------------------------------------------------------------


def reimbursement_ratios(claims: Claims, ctx: Context) -> pl.DataFrame:
    """政策范围内报销比例 after basic, after critical illness and after assistance, per line and identity.

    Rows: each (line, identity), each line's subtotal (identity ``all``), each identity over all
    lines (line ``all``) and the total. ``basic_pay`` = hifp; ``ci_pay`` = hifp + hifmi;
    ``assist_pay`` = hifp + hifmi + maf + oth; each ratio is that over ``inscp_scp_amt``.
    """
    cells = as_cube(claims).cells
    aggs = [
        _summed("claims"),
        pl.col("medfee_sumamt").sum(),
        pl.col("inscp_scp_amt").sum(),
        pl.col("hifp_pay").sum().alias("basic_pay"),
        _row_sum(*PAYERS[:2]).sum().alias("ci_pay"),
        _row_sum(*PAYERS).sum().alias("assist_pay"),
    ]
    df = grouping_sets(cells, ("line", "identity"), [("line", "identity"), ("line",), ("identity",), ()], aggs)
    den = pl.col("inscp_scp_amt")
    df = df.with_columns(
        ratio_bp(pl.col("basic_pay"), den).alias("basic_bp"),
        ratio_bp(pl.col("ci_pay"), den).alias("ci_bp"),
        ratio_bp(pl.col("assist_pay"), den).alias("assist_bp"),
    )
    return _sorted(df, {"line": line_order(cells, ctx), "identity": ctx.identity_order()})


# ---------------------------------------------------------------------------------------------
# 2. Admissions and visits
# ---------------------------------------------------------------------------------------------

MED_TYPE_ORDER = ("21", "14", "11")


def visits(claims: Claims, ctx: Context) -> pl.DataFrame:
    """住院人次与门诊人次, cost per admission or visit, by med_type, line and identity (with subtotals); persons
    counted once per row (the cube's ``visit_persons``)."""
    cube = as_cube(claims)
    aggs = [
        _summed("visits"),
        pl.col("medfee_sumamt").sum(),
        pl.col("inscp_scp_amt").sum(),
        pl.col("fund_pay_sumamt").sum(),
        pl.col("psn_part_amt").sum(),
    ]
    keys = VISIT_KEYS
    df = grouping_sets(cube.cells, keys, VISIT_SETS, aggs)
    df = df.join(cube.visit_persons, on=list(keys), how="left", nulls_equal=True)
    df = df.with_columns(pl.col("persons").fill_null(0), mean_fen(pl.col("medfee_sumamt"), pl.col("visits")).alias("avg_cost"))
    df = df.select(*keys, "visits", "persons", "medfee_sumamt", "avg_cost", "inscp_scp_amt", "fund_pay_sumamt", "psn_part_amt")
    return _sorted(df, {"med_type": MED_TYPE_ORDER, "line": line_order(cube.cells, ctx), "identity": ctx.identity_order()})


# ---------------------------------------------------------------------------------------------
# 3. Enrolment rates
# ---------------------------------------------------------------------------------------------


def enrolment_rates(people: People, ctx: Context) -> pl.DataFrame:
    """参保率 per deciding category, for the low-income and 脱贫 target group, and overall.

    The rows are :class:`yibao.policy.coverage.CoverageRow` (the rule of ``yibao coverage``:
    enrolled in any scheme; exempt = not enrolled with a special status; rates rounded half up).
    """
    counts = (
        as_people(people)
        .cells.group_by("category")
        .agg(
            _summed("persons", "persons"),
            _summed("enrolled", "persons", pl.col("enrolled")),
            _summed("exempt", "persons", pl.col("exempt") & ~pl.col("enrolled")),
        )
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


def premium_subsidies(people: People, ctx: Context) -> pl.DataFrame:
    """资助参保: enrolled residents' premiums by subsidy category and payer (persons, subsidised persons, fen)."""
    cells = as_people(people).cells
    priced = cells.filter(pl.col("priced")).with_columns(pl.col("subsidy_category").fill_null(ORDINARY))
    aggs = [_summed("persons", "persons"), _summed("subsidised", "subsidised"), *(_summed(c, c) for c in PREMIUM_COLUMNS)]
    df = grouping_sets(priced, ("subsidy_category",), [("subsidy_category",), ()], aggs)
    return _sorted(df, {"subsidy_category": ctx.identity_order()})


def treatment_assistance(claims: Claims, ctx: Context) -> pl.DataFrame:
    """医疗救助 (maf_pay) and 倾斜救助 (oth_pay): persons, settlements and amounts per identity and in all (a settlement
    is helped when the two add up to more than 0)."""
    cube = as_cube(claims)
    sets = [("identity",), ()]
    aggs = [
        _summed("maf_claims", "maf_claims"),
        pl.col("maf_pay").sum(),
        _summed("oth_claims", "oth_claims"),
        pl.col("oth_pay").sum(),
        _summed("claims", "helped_claims"),
        _row_sum("maf_pay", "oth_pay").sum().alias("assistance_pay"),
    ]
    df = grouping_sets(cube.cells, ("identity",), sets, aggs)
    who = [_persons("maf_persons", pl.col("maf")), _persons("oth_persons", pl.col("oth")), _persons("persons", pl.col("helped"))]
    persons = grouping_sets(cube.helped, ("identity",), sets, who)
    df = df.join(persons, on="identity", how="left", nulls_equal=True).with_columns(pl.col(TREATED_PERSONS).fill_null(0))
    df = df.select("identity", "maf_persons", "maf_claims", "maf_pay", "oth_persons", "oth_claims", "oth_pay", "persons",
                   "claims", "assistance_pay")  # fmt: skip
    return _sorted(df, {"identity": ctx.identity_order()})


TREATED_PERSONS = ("maf_persons", "oth_persons", "persons")


ASSISTANCE_ITEMS = ("premium_subsidy", "medical_assistance", "tilted_assistance", ALL)


def assistance_summary(claims: Claims, people: People) -> pl.DataFrame:
    """救助人数与金额: subsidised premiums, medical assistance, tilted assistance, and all (distinct persons)."""
    cube, folk = as_cube(claims), as_people(people)
    subsidised = folk.subsidised
    maf, oth = cube.helped.filter(pl.col("maf")), cube.helped.filter(pl.col("oth"))
    everyone = pl.concat([subsidised["psn_no"], maf["psn_no"], oth["psn_no"]])
    rows = [
        ("premium_subsidy", subsidised["psn_no"].n_unique(), subsidised.height, total(folk.cells, "assistance_subsidy")),
        ("medical_assistance", maf["psn_no"].n_unique(), total(cube.cells, "maf_claims"), total(cube.cells, "maf_paid")),
        ("tilted_assistance", oth["psn_no"].n_unique(), total(cube.cells, "oth_claims"), total(cube.cells, "oth_paid")),
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
    "assist_application",
    "assist_total",
    "employee_pool",
    "recovered",
)


APPLIED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {"month": pl.Utf8, "maf_pay": pl.Int64}
"""依申请救助: what the assistance fund paid on applications decided in the period, net of their reversals, by the
month of the application (``YYYY-MM``)."""


def fund_balance(
    claims: Claims, people: People, ctx: Context, recovered: pl.DataFrame | None = None,
    applied: pl.DataFrame | None = None,
) -> pl.DataFrame:  # fmt: skip
    """基金收支: the year's resident premiums against the period's spending by payer, with the balance.

    The resident pool (城乡居民医保基金) takes every enrolled resident's premium (the person's
    part, the assistance fund's subsidy of it, the fiscal subsidy) and pays basic insurance and
    critical illness insurance on resident lines (大病保险 is bought from the pool). The
    assistance fund pays the premium subsidies, medical assistance and tilted assistance (all
    schemes). Employee pooling is listed apart: its income is not in the enrolment table.
    ``ratio_bp`` is each pool figure over the premium income (spending: 支出进度; balance: 结余率).
    ``recovered`` (追回金额): what 疑点 closed as 扣款 recovered from institutions on the period's settlements.
    ``applied`` (依申请救助, :data:`APPLIED_SCHEMA`): assistance paid on applications (none for a simulation).
    """
    income = {c: total(as_people(people).cells, c) for c in PREMIUM_COLUMNS}
    cells = as_cube(claims).cells
    by_scheme = cells.with_columns(ctx.scheme().alias("scheme"))
    resident = by_scheme.filter(pl.col("scheme") == RESIDENT)
    basic, critical = total(resident, "hifp_pay"), total(resident, "hifmi_pay")
    medical, tilted = total(cells, "maf_pay"), total(cells, "oth_pay")
    on_application = 0 if applied is None else int(applied["maf_pay"].sum())
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
        on_application,
        income["assistance_subsidy"] + medical + tilted + on_application,
        total(by_scheme.filter(pl.col("scheme") != RESIDENT), "hifp_pay", "hifmi_pay"),
        total(recovered_or_none(recovered), "recovered_amt"),
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


def monthly_spending(claims: Claims, start: date, end: date, recovered: pl.DataFrame | None = None) -> pl.DataFrame:
    """月度支出: settlements and spending by payer per month of the period (every month, zeros included), and the total;
    the amounts recovered (追回金额) by 疑点 on each month's settlements."""
    cells = as_cube(claims).cells
    aggs = [
        _summed("claims"),
        *(pl.col(c).sum() for c in ("medfee_sumamt", *PAYERS)),
        _row_sum("maf_pay", "oth_pay").sum().alias("assistance_pay"),
        _row_sum(*PAYERS).sum().alias("fund_pay"),
        pl.col("psn_part_amt").sum(),
    ]
    months = pl.DataFrame({"month": months_between(start, end)}, schema={"month": pl.Utf8})
    back = recovered_or_none(recovered).group_by("month").agg(pl.col("recovered_amt").sum())
    per_month = months.join(cells.group_by("month").agg(aggs), on="month", how="left")
    per_month = per_month.join(back, on="month", how="left").fill_null(0)
    total = cells.select(aggs).with_columns(
        pl.lit(ALL, pl.Utf8).alias("month"), pl.lit(int(per_month["recovered_amt"].sum()), pl.Int64).alias("recovered_amt")
    )
    return pl.concat([per_month, total.select(per_month.columns)], how="vertical_relaxed")


# ---------------------------------------------------------------------------------------------
# 6. Institutions
# ---------------------------------------------------------------------------------------------


def institutions(claims: Claims, names: pl.DataFrame, recovered: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per institution: admissions, cost per admission, outpatient visits, the share the funds paid, and the amounts
    recovered from it (追回金额; the total row: from every institution)."""
    inpatient = pl.col("med_type") == INPATIENT
    aggs = [
        _summed("admissions", "claims", inpatient),
        pl.col("medfee_sumamt").filter(inpatient).sum().alias("inpatient_cost"),
        _summed("outpatient_visits", "claims", ~inpatient),
        pl.col("medfee_sumamt").sum(),
        pl.col("fund_pay_sumamt").sum(),
    ]
    df = grouping_sets(
        as_cube(claims).cells.with_columns(pl.col("fixmedins_code").fill_null("")),
        ("fixmedins_code",),
        [("fixmedins_code",), ()],
        aggs,
    )
    df = df.join(names.select(*INSTITUTION_SCHEMA).unique("fixmedins_code"), on="fixmedins_code", how="left")
    df = df.with_columns(
        pl.when(pl.col("fixmedins_code") == ALL).then(pl.lit(ALL)).otherwise(pl.col("fixmedins_name")).alias("fixmedins_name"),
        mean_fen(pl.col("inpatient_cost"), pl.col("admissions")).alias("avg_admission_cost"),
        ratio_bp(pl.col("fund_pay_sumamt"), pl.col("medfee_sumamt")).alias("fund_share_bp"),
    )
    back = recovered_or_none(recovered)
    per_code = back.group_by("fixmedins_code").agg(pl.col("recovered_amt").sum())
    per_code = pl.concat([per_code, pl.DataFrame({"fixmedins_code": [ALL], "recovered_amt": [total(back, "recovered_amt")]})])
    df = df.join(per_code, on="fixmedins_code", how="left").with_columns(pl.col("recovered_amt").fill_null(0))
    cols = ("fixmedins_code", "fixmedins_name", "admissions", "inpatient_cost", "avg_admission_cost", "outpatient_visits")
    return df.sort(
        [pl.col("fixmedins_code") == ALL, "admissions", "medfee_sumamt", "fixmedins_code"], descending=[False, True, True, False]
    ).select(*cols, "medfee_sumamt", "fund_pay_sumamt", "fund_share_bp", "recovered_amt")
