"""A cross-region filing's kind is recorded in the registry (migration 0304) and read for settlement: a long-term
residence filer (异地长期居住备案) settles through the service at the pack's ``cross_long_term`` ratio, a filing of no
stated kind at ``cross_filed``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.accounts import HOSPITAL, seed_accounts
from yibao.app import person_year, settlements
from yibao.app.auth import Principal
from yibao.app.registry import add_cross_filing, person_view, settlement_person
from yibao.app.schemas import ClaimIn
from yibao.core.errors import InputError
from yibao.policy import pack_from_mapping
from yibao.settlement.model import Period
from yibao.store.db import Database
from yibao.store.tables import CrossFiling, Enrolment, Person

CLERK = Principal("clerk", "clerk", None, "经办")


def A(value: object) -> dict[str, object]:
    return {"value": value, "assumed": "test"}


PACK = pack_from_mapping(
    {
        "pack": "cross-kinds",
        "valid_from": "2022-01-01",
        "valid_to": "2022-12-31",
        "policy": {
            "identity_priority": ["tekun"],
            "fee": {"class_b_selfpay_first": A(0)},
            "lines": {
                "inpatient": {
                    "label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"],
                    "deductible_kind": "admission", "deductible": A(500),
                    "ratio": A({"in_county": 50, "out_of_county": 50, "cross_filed": 60, "cross_unfiled": 30,
                                "cross_long_term": 80}),
                },
            },
        },
    },
    "cross-kinds.yaml",
)  # fmt: skip


def _people(db: Database) -> None:
    seed_accounts(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        for psn_no, certno in (("P1", "530902196207040026"), ("P2", "530902196207040042")):
            p = Person(psn_no=psn_no, certno=certno, psn_name="杨桂芳", gend="2", brdy=date(1962, 7, 4),
                       recorded_at=now, recorded_by="seed")  # fmt: skip
            s.add(p)
            s.flush()
            s.add(Enrolment(person_id=p.id, year=2022, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by="seed"))
            add_cross_filing(s, p, date(2022, 1, 1), date(2022, 12, 31), "clerk", kind="long_term" if psn_no == "P1" else "")
        s.commit()


def _hifp(db: Database, psn_no: str) -> int:
    body = ClaimIn.model_validate({"psn_no": psn_no, "setl_date": "2022-05-10", "med_type": "21", "hosp_lv": 2,
                                   "place": "cross_region", "fixmedins_code": HOSPITAL,
                                   "summary": {"medfee_sumamt": 1_000_000}})  # fmt: skip
    with db.unit_of_work() as s:
        done = settlements.settle(s, PACK, body, CLERK, None, mdtrt_id=None)
        s.commit()
        return done.settlement.hifp_pay


def test_a_long_term_filer_settles_at_the_long_term_ratio_through_the_service(db: Database) -> None:
    _people(db)
    with db.unit_of_work() as s:
        p1 = person_year.read(s, "P1", 2022, lock=False)
        assert p1 is not None
        assert p1.core.cross_region_filings == (Period(date(2022, 1, 1), date(2022, 12, 31), "long_term"),)
        assert settlement_person(s, p1.person) == p1.core
        view = person_view(s, p1.person, date(2022, 5, 1), PACK.at(date(2022, 5, 1)))
        assert [f["kind"] for f in view.cross_filings] == ["long_term"]
    # 10,000.00 yuan admission, deductible 500.00: long-term filer (10000 - 500) x 80% = 7,600.00;
    # a filing of no stated kind settles at cross_filed: 9,500.00 x 60% = 5,700.00
    assert _hifp(db, "P1") == 760_000
    assert _hifp(db, "P2") == 570_000


def test_an_unknown_kind_is_refused_and_nothing_recorded(db: Database) -> None:
    _people(db)
    with db.unit_of_work() as s:
        p = s.query(Person).filter_by(psn_no="P2").one()
        with pytest.raises(InputError) as info:
            add_cross_filing(s, p, date(2022, 1, 1), None, "clerk", kind="forever")
        assert (info.value.field, info.value.value) == ("kind", "forever")
        assert s.query(CrossFiling).count() == 2
