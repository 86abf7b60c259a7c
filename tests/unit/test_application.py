"""依申请救助 and the yearly assistance limit it shares with the counter (``maf_paid``), on hand-computed amounts.

The pack: residents' inpatient paid 50% by basic insurance from the first fen, no cap; assistance for 低保 at 60%
from the first fen within a yearly 4,000; on application 低保 and ordinary residents, 12 months back, 50% above
500, at most 3,000 per application; ordinary residents have no yearly assistance limit (the block gives none)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.test_later_tiers import YUAN, _a, _claim, _pack

from yibao.core.errors import InputError
from yibao.core.identities import IdentityPeriod
from yibao.settlement.application import assist_on_application
from yibao.settlement.model import Person, YearToDate
from yibao.settlement.settle import settle, settle_sequence
from yibao.settlement.trace import render

PACK = _pack(
    assistance={
        "lines": ["inpatient"],
        "categories": {"dibao": {"deductible": _a(0), "ratio": _a(60), "limit": _a(4000)}},
        "on_application": {
            "categories": ["dibao", "ordinary"],
            "window_months": _a(12),
            "deductible": _a(500),
            "ratio": _a(50),
            "limit": _a(3000),
        },
    }
)
DIBAO = Person("P1", identities=(IdentityPeriod("dibao", date(2021, 1, 1)),))


def test_an_application_pays_within_what_the_counter_left_of_the_yearly_limit_and_the_counter_then_pays_less() -> None:
    policy = PACK.at(date(2022, 4, 1))
    (a,) = settle_sequence(PACK, DIBAO, [_claim("A", date(2022, 3, 1), 10_000)])
    # A: basic 10,000 x 50% = 5,000; assistance 5,000 x 60% = 3,000 of the yearly 4,000; left to the person 2,000
    assert (a.hifp_pay, a.maf_pay, a.ytd_after.maf_paid) == (5_000 * YUAN, 3_000 * YUAN, 3_000 * YUAN)
    first = assist_on_application(policy, DIBAO, [a], date(2022, 4, 1), ytd=a.ytd_after)
    # 2,000 above 500 = 1,500 x 50% = 750, within 3,000 per application and the 1,000 the year has left: 750
    assert (first.claims, first.base, first.pay) == (("A",), 2_000 * YUAN, 750 * YUAN)
    assert (first.yearly_limit, first.paid_before) == (4_000 * YUAN, 3_000 * YUAN)
    assert first.consumed == YearToDate(2022, maf_paid=750 * YUAN)
    zh = [text for _, text in render(first.trace, "zh")]
    assert zh[-3:] == [
        "每次申请救助限额 3,000.00元，应付 750.00元，实付 750.00元",
        "年度救助限额 4,000.00元（与结算时的医疗救助共用），本年此前已救助 3,000.00元，"
        "应付 750.00元，实付 750.00元，尚余 250.00元",
        "支付 750.00元",
    ]
    # B at the counter afterwards: 4,000 x 50% = 2,000 left after basic, x 60% = 1,200, but 250 is left of the limit
    b_claim = _claim("B", date(2022, 5, 1), 4_000)
    after = a.ytd_after.plus(first.consumed)
    b = settle(PACK, DIBAO, after, b_claim)
    assert (b.maf_pay, b.ytd_after.maf_paid) == (250 * YUAN, 4_000 * YUAN)
    assert settle(PACK, DIBAO, a.ytd_after, b_claim).maf_pay == 1_000 * YUAN  # without the application: the 1,000 left
    # a second application counts only B (A was counted): 4,000 - 2,000 - 250 = 1,750 above 500 = 1,250 x 50% = 625,
    # but the yearly limit is used up: 0
    second = assist_on_application(policy, DIBAO, [a, b], date(2022, 6, 1), [first], b.ytd_after)
    assert (second.claims, second.base, second.pay) == (("B",), 1_750 * YUAN, 0)
    assert render(second.trace, "en")[-2][1] == (
        "yearly assistance limit 4,000.00 (shared with assistance paid at the counter), paid earlier this year 4,000.00, "
        "computed 625.00, paid 0.00, left 0.00"
    )


def test_the_limit_per_application_binds_before_the_yearly_limit_and_no_yearly_limit_leaves_it_alone() -> None:
    policy = PACK.at(date(2022, 9, 1))
    ordinary = Person("P1")  # no assistance at the counter; no yearly limit (the block gives none, ordinary has no terms)
    bills = list(settle_sequence(PACK, ordinary, [_claim("A", date(2022, 3, 1), 10_000), _claim("B", date(2022, 8, 1), 8_000)]))
    # left to the person 5,000 + 4,000 = 9,000; above 500: 8,500 x 50% = 4,250; at most 3,000 per application
    r = assist_on_application(policy, ordinary, bills, date(2022, 9, 1), ytd=bills[-1].ytd_after)
    assert (r.base, r.pay, r.yearly_limit) == (9_000 * YUAN, 3_000 * YUAN, None)
    assert [step.key for step in r.trace][-2:] == ["application_limit", "result"]


def test_accumulators_of_another_year_are_refused() -> None:
    with pytest.raises(InputError) as e:
        assist_on_application(PACK.at(date(2022, 4, 1)), DIBAO, [], date(2022, 4, 1), ytd=YearToDate(2021))
    assert e.value.field == "applied_on"


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(st.integers(0, 20_000), max_size=4),
    after=st.lists(st.integers(0, 20_000), max_size=4),
    who=st.sampled_from([DIBAO, Person("P1")]),
)
def test_counter_and_applications_together_never_pay_past_the_yearly_limit_nor_count_a_bill_twice(
    before: list[int], after: list[int], who: Person
) -> None:
    policy = PACK.at(date(2022, 6, 1))
    early = [_claim(f"B{i}", date(2022, 3, 1 + i), yuan) for i, yuan in enumerate(before)]
    bills = list(settle_sequence(PACK, who, early))
    ytd = bills[-1].ytd_after if bills else YearToDate(2022)
    first = assist_on_application(policy, who, bills, date(2022, 6, 1), ytd=ytd)
    ytd = ytd.plus(first.consumed)
    for i, yuan in enumerate(after):
        bills.append(settle(PACK, who, ytd, _claim(f"A{i}", date(2022, 7, 1 + i), yuan)))
        ytd = bills[-1].ytd_after
    second = assist_on_application(PACK.at(date(2022, 9, 1)), who, bills, date(2022, 9, 1), [first], ytd)
    ytd = ytd.plus(second.consumed)
    assert not set(first.claims) & set(second.claims)
    assert 0 <= first.pay <= 3_000 * YUAN and 0 <= second.pay <= 3_000 * YUAN
    paid = sum(b.maf_pay for b in bills) + first.pay + second.pay
    assert ytd.maf_paid == paid
    if who is DIBAO:
        assert paid <= 4_000 * YUAN  # the 低保 yearly limit, shared
