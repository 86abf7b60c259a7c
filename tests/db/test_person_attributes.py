"""The registry carries what lines go by (issue 15, features 8 and 11): the birth date (``brdy``, from the ID
number) and the resident contribution tier with its dates; the settlement's one read (:mod:`yibao.app.person_year`)
and :func:`settlement_person` hand both to the core, and the core settles on them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from yibao.app import person_year
from yibao.app.registry import add_family_doctor, add_institution_choice, add_resident_tier, person_view, settlement_person
from yibao.core.errors import InputError
from yibao.policy import load_pack, pack_from_mapping
from yibao.settlement.model import Claim, InstitutionChoice, Period, PolicyRangeSummary, ResidentTierPeriod
from yibao.settlement.settle import settle
from yibao.store.db import Database
from yibao.store.tables import Person

HUAIBEI = load_pack("anhui-huaibei-2022").at(date(2022, 1, 1))
"""A policy for the person view (its identity order; no identity validity)."""


def A(value: object) -> dict[str, object]:
    return {"value": value, "assumed": "test"}


PACK = pack_from_mapping(
    {
        "pack": "tiers",
        "valid_from": "2022-01-01",
        "valid_to": "2023-12-31",
        "policy": {
            "identity_priority": ["tekun"],
            "fee": {"class_b_selfpay_first": A(10)},
            "lines": {
                "inpatient": {
                    "label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"],
                    "deductible_kind": "admission", "deductible": A(300), "ratio": A(60),
                    "person_terms": {
                        "tier_2": {"resident_tier": 2, "ratio": A(70)},
                        "over_60": {"age_from": A(60), "ratio_add": A(5)},
                    },
                },
            },
        },
    },
    "tiers.yaml",
)  # fmt: skip


def _person(db: Database) -> int:
    with db.unit_of_work() as s:
        p = Person(psn_no="P1", certno="530902196207040026", psn_name="杨桂芳", gend="2", brdy=date(1962, 7, 4),
                   recorded_at=datetime.now(UTC), recorded_by="seed")  # fmt: skip
        s.add(p)
        s.commit()
        return p.id


def test_tiers_recorded_with_dates_and_read_for_settlement(db: Database) -> None:
    pid = _person(db)
    with db.unit_of_work() as s:
        p = s.get(Person, pid)
        assert p is not None
        add_resident_tier(s, p, 1, date(2022, 1, 1), None, "clerk")
        add_resident_tier(s, p, 2, date(2023, 1, 1), None, "clerk")  # the 2022 choice ends on 2022-12-31
        s.commit()
    with db.unit_of_work() as s:
        p = s.get(Person, pid)
        assert p is not None
        core = settlement_person(s, p)
        assert core.birth_date == date(1962, 7, 4)
        assert core.resident_tiers == (
            ResidentTierPeriod(1, date(2022, 1, 1), date(2022, 12, 31)),
            ResidentTierPeriod(2, date(2023, 1, 1), None),
        )
        read = person_year.read(s, "530902196207040026", 2023, lock=False)
        assert read is not None and read.core == core
        view = person_view(s, p, date(2023, 6, 1), HUAIBEI)
        assert [(r["tier"], r["begin"], r["end"]) for r in view.resident_tiers] == [
            (1, "2022-01-01", "2022-12-31"),
            (2, "2023-01-01", None),
        ]
    # 2022: 一档, aged 59 on 2022-07-03: (5000 - 300) x 60% = 2,820; 2023-07-04, 二档 and 61: x 75% = 3,525
    c22 = Claim("C1", "P1", date(2022, 7, 3), "21", 1, summary=PolicyRangeSummary(500000))
    c23 = Claim("C2", "P1", date(2023, 7, 4), "21", 1, summary=PolicyRangeSummary(500000))
    assert settle(PACK, core, None, c22).hifp_pay == 282000
    assert settle(PACK, core, None, c23).hifp_pay == 352500


def test_a_tier_other_than_one_or_two_is_refused(db: Database) -> None:
    pid = _person(db)
    with db.unit_of_work() as s:
        p = s.get(Person, pid)
        assert p is not None
        with pytest.raises(InputError) as info:
            add_resident_tier(s, p, 3, date(2022, 1, 1), None, "clerk")
        assert info.value.field == "tier"
        with pytest.raises(InputError) as info:
            add_resident_tier(s, p, 2, date(2022, 6, 1), date(2022, 1, 1), "clerk")
        assert info.value.field == "end"


def test_institutions_and_family_doctor_recorded_and_read_for_settlement(db: Database) -> None:
    pid = _person(db)
    with db.unit_of_work() as s:
        p = s.get(Person, pid)
        assert p is not None
        add_institution_choice(s, p, "H1", "designated", date(2022, 1, 1), None, "clerk")
        add_institution_choice(s, p, "H4", "designated", date(2022, 7, 1), None, "clerk")  # H1 ends on 2022-06-30
        add_institution_choice(s, p, "H3", "signed", date(2022, 2, 1), date(2022, 2, 28), "clerk")
        add_family_doctor(s, p, date(2022, 1, 1), date(2022, 12, 31), "clerk", fixmedins_code="H1")
        with pytest.raises(InputError) as info:
            add_institution_choice(s, p, "H1", "chosen", date(2022, 1, 1), None, "clerk")
        assert info.value.field == "role"
        s.commit()
    with db.unit_of_work() as s:
        p = s.get(Person, pid)
        assert p is not None
        core = settlement_person(s, p)
        assert sorted(core.institutions, key=lambda c: (c.begin, c.fixmedins_code)) == [
            InstitutionChoice("H1", "designated", date(2022, 1, 1), date(2022, 6, 30)),
            InstitutionChoice("H3", "signed", date(2022, 2, 1), date(2022, 2, 28)),
            InstitutionChoice("H4", "designated", date(2022, 7, 1), None),
        ]
        assert core.family_doctor == (Period(date(2022, 1, 1), date(2022, 12, 31)),)
        assert core.institution_class("H1", date(2022, 6, 30)) == "designated"
        assert core.institution_class("H1", date(2022, 7, 1)) == "other"
        read = person_year.read(s, "P1", 2022, lock=False)
        assert read is not None and read.core == core
        view = person_view(s, p, date(2022, 6, 1), HUAIBEI)
        assert [r["role"] for r in view.institutions] == ["designated", "signed", "designated"]
        assert [r["begin"] for r in view.family_doctor] == ["2022-01-01"]
