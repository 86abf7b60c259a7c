"""Issue 15, features 8 and 11: benefit lines and terms by the person's age (from the birth date) and
resident contribution tier (一档/二档). Every expected amount is worked out by hand in the test."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from yibao.core.errors import InputError, InputErrors
from yibao.interfaces.claim_csv import read_people
from yibao.policy import PolicyPack, pack_from_mapping
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.model import (
    ChronicFiling,
    Claim,
    InstitutionChoice,
    Period,
    Person,
    PolicyRangeSummary,
    ResidentTierPeriod,
    YearToDate,
)
from yibao.settlement.settle import settle
from yibao.settlement.trace import render

FILE = "person-terms.yaml"


def A(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test value"}


def line(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "label_zh": "住院",
        "label_en": "inpatient",
        "insutype": "390",
        "med_types": ["21"],
        "deductible_kind": "admission",
        "deductible": A(200),
        "ratio": A(60),
        "cap": A(10000),
    }
    return base | extra


def raw_pack(lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "pack": "person-terms",
        "valid_from": "2022-01-01",
        "valid_to": "2023-12-31",
        "policy": {"identity_priority": ["tekun"], "fee": {"class_b_selfpay_first": A(10)}, "lines": lines},
    }


def pack_of(lines: dict[str, Any]) -> PolicyPack:
    return pack_from_mapping(raw_pack(lines), FILE)


def claim(day: date, scp_yuan: int, cid: str = "C1", psn: str = "P1") -> Claim:
    return Claim(cid, psn, day, "21", 1, summary=PolicyRangeSummary(scp_yuan * 100))


def errors_of(lines: dict[str, Any]) -> list[InputError]:
    with pytest.raises(InputErrors) as info:
        pack_of(lines)
    return info.value.errors


# ---------------------------------------------------------------- age from the birth date


def test_age_in_completed_years_on_the_claim_date() -> None:
    p = Person("P1", birth_date=date(2004, 3, 15))
    assert p.age_on(date(2022, 3, 14)) == 17
    assert p.age_on(date(2022, 3, 15)) == 18  # the birthday itself counts
    leap = Person("P2", birth_date=date(2004, 2, 29))
    assert leap.age_on(date(2022, 2, 28)) == 17
    assert leap.age_on(date(2022, 3, 1)) == 18
    assert Person("P3").age_on(date(2022, 1, 1)) is None
    assert p.age_on(date(2004, 3, 14)) is None  # before birth: no age


def test_a_line_selected_by_age_band() -> None:
    """Children (under 18) on their own line at 80%, everyone else 60%; deductible 200 on both.
    1,000 yuan: child (1000 - 200) x 80% = 640; adult (1000 - 200) x 60% = 480."""
    pack = pack_of({"children": line(age_below=A(18), ratio=A(80)), "adults": line()})
    child = Person("P1", birth_date=date(2004, 3, 15))
    before, on_birthday = claim(date(2022, 3, 14), 1000), claim(date(2022, 3, 15), 1000)
    s = settle(pack, child, None, before)
    assert (s.line, s.hifp_pay) == ("children", 64000)
    s = settle(pack, child, None, on_birthday)
    assert (s.line, s.hifp_pay) == ("adults", 48000)


def test_age_linked_ratio_points_for_people_of_70_and_over() -> None:
    """70% with +5 points from 70: 2,000 yuan, deductible 200 -> 1,800 x 75% = 1,350; at 69: x 70% = 1,260."""
    pack = pack_of({"inpatient": line(ratio=A(70), person_terms={"over_70": {"age_from": A(70), "ratio_add": A(5)}})})
    day = date(2022, 6, 1)
    s = settle(pack, Person("P1", birth_date=date(1952, 6, 1)), None, claim(day, 2000))
    assert s.hifp_pay == 135000
    assert "按参保人条件执行待遇：over_70（年龄 70 岁，缴费档次 未登记档次，就诊于非选定机构，家庭医生未签约）" in [
        text for _, text in render(s.trace, "zh")
    ]
    assert settle(pack, Person("P1", birth_date=date(1952, 6, 2)), None, claim(day, 2000)).hifp_pay == 126000


def test_without_a_birth_date_refused_only_where_the_pack_goes_by_age() -> None:
    by_age = pack_of({"inpatient": line(person_terms={"children": {"age_below": A(18), "ratio_add": A(10)}})})
    with pytest.raises(InputError) as info:
        settle(by_age, Person("P1"), None, claim(date(2022, 6, 1), 1000))
    assert info.value.field == "birth_date" and "inpatient" in info.value.expected
    plain = pack_of({"inpatient": line()})
    assert settle(plain, Person("P1"), None, claim(date(2022, 6, 1), 1000)).hifp_pay == 48000  # (1000 - 200) x 60%
    # the batch engine refuses the same person with the same field
    with pytest.raises(InputErrors) as batch:
        settle_batch(by_age, to_frames([Person("P1")], [claim(date(2022, 6, 1), 1000)]))
    assert [e.field for e in batch.value.errors] == ["birth_date"]


# ---------------------------------------------------------------- resident contribution tier


TIERED = {
    "inpatient": line(
        deductible=A(300),
        person_terms={"tier_2": {"resident_tier": 2, "ratio": A(70), "cap": A(15000)}},
    )
}


def _resident(tier: int | None) -> Person:
    periods = () if tier is None else (ResidentTierPeriod(tier, date(2022, 1, 1), date(2022, 12, 31)),)  # type: ignore[arg-type]
    return Person("P1", resident_tiers=periods)


def test_resident_tier_selects_ratio_and_cap() -> None:
    """5,000 yuan, deductible 300: 二档 (5000 - 300) x 70% = 3,290; 一档 (the line's own) x 60% = 2,820."""
    pack = pack_of(TIERED)
    day = date(2022, 5, 1)
    assert settle(pack, _resident(2), None, claim(day, 5000)).hifp_pay == 329000
    assert settle(pack, _resident(1), None, claim(day, 5000)).hifp_pay == 282000
    assert settle(pack, _resident(None), None, claim(day, 5000)).hifp_pay == 282000  # no tier on record: the line's own
    # 9,000 already paid this year: 一档's cap 10,000 leaves 1,000; 二档's 15,000 leaves 6,000 (all of 3,290)
    ytd = YearToDate(2022, admissions=0, basic_paid={"inpatient": 900000})
    assert settle(pack, _resident(1), ytd, claim(day, 5000)).hifp_pay == 100000
    assert settle(pack, _resident(2), ytd, claim(day, 5000)).hifp_pay == 329000
    # the tier chosen for 2022 does not hold in 2023: the line's own terms
    assert settle(pack, _resident(2), None, claim(date(2023, 5, 1), 5000)).hifp_pay == 282000


def test_resident_tier_in_the_trace_in_both_languages() -> None:
    s = settle(pack_of(TIERED), _resident(2), None, claim(date(2022, 5, 1), 5000))
    zh = " ".join(text for _, text in render(s.trace, "zh"))
    en = " ".join(text for _, text in render(s.trace, "en"))
    assert "tier_2" in zh and "二档" in zh and "tier 2" not in zh
    assert "tier 2" in en and "二档" not in en


def test_entries_apply_in_order_later_replacement_wins_points_add() -> None:
    """二档 ratio 70; over 60 +5 points; 二档 over 60 deductible 100: a 65-year-old 二档 resident with 2,000 yuan
    pays deductible 100 and 75%: (2000 - 100) x 75% = 1,425."""
    terms = {
        "tier_2": {"resident_tier": 2, "ratio": A(70)},
        "over_60": {"age_from": A(60), "ratio_add": A(5)},
        "tier_2_over_60": {"resident_tier": "二档", "age_from": A(60), "deductible": A(100)},
    }
    pack = pack_of({"inpatient": line(person_terms=terms)})
    p = Person("P1", birth_date=date(1957, 1, 1), resident_tiers=(ResidentTierPeriod(2, date(2022, 1, 1)),))
    s = settle(pack, p, None, claim(date(2022, 6, 1), 2000))
    assert (s.act_pay_dedc, s.hifp_pay) == (10000, 142500)
    batch = settle_batch(pack, to_frames([p], [claim(date(2022, 6, 1), 2000)])).claims
    assert batch["hifp_pay"].to_list() == [142500]


def test_overlapping_tier_periods_the_latest_start_decides() -> None:
    p = Person("P1", resident_tiers=(ResidentTierPeriod(2, date(2022, 1, 1)), ResidentTierPeriod(1, date(2022, 7, 1))))
    assert p.resident_tier_on(date(2022, 6, 30)) == 2
    assert p.resident_tier_on(date(2022, 7, 1)) == 1
    pack = pack_of(TIERED)
    claims = [claim(date(2022, 6, 30), 5000, "C1"), claim(date(2022, 7, 1), 5000, "C2")]
    got = settle_batch(pack, to_frames([p], claims)).claims["hifp_pay"].to_list()
    # 二档: (5000 - 300) x 70% = 3,290; then 一档 on the second admission: (5000 - 300) x 60% = 2,820 (cap 10,000: 3,290 paid)
    assert got == [329000, 282000]


# ---------------------------------------------------------------- the pack refuses what it cannot mean


def test_a_terms_entry_without_condition_or_effect_is_refused() -> None:
    errs = errors_of({"inpatient": line(person_terms={"x": {"ratio_add": A(5)}})})
    assert "person_terms.x" in errs[0].field and "needs a condition" in errs[0].expected
    errs = errors_of({"inpatient": line(person_terms={"x": {"age_from": A(70)}})})
    assert "needs an effect" in errs[0].expected


def test_bad_ages_and_tiers_are_refused() -> None:
    errs = errors_of({"inpatient": line(age_from=A(18), age_below=A(6))})
    assert "age_from (18) must be below age_below (6)" in errs[0].expected
    errs = errors_of({"inpatient": line(age_below=A(200))})
    assert errs[0].field.startswith("policy.lines.inpatient.age_below") and "between 0 and 150" in errs[0].expected
    errs = errors_of({"inpatient": line(person_terms={"x": {"resident_tier": 3, "ratio_add": A(5)}})})
    assert "person_terms.x.resident_tier" in errs[0].field


def test_terms_cannot_replace_an_enrolment_tier_cap() -> None:
    emp = line(insutype="310", cap=None, cap_by_tier=A({"unit": 3000, "individual_1": 800, "individual_2": 3000}))
    del emp["cap"]
    emp["person_terms"] = {"old": {"age_from": A(70), "cap": A(5000)}}
    errs = errors_of({"emp": emp})
    assert "person_terms.old.cap cannot replace cap_by_tier" in errs[0].expected


def test_without_a_birth_date_an_age_band_line_cannot_be_passed_over() -> None:
    """Whether the children's line or the adults' line serves depends on the age: unknown, the claim is refused
    rather than settled on the adults' line."""
    pack = pack_of({"children": line(age_below=A(18), ratio=A(80)), "adults": line()})
    with pytest.raises(InputError) as info:
        settle(pack, Person("P1"), None, claim(date(2022, 6, 1), 1000))
    assert info.value.field == "birth_date" and "line children goes by age" in info.value.expected


# ---------------------------------------------------------------- people files


def test_people_csv_carries_birth_date_from_the_id_number_and_tiers(tmp_path: Path) -> None:
    f = tmp_path / "people.csv"
    f.write_text(
        "psn_no,certno,birth_date,resident_tiers\n"
        "P1,53090219620704002X,,一档:2022-01-01:2022-12-31|2:2023-01-01\n"
        "P2,,2010-05-06,\n"
        "P3,53090219620704002X,1962-07-05,\n"
        "P4,,,3:2022-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(InputErrors) as info:
        read_people(f)
    assert [(e.where, e.field) for e in info.value.errors] == [
        ("people.csv row 4", "birth_date"),
        ("people.csv row 5", "resident_tiers"),
    ]
    f.write_text(
        "psn_no,certno,birth_date,resident_tiers\n"
        "P1,53090219620704002X,,一档:2022-01-01:2022-12-31|2:2023-01-01\n"
        "P2,,2010-05-06,\n",
        encoding="utf-8",
    )
    people = read_people(f)
    assert people["P1"].birth_date == date(1962, 7, 4)
    assert people["P1"].resident_tiers == (
        ResidentTierPeriod(1, date(2022, 1, 1), date(2022, 12, 31)),
        ResidentTierPeriod(2, date(2023, 1, 1)),
    )
    assert (people["P2"].birth_date, people["P2"].resident_tiers) == (date(2010, 5, 6), ())


# ---------------------------------------------------------------- a synthetic county: the registry's brdy


def test_synthetic_county_by_age_batch_from_files_equals_settle(tmp_path: Path) -> None:
    """The county's people carry ``brdy``: the scalar core (birth_date) and the batch engine reading the written
    files (people.parquet's brdy column) settle the same fen with inpatient terms for children and over-60s."""
    from collections import defaultdict

    from yibao import synth
    from yibao.policy import load_pack
    from yibao.policy.overlay import apply_overlay, overlay_from_mapping
    from yibao.settlement.batch.io import read_input
    from yibao.settlement.settle import settle_sequence

    terms = {
        "children": {"age_below": A(18), "ratio_add": A(10)},
        "over_60": {"age_from": A(60), "deductible": A({1: 0, 2: 0, 3: 0})},
    }
    pack = apply_overlay(
        load_pack("anhui-huaibei-2022"),
        overlay_from_mapping({"overlay": "ages", "changes": {"lines.inpatient.person_terms": terms}}, "ages"),
    )
    county = synth.generate(300, 2022, 5)
    synth.write(county, tmp_path)
    batch = settle_batch(pack, read_input(tmp_path)).claims
    people, claims = synth.to_people_and_claims(county)
    by_person: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        by_person[c.psn_no].append(c)
    got = {r["claim_id"]: r["hifp_pay"] for r in batch.iter_rows(named=True)}
    compared = terms_used = 0
    for psn, own in by_person.items():
        for s in settle_sequence(pack, people[psn], own):
            assert got[s.claim_id] == s.hifp_pay, s.claim_id
            compared += 1
            terms_used += any(step.key == "person_terms" for step in s.trace)
    assert compared == batch.height and terms_used > 0


# ---------------------------------------------------------------- feature 6: selected and signed institutions


def _outpatient_lines(fallback: str | None = None) -> dict[str, Any]:
    chronic = {
        "label_zh": "门诊慢特病", "label_en": "chronic outpatient", "insutype": "390", "med_types": ["14"],
        "requires_filing": True, "signed_only": True, "ratio": A(80), "cap": A(5000),
    }  # fmt: skip
    if fallback:
        chronic["fallback"] = fallback
    outpatient = {
        "label_zh": "普通门诊", "label_en": "general outpatient", "insutype": "390", "med_types": ["11", "14"],
        "ratio": A(50), "cap": A(300),
        "person_terms": {
            "selected": {"institution": "designated", "ratio_add": A(10)},
            "elsewhere": {"institution": "other", "ratio": A(0)},
            "contracted": {"family_doctor": True, "cap": A(500)},
        },
    }  # fmt: skip
    return {"chronic": chronic, "outpatient": outpatient}


def _chooser(family: bool = False) -> Person:
    choices = (
        InstitutionChoice("H1", "designated", date(2022, 1, 1)),
        InstitutionChoice("H2", "linked", date(2022, 1, 1)),
        InstitutionChoice("H1", "signed", date(2022, 1, 1), date(2022, 1, 31)),
        InstitutionChoice("H3", "signed", date(2022, 2, 1)),  # seed 004: the signed institution changes monthly
    )
    return Person(
        "P1",
        chronic_filings=(ChronicFiling("I10", date(2022, 1, 1)),),
        institutions=choices,
        family_doctor=(Period(date(2022, 1, 1), date(2022, 12, 31)),) if family else (),
    )


def _visit(cid: str, day: date, med: str, code: str, yuan: int) -> Claim:
    return Claim(cid, "P1", day, med, 1, dise_codg="I10", summary=PolicyRangeSummary(yuan * 100), fixmedins_code=code)


def test_general_outpatient_by_the_selected_institution() -> None:
    """200 yuan, no deductible: at the selected H1 50 + 10 = 60% -> 120; at the linked H2 the line's 50% -> 100;
    elsewhere 0%."""
    pack = pack_of(_outpatient_lines())
    day = date(2022, 3, 1)
    paid = [settle(pack, _chooser(), None, _visit(c, day, "11", code, 200)).hifp_pay for c, code in
            (("C1", "H1"), ("C2", "H2"), ("C3", "H9"))]  # fmt: skip
    assert paid == [12000, 10000, 0]
    s = settle(pack, _chooser(), None, _visit("C1", day, "11", "H1", 200))
    zh = [text for _, text in render(s.trace, "zh")]
    assert "按参保人条件执行待遇：selected（年龄 不详，缴费档次 未登记档次，就诊于选定的基层医疗机构，家庭医生未签约）" in zh


def test_a_family_doctor_contract_raises_the_limit() -> None:
    """300 already paid this year: the line's limit 300 leaves nothing; with a contract the limit is 500, leaving
    200, all of 60% x 200 = 120."""
    pack = pack_of(_outpatient_lines())
    ytd = YearToDate(2022, basic_paid={"outpatient": 30000})
    claim_ = _visit("C1", date(2022, 3, 1), "11", "H1", 200)
    assert settle(pack, _chooser(), ytd, claim_).hifp_pay == 0
    assert settle(pack, _chooser(family=True), ytd, claim_).hifp_pay == 12000


def test_chronic_outpatient_only_at_the_signed_institution_of_the_month() -> None:
    """1,000 yuan of chronic outpatient (80%, cap 5,000): in January at H1 (signed) 800; in February H1 is no
    longer signed (H3 is): refused without a fallback, else general outpatient at the selected H1: 60% -> 600."""
    strict = pack_of(_outpatient_lines())
    jan, feb = date(2022, 1, 20), date(2022, 2, 20)
    assert settle(strict, _chooser(), None, _visit("C1", jan, "14", "H1", 1000)).hifp_pay == 80000
    assert settle(strict, _chooser(), None, _visit("C2", feb, "14", "H3", 1000)).hifp_pay == 80000
    with pytest.raises(InputError) as info:
        settle(strict, _chooser(), None, _visit("C3", feb, "14", "H1", 1000))
    assert info.value.field == "fixmedins_code" and "line chronic is paid only there" in info.value.expected
    lenient = pack_of(_outpatient_lines(fallback="outpatient"))
    s = settle(lenient, _chooser(), None, _visit("C3", feb, "14", "H1", 1000))
    assert (s.line, s.hifp_pay) == ("outpatient", 30000)  # 60% of 1,000 = 600, capped by the limit 300
    with pytest.raises(InputErrors) as batch:
        settle_batch(strict, to_frames([_chooser()], [_visit("C3", feb, "14", "H1", 1000)]))
    assert [e.field for e in batch.value.errors] == ["fixmedins_code"]


def test_institutions_in_the_batch_engine_as_in_settle() -> None:
    pack = pack_of(_outpatient_lines(fallback="outpatient"))
    claims = [
        _visit("C1", date(2022, 1, 20), "14", "H1", 1000),  # signed in January: chronic 800
        _visit("C2", date(2022, 2, 20), "11", "H2", 200),  # linked: 50% -> 100
        _visit("C3", date(2022, 2, 21), "11", "H9", 200),  # elsewhere: 0
        _visit("C4", date(2022, 2, 22), "14", "H1", 1000),  # not signed any more: outpatient 60% -> 600, limit 500 - 100
    ]
    got = settle_batch(pack, to_frames([_chooser(family=True)], claims)).claims
    assert got["hifp_pay"].to_list() == [80000, 10000, 0, 40000]
    assert got["line"].to_list() == ["chronic", "outpatient", "outpatient", "outpatient"]


def test_people_csv_carries_institutions_and_family_doctor(tmp_path: Path) -> None:
    f = tmp_path / "people.csv"
    f.write_text(
        "psn_no,institutions,family_doctor\nP1,designated:H1:2022-01-01|signed:H3:2022-02-01:2022-02-28,2022-01-01:2022-12-31\n",
        encoding="utf-8",
    )
    p = read_people(f)["P1"]
    assert p.institutions == (
        InstitutionChoice("H1", "designated", date(2022, 1, 1)),
        InstitutionChoice("H3", "signed", date(2022, 2, 1), date(2022, 2, 28)),
    )
    assert p.family_doctor == (Period(date(2022, 1, 1), date(2022, 12, 31)),)
    f.write_text("psn_no,institutions\nP1,chosen:H1:2022-01-01\n", encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        read_people(f)
    assert [e.field for e in info.value.errors] == ["institutions"]


def test_falling_back_for_a_signed_institution_says_so() -> None:
    pack = pack_of(_outpatient_lines(fallback="outpatient"))
    s = settle(pack, _chooser(), None, _visit("C3", date(2022, 2, 20), "14", "H1", 1000))
    zh = [text for _, text in render(s.trace, "zh")]
    en = [text for _, text in render(s.trace, "en")]
    assert "非本人签约机构就诊，不享受“门诊慢特病”，按“普通门诊”结算" in zh
    assert "not at an institution the person signed for “chronic outpatient”: settled as “general outpatient”" in en
