"""The capitation statement's pure rules (:mod:`yibao.rules.capitation`): hand-computed cases from the Zibo 2020 pack and
hypothesis properties — the twelve months add up to the year's prepayment, weighted shares add up to the month's
prepayment, every part of the statement and the year-end adds up to its total."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from yibao.policy import load_pack
from yibao.rules import capitation as rules
from yibao.rules.capitation import InstitutionMonth, Rule

ZIBO = Rule.of(load_pack("shandong-zibo-2020").at(date(2020, 6, 1)).capitation)  # type: ignore[arg-type]


def test_the_zibo_rule_as_the_yaml_gives_it() -> None:
    # standard derived: (13,200,000 funding - 396,000 risk reserve) / 120,000 persons = 106.70 yuan per head
    assert ZIBO.standard_fen == 10_670
    assert (ZIBO.prepay_share, ZIBO.clinic_due_day, dict(ZIBO.weights)) == (8_000, 20, {})
    assert [ZIBO.release(s) for s in (100, 90, 89, 80, 79, 60, 59, 0)] == [10_000, 10_000, 8_000, 8_000, 5_000, 5_000, 0, 0]


def _rows() -> list[InstitutionMonth]:
    return [
        InstitutionMonth("C2", "二村卫生室", False, 3, 9_000, 8_000, 4_000, 4_000, 5_000),
        InstitutionMonth("H", "演示镇卫生院", True, 2, 30_000, 30_000, 15_000, 10_000, 15_000),
        InstitutionMonth("C1", "一村卫生室", False, 1, 5_000, 5_000, 2_500, 2_500, 2_500),
    ]


def test_a_month_by_hand() -> None:
    st_ = rules.month_statement(ZIBO, "演示镇", 2020, 3, 7, _rows())
    # 7 persons x 106.70 = 746.90 yuan a year; 80% = 597.52; a twelfth rounded down: 59,752 // 12 = 4,979 fen
    assert (st_.year_amount, st_.year_prepayment, st_.prepayment) == (74_690, 59_752, 4_979)
    assert [r.fixmedins_code for r in st_.institutions] == ["H", "C1", "C2"]
    assert st_.total.captn_pay == 16_500 and st_.total.item_pay == 5_000 and st_.total.visits == 6
    # no weights: each clinic is owed what it paid by head; due on 20 April (the day counting)
    assert [(o.fixmedins_code, o.amount, o.due) for o in st_.owed] == [
        ("C1", 2_500, date(2020, 4, 20)),
        ("C2", 4_000, date(2020, 4, 20)),
    ]
    assert st_.balance == 4_979 - 16_500
    december = rules.month_statement(ZIBO, "演示镇", 2020, 12, 7, _rows())
    assert december.prepayment == 59_752 - 11 * 4_979 and december.due == date(2021, 1, 20)


def test_the_year_end_by_hand() -> None:
    ye = rules.year_end(ZIBO, "演示镇", 2020, 7, 85, captn_made=60_000, item_pay=9_000)
    # 746.90 a year, 597.52 prepaid, 149.38 withheld; score 85 releases 80%: 119.504 -> 119.50 (half up)
    assert (ye.year_amount, ye.prepaid, ye.withheld, ye.release_bp, ye.released) == (74_690, 59_752, 14_938, 8_000, 11_950)
    assert (ye.not_released, ye.paid, ye.surplus) == (2_988, 71_702, 11_702)
    unscored = rules.year_end(ZIBO, "演示镇", 2020, 7, None, 0, 0)
    assert unscored.released == 0 and unscored.not_released == unscored.withheld


def test_weighted_shares_by_hand() -> None:
    rule = Rule(10_000, 10_000, 20, {"visits": 5_000, "amounts": 5_000})
    rows = [
        InstitutionMonth("H", "镇卫生院", True, visits=1, inscp_scp_amt=100),
        InstitutionMonth("C", "村卫生室", False, visits=3, inscp_scp_amt=0),
    ]
    st_ = rules.month_statement(rule, "T", 2020, 1, 12, rows)
    # 12 x 100 yuan = 1,200, prepaid in full: 100 yuan a month. H: 50% x 1/4 + 50% x 1 = 62.5%; C: 37.5%
    assert st_.prepayment == 10_000
    assert [(o.fixmedins_code, o.amount) for o in st_.owed] == [("C", 3_750)]


@given(st.integers(0, 10**13))
def test_twelve_months_add_up_to_the_year(prepaid: int) -> None:
    months = rules.monthly_prepayments(prepaid)
    assert len(months) == 12 and sum(months) == prepaid and min(months) >= 0
    assert all(m == months[0] for m in months[:11]) and months[0] <= months[11] < months[0] + 12


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_largest_remainder_adds_up(total: int, weights: list[int]) -> None:
    parts = rules.largest_remainder(total, [Fraction(w) for w in weights])
    assert sum(parts) == total and min(parts) >= 0
    if sum(weights):
        for p, w in zip(parts, weights, strict=True):
            assert abs(Fraction(p) - Fraction(total * w, sum(weights))) < 1


amounts = st.integers(0, 10**8)
inst = st.builds(
    InstitutionMonth, st.just(""), st.just(""), st.booleans(), st.integers(0, 500), amounts, amounts, amounts, amounts,
    amounts, st.integers(0, 3_000),
)  # fmt: skip
weights = st.sampled_from(
    [{}, {"persons": 10_000}, {"visits": 3_000, "amounts": 7_000}, {"persons": 2_500, "visits": 2_500, "amounts": 5_000}]
)


@given(st.lists(inst, min_size=1, max_size=8), weights, st.integers(0, 200_000), st.integers(1, 12), st.integers(0, 10_000))
def test_a_statement_adds_up(rows: list[InstitutionMonth], w: dict[str, int], persons: int, month: int, share: int) -> None:
    rows = [
        InstitutionMonth(f"C{i}", "", r.hospital, r.visits, *(getattr(r, f) for f in rules.AMOUNT_FIELDS), r.persons)
        for i, r in enumerate(rows)
    ]  # type: ignore[arg-type]
    rule = Rule(10_670, share, 20, w)
    s = rules.month_statement(rule, "T", 2020, month, persons, rows)
    for f in (*rules.AMOUNT_FIELDS, "visits", "item_pay"):
        assert getattr(s.total, f) == sum(getattr(r, f) for r in s.institutions)
    assert s.total.hifp_pay == s.total.captn_pay + s.total.item_pay
    assert s.balance + s.total.captn_pay == s.prepayment
    year = [rules.month_statement(rule, "T", 2020, m, persons, rows).prepayment for m in range(1, 13)]
    assert sum(year) == s.year_prepayment == rules.year_prepayment(persons * 10_670, share)
    clinics = [r for r in s.institutions if not r.hospital]
    assert len(s.owed) == len(clinics)
    if w:
        shares = rules.weighted_shares(s.prepayment, s.institutions, w)
        assert sum(shares) == s.prepayment and min(shares) >= 0
        assert s.owed_total == sum(sh for r, sh in zip(s.institutions, shares, strict=True) if not r.hospital)
    else:
        assert s.owed_total == sum(r.captn_pay for r in clinics)


@given(st.integers(0, 200_000), st.one_of(st.none(), st.integers(0, 100)), st.integers(0, 10_000), amounts, amounts)
def test_the_year_end_adds_up(persons: int, score: int | None, share: int, made: int, items: int) -> None:
    rule = Rule(10_670, share, 20, {}, ((90, 10_000), (80, 8_000), (60, 5_000)))
    ye = rules.year_end(rule, "T", 2020, persons, score, made, items)
    assert ye.prepaid + ye.withheld == ye.year_amount
    assert ye.released + ye.not_released == ye.withheld and 0 <= ye.released <= ye.withheld
    assert ye.paid == ye.prepaid + ye.released and ye.surplus == ye.paid - made
    if score is None or score < 60:
        assert ye.released == 0
    if score is not None and score >= 90:
        assert ye.paid == ye.year_amount
