"""A visit is paid once: two server processes racing to settle the same visits, ``verify`` and the REST path.

Two real uvicorn processes (``yibao serve``'s factory, configured by environment variables) share one
database; each is sent 2304 for the same discharged visits with different msgids at the same moment
(a HIS that timed out and retried with a new msgid, through another node). Each visit is settled once;
every other call is refused naming the settlement that stands ("已结算，结算ID …"), and ``verify`` is clean.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.accounts import HOSPITAL, OTHER_HOSPITAL, login
from tests.db.test_fuzz import _line
from tests.db.test_service import PACK, seed
from tests.live import live_server, service_process
from yibao.app import ledger
from yibao.core.idcard import check_digit
from yibao.core.settings import DATABASE_ENV, POLICY_ENV, SCHEDULE_ENV
from yibao.entrypoints.http import create_app
from yibao.settlement.model import YearToDate
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, Visit
from yibao.store.tables import Enrolment, Person

VISITS = 6
CALLS_PER_SERVER = 2
"""Per visit: this many 2304s to each server, all sent at once (so four racing calls per visit)."""


def _url(db: Database) -> str:
    """The database as a server process reaches it: the test's SQLite file, or its PostgreSQL schema."""
    url = str(db.url)  # type: ignore[attr-defined]
    schema = getattr(db, "pg_schema", None)
    return f"{url}?options=-csearch_path%3D{schema}" if schema else url


def server_process(db: Database) -> AbstractContextManager[str]:
    """The service as ``yibao serve`` runs it, in a process of its own, on the test's database."""
    return service_process({DATABASE_ENV: _url(db), POLICY_ENV: PACK.pack_id, SCHEDULE_ENV: "0"})


def hsa(url: str, headers: dict[str, str], infno: str, inp: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
    env = {"infno": infno, "msgid": msgid or uuid.uuid4().hex, "fixmedins_code": HOSPITAL, "input": inp}
    r = httpx.post(f"{url}/api/hsa", json=env, headers=headers, timeout=120)
    assert r.status_code == 200, r.text
    return dict(r.json())


def discharged_visit(url: str, headers: dict[str, str], day: int, psn_no: str = "P1") -> str:
    """An admission with one fee line, discharged: ready for 2304."""
    begin = f"2022-06-{day:02d}"
    adm = hsa(url, headers, "2401", {"mdtrtinfo": {"psn_no": psn_no, "begntime": begin, "med_type": "21"}})
    mdtrt_id = str(adm["output"]["data"]["mdtrt_id"])
    assert hsa(url, headers, "2301", {"feedetail": [_line(mdtrt_id)]})["infcode"] == "0"
    assert hsa(url, headers, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "endtime": begin}})["infcode"] == "0"
    return mdtrt_id


def standing(db: Database) -> dict[str, list[str]]:
    """Every visit's settlements that no reversal undid."""
    with db.unit_of_work() as s:
        reversed_ = set(s.scalars(sa.select(LedgerEntry.reverses).where(LedgerEntry.reverses.is_not(None))))
        rows = s.execute(sa.select(LedgerEntry.mdtrt_id, LedgerEntry.setl_id).where(LedgerEntry.kind == "settle")).all()
    out: dict[str, list[str]] = {}
    for mdtrt_id, setl_id in rows:
        if mdtrt_id and setl_id not in reversed_:
            out.setdefault(mdtrt_id, []).append(setl_id)
    return out


@pytest.mark.slow  # a large run: the full suite has it, the quick command leaves it out
def test_two_server_processes_settle_each_visit_once(db: Database) -> None:
    seed(db)
    people = ["P1", *(enrolled_person(db, n) for n in range(2, VISITS + 1))]  # nothing else serialises their settlements
    with server_process(db) as a, server_process(db) as b:
        ha, hb = login(a, "his"), login(b, "his")
        visits = [discharged_visit(a, ha, day, psn_no) for day, psn_no in enumerate(people, start=1)]
        calls = [
            (url, h, m, f"RACE-{m}-{url[-5:]}-{i}")
            for m in visits
            for url, h in ((a, ha), (b, hb))
            for i in range(CALLS_PER_SERVER)
        ]
        start = threading.Barrier(len(calls))

        def settle(call: tuple[str, dict[str, str], str, str]) -> tuple[str, dict[str, Any]]:
            url, h, mdtrt_id, msgid = call
            start.wait()
            return mdtrt_id, hsa(url, h, "2304", {"data": {"mdtrt_id": mdtrt_id}}, msgid)

        with ThreadPoolExecutor(len(calls)) as pool:
            answers = list(pool.map(settle, calls))
        verify = httpx.get(f"{b}/api/ledger/verify", headers=login(b, "auditor"), timeout=60).json()
    winners = {}
    for m in visits:
        mine = [out for visit, out in answers if visit == m]
        won = [out for out in mine if out["infcode"] == "0"]
        assert len(won) == 1, (m, [out["err_msg"] for out in mine])
        winners[m] = won[0]["output"]["setlinfo"]["setl_id"]
        for out in mine:
            if out is not won[0]:
                assert out["infcode"] == "-1" and f"已结算，结算ID {winners[m]}" in out["err_msg"], out["err_msg"]
                assert "2402" not in out["err_msg"], out["err_msg"]
    assert standing(db) == {m: [setl_id] for m, setl_id in winners.items()}
    with db.unit_of_work() as s:
        assert {v.status for v in s.scalars(sa.select(Visit))} == {"settled"}
    assert verify == {"differences": [], "ok": True}


def _plant_double(db: Database, setl_id: str) -> str:
    """A second standing settlement of the visit of ``setl_id``, consuming nothing: accumulators still agree."""
    with db.unit_of_work() as s:
        entry = ledger.get_entry(s, setl_id)
        columns = [c.name for c in LedgerEntry.__table__.columns if c.name not in ("id", "setl_id", "visit_seq")]
        twin = LedgerEntry(**{c: getattr(entry, c) for c in columns})
        twin.setl_id = "S-TWIN-" + setl_id[-8:]
        twin.consumed = json.dumps(YearToDate(entry.year).to_dict())
        s.add(twin)
        s.commit()
        return twin.setl_id


def test_verify_reports_a_visit_with_two_standing_settlements(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "his")
        m = discharged_visit(url, h, 3)
        setl_id = hsa(url, h, "2304", {"data": {"mdtrt_id": m}})["output"]["setlinfo"]["setl_id"]
        assert httpx.get(f"{url}/api/ledger/verify", headers=login(url, "auditor")).json()["ok"] is True
        twin = _plant_double(db, setl_id)
        verify = httpx.get(f"{url}/api/ledger/verify", headers=login(url, "auditor")).json()
    assert verify["ok"] is False
    assert [d for d in verify["differences"] if d.get("mdtrt_id") == m] == [
        {"mdtrt_id": m, "psn_no": "P1", "standing": sorted([setl_id, twin])}
    ]
    from yibao.entrypoints.cli.main import app as cli

    monkeypatch.setenv(DATABASE_ENV, _url(db))
    result = CliRunner().invoke(cli, ["verify"])
    assert result.exit_code == 1, result.output
    assert m in result.output and twin in result.output and "未撤销的结算" in result.output


def test_a_settled_visit_is_refused_naming_its_settlement_and_settles_again_after_reversal(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "his")
        m = discharged_visit(url, h, 4)
        first = hsa(url, h, "2304", {"data": {"mdtrt_id": m}})["output"]["setlinfo"]["setl_id"]
        again = hsa(url, h, "2304", {"data": {"mdtrt_id": m}})  # a retry with a new msgid
        assert again["infcode"] == "-1" and f"已结算，结算ID {first}" in again["err_msg"] and "2402" not in again["err_msg"]
        pre = hsa(url, h, "2303", {"data": {"mdtrt_id": m}})
        assert pre["infcode"] == "-1" and f"已结算，结算ID {first}" in pre["err_msg"]
        assert hsa(url, h, "2305", {"data": {"setl_id": first}})["infcode"] == "0"
        second = hsa(url, h, "2304", {"data": {"mdtrt_id": m}})
        assert second["infcode"] == "0", second
    assert standing(db) == {m: [second["output"]["setlinfo"]["setl_id"]]}


def enrolled_person(db: Database, n: int) -> str:
    """P{n}, enrolled in 2022 like P1 (no identity: a plain resident); its psn_no."""
    base = f"530902197001{n:02d}001"
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        p = Person(psn_no=f"P{n}", certno=base + check_digit(base), psn_name="李四", gend="1", brdy=date(1970, 1, n),
                   village="那招村", recorded_at=now, recorded_by="seed")  # fmt: skip
        s.add(p)
        s.flush()
        s.add(Enrolment(person_id=p.id, year=2022, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by="seed"))
        s.commit()
    return f"P{n}"


def test_rest_settlement_naming_a_visit_checks_institution_person_and_that_it_stands_alone(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        his = login(url, "his")
        m = discharged_visit(url, his, 5)
        body = {"psn_no": "P1", "setl_date": "2022-06-05", "med_type": "21", "summary": {"medfee_sumamt": 10_000}}
        other = httpx.post(f"{url}/api/settlements", json=body | {"mdtrt_id": m}, headers=login(url, "his2"))
        unknown = httpx.post(f"{url}/api/settlements", json=body | {"mdtrt_id": "M-NOBODY"}, headers=login(url, "his2"))
        assert other.status_code == unknown.status_code == 404
        assert other.json()["expected_zh"] == unknown.json()["expected_zh"]  # "not yours" says no more than "unknown"
        clerk = login(url, "clerk")
        as_other = httpx.post(
            f"{url}/api/settlements", json=body | {"mdtrt_id": m, "fixmedins_code": OTHER_HOSPITAL}, headers=clerk
        )
        assert as_other.status_code == 404
        enrolled_person(db, 2)
        not_theirs = httpx.post(f"{url}/api/settlements", json=body | {"mdtrt_id": m, "psn_no": "P2"}, headers=his)
        assert not_theirs.status_code == 404 and not_theirs.json()["expected_zh"] == other.json()["expected_zh"]
        setl_id = hsa(url, his, "2304", {"data": {"mdtrt_id": m}})["output"]["setlinfo"]["setl_id"]
        twice = httpx.post(f"{url}/api/settlements", json=body | {"mdtrt_id": m}, headers=his)
        assert twice.status_code == 422 and f"已结算，结算ID {setl_id}" in twice.json()["message"], twice.text
        n = discharged_visit(url, his, 6)
        rest = httpx.post(f"{url}/api/settlements", json=body | {"mdtrt_id": n}, headers=his)
        assert rest.status_code == 201, rest.text
        national = hsa(url, his, "2304", {"data": {"mdtrt_id": n}})
        assert national["infcode"] == "-1" and f"已结算，结算ID {rest.json()['setl_id']}" in national["err_msg"]
    assert standing(db) == {m: [setl_id], n: [rest.json()["setl_id"]]}
