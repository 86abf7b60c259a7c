"""The settlement service over real HTTP on SQLite and PostgreSQL: ledger, exactly once, reversal,
concurrency with binding caps, roles, bad input leaving the database unchanged."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import httpx
import pytest
import sqlalchemy as sa

from tests.accounts import HOSPITAL, OTHER_HOSPITAL, login, seed_accounts
from tests.live import live_server
from yibao.core.idcard import check_digit
from yibao.entrypoints.http import create_app
from yibao.policy import load_pack
from yibao.settlement.model import YearToDate
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, YearToDateRow
from yibao.store.tables import Enrolment, Identity, Person

PACK = load_pack("anhui-huaibei-2022")
BASE = "53090219620704002"
CERTNO = BASE + check_digit(BASE)


def seed(db: Database, category: str = "dibao", enrolled: bool = True) -> None:
    seed_accounts(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        p = Person(
            psn_no="P1",
            certno=CERTNO,
            psn_name="杨桂芳",
            gend="2",
            brdy=date(1962, 7, 4),
            village="那招村",
            recorded_at=now,
            recorded_by="seed",
        )
        s.add(p)
        s.flush()
        s.add(
            Identity(
                person_id=p.id,
                category=category,
                valid_from=date(2021, 1, 1),
                source_bureau="民政",
                recorded_at=now,
                recorded_by="seed",
            )
        )
        if enrolled:
            s.add(Enrolment(person_id=p.id, year=2022, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by="seed"))
        s.commit()


def bill(yuan: int, day: str = "2022-03-10", **extra: object) -> dict[str, object]:
    return {
        "psn_no": "P1",
        "setl_date": day,
        "med_type": "21",
        "fixmedins_code": HOSPITAL,
        "summary": {"medfee_sumamt": yuan * 100},
        **extra,
    }


def counts(db: Database) -> tuple[int, int, str]:
    with db.unit_of_work() as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0
        m = s.scalar(sa.select(sa.func.count()).select_from(YearToDateRow)) or 0
        data = s.scalar(sa.select(YearToDateRow.data)) or ""
    return n, m, data


def test_preview_writes_nothing_and_settle_records_ledger_and_accumulators(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "clerk")
        pre = httpx.post(f"{url}/api/settlements/preview", json=bill(80_000), headers=h)
        assert pre.status_code == 200, pre.text
        assert counts(db)[:2] == (0, 0)
        done = httpx.post(f"{url}/api/settlements", json=bill(80_000), headers=h)
        assert done.status_code == 201, done.text
        body = done.json()
        # 低保, level-2 county hospital, 80,000 all in range: basic (80,000 - 500) x 91.8% = 72,981.00;
        # CI tilt: the 7,019 left is below the 7,500 deductible: 0; assistance 7,019 x 75% = 5,264.25
        info = body["setlinfo"]
        assert (info["hifp_pay"], info["hifmi_pay"], info["maf_pay"]) == (7_298_100, 0, 526_425)
        assert info["hifp_pay"] + info["hifmi_pay"] + info["maf_pay"] + info["oth_pay"] + info["psn_part_amt"] == 8_000_000
        assert pre.json()["setlinfo"] | {"setl_id": None} == info | {"setl_id": None}
        got = httpx.get(f"{url}/api/settlements/{body['setl_id']}", headers=login(url, "auditor")).json()
        assert got["recorded_by"] == "clerk" and got["hifp_pay"] == 7_298_100
        pos = httpx.get(f"{url}/api/persons/P1/position", params={"year": 2022}, headers=h).json()
        basic = next(p for p in pos["payers"] if p["payer"] == "hifp_pay")
        assert (basic["paid"], basic["cap"]) == (7_298_100, 30_000_000)
        assert httpx.get(f"{url}/api/ledger/verify", headers=login(url, "auditor")).json()["ok"] is True
    n, m, data = counts(db)
    assert (n, m) == (1, 1) and YearToDate.from_dict(json.loads(data)).basic_paid == {"basic_pool": 7_298_100}


def test_same_idempotency_key_returns_first_answer_and_writes_nothing_new(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "clerk") | {"Idempotency-Key": "HIS-0001"}
        first = httpx.post(f"{url}/api/settlements", json=bill(30_000), headers=h)
        second = httpx.post(f"{url}/api/settlements", json=bill(30_000), headers=h)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        clash = httpx.post(f"{url}/api/settlements", json=bill(31_000), headers=h)
        assert clash.status_code == 422 and clash.json()["field"] == "msgid"
    assert counts(db)[0] == 1


def test_reversal_gives_back_exactly_and_twice_is_refused(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "clerk")
        a = httpx.post(f"{url}/api/settlements", json=bill(120_000), headers=h).json()
        after_a = counts(db)[2]
        b = httpx.post(f"{url}/api/settlements", json=bill(50_000, "2022-05-01"), headers=h).json()
        assert httpx.post(f"{url}/api/settlements/{b['setl_id']}/reverse", json={"reason": ""}, headers=h).status_code == 422
        r = httpx.post(f"{url}/api/settlements/{b['setl_id']}/reverse", json={"reason": "录入错误"}, headers=h)
        assert r.status_code == 201 and r.json()["hifp_pay"] == -b["setlinfo"]["hifp_pay"]
        assert YearToDate.from_dict(json.loads(counts(db)[2])) == YearToDate.from_dict(json.loads(after_a))
        again = httpx.post(f"{url}/api/settlements/{b['setl_id']}/reverse", json={"reason": "再次"}, headers=h)
        assert again.status_code == 422 and again.json()["field"] == "setl_id"
        assert httpx.get(f"{url}/api/settlements/{b['setl_id']}", headers=h).json()["reversed_by"] == r.json()["setl_id"]
        assert httpx.get(f"{url}/api/ledger/verify", headers=login(url, "admin")).json()["ok"] is True
        assert a["setl_id"] != b["setl_id"]
    assert counts(db)[0] == 3


def test_sixteen_parallel_clients_never_pay_past_a_cap_and_match_a_serial_replay(db: Database) -> None:
    seed(db, category="jiance")  # no critical-illness tilt: the CI cap and the assistance limit bind
    bills = [bill(180_000 + 1_000 * i, f"2022-{1 + i % 12:02d}-{1 + i % 27:02d}") for i in range(48)]
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "clerk")

        def post(b: dict[str, object]) -> int:
            return httpx.post(f"{url}/api/settlements", json=b, headers=h, timeout=120).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(post, bills)) == {201}
    with db.unit_of_work() as s:
        entries = s.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id)).all()
        stored = YearToDate.from_dict(json.loads(s.scalar(sa.select(YearToDateRow.data)) or "{}"))
    assert len(entries) == 48
    policy = PACK.at(date(2022, 6, 1))
    assert sum(e.hifp_pay for e in entries) == 30_000_000  # the basic cap binds exactly
    assert policy.critical_illness is not None and policy.critical_illness.cap is not None
    assert sum(e.hifmi_pay for e in entries) <= policy.critical_illness.cap
    assert sum(e.maf_pay for e in entries) == policy.assistance.limit  # type: ignore[union-attr]
    # a serial replay of the ledger in its recorded order gives the same accumulators
    replay = YearToDate(2022)
    for e in entries:
        replay = replay.plus(YearToDate.from_dict(json.loads(e.consumed)))
    assert replay == stored
    assert stored.basic_paid["basic_pool"] == 30_000_000


@pytest.mark.parametrize(
    ("who", "method", "path", "payload"),
    [
        ("analyst", "post", "/api/settlements", "bill"),
        ("monitoring", "post", "/api/settlements", "bill"),
        ("auditor", "post", "/api/settlements/preview", "bill"),
        ("analyst", "get", "/api/persons/P1", None),
        ("clerk", "get", "/api/ledger/verify", None),
        ("monitoring", "post", "/api/persons/P1/chronic-filings", {"dise_codg": "I10", "begin": "2022-01-01"}),
        ("clerk", "post", "/api/accounts", {"username": "x", "password": "12345678", "role": "admin"}),
        ("his", "get", "/api/ledger/verify", None),
    ],
)
def test_each_role_is_refused_what_it_may_not_do(db: Database, who: str, method: str, path: str, payload: object) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        body = bill(1_000) if payload == "bill" else payload
        r = httpx.request(method, f"{url}{path}", json=body, headers=login(url, who))
        assert r.status_code == 403, r.text
        assert "无权" in r.json()["detail"]["message"]
    assert counts(db)[0] == 0


def test_institution_sees_only_its_own_settlements(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        mine = httpx.post(f"{url}/api/settlements", json=bill(10_000) | {"fixmedins_code": None}, headers=login(url, "his"))
        assert mine.status_code == 201, mine.text
        assert mine.json()["setlinfo"]["hifp_pay"] > 0
        setl_id = mine.json()["setl_id"]
        assert httpx.get(f"{url}/api/settlements/{setl_id}", headers=login(url, "his")).status_code == 200
        assert httpx.get(f"{url}/api/settlements/{setl_id}", headers=login(url, "his2")).status_code == 404
        other = httpx.post(
            f"{url}/api/settlements", json=bill(10_000) | {"fixmedins_code": OTHER_HOSPITAL}, headers=login(url, "his")
        )
        assert other.status_code == 422 and other.json()["field"] == "fixmedins_code"
        bad = httpx.post(f"{url}/api/auth/token", data={"username": "his", "password": "wrong password"})
        assert bad.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": {"medfee_sumamt": -5}}, "summary.medfee_sumamt"),
        ({"summary": {"medfee_sumamt": "600.00"}}, "summary.medfee_sumamt"),  # yuan as text: never 600 fen
        ({"summary": {"medfee_sumamt": 600.5}}, "summary.medfee_sumamt"),
        ({"summary": {"medfee_sumamt": 100, "inscp_scp_amt": 200}}, "inscp_scp_amt"),
        ({"psn_no": "NOBODY"}, "psn_no"),
        ({"setl_date": "2023-02-01"}, "psn_insu_stas"),
        ({"setl_date": "2022-13-01"}, "setl_date"),
        ({"med_type": "99"}, "med_type"),
        ({"fixmedins_code": "H404"}, "fixmedins_code"),
        (
            {
                "summary": None,
                "fee_lines": [{"feedetl_sn": "1", "med_list_codg": "A", "chrgitm_lv": "04", "det_item_fee_sumamt": 1}],
            },
            "fee_lines.0.chrgitm_lv",
        ),
        ({"summary": None}, "fee_lines"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(db: Database, change: dict[str, object], field: str) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        r = httpx.post(f"{url}/api/settlements", json=bill(10_000) | change, headers=login(url, "clerk"))
        assert r.status_code in (404, 422), r.text
        assert r.json()["field"] == field, r.json()
        assert "字段" in r.json()["message"]
    assert counts(db) == (0, 0, "")
