"""The fund budget (基金预算): a derived budget, budget against actual, and the risk warnings — pure, in fen.

Seed 001 asks that the budget follow 以收定支、收支平衡、略有结余 and that the quarterly and annual reports come
with risk warnings. Amounts are keyed ``(fund, month)`` (:data:`FUNDS`, month 1..12), in integer fen.

**Derived budget** (:func:`derive`), the pack's ``budget`` block giving the numbers:

1. each fund's yearly amount = its actual spending last year, raised by ``spending_growth`` (rounded half up);
2. 以收定支: the basic and critical-illness amounts together stay within this year's resident premium income less
   ``reserve`` of it (略有结余); when they exceed it both are scaled down to it in proportion (basic rounded half
   up, critical illness the rest). The assistance fund's income (fiscal allocations) is not recorded, so its
   amount is step 1 alone;
3. each yearly amount is spread over the months as last year's spending of that fund was (largest remainder, an
   earlier month first on a tie), equally when it spent nothing; the months add up to the year exactly.

**Budget against actual** (:func:`against_actual`): per fund and month the budget, the actual spending, the
variance (actual − budget), both summed from January, the share of the year's budget spent by the month's end
(``used_bp``) and the share of the year elapsed (``elapsed_bp`` = month / 12).

**Warnings** (:func:`warnings`): *ahead* when ``used − elapsed`` exceeds ``ahead_margin`` (compared exactly, in
integers); *balance* when the resident pool's expected balance rate for the year — (premium income − pool
spending to the month's end − the pool's budget for the months after it) / premium income — falls below
``balance_floor``. 结余率 is the rate watched: 累计结余可支付月数 needs the balance carried from earlier years,
which yibao does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from yibao.core.errors import InputError
from yibao.core.money import BP, apply_ratio, half_up
from yibao.policy.schema import FundBudget

FUNDS: tuple[str, ...] = ("basic", "critical", "assistance")
"""The funds budgeted (labels: :data:`yibao.core.vocab.BUDGET_FUNDS`)."""
POOL: tuple[str, ...] = ("basic", "critical")
"""The resident pool's funds: paid from its premium income."""
POOL_KEY = "pool"
MONTHS: tuple[int, ...] = tuple(range(1, 13))
MAX_AMOUNT = 10**14
"""The largest monthly amount taken (10**12 yuan in fen): anything larger is a typing error."""

Amounts = Mapping[tuple[str, int], int]
"""Fen by ``(fund, month)``; a missing key is 0."""


def fund_total(amounts: Amounts, fund: str, months: Sequence[int] = MONTHS) -> int:
    return sum(amounts.get((fund, m), 0) for m in months)


def split_months(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` over twelve months in proportion to ``weights`` (equal when they sum to 0): each month's exact
    share rounded down, the fen left over given one each to the months with the largest remainders (an earlier
    month first on a tie). The parts add up to ``amount``."""
    if len(weights) != len(MONTHS) or any(w < 0 for w in weights) or amount < 0:
        raise ValueError(f"split_months needs 12 weights >= 0 and an amount >= 0, got {amount}, {list(weights)}")
    w = list(weights) if sum(weights) > 0 else [1] * len(MONTHS)
    whole = sum(w)
    parts = [amount * x // whole for x in w]
    left = amount - sum(parts)
    order = sorted(range(len(w)), key=lambda i: (-(amount * w[i] % whole), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def derive(last_year: Amounts, income: int, rule: FundBudget, year: int) -> dict[tuple[str, int], int]:
    """This year's budget by fund and month from last year's actual spending and this year's premium income
    (the module's rule). ``InputError`` when there is no income or no pool spending last year to derive from."""
    where = f"{year} 年基金预算 / budget {year}"
    if income <= 0:
        raise InputError(
            where, "income", income, f"premium income recorded for {year} (enrol the year first: yibao enrol)",
            expected_zh=f"{year} 年已登记的参保缴费收入（请先办理该年度参保登记）",
        )  # fmt: skip
    if sum(fund_total(last_year, f) for f in POOL) <= 0:
        raise InputError(
            where, "last_year", year - 1, f"settlements of {year - 1} to derive from (else enter or import the budget)",
            expected_zh=f"{year - 1} 年的结算支出（没有则请录入或导入预算）",
        )  # fmt: skip
    raised = {f: apply_ratio(fund_total(last_year, f), BP + rule.spending_growth) for f in FUNDS}
    cap = income - apply_ratio(income, rule.reserve)
    pool = sum(raised[f] for f in POOL)
    if pool > cap:
        basic = half_up(raised["basic"] * cap, pool)
        raised["basic"], raised["critical"] = basic, cap - basic
    out: dict[tuple[str, int], int] = {}
    for f in FUNDS:
        for m, part in zip(MONTHS, split_months(raised[f], [last_year.get((f, m), 0) for m in MONTHS]), strict=True):
            out[(f, m)] = part
    return out


@dataclass(frozen=True)
class MonthRow:
    """One fund's month against its budget (amounts in fen, shares in basis points)."""

    fund: str
    month: int
    budget: int
    actual: int
    budget_ytd: int
    actual_ytd: int
    year_budget: int
    used_bp: int | None
    """Spent from January to the month's end over the year's budget (None: no budget for the year)."""
    elapsed_bp: int
    ahead: bool

    @property
    def variance(self) -> int:
        return self.actual - self.budget


def elapsed_bp(month: int) -> int:
    """The share of the year elapsed at the end of ``month``: month / 12, rounded half up."""
    return half_up(month * BP, 12)


def share_bp(part: int, whole: int) -> int | None:
    """``part / whole`` in basis points rounded half up (away from zero when negative); None when ``whole`` is 0."""
    if whole <= 0:
        return None
    mag = half_up(abs(part) * BP, whole)
    return -mag if part < 0 else mag


def runs_ahead(actual_ytd: int, year_budget: int, month: int, margin_bp: int) -> bool:
    """used − elapsed > margin, exactly: 12·BP·actual > budget·(BP·month + 12·margin); never without a budget."""
    return year_budget > 0 and 12 * BP * actual_ytd > year_budget * (BP * month + 12 * margin_bp)


def against_actual(budget: Amounts, actual: Amounts, through: int, margin_bp: int) -> list[MonthRow]:
    """Every fund's months 1..``through``: budget, actual, both from January, the shares used and elapsed."""
    rows = []
    for f in FUNDS:
        year_budget = fund_total(budget, f)
        budget_ytd = actual_ytd = 0
        for m in range(1, through + 1):
            b, a = budget.get((f, m), 0), actual.get((f, m), 0)
            budget_ytd, actual_ytd = budget_ytd + b, actual_ytd + a
            ahead = runs_ahead(actual_ytd, year_budget, m, margin_bp)
            used = share_bp(actual_ytd, year_budget)
            rows.append(MonthRow(f, m, b, a, budget_ytd, actual_ytd, year_budget, used, elapsed_bp(m), ahead))
    return rows


def expected_balance(income: int, budget: Amounts, actual: Amounts, month: int) -> int:
    """The resident pool's expected balance for the year at the end of ``month``: income − pool spending to then −
    the pool's budget for the months after it."""
    spent = sum(fund_total(actual, f, range(1, month + 1)) for f in POOL)
    planned = sum(fund_total(budget, f, range(month + 1, 13)) for f in POOL)
    return income - spent - planned


@dataclass(frozen=True)
class Warning:
    """A risk warning of the fund budget for one month: what was measured against which line (basis points)."""

    kind: Literal["ahead", "balance"]
    fund: str
    """A fund of :data:`FUNDS`, or :data:`POOL_KEY` for the balance rate."""
    month: int
    measured_bp: int
    """ahead: used − elapsed, in basis points; balance: the expected balance rate."""
    line_bp: int


def warnings(
    budget: Amounts, actual: Amounts, income: int, through: int, rule: FundBudget, rows: Sequence[MonthRow] | None = None
) -> list[Warning]:
    """Every warning of months 1..``through``: by month, the funds running ahead first, then the pool's balance."""
    rows = against_actual(budget, actual, through, rule.ahead_margin) if rows is None else rows
    out: list[Warning] = []
    for m in range(1, through + 1):
        for r in (r for r in rows if r.month == m and r.ahead):
            assert r.used_bp is not None
            out.append(Warning("ahead", r.fund, m, r.used_bp - r.elapsed_bp, rule.ahead_margin))
        if income > 0:
            left = expected_balance(income, budget, actual, m)
            if left * BP < rule.balance_floor * income:
                rate = share_bp(left, income)
                assert rate is not None
                out.append(Warning("balance", POOL_KEY, m, rate, rule.balance_floor))
    return out
