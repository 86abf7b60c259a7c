"""One test per settlement rule, each on a small pack that isolates the rule.

Every expected amount is worked out by hand in the comment next to it (amounts in yuan
in comments, in fen in the code: 1 yuan = 100 fen).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import pytest

from yibao.core.errors import InputError, InputErrors
from yibao.core.identities import IdentityPeriod
from yibao.policy import Policy, pack_from_mapping
from yibao.settlement import Claim, FeeLine, Person, PolicyRangeSummary, YearToDate, reverse, settle, settle_sequence
from yibao.settlement.model import ChronicFiling, Period, Place, Settlement
from yibao.settlement.trace import render

D = date(2022, 5, 1)


def A(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test value"}


def line(med_types: Sequence[str] = ("21",), **kw: Any) -> dict[str, Any]:
    """A benefit line: no deductible, 50 % everywhere, no cap, unless told otherwise."""
    out = {"label_zh": "测试", "label_en": "test", "insutype": "390", "med_types": list(med_types), "ratio": A(50)}
    out.update(kw)
    return out


def make_policy(
    lines: dict[str, Any] | None = None,
    fee: dict[str, Any] | None = None,
    ci: dict[str, Any] | None = None,
    ma: dict[str, Any] | None = None,
    ta: dict[str, Any] | None = None,
    priority: Sequence[str] = (),
) -> Policy:
    policy: dict[str, Any] = {
        "identity_priority": list(priority),
        "fee": fee if fee is not None else {"class_b_selfpay_first": A(0)},
        "lines": lines if lines is not None else {"inpatient": line()},
    }
    if ci is not None:
        policy["critical_illness"] = ci
    if ma is not None:
        policy["assistance"] = ma
    if ta is not None:
        policy["tilted_assistance"] = ta
    pack = pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")
    return pack.at(D)


def ci_section(
    deductible: int = 0,
    bands: Sequence[tuple[int, int]] = ((0, 50),),
    basis: str = "above_deductible",
    cap: int | None = None,
    tilt: dict[str, Any] | None = None,
    lines: Sequence[str] = ("inpatient",),
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "lines": list(lines),
        "deductible": A(deductible),
        "band_basis": basis,
        "bands": A([{"start": s, "ratio": r} for s, r in bands]),
    }
    if cap is not None:
        out["cap"] = A(cap)
    if tilt is not None:
        out["tilt"] = tilt
    return out


def person(*identities: str | IdentityPeriod, psn_no: str = "P1", **kw: Any) -> Person:
    ids = tuple(i if isinstance(i, IdentityPeriod) else IdentityPeriod(i, date(2020, 1, 1)) for i in identities)
    return Person(psn_no, identities=ids, **kw)


_n = iter(range(1, 10**6))


def summary_claim(
    scp_fen: int,
    day: date = D,
    med_type: str = "21",
    hosp_lv: int = 2,
    place: Place = "in_county",
    dise: str = "",
    psn_no: str = "P1",
    **amounts: int,
) -> Claim:
    """A summarised claim whose policy-range amount is ``scp_fen`` plus any self-paid parts given."""
    total = scp_fen + sum(amounts.values())
    return Claim(f"C{next(_n)}", psn_no, day, med_type, hosp_lv, place, dise, summary=PolicyRangeSummary(total, **amounts))


def fee_claim(
    *lines: FeeLine, day: date = D, med_type: str = "21", hosp_lv: int = 2, dise: str = "", psn_no: str = "P1"
) -> Claim:
    return Claim(f"C{next(_n)}", psn_no, day, med_type, hosp_lv, "in_county", dise, fee_lines=tuple(lines))


def fl(code: str, fen: int, lv: str = "01", pric: int | None = None, cnt: int | str | Decimal = 1) -> FeeLine:
    return FeeLine(f"{code}-{fen}", code, fen, lv, Decimal(cnt), pric)


def assert_adds_up(s: Settlement) -> None:
    assert s.hifp_pay + s.hifmi_pay + s.maf_pay + s.oth_pay + s.psn_part_amt == s.medfee_sumamt
    assert s.fund_pay_sumamt == s.hifp_pay + s.hifmi_pay + s.maf_pay + s.oth_pay
    assert s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + s.inscp_scp_amt == s.medfee_sumamt


def run(policy: Policy, p: Person, claims: Sequence[Claim], ytd: YearToDate | None = None) -> list[Settlement]:
    out = list(settle_sequence(policy, p, claims, {D.year: ytd} if ytd else None))
    for s in out:
        assert_adds_up(s)
    return out


# --- policy range --------------------------------------------------------------------------------


def test_class_c_items_are_fully_self_paid():
    policy = make_policy(fee={"class_b_selfpay_first": A(0), "fully_selfpaid_items": ["X99"]})
    s = settle(policy, person(), None, fee_claim(fl("D1", 100_000), fl("D2", 30_000, "03"), fl("X99", 20_000, "01")))
    # 甲 D1 1000.00 in range; 丙 D2 300.00 and listed X99 200.00 (甲 but outside the catalogue) fully self-paid
    assert s.fulamt_ownpay_amt == 50_000  # 300.00 + 200.00
    assert s.inscp_scp_amt == 100_000
    assert s.hifp_pay == 50_000  # 1000.00 x 50% = 500.00
    assert s.psn_part_amt == 100_000  # 1500.00 - 500.00
    by_code = {r.med_list_codg: r for r in s.fee_results}
    assert by_code["D2"].fulamt_ownpay_amt == 30_000 and by_code["D2"].selfpay_prop == 10_000
    assert by_code["X99"].fulamt_ownpay_amt == 20_000 and by_code["X99"].inscp_scp_amt == 0
    assert_adds_up(s)


def test_class_b_self_pay_first_share():
    policy = make_policy(fee={"class_b_selfpay_first": A(10), "item_selfpay_first": {"B2": A(20)}})
    s = settle(policy, person(), None, fee_claim(fl("B1", 100_005, "02"), fl("B2", 50_000, "02"), fl("A1", 10_000, "01")))
    # 乙 B1 1000.05 x 10% = 100.005 yuan = 10000.5 fen -> 10001 fen (half up, per line)
    # 乙 B2 500.00 x 20% (item's own share) = 100.00
    # 甲 A1 100.00: no self-pay first
    assert s.preselfpay_amt == 10_001 + 10_000
    by_code = {r.med_list_codg: r for r in s.fee_results}
    assert (by_code["B1"].preselfpay_amt, by_code["B1"].selfpay_prop) == (10_001, 1000)
    assert (by_code["B2"].preselfpay_amt, by_code["B2"].selfpay_prop) == (10_000, 2000)
    assert (by_code["A1"].preselfpay_amt, by_code["A1"].selfpay_prop) == (0, 0)
    # scp = 1000.05 - 100.01 + 500.00 - 100.00 + 100.00 = 1400.04
    assert s.inscp_scp_amt == 140_004
    # 1400.04 x 50% = 700.02
    assert s.hifp_pay == 70_002
    # 1600.05 - 700.02 = 900.03
    assert s.psn_part_amt == 90_003
    assert_adds_up(s)


def test_price_ceiling_excess_is_over_limit_self_pay():
    policy = make_policy(fee={"class_b_selfpay_first": A(10), "price_ceilings": {"D1": A(80), "D2": A(50), "D3": A(50)}})
    claim = fee_claim(
        fl("D1", 30_000, "01", pric=10_000, cnt=3),  # 甲 3 x 100.00, ceiling 80.00
        fl("D2", 12_000, "02", pric=6_000, cnt=2),  # 乙 2 x 60.00, ceiling 50.00
        fl("D3", 4_000, "01", pric=4_000, cnt=1),  # under its ceiling
    )
    s = settle(policy, person(), None, claim)
    by_code = {r.med_list_codg: r for r in s.fee_results}
    # D1: (100.00 - 80.00) x 3 = 60.00 over limit; 240.00 in range
    assert (by_code["D1"].overlmt_selfpay, by_code["D1"].inscp_scp_amt) == (6_000, 24_000)
    # D2: (60.00 - 50.00) x 2 = 20.00 over limit; of the 100.00 left, 10% = 10.00 self-pay first; 90.00 in range
    assert (by_code["D2"].overlmt_selfpay, by_code["D2"].preselfpay_amt, by_code["D2"].inscp_scp_amt) == (2_000, 1_000, 9_000)
    assert by_code["D3"].overlmt_selfpay == 0
    assert s.overlmt_selfpay == 8_000  # 60.00 + 20.00
    assert s.inscp_scp_amt == 37_000  # 240.00 + 90.00 + 40.00
    assert s.hifp_pay == 18_500  # 370.00 x 50%
    assert s.psn_part_amt == 27_500  # 460.00 - 185.00
    assert_adds_up(s)


def test_price_ceiling_applies_without_unit_price():
    policy = make_policy(fee={"class_b_selfpay_first": A(10), "price_ceilings": {"D1": A(80)}})
    claim = fee_claim(fl("D1", 30_000, "01", cnt=3))  # 3 units, 300.00 in all, no unit price uploaded
    s = settle(policy, person(), None, claim)
    # allowed 3 x 80.00 = 240.00, so 60.00 over the limit and 240.00 in range
    assert (s.overlmt_selfpay, s.inscp_scp_amt) == (6_000, 24_000)
    assert_adds_up(s)


def test_summarised_claim_accepted_and_checked():
    policy = make_policy()
    claim = summary_claim(80_000, fulamt_ownpay_amt=10_000, overlmt_selfpay=5_000, preselfpay_amt=5_000)
    s = settle(policy, person(), None, claim)
    # total 1000.00 - 100.00 - 50.00 - 50.00 = 800.00 in range; x 50% = 400.00
    assert (s.medfee_sumamt, s.inscp_scp_amt, s.hifp_pay, s.psn_part_amt) == (100_000, 80_000, 40_000, 60_000)
    assert s.fee_results == ()
    # an explicit policy-range amount that does not add up is refused
    bad = Claim("CX", "P1", D, "21", 2, summary=PolicyRangeSummary(100_000, 10_000, 0, 0, inscp_scp_amt=95_000))
    with pytest.raises(InputError) as info:
        settle(policy, person(), None, bad)
    assert info.value.field == "inscp_scp_amt" and info.value.value == 95_000
    # self-paid parts larger than the total are refused
    with pytest.raises(InputError):
        settle(policy, person(), None, Claim("CY", "P1", D, "21", 2, summary=PolicyRangeSummary(1_000, 2_000)))
    # negative amounts are refused
    with pytest.raises(InputError) as info:
        settle(policy, person(), None, Claim("CZ", "P1", D, "21", 2, summary=PolicyRangeSummary(-1)))
    assert info.value.field == "medfee_sumamt"
    # both fee lines and a summary, or neither, is refused
    with pytest.raises(InputError):
        settle(policy, person(), None, Claim("CW", "P1", D, "21", 2, fee_lines=(fl("A", 100),), summary=PolicyRangeSummary(100)))
    with pytest.raises(InputError):
        settle(policy, person(), None, Claim("CV", "P1", D, "21", 2))


def test_fee_line_checks():
    policy = make_policy()
    with pytest.raises(InputError) as info:
        settle(policy, person(), None, fee_claim(fl("A", 100, "04")))
    assert info.value.field == "chrgitm_lv"
    with pytest.raises(InputError) as info:
        settle(policy, person(), None, fee_claim(fl("A", -100)))
    assert info.value.field == "det_item_fee_sumamt"


# --- basic insurance ----------------------------------------------------------------------------


ADMISSION: dict[str, Any] = {"deductible_kind": "admission", "deductible": A(500), "deductible_2nd": A(250)}


def test_first_admission_deductible_and_small_bill():
    policy = make_policy(lines={"inpatient": line(**ADMISSION)})
    s1, s2 = run(policy, person(), [summary_claim(1_000_000), summary_claim(30_000, day=date(2022, 6, 1))])
    # 1st: (10000.00 - 500.00) x 50% = 4750.00
    assert (s1.act_pay_dedc, s1.hifp_pay) == (50_000, 475_000)
    assert s1.pool_prop_selfpay == 475_000  # 10000.00 - 500.00 - 4750.00
    # 2nd admission, bill 300.00 above the 2nd deductible 250.00: (300.00 - 250.00) x 50% = 25.00
    assert (s2.act_pay_dedc, s2.hifp_pay) == (25_000, 2_500)
    # a bill below the deductible: the deductible taken is the bill itself, the fund pays nothing
    s3 = settle(policy, person(), None, summary_claim(30_000))
    assert (s3.act_pay_dedc, s3.hifp_pay, s3.psn_part_amt) == (30_000, 0, 30_000)


def test_second_admission_deductible_lower():
    policy = make_policy(lines={"inpatient": line(**ADMISSION)})
    s1, s2 = run(policy, person(), [summary_claim(1_000_000, day=date(2022, 3, 1)), summary_claim(1_000_000)])
    # 1st admission: deductible 500.00 -> (10000.00 - 500.00) x 50% = 4750.00
    assert (s1.act_pay_dedc, s1.hifp_pay) == (50_000, 475_000)
    # 2nd admission: deductible 250.00 -> (10000.00 - 250.00) x 50% = 4875.00
    assert (s2.act_pay_dedc, s2.hifp_pay) == (25_000, 487_500)
    assert s2.ytd_after.admissions == 2


def test_third_admission_deductible():
    policy = make_policy(lines={"inpatient": line(**ADMISSION, deductible_3rd=A(100))})
    days = [date(2022, m, 1) for m in (2, 3, 4, 5)]
    ss = run(policy, person(), [summary_claim(1_000_000, day=d) for d in days])
    # deductibles 500.00, 250.00, then 100.00 for the 3rd and every later admission
    assert [s.act_pay_dedc for s in ss] == [50_000, 25_000, 10_000, 10_000]
    # 3rd: (10000.00 - 100.00) x 50% = 4950.00
    assert ss[2].hifp_pay == 495_000
    # without deductible_3rd the 3rd admission keeps the 2nd's deductible
    policy = make_policy(lines={"inpatient": line(**ADMISSION)})
    ss = run(policy, person(), [summary_claim(1_000_000, day=d) for d in days[:3]])
    assert [s.act_pay_dedc for s in ss] == [50_000, 25_000, 25_000]


def test_deductible_by_hospital_level():
    policy = make_policy(lines={"inpatient": line(deductible_kind="admission", deductible=A({1: 200, 2: 500, 3: 1000}))})
    got = [settle(policy, person(), None, summary_claim(1_000_000, hosp_lv=lv)).act_pay_dedc for lv in (1, 2, 3)]
    assert got == [20_000, 50_000, 100_000]


def test_outpatient_yearly_deductible_consumed_across_claims():
    policy = make_policy(lines={"outpatient": line(("11",), deductible_kind="year", deductible=A(100))})
    claims = [
        summary_claim(6_000, day=date(2022, 2, 1), med_type="11"),  # 60.00
        summary_claim(8_000, day=date(2022, 3, 1), med_type="11"),  # 80.00
        summary_claim(5_000, day=date(2022, 4, 1), med_type="11"),  # 50.00
    ]
    s1, s2, s3 = run(policy, person(), claims)
    # yearly deductible 100.00: 60.00 all deductible, fund 0
    assert (s1.act_pay_dedc, s1.hifp_pay) == (6_000, 0)
    # 40.00 of the deductible left: 40.00 deductible, (80.00 - 40.00) x 50% = 20.00
    assert (s2.act_pay_dedc, s2.hifp_pay) == (4_000, 2_000)
    # deductible used up: 50.00 x 50% = 25.00
    assert (s3.act_pay_dedc, s3.hifp_pay) == (0, 2_500)
    assert s3.ytd_after.deductible_base == {"outpatient": 19_000}  # 60 + 80 + 50
    assert s3.ytd_after.admissions == 0  # outpatient visits are not admissions


def test_yearly_deductible_group_shared_between_lines():
    lines = {
        "outpatient": line(("11",), deductible_kind="year", deductible=A(100), deductible_group="op"),
        "clinic": line(("13",), deductible_kind="year", deductible=A(100), deductible_group="op"),
    }
    policy = make_policy(lines=lines)
    s1, s2 = run(policy, person(), [summary_claim(6_000, med_type="11"), summary_claim(8_000, med_type="13")])
    # the two lines share one 100.00 deductible: 60.00 on the first, 40.00 on the second
    assert (s1.act_pay_dedc, s2.act_pay_dedc) == (6_000, 4_000)
    assert s2.hifp_pay == 2_000  # (80.00 - 40.00) x 50%


def test_ratio_by_level_and_place():
    ratio = {"in_county": {1: 90, 2: 80, 3: 70}, "out_of_county": {1: 60, 2: 55, 3: 50}, "cross_filed": 45, "cross_unfiled": 30}
    policy = make_policy(lines={"inpatient": line(ratio=A(ratio))})

    def pay(lv: int, place: Place) -> int:
        return settle(policy, person(), None, summary_claim(100_000, hosp_lv=lv, place=place)).hifp_pay

    # 1000.00 x 90% / 80% / 70% in county; x 60% / 55% / 50% out of county
    assert [pay(lv, "in_county") for lv in (1, 2, 3)] == [90_000, 80_000, 70_000]
    assert [pay(lv, "out_of_county") for lv in (1, 2, 3)] == [60_000, 55_000, 50_000]


def test_cross_region_filed_vs_unfiled():
    ratio = {"in_county": 80, "out_of_county": 60, "cross_filed": 45, "cross_unfiled": 30}
    policy = make_policy(lines={"inpatient": line(ratio=A(ratio))})
    p = person(cross_region_filings=(Period(date(2022, 3, 1), date(2022, 6, 30)),))
    filed = settle(policy, p, None, summary_claim(100_000, day=date(2022, 6, 30), place="cross_region"))
    unfiled = settle(policy, p, None, summary_claim(100_000, day=date(2022, 7, 1), place="cross_region"))
    # filing valid on 2022-06-30: 1000.00 x 45%; expired on 2022-07-01: 1000.00 x 30%
    assert (filed.hifp_pay, unfiled.hifp_pay) == (45_000, 30_000)
    assert settle(policy, person(), None, summary_claim(100_000, place="cross_region")).hifp_pay == 30_000


def test_basic_ratio_bands_on_admission_amount():
    policy = make_policy(
        lines={
            "inpatient": line(
                deductible_kind="admission",
                deductible=A(1000),
                ratio=A(60),
                ratio_bands=A([{"start": 0, "add": 0}, {"start": 10000, "add": 10}]),
            )
        }
    )
    s1, s2 = run(policy, person(), [summary_claim(3_000_001, day=date(2022, 3, 1)), summary_claim(3_000_001)])
    # 30000.01 policy range, deductible 1000.00:
    # [1000.00, 10000.00) x 60% = 5400.00; [10000.00, 30000.01) = 20000.01 x 70% = 14000.007
    # 5400.00 + 14000.007 = 19400.007 -> 19400.01 (rounded once, half up)
    assert s1.hifp_pay == 1_940_001
    # the bands start again on the next admission's own amount (not the year's cumulative amount)
    assert s2.hifp_pay == 1_940_001
    # a negative band lowers the ratio above a point: 60% to 10000.00, 50% above
    policy = make_policy(
        lines={"inpatient": line(ratio=A(60), ratio_bands=A([{"start": 0, "add": 0}, {"start": 10000, "add": -10}]))}
    )
    # 10000.00 x 60% + 5000.00 x 50% = 6000.00 + 2500.00 = 8500.00
    assert settle(policy, person(), None, summary_claim(1_500_000)).hifp_pay == 850_000


def test_basic_annual_cap_binds():
    lines = {
        "inpatient": line(ratio=A(80), cap=A(10000), cap_group="pool"),
        "chronic": line(("14",), ratio=A(80), cap=A(10000), cap_group="pool"),
    }
    policy = make_policy(lines=lines)
    claims = [
        summary_claim(1_000_000, day=date(2022, 2, 1)),
        summary_claim(500_000, day=date(2022, 3, 1), med_type="14"),
        summary_claim(500_000, day=date(2022, 4, 1)),
    ]
    s1, s2, s3 = run(policy, person(), claims)
    # 10000.00 x 80% = 8000.00 (cap 10000.00 leaves 2000.00)
    assert s1.hifp_pay == 800_000
    assert s1.setldetail[0].crt_payb_lmt_amt == 200_000
    # chronic shares the cap group: 5000.00 x 80% = 4000.00, only 2000.00 left
    assert s2.hifp_pay == 200_000
    assert s2.setldetail[0].crt_payb_lmt_amt == 0
    # cap used up
    assert s3.hifp_pay == 0
    assert s3.ytd_after.basic_paid == {"pool": 1_000_000}


def test_identity_override_on_basic():
    inpatient = line(
        deductible_kind="admission",
        deductible=A(1000),
        ratio=A(60),
        cap=A(5000),
        identity_overrides={"tekun": {"deductible_pct": A(50), "ratio_add": A(10), "no_cap": True}},
    )
    policy = make_policy(lines={"inpatient": inpatient}, priority=["tekun"])
    ordinary = settle(policy, person(), None, summary_claim(2_000_000))
    tekun = settle(policy, person("tekun"), None, summary_claim(2_000_000))
    # ordinary: (20000.00 - 1000.00) x 60% = 11400.00, capped at 5000.00
    assert (ordinary.act_pay_dedc, ordinary.hifp_pay) == (100_000, 500_000)
    # 特困: deductible 1000.00 x 50% = 500.00; (20000.00 - 500.00) x (60% + 10) = 13650.00, no cap
    assert (tekun.act_pay_dedc, tekun.hifp_pay) == (50_000, 1_365_000)
    assert tekun.setldetail[0].crt_payb_lmt_amt is None


def test_basic_ratio_never_exceeds_100_percent():
    inpatient = line(ratio=A(95), identity_overrides={"tekun": {"ratio_add": A(10)}})
    policy = make_policy(lines={"inpatient": inpatient}, priority=["tekun"])
    # 95% + 10 points is clamped to 100%: 1000.00 paid in full, not 1050.00
    assert settle(policy, person("tekun"), None, summary_claim(100_000)).hifp_pay == 100_000


# --- critical illness -----------------------------------------------------------------------------


NO_BASIC = {"inpatient": line(ratio=A(0)), "chronic": line(("14",), ratio=A(0))}
"""Basic pays nothing, so the critical-illness base is the whole policy-range amount."""


def test_critical_illness_bands_gross_vs_above_deductible():
    bands = ((0, 50), (20000, 60))
    above = make_policy(lines=NO_BASIC, ci=ci_section(10000, bands, "above_deductible"))
    gross = make_policy(lines=NO_BASIC, ci=ci_section(10000, bands, "gross"))
    a = settle(above, person(), None, summary_claim(4_000_000))
    g = settle(gross, person(), None, summary_claim(4_000_000))
    # above_deductible: 40000.00 - 10000.00 = 30000.00 -> 20000.00 x 50% + 10000.00 x 60% = 10000.00 + 6000.00
    assert a.hifmi_pay == 1_600_000
    # gross: cumulative 40000.00, deductible 10000.00 -> [10000, 20000) x 50% + [20000, 40000) x 60% = 5000.00 + 12000.00
    assert g.hifmi_pay == 1_700_000
    assert (a.psn_part_amt, g.psn_part_amt) == (2_400_000, 2_300_000)


def test_critical_illness_cumulative_across_claims():
    policy = make_policy(lines=NO_BASIC, ci=ci_section(10000, ((0, 50), (20000, 60)), "gross", lines=("inpatient", "chronic")))
    s1, s2 = run(policy, person(), [summary_claim(1_500_000, day=date(2022, 2, 1)), summary_claim(1_000_000, med_type="14")])
    # 1st: cumulative 0 -> 15000.00; above the 10000.00 deductible: 5000.00 x 50% = 2500.00
    assert s1.hifmi_pay == 250_000
    # 2nd (chronic line, same year): cumulative 15000.00 -> 25000.00:
    # [15000, 20000) x 50% + [20000, 25000) x 60% = 2500.00 + 3000.00 = 5500.00
    assert s2.hifmi_pay == 550_000
    assert s2.ytd_after.ci_base == 2_500_000


def test_critical_illness_base_is_what_basic_left():
    policy = make_policy(
        lines={"inpatient": line(deductible_kind="admission", deductible=A(1000), ratio=A(70))},
        ci=ci_section(5000, ((0, 60),)),
    )
    s = settle(policy, person(), None, summary_claim(3_000_000))
    # basic: (30000.00 - 1000.00) x 70% = 20300.00; left 9700.00 (incl. the 1000.00 basic deductible)
    assert s.hifp_pay == 2_030_000
    # critical illness: (9700.00 - 5000.00) x 60% = 2820.00
    assert s.hifmi_pay == 282_000
    ci_row = next(d for d in s.setldetail if d.fund_pay_type == "390200")
    assert ci_row.inscp_scp_amt == 970_000


def test_critical_illness_only_on_its_lines():
    lines = {**NO_BASIC, "outpatient": line(("11",), ratio=A(0))}
    policy = make_policy(lines=lines, ci=ci_section(0, ((0, 50),), lines=("inpatient",)))
    # the outpatient line is not a critical-illness line: nothing, and no setldetail row
    s = settle(policy, person(), None, summary_claim(100_000, med_type="11"))
    assert s.hifmi_pay == 0
    assert [d.fund_pay_type for d in s.setldetail] == ["390100"]


def test_critical_illness_cap_binds():
    policy = make_policy(lines=NO_BASIC, ci=ci_section(0, ((0, 50),), cap=10000))
    s1, s2 = run(policy, person(), [summary_claim(3_000_000, day=date(2022, 2, 1)), summary_claim(1_000_000)])
    # 30000.00 x 50% = 15000.00, capped at 10000.00
    assert s1.hifmi_pay == 1_000_000
    ci_row = next(d for d in s1.setldetail if d.fund_pay_type == "390200")
    assert (ci_row.crt_payb_lmt_amt, ci_row.fund_payamt) == (0, 1_000_000)
    # cap used up
    assert s2.hifmi_pay == 0


TILT = {"categories": ["dibao"], "deductible_pct": A(50), "ratio_add": A(0)}


def test_critical_illness_tilt_halves_deductible():
    policy = make_policy(lines=NO_BASIC, ci=ci_section(10000, ((0, 50),), tilt=TILT), priority=["dibao"])
    ordinary = settle(policy, person(), None, summary_claim(3_000_000))
    dibao = settle(policy, person("dibao"), None, summary_claim(3_000_000))
    # ordinary: (30000.00 - 10000.00) x 50% = 10000.00
    assert ordinary.hifmi_pay == 1_000_000
    # 低保: deductible 10000.00 x 50% = 5000.00 -> (30000.00 - 5000.00) x 50% = 12500.00
    assert dibao.hifmi_pay == 1_250_000


def test_critical_illness_tilt_adds_points():
    tilt = {**TILT, "deductible_pct": A(100), "ratio_add": A(5)}
    policy = make_policy(lines=NO_BASIC, ci=ci_section(0, ((0, 60), (50000, 65)), tilt=tilt), priority=["dibao"])
    ordinary = settle(policy, person(), None, summary_claim(6_000_000))
    dibao = settle(policy, person("dibao"), None, summary_claim(6_000_000))
    # ordinary: 50000.00 x 60% + 10000.00 x 65% = 30000.00 + 6500.00 = 36500.00
    assert ordinary.hifmi_pay == 3_650_000
    # 低保 (+5 points on every band): 50000.00 x 65% + 10000.00 x 70% = 32500.00 + 7000.00 = 39500.00
    assert dibao.hifmi_pay == 3_950_000


def test_critical_illness_tilt_removes_cap():
    tilt = {**TILT, "deductible_pct": A(100), "no_cap": True}
    policy = make_policy(lines=NO_BASIC, ci=ci_section(0, ((0, 50),), cap=10000, tilt=tilt), priority=["dibao"])
    ordinary = settle(policy, person(), None, summary_claim(4_000_000))
    dibao = settle(policy, person("dibao"), None, summary_claim(4_000_000))
    # 40000.00 x 50% = 20000.00: ordinary capped at 10000.00, 低保 paid in full
    assert ordinary.hifmi_pay == 1_000_000
    assert dibao.hifmi_pay == 2_000_000
    ci_row = next(d for d in dibao.setldetail if d.fund_pay_type == "390200")
    assert ci_row.crt_payb_lmt_amt is None


# --- medical assistance ------------------------------------------------------------------------------


def ma_section(limit: int = 50000, lines: Sequence[str] = ("inpatient",), **cats: tuple[int, int]) -> dict[str, Any]:
    return {
        "lines": list(lines),
        "categories": {k: {"deductible": A(d), "ratio": A(r)} for k, (d, r) in cats.items()},
        "limit": A(limit),
    }


def test_assistance_deductible_and_ratio_by_category():
    policy = make_policy(lines=NO_BASIC, ma=ma_section(tekun=(0, 80), jiance=(3000, 60)), priority=["tekun", "jiance"])
    # 特困: no deductible, 10000.00 x 80% = 8000.00
    assert settle(policy, person("tekun"), None, summary_claim(1_000_000)).maf_pay == 800_000
    # 监测: (10000.00 - 3000.00) x 60% = 4200.00
    assert settle(policy, person("jiance"), None, summary_claim(1_000_000)).maf_pay == 420_000
    # ordinary: not an assistance category
    s = settle(policy, person(), None, summary_claim(1_000_000))
    assert s.maf_pay == 0
    assert "610100" not in [d.fund_pay_type for d in s.setldetail]
    # the deductible is yearly, on the cumulative base: 2000.00 then 2000.00 -> only 1000.00 above 3000.00
    s1, s2 = run(policy, person("jiance"), [summary_claim(200_000, day=date(2022, 2, 1)), summary_claim(200_000)])
    assert s1.maf_pay == 0
    assert s2.maf_pay == 60_000  # (4000.00 - 3000.00) x 60% = 600.00


def test_assistance_annual_limit_shared():
    lines = {**NO_BASIC}
    policy = make_policy(lines=lines, ma=ma_section(5000, ("inpatient", "chronic"), tekun=(0, 80)), priority=["tekun"])
    claims = [
        summary_claim(500_000, day=date(2022, 2, 1)),
        summary_claim(500_000, day=date(2022, 3, 1), med_type="14"),
        summary_claim(500_000, day=date(2022, 4, 1)),
    ]
    s1, s2, s3 = run(policy, person("tekun"), claims)
    # 5000.00 x 80% = 4000.00; limit 5000.00 leaves 1000.00
    assert s1.maf_pay == 400_000
    # chronic claim, same limit: 4000.00 computed, 1000.00 paid
    assert s2.maf_pay == 100_000
    assert s3.maf_pay == 0
    assert s3.ytd_after.maf_paid == 500_000


def test_tilted_assistance_threshold_ratio_cap():
    ta = {"lines": ["inpatient"], "categories": ["tekun"], "threshold": A(1000), "ratio": A(50), "cap": A(2000)}
    policy = make_policy(lines=NO_BASIC, ma=ma_section(100000, tekun=(0, 80)), ta=ta, priority=["tekun"])
    s1, s2 = run(policy, person("tekun"), [summary_claim(2_000_000, day=date(2022, 2, 1)), summary_claim(2_000_000)])
    # assistance 20000.00 x 80% = 16000.00; left 4000.00; above the 1000.00 threshold: 3000.00 x 50% = 1500.00
    assert (s1.maf_pay, s1.oth_pay) == (1_600_000, 150_000)
    assert s1.psn_part_amt == 250_000  # 20000.00 - 16000.00 - 1500.00
    # 2nd: left 4000.00, all above the threshold: 4000.00 x 50% = 2000.00, cap 2000.00 leaves 500.00
    assert (s2.maf_pay, s2.oth_pay) == (1_600_000, 50_000)
    # not a tilted-assistance category: nothing
    policy = make_policy(lines=NO_BASIC, ma=ma_section(100000, dibao=(0, 80)), ta=ta, priority=["tekun", "dibao"])
    assert settle(policy, person("dibao"), None, summary_claim(2_000_000)).oth_pay == 0


# --- benefit lines -------------------------------------------------------------------------------------


def test_chronic_line_needs_filing_else_fallback():
    lines = {
        "chronic": line(("14",), requires_filing=True, fallback="outpatient", ratio=A(80)),
        "outpatient": line(("11",), ratio=A(50)),
    }
    policy = make_policy(lines=lines)
    p = person(chronic_filings=(ChronicFiling("I10", date(2022, 3, 1)),))
    filed = settle(policy, p, None, summary_claim(100_000, day=date(2022, 4, 1), med_type="14", dise="I10.900"))
    # filed disease: chronic line, 1000.00 x 80%
    assert (filed.line, filed.hifp_pay) == ("chronic", 80_000)
    # before the filing date, and for another disease: the fallback line, 1000.00 x 50%
    early = settle(policy, p, None, summary_claim(100_000, day=date(2022, 2, 28), med_type="14", dise="I10"))
    other = settle(policy, p, None, summary_claim(100_000, day=date(2022, 4, 1), med_type="14", dise="E11"))
    assert (early.line, early.hifp_pay) == ("outpatient", 50_000)
    assert (other.line, other.hifp_pay) == ("outpatient", 50_000)
    assert early.trace[0].key == "fallback"
    # without a fallback line, a claim with no filing is refused
    policy = make_policy(lines={"chronic": line(("14",), requires_filing=True, ratio=A(80))})
    with pytest.raises(InputError) as info:
        settle(policy, p, None, summary_claim(100_000, day=date(2022, 4, 1), med_type="14", dise="E11"))
    assert info.value.field == "dise_codg"


def test_two_disease_listed_class_a_paid_in_full():
    lines = {
        "two_diseases": line(("11",), diseases=["I10", "E11"], ratio=A(50), cap=A(300), full_pay_items=["DRUG_A"]),
        "outpatient": line(("11",), ratio=A(50)),
    }
    policy = make_policy(lines=lines, fee={"class_b_selfpay_first": A(10)})
    bill = (fl("DRUG_A", 10_000, "01"), fl("DRUG_B", 4_000, "01"), fl("DRUG_A", 5_000, "02"))
    s = settle(policy, person(), None, fee_claim(*bill, med_type="11", dise="I10.x"))
    # 甲 DRUG_A 100.00 listed: paid in full; 甲 DRUG_B 40.00 x 50% = 20.00;
    # 乙 DRUG_A 50.00: 5.00 self-pay first, 45.00 x 50% = 22.50 (only 甲类 lines are paid in full)
    assert s.line == "two_diseases"
    assert s.hifp_pay == 10_000 + 2_000 + 2_250
    assert s.psn_part_amt == 19_000 - 14_250  # 190.00 - 142.50 = 47.50
    assert [r.full_pay for r in s.fee_results] == [True, False, False]
    # another disease: general outpatient, nothing paid in full: (100.00 + 40.00 + 45.00) x 50% = 92.50
    other = settle(policy, person(), None, fee_claim(*bill, med_type="11", dise="J06"))
    assert (other.line, other.hifp_pay) == ("outpatient", 9_250)
    # full payment counts against the line's cap: 400.00 listed drug, cap 300.00
    big = settle(policy, person(), None, fee_claim(fl("DRUG_A", 40_000, "01"), med_type="11", dise="E11"))
    assert big.hifp_pay == 30_000


def test_listed_class_a_paid_in_full_outside_the_cap():
    two = line(("11",), diseases=["I10"], ratio=A(50), cap=A(300), full_pay_items=["DRUG_A"], full_pay_in_cap=A(False))
    policy = make_policy(lines={"two_diseases": two}, fee={"class_b_selfpay_first": A(10)})
    first = settle(policy, person(), None, fee_claim(fl("DRUG_A", 40_000), fl("DRUG_B", 80_000), med_type="11", dise="I10"))
    # listed 400.00 paid in full outside the cap; DRUG_B 800.00 x 50% = 400.00, limited to the cap 300.00
    assert first.hifp_pay == 40_000 + 30_000
    assert first.trace[[s.key for s in first.trace].index("full_pay_outside_cap")].args["amount_fen"] == 40_000
    # the cap is used up by DRUG_B alone: the listed drug is still paid in full, DRUG_B gets nothing
    later = fee_claim(fl("DRUG_A", 5_000), fl("DRUG_B", 5_000), med_type="11", dise="I10", day=date(2022, 12, 1))
    second = settle(policy, person(), first.ytd_after, later)
    assert (second.hifp_pay, second.psn_part_amt) == (5_000, 5_000)


def test_full_pay_outside_the_cap_needs_listed_items():
    with pytest.raises(InputErrors) as info:
        make_policy(lines={"two_diseases": line(("11",), ratio=A(50), full_pay_in_cap=A(False))})
    assert "full_pay_in_cap" in str(info.value) and "full_pay_items" in str(info.value)


EMPLOYEE_LINES = {
    "emp_outpatient_in_service": line(
        ("11",),
        insutype="310",
        emp_status="in_service",
        deductible_kind="year",
        deductible=A(200),
        ratio=A({1: 60, 2: 60, 3: 50}),
        cap_by_tier=A({"unit": 3000, "individual_1": 800, "individual_2": 3000}),
    ),
    "emp_outpatient_retired": line(
        ("11",),
        insutype="310",
        emp_status="retired",
        deductible_kind="year",
        deductible=A(100),
        ratio=A({1: 70, 2: 70, 3: 60}),
        cap_by_tier=A({"unit": 4000, "individual_1": 1200, "individual_2": 4000}),
    ),
}


def employee(status: Literal["in_service", "retired"], tier: Literal["unit", "individual_1", "individual_2"] = "unit") -> Person:
    return Person("P1", insutype="310", emp_status=status, emp_tier=tier)


def test_employee_outpatient_in_service_vs_retired_and_tiers():
    policy = make_policy(lines=EMPLOYEE_LINES)

    def pay(p: Person, lv: int, scp: int = 120_000) -> tuple[str, int]:
        s = settle(policy, p, None, summary_claim(scp, med_type="11", hosp_lv=lv))
        return s.line, s.hifp_pay

    # in service, level 2: (1200.00 - 200.00) x 60% = 600.00; level 3: x 50% = 500.00
    assert pay(employee("in_service"), 2) == ("emp_outpatient_in_service", 60_000)
    assert pay(employee("in_service"), 3) == ("emp_outpatient_in_service", 50_000)
    # retired, level 2: (1200.00 - 100.00) x 70% = 770.00; level 3: x 60% = 660.00
    assert pay(employee("retired"), 2) == ("emp_outpatient_retired", 77_000)
    assert pay(employee("retired"), 3) == ("emp_outpatient_retired", 66_000)
    # individual tier 1: (2200.00 - 200.00) x 60% = 1200.00, capped at 800.00 (unit tier: 1200.00)
    assert pay(employee("in_service", "individual_1"), 2, 220_000)[1] == 80_000
    assert pay(employee("in_service", "unit"), 2, 220_000)[1] == 120_000
    # retired individual tier 1: (2200.00 - 100.00) x 70% = 1470.00, capped at 1200.00
    assert pay(employee("retired", "individual_1"), 2, 220_000)[1] == 120_000
    # an employee without an enrolment tier cannot be settled on a tiered line
    with pytest.raises(InputError) as info:
        settle(policy, Person("P1", insutype="310", emp_status="retired"), None, summary_claim(1000, med_type="11"))
    assert info.value.field == "emp_tier"
    # a resident has no line here
    with pytest.raises(InputError) as info:
        settle(policy, person(), None, summary_claim(1000, med_type="11"))
    assert info.value.field == "med_type"


# --- identities --------------------------------------------------------------------------------------


def test_identity_priority_highest_decides():
    ma = ma_section(dibao=(0, 75), jiance=(3000, 60))
    both = person("jiance", "dibao")
    policy = make_policy(lines=NO_BASIC, ma=ma, priority=["tekun", "dibao", "jiance"])
    s = settle(policy, both, None, summary_claim(1_000_000))
    # 低保 ranks above 监测: 10000.00 x 75% = 7500.00 (not both)
    assert (s.identity, s.maf_pay) == ("dibao", 750_000)
    # the pack's order decides: with 监测 ranked first, (10000.00 - 3000.00) x 60% = 4200.00
    policy = make_policy(lines=NO_BASIC, ma=ma, priority=["jiance", "dibao"])
    s = settle(policy, both, None, summary_claim(1_000_000))
    assert (s.identity, s.maf_pay) == ("jiance", 420_000)
    # an identity the pack does not rank brings nothing
    s = settle(policy, person("youfu"), None, summary_claim(1_000_000))
    assert (s.identity, s.maf_pay) == ("ordinary", 0)


def test_identity_valid_on_claim_date_only():
    policy = make_policy(lines=NO_BASIC, ma=ma_section(tekun=(0, 80)), priority=["tekun"])
    p = person(IdentityPeriod("tekun", date(2022, 1, 1), date(2022, 3, 31)))
    last_day = settle(policy, p, None, summary_claim(100_000, day=date(2022, 3, 31)))
    after = settle(policy, p, None, summary_claim(100_000, day=date(2022, 4, 1)))
    before = settle(policy, p, None, summary_claim(100_000, day=date(2021, 12, 31)))
    # 1000.00 x 80% = 800.00 while the identity holds (end date inclusive), nothing otherwise
    assert (last_day.identity, last_day.maf_pay) == ("tekun", 80_000)
    assert (after.identity, after.maf_pay) == ("ordinary", 0)
    assert (before.identity, before.maf_pay) == ("ordinary", 0)


# --- accumulators, reversal ------------------------------------------------------------------------


def full_policy() -> Policy:
    return make_policy(
        lines={
            "inpatient": line(deductible_kind="admission", deductible=A(500), ratio=A(60), cap=A(50000)),
            "outpatient": line(("11",), deductible_kind="year", deductible=A(100), ratio=A(50), cap=A(400)),
        },
        ci=ci_section(5000, ((0, 60), (20000, 70)), cap=100000),
        ma=ma_section(20000, tekun=(0, 80)),
        ta={"lines": ["inpatient"], "categories": ["tekun"], "threshold": A(500), "ratio": A(50), "cap": A(5000)},
        priority=["tekun"],
    )


def test_reverse_gives_back_exactly():
    policy = full_policy()
    p = person("tekun")
    claims = [
        summary_claim(5_000_000, day=date(2022, 2, 1)),
        summary_claim(3_000_000, day=date(2022, 3, 1)),
        summary_claim(30_000, med_type="11"),
    ]
    s1, s2, s3 = run(policy, p, claims)
    # the consumed deltas are what the tiers paid and counted
    assert s2.consumed.admissions == 1
    assert s2.consumed.basic_paid == {"inpatient": s2.hifp_pay}
    assert (s2.consumed.ci_paid, s2.consumed.maf_paid, s2.consumed.tilt_paid) == (s2.hifmi_pay, s2.maf_pay, s2.oth_pay)
    assert s3.consumed.deductible_base == {"outpatient": 30_000}
    # reversing the last one gives back the accumulators before it, exactly
    assert reverse(s3, s3.ytd_after) == s2.ytd_after
    assert reverse(s2, s2.ytd_after) == s1.ytd_after
    assert reverse(s1, s1.ytd_after) == YearToDate(2022)
    # reversing a middle one gives back only what it consumed
    after = reverse(s2, s3.ytd_after)
    assert after.admissions == 1
    assert after.ci_paid == s1.hifmi_pay + s3.hifmi_pay
    assert after.deductible_base == {"outpatient": 30_000}
    # the accumulators round-trip through a dict (storage)
    assert YearToDate.from_dict(s3.ytd_after.to_dict()) == s3.ytd_after


def test_reverse_twice_refused():
    policy = full_policy()
    s = settle(policy, person("tekun"), None, summary_claim(5_000_000))
    once = reverse(s, s.ytd_after)
    with pytest.raises(InputError) as info:
        reverse(s, once)
    assert info.value.field == "year_to_date"
    assert isinstance(info.value.value, list) and "admissions" in info.value.value


def test_accumulators_of_another_year_refused():
    policy = full_policy()
    with pytest.raises(InputError) as info:
        settle(policy, person(), YearToDate(2021), summary_claim(100_000))
    assert info.value.field == "setl_date"


def test_settle_sequence_keeps_one_accumulator_per_year():
    pack_2y = pack_from_mapping(
        {
            "pack": "t",
            "valid_from": "2022-01-01",
            "policy": {
                "identity_priority": [],
                "fee": {"class_b_selfpay_first": A(0)},
                "lines": {"inpatient": line(**ADMISSION)},
            },
        },
        "t.yaml",
    )
    claims = [summary_claim(100_000, day=date(2023, 1, 5)), summary_claim(100_000, day=date(2022, 12, 1))]
    s2022, s2023 = settle_sequence(pack_2y, person(), claims)
    # date order; the 2023 claim is that year's first admission again: deductible 500.00
    assert s2022.setl_date.year == 2022
    assert (s2022.act_pay_dedc, s2023.act_pay_dedc) == (50_000, 50_000)
    assert s2023.ytd_after.year == 2023


# --- output ------------------------------------------------------------------------------------------


def test_setldetail_fund_pay_types():
    policy = full_policy()
    s = settle(policy, person("tekun"), None, summary_claim(5_000_000))
    # basic: (50000.00 - 500.00) x 60% = 29700.00; left 20300.00
    # critical illness: (20300.00 - 5000.00) = 15300.00 x 60% = 9180.00; left 11120.00
    # assistance: 11120.00 x 80% = 8896.00; left 2224.00
    # tilted: (2224.00 - 500.00) x 50% = 862.00
    rows = {d.fund_pay_type: d for d in s.setldetail}
    assert list(rows) == ["390100", "390200", "610100", "610200"]
    assert [(rows[k].inscp_scp_amt, rows[k].fund_payamt) for k in rows] == [
        (5_000_000, 2_970_000),
        (2_030_000, 918_000),
        (1_112_000, 889_600),
        (222_400, 86_200),
    ]
    # what each fund may still pay this year: 50000 - 29700, 100000 - 9180, 20000 - 8896, 5000 - 862
    assert [rows[k].crt_payb_lmt_amt for k in rows] == [2_030_000, 9_082_000, 1_110_400, 413_800]
    assert (s.hifp_pay, s.hifmi_pay, s.maf_pay, s.oth_pay) == (2_970_000, 918_000, 889_600, 86_200)
    assert s.psn_part_amt == 136_200  # 2224.00 - 862.00
    info = s.setlinfo()
    assert info["fund_pay_sumamt"] == 2_970_000 + 918_000 + 889_600 + 86_200
    assert info["psn_cash_pay"] == info["psn_part_amt"] == 136_200
    assert all(d.setl_proc_info for d in s.setldetail)
    # an employee's basic fund is 310100 and residents' critical illness does not apply
    emp = settle(make_policy(lines=EMPLOYEE_LINES), employee("in_service"), None, summary_claim(120_000, med_type="11"))
    assert [d.fund_pay_type for d in emp.setldetail] == ["310100"]


def test_trace_readable_in_chinese_and_english():
    policy = full_policy()
    s = settle(policy, person("tekun"), None, summary_claim(5_000_000))
    zh = "\n".join(f"{tier}：{text}" for tier, text in render(s.trace, "zh"))
    en = "\n".join(f"{tier}: {text}" for tier, text in render(s.trace, "en"))
    for words in (
        "基本医保",
        "大病保险",
        "医疗救助",
        "倾斜救助",
        "起付线",
        "报销比例",
        "特困人员",
        "50,000.00元",
        "29,700.00元",
        "60%",
    ):
        assert words in zh, words
    for words in ("basic insurance", "critical illness", "medical assistance", "tilted assistance", "deductible", "ratio"):
        assert words in en, words
    assert "extreme-poverty support" in en
    assert "29,700.00" in en
    # the last step is the check total = funds + patient
    tier, text = render(s.trace, "zh")[-1]
    assert tier == "合计"
    assert "50,000.00元" in text and "1,362.00元" in text
    # no placeholder left unfilled, in either language
    assert "{" not in zh and "{" not in en
