"""The later tiers' pack features (issue 15: 3, 4, 7), each rule on hand-computed amounts, in
``settle`` and the batch engine alike: assistance and tilted-assistance terms per identity category
with one yearly paid total, 重特大疾病 terms, a base of policy-range or in-catalogue self-pay, and a
second critical-illness block (employees' 大额) beside the residents' one."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from yibao.core.errors import InputErrors
from yibao.core.identities import IdentityPeriod
from yibao.policy.pack import PolicyPack, pack_from_mapping
from yibao.settlement.batch.engine import OUTPUT_AMOUNTS, settle_batch
from yibao.settlement.batch.frames import to_frames, ytd_from_row
from yibao.settlement.model import Claim, Person, PolicyRangeSummary, Settlement
from yibao.settlement.position import payer_positions
from yibao.settlement.settle import reverse, settle_sequence
from yibao.settlement.trace import render

YUAN = 100


def _a(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test"}


def _pack(**blocks: Any) -> PolicyPack:
    """Residents' inpatient and employees' inpatient, both 50% from the first fen, no deductible, no cap."""
    lines = {
        "inpatient": {"label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"], "ratio": _a(50)},
        "emp_inpatient": {
            "label_zh": "职工住院", "label_en": "employee inpatient", "insutype": "310", "med_types": ["21"], "ratio": _a(50),
        },
    }  # fmt: skip
    policy = {"identity_priority": ["tekun", "dibao"], "fee": {"class_b_selfpay_first": _a(10)}, "lines": lines, **blocks}
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def _claim(cid: str, day: date, scp_yuan: int, dise: str = "J06", pre_yuan: int = 0, psn: str = "P1") -> Claim:
    scp, pre = scp_yuan * YUAN, pre_yuan * YUAN
    return Claim(cid, psn, day, "21", 2, dise_codg=dise, summary=PolicyRangeSummary(scp + pre, 0, 0, pre, scp))


def _settle(pack: PolicyPack, person: Person, claims: list[Claim]) -> list[Settlement]:
    """Settle with the scalar core, and check the batch engine gives the same fen and accumulators."""
    out = list(settle_sequence(pack, person, claims))
    batch = settle_batch(pack, to_frames([person], claims))
    rows = {r["claim_id"]: r for r in batch.claims.iter_rows(named=True)}
    for s in out:
        assert {f: rows[s.claim_id][f] for f in OUTPUT_AMOUNTS} == {f: getattr(s, f) for f in OUTPUT_AMOUNTS}
    assert ytd_from_row(batch.year_to_date.row(0, named=True)) == out[-1].ytd_after
    for s in reversed(out):  # reversing gives back exactly what each consumed
        assert reverse(s, s.ytd_after) == s.ytd_after.minus(s.consumed)
    return out


def _pays(out: list[Settlement], payer: str) -> list[int]:
    return [getattr(s, payer) for s in out]


# ---- 3. assistance terms per category, one yearly paid total ------------------------------------------------


def test_assistance_limit_per_category_judged_on_the_claim_date_against_one_paid_total() -> None:
    pack = _pack(
        assistance={
            "lines": ["inpatient"],
            "categories": {
                "dibao": {"deductible": _a(0), "ratio": _a(100), "limit": _a(1000)},
                "tekun": {"deductible": _a(0), "ratio": _a(100), "limit": _a(5000)},
            },
        }
    )
    person = Person(
        "P1",
        identities=(
            IdentityPeriod("dibao", date(2022, 1, 1), date(2022, 5, 31)),
            IdentityPeriod("tekun", date(2022, 6, 1)),
        ),
    )
    claims = [
        _claim("A", date(2022, 3, 1), 10_000),  # basic 5,000; left 5,000; 低保 limit 1,000 -> 1,000
        _claim("B", date(2022, 7, 1), 4_000),  # left 2,000; 特困 limit 5,000, 1,000 paid before -> 2,000
        _claim("C", date(2022, 8, 1), 8_000),  # left 4,000; 5,000 - 3,000 paid -> 2,000
    ]
    out = _settle(pack, person, claims)
    assert _pays(out, "maf_pay") == [1_000 * YUAN, 2_000 * YUAN, 2_000 * YUAN]
    assert out[-1].ytd_after.maf_paid == 5_000 * YUAN
    # the position shows the limit of the category deciding on the day
    rows = {r.payer: r for r in payer_positions(pack.at(date(2022, 3, 1)), person, out[0].ytd_after, date(2022, 3, 1)).payers}
    assert (rows["maf_pay"].cap, rows["maf_pay"].remaining) == (1_000 * YUAN, 0)
    rows = {r.payer: r for r in payer_positions(pack.at(date(2022, 7, 1)), person, out[0].ytd_after, date(2022, 7, 1)).payers}
    assert (rows["maf_pay"].cap, rows["maf_pay"].remaining) == (5_000 * YUAN, 4_000 * YUAN)


def test_tilted_terms_per_category_with_the_blocks_as_default() -> None:
    pack = _pack(
        tilted_assistance={
            "lines": ["inpatient"],
            "categories": {"tekun": {"threshold": _a(1000), "ratio": _a(50), "cap": _a(300)}, "dibao": {}},
            "threshold": _a(2000),
            "ratio": _a(20),
            "cap": _a(10_000),
        }
    )
    day = date(2022, 4, 1)
    tekun = Person("P1", identities=(IdentityPeriod("tekun", date(2020, 1, 1)),))
    dibao = Person("P1", identities=(IdentityPeriod("dibao", date(2020, 1, 1)),))
    # basic 3,000 of 6,000; left 3,000.  特困: (3,000 - 1,000) x 50% = 1,000, own cap 300 -> 300
    assert _pays(_settle(pack, tekun, [_claim("A", day, 6_000)]), "oth_pay") == [300 * YUAN]
    # 低保 on the block's terms: (3,000 - 2,000) x 20% = 200
    assert _pays(_settle(pack, dibao, [_claim("A", day, 6_000)]), "oth_pay") == [200 * YUAN]


def test_major_disease_terms_and_one_yearly_total_across_both_kinds_of_claim() -> None:
    pack = _pack(
        assistance={
            "lines": ["inpatient"],
            "major_diseases": ["C50"],
            "categories": {
                "tekun": {
                    "deductible": _a(1000),
                    "ratio": _a(50),
                    "limit": _a(2000),
                    "major": {"deductible": _a(0), "ratio": _a(80), "limit": _a(10_000)},
                }
            },
        }
    )
    person = Person("P1", identities=(IdentityPeriod("tekun", date(2020, 1, 1)),))
    claims = [
        _claim("A", date(2022, 2, 1), 10_000),  # left 5,000; (5,000 - 1,000) x 50% = 2,000, limit 2,000 -> 2,000
        _claim("B", date(2022, 3, 1), 10_000, "C50.9"),  # major: 5,000 x 80% = 4,000, limit 10,000 - 2,000 -> 4,000
        _claim("C", date(2022, 4, 1), 2_000),  # ordinary: 1,000 x 50% = 500, but 6,000 paid passes the 2,000 limit -> 0
    ]
    out = _settle(pack, person, claims)
    assert _pays(out, "maf_pay") == [2_000 * YUAN, 4_000 * YUAN, 0]
    assert any(step.key == "major" for step in out[1].trace)
    assert not any(step.key == "major" for step in out[0].trace)


def test_a_claim_flagged_major_takes_the_major_terms_without_a_listed_disease() -> None:
    """重特大疾病 by the claim's flag (``major_dise_flag``): the same major terms as a listed disease, in both tiers;
    a block with no ``major_diseases`` is selected by the flag alone."""
    pack = _pack(
        assistance={
            "lines": ["inpatient"],
            "categories": {"tekun": {"deductible": _a(0), "ratio": _a(50), "limit": _a(10_000),
                                     "major": {"ratio": _a(80)}}},
        },
        tilted_assistance={
            "lines": ["inpatient"], "major_diseases": ["C50"], "threshold": _a(0), "ratio": _a(10), "cap": _a(10_000),
            "categories": {"tekun": {"major": {"ratio": _a(50)}}},
        },
    )  # fmt: skip
    person = Person("P1", identities=(IdentityPeriod("tekun", date(2020, 1, 1)),))
    plain = _claim("A", date(2022, 2, 1), 10_000)
    flagged = Claim("B", "P1", date(2022, 3, 1), "21", 2, dise_codg="J06", summary=plain.summary, major_dise_flag=True)
    out = _settle(pack, person, [plain, flagged])
    # basic pays 5,000 of 10,000.  A (ordinary): assistance 5,000 x 50% = 2,500; tilted (5,000 - 2,500) x 10% = 250.
    # B (flagged): assistance 5,000 x 80% = 4,000; tilted (5,000 - 4,000) x 50% = 500
    assert _pays(out, "maf_pay") == [2_500 * YUAN, 4_000 * YUAN]
    assert _pays(out, "oth_pay") == [250 * YUAN, 500 * YUAN]
    assert [s.key for s in out[1].trace if s.key.startswith("major")] == ["major_flag", "major_flag"]
    assert not any(s.key.startswith("major") for s in out[0].trace)
    zh = [text for _, text in render(out[1].trace, "zh")]
    en = [text for _, text in render(out[1].trace, "en")]
    assert "结算标记为重特大疾病，按该类别重特大疾病救助标准" in zh
    assert "flagged as a major disease (major_dise_flag): the category's major-disease terms apply" in en
    # the position shows the major limit of the flag-only block beside the ordinary one (the same here: one row)
    rows = payer_positions(pack.at(date(2022, 3, 1)), person, out[-1].ytd_after, date(2022, 3, 1)).payers
    assert [(r.payer, r.major) for r in rows if r.payer in ("maf_pay", "oth_pay")] == [("maf_pay", False), ("oth_pay", False)]


# ---- 4. the base: policy-range or in-catalogue self-pay --------------------------------------------------------


def test_in_catalogue_base_adds_the_self_pay_first_part_and_earlier_payments_count_against_policy_range_first() -> None:
    pack = _pack(
        critical_illness={
            "lines": ["inpatient"],
            "deductible": _a(1000),
            "band_basis": "gross",
            "bands": _a([{"start": 0, "ratio": 50}]),
            "base": "in_catalogue",
        },
        assistance={
            "lines": ["inpatient"],
            "categories": {"tekun": {"deductible": _a(0), "ratio": _a(100)}},
            "limit": _a(100_000),
        },
        tilted_assistance={
            "lines": ["inpatient"],
            "categories": ["tekun"],
            "threshold": _a(0),
            "ratio": _a(100),
            "cap": _a(100_000),
            "base": "in_catalogue",
        },
    )
    person = Person("P1", identities=(IdentityPeriod("tekun", date(2020, 1, 1)),))
    claim = Claim("A", "P1", date(2022, 5, 1), "21", 2, summary=PolicyRangeSummary(780_000, 50_000, 30_000, 100_000, 600_000))
    (s,) = _settle(pack, person, [claim])
    # basic 6,000 x 50% = 3,000; policy-range self-pay left 3,000, self-pay-first 1,000
    # critical illness on 3,000 + 1,000 = 4,000: above its 1,000 deductible 3,000 x 50% = 1,500
    # assistance on policy-range self-pay: 3,000 - 1,500 = 1,500 x 100% = 1,500
    # tilted on in-catalogue self-pay: 3,000 + 1,000 - 1,500 - 1,500 = 1,000 x 100% = 1,000
    assert (s.hifp_pay, s.hifmi_pay, s.maf_pay, s.oth_pay) == (300_000, 150_000, 150_000, 100_000)
    assert s.psn_part_amt == 80_000  # fully self-paid 500 and over-limit 300 stay with the patient
    assert (s.ytd_after.ci_base, s.ytd_after.maf_base, s.ytd_after.tilt_base) == (400_000, 150_000, 100_000)
    zh = [text for _, text in render(s.trace, "zh")]
    assert "计算基数为目录内个人自付：政策范围内个人自付 3,000.00元 + 乙类先行自付 1,000.00元 = 4,000.00元" in zh


def test_policy_range_base_is_unchanged_by_self_pay_first() -> None:
    ci = {"lines": ["inpatient"], "deductible": _a(0), "band_basis": "gross", "bands": _a([{"start": 0, "ratio": 50}])}
    person = Person("P1")
    (s,) = _settle(_pack(critical_illness=ci), person, [_claim("A", date(2022, 5, 1), 6_000, pre_yuan=1_000)])
    assert s.hifmi_pay == 1_500 * YUAN  # (6,000 - 3,000) x 50%; the 1,000 self-pay-first is not in the base


# ---- 7. two critical-illness blocks -----------------------------------------------------------------------------


def test_residents_and_employees_each_paid_by_their_own_critical_illness_block() -> None:
    pack = _pack(
        critical_illness={
            "insutypes": ["390"],
            "lines": ["inpatient"],
            "deductible": _a(1000),
            "band_basis": "gross",
            "bands": _a([{"start": 0, "ratio": 50}]),
        },
        large_amount={
            "insutypes": ["310"],
            "lines": ["emp_inpatient"],
            "deductible": _a(0),
            "band_basis": "gross",
            "bands": _a([{"start": 0, "ratio": 90}]),
            "cap": _a(500),
        },
    )
    day = date(2022, 6, 1)
    (res,) = _settle(pack, Person("P1"), [_claim("R", day, 10_000)])
    emp = Person("P1", insutype="310", emp_status="in_service", emp_tier="unit")
    (e,) = _settle(pack, emp, [_claim("E", day, 10_000)])
    assert res.hifmi_pay == 2_000 * YUAN  # (5,000 - 1,000) x 50%
    assert e.hifmi_pay == 500 * YUAN  # 5,000 x 90% = 4,500, the 大额 cap 500
    assert [d.fund_pay_type for d in res.setldetail] == ["390100", "390200"]
    assert [d.fund_pay_type for d in e.setldetail] == ["310100", "310200"]
    assert render([st for st in e.trace if st.key == "block"], "zh") == [("大病保险", "按职工大额医疗费用补助结算")]
    assert render([st for st in res.trace if st.key == "block"], "en") == [
        ("critical illness", "paid by the critical illness insurance block")
    ]


# ---- a pack using them wrongly is refused, naming the key ----------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "key", "words"),
    [
        (
            {"assistance": {"lines": ["inpatient"], "categories": {"tekun": {"deductible": _a(0), "ratio": _a(50)}}}},
            "policy.assistance",
            "categories.tekun has no limit",
        ),
        (
            {
                "assistance": {
                    "lines": ["inpatient"],
                    "limit": _a(1),
                    "major_diseases": ["C50"],
                    "categories": {"tekun": {"deductible": _a(0), "ratio": _a(50)}},
                }
            },
            "policy.assistance",
            "no category has major terms",
        ),
        (
            {"tilted_assistance": {"lines": ["inpatient"], "categories": ["tekun"], "ratio": _a(5), "cap": _a(1)}},
            "policy.tilted_assistance",
            "has no threshold",
        ),
        (
            {
                "critical_illness": {
                    "insutypes": ["390", "310"],
                    "lines": ["inpatient"],
                    "deductible": _a(0),
                    "band_basis": "gross",
                    "bands": _a([{"start": 0, "ratio": 50}]),
                },
                "large_amount": {
                    "insutypes": ["310"],
                    "lines": ["emp_inpatient"],
                    "deductible": _a(0),
                    "band_basis": "gross",
                    "bands": _a([{"start": 0, "ratio": 50}]),
                },
            },
            "policy",
            "large_amount.insutypes ['310'] are served by critical_illness too",
        ),
        (
            {"assistance": {"lines": ["inpatient"], "limit": _a(1), "base": "catalogue", "categories": {}}},
            "policy.assistance.base",
            "in_catalogue",
        ),
    ],
)
def test_wrong_use_is_refused_naming_the_key(blocks: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(InputErrors) as info:
        _pack(**blocks)
    assert any(e.field == key and words in e.expected for e in info.value.errors), info.value.errors


# ---- 10 (part). an assistance deductible given as a share of the per-capita disposable income ---------------


def test_deductible_as_a_share_of_per_capita_income_rounded_half_up() -> None:
    pack = _pack(
        assistance={
            "lines": ["inpatient"],
            "per_capita_income": _a("18765.43"),
            "limit": _a(100_000),
            "categories": {"tekun": {"deductible_income_share": _a(10), "ratio": _a(50)}},
        }
    )
    person = Person("P1", identities=(IdentityPeriod("tekun", date(2020, 1, 1)),))
    (s,) = _settle(pack, person, [_claim("A", date(2022, 5, 1), 10_000)])
    # deductible 18,765.43 x 10% = 1,876.543 -> 1,876.54; left after basic 5,000: (5,000 - 1,876.54) x 50% = 1,561.73
    assert s.maf_pay == 156_173
    en = [text for tier, text in render(s.trace, "en") if tier == "medical assistance"]
    assert "deductible 10% of the per-capita disposable income 18,765.43: 1,876.54" in en


def test_income_share_without_income_is_refused() -> None:
    with pytest.raises(InputErrors) as info:
        _pack(
            assistance={
                "lines": ["inpatient"],
                "limit": _a(1),
                "categories": {"tekun": {"deductible_income_share": _a(10), "ratio": _a(50)}},
            }
        )
    assert any("needs per_capita_income" in e.expected for e in info.value.errors)


# ---- 10 (part). an identity valid for a stated period from recognition ----------------------------------------


def test_identity_holds_the_stated_months_from_recognition_then_the_next_category_decides() -> None:
    pack = _pack(
        identity_validity={"tekun": _a(1)},
        assistance={
            "lines": ["inpatient"],
            "categories": {
                "tekun": {"deductible": _a(0), "ratio": _a(100), "limit": _a(100_000)},
                "dibao": {"deductible": _a(0), "ratio": _a(10), "limit": _a(100_000)},
            },
        },
    )
    # recognised 31 January for one month: holds through 27 February (28 February is one month on, the
    # day of the month clamped to February's last day), whatever the registry's open end says
    person = Person("P1", identities=(IdentityPeriod("tekun", date(2022, 1, 31)), IdentityPeriod("dibao", date(2021, 1, 1))))
    out = _settle(pack, person, [_claim("A", date(2022, 2, 27), 2_000), _claim("B", date(2022, 2, 28), 2_000)])
    assert [s.identity for s in out] == ["tekun", "dibao"]
    assert _pays(out, "maf_pay") == [1_000 * YUAN, 100 * YUAN]  # left 1,000 each: 100% as 特困, 10% as 低保
    policy = pack.at(date(2022, 3, 1))
    assert policy.identity_end("tekun", date(2020, 2, 29), None) == date(2020, 3, 28)
    assert policy.identity_end("tekun", date(2022, 3, 15), date(2022, 3, 20)) == date(2022, 3, 20)
    assert payer_positions(policy, person, out[-1].ytd_after, date(2022, 2, 28)).identity == "dibao"


@pytest.mark.parametrize(("months", "words"), [(0, "from 1 to 600"), ("12.5", "whole number")])
def test_identity_validity_must_be_whole_months(months: object, words: str) -> None:
    with pytest.raises(InputErrors) as info:
        _pack(identity_validity={"tekun": _a(months)})
    assert any(e.field.startswith("policy.identity_validity.tekun") and words in e.expected for e in info.value.errors)


def test_policy_page_names_every_new_parameter_in_chinese() -> None:
    from yibao.entrypoints.web.policy_view import parameters

    ci = {"deductible": _a(0), "band_basis": "gross", "bands": _a([{"start": 0, "ratio": 50}])}
    pack = _pack(
        identity_validity={"tekun": _a(12)},
        critical_illness={"lines": ["inpatient"], **ci},
        large_amount={"insutypes": ["310"], "lines": ["emp_inpatient"], **ci},
        assistance={
            "lines": ["inpatient"],
            "per_capita_income": _a(20_000),
            "major_diseases": ["C50"],
            "categories": {
                "tekun": {
                    "deductible_income_share": _a(10),
                    "ratio": _a(50),
                    "limit": _a(1000),
                    "major": {"deductible_income_share": _a(5), "ratio": _a(80), "limit": _a(5000)},
                }
            },
        },
        tilted_assistance={
            "lines": ["inpatient"],
            "major_diseases": ["C50"],
            "categories": {"tekun": {"threshold": _a(1), "ratio": _a(2), "cap": _a(3), "major": {"cap": _a(4)}}},
        },
    )
    rows = {r.path: r.label for r in parameters(pack, None, "zh")}
    assert rows["identity_validity.tekun"] == "身份认定有效期（月） · 特困人员"
    assert rows["large_amount.bands"] == "职工大额医疗费用补助 · 分段比例"
    assert rows["assistance.categories.tekun.major.deductible_income_share"] == (
        "医疗救助 · 身份类别 · 特困人员 · 重特大疾病 · 起付线占人均可支配收入比例"
    )
    assert rows["tilted_assistance.categories.tekun.major.cap"] == "倾斜救助 · 身份类别 · 特困人员 · 重特大疾病 · 封顶线"
    assert not [label for label in rows.values() if any("a" <= ch <= "z" for ch in label)]


def test_the_categories_of_illness_driven_poverty_can_be_ranked_and_assisted() -> None:
    from yibao.core.identities import normalise_category

    assert normalise_category("因病致贫重病患者") == "yinbing"
    assert normalise_category("刚性支出困难家庭") == normalise_category("支出型困难家庭") == "gangxing"
    lines = {"inpatient": {"label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"], "ratio": _a(50)}}
    policy = {
        "identity_priority": ["因病致贫重病患者", "刚性支出困难家庭"],
        "identity_validity": {"因病致贫重病患者": _a(12)},
        "fee": {"class_b_selfpay_first": _a(0)},
        "lines": lines,
        "assistance": {
            "lines": ["inpatient"],
            "limit": _a(100_000),
            "categories": {"yinbing": {"deductible": _a(0), "ratio": _a(70)}, "gangxing": {"deductible": _a(0), "ratio": _a(60)}},
        },
    }
    raw = {"pack": "t", "valid_from": "2022-01-01", "valid_to": "2023-12-31", "policy": policy}
    pack = pack_from_mapping(raw, "t.yaml")
    person = Person("P1", identities=(IdentityPeriod("yinbing", date(2022, 3, 1)), IdentityPeriod("gangxing", date(2022, 1, 1))))
    # recognised 1 March 2022 for 12 months: 因病致贫 through 28 February 2023, then 刚性支出 decides
    claims = [_claim("A", date(2023, 2, 28), 2_000), _claim("B", date(2023, 3, 1), 2_000)]
    out = _settle(pack, person, claims)
    assert [s.identity for s in out] == ["yinbing", "gangxing"]
    assert _pays(out, "maf_pay") == [700 * YUAN, 600 * YUAN]  # left 1,000 each at 70% / 60%
    assert render([out[0].trace[0]], "zh") == [("待遇类别", "待遇类别：住院（医疗类别 21），身份：因病致贫重病患者")]


# ---- 10 (part). assistance on application over a look-back window of earlier bills ---------------------------


def test_assistance_on_application_sums_the_window_once_above_an_income_share() -> None:
    from yibao.settlement.application import assist_on_application, window_from

    pack = _pack(
        assistance={
            "lines": ["inpatient"],
            "limit": _a(100_000),
            "per_capita_income": _a(20_000),
            "categories": {"tekun": {"deductible": _a(0), "ratio": _a(50)}},
            "on_application": {
                "categories": ["ordinary", "dibao"],
                "window_months": _a(6),
                "deductible_income_share": _a(10),
                "ratio": _a(60),
                "limit": _a(3000),
            },
        }
    )
    policy = pack.at(date(2022, 9, 30))
    person = Person("P1")  # ordinary: no assistance at the counter
    claims = [
        _claim("A", date(2022, 3, 30), 4_000),  # before the window: it starts the day after 30 March (6 months back)
        _claim("B", date(2022, 3, 31), 6_000),  # self-pay left 3,000
        _claim("C", date(2022, 9, 30), 4_000),  # self-pay left 2,000
    ]
    out = _settle(pack, person, claims)
    assert window_from(date(2022, 9, 30), 6) == date(2022, 3, 31)
    first = assist_on_application(policy, person, out, date(2022, 9, 30))
    # 3,000 + 2,000 = 5,000; above 10% of 20,000 = 2,000: 3,000 x 60% = 1,800 (limit 3,000)
    assert (first.claims, first.base, first.pay) == (("B", "C"), 500_000, 180_000)
    # a later application counts no bill twice: only D, 1,500 left, below the 2,000 deductible
    more = [*out, *_settle(pack, person, [_claim("D", date(2022, 10, 10), 3_000)])]
    again = assist_on_application(policy, person, more, date(2022, 10, 20), [first])
    assert (again.claims, again.base, again.pay) == (("D",), 150_000, 0)
    zh = [text for _, text in render(first.trace, "zh")]
    assert zh[0] == (
        "依申请救助：身份 普通参保居民，2022-03-31 至 2022-09-30 结算 2 笔，未计入此前申请的政策范围内个人自付合计 5,000.00元"
    )
    tekun = Person("P1", identities=(IdentityPeriod("tekun", date(2020, 1, 1)),))
    assert assist_on_application(policy, tekun, out, date(2022, 9, 30)).pay == 0  # 特困 may not apply here


def test_the_major_flag_read_from_a_claims_file_and_a_batch_table(tmp_path: Any) -> None:
    import polars as pl

    from yibao.interfaces.claim_csv import read_claims, read_people

    (tmp_path / "people.csv").write_text("psn_no,identities\nP1,tekun:2020-01-01\n", encoding="utf-8")
    (tmp_path / "claims.csv").write_text(
        "claim_id,psn_no,setl_date,med_type,hosp_lv,dise_codg,medfee_sumamt,major_dise_flag\n"
        "A,P1,2022-02-01,21,2,J06,10000,\nB,P1,2022-03-01,21,2,J06,10000,1\nC,P1,2022-04-01,21,2,J06,10000,是\n",
        encoding="utf-8",
    )
    people = read_people(tmp_path / "people.csv")
    claims = read_claims(tmp_path / "claims.csv", people)
    assert [c.major_dise_flag for c in claims] == [False, True, True]
    (tmp_path / "claims.csv").write_text(
        "claim_id,psn_no,setl_date,med_type,hosp_lv,medfee_sumamt,major_dise_flag\nA,P1,2022-02-01,21,2,10000,maybe\n",
        encoding="utf-8",
    )
    with pytest.raises(InputErrors) as info:
        read_claims(tmp_path / "claims.csv", people)
    (err,) = info.value.errors
    assert (err.where, err.field, err.value) == ("claims.csv row 2", "major_dise_flag", "maybe")
    # the batch engine's claims table: a text column of 1/0 (empty: not flagged), anything else refused by claim
    pack = _pack(
        assistance={"lines": ["inpatient"], "categories": {"tekun": {"deductible": _a(0), "ratio": _a(50),
                                                                      "limit": _a(10_000), "major": {"ratio": _a(80)}}}},
    )  # fmt: skip
    data = to_frames(people.values(), [_claim("A", date(2022, 2, 1), 10_000), _claim("B", date(2022, 3, 1), 10_000)])
    data.claims = data.claims.with_columns(major_dise_flag=pl.Series(["", "1"]))
    assert settle_batch(pack, data).claims["maf_pay"].to_list() == [2_500 * YUAN, 4_000 * YUAN]
    data.claims = data.claims.with_columns(major_dise_flag=pl.Series(["0", "x"]))
    with pytest.raises(InputErrors) as info:
        settle_batch(pack, data)
    assert [(e.where, e.field, e.value) for e in info.value.errors] == [("claims claim B", "major_dise_flag", "x")]
