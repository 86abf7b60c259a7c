"""The counter's day on SQLite and PostgreSQL: the diagnosis kept in the ledger (REST, the national 2201/2204/2207 path,
a reversal) and printed on the slip; every API time carries its zone; people found by the ID number's tail and the
name, a page at a time; a clerk's Beijing day of settlements and its totals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.accounts import HOSPITAL, PASSWORD
from tests.db.test_service import CERTNO, PACK, bill, seed
from yibao.app import counter_day, slips
from yibao.app.backpay import _claim as resettled_claim
from yibao.app.ledger import AMOUNTS
from yibao.app.registry import find_people, register_person
from yibao.core.errors import InputError
from yibao.core.idcard import check_digit
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Base, UtcDateTime


def _client(db: Database, user: str) -> TestClient:
    c = TestClient(create_app(db, PACK))
    r = c.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    r.raise_for_status()
    c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return c


def _aware_utc(text: str) -> datetime:
    """An API time: ISO 8601 with its offset, +00:00 (UTC) on either database."""
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


def _entry(db: Database, setl_id: str) -> LedgerEntry:
    with db.unit_of_work() as s:
        e = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id))
        assert e is not None
        s.expunge(e)
        return e


def test_the_diagnosis_is_kept_in_the_ledger_answered_printed_and_reversed_with_it(db: Database) -> None:
    seed(db)
    clerk = _client(db, "clerk")
    before = datetime.now(UTC)
    done = clerk.post("/api/settlements", json=bill(30_000, dise_codg="E11.9", dise_name="2型糖尿病"))
    assert done.status_code == 201, done.text
    setl_id = done.json()["setl_id"]
    e = _entry(db, setl_id)
    assert (e.dise_codg, e.dise_name) == ("E11.9", "2型糖尿病")
    got = clerk.get(f"/api/settlements/{setl_id}").json()
    assert (got["dise_codg"], got["dise_name"]) == ("E11.9", "2型糖尿病")
    assert before - timedelta(seconds=1) <= _aware_utc(got["recorded_at"]) <= datetime.now(UTC) + timedelta(seconds=1)
    with db.unit_of_work() as s:
        slip = slips.build_slip(s, setl_id, PACK)
    assert (slip.dise_codg, slip.dise_name) == ("E11.9", "2型糖尿病")
    assert "E11.9 2型糖尿病" in slips.render_html(slip)

    undone = clerk.post(f"/api/settlements/{setl_id}/reverse", json={"reason": "录入错误"})
    assert undone.status_code == 201, undone.text
    assert (undone.json()["dise_codg"], undone.json()["dise_name"]) == ("E11.9", "2型糖尿病")
    _aware_utc(undone.json()["recorded_at"])

    plain = clerk.post("/api/settlements", json=bill(10_000, "2022-04-02"))
    assert plain.status_code == 201
    assert (_entry(db, plain.json()["setl_id"]).dise_codg, _entry(db, plain.json()["setl_id"]).dise_name) == (None, None)


def test_the_major_disease_flag_is_kept_in_the_ledger_for_reversal_and_re_settlement(db: Database) -> None:
    """A 重特大疾病 settlement keeps its flag (the assistance tiers' ``major`` terms): its reversal carries it, and the claim
    back-pay re-settles from the ledger has it again; a plain one stays false."""
    seed(db)
    clerk = _client(db, "clerk")
    major = clerk.post("/api/settlements", json=bill(30_000, major_dise_flag=True))
    plain = clerk.post("/api/settlements", json=bill(10_000, "2022-04-02"))
    assert major.status_code == 201 and plain.status_code == 201, (major.text, plain.text)
    e, p = _entry(db, major.json()["setl_id"]), _entry(db, plain.json()["setl_id"])
    assert (e.major_dise_flag, p.major_dise_flag) == (True, False)
    as_booked = {a: getattr(e, a) for a in AMOUNTS}
    assert resettled_claim(e, "", as_booked).major_dise_flag
    assert not resettled_claim(p, "", {a: getattr(p, a) for a in AMOUNTS}).major_dise_flag
    undone = clerk.post(f"/api/settlements/{e.setl_id}/reverse", json={"reason": "录入错误"})
    assert undone.status_code == 201, undone.text
    assert _entry(db, undone.json()["setl_id"]).major_dise_flag is True


def _hsa(his: TestClient, infno: str, inp: dict[str, object]) -> dict[str, object]:
    env = {"infno": infno, "msgid": f"T{uuid.uuid4().hex[:20]}", "fixmedins_code": HOSPITAL, "input": inp}
    out: dict[str, object] = his.post("/api/hsa", json=env).json()
    assert out["infcode"] == "0", out
    return out


def _outpatient_visit(his: TestClient, dise_codg: str) -> str:
    reg = _hsa(his, "2201", {"data": {"psn_no": "P1", "insutype": "390", "begntime": "2022-06-20 08:30:00", "med_type": "11",
                                      "dise_codg": dise_codg}})  # fmt: skip
    mdtrt_id = str(reg["output"]["data"]["mdtrt_id"])  # type: ignore[index]
    line = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": "P1", "med_list_codg": "XJ01CA04", "med_list_name": "阿莫西林胶囊",
            "chrgitm_lv": "01", "det_item_fee_sumamt": "86.50", "cnt": "2", "pric": "43.25"}  # fmt: skip
    _hsa(his, "2204", {"feedetail": [line]})
    return mdtrt_id


def test_the_national_settlement_keeps_the_diagnosis_it_sends_else_the_visits(db: Database) -> None:
    seed(db)
    his = _client(db, "his")
    sent = _outpatient_visit(his, "J06")
    out = _hsa(his, "2207", {"data": {"psn_no": "P1", "mdtrt_id": sent, "dise_codg": "j18.9", "dise_name": "肺炎"}})
    e = _entry(db, str(out["output"]["setlinfo"]["setl_id"]))  # type: ignore[index]
    assert (e.dise_codg, e.dise_name) == ("J18.9", "肺炎")
    kept = _outpatient_visit(his, "J06")
    out = _hsa(his, "2207", {"data": {"psn_no": "P1", "mdtrt_id": kept}})
    e = _entry(db, str(out["output"]["setlinfo"]["setl_id"]))  # type: ignore[index]
    assert (e.dise_codg, e.dise_name) == ("J06", None)


def test_api_times_carry_their_zone_on_either_database(db: Database) -> None:
    seed(db)
    clerk = _client(db, "clerk")
    person = clerk.get("/api/persons/P1").json()
    for i in person["identity_history"]:
        _aware_utc(i["recorded_at"])
    setl_id = clerk.post("/api/settlements", json=bill(20_000)).json()["setl_id"]
    _aware_utc(clerk.get(f"/api/settlements/{setl_id}").json()["recorded_at"])
    with db.unit_of_work() as s:  # read back from the database itself, not the session that wrote it
        moment = s.scalar(sa.select(LedgerEntry.recorded_at).where(LedgerEntry.setl_id == setl_id))
    assert moment is not None and moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def test_every_recorded_time_column_reads_back_aware() -> None:
    bare = [
        f"{t.name}.{c.name}"
        for t in Base.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, sa.DateTime) and not isinstance(c.type, UtcDateTime)
    ]
    assert bare == []


def _person(db: Database, name: str, serial: int) -> str:
    base = f"53090219900101{serial:03d}"
    certno = base + check_digit(base)
    with db.unit_of_work() as s:
        register_person(s, certno, name, "test")
        s.commit()
    return certno


def test_people_found_by_the_id_numbers_tail_and_the_name_a_page_at_a_time(db: Database) -> None:
    seed(db)  # 杨桂芳 530902196207040026 (tail 0026)
    made = [_person(db, f"李{chr(0x4E00 + i)}", 100 + i) for i in range(23)]
    made.append(_person(db, "李_%", 200))  # LIKE's wildcards in a name are only characters
    with db.unit_of_work() as s:
        by_tail = find_people(s, f"杨桂芳 {CERTNO[-4:]}")
        assert [p.certno for p in by_tail.people] == [CERTNO] and by_tail.total == 1
        assert [p.certno for p in find_people(s, f"{CERTNO[-4:]}杨").people] == [CERTNO]
        assert find_people(s, f"李一 {CERTNO[-4:]}").total == 0  # the tail and the name must both match
        assert [p.certno for p in find_people(s, made[5][-6:]).people] == [made[5]]  # six alone
        with pytest.raises(InputError) as refused:
            find_people(s, made[5][-4:])  # four alone: too many people would match
        assert "后 4–5 位须与姓名一起输入" in refused.value.expected_in("zh")
        first, third = find_people(s, "李", 1, 10), find_people(s, "李", 3, 10)
        assert (first.total, first.pages, len(first.people), len(third.people)) == (24, 3, 10, 4)
        everyone = [p.psn_no for n in (1, 2, 3) for p in find_people(s, "李", n, 10).people]
        assert len(set(everyone)) == 24
        assert [p.psn_name for p in find_people(s, "李_").people] == ["李_%"]
        assert find_people(s, "李%").total == 0
    api = _client(db, "clerk")
    third_page = api.get("/api/persons", params={"q": "李", "page": 3, "per_page": 10})
    assert third_page.headers["X-Total-Count"] == "24" and len(third_page.json()) == 4
    assert [p["certno"] for p in api.get("/api/persons", params={"q": f"{CERTNO[-4:]} 杨桂芳"}).json()] == [
        CERTNO[:6] + "*" * 8 + CERTNO[-4:]
    ]
    refused = api.get("/api/persons", params={"q": CERTNO[-4:]})
    assert refused.status_code == 422 and refused.json()["field"] == "q"


def test_a_clerks_day_is_the_beijing_day_of_their_own_entries(db: Database) -> None:
    seed(db)
    clerk, hospital = _client(db, "clerk"), _client(db, "his")
    ids = [clerk.post("/api/settlements", json=bill(yuan, f"2022-03-{d:02d}")).json()["setl_id"] for yuan, d in
           ((30_000, 10), (10_000, 11), (5_000, 12))]  # fmt: skip
    undone = clerk.post(f"/api/settlements/{ids[1]}/reverse", json={"reason": "录入错误"}).json()["setl_id"]
    other = hospital.post("/api/settlements", json=bill(8_000, "2022-03-13"))
    assert other.status_code == 201, other.text
    # Beijing 2026-12-03 runs from 2026-12-02 16:00 to 2026-12-03 16:00 UTC
    stamps = {ids[0]: datetime(2026, 12, 2, 16, 0, tzinfo=UTC), ids[1]: datetime(2026, 12, 3, 15, 59, tzinfo=UTC),
              undone: datetime(2026, 12, 3, 10, 0, tzinfo=UTC), ids[2]: datetime(2026, 12, 2, 15, 59, tzinfo=UTC),
              other.json()["setl_id"]: datetime(2026, 12, 3, 1, 0, tzinfo=UTC)}  # fmt: skip
    with db.unit_of_work() as s:
        for setl_id, at in stamps.items():
            s.execute(sa.update(LedgerEntry).where(LedgerEntry.setl_id == setl_id).values(recorded_at=at))
        s.commit()
    with db.unit_of_work() as s:
        rows = counter_day.day_rows(s, "clerk", date(2026, 12, 3))
        day_before = counter_day.day_rows(s, "clerk", date(2026, 12, 2))
    assert [r.entry.setl_id for r in rows] == [ids[0], ids[1], undone]
    assert [r.reversed_by for r in rows] == [None, undone, None]
    assert [r.entry.setl_id for r in day_before] == [ids[2]]
    total = counter_day.totals(rows)
    assert total["medfee_sumamt"] == 30_000 * 100  # the reversed 10,000 and its reversal cancel out
    assert total["hifp_pay"] == rows[0].entry.hifp_pay
    assert all(total[f] == sum(getattr(r.entry, f) for r in rows) for f in counter_day.FUNDS)
