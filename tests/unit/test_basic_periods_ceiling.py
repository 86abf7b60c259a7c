"""Issue 15, features 1 and 2 in the basic tier: cost ceilings on covered cost, deductibles per
claim / month / quarter and off the payment, caps per month / quarter.

Every expected amount is worked out by hand in the comment next to it (yuan in comments, fen in
the code). The batch engine is run on the same claims and must give the same fen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from tests.unit.test_rules import A, assert_adds_up, ci_section, line, person, summary_claim

from yibao.core.errors import InputErrors
from yibao.policy import pack_from_mapping
from yibao.policy.pack import PolicyPack
from yibao.settlement import Claim, Person, YearToDate, reverse, settle_sequence
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames, ytd_from_row
from yibao.settlement.model import Settlement
from yibao.settlement.trace import render


def make_pack(lines: dict[str, Any], ci: dict[str, Any] | None = None, combined: dict[str, Any] | None = None) -> PolicyPack:
    policy: dict[str, Any] = {"identity_priority": [], "fee": {"class_b_selfpay_first": A(0)}, "lines": lines}
    if ci is not None:
        policy["critical_illness"] = ci
    if combined is not None:
        policy["combined_caps"] = combined
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def run(pack: PolicyPack, claims: Sequence[Claim], p: Person | None = None) -> list[Settlement]:
    """Settle in order with ``settle``; the batch engine must agree to the fen on every claim and accumulator."""
    p = p or person()
    out = list(settle_sequence(pack, p, claims))
    for s in out:
        assert_adds_up(s)
    batch = settle_batch(pack, to_frames([p], claims))
    for row, s in zip(batch.claims.iter_rows(named=True), out, strict=True):
        assert row["claim_id"] == s.claim_id
        for name in ("act_pay_dedc", "hifp_pay", "hifmi_pay", "pool_prop_selfpay", "psn_part_amt"):
            assert row[name] == getattr(s, name), (s.claim_id, name)
    (ytd_row,) = batch.year_to_date.iter_rows(named=True)
    assert ytd_from_row(ytd_row) == out[-1].ytd_after
    return out


def day(month: int, dom: int = 1) -> date:
    return date(2022, month, dom)


def steps(s: Settlement, key: str) -> list[dict[str, Any]]:
    return [t.args for t in s.trace if t.tier == "basic" and t.key == key]


# --- feature 1: a yearly ceiling on covered cost ----------------------------------------------------

BY_LEVEL = {"deductible_kind": "admission", "deductible": A({1: 200, 2: 500, 3: 1000}), "ratio": A({1: 90, 2: 80, 3: 70})}


def test_cost_ceiling_exact_when_ratios_differ_by_level():
    """Ceiling 10,000 yuan of cost above the deductible; two admissions at different levels cross it."""
    pack = make_pack({"inpatient": line(**BY_LEVEL, cost_ceiling=A(10000))}, ci=ci_section())
    s1, s2, s3 = run(
        pack,
        [
            summary_claim(600_000, day=day(2), hosp_lv=3),  # 6,000
            summary_claim(800_000, day=day(3), hosp_lv=1),  # 8,000
            summary_claim(100_000, day=day(4), hosp_lv=2),  # 1,000
        ],
    )
    # level 3: deductible 1,000; 5,000 above it, all under the ceiling: 5,000 x 70% = 3,500
    assert (s1.act_pay_dedc, s1.hifp_pay) == (100_000, 350_000)
    assert s1.ytd_after.covered_cost == {"inpatient": 500_000}
    # level 1: deductible 200; 7,800 above it, 5,000 left under the ceiling: 5,000 x 90% = 4,500;
    # the 2,800 above the ceiling stays in the policy-range self-pay: 8,000 - 200 - 4,500 = 3,300
    assert (s2.act_pay_dedc, s2.hifp_pay, s2.pool_prop_selfpay) == (20_000, 450_000, 330_000)
    assert steps(s2, "cost_ceiling_above_deductible") == [
        {"ceiling_fen": 1_000_000, "before_fen": 500_000, "counted_fen": 500_000, "above_fen": 280_000}
    ]
    # ... so critical illness (50 % from 0) still sees it: (8,000 - 4,500) x 50% = 1,750
    assert s2.hifmi_pay == 175_000
    # (a payment cap of 3,500 + 4,500 = 8,000 could not say this: the first claim at level 1
    # would have paid 9,000 of 10,000 cost before reaching it)
    # ceiling used up: only the deductible 500 is charged, the fund pays nothing
    assert (s3.act_pay_dedc, s3.hifp_pay) == (50_000, 0)
    assert s3.ytd_after.covered_cost == {"inpatient": 1_000_000}
    # reversal gives back the covered cost the claim counted
    assert reverse(s2, s3.ytd_after).covered_cost == {"inpatient": 500_000}
    assert s2.consumed.covered_cost == {"inpatient": 500_000}


def test_cost_ceiling_gross_counts_the_deductible():
    pack = make_pack(
        {"inpatient": line(deductible_kind="admission", deductible=A(1000), cost_ceiling=A(10000), cost_ceiling_basis="gross")}
    )
    s1, s2 = run(pack, [summary_claim(600_000, day=day(2)), summary_claim(600_000, day=day(3))])
    # gross: the ceiling counts all 6,000; the fund pays (6,000 - 1,000) x 50% = 2,500
    assert (s1.hifp_pay, s1.ytd_after.covered_cost) == (250_000, {"inpatient": 600_000})
    # 4,000 left under the ceiling: paid on 1,000 .. 4,000 = 3,000 x 50% = 1,500; 2,000 above it
    assert s2.hifp_pay == 150_000
    assert steps(s2, "cost_ceiling_gross")[0]["above_fen"] == 200_000
    assert s2.ytd_after.covered_cost == {"inpatient": 1_000_000}


def test_cost_ceiling_shared_through_the_cap_group_or_its_own_group():
    lines = {
        "inpatient": line(cost_ceiling=A(10000), cap_group="pool"),
        "chronic": line(("14",), cost_ceiling=A(10000), cap_group="pool"),
        "outpatient": line(("11",), cost_ceiling=A(10000), cap_group="pool", cost_ceiling_group="opd"),
    }
    s1, s2, s3 = run(
        make_pack(lines),
        [
            summary_claim(800_000, day=day(2)),
            summary_claim(500_000, day=day(3), med_type="14"),
            summary_claim(500_000, day=day(4), med_type="11"),
        ],
    )
    # inpatient 8,000 x 50% = 4,000; chronic shares the pool's ceiling: 2,000 left, x 50% = 1,000
    assert (s1.hifp_pay, s2.hifp_pay) == (400_000, 100_000)
    # outpatient counts in its own ceiling group: 5,000 x 50% = 2,500
    assert s3.hifp_pay == 250_000
    assert s3.ytd_after.covered_cost == {"pool": 1_000_000, "opd": 500_000}


# --- feature 2: deductible and cap periods ------------------------------------------------------------


def test_deductible_per_claim():
    pack = make_pack({"outpatient": line(("11",), deductible_kind="claim", deductible=A(30))})
    ss = run(pack, [summary_claim(fen, day=day(m), med_type="11") for m, fen in ((1, 10_000), (2, 2_000), (3, 10_000))])
    # every claim its own 30: (100 - 30) x 50% = 35; a 20 bill is all deductible; then 35 again
    assert [(s.act_pay_dedc, s.hifp_pay) for s in ss] == [(3_000, 3_500), (2_000, 0), (3_000, 3_500)]
    assert ss[-1].ytd_after == YearToDate(2022, basic_paid={"outpatient": 7_000})  # no admissions, no deductible base


def test_monthly_deductible_starts_again_each_month():
    pack = make_pack({"outpatient": line(("11",), deductible_kind="month", deductible=A(100))})
    claims = [summary_claim(6_000, day=day(1, 10), med_type="11"), summary_claim(8_000, day=day(1, 20), med_type="11")]
    claims.append(summary_claim(5_000, day=day(2, 1), med_type="11"))
    s1, s2, s3 = run(pack, claims)
    # January: 60 all deductible; then 40 of it left: (80 - 40) x 50% = 20
    assert [(s.act_pay_dedc, s.hifp_pay) for s in (s1, s2)] == [(6_000, 0), (4_000, 2_000)]
    # February: a new deductible of 100, nothing carried over: 50 all deductible
    assert (s3.act_pay_dedc, s3.hifp_pay) == (5_000, 0)
    assert s3.ytd_after.deductible_base == {"outpatient@M01": 14_000, "outpatient@M02": 5_000}
    assert any(text.startswith("2022年2月起付线 100.00元") for _, text in render(s3.trace, "zh"))


def test_quarterly_deductible():
    pack = make_pack({"outpatient": line(("11",), deductible_kind="quarter", deductible=A(100))})
    days = (day(3, 31), day(4, 1), day(6, 30))
    s1, s2, s3 = run(pack, [summary_claim(fen, day=d, med_type="11") for d, fen in zip(days, (6_000, 8_000, 5_000), strict=True)])
    # Q1: 60 deductible; Q2: 80 deductible, then 20 left: (50 - 20) x 50% = 15
    assert [(s.act_pay_dedc, s.hifp_pay) for s in (s1, s2, s3)] == [(6_000, 0), (8_000, 0), (2_000, 1_500)]
    assert s3.ytd_after.deductible_base == {"outpatient@Q1": 6_000, "outpatient@Q2": 13_000}


def test_deductible_taken_off_the_payment():
    pack = make_pack({"outpatient": line(("11",), deductible_kind="year", deductible=A(100), deductible_on="payment")})
    s1, s2, s3 = run(pack, [summary_claim(fen, day=day(m), med_type="11") for m, fen in ((1, 6_000), (2, 30_000), (3, 10_000))])
    # 60 x 50% = 30, all taken by the deductible (70 of it left); 300 x 50% = 150, 70 taken: pays 80; then 50 in full
    assert [(s.act_pay_dedc, s.hifp_pay) for s in (s1, s2, s3)] == [(3_000, 0), (7_000, 8_000), (0, 5_000)]
    assert s2.pool_prop_selfpay == 15_000  # 300 - 70 - 80
    assert s3.ytd_after.deductible_taken == {"outpatient": 10_000} and s3.ytd_after.deductible_base == {}
    assert steps(s2, "deductible_off_pay") == [
        {"remaining_fen": 7_000, "raw_fen": 15_000, "dedc_fen": 7_000, "scope": ("2022年", "2022")}
    ]
    # per admission off the payment: 10,000 x 80% = 8,000, less 500: 7,500
    pack = make_pack({"inpatient": line(ratio=A(80), deductible_kind="admission", deductible=A(500), deductible_on="payment")})
    (s,) = run(pack, [summary_claim(1_000_000)])
    assert (s.act_pay_dedc, s.hifp_pay) == (50_000, 750_000)


def test_monthly_cap_unused_amount_not_carried_over():
    pack = make_pack({"outpatient": line(("11",), cap=A(100), cap_period="month")})
    claims = [summary_claim(30_000, day=day(1, 5), med_type="11"), summary_claim(10_000, day=day(1, 20), med_type="11")]
    claims += [summary_claim(10_000, day=day(2, 1), med_type="11"), summary_claim(40_000, day=day(3, 1), med_type="11")]
    ss = run(pack, claims)
    # January: 300 x 50% = 150, capped at 100; then nothing; February: 50 (50 unused, not carried);
    # March: 200, capped at 100 again
    assert [s.hifp_pay for s in ss] == [10_000, 0, 5_000, 10_000]
    assert ss[-1].ytd_after.basic_paid == {"outpatient@M01": 10_000, "outpatient@M02": 5_000, "outpatient@M03": 10_000}
    assert ss[0].setldetail[0].crt_payb_lmt_amt == 0 and ss[2].setldetail[0].crt_payb_lmt_amt == 5_000


def test_quarterly_cap():
    pack = make_pack({"outpatient": line(("11",), cap=A(100), cap_period="quarter")})
    ss = run(pack, [summary_claim(16_000, day=d, med_type="11") for d in (day(1), day(3, 31), day(4, 1))])
    # Q1: 80, then 20 of 80; Q2: 80
    assert [s.hifp_pay for s in ss] == [8_000, 2_000, 8_000]


def test_reversal_in_a_later_month_gives_back_to_the_claims_month():
    pack = make_pack({"outpatient": line(("11",), deductible_kind="month", deductible=A(100), cap=A(100), cap_period="month")})
    s1, s2 = run(
        pack, [summary_claim(30_000, day=day(1, 10), med_type="11"), summary_claim(30_000, day=day(2, 10), med_type="11")]
    )
    # each month: (300 - 100) x 50% = 100, at the cap
    assert (s1.hifp_pay, s2.hifp_pay) == (10_000, 10_000)
    # reversing January's claim in February gives back to January's accumulators only
    after = reverse(s1, s2.ytd_after)
    assert after.deductible_base == {"outpatient@M02": 30_000} and after.basic_paid == {"outpatient@M02": 10_000}
    # so a corrected January claim settles as the first of January again
    (again,) = settle_sequence(pack, person(), [summary_claim(30_000, day=day(1, 10), med_type="11")], {2022: after})
    assert (again.act_pay_dedc, again.hifp_pay) == (10_000, 10_000)


def test_existing_packs_keep_their_meaning():
    """Without the new keys a line is as before: yearly deductible and cap on the base, no ceiling."""
    ln = make_pack({"x": line()}).at(day(1)).lines["x"]
    assert (ln.deductible_kind, ln.deductible_on, ln.cap_period, ln.cost_ceiling) == ("none", "base", "year", None)


@pytest.mark.parametrize(
    ("lines", "names"),
    [
        ({"x": line(deductible_on="payment")}, "deductible_on: payment needs a deductible_kind"),
        ({"x": line(cost_ceiling_basis="gross")}, "cost_ceiling_group/cost_ceiling_basis need a cost_ceiling"),
        (
            {"x": line(deductible_kind="claim", deductible_2nd=A(1))},
            "deductible_2nd/deductible_3rd need deductible_kind: admission",
        ),
        ({"x": line(deductible_kind="fortnight")}, "deductible_kind"),
        ({"x": line(deductible_kind="admission", deductible_level="highest")}, "deductible_level: highest needs a periodic"),
        ({"x": line(deductible_waived_for=["N18"])}, "deductible_waived_for needs a deductible_kind"),
        (
            {"x": line(cap_group="g"), "y": line(("11",), cap_group="g", cap_period="month")},
            "lines.y shares cap_group 'g' with lines.x",
        ),
        (
            {
                "x": line(deductible_kind="year", deductible_group="d"),
                "y": line(("11",), deductible_kind="month", deductible_group="d"),
            },
            "lines.y shares deductible_group 'd' with lines.x",
        ),
        (
            {
                "x": line(cost_ceiling=A(1)),
                "y": line(("11",), cost_ceiling=A(1), cost_ceiling_group="x", cost_ceiling_basis="gross"),
            },
            "lines.y shares cost_ceiling_group 'x' with lines.x",
        ),
    ],
)
def test_wrong_use_is_refused_naming_the_key(lines: dict[str, Any], names: str):
    with pytest.raises(InputErrors) as info:
        make_pack(lines)
    assert names in str(info.value)


def test_new_steps_read_in_chinese_and_english():
    pack = make_pack(
        {
            "outpatient": line(("11",), deductible_kind="quarter", deductible=A(10), cap=A(100), cap_period="month"),
            "inpatient": line(deductible_kind="claim", deductible=A(10), deductible_on="payment", cost_ceiling=A(50)),
        }
    )
    (o,) = run(pack, [summary_claim(30_000, day=day(5), med_type="11")])
    (i,) = run(pack, [summary_claim(30_000, day=day(5))])
    zh = " ".join(text for _, text in render(o.trace, "zh") + render(i.trace, "zh"))
    en = " ".join(text for _, text in render(o.trace, "en") + render(i.trace, "en"))
    for words in ("2022年第2季度起付线", "2022年5月封顶线", "起付线从基金应付额中扣除", "年度最高支付限额"):
        assert words in zh
    for words in ("deductible for Q2 2022", "cap for May 2022", "taken off the payment", "yearly ceiling on covered cost"):
        assert words in en


def test_position_shows_the_days_period_and_the_ceiling():
    from yibao.settlement.position import payer_positions

    pack = make_pack({"outpatient": line(("11",), cap=A(100), cap_period="month", cost_ceiling=A(1000))})
    (s,) = run(pack, [summary_claim(30_000, day=day(1, 5), med_type="11")])
    policy = pack.at(day(1, 31))
    # January: 300 x 50% = 150, capped at 100; 300 of the 1,000 ceiling counted
    (jan,) = payer_positions(policy, person(), s.ytd_after, day(1, 31)).payers
    assert (jan.slot, jan.paid, jan.remaining, jan.covered, jan.cost_left) == ("outpatient@M01", 10_000, 0, 30_000, 70_000)
    # February: a new month's cap, the yearly ceiling as it was
    (feb,) = payer_positions(policy, person(), s.ytd_after, day(2, 1)).payers
    assert (feb.slot, feb.paid, feb.remaining, feb.cost_left) == ("outpatient@M02", 0, 10_000, 70_000)


def test_policy_page_names_the_new_parameters_in_chinese_and_english():
    from yibao.entrypoints.web.policy_view import parameters

    pack = make_pack(
        {
            "outpatient": line(
                ("11",), deductible_kind="month", deductible=A(10), deductible_on="payment", cap=A(100), cap_period="quarter"
            ),
            "inpatient": line(cost_ceiling=A(50000), cost_ceiling_basis="gross"),
        }
    )
    zh = {r.path: r.label for r in parameters(pack, None, "zh")}
    en = {r.path: r.label for r in parameters(pack, None, "en")}
    assert zh["lines.inpatient.cost_ceiling"].endswith("最高支付限额（政策范围内费用）（含起付线费用累计）")
    assert en["lines.inpatient.cost_ceiling"].endswith("ceiling on covered cost (cost from the first yuan)")
    assert zh["lines.outpatient.deductible"].endswith("起付线（按自然月，从基金应付额中扣除）")
    assert en["lines.outpatient.cap"].endswith("cap (per calendar quarter)")


# --- feature 12: the highest level attended, a filed special disease --------------------------------

HIGHEST = {"deductible_kind": "year", "deductible": A({1: 200, 2: 500, 3: 1000}), "deductible_level": "highest"}


def test_yearly_deductible_at_the_highest_level_attended():
    pack = make_pack({"inpatient": line(**HIGHEST)})
    ss = run(
        pack,
        [
            summary_claim(50_000, day=day(2), hosp_lv=1),  # 500
            summary_claim(500_000, day=day(3), hosp_lv=3),  # 5,000
            summary_claim(50_000, day=day(4), hosp_lv=1),  # 500
        ],
    )
    # level 1: deductible 200, (500 - 200) x 50% = 150
    # level 3: the year's deductible is now 1,000, of which 200 paid: only the 800 difference, (5,000 - 800) x 50% = 2,100
    # back at level 1: the highest attended is still level 3, its 1,000 all paid: 500 x 50% = 250
    assert [(s.act_pay_dedc, s.hifp_pay) for s in ss] == [(20_000, 15_000), (80_000, 210_000), (0, 25_000)]
    assert ss[-1].ytd_after.deductible_taken == {"inpatient": 100_000}
    assert ss[-1].ytd_after.deductible_levels == {"inpatient#L1": 2, "inpatient#L3": 1}
    # (measured on the cumulative base instead, the level-3 claim would pay 1,000 - 500 = 500 of deductible)
    # reversing the level-3 claim: level 1 is again the highest attended
    after = reverse(ss[1], ss[-1].ytd_after)
    assert after.deductible_levels == {"inpatient#L1": 2} and after.deductible_taken == {"inpatient": 20_000}


def test_highest_level_per_month_starts_again():
    pack = make_pack({"inpatient": line(**HIGHEST | {"deductible_kind": "month"})})
    s1, s2 = run(pack, [summary_claim(500_000, day=day(2), hosp_lv=3), summary_claim(50_000, day=day(3), hosp_lv=1)])
    # February at level 3: 1,000; March: a new month, level 1 only: 200
    assert (s1.act_pay_dedc, s2.act_pay_dedc) == (100_000, 20_000)


def test_filed_special_disease_waives_the_inpatient_deductible():
    from yibao.settlement.model import ChronicFiling

    pack = make_pack({"inpatient": line(deductible_kind="admission", deductible=A(500), deductible_waived_for=("N18",))})
    filed = person(chronic_filings=(ChronicFiling("N18", day(3)),))
    s1, s2, s3 = run(
        pack,
        [
            summary_claim(1_000_000, day=day(2), dise="N18.5"),  # before the filing
            summary_claim(1_000_000, day=day(4), dise="N18.5"),  # filed disease
            summary_claim(1_000_000, day=day(5), dise="J18"),  # another disease
        ],
        filed,
    )
    # before the filing: (10,000 - 500) x 50% = 4,750; filed: no deductible, 10,000 x 50% = 5,000; other disease: 4,750
    assert [(s.act_pay_dedc, s.hifp_pay) for s in (s1, s2, s3)] == [(50_000, 475_000), (0, 500_000), (50_000, 475_000)]
    assert s3.ytd_after.admissions == 3  # a waived admission is still an admission
    assert steps(s2, "deductible_waived") == [{}]


def test_combined_cap_for_two_filed_diseases_is_the_stated_amount_not_the_sum():
    from yibao.settlement.model import ChronicFiling
    from yibao.settlement.position import payer_positions

    lines = {
        "hypertension": line(("14",), diseases=["I10"], cap=A(300)),
        "diabetes": line(("14",), diseases=["E11"], cap=A(600)),
    }
    pack = make_pack(lines, combined={"both": {"lines": ["hypertension", "diabetes"], "diseases": ["I10", "E11"], "cap": A(800)}})
    p = person(chronic_filings=(ChronicFiling("I10", day(1)), ChronicFiling("E11", day(6))))
    s1, s2, s3 = run(
        pack,
        [
            summary_claim(100_000, day=day(3), med_type="14", dise="I10"),  # 1,000
            summary_claim(200_000, day=day(7), med_type="14", dise="E11"),  # 2,000
            summary_claim(40_000, day=day(8), med_type="14", dise="I10"),  # 400
        ],
        p,
    )
    # March, one disease filed: 1,000 x 50% = 500, the hypertension cap 300
    # July, both filed: the combined 800 replaces 300 and 600, 300 of it paid: 2,000 x 50% = 1,000, pays 500
    # August: the combined cap used up (not 300 + 600 = 900)
    assert [s.hifp_pay for s in (s1, s2, s3)] == [30_000, 50_000, 0]
    assert s3.ytd_after.basic_paid == {"hypertension": 30_000, "diabetes": 50_000, "both": 80_000}
    assert any(t.key == "cap" and t.args.get("combined") for t in s2.trace)
    (row,) = payer_positions(pack.at(day(12, 31)), p, s3.ytd_after, day(12, 31)).payers
    assert (row.group, row.cap, row.paid, row.lines) == ("both", 80_000, 80_000, ("hypertension", "diabetes"))


@pytest.mark.parametrize(
    ("block", "names"),
    [
        ({"lines": ["x", "z"], "diseases": ["I10", "E11"]}, "combined_caps.both.lines names unknown benefit lines ['z']"),
        ({"lines": ["x", "y"], "diseases": ["I10"]}, "combined_caps.both.diseases: at least two listed diseases"),
        ({"lines": ["x", "m"], "diseases": ["I10", "E11"]}, "count their caps in different periods"),
    ],
)
def test_combined_cap_used_wrongly_is_refused(block: dict[str, Any], names: str):
    lines = {"x": line(("14",)), "y": line(("11",)), "m": line(("13",), cap_period="month")}
    with pytest.raises(InputErrors) as info:
        make_pack(lines, combined={"both": block | {"cap": A(800)}})
    assert names in str(info.value)
