"""The fund budget's pure rules (:mod:`yibao.rules.budget`), every expectation worked out by hand in fen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.core.errors import InputError
from yibao.policy.schema import FundBudget
from yibao.rules.budget import (
    MONTHS,
    Warning,
    against_actual,
    derive,
    elapsed_bp,
    expected_balance,
    runs_ahead,
    split_months,
    warnings,
)

RULE = FundBudget(spending_growth=5, reserve=3, ahead_margin=5, balance_floor=3)
"""5% growth, 3% reserve, 5 points ahead, 3% balance floor (percent in, basis points once validated)."""


def test_rule_reads_percent_as_basis_points() -> None:
    assert (RULE.spending_growth, RULE.reserve, RULE.ahead_margin, RULE.balance_floor) == (500, 300, 500, 300)


def test_split_months_equal_twelfths_give_the_left_fen_to_the_first_months() -> None:
    # 1000 / 12 = 83 rest 4: January to April get 84
    assert split_months(1000, [0] * 12) == [84] * 4 + [83] * 8


def test_split_months_follows_the_weights_with_largest_remainders() -> None:
    # 100 over weights 1, 1, 1 (the rest 0): 33 each, rest 1 to January
    assert split_months(100, [1, 1, 1] + [0] * 9) == [34, 33, 33] + [0] * 9
    # 10 over 1 and 2: 3.33 and 6.67 -> 3 and 6, the left fen to February (remainder 2/3 > 1/3)
    assert split_months(10, [1, 2] + [0] * 10) == [3, 7] + [0] * 10


@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**9), min_size=12, max_size=12))
def test_split_months_parts_add_up_to_the_year(amount: int, weights: list[int]) -> None:
    parts = split_months(amount, weights)
    assert sum(parts) == amount and all(p >= 0 for p in parts)


LAST_YEAR = {("basic", 1): 100_000, ("basic", 2): 300_000, ("critical", 3): 100_000, ("assistance", 1): 50_000}


def test_derive_raises_last_year_and_keeps_its_months() -> None:
    # basic 400,000 x 1.05 = 420,000 spread 1:3 over Jan and Feb; critical 105,000 in March; assistance 52,500 in Jan.
    # income 600,000 less 3% = 582,000 >= 525,000: no scaling
    got = derive(LAST_YEAR, 600_000, RULE, 2023)
    assert {k: v for k, v in got.items() if v} == {
        ("basic", 1): 105_000,
        ("basic", 2): 315_000,
        ("critical", 3): 105_000,
        ("assistance", 1): 52_500,
    }
    assert len(got) == 36


def test_derive_keeps_the_pool_within_income_less_the_reserve() -> None:
    # income 500,000 less 3% (15,000) = 485,000 < 525,000: basic 420,000 x 485,000 / 525,000 = 388,000,
    # critical the rest 97,000; basic's months 1:3 -> 97,000 and 291,000; assistance is not capped
    got = derive(LAST_YEAR, 500_000, RULE, 2023)
    assert got[("basic", 1)] == 97_000 and got[("basic", 2)] == 291_000
    assert got[("critical", 3)] == 97_000
    assert got[("assistance", 1)] == 52_500
    assert sum(v for (f, _), v in got.items() if f != "assistance") == 485_000


def test_derive_refuses_without_income_or_last_year() -> None:
    with pytest.raises(InputError) as no_income:
        derive(LAST_YEAR, 0, RULE, 2023)
    assert no_income.value.field == "income"
    with pytest.raises(InputError) as nothing:
        derive({("assistance", 1): 5}, 600_000, RULE, 2023)
    assert nothing.value.field == "last_year" and nothing.value.value == 2022


BUDGET = {("basic", m): 120_000 for m in MONTHS}
"""1,440,000 fen for the year, 120,000 a month."""


def test_elapsed_is_months_over_twelve() -> None:
    assert [elapsed_bp(m) for m in (1, 2, 3, 6, 12)] == [833, 1667, 2500, 5000, 10_000]


def test_budget_against_actual_per_month() -> None:
    actual = {("basic", 1): 120_000, ("basic", 2): 120_000, ("basic", 3): 300_000, ("critical", 2): 7}
    rows = against_actual(BUDGET, actual, 3, RULE.ahead_margin)
    basic = [r for r in rows if r.fund == "basic"]
    # ytd 120,000, 240,000, 540,000 of 1,440,000: 8.33%, 16.67%, 37.50%
    assert [(r.actual_ytd, r.budget_ytd, r.used_bp, r.elapsed_bp) for r in basic] == [
        (120_000, 120_000, 833, 833),
        (240_000, 240_000, 1667, 1667),
        (540_000, 360_000, 3750, 2500),
    ]
    assert [r.variance for r in basic] == [0, 0, 180_000]
    assert [r.ahead for r in basic] == [False, False, True]
    # no budget for critical illness: nothing used, never ahead
    critical = [r for r in rows if r.fund == "critical"]
    assert [(r.used_bp, r.ahead, r.variance) for r in critical] == [(None, False, 0), (None, False, 7), (None, False, 0)]


def test_ahead_only_past_the_margin() -> None:
    # March: 25% elapsed + 5 points = 30% of 1,440,000 = 432,000 exactly: not ahead; one fen more is
    assert not runs_ahead(432_000, 1_440_000, 3, 500)
    assert runs_ahead(432_001, 1_440_000, 3, 500)
    assert not runs_ahead(1, 0, 1, 500)


def test_expected_balance_counts_the_budget_of_the_months_left() -> None:
    actual = {("basic", 1): 120_000, ("basic", 2): 120_000, ("basic", 3): 300_000}
    # March: spent 540,000, planned April..December 9 x 120,000 = 1,080,000
    assert expected_balance(2_000_000, BUDGET, actual, 3) == 2_000_000 - 540_000 - 1_080_000


def test_warnings_ahead_and_balance_with_hand_figures() -> None:
    actual = {("basic", 1): 120_000, ("basic", 2): 120_000, ("basic", 3): 300_000}
    # income 1,600,000: Jan 1,600,000 - 120,000 - 1,320,000 = 160,000 (10%), Feb the same, March
    # 1,600,000 - 540,000 - 1,080,000 = -20,000: -1.25% < 3%; March runs 12.50 points ahead (37.50 - 25.00)
    got = warnings(BUDGET, actual, 1_600_000, 3, RULE)
    assert got == [Warning("ahead", "basic", 3, 1250, 500), Warning("balance", "pool", 3, -125, 300)]
    # with income 2,000,000 March leaves 380,000 (19%): only the spending ahead is warned
    assert warnings(BUDGET, actual, 2_000_000, 3, RULE) == [Warning("ahead", "basic", 3, 1250, 500)]
    # no income recorded: no balance rate to watch
    assert [w.kind for w in warnings(BUDGET, actual, 0, 3, RULE)] == ["ahead"]
