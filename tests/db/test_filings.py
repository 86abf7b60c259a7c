"""门诊慢特病 filings with the pack's lists, on SQLite and PostgreSQL: a hospital files over the REST API and the national
interface (2503) only as the diagnosing institution, another hospital's filing is refused; an unlisted code, a
back-dated start without a reason and a second change of signed institutions in one month are refused naming the
field and change nothing; the clerk's screening record is kept with the household."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tests.accounts import HOSPITAL, OTHER_HOSPITAL
from tests.db.test_fuzz import _call, _sign_in, snapshot
from tests.db.test_service import CERTNO, PACK, seed
from yibao.app.registry import find_person, settlement_person
from yibao.core.clock import beijing_today
from yibao.entrypoints.http import create_app
from yibao.settlement.model import Claim, PolicyRangeSummary
from yibao.settlement.settle import settle
from yibao.store.db import Database
from yibao.store.tables import ChronicFiling, InstitutionChoice, Person, ScreeningRecord


class Caller:
    def __init__(self, db: Database):
        seed(db)
        self.db, self.app = db, create_app(db, PACK)
        self.tokens = {u: _sign_in(self.app, u) for u in ("clerk", "his", "his2", "auditor")}
        self.sent = 0

    def post(self, user: str, path: str, body: dict[str, Any]) -> Any:
        return _call(self.app, "POST", path, self.tokens[user], json=body)

    def hsa(self, user: str, infno: str, data: dict[str, Any]) -> dict[str, Any]:
        self.sent += 1
        r = _call(
            self.app,
            "POST",
            "/api/hsa",
            self.tokens[user],
            json={"infno": infno, "msgid": f"F{self.sent}", "input": {"data": data}},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def filings(self) -> list[tuple[str, str, str | None, str | None, date, str | None, str]]:
        with self.db.unit_of_work() as s:
            rows = s.execute(
                sa.select(
                    ChronicFiling.dise_codg,
                    ChronicFiling.kind,
                    ChronicFiling.fixmedins_code,
                    ChronicFiling.doctor,
                    ChronicFiling.begin,
                    ChronicFiling.backdate_reason,
                    ChronicFiling.recorded_by,
                ).order_by(ChronicFiling.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_hospital_files_over_the_api_and_2503_as_the_diagnosing_institution_only(db: Database) -> None:
    c = Caller(db)
    today = beijing_today()
    body = {"certno": CERTNO, "dise_codg": "N18", "fixmedins_code": HOSPITAL, "doctor": "张医生", "begin": today.isoformat()}
    # another hospital's filing: refused naming the field, nothing written
    before = snapshot(db)
    other = c.post("his", "/api/institution/chronic-filings", body | {"fixmedins_code": OTHER_HOSPITAL})
    assert other.status_code == 422 and other.json()["field"] == "fixmedins_code", other.text
    assert HOSPITAL in other.json()["message"]
    # an unlisted code: J06 acute upper respiratory infection, and no code at all
    for code in ("J06", "XYZ"):
        bad = c.post("his", "/api/institution/chronic-filings", body | {"dise_codg": code})
        assert bad.status_code == 422 and bad.json()["field"] == "dise_codg", bad.text
        assert "I10" in bad.json()["message"] and "N18" in bad.json()["message"]
    # the registry's route stays the bureau's: a hospital account is refused it, a clerk has no hospital route
    assert c.post("his", "/api/persons/P1/chronic-filings", body).status_code == 403
    assert c.post("clerk", "/api/institution/chronic-filings", body).status_code == 403
    assert c.post("auditor", "/api/persons/P1/chronic-filings", body).status_code == 403
    assert snapshot(db) == before
    ok = c.post("his", "/api/institution/chronic-filings", body)
    assert ok.status_code == 201, ok.text
    assert ok.json() | {"id": 0} == {
        "id": 0,
        "psn_no": "P1",
        "dise_codg": "N18",
        "dise_name": "慢性肾脏病（透析治疗）",
        "kind": "special",
        "fixmedins_code": HOSPITAL,
        "doctor": "张医生",
        "begin": today.isoformat(),
        "backdate_reason": None,
        "recorded_by": "his",
    }
    # 2503 from the other hospital naming the first as diagnosing: refused with the national field's name
    filing = {"psn_no": "P1", "opsp_dise_code": "I10", "ide_fixmedins_no": HOSPITAL, "diag_dr_name": "李医生"}
    back = (today - timedelta(days=20)).isoformat()
    before = snapshot(db)
    refused = c.hsa("his2", "2503", filing | {"begndate": today.isoformat()})
    assert refused["infcode"] == "-1" and "ide_fixmedins_no" in refused["err_msg"], refused
    # back-dated without a reason (memo): refused naming memo
    no_reason = c.hsa("his", "2503", filing | {"begndate": back})
    assert no_reason["infcode"] == "-1" and "memo" in no_reason["err_msg"], no_reason
    unlisted = c.hsa("his", "2503", filing | {"opsp_dise_code": "J06", "begndate": back, "memo": "补办"})
    assert unlisted["infcode"] == "-1" and "opsp_dise_code" in unlisted["err_msg"], unlisted
    assert snapshot(db) == before
    done = c.hsa("his", "2503", filing | {"begndate": back, "memo": "诊断证明书二十日前出具，补办"})
    assert done["infcode"] == "0", done
    assert done["output"]["data"]["opsp_dise_name"] == "高血压"
    assert c.filings() == [
        ("N18", "special", HOSPITAL, "张医生", today, None, "his"),
        ("I10", "chronic", HOSPITAL, "李医生", today - timedelta(days=20), "诊断证明书二十日前出具，补办", "his"),
    ]
    listed = c.hsa("his2", "5301", {"psn_no": "P1"})["output"]["feedetail"]
    catalogue = {d["code"]: d["list"] for d in _call(c.app, "GET", "/api/filing-diseases", c.tokens["his"]).json()}
    assert (catalogue["I10"], catalogue["N18"], "J06" in catalogue) == ("chronic", "special", False)
    assert [(f["opsp_dise_code"], f["begndate"]) for f in listed] == [("I10", back), ("N18", today.isoformat())]


def test_the_settlement_goes_by_the_filings_list(db: Database) -> None:
    """A filed special disease settles on the Yunnan pack's special line, a filed chronic one on its chronic line; the
    same amounts as before the lists were separate (the special line pays as the chronic line)."""
    from yibao.policy.pack import load_pack

    yunnan = load_pack("yunnan-lincang-2023")
    c = Caller(db)
    for code in ("N18", "J44"):
        body = {
            "dise_codg": code,
            "fixmedins_code": HOSPITAL,
            "doctor": "张医生",
            "begin": "2023-01-01",
            "backdate_reason": "补办",
        }
        assert c.post("clerk", "/api/persons/P1/chronic-filings", body).status_code == 201
    with db.unit_of_work() as s:
        person = settlement_person(s, find_person(s, "P1"))
    assert [(f.dise_codg, f.begin) for f in person.chronic_filings] == [("N18", date(2023, 1, 1)), ("J44", date(2023, 1, 1))]

    def paid(code: str) -> tuple[str, int]:
        claim = Claim(f"C{code}", "P1", date(2023, 3, 1), "14", 1, dise_codg=code, summary=PolicyRangeSummary(100_000))
        st = settle(yunnan, person, None, claim)
        return st.line, st.hifp_pay

    # 1000 yuan in the policy range at 95%, no deductible: 950 yuan on either line
    assert paid("N18.5") == ("special", 95_000)
    assert paid("J44") == ("chronic", 95_000)
    # not filed: a special disease falls back to general outpatient
    assert paid("C34")[0] == "outpatient"


def test_signed_institutions_change_once_a_month_and_screenings_stay_with_the_household(db: Database) -> None:
    c = Caller(db)
    today = beijing_today()
    body = {"dise_codg": "I10", "fixmedins_code": HOSPITAL, "doctor": "张医生", "begin": today.isoformat(), "signed": [HOSPITAL]}
    fid = c.post("clerk", "/api/persons/P1/chronic-filings", body).json()["id"]
    first = c.post("clerk", f"/api/persons/P1/chronic-filings/{fid}/signed", {"signed": [OTHER_HOSPITAL, "H53090200009"]})
    assert first.status_code == 201 and first.json()["signed"] == [OTHER_HOSPITAL, "H53090200009"], first.text
    before = snapshot(db)
    second = c.post("clerk", f"/api/persons/P1/chronic-filings/{fid}/signed", {"signed": [HOSPITAL]})
    assert second.status_code == 422 and second.json()["field"] == "signed"
    assert today.isoformat() in second.json()["message"]
    assert snapshot(db) == before
    with db.unit_of_work() as s:
        rows = s.execute(
            sa.select(InstitutionChoice.fixmedins_code, InstitutionChoice.begin, InstitutionChoice.end)
            .where(InstitutionChoice.filing_id == fid)
            .order_by(InstitutionChoice.id)
        ).all()
    # the first choice was replaced on the day it began: it never held
    assert [tuple(r) for r in rows] == [
        (HOSPITAL, today, today - timedelta(days=1)),
        (OTHER_HOSPITAL, today, None),
        ("H53090200009", today, None),
    ]
    # a screening record for P1 and one for a household member, both listed on P1's page data
    with db.unit_of_work() as s:
        p1 = s.scalars(sa.select(Person).where(Person.psn_no == "P1")).one()
        p1.hh_no = "HH1"
        s.add(Person(psn_no="P2", certno="530902199001010011", psn_name="杨二", gend="1", brdy=date(1990, 1, 1), hh_no="HH1",
                     recorded_at=datetime.now(UTC), recorded_by="seed"))  # fmt: skip
        s.commit()
    screening = {"condition": "血压偏高，未达门诊慢性病认定标准", "fixmedins_code": HOSPITAL, "doctor": "王医生"}
    future = c.post("clerk", "/api/persons/P1/screenings", screening | {"examined_on": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["field"] == "examined_on"
    assert c.post("his", "/api/persons/P1/screenings", screening | {"examined_on": today.isoformat()}).status_code == 403
    r = c.post("clerk", "/api/persons/P1/screenings", screening | {"examined_on": today.isoformat(), "dise_codg": "i10"})
    assert r.status_code == 201 and r.json()["hh_no"] == "HH1", r.text
    assert c.post("clerk", "/api/persons/P2/screenings", screening | {"examined_on": today.isoformat()}).status_code == 201
    view = _call(c.app, "GET", "/api/persons/P1", c.tokens["clerk"]).json()
    assert [(x["psn_no"], x["dise_codg"], x["dise_name"], x["own"]) for x in view["screenings"]] == [
        ("P2", None, None, False),
        ("P1", "I10", "高血压", True),
    ]
    assert view["chronic_filings"][0]["signed_changed_on"] == today.isoformat()
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ScreeningRecord)) == 2
