"""The pack's disease lists for 门诊慢特病 filings (``filing_diseases``): validated when the pack loads, every refusal
naming the key and what was wrong; a line's ``filing_list`` settles a filed disease of its list; the shipped packs'
lists are ICD-10 codes with both names and cover every disease the synthetic county files."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from tests.unit.test_pack_loading import FILE, A, errors_of, minimal

from yibao.app.filings import catalogue_text, listed_disease
from yibao.core.errors import InputError
from yibao.policy import load_pack, pack_from_mapping
from yibao.policy.pack import shipped_packs
from yibao.synth.filings import CHRONIC_DISEASES

HYPERTENSION = {"code": "I10", "name_zh": "高血压", "name_en": "hypertension"}
CKD = {"code": "N18", "name_zh": "慢性肾脏病", "name_en": "chronic kidney disease"}


def with_lists(chronic: list[dict[str, str]], special: list[dict[str, str]]) -> dict[str, Any]:
    raw = minimal()
    raw["policy"]["filing_diseases"] = {"chronic": A(chronic), "special": A(special)}
    return raw


def message(raw: dict[str, Any]) -> str:
    return " ".join(e.render("en") for e in errors_of(raw))


def test_a_pack_with_two_lists_loads_and_finds_a_disease_by_its_code_or_a_subcode() -> None:
    pack = pack_from_mapping(with_lists([HYPERTENSION], [CKD, {"code": "N18.5", "name_zh": "5期", "name_en": "stage 5"}]), FILE)
    cat = pack.at(date(2022, 6, 1)).filing_diseases
    assert cat is not None
    assert cat.codes("chronic") == ("I10",) and cat.codes("special") == ("N18", "N18.5")
    assert [(k, d.code) for k, d in [cat.find("i10"), cat.find("N18.3"), cat.find("N18.59")] if d] == [
        ("chronic", "I10"),
        ("special", "N18"),
        ("special", "N18.5"),  # the longest listed code the filed one begins with
    ]
    assert cat.find("J06") is None and cat.find("I1") is None


@pytest.mark.parametrize(
    ("chronic", "special", "words"),
    [
        ([HYPERTENSION, HYPERTENSION], [CKD], ["I10 is already listed in chronic[0]"]),
        ([HYPERTENSION], [HYPERTENSION | {"name_zh": "又一个"}], ["I10 is already listed"]),
        ([{"code": "N18", "name_zh": "肾病", "name_en": "kidney"}], [CKD | {"code": "N18.5"}], ["N18", "N18.5", "in doubt"]),
        ([{"code": "hypertension", "name_zh": "高血压", "name_en": "hypertension"}], [], ["ICD-10", "'hypertension'"]),
        ([{"code": "I10", "name_zh": " ", "name_en": "hypertension"}], [], ["name_zh", "I10"]),
        ([{"code": "I10", "name_zh": "高血压"}], [], ["name_en"]),
    ],
)
def test_a_bad_list_is_refused_naming_what_is_wrong(chronic: list[dict[str, str]], special: list[Any], words: list[str]) -> None:
    text = message(with_lists(chronic, special))
    assert "filing_diseases" in text
    for word in words:
        assert word in text, (word, text)


def test_a_line_of_one_list_takes_its_codes_and_needs_a_filing() -> None:
    raw = with_lists([HYPERTENSION], [CKD])
    line = copy.deepcopy(raw["policy"]["lines"]["inpatient"]) | {
        "label_zh": "门诊特殊病",
        "label_en": "special",
        "med_types": ["14"],
    }
    raw["policy"]["lines"] = {"special": line | {"filing_list": "special"}, **raw["policy"]["lines"]}
    policy = pack_from_mapping(raw, FILE).at(date(2022, 6, 1))
    special = policy.lines["special"]
    assert (special.diseases, special.requires_filing) == (("N18",), True)
    assert policy.benefit_line("390", None, "14", "N18.5", True).key == "special"  # type: ignore[union-attr]
    assert policy.benefit_line("390", None, "14", "I10", True) is None  # no line of med_type 14 for a chronic disease
    assert policy.benefit_line("390", None, "14", "N18", False).lacks_filing  # type: ignore[union-attr]
    # a list the pack does not give, or a line that also names its own diseases, is refused
    raw2 = copy.deepcopy(raw)
    raw2["policy"]["filing_diseases"] = {"chronic": A([HYPERTENSION])}
    assert "filing_list names 'special', which filing_diseases does not list" in message(raw2)
    raw3 = copy.deepcopy(raw)
    raw3["policy"]["lines"]["special"]["diseases"] = ["N18"]
    assert "give diseases or filing_list, not both" in message(raw3)


def test_a_filing_names_a_listed_disease_and_the_refusal_gives_the_lists() -> None:
    policy = load_pack("anhui-huaibei-2022").at(date(2022, 6, 1))
    assert listed_disease(policy, " e11.9 ")[0] == "E11.9"
    for bad in ("J06", "XYZ", "", None):
        with pytest.raises(InputError) as info:
            listed_disease(policy, bad)
        assert info.value.field == "dise_codg"
        zh, en = info.value.render("zh"), info.value.render("en")
        assert "门诊慢性病：I10" in zh and "门诊特殊病：N18" in zh
        assert "chronic disease: I10" in en and "special disease: N18" in en
    assert catalogue_text(policy, "en").startswith("chronic disease: I10 E10 E11")


@pytest.mark.parametrize("name", shipped_packs())
def test_every_shipped_pack_lists_both_kinds_with_sources_and_every_disease_the_synthetic_county_files(name: str) -> None:
    pack = load_pack(name)
    for day in pack.change_dates():
        cat = pack.at(day).filing_diseases
        assert cat is not None and cat.chronic and cat.special
        assert {d[0] for d in CHRONIC_DISEASES} <= {d.code for _, d in cat.entries()}
        assert all(d.name_zh and d.name_en for _, d in cat.entries())
    for kind in ("chronic", "special"):
        leaf = pack.provenance(("filing_diseases", kind), pack.valid_from)
        assert leaf is not None and leaf.assumed and "seed" in leaf.assumed  # no seed gives a list: said so
