from __future__ import annotations

from datetime import date

import pytest

from yibao.core.errors import InputErrors
from yibao.policy import load_pack
from yibao.policy.overlay import apply_overlay, overlay_from_mapping


def test_overlay_without_date_replaces_the_parameter() -> None:
    pack = load_pack("anhui-huaibei-2022")
    ov = overlay_from_mapping({"changes": {"critical_illness.deductible": {"value": 10000, "assumed": "reform"}}}, "r.yaml")
    new = apply_overlay(pack, ov)
    assert new.at(date(2022, 3, 1)).critical_illness.deductible == 1_000_000  # type: ignore[union-attr]
    assert pack.at(date(2022, 3, 1)).critical_illness.deductible == 1_500_000  # type: ignore[union-attr]


def test_overlay_from_a_date_keeps_earlier_values() -> None:
    pack = load_pack("anhui-huaibei-2022")
    ov = overlay_from_mapping(
        {"changes": {"assistance.limit": {"from": "2022-07-01", "value": 60000, "assumed": "from July"}}}, "r.yaml"
    )
    new = apply_overlay(pack, ov)
    assert new.change_dates() == [date(2022, 1, 1), date(2022, 7, 1)]
    assert new.at(date(2022, 6, 30)).assistance.limit == 5_000_000  # type: ignore[union-attr]
    assert new.at(date(2022, 7, 1)).assistance.limit == 6_000_000  # type: ignore[union-attr]


def test_overlay_with_bad_value_names_the_key() -> None:
    pack = load_pack("anhui-huaibei-2022")
    ov = overlay_from_mapping({"changes": {"assistance.limit": {"value": "lots", "assumed": "x"}}}, "r.yaml")
    with pytest.raises(InputErrors) as err:
        apply_overlay(pack, ov)
    assert "assistance.limit" in err.value.errors[0].field and err.value.errors[0].value == "lots"


def test_overlay_number_without_source_is_refused() -> None:
    pack = load_pack("anhui-huaibei-2022")
    ov = overlay_from_mapping({"changes": {"assistance.limit": 60000}}, "r.yaml")
    with pytest.raises(InputErrors) as err:
        apply_overlay(pack, ov)
    assert "source" in err.value.errors[0].expected


def test_a_subsidy_for_a_category_that_is_not_ranked_is_refused() -> None:
    pack = load_pack("anhui-huaibei-2022")
    ov = overlay_from_mapping(
        {"changes": {"premium.subsidies.youfu": {"share": {"value": 100, "assumed": "veterans subsidised in full"}}}}, "r.yaml"
    )
    with pytest.raises(InputErrors) as err:
        apply_overlay(pack, ov)
    assert "premium.subsidies" in err.value.errors[0].expected and "youfu" in err.value.errors[0].expected
