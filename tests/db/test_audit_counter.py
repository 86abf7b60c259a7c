"""The audit at the counter (事中) on SQLite and PostgreSQL: 2303/2206 show the findings, 2304/2207 make a 违规
line self-paid with the rule in the trace and on the slip, a refusing rule refuses and writes nothing, a 可疑
finding opens a 疑点; the REST API and the window's counter do the same; reversal and exactly-once hold.

The audit pack is tests/db/audit_counter_pack.yaml (M0001 is restricted to men; 杨桂芳, P1, is a woman)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.accounts import HOSPITAL, OTHER_HOSPITAL, PASSWORD
from tests.browser.test_access import BILL, csrf_of
from tests.db.test_fuzz import _call, _sign_in, snapshot
from tests.db.test_service import PACK, seed
from yibao.app import ledger, slips
from yibao.entrypoints.http import create_app
from yibao.store.audit_tables import AuditFinding, SuspectCase
from yibao.store.db import Database
from yibao.store.service_tables import Visit
from yibao.store.tables import Person

AUDIT_PACK = Path(__file__).with_name("audit_counter_pack.yaml")
MALE_ONLY = "M0001"
EXAM = "001102000010000"


@pytest.fixture(autouse=True)
def audit_pack(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("YIBAO_AUDIT_PACK", str(AUDIT_PACK))
    monkeypatch.delenv("YIBAO_AUDIT", raising=False)
    yield


def fee(sn: str, code: str, yuan: str, cnt: str = "1", day: str | None = None, lv: str = "01") -> dict[str, Any]:
    """A fee line of ``cnt`` units costing ``yuan`` in all (its unit price ``yuan / cnt``)."""
    line = {"feedetl_sn": sn, "med_list_codg": code, "chrgitm_lv": lv, "det_item_fee_sumamt": yuan, "cnt": cnt,
            "pric": str((Decimal(yuan) / Decimal(cnt)).quantize(Decimal("0.01")))}  # fmt: skip
    return line | ({"fee_ocur_time": f"{day} 10:00:00"} if day else {})


class His:
    """An institution's HIS on the national interface, in process."""

    def __init__(self, app: Any, user: str, code: str, prefix: str):
        self.app, self.token, self.code, self.prefix, self.sent = app, _sign_in(app, user), code, prefix, 0

    def send(self, infno: str, inp: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        self.sent += 1
        env = {"infno": infno, "msgid": msgid or f"{self.prefix}{self.sent}", "fixmedins_code": self.code, "input": inp}
        r = _call(self.app, "POST", "/api/hsa", self.token, json=env)
        assert r.status_code == 200, r.text
        return dict(json.loads(r.text, parse_float=Decimal))

    def ok(self, infno: str, inp: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        out = self.send(infno, inp, msgid)
        assert out["infcode"] == "0", (infno, out["err_msg"])
        return dict(out["output"])

    def register(self, psn_no: str, day: str, lines: list[dict[str, Any]], med_type: str = "11", dise: str = "J06") -> str:
        """A registered outpatient visit with its fee lines uploaded (2201, 2204)."""
        data = {"psn_no": psn_no, "begntime": f"{day} 08:00:00", "med_type": med_type, "dise_codg": dise}
        m = str(self.ok("2201", {"data": data})["data"]["mdtrt_id"])
        self.ok("2204", {"feedetail": [ln | {"mdtrt_id": m, "psn_no": psn_no} for ln in lines]})
        return m

    def admit(self, psn_no: str, day: str, dise: str = "C34") -> str:
        data = {"psn_no": psn_no, "begntime": f"{day} 09:00:00", "med_type": "21", "dise_codg": dise}
        return str(self.ok("2401", {"mdtrtinfo": data})["data"]["mdtrt_id"])

    def discharge(self, m: str, psn_no: str, day: str, lines: list[dict[str, Any]]) -> None:
        self.ok("2301", {"feedetail": [ln | {"mdtrt_id": m, "psn_no": psn_no} for ln in lines]})
        self.ok("2402", {"dscginfo": {"mdtrt_id": m, "psn_no": psn_no, "endtime": f"{day} 10:00:00"}})


def _without_ids(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings without their ids (a pre-settlement's are numbered on its own claim id)."""
    dtos = "judge_result_detail_dtos"
    return [
        {k: v for k, v in f.items() if k not in ("jr_id", dtos)}
        | {dtos: [{k: v for k, v in d.items() if k != "jrd_id"} for d in f[dtos]]}
        for f in result
    ]


def hospital(db: Database) -> tuple[Any, His]:
    seed(db)  # 杨桂芳 (P1, a woman), 低保, enrolled 2022; the accounts his (H53090200001) and his2
    app = create_app(db, PACK)
    return app, His(app, "his", HOSPITAL, "A")


def rows(db: Database, table: Any) -> list[Any]:
    with db.unit_of_work() as s:
        return list(s.scalars(sa.select(table).order_by(table.id)))


def test_2303_shows_the_finding_and_2304_makes_the_line_self_paid_with_the_rule_in_trace_and_slip(db: Database) -> None:
    _, his = hospital(db)
    m = his.admit("P1", "2022-06-01")
    his.discharge(m, "P1", "2022-06-05", [fee("1", MALE_ONLY, "500.00"), fee("2", EXAM, "7000.00")])
    pre = his.ok("2303", {"data": {"mdtrt_id": m, "psn_no": "P1"}})
    [found] = pre["audit"]["result"]
    assert (found["rule_id"], found["rule_name"], found["sev_deg"], found["vola_amt"]) == (
        "GL001", "超限定性别", "1", Decimal("500.00"),
    )  # fmt: skip
    assert (
        found["mdtrt_id"] == m
        and found["patn_id"] == "P1"
        and found["vola_cont"].startswith("M0001 限定男")
        and "性别不符" in found["vola_cont"]
    )
    assert [(d["rx_id"], d["vola_amt"]) for d in found["judge_result_detail_dtos"]] == [("1", Decimal("500.00"))]
    assert not rows(db, AuditFinding)  # a pre-settlement writes nothing

    out = his.ok("2304", {"data": {"mdtrt_id": m, "psn_no": "P1"}}, msgid="SETTLE-1")
    info = out["setlinfo"]
    assert _without_ids(out["audit"]["result"]) == _without_ids(pre["audit"]["result"])
    # the refused line is wholly self-paid; the exam stays in the policy range; the parts still add up
    assert (info["medfee_sumamt"], info["fulamt_ownpay_amt"], info["inscp_scp_amt"]) == (
        Decimal("7500.00"), Decimal("500.00"), Decimal("7000.00"),
    )  # fmt: skip
    parts = info["fulamt_ownpay_amt"] + info["overlmt_selfpay"] + info["preselfpay_amt"] + info["inscp_scp_amt"]
    assert parts == info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"]
    setl_id = info["setl_id"]
    [row] = rows(db, AuditFinding)
    assert (row.setl_id, row.rule_code, row.result, row.action, row.stage) == (
        setl_id,
        "GL001",
        "violation",
        "self_pay",
        "during",
    )
    assert json.loads(row.feedetl_sns) == ["1"] and row.amount == 50_000
    assert not rows(db, SuspectCase)  # refused at the counter: the fund paid nothing to review

    with db.unit_of_work() as s:
        slip = slips.build_slip(s, setl_id, PACK)
        trace = ledger.trace_view(ledger.get_entry(s, setl_id).trace)
    by_sn = {r.sn: r for r in slip.fee_rows}
    assert (by_sn["1"].audit_rule, by_sn["1"].fulamt_ownpay, by_sn["1"].inscp) == ("GL001 超限定性别", 50_000, 0)
    assert by_sn["2"].audit_rule == ""
    assert "审核违规转自费：GL001 超限定性别" in slips.render_html(slip)
    assert any("审核规则 GL001「超限定性别」判定违规" in t["zh"] and "500.00" in t["zh"] for t in trace)
    assert any("audit rule GL001" in t["en"] for t in trace)

    # the same msgid answers as the first time and writes nothing new
    again = his.ok("2304", {"data": {"mdtrt_id": m, "psn_no": "P1"}}, msgid="SETTLE-1")
    assert again == out and len(rows(db, AuditFinding)) == 1

    # reversed, the visit settles again: audited again, on the new settlement; the ledger holds
    his.ok("2305", {"data": {"setl_id": setl_id, "mdtrt_id": m, "psn_no": "P1"}})
    resettled = his.ok("2304", {"data": {"mdtrt_id": m, "psn_no": "P1"}}, msgid="SETTLE-2")
    assert resettled["setlinfo"]["fulamt_ownpay_amt"] == Decimal("500.00")
    assert [r.setl_id for r in rows(db, AuditFinding)] == [setl_id, resettled["setlinfo"]["setl_id"]]
    with db.unit_of_work() as s:
        assert ledger.verify(s) == []


def _with_death(db: Database, day: date) -> None:
    with db.unit_of_work() as s:
        s.execute(sa.update(Person).where(Person.psn_no == "P1").values(death_date=day))
        s.commit()


def test_a_refusing_rule_refuses_the_settlement_naming_the_rule_and_writes_nothing(db: Database) -> None:
    _, his = hospital(db)
    m = his.register("P1", "2022-05-01", [fee("1", EXAM, "100.00")])
    _with_death(db, date(2022, 3, 1))
    before = snapshot(db)
    for infno in ("2206", "2207"):
        out = his.send(infno, {"data": {"mdtrt_id": m, "psn_no": "P1"}})
        assert out["infcode"] == "-1", out
        assert all(w in out["err_msg"] for w in ("AD001", "死亡后就医", "拒绝结算", "2022-03-01")), out["err_msg"]
    assert snapshot(db) == before
    with db.unit_of_work() as s:
        v = s.get(Visit, m)
        assert v is not None and v.status == "registered"


def test_a_suspicious_finding_settles_and_opens_a_case(db: Database) -> None:
    _, his = hospital(db)
    first = his.register("P1", "2022-05-03", [fee("1", EXAM, "80.00")])
    his.ok("2207", {"data": {"mdtrt_id": first, "psn_no": "P1"}})
    second = his.register("P1", "2022-05-03", [fee("1", EXAM, "60.00")])
    out = his.ok("2207", {"data": {"mdtrt_id": second, "psn_no": "P1"}})
    [found] = out["audit"]["result"]
    assert (found["rule_id"], found["sev_deg"], found["vola_amt"]) == ("SD001", "2", Decimal("60.00"))
    assert out["setlinfo"]["fulamt_ownpay_amt"] == Decimal("0.00")  # 可疑: settled as it is
    [case] = rows(db, SuspectCase)
    assert (case.rule_code, case.setl_id, case.status, case.amount) == (
        "SD001",
        out["setlinfo"]["setl_id"],
        "first_review",
        6_000,
    )
    [row] = rows(db, AuditFinding)
    assert (row.id, row.action, row.stage, row.result) == (case.finding_id, "flag", "during", "suspicious")


def test_audit_switched_off_settles_as_before(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_AUDIT", "0")
    _, his = hospital(db)
    m = his.register("P1", "2022-05-01", [fee("1", MALE_ONLY, "500.00")])
    out = his.ok("2207", {"data": {"mdtrt_id": m, "psn_no": "P1"}})
    assert "audit" not in out and out["setlinfo"]["fulamt_ownpay_amt"] == Decimal("0.00")
    assert not rows(db, AuditFinding)


def _rest_bill() -> dict[str, Any]:
    lines = [
        {"feedetl_sn": "1", "med_list_codg": MALE_ONLY, "det_item_fee_sumamt": 30_000, "chrgitm_lv": "01"},
        {"feedetl_sn": "2", "med_list_codg": EXAM, "det_item_fee_sumamt": 20_000, "chrgitm_lv": "01"},
    ]
    return {"psn_no": "P1", "setl_date": "2022-05-10", "med_type": "11", "fixmedins_code": HOSPITAL, "fee_lines": lines}


def test_rest_preview_and_settle_answer_the_findings_once(db: Database) -> None:
    app, _ = hospital(db)
    token = _sign_in(app, "clerk")
    pre = _call(app, "POST", "/api/settlements/preview", token, json=_rest_bill())
    assert pre.status_code == 200, pre.text
    [found] = pre.json()["audit"]["findings"]
    assert (found["rule_code"], found["result"], found["action"], found["feedetl_sns"], found["amount"]) == (
        "GL001", "violation", "self_pay", ["1"], 30_000,
    )  # fmt: skip
    assert (found["result_label"], found["action_label"]) == ("违规", "违规明细转自费")
    assert pre.json()["fee_results"][0]["fulamt_ownpay_amt"] == 30_000
    key = {"Idempotency-Key": "REST-AUDIT-1"}
    first = _call(app, "POST", "/api/settlements", token, headers=key, json=_rest_bill())
    second = _call(app, "POST", "/api/settlements", token, headers=key, json=_rest_bill())
    assert first.status_code == second.status_code == 201, first.text
    assert first.json() == second.json() and first.json()["audit"]["findings"] == [found]
    assert first.json()["setlinfo"]["fulamt_ownpay_amt"] == 30_000
    [row] = rows(db, AuditFinding)
    assert row.setl_id == first.json()["setl_id"] and row.action == "self_pay"


def test_the_window_counter_preview_shows_the_findings(db: Database) -> None:
    app, _ = hospital(db)
    clerk = TestClient(app)
    form = clerk.get("/login").text
    signed = clerk.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf": csrf_of(form)}, follow_redirects=False)
    assert signed.status_code == 303
    token = csrf_of(clerk.get("/").text)
    bill = BILL | {"person": "P1", "csrf": token, "medfee_sumamt": "", "med_type": "11"}
    bill |= {"fl0_code": MALE_ONLY, "fl0_lv": "01", "fl0_amt": "300.00", "fixmedins_code": OTHER_HOSPITAL}
    r = clerk.post("/counter/preview", data=bill)
    assert r.status_code == 200, r.text[-2000:]
    assert "智能审核提示" in r.text and "GL001" in r.text and "违规明细转自费" in r.text
    assert not rows(db, AuditFinding)


def test_a_rule_switched_off_by_the_bureau_stops_at_the_next_settlement(db: Database) -> None:
    from yibao.store.audit_tables import AuditRuleChange

    _, his = hospital(db)
    first = his.register("P1", "2022-05-01", [fee("1", MALE_ONLY, "50.00")])
    assert [f["rule_id"] for f in his.ok("2206", {"data": {"mdtrt_id": first, "psn_no": "P1"}})["audit"]["result"]] == ["GL001"]
    with db.unit_of_work() as s:
        s.add(AuditRuleChange(rule_code="GL001", enabled=False, params="{}", reason="test", recorded_at=ledger.now(),
                              recorded_by="auditor"))  # fmt: skip
        s.commit()
    out = his.ok("2207", {"data": {"mdtrt_id": first, "psn_no": "P1"}})
    assert out["audit"]["result"] == [] and out["setlinfo"]["fulamt_ownpay_amt"] == Decimal("0.00")
