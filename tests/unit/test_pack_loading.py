"""Policy pack loader: every error names the file, the key, the value and what was expected;
dated values resolve on the right day; a pack refuses days it does not cover."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from yibao.core.errors import InputError, InputErrors
from yibao.policy import PolicyPack, load_pack, pack_from_mapping

FILE = "test-pack.yaml"


def A(value: Any) -> dict[str, Any]:
    """A leaf with an ``assumed`` provenance."""
    return {"value": value, "assumed": "test value"}


def minimal() -> dict[str, Any]:
    """A small valid pack touching every section the errors below break."""
    return {
        "pack": "test",
        "valid_from": "2022-01-01",
        "valid_to": "2022-12-31",
        "policy": {
            "identity_priority": ["tekun", "dibao"],
            "fee": {"class_b_selfpay_first": A(10)},
            "lines": {
                "inpatient": {
                    "label_zh": "住院",
                    "label_en": "inpatient",
                    "insutype": "390",
                    "med_types": ["21"],
                    "deductible_kind": "admission",
                    "deductible": A({1: 200, 2: 500, 3: 1000}),
                    "ratio": A({"in_county": {1: 85, 2: 75, 3: 65}, "out_of_county": 60, "cross_filed": 60, "cross_unfiled": 40}),
                },
            },
            "critical_illness": {
                "lines": ["inpatient"],
                "deductible": A(15000),
                "band_basis": "above_deductible",
                "bands": A([{"start": 0, "ratio": 60}, {"start": 50000, "ratio": 65}]),
            },
            "assistance": {
                "lines": ["inpatient"],
                "categories": {"tekun": {"deductible": A(0), "ratio": A(80)}},
                "limit": A(50000),
            },
        },
    }


def errors_of(raw: dict[str, Any], file: str = FILE) -> list[InputError]:
    with pytest.raises(InputErrors) as info:
        pack_from_mapping(raw, file)
    assert info.value.errors, "InputErrors must carry at least one InputError"
    return info.value.errors


def only_error(raw: dict[str, Any]) -> InputError:
    errs = errors_of(raw)
    assert len(errs) == 1, [str(e) for e in errs]
    return errs[0]


def assert_names_everything(err: InputError, field: str, value_text: str, *expected_words: str) -> None:
    """The rendered message (both languages) carries file, key, value and the expectation."""
    assert err.where.startswith(FILE)
    assert err.field == field
    for lang in ("en", "zh"):
        text = err.render(lang)
        assert FILE in text
        assert field in text
        assert value_text in text
        for word in expected_words:
            assert word in text, (word, text)


def test_minimal_pack_loads():
    pack = pack_from_mapping(minimal(), FILE)
    policy = pack.at(date(2022, 6, 1))
    assert policy.lines["inpatient"].deductible == {1: 20_000, 2: 50_000, 3: 100_000}
    assert policy.lines["inpatient"].ratio["out_of_county"] == {1: 6000, 2: 6000, 3: 6000}
    assert policy.critical_illness is not None
    assert policy.critical_illness.deductible == 1_500_000


# --- provenance --------------------------------------------------------------------------------


def test_number_without_source_is_refused():
    raw = minimal()
    raw["policy"]["fee"]["class_b_selfpay_first"] = 10
    err = only_error(raw)
    assert_names_everything(err, "policy.fee.class_b_selfpay_first", "10", "source", "assumed")


def test_number_inside_a_table_without_source_is_refused():
    raw = minimal()
    raw["policy"]["assistance"]["categories"]["tekun"]["ratio"] = 80
    err = only_error(raw)
    assert_names_everything(err, "policy.assistance.categories.tekun.ratio", "80", "source")


def test_quoted_number_without_source_is_refused():
    raw = minimal()
    raw["policy"]["fee"]["class_b_selfpay_first"] = "10"
    err = only_error(raw)
    assert err.field == "policy.fee.class_b_selfpay_first"


def test_both_source_and_assumed_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = {"value": 15000, "source": "003_b5d4c3d7e49b1282.txt", "assumed": "x"}
    err = only_error(raw)
    assert_names_everything(err, "policy.critical_illness.deductible", "15000", "exactly one of", "source", "assumed")


def test_neither_source_nor_assumed_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = {"value": 15000}
    err = only_error(raw)
    assert_names_everything(err, "policy.critical_illness.deductible", "15000", "exactly one of")


def test_empty_source_text_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = {"value": 15000, "source": "  "}
    err = only_error(raw)
    assert err.field == "policy.critical_illness.deductible.source"
    assert "non-empty" in err.expected


def test_unknown_key_in_a_leaf_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = {"value": 15000, "assumed": "x", "note": "typo for notes"}
    err = only_error(raw)
    assert_names_everything(err, "policy.critical_illness.deductible", "note", "value", "source", "assumed", "from")


# --- unknown keys -------------------------------------------------------------------------------


def test_unknown_key_in_policy_is_refused():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["deductable"] = A(100)  # misspelt
    err = only_error(raw)
    assert err.field.startswith("policy.lines.inpatient.deductable")
    assert FILE in str(err)
    assert "Extra inputs are not permitted" in err.expected


def test_unknown_top_level_key_is_refused():
    raw = minimal()
    raw["valid_until"] = "2022-12-31"
    err = only_error(raw)
    assert err.field == "(top level)"
    assert "valid_until" in str(err)
    assert "valid_to" in err.expected


def test_missing_top_level_key_is_refused():
    raw = minimal()
    del raw["valid_from"]
    err = only_error(raw)
    assert err.field == "valid_from"
    assert FILE in str(err)


# --- bad values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "shown", "word"), [("abc", "'abc'", "yuan"), (1.234, "1.234", "two decimals")])
def test_bad_yuan_value_is_refused(bad, shown, word):
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = A(bad)
    err = only_error(raw)
    assert_names_everything(err, "policy.critical_illness.deductible.value", shown, word)


def test_bad_yuan_value_inside_a_level_table_names_the_level():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["deductible"] = A({1: 200, 2: "5OO", 3: 1000})
    err = only_error(raw)
    assert_names_everything(err, "policy.lines.inpatient.deductible.value.2", "'5OO'", "yuan")


def test_ratio_over_100_percent_is_refused():
    raw = minimal()
    raw["policy"]["assistance"]["categories"]["tekun"]["ratio"] = A(105)
    err = only_error(raw)
    assert_names_everything(err, "policy.assistance.categories.tekun.ratio.value", "105")
    assert "between 0 and 100" in err.expected


def test_ratio_over_100_in_a_place_table_names_place_and_level():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["ratio"] = A(
        {"in_county": {1: 85, 2: 175, 3: 65}, "out_of_county": 60, "cross_filed": 60, "cross_unfiled": 40}
    )
    err = only_error(raw)
    assert_names_everything(err, "policy.lines.inpatient.ratio.value.in_county.2", "175")


def test_ratio_over_100_expectation_is_in_percent():
    raw = minimal()
    raw["policy"]["assistance"]["categories"]["tekun"]["ratio"] = A(105)
    err = only_error(raw)
    assert "10000" not in err.expected


def test_negative_amount_is_refused():
    raw = minimal()
    raw["policy"]["assistance"]["limit"] = A(-1)
    err = only_error(raw)
    assert_names_everything(err, "policy.assistance.limit.value", "-1", "0 yuan or more")


def test_missing_level_in_a_ratio_table_is_refused():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["ratio"] = A(
        {"in_county": {1: 85, 2: 75}, "out_of_county": 60, "cross_filed": 60, "cross_unfiled": 40}
    )
    err = only_error(raw)
    assert err.where == FILE
    assert err.field.startswith("policy.lines.inpatient")
    text = str(err)
    assert "ratio.in_county" in text
    assert "missing [3]" in text


def test_missing_place_in_a_ratio_table_is_refused():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["ratio"] = A({"in_county": 80, "out_of_county": 60, "cross_filed": 60})
    err = only_error(raw)
    assert "cross_unfiled" in str(err)
    assert "missing" in str(err)


def test_unknown_place_in_a_ratio_table_is_refused():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["ratio"] = A(
        {"in_county": 80, "out_of_couty": 60, "out_of_county": 60, "cross_filed": 60, "cross_unfiled": 40}
    )
    err = only_error(raw)
    assert "out_of_couty" in str(err)
    assert "unknown" in str(err)


def test_missing_level_in_a_deductible_table_is_refused():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["deductible"] = A({1: 200, 3: 1000})
    err = only_error(raw)
    assert "deductible" in str(err)
    assert "missing [2]" in str(err)


def test_bands_not_starting_at_zero_are_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["bands"] = A([{"start": 100, "ratio": 60}, {"start": 50000, "ratio": 65}])
    err = only_error(raw)
    assert err.field == "policy.critical_illness"
    assert FILE in str(err)
    assert "first band must start at 0" in err.expected
    assert "100.00 yuan" in err.expected


@pytest.mark.parametrize("starts", [(0, 50000, 50000), (0, 50000, 20000)])
def test_bands_not_rising_are_refused(starts):
    raw = minimal()
    raw["policy"]["critical_illness"]["bands"] = A([{"start": s, "ratio": 60} for s in starts])
    err = only_error(raw)
    assert err.field == "policy.critical_illness"
    assert "rise strictly" in err.expected


def test_basic_ratio_bands_not_starting_at_zero_are_refused():
    raw = minimal()
    raw["policy"]["lines"]["inpatient"]["ratio_bands"] = A([{"start": 10000, "add": 5}])
    err = only_error(raw)
    assert "ratio_bands" in err.expected
    assert "start at 0" in err.expected


def test_unknown_identity_category_in_priority_is_refused():
    raw = minimal()
    raw["policy"]["identity_priority"] = ["tekun", "nobody"]
    err = only_error(raw)
    # a code a pack may declare (``categories``) is checked by the policy, so the error is the policy's
    assert err.field == "policy"
    for words in ("identity_priority", "'nobody'", "unknown identity category", "tekun", "declared in categories"):
        assert words in err.expected


def test_unknown_identity_category_as_assistance_key_is_refused():
    raw = minimal()
    raw["policy"]["assistance"]["categories"]["nobody"] = {"deductible": A(0), "ratio": A(50)}
    err = only_error(raw)
    assert err.field == "policy"
    assert "nobody" in str(err)
    assert "assistance.categories names unknown identity category" in err.expected


def test_a_name_no_code_could_be_is_refused_where_it_stands():
    raw = minimal()
    raw["policy"]["identity_priority"] = ["tekun", "无人"]
    err = only_error(raw)
    assert err.field == "policy.identity_priority.1"
    assert "unknown identity category" in err.expected


def test_chinese_category_names_are_accepted():
    raw = minimal()
    raw["policy"]["identity_priority"] = ["特困人员", "低保"]
    raw["policy"]["assistance"]["categories"] = {"特困": {"deductible": A(0), "ratio": A(80)}}
    policy = pack_from_mapping(raw, FILE).at(date(2022, 1, 1))
    assert policy.identity_priority == ("tekun", "dibao")
    assert policy.assistance is not None
    assert set(policy.assistance.categories) == {"tekun"}


def test_duplicate_category_in_priority_is_refused():
    raw = minimal()
    raw["policy"]["identity_priority"] = ["tekun", "特困"]
    err = only_error(raw)
    assert "twice" in err.expected


def test_unknown_line_in_critical_illness_lines_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["lines"] = ["inpatient", "dental"]
    err = only_error(raw)
    assert err.where == FILE
    text = str(err)
    assert "critical_illness.lines" in text
    assert "dental" in text
    assert "inpatient" in text  # says which lines are known


def test_unknown_fallback_line_is_refused():
    raw = minimal()
    raw["policy"]["lines"]["chronic"] = {
        "label_zh": "慢特病",
        "label_en": "chronic",
        "insutype": "390",
        "med_types": ["14"],
        "requires_filing": True,
        "fallback": "outpatient",
        "ratio": A(70),
    }
    err = only_error(raw)
    assert "fallback" in err.expected
    assert "outpatient" in err.expected


# --- dates ---------------------------------------------------------------------------------------


def test_dated_values_not_rising_are_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = [
        {"from": "2022-07-01", "value": 15000, "assumed": "x"},
        {"from": "2022-01-01", "value": 14000, "assumed": "x"},
    ]
    err = only_error(raw)
    assert_names_everything(err, "policy.critical_illness.deductible", "2022-07-01", "rising")


def test_dated_values_on_the_same_day_are_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = [
        {"from": "2022-01-01", "value": 15000, "assumed": "x"},
        {"from": "2022-01-01", "value": 14000, "assumed": "x"},
    ]
    err = only_error(raw)
    assert "rising strictly" in err.expected


def test_bad_date_in_a_dated_value_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = [{"from": "2022-13-01", "value": 15000, "assumed": "x"}]
    err = only_error(raw)
    assert err.field == "policy.critical_illness.deductible.from"
    assert "YYYY-MM-DD" in err.expected


def dated_pack() -> PolicyPack:
    raw = minimal()
    raw["valid_to"] = "2023-12-31"
    raw["policy"]["critical_illness"]["deductible"] = [
        {"from": "2022-01-01", "value": 15000, "source": "003_b5d4c3d7e49b1282.txt"},
        {"from": "2023-01-01", "value": 16000, "assumed": "illustrative 2023 rise"},
    ]
    raw["policy"]["assistance"]["limit"] = [
        {"from": "2022-01-01", "value": 50000, "source": "003_b5d4c3d7e49b1282.txt"},
        {"from": "2022-07-01", "value": 60000, "assumed": "mid-year rise"},
    ]
    return pack_from_mapping(raw, FILE)


def test_dated_values_resolve_on_the_day():
    pack = dated_pack()

    def ci_ded(day: date) -> int:
        ci = pack.at(day).critical_illness
        assert ci is not None
        return ci.deductible

    def limit(day: date) -> int:
        ma = pack.at(day).assistance
        assert ma is not None
        return ma.limit

    assert ci_ded(date(2022, 1, 1)) == 1_500_000  # 15000.00 yuan
    assert ci_ded(date(2022, 12, 31)) == 1_500_000
    assert ci_ded(date(2023, 1, 1)) == 1_600_000  # 16000.00 yuan
    assert ci_ded(date(2023, 12, 31)) == 1_600_000
    assert limit(date(2022, 6, 30)) == 5_000_000
    assert limit(date(2022, 7, 1)) == 6_000_000
    assert limit(date(2023, 3, 1)) == 6_000_000
    assert pack.change_dates() == [date(2022, 1, 1), date(2022, 7, 1), date(2023, 1, 1)]
    prov = pack.provenance(("critical_illness", "deductible"), date(2022, 5, 1))
    assert prov is not None
    assert prov.provenance == "003_b5d4c3d7e49b1282.txt"
    prov = pack.provenance(("critical_illness", "deductible"), date(2023, 5, 1))
    assert prov is not None
    assert prov.provenance == "assumed: illustrative 2023 rise"


def test_dated_value_invalid_only_later_is_refused_at_load():
    raw = minimal()
    raw["valid_to"] = "2023-12-31"
    raw["policy"]["assistance"]["categories"]["tekun"]["ratio"] = [
        {"from": "2022-01-01", "value": 80, "assumed": "x"},
        {"from": "2023-01-01", "value": 180, "assumed": "typo"},
    ]
    err = only_error(raw)
    assert err.field == "policy.assistance.categories.tekun.ratio[from 2023-01-01].value"
    assert "180" in str(err)
    assert "2023-01-01" in err.expected


def test_value_starting_after_valid_from_leaves_a_gap_and_is_refused():
    raw = minimal()
    raw["policy"]["critical_illness"]["deductible"] = [{"from": "2022-07-01", "value": 15000, "assumed": "x"}]
    errs = errors_of(raw)
    assert any("critical_illness.deductible" in e.field and "2022-01-01" in e.expected for e in errs)


def test_date_outside_the_pack_is_refused():
    pack = dated_pack()
    for day in (date(2021, 12, 31), date(2024, 1, 1)):
        with pytest.raises(InputError) as info:
            pack.at(day)
        assert info.value.field == "date"
        assert info.value.value == day.isoformat()
        assert "2022-01-01" in info.value.expected
        assert "2023-12-31" in info.value.expected
    assert pack.covers(date(2022, 1, 1))
    assert pack.covers(date(2023, 12, 31))
    assert not pack.covers(date(2024, 1, 1))


def test_open_ended_pack_covers_later_days():
    raw = minimal()
    del raw["valid_to"]
    pack = pack_from_mapping(raw, FILE)
    assert pack.at(date(2030, 1, 1)) is pack.at(date(2022, 1, 1))
    with pytest.raises(InputError):
        pack.at(date(2021, 12, 31))


def test_valid_to_before_valid_from_is_refused():
    raw = minimal()
    raw["valid_to"] = "2021-12-31"
    err = only_error(raw)
    assert err.field == "valid_to"


# --- files ----------------------------------------------------------------------------------------


def test_yaml_file_errors_name_the_file(tmp_path):
    path = tmp_path / "my-region-2024.yaml"
    path.write_text(
        "pack: x\nvalid_from: 2024-01-01\npolicy:\n  identity_priority: []\n  fee:\n    class_b_selfpay_first: 10\n  lines: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputErrors) as info:
        load_pack(path)
    err = info.value.errors[0]
    assert err.where == "my-region-2024.yaml"
    assert "my-region-2024.yaml" in info.value.render("zh")
    assert err.field == "policy.fee.class_b_selfpay_first"


def test_malformed_yaml_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("pack: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        load_pack(path)
    assert info.value.errors[0].where == "broken.yaml"
    assert info.value.errors[0].field == "(YAML)"


def test_unknown_pack_name_is_refused():
    with pytest.raises(InputErrors) as info:
        load_pack("atlantis-2022")
    assert "anhui-huaibei-2022" in info.value.errors[0].expected


def test_shipped_anhui_pack_carries_the_seed_numbers():
    pack = load_pack("anhui-huaibei-2022")
    p = pack.at(date(2022, 6, 1))
    assert p.critical_illness is not None and p.critical_illness.tilt is not None
    tilt = p.critical_illness.tilt
    assert set(tilt.categories) == {"tekun", "dibao", "fanpin"}
    assert tilt.deductible_pct == 5000  # 起付线降低50%
    assert tilt.ratio_add == 500  # 报销比例提高5个百分点
    assert tilt.no_cap is True  # 全面取消封顶线
    assert p.assistance is not None
    cats = {k: (v.deductible, v.ratio) for k, v in p.assistance.categories.items()}
    assert cats == {"tekun": (0, 8000), "dibao": (0, 7500), "fanpin": (150_000, 7000), "jiance": (300_000, 6000)}
    assert p.assistance.limit == 5_000_000
    assert p.premium is not None
    assert (p.premium.individual, p.premium.fiscal) == (32_000, 58_000)
    prov = pack.provenance(("assistance", "categories", "fanpin", "deductible"), date(2022, 6, 1))
    assert prov is not None and prov.source is not None and "003_b5d4c3d7e49b1282.txt" in prov.source
    with pytest.raises(InputError):
        pack.at(date(2023, 1, 1))


def test_pack_from_mapping_does_not_change_its_input():
    raw = minimal()
    before = copy.deepcopy(raw)
    pack_from_mapping(raw, FILE)
    assert raw == before


def test_confirmed_identity_the_pack_does_not_rank_is_refused():
    raw = minimal()
    rule = {
        "label_zh": "预警", "label_en": "warning", "categories": ["tekun"], "lines": ["inpatient"],
        "measure": "policy_range_self_pay", "threshold": A(7000), "confirmed_identity": "jiance",
    }  # fmt: skip
    raw["policy"]["monitoring"] = {"rules": {"w": rule}}
    err = only_error(raw)
    assert "confirmed_identity" in err.render("en") and "jiance" in err.render("en") and "identity_priority" in err.render("en")
    raw["policy"]["identity_priority"] = ["tekun", "dibao", "jiance"]
    policy = pack_from_mapping(raw, FILE).at(date(2022, 6, 1))
    assert policy.monitoring is not None and policy.monitoring.rules["w"].confirmed_identity == "jiance"
