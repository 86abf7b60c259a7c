"""The fund report's budget tables: budget against actual per fund and month, and the risk warnings.

The actual spending of each budgeted fund (:data:`yibao.rules.budget.FUNDS`) by settlement month, as the 基金收支
report counts it: basic (``hifp_pay``) and critical illness (``hifmi_pay``) on resident lines, the assistance fund's
medical and tilted assistance (``maf_pay`` + ``oth_pay``, all schemes) and its assistance on application; premium
subsidies are yearly, not monthly spending, and stay out. The rules are :mod:`yibao.rules.budget`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from yibao.core.i18n import t
from yibao.core.vocab import BUDGET_FUNDS, label
from yibao.policy.schema import FundBudget
from yibao.reports.cells import fmt_bp
from yibao.reports.cube import as_cube
from yibao.reports.tables import ALL, RESIDENT, Claims, Context, total
from yibao.rules import budget as rules

WARNINGS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "warning": pl.Utf8, "fund": pl.Utf8, "month": pl.Utf8, "measured_bp": pl.Int64, "line_bp": pl.Int64,
}  # fmt: skip
BUDGET_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "fund": pl.Utf8, "month": pl.Utf8, "budget": pl.Int64, "actual": pl.Int64, "variance": pl.Int64,
    "budget_ytd": pl.Int64, "actual_ytd": pl.Int64, "used_bp": pl.Int64, "elapsed_bp": pl.Int64, "flag": pl.Utf8,
}  # fmt: skip


@dataclass(frozen=True)
class BudgetInput:
    """What the budget tables are made from: the year's budget, the actual spending from January to the report's
    last month, the resident pool's premium income and the pack's warning lines (none: no warnings)."""

    year: int
    through: int
    """The report's last month: the months shown are 1..through."""
    budget: Mapping[tuple[str, int], int]
    actual: Mapping[tuple[str, int], int]
    income: int
    rule: FundBudget | None

    @property
    def margin(self) -> int:
        return self.rule.ahead_margin if self.rule is not None else 0

    def month_rows(self) -> list[rules.MonthRow]:
        return rules.against_actual(self.budget, self.actual, self.through, self.margin)

    def warnings(self) -> list[rules.Warning]:
        if self.rule is None:
            return []
        return rules.warnings(self.budget, self.actual, self.income, self.through, self.rule, self.month_rows())


def fund_actuals(claims: Claims, ctx: Context, applied: pl.DataFrame | None) -> dict[tuple[str, int], int]:
    """Each budgeted fund's spending by month (1..12) of the claims cube or frame (one year's) and the assistance paid
    on application (:data:`yibao.reports.tables.APPLIED_SCHEMA`)."""
    cells = as_cube(claims).cells
    resident = cells.filter(ctx.scheme() == RESIDENT)
    out: dict[tuple[str, int], int] = {}
    for m in rules.MONTHS:
        key = f"-{m:02d}"
        in_month = pl.col("month").str.ends_with(key)
        res, every = resident.filter(in_month), cells.filter(in_month)
        out[("basic", m)] = total(res, "hifp_pay")
        out[("critical", m)] = total(res, "hifmi_pay")
        on_application = 0 if applied is None else total(applied.filter(in_month), "maf_pay")
        out[("assistance", m)] = total(every, "maf_pay", "oth_pay") + on_application
    return out


def _month(year: int, m: int) -> str:
    return f"{year:04d}-{m:02d}"


def budget_table(budget: BudgetInput | None) -> pl.DataFrame:
    """预算执行: per fund its months 1..through and a total row (the year's budget against the spending to date)."""
    if budget is None:
        return pl.DataFrame(schema=BUDGET_SCHEMA)
    rows: list[tuple[object, ...]] = []
    for f in rules.FUNDS:
        months = [r for r in budget.month_rows() if r.fund == f]
        for r in months:
            flag = "ahead" if r.ahead else None
            rows.append((f, _month(budget.year, r.month), r.budget, r.actual, r.variance, r.budget_ytd, r.actual_ytd,
                         r.used_bp, r.elapsed_bp, flag))  # fmt: skip
        last = months[-1] if months else None
        year_budget = rules.fund_total(budget.budget, f)
        spent = last.actual_ytd if last else 0
        rows.append((f, ALL, year_budget, spent, spent - year_budget, last.budget_ytd if last else 0, spent,
                     rules.share_bp(spent, year_budget), last.elapsed_bp if last else 0, None))  # fmt: skip
    return pl.DataFrame(rows, schema=BUDGET_SCHEMA, orient="row")


def budget_warnings(budget: BudgetInput | None) -> pl.DataFrame:
    """预算预警: every warning of the months shown (spending ahead of the year, the pool's balance rate)."""
    if budget is None:
        return pl.DataFrame(schema=WARNINGS_SCHEMA)
    rows = [(w.kind, w.fund, _month(budget.year, w.month), w.measured_bp, w.line_bp) for w in budget.warnings()]
    return pl.DataFrame(rows, schema=WARNINGS_SCHEMA, orient="row")


def warning_text(kind: str, fund: str, month: str, measured_bp: int, line_bp: int, lang: str = "zh") -> str:
    """One warning as a sentence (the report page, the home page)."""
    name, measured, line = label(BUDGET_FUNDS, fund, lang), fmt_bp(measured_bp), fmt_bp(line_bp)
    if kind == "ahead":
        return t(lang, f"{month} {name}：预算使用进度超过时间进度 {measured}，超过预警幅度 {line}。",
                 f"{month} {name}: budget used {measured} ahead of the year elapsed, past the margin of {line}.")  # fmt: skip
    return t(lang, f"{month} {name}：预计全年结余率 {measured}，低于预警线 {line}。",
             f"{month} {name}: expected balance rate for the year {measured}, below the line of {line}.")  # fmt: skip


def warning_lines(warnings: pl.DataFrame, lang: str = "zh") -> list[str]:
    """Every row of the :func:`budget_warnings` table as a sentence."""
    return [warning_text(r["warning"], r["fund"], r["month"], r["measured_bp"], r["line_bp"], lang)
            for r in warnings.iter_rows(named=True)]  # fmt: skip
