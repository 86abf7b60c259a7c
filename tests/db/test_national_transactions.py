"""The national transaction table and the visit state table, through ``POST /api/hsa`` on SQLite and PostgreSQL.

A hospital walks every transaction of :data:`TRANSACTIONS` and every step of
:data:`~yibao.rules.visit_lifecycle.TRANSITIONS`; each transaction that only reads leaves every
table as it was, each that writes keeps its answer under its msgid; every step the state table
refuses is refused naming the visit's status, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.db.test_fuzz import _call, _line, _sign_in, snapshot
from tests.db.test_service import PACK, seed
from yibao.app import visits
from yibao.app.auth import Principal
from yibao.app.national_transactions import TRANSACTIONS, input_schema
from yibao.core.errors import InputError
from yibao.entrypoints.http import create_app
from yibao.rules import visit_lifecycle as lc
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, Message, Visit

CLERK = Principal("clerk", "clerk", None, "clerk")


class Hospital:
    """The hospital H53090200001 on the national interface, in process; what it walked."""

    def __init__(self, db: Database):
        seed(db)
        self.db, self.app = db, create_app(db, PACK)
        self.token = _sign_in(self.app, "his")
        self.sent = 0
        self.walked: set[str] = set()
        self.steps: set[tuple[str, str]] = set()

    def send(self, infno: str, inp: dict[str, Any]) -> dict[str, Any]:
        self.sent += 1
        r = _call(self.app, "POST", "/api/hsa", self.token, json={"infno": infno, "msgid": f"T{self.sent}", "input": inp})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def status(self, mdtrt_id: str) -> str:
        with self.db.unit_of_work() as s:
            v = s.get(Visit, mdtrt_id)
            assert v is not None
            return v.status

    def ok(self, infno: str, inp: dict[str, Any], mdtrt_id: str = "", action: str = "") -> dict[str, Any]:
        """Send a transaction that must succeed; check it wrote (or not) as the table says, and the visit's step."""
        before, status = snapshot(self.db), self.status(mdtrt_id) if mdtrt_id else lc.NEW
        out = self.send(infno, inp)
        assert out["infcode"] == "0", (infno, out)
        after = snapshot(self.db)
        with self.db.unit_of_work() as s:
            kept = s.scalar(sa.select(Message.infno).where(Message.msgid == f"hsa:H53090200001:T{self.sent}"))
        if TRANSACTIONS[infno].writes:
            assert kept == infno and after != before, infno
        else:
            assert kept is None and after == before, infno
        self.walked.add(infno)
        if action:
            mdtrt_id = mdtrt_id or out["output"]["data"]["mdtrt_id"]
            assert self.status(mdtrt_id) == lc.TRANSITIONS[(status, action)], (infno, action)
            self.steps.add((status, action))
        return dict(out["output"])


def _settled(out: dict[str, Any]) -> str:
    return str(out["setlinfo"]["setl_id"])


def test_every_transaction_of_the_table_and_every_step_of_a_visit(db: Database) -> None:
    h = Hospital(db)
    h.ok("1101", {"data": {"psn_no": "P1"}})
    a = h.ok("2201", {"data": {"psn_no": "P1", "begntime": "2022-05-01", "med_type": "11"}}, action="register")["data"][
        "mdtrt_id"
    ]
    h.ok("2204", {"feedetail": [_line(a, "1"), _line(a, "2")]}, a, "upload_fees")
    h.ok("2205", {"data": {"mdtrt_id": a, "feedetl_sn": "2"}}, a)
    h.ok("2206", {"data": {"mdtrt_id": a}}, a, "presettle_outpatient")
    s1 = _settled(h.ok("2207", {"data": {"mdtrt_id": a}}, a, "settle_outpatient"))
    h.ok("2208", {"data": {"setl_id": s1}}, a, "reopen_outpatient")
    h.ok("2202", {"data": {"mdtrt_id": a}}, a, "cancel")
    h.ok("2202", {"data": {"mdtrt_id": a}}, a, "cancel")  # a repeated cancel
    b = h.ok("2401", {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-06-01"}}, action="admit")["data"]["mdtrt_id"]
    h.ok("2301", {"feedetail": [_line(b, "1"), _line(b, "2")]}, b, "upload_fees")
    h.ok("2302", {"data": {"mdtrt_id": b, "feedetl_sn": "2"}}, b)
    h.ok("2402", {"dscginfo": {"mdtrt_id": b, "endtime": "2022-06-05"}}, b, "discharge")
    h.ok("2301", {"feedetail": [_line(b, "3")]}, b, "upload_fees")
    h.ok("2303", {"mdtrtinfo": {"mdtrt_id": b}}, b, "presettle_inpatient")
    s2 = _settled(h.ok("2304", {"data": {"mdtrt_id": b, "medfee_sumamt": "200.00"}}, b, "settle_inpatient"))
    h.ok("2305", {"data": {"setl_id": s2, "reason": "退费"}}, b, "reopen_inpatient")
    h.ok("2202", {"data": {"mdtrt_id": b}}, b, "cancel")
    c = h.ok("2401", {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-07-01"}})["data"]["mdtrt_id"]
    h.ok("2301", {"feedetail": [_line(c, "1")]}, c, "upload_fees")
    h.ok("2202", {"data": {"mdtrt_id": c}}, c, "cancel")
    d = h.ok("2201", {"data": {"psn_no": "P1", "begntime": "2022-08-01"}})["data"]["mdtrt_id"]
    h.ok("2601", {"data": {"omsgid": f"T{h.sent}", "oinfno": "2201"}}, d, "cancel")  # 冲正 of the registration
    filing = {"psn_no": "P1", "opsp_dise_code": "I10", "ide_fixmedins_no": "H53090200001", "diag_dr_name": "王医生"}
    filed = h.ok("2503", {"data": filing | {"begndate": "2022-03-01", "memo": "诊断证明书已于 2022-03-01 出具，补办"}})
    assert h.ok("5301", {"data": {"psn_no": "P1"}})["feedetail"] == [
        {"opsp_dise_code": "I10", "opsp_dise_name": "高血压", "begndate": "2022-03-01", "enddate": None}
    ]
    assert filed["data"]["opsp_dise_code"] == "I10" and filed["data"]["trt_dcla_detl_sn"]
    period = {"stmt_begndate": "2022-01-01", "stmt_enddate": "2022-12-31"}
    totals = h.ok("3201", {"data": period | {"medfee_sumamt": "0", "fund_pay_sumamt": "0", "fixmedins_setl_cnt": "0"}})
    assert totals["stmtinfo"]["stmt_rslt"] == "0"  # two settlements, both reversed: nothing to pay
    assert h.ok("3202", {"data": period, "detail": []})["stmtinfo"]["stmt_rslt"] == "0"
    assert h.walked == set(TRANSACTIONS)
    assert h.steps == set(lc.TRANSITIONS)
    with db.unit_of_work() as s:
        assert [k for (k,) in s.execute(sa.select(LedgerEntry.kind).order_by(LedgerEntry.id))] == ["settle", "reverse"] * 2


def test_the_table_lists_each_transaction_once_with_its_chinese_name_and_request() -> None:
    parts = input_schema()["properties"]
    for infno, t in TRANSACTIONS.items():
        assert t.infno == infno and len(infno) == 4 and infno.isdigit()
        assert t.name_zh and all("\u4e00" <= ch <= "\u9fff" for ch in t.name_zh), infno
        assert t.request and all(name in parts for name in t.request), infno
        for name, schema in t.request.items():
            fields = schema.get("properties") or schema["items"]["properties"]
            known = parts[name].get("properties") or parts[name]["items"]["properties"]
            assert set(fields) <= set(known), (infno, name)
    reads = {i for i, t in TRANSACTIONS.items() if not t.writes}
    assert reads == {"1101", "2206", "2303", "3201", "3202", "5301"}


SENDS: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    "discharge": ("2402", lambda m: {"dscginfo": {"mdtrt_id": m, "endtime": "2022-06-30"}}),
    "upload_fees": ("2204", lambda m: {"feedetail": [_line(m, "9")]}),
    "presettle_outpatient": ("2206", lambda m: {"data": {"mdtrt_id": m}}),
    "presettle_inpatient": ("2303", lambda m: {"data": {"mdtrt_id": m}}),
    "settle_outpatient": ("2207", lambda m: {"data": {"mdtrt_id": m}}),
    "settle_inpatient": ("2304", lambda m: {"data": {"mdtrt_id": m}}),
    "cancel": ("2202", lambda m: {"data": {"mdtrt_id": m}}),
}
"""How a hospital asks for each step on a visit that exists (new visits and reopening are never refused by status)."""


def test_steps_the_state_table_refuses_name_the_status_and_change_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # the state table alone: the outpatient visit settled here falls in the open stays, which the audit at the
    # counter would refuse (住院期间门诊结算; tests/db/test_audit_counter.py)
    monkeypatch.setenv("YIBAO_AUDIT", "0")
    h = Hospital(db)
    send = h.send

    def visit(infno: str, part: str, begin: str) -> str:
        return str(send(infno, {part: {"psn_no": "P1", "begntime": begin}})["output"]["data"]["mdtrt_id"])

    of: dict[str, str] = {"registered": visit("2201", "data", "2022-05-01"), "admitted": visit("2401", "mdtrtinfo", "2022-05-02")}
    of["discharged"] = visit("2401", "mdtrtinfo", "2022-05-03")
    of["settled"] = visit("2201", "data", "2022-05-04")
    of["cancelled"] = visit("2201", "data", "2022-05-05")
    for status in ("registered", "admitted", "discharged", "settled"):
        assert send("2204", {"feedetail": [_line(of[status], "1")]})["infcode"] == "0"
    assert send("2402", {"dscginfo": {"mdtrt_id": of["discharged"], "endtime": "2022-05-09"}})["infcode"] == "0"
    assert send("2207", {"data": {"mdtrt_id": of["settled"]}})["infcode"] == "0"
    assert send("2202", {"data": {"mdtrt_id": of["cancelled"]}})["infcode"] == "0"
    assert {s: h.status(m) for s, m in of.items()} == {s: s for s in of}
    refused = [(s, a) for s in of for a in SENDS if (s, a) not in lc.TRANSITIONS]
    assert len(refused) == 23
    for status, action in refused:
        before = snapshot(db)
        infno, inp = SENDS[action]
        out = send(infno, inp(of[status]))
        assert out["infcode"] == "-1", (status, action, out)
        assert f"当前就诊状态：{lc.STATUSES[status][0]}" in out["err_msg"], out["err_msg"]
        assert f"不能{lc.ACTIONS[action].zh}" in out["err_msg"] and "字段 mdtrt_id" in out["err_msg"]
        assert snapshot(db) == before, (status, action)


def test_the_counter_settles_and_previews_a_visit_by_the_same_table(db: Database) -> None:
    h = Hospital(db)
    a = str(h.send("2201", {"data": {"psn_no": "P1", "begntime": "2022-05-01"}})["output"]["data"]["mdtrt_id"])
    b = str(h.send("2401", {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-05-02"}})["output"]["data"]["mdtrt_id"])
    assert h.send("2204", {"feedetail": [_line(a, "1")]})["infcode"] == "0"
    assert h.send("2301", {"feedetail": [_line(b, "1")]})["infcode"] == "0"
    with db.unit_of_work() as s:
        ready = {v["mdtrt_id"]: v["ready"] for v in visits.open_visits(s, visits.visit_of_person(s, "P1", a)[1])}
        assert ready == {a: True, b: False}  # the admission must be discharged first
        admitted, _ = visits.visit_of_person(s, "P1", b)
        with pytest.raises(InputError) as refused:
            visits.preview_visit(s, PACK, admitted)
        assert "当前就诊状态：在院，不能住院预结算" in refused.value.render("zh")
        with pytest.raises(InputError, match="a discharged admission"):
            visits.settle_visit(s, PACK, admitted, "clerk", "web:clerk:1")
        outpatient, _ = visits.visit_of_person(s, "P1", a)
        preview = visits.preview_visit(s, PACK, outpatient)
        done = visits.settle_visit(s, PACK, outpatient, "clerk", "web:clerk:2")
        assert (done.settlement.medfee_sumamt, preview.hifp_pay) == (10_000, done.settlement.hifp_pay)
        assert outpatient.status == "settled" and done.entry.mdtrt_id == a and done.entry.setl_date == date(2022, 5, 1)
        s.commit()
    assert h.status(a) == "settled"
    with db.unit_of_work() as s:
        rev = visits.undo_settlement(s, done.entry.setl_id, "退费", "clerk", None, "H53090200001")
        assert rev.reverses == done.entry.setl_id and s.get(Visit, a).status == "registered"  # type: ignore[union-attr]
        # never committed: the reversal is not kept
    assert h.status(a) == "settled"
