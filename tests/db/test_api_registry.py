"""Person lookup and filings over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from tests.accounts import login, seed_accounts
from tests.live import live_server
from yibao.core.idcard import check_digit
from yibao.entrypoints.http import create_app
from yibao.policy import load_pack
from yibao.settlement import Claim, PolicyRangeSummary, settle
from yibao.store.db import Database
from yibao.store.tables import Identity, Person

BASE = "53090219800315002"
CERTNO = BASE + check_digit(BASE)


def _seed(db: Database) -> None:
    seed_accounts(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        p = Person(
            psn_no="P530902A",
            certno=CERTNO,
            psn_name="李秀英",
            gend="2",
            brdy=date(1980, 3, 15),
            village="南屏村",
            township="忙畔街道",
            recorded_at=now,
            recorded_by="seed",
        )
        s.add(p)
        s.flush()
        s.add_all(
            [
                Identity(
                    person_id=p.id,
                    category="jiance",
                    valid_from=date(2021, 1, 1),
                    valid_to=date(2022, 6, 30),
                    source_bureau="乡村振兴",
                    recorded_at=now,
                    recorded_by="seed",
                ),
                Identity(
                    person_id=p.id,
                    category="dibao",
                    valid_from=date(2022, 7, 1),
                    source_bureau="民政",
                    recorded_at=now,
                    recorded_by="seed",
                ),
            ]
        )
        s.commit()


def test_person_lookup_answers_what_they_were_on_a_date(db: Database) -> None:
    _seed(db)
    with live_server(create_app(db)) as url:
        assert httpx.get(f"{url}/api/persons", params={"q": "李秀"}).status_code == 401
        h = login(url, "clerk")
        found = httpx.get(f"{url}/api/persons", params={"q": "李秀"}, headers=h).json()
        assert [f["psn_no"] for f in found] == ["P530902A"]
        assert found[0]["certno"] == CERTNO[:6] + "********" + CERTNO[14:]  # masked in lists
        before = httpx.get(f"{url}/api/persons/{CERTNO}", params={"on": "2022-06-30"}, headers=h).json()
        after = httpx.get(f"{url}/api/persons/P530902A", params={"on": "2022-07-01"}, headers=h).json()
        assert [i["category"] for i in before["identities"]] == ["jiance"] and before["deciding_identity"] == "jiance"
        assert [i["category"] for i in after["identities"]] == ["dibao"] and after["deciding_identity"] == "dibao"
        assert len(after["identity_history"]) == 2
        assert after["baseinfo"]["certno"] == CERTNO  # the clerk at the window sees the full number
        masked = httpx.get(f"{url}/api/persons/P530902A", headers=login(url, "monitoring")).json()
        assert masked["baseinfo"]["certno"] == CERTNO[:6] + "********" + CERTNO[14:]
        assert httpx.get(f"{url}/api/persons/P530902A", headers=login(url, "analyst")).status_code == 403
        missing = httpx.get(f"{url}/api/persons/P404", headers=h)
        assert missing.status_code == 404 and missing.json()["field"] == "psn_no"


def test_chronic_filing_takes_effect_at_once_for_settlement(db: Database) -> None:
    _seed(db)
    pack = load_pack("anhui-huaibei-2022")
    with live_server(create_app(db, pack)) as url:
        h = login(url, "clerk")
        body = {
            "dise_codg": "I10",
            "dise_name": "高血压",
            "fixmedins_code": "H53090200001",
            "doctor": "王医生",
            "begin": "2022-05-01",
            "backdate_reason": "诊断证明书 2022-05-01 出具，补办",
        }
        assert (
            httpx.post(f"{url}/api/persons/P530902A/chronic-filings", json=body, headers=login(url, "auditor")).status_code == 403
        )
        r = httpx.post(f"{url}/api/persons/P530902A/chronic-filings", json=body, headers=h)
        assert r.status_code == 201 and r.json()["recorded_by"] == "clerk"
        again = httpx.post(
            f"{url}/api/persons/P530902A/chronic-filings", json={"dise_codg": "i10", "begin": "2022-06-01"}, headers=h
        )
        assert again.status_code == 422 and again.json()["field"] == "dise_codg"
        view = httpx.get(f"{url}/api/persons/P530902A/settlement-view", headers=h).json()
    assert [f["dise_codg"] for f in view["chronic_filings"]] == ["I10"]
    # the settlement core sees the filing: a med_type 14 claim for I10 settles on the chronic line
    from yibao.app.registry import find_person, settlement_person

    with db.unit_of_work() as s:
        person = settlement_person(s, find_person(s, "P530902A"))
    claim = Claim("C1", "P530902A", date(2022, 5, 2), "14", 1, dise_codg="I10", summary=PolicyRangeSummary(100_000))
    s1 = settle(pack, person, None, claim)
    assert s1.line == "chronic"
    # before the filing date the same claim falls back to general outpatient
    s0 = settle(
        pack,
        person,
        None,
        Claim("C0", "P530902A", date(2022, 4, 30), "14", 1, dise_codg="I10", summary=PolicyRangeSummary(100_000)),
    )
    assert s0.line == "outpatient"


def test_bad_filing_input_names_the_field_and_writes_nothing(db: Database) -> None:
    _seed(db)
    with live_server(create_app(db)) as url:
        h = login(url, "clerk")
        r = httpx.post(f"{url}/api/persons/P530902A/cross-filings", json={"begin": "2022-05-01", "end": "2022-04-01"}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "end"
        r2 = httpx.post(f"{url}/api/persons/P530902A/cross-filings", json={"begin": "not a date"}, headers=h)
        assert r2.status_code == 422 and r2.json()["field"] == "begin" and "begin" in r2.json()["message"]
        view = httpx.get(f"{url}/api/persons/P530902A", headers=h).json()
    assert view["cross_filings"] == []
