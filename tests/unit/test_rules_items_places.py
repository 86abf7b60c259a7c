"""Issue 15, features 5 and 9: item-class payment rules and place, one test per rule.

Each expected amount is worked out by hand in the comment next to it (yuan in comments, fen in the
code). A fee-line claim and a summary of the same content settle the same; the batch engine agrees.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from tests.unit.test_rules import A, fee_claim, fl, line, make_policy, person, run, summary_claim

from yibao.core.errors import InputError, InputErrors
from yibao.settlement import Claim, PolicyRangeSummary, settle
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.model import Period, Person, settled_place
from yibao.settlement.trace import render

ADMISSION_300: dict[str, Any] = {"deductible_kind": "admission", "deductible": A(300)}


def parts_claim(scp: int, preselfpay_amt: int = 0, **parts: int) -> Claim:
    """A summarised claim: policy range ``scp`` (with its parts paid apart), self-pay first ``preselfpay_amt``."""
    claim = summary_claim(scp, preselfpay_amt=preselfpay_amt)
    assert claim.summary is not None
    return replace(claim, summary=replace(claim.summary, **parts))


def _batch_hifp(policy_lines: dict[str, Any], p: Person, claims: list[Claim], fee: dict[str, Any] | None = None) -> list[int]:
    """What the batch engine pays (basic insurance) on the same claims (summaries) and pack."""
    from yibao.policy import pack_from_mapping

    raw = {
        "pack": "t",
        "valid_from": "2022-01-01",
        "valid_to": "2022-12-31",
        "policy": {"identity_priority": [], "fee": fee or {"class_b_selfpay_first": A(0)}, "lines": policy_lines},
    }
    result = settle_batch(pack_from_mapping(raw, "t.yaml"), to_frames([p], claims))
    return [int(v) for v in result.claims["hifp_pay"]]


# --- 5. item classes --------------------------------------------------------------------------------


def test_class_c_covered_after_its_self_pay_first_share():
    policy = make_policy(fee={"class_b_selfpay_first": A(0), "class_c_selfpay_first": A(40)})
    s = settle(policy, person(), None, fee_claim(fl("D1", 100_000), fl("D2", 30_000, "03")))
    # 丙 D2 300.00: 40% = 120.00 self-pay first, 180.00 in range; 甲 D1 1000.00 in range
    assert s.fulamt_ownpay_amt == 0
    assert s.preselfpay_amt == 12_000
    assert s.inscp_scp_amt == 118_000  # 1000.00 + 180.00
    assert s.hifp_pay == 59_000  # 1180.00 x 50%
    d2 = next(r for r in s.fee_results if r.med_list_codg == "D2")
    assert (d2.preselfpay_amt, d2.inscp_scp_amt, d2.selfpay_prop) == (12_000, 18_000, 4_000)


def test_class_c_stays_wholly_self_paid_by_default_and_at_100():
    for fee in ({"class_b_selfpay_first": A(0)}, {"class_b_selfpay_first": A(0), "class_c_selfpay_first": A(100)}):
        s = settle(make_policy(fee=fee), person(), None, fee_claim(fl("D2", 30_000, "03")))
        assert (s.fulamt_ownpay_amt, s.preselfpay_amt, s.inscp_scp_amt, s.hifp_pay) == (30_000, 0, 0, 0)


CLASS_B_LINE = line(ratio=A(80), class_b_ratio=A(60), **ADMISSION_300)
FEE_10 = {"class_b_selfpay_first": A(10)}


def test_class_b_paid_at_its_own_ratio_split_in_proportion():
    policy = make_policy(lines={"inpatient": CLASS_B_LINE}, fee=FEE_10)
    (s,) = run(policy, person(), [fee_claim(fl("A1", 100_000), fl("B1", 50_000, "02"))])
    # 乙 B1 500.00: 10% = 50.00 self-pay first, 450.00 in range; policy range 1450.00
    # deductible 300.00; above it 1150.00, of which 乙类 1150.00 x 450/1450 = 356.8966 -> 356.90
    # 甲 part 1150.00 - 356.90 = 793.10 x 80% = 634.48; 乙 part 356.90 x 60% = 214.14; basic 848.62
    assert s.inscp_scp_amt == 145_000
    assert s.act_pay_dedc == 30_000
    assert s.hifp_pay == 84_862
    assert s.psn_part_amt == 150_000 - 84_862
    zh = " ".join(text for _, text in render(s.trace, "zh"))
    en = " ".join(text for _, text in render(s.trace, "en"))
    assert "乙类比例 60.00%" in zh or "乙类比例 60%" in zh
    assert "class B ratio" in en


def test_a_class_b_summary_settles_as_its_fee_lines_in_settle_and_batch():
    policy = make_policy(lines={"inpatient": CLASS_B_LINE}, fee=FEE_10)
    summary = parts_claim(145_000, 5_000, class_b_scp_amt=45_000)
    (s,) = run(policy, person(), [summary])
    assert s.hifp_pay == 84_862  # as the fee lines above
    assert _batch_hifp({"inpatient": CLASS_B_LINE}, person(), [summary], FEE_10) == [84_862]


def test_class_b_ratio_takes_identity_points_and_ignores_class_b_on_other_lines():
    plain = make_policy(lines={"inpatient": line(ratio=A(80), **ADMISSION_300)}, fee=FEE_10)
    (s,) = run(plain, person(), [parts_claim(145_000, 5_000, class_b_scp_amt=45_000)])
    assert s.hifp_pay == 92_000  # (1450.00 - 300.00) x 80%: the 乙类 part is not apart on this line


def test_fixed_share_of_listed_items_outside_deductible_and_ratio():
    ln = line(fixed_share_items=["IMPL"], fixed_share=A(70), deductible_kind="admission", deductible=A(200))
    policy = make_policy(lines={"inpatient": ln}, fee=FEE_10)
    (s,) = run(policy, person(), [fee_claim(fl("A1", 100_000), fl("IMPL", 200_000, "02"))])
    # implant 2000.00 (乙): 200.00 self-pay first, 1800.00 in range, the fund pays 70% = 1260.00
    # the rest 1000.00: deductible 200.00, 800.00 x 50% = 400.00; basic 1660.00
    assert s.hifp_pay == 166_000
    assert s.act_pay_dedc == 20_000
    assert s.psn_part_amt == 300_000 - 166_000
    assert any("1,260.00" in text or "1260.00" in text for _, text in render(s.trace, "zh"))
    summary = parts_claim(280_000, 20_000, fixed_share_scp_amt=180_000)
    (t,) = run(policy, person(), [summary])
    assert t.hifp_pay == 166_000
    assert _batch_hifp({"inpatient": ln}, person(), [summary], FEE_10) == [166_000]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"fixed_share_items": ["IMPL"]}, "fixed_share"),
        ({"class_b_ratio": A(60), "ratio_bands": A([{"start": 0, "add": 0}])}, "class_b_ratio"),
        ({"place_selfpay_first": A({"abroad": 10})}, "place_selfpay_first"),
        ({"deductible_by_place": A({"cross_unfiled": 100})}, "deductible_by_place"),
        ({"ratio": A({"in_county": 50, "cross_unfiled": 30})}, "ratio"),
    ],
)
def test_a_pack_using_the_features_wrongly_is_refused_naming_the_key(extra: dict[str, Any], key: str):
    with pytest.raises(InputErrors) as err:
        make_policy(lines={"inpatient": line(**extra)})
    assert key in str(err.value)


def test_summary_parts_beyond_the_policy_range_are_refused():
    policy = make_policy(lines={"inpatient": CLASS_B_LINE})
    with pytest.raises(InputError) as err:
        settle(policy, person(), None, parts_claim(10_000, full_pay_scp_amt=6_000, class_b_scp_amt=6_000))
    assert err.value.field == "full_pay_scp_amt"
    with pytest.raises(InputError) as err:
        settle(policy, person(), None, parts_claim(10_000, fixed_share_scp_amt=-1))
    assert err.value.field == "fixed_share_scp_amt"


# --- 9. place -------------------------------------------------------------------------------------------

PLACE_LINE = line(
    deductible_kind="admission",
    deductible=A(500),
    deductible_by_place=A({"cross_filed": 1000, "cross_unfiled": 1500}),
    ratio=A({"in_county": 50, "out_of_county": 50, "cross_filed": 60, "cross_unfiled": 30, "cross_emergency": 70}),
    place_selfpay_first=A({"cross_unfiled": 20}),
)


def _at(place: str, *filings: Period) -> tuple[int, int]:
    """(deductible paid, basic pay) of a 10,000-yuan admission at ``place`` for a person with ``filings``."""
    policy = make_policy(lines={"inpatient": PLACE_LINE})
    p = person(cross_region_filings=filings)
    s = settle(policy, p, None, summary_claim(1_000_000, place=place))  # type: ignore[arg-type]
    return s.act_pay_dedc, s.hifp_pay


def test_deductible_ratio_and_self_pay_first_by_place():
    # in the county: deductible 500.00, (10000.00 - 500.00) x 50% = 4750.00
    assert _at("in_county") == (50_000, 475_000)
    # cross-region with a long-term residence filing: the filed place's deductible 1000.00 and 60%
    assert _at("cross_region", Period(date(2022, 1, 1), kind="long_term")) == (100_000, 540_000)
    # unfiled: 20% self-pay first (2000.00), deductible 1500.00, (8000.00 - 1500.00) x 30% = 1950.00
    assert _at("cross_region") == (150_000, 195_000)
    # emergency care, filed or not: its own ratio 70%, the filed deductible (its parent) 1000.00: 6300.00
    assert _at("cross_emergency") == (100_000, 630_000)


def test_the_unfiled_self_pay_first_stays_in_the_policy_range_self_pay():
    policy = make_policy(lines={"inpatient": PLACE_LINE})
    s = settle(policy, person(), None, summary_claim(1_000_000, place="cross_region"))
    assert s.inscp_scp_amt == 1_000_000
    assert s.pool_prop_selfpay == 1_000_000 - 150_000 - 195_000  # 2000.00 first + the 30% left: 6550.00
    zh = [text for _, text in render(s.trace, "zh")]
    en = [text for _, text in render(s.trace, "en")]
    assert any("异地未备案先行自付" in t for t in zh)
    assert any("self-pay first" in t for t in en)
    assert any("执行该地起付线" in t for t in zh)


def test_the_filing_kind_that_decides_when_several_are_held():
    assert settled_place("cross_region", ["temporary", "long_term"]) == "cross_long_term"
    assert settled_place("cross_region", ["", "referral"]) == "cross_referral"
    assert settled_place("cross_region", [""]) == "cross_filed"
    assert settled_place("cross_region", []) == "cross_unfiled"
    assert settled_place("cross_emergency", []) == "cross_emergency"
    assert settled_place("in_county", ["long_term"]) == "in_county"


def test_finer_places_batch_as_settle():
    p = person(cross_region_filings=(Period(date(2022, 1, 1), date(2022, 3, 31), "referral"),))
    claims = [
        summary_claim(1_000_000, day=date(2022, 3, 1), place="cross_region"),  # referral -> filed: 1000.00, 60%
        summary_claim(1_000_000, day=date(2022, 6, 1), place="cross_region"),  # unfiled by then
        summary_claim(1_000_000, day=date(2022, 7, 1), place="cross_emergency"),
    ]
    got = [s.hifp_pay for s in run(make_policy(lines={"inpatient": PLACE_LINE}), p, claims)]
    assert got == [540_000, 195_000, 630_000]
    assert _batch_hifp({"inpatient": PLACE_LINE}, p, claims) == got


def test_a_pack_without_the_finer_places_settles_them_as_filed():
    policy = make_policy(
        lines={"inpatient": line(ratio=A({"in_county": 50, "out_of_county": 50, "cross_filed": 40, "cross_unfiled": 10}))}
    )
    p = person(cross_region_filings=(Period(date(2022, 1, 1), kind="temporary"),))
    assert settle(policy, p, None, summary_claim(100_000, place="cross_region")).hifp_pay == 40_000  # 1000.00 x 40%
    s = settle(policy, person(), None, summary_claim(100_000, place="cross_emergency"))
    assert s.hifp_pay == 40_000


def test_the_batch_engine_refuses_an_unknown_filing_kind():
    from yibao.core.errors import InputErrors as Refused

    p = person(cross_region_filings=(Period(date(2022, 1, 1), kind="moon"),))
    with pytest.raises(Refused) as err:
        _batch_hifp({"inpatient": PLACE_LINE}, p, [summary_claim(1_000, place="cross_region")])
    assert [e.field for e in err.value.errors] == ["kind"]


def test_csv_files_carry_filing_kinds_and_the_summary_parts(tmp_path):
    from yibao.interfaces.claim_csv import read_claims, read_people

    (tmp_path / "people.csv").write_text(
        "psn_no,insutype,cross_region_filings\nP1,390,2022-01-01::long_term|2022-06-01:2022-06-30\n", encoding="utf-8"
    )
    (tmp_path / "claims.csv").write_text(
        "claim_id,psn_no,setl_date,med_type,hosp_lv,place,medfee_sumamt,preselfpay_amt,class_b_scp_amt,fixed_share_scp_amt\n"
        "C1,P1,2022-05-01,21,2,cross_emergency,1500.00,50.00,450.00,0\n",
        encoding="utf-8",
    )
    people = read_people(tmp_path / "people.csv")
    assert [(f.end, f.kind) for f in people["P1"].cross_region_filings] == [(None, "long_term"), (date(2022, 6, 30), "")]
    (claim,) = read_claims(tmp_path / "claims.csv", people)
    assert claim.place == "cross_emergency"
    assert claim.summary == PolicyRangeSummary(150_000, 0, 0, 5_000, None, 0, 0, 45_000)
