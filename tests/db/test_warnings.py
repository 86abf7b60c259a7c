"""The warning list end to end on SQLite and PostgreSQL: monthly runs over the ledger (re-runs add no
duplicates, amounts update), the push list exported as a township would get it, confirmations filled
in and imported back, tilted assistance recorded against a real settlement, closed; a bad workbook
changes nothing; roles; the monthly schedule; the CLI."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from tests.accounts import HOSPITAL
from tests.cli import yibao
from tests.db.test_fuzz import _call, _sign_in
from tests.db.test_service import PACK, seed
from yibao.app import ledger
from yibao.app import warnings as svc
from yibao.app.push_list import CONFIRM_COL, HEADER_ROW
from yibao.app.schedule import run_due
from yibao.entrypoints.http import create_app
from yibao.rules.monitoring import parse_period
from yibao.settlement.model import Claim, PolicyRangeSummary
from yibao.store.db import Database
from yibao.store.monitoring_tables import MonitoringRun, WarningCase, WarningEvent
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

MON = PACK.at(date(2022, 6, 1)).monitoring
assert MON is not None
LINE = MON.threshold("high_self_pay")  # 25% of the (assumed) 30,000-yuan per-capita income: 7,500 yuan


def settle(db: Database, yuan: int, day: str, med_type: str = "21") -> str:
    summary = PolicyRangeSummary(medfee_sumamt=yuan * 100)
    claim = Claim(f"C{day}{yuan}", "P1", date.fromisoformat(day), med_type, 2, "in_county", "", (), summary, HOSPITAL)
    with db.unit_of_work() as s:
        setl_id = str(ledger.settle_claim(s, PACK, claim, "clerk", fixmedins_code=HOSPITAL).entry.setl_id)
        s.commit()
    return setl_id


def ledger_self_pay(db: Database, year: int, end: date) -> int:
    """The rule's measure computed straight from the ledger: psn_part_amt of P1's standing inpatient and chronic
    settlements from 1 January to ``end``."""
    with db.unit_of_work() as s:
        reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.reverses.is_not(None))
        total = s.scalar(
            sa.select(sa.func.sum(LedgerEntry.psn_part_amt)).where(
                LedgerEntry.psn_no == "P1",
                LedgerEntry.kind == "settle",
                LedgerEntry.line.in_(["inpatient", "chronic"]),
                LedgerEntry.setl_date >= date(year, 1, 1),
                LedgerEntry.setl_date <= end,
                LedgerEntry.setl_id.not_in(reversed_ids),
            )
        )
    return int(total or 0)


def snapshot(db: Database) -> list[Any]:
    with db.unit_of_work() as s:
        return [
            [tuple(r) for r in s.execute(sa.select(table).order_by(table.c.id))]
            for table in (WarningCase.__table__, WarningEvent.__table__, MonitoringRun.__table__)
        ]


def test_runs_follow_the_ledger_and_a_re_run_adds_no_duplicates(db: Database) -> None:
    seed(db, category="tuopin")
    with db.unit_of_work() as s:
        s.execute(sa.update(Person).values(hh_no="HH1"))
        s.commit()
    first = settle(db, 100_000, "2022-03-10")
    march = ledger_self_pay(db, 2022, date(2022, 3, 31))
    assert march > LINE  # a 100,000-yuan admission leaves a 脱贫 person more than 7,500 yuan to pay
    r = svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    assert (r.found, r.created, r.updated) == (1, 1, 0)
    again = svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    assert (again.found, again.created, again.updated, again.unchanged) == (1, 0, 0, 1)
    second = settle(db, 30_000, "2022-04-20")
    svc.run_monitoring(db, PACK, parse_period("2022-04"), "monitoring")
    # an earlier period re-run later does not move the amount back
    svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    april = ledger_self_pay(db, 2022, date(2022, 4, 30))
    with db.unit_of_work() as s:
        rows = svc.list_warnings(s)
        assert len(rows) == 1
        w, p = rows[0]
        assert (w.rule, w.kind, w.key, w.status, w.identity, p.psn_name) == (
            "high_self_pay",
            "warning",
            "2022",
            "new",
            "tuopin",
            "杨桂芳",
        )
        assert w.measure_amt == april > march
        assert (w.threshold_amt, w.excess_amt) == (LINE, w.measure_amt - LINE)
        assert json.loads(w.setl_ids) == [first, second] and w.crossing_setl_id == first
        assert (w.first_period, w.last_period) == ("2022-03", "2022-04")
        household = s.scalar(
            sa.select(sa.func.sum(LedgerEntry.psn_part_amt))
            .join(Person, Person.id == LedgerEntry.person_id)
            .where(Person.hh_no == "HH1", LedgerEntry.setl_date <= date(2022, 4, 30))
        )
        assert (w.hh_self_pay, w.hh_persons) == (household, 1)
        events = svc.events_of(s, w.id)
        assert [e.to_status for e in events] == ["new", "new"] and "金额更新" in (events[1].note or "")
        assert s.scalar(sa.select(sa.func.count()).select_from(MonitoringRun)) == 4


def test_a_reversal_takes_the_settlement_out_of_the_measure(db: Database) -> None:
    seed(db, category="tuopin")
    settle(db, 100_000, "2022-03-10")
    with db.unit_of_work() as s:
        [(sid,)] = s.execute(sa.select(LedgerEntry.setl_id)).all()
        ledger.reverse_settlement(s, sid, "录入错误", "clerk")
        s.commit()
    assert ledger_self_pay(db, 2022, date(2022, 3, 31)) == 0
    assert svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring").found == 0


def test_a_warned_person_back_under_the_line_is_updated_not_forgotten(db: Database) -> None:
    seed(db, category="tuopin")
    first = settle(db, 100_000, "2022-03-10")
    small = settle(db, 2_000, "2022-04-02")
    svc.run_monitoring(db, PACK, parse_period("2022-04"), "monitoring")
    with db.unit_of_work() as s:
        ledger.reverse_settlement(s, first, "重复结算", "clerk")
        s.commit()
    left = ledger_self_pay(db, 2022, date(2022, 5, 31))
    assert 0 < left <= LINE  # only the small bill still counts
    r = svc.run_monitoring(db, PACK, parse_period("2022-05"), "monitoring")
    assert (r.found, r.created, r.updated) == (0, 0, 1)
    with db.unit_of_work() as s:
        [(w, _)] = svc.list_warnings(s)
        assert (w.measure_amt, w.excess_amt, w.status, w.last_period) == (left, left - LINE, "new", "2022-05")
        assert json.loads(w.setl_ids) == [small]
        assert "已低于预警线" in (svc.events_of(s, w.id)[-1].note or "")
    # nothing changed since: a re-run records nothing more
    again = svc.run_monitoring(db, PACK, parse_period("2022-05"), "monitoring")
    assert (again.updated, again.unchanged) == (0, 1)


def fill(workbook: bytes, answers: dict[int, str]) -> bytes:
    """Fill the confirmation column as a township would, by warning number."""
    wb = load_workbook(io.BytesIO(workbook))
    for ws in wb.worksheets:
        for row in range(HEADER_ROW + 1, ws.max_row + 1):
            wid = ws.cell(row=row, column=2).value
            if wid in answers:
                ws.cell(row=row, column=CONFIRM_COL, value=answers[wid])
                ws.cell(row=row, column=CONFIRM_COL + 1, value="村委 李华")
                ws.cell(row=row, column=CONFIRM_COL + 2, value="2022-05-06")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_follow_up_from_new_to_closed_over_the_api(db: Database) -> None:
    seed(db, category="tuopin")
    first = settle(db, 100_000, "2022-03-10")
    app = create_app(db, PACK)
    mon = _sign_in(app, "monitoring")
    r = _call(app, "POST", "/api/monitoring/runs", mon, json={"period": "2022-03"})
    assert r.status_code == 200 and r.json()["created"] == 1
    [w] = _call(app, "GET", "/api/warnings?status=new", mon).json()["warnings"]
    wid = w["id"]
    assert w["status_label"] == "新预警" and w["measure_amt"] == ledger_self_pay(db, 2022, date(2022, 3, 31))

    # pushing needs a bureau; the refusal names the field and changes nothing
    before = snapshot(db)
    bad = _call(app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "pushed"})
    assert bad.status_code == 422 and bad.json()["field"] == "bureau"
    assert snapshot(db) == before
    ok = _call(
        app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "pushed", "bureau": ["civil_affairs", "rural_revitalisation"]}
    )
    assert ok.status_code == 200 and ok.json()["bureau_label"] == "民政部门、乡村振兴部门"

    # the push list: one sheet per township, the person and amounts, and an empty confirmation column
    x = _call(app, "GET", "/api/warnings/export.xlsx?kind=warning", mon)
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(x.content)).worksheets[0]
    heads = [c.value for c in ws[HEADER_ROW]]
    assert heads[:6] == ["序号", "预警编号", "村（社区）", "户编号", "姓名", "身份证号码"]
    row = [c.value for c in ws[HEADER_ROW + 1]]
    assert row[1] == wid and row[4] == "杨桂芳" and row[CONFIRM_COL - 1] is None
    assert Decimal(str(row[7])) == Decimal(w["measure_amt"]) / 100 and ws.cell(HEADER_ROW + 1, 8).number_format == "#,##0.00"

    # a bad answer anywhere refuses the whole workbook and changes nothing
    before = snapshot(db)
    files = {"file": ("回执.xlsx", fill(x.content, {wid: "可能"}), XLSX)}
    bad = _call(app, "POST", "/api/warnings/import", mon, files=files)
    assert bad.status_code == 422 and bad.json()["field"] == "核实结果" and "第 4 行" in bad.json()["message"]
    assert snapshot(db) == before

    files = {"file": ("回执.xlsx", fill(x.content, {wid: "是"}), XLSX)}
    got = _call(app, "POST", "/api/warnings/import", mon, files=files)
    assert got.status_code == 200 and got.json()["at_risk"] == 1
    again = _call(app, "POST", "/api/warnings/import", mon, files=files)  # importing the same file twice is harmless
    assert again.status_code == 200
    assert again.json() == {"at_risk": 0, "not_at_risk": 0, "unchanged": 1, "blank": 0, "ignored": 0}

    # assistance must name an entry of this person that paid help: the admission paid no tilted assistance
    # (tests/db/test_warnings_help.py walks the help itself)
    wrong = _call(
        app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "assisted", "amount": "1200.00", "setl_id": "S-none"}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "setl_id"
    unpaid = _call(app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "assisted", "setl_id": first})
    assert unpaid.status_code == 422 and unpaid.json()["field"] == "setl_id"
    closed = _call(app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "closed", "note": "已由民政临时救助"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    detail = _call(app, "GET", f"/api/warnings/{wid}", mon).json()
    steps = [(e["from_status"], e["to_status"], e["recorded_by"]) for e in detail["events"]]
    assert steps == [
        (None, "new", "monitoring"), ("new", "pushed", "monitoring"), ("pushed", "at_risk", "monitoring"),
        ("at_risk", "closed", "monitoring"),
    ]  # fmt: skip
    assert detail["events"][2]["source"] == "回执.xlsx" and "村委 李华" in detail["events"][2]["note"]
    # a closed warning goes no further
    assert (
        _call(app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "pushed", "bureau": ["civil_affairs"]}).status_code
        == 422
    )


def test_roles_on_the_warning_list(db: Database) -> None:
    seed(db, category="tuopin")
    settle(db, 100_000, "2022-03-10")
    app = create_app(db, PACK)
    svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    clerk, analyst, admin = (_sign_in(app, u) for u in ("clerk", "analyst", "admin"))
    assert _call(app, "GET", "/api/warnings", clerk).status_code == 403
    assert _call(app, "GET", "/api/warnings", analyst).status_code == 403
    listed = _call(app, "GET", "/api/warnings", admin)
    assert listed.status_code == 200 and len(listed.json()["warnings"]) == 1
    assert _call(app, "POST", "/api/monitoring/runs", admin, json={"period": "2022-03"}).status_code == 403
    mon = _sign_in(app, "monitoring")
    bad = _call(app, "POST", "/api/monitoring/runs", mon, json={"period": "2022-13"})
    assert bad.status_code == 422 and bad.json()["field"] == "period"


def test_the_monthly_schedule_runs_the_last_complete_month_once(db: Database) -> None:
    seed(db, category="tuopin")
    settle(db, 100_000, "2022-03-10")
    first = run_due(db, PACK, date(2022, 4, 2))
    assert first is not None and (first.period, first.found) == ("2022-03", 1)
    assert run_due(db, PACK, date(2022, 4, 3)) is None
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(MonitoringRun.trigger)) == "schedule"


def settled_file(tmp_path: Path) -> tuple[Database, dict[str, str]]:
    """A SQLite file with the seeded county and one settlement of 1,000 yuan on 10 March 2022, and the environment
    that points the command line at it."""
    url = f"sqlite:///{tmp_path / 'y.db'}"
    db = Database.open(url)
    seed(db, category="tuopin")
    settle(db, 100_000, "2022-03-10")
    db.engine.dispose()
    return db, {"YIBAO_DATABASE_URL": url}


def test_cli_monitor_writes_the_push_list(tmp_path: Path) -> None:
    """In-process (tests/cli.py): the README test runs ``yibao monitor`` in a subprocess."""
    _db, env = settled_file(tmp_path)
    out = tmp_path / "推送清单.xlsx"
    run = yibao("monitor", "--period", "2022-03", "--export", str(out), "--user", "张丽", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "2022年3月：发现 1 人（新增 1" in run.stdout and "杨桂芳" in run.stdout
    ws = load_workbook(out).worksheets[0]
    assert "高额医疗费用负担预警推送清单（2022年3月）" in str(ws.cell(row=1, column=1).value)
    bad = yibao("monitor", "--period", "2022-3", env=env)
    assert bad.returncode == 2 and "--period" in bad.stderr
