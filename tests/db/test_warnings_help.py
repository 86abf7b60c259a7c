"""Warnings that end in help (issue 16 item 7), on SQLite and PostgreSQL through the ``db`` fixture (Huaibei pack).

- ``assisted`` names the ledger entry that paid the help: a standing settlement of the person that paid tilted
  assistance, or an application for assistance; anything else is refused naming why, and changes nothing.
- a person confirmed at risk is given a tilted-assistance identity from the warning (source 监测预警, first and
  last day, who and when); a later bill pays tilted assistance at settlement, and the warning records it.
- an ordinary-resident candidate applies and is paid from the warning (one transaction with the ``apply`` entry);
  closed, the amount stays on it; a later rise re-opens it (closed → new) with the rise on its timeline.
- the push list downloaded with no filter imports back: rows not awaiting a confirmation are ignored and counted.
- ``/api/settlements/{id}/reverse`` of an application needs ``assistance`` (and a settlement ``reverse``).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.accounts import HOSPITAL, csrf_of, signed_in
from tests.cli import yibao
from tests.db.test_fuzz import _call, _sign_in
from tests.db.test_service import PACK, seed
from tests.db.test_sign_in import _cli_url
from tests.db.test_warnings import XLSX, settle, snapshot
from yibao.app import assistance, ledger, settlements
from yibao.app import warnings as svc
from yibao.app.auth import NotPermitted, Principal
from yibao.app.push_list import CONFIRM_COL, HEADER_ROW
from yibao.core.errors import InputError
from yibao.core.money import apply_ratio
from yibao.entrypoints.http import create_app
from yibao.rules.monitoring import parse_period
from yibao.settlement.model import Claim, PolicyRangeSummary
from yibao.store.db import Database
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Enrolment, Identity, Person


def entry(db: Database, setl_id: str) -> LedgerEntry:
    with db.unit_of_work() as s:
        e = ledger.get_entry(s, setl_id)
        s.expunge(e)
        return e


def warned(db: Database, category: str = "tuopin", yuan: int = 100_000) -> tuple[int, str]:
    """P1 (``category``) over the line after a March admission, the monthly run done: (warning number, the
    admission's setl_id)."""
    seed(db, category=category)
    first = settle(db, yuan, "2022-03-10")
    svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    with db.unit_of_work() as s:
        [(w, _)] = svc.list_warnings(s)
        return w.id, first


def confirmed(db: Database) -> tuple[int, str]:
    wid, first = warned(db)
    with db.unit_of_work() as s:
        svc.step(s, wid, "pushed", "monitoring", bureaus=["rural_revitalisation"])
        svc.step(s, wid, "at_risk", "monitoring", pack=PACK, on=date(2022, 4, 1))
        s.commit()
    return wid, first


def refused(db: Database, wid: int, **step: Any) -> InputError:
    before = snapshot(db)
    with db.unit_of_work() as s, pytest.raises(InputError) as info:
        svc.step(s, wid, "assisted", "monitoring", **step)
    assert snapshot(db) == before
    return info.value


def test_assisted_names_an_entry_that_paid_help_and_the_tilted_identity_makes_later_bills_pay_it(db: Database) -> None:
    wid, first = confirmed(db)
    assert entry(db, first).oth_pay == 0  # stable 脱贫 is no tilted-assistance category in Huaibei
    # the admission that raised the warning paid no tilted assistance: refused, saying so
    e = refused(db, wid, setl_id=first)
    assert e.field == "setl_id" and "倾斜救助为 0" in e.render("zh") and "paid none" in e.render("en")
    assert refused(db, wid, setl_id="S-none").field == "setl_id"

    # the tilted-assistance identity from the warning: refusals first, nothing written
    def grant(category: str, first_day: date, last_day: date | None = None) -> Identity:
        with db.unit_of_work() as s:
            done = svc.grant_tilted_identity(s, PACK, wid, category, first_day, last_day, "monitoring", source="web")
            s.commit()
            s.expunge(done)
            return done

    for category, first_day, last_day, field in (
        ("tuopin", date(2022, 4, 1), None, "category"),  # not a tilted-assistance category
        ("jiance", date(2022, 3, 1), None, "valid_from"),  # before the line was crossed (2022-03-10)
        ("jiance", date(2022, 4, 1), date(2022, 3, 31), "valid_to"),
    ):
        before = snapshot(db)
        with pytest.raises(InputError) as info:
            grant(category, first_day, last_day)
        assert info.value.field == field and snapshot(db) == before
    given = grant("jiance", date(2022, 4, 1), date(2022, 12, 31))
    assert (given.category, given.valid_from, given.valid_to, given.source_bureau, given.recorded_by) == (
        "jiance", date(2022, 4, 1), date(2022, 12, 31), "监测预警", "monitoring",
    )  # fmt: skip
    with pytest.raises(InputError) as info:  # the person now gets tilted assistance: a second one is refused
        grant("fanpin", date(2022, 5, 1))
    assert info.value.field == "category"

    # a later bill: settled as 监测 (it ranks above 脱贫), and it pays tilted assistance
    later = settle(db, 400_000, "2022-05-10")
    paid = entry(db, later)
    assert paid.identity == "jiance" and paid.oth_pay > 0
    # Huaibei tilted assistance (threshold 10,000 yuan, 50%, cap 20,000): on the policy-range self-pay the earlier
    # tiers left, counted from the first bill in a tilted category this year, which this one is
    ta = PACK.at(date(2022, 5, 10)).tilted_assistance
    assert ta is not None and (ta.threshold, ta.ratio, ta.cap) == (1_000_000, 5_000, 2_000_000)
    left = paid.inscp_scp_amt - paid.hifp_pay - paid.hifmi_pay - paid.maf_pay
    assert left > 1_000_000 and paid.oth_pay == min(apply_ratio(left - 1_000_000, 5_000), 2_000_000)

    # the amount must be what that entry paid (it may be left out); another person's entry is refused
    assert refused(db, wid, setl_id=later, amount=paid.oth_pay + 1).field == "amount"
    with db.unit_of_work() as s:
        w = svc.step(s, wid, "assisted", "monitoring", setl_id=later, note="县医保局倾斜救助")
        s.commit()
        assert (w.status, w.assisted_amt, w.assisted_setl_id) == ("assisted", paid.oth_pay, later)
    app = create_app(db, PACK)
    mon = _sign_in(app, "monitoring")
    one = _call(app, "GET", f"/api/warnings/{wid}", mon).json()
    assert one["recorded_identity"]["text"] == "监测人口（监测预警，自 2022-04-01 至 2022-12-31，monitoring 登记）"
    assert [(e["to_status"], e["source"]) for e in one["events"]][-2:] == [("at_risk", "web"), ("assisted", "api")]
    assert "登记倾斜救助身份：2022-04-01 至 2022-12-31" in [e["note"] for e in one["events"]]
    assert _call(app, "GET", f"/api/warnings/{wid}?lang=en", mon).json()["events"][-2]["note"] == (
        "tilted-assistance identity recorded: 2022-04-01 to 2022-12-31"
    )


def test_a_reversed_settlement_or_someone_elses_is_refused(db: Database) -> None:
    wid, first = confirmed(db)
    with db.unit_of_work() as s:
        svc.grant_tilted_identity(s, PACK, wid, "jiance", date(2022, 4, 1), None, "monitoring")
        s.commit()
    later = settle(db, 400_000, "2022-05-10")
    with db.unit_of_work() as s:
        undo = ledger.reverse_settlement(s, later, "录入错误", "clerk").setl_id
        s.commit()
    e = refused(db, wid, setl_id=later)
    assert e.field == "setl_id" and undo in e.render("zh")
    other = add_person(db, "P2", "ordinary")
    with db.unit_of_work() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.psn_no == other))
        s.execute(sa.update(LedgerEntry).where(LedgerEntry.setl_id == first).values(person_id=pid))
        s.commit()
    e = refused(db, wid, setl_id=first)
    assert e.field == "setl_id" and "本人的结算" in e.render("zh")


def add_person(db: Database, psn_no: str, category: str) -> str:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        p = Person(psn_no=psn_no, certno=f"53090219700101{len(psn_no):03d}X", psn_name="王春兰", gend="2",
                   brdy=date(1970, 1, 1), village="那招村", township="博尚镇", recorded_at=now, recorded_by="seed")  # fmt: skip
        s.add(p)
        s.flush()
        if category != "ordinary":
            s.add(Identity(person_id=p.id, category=category, valid_from=date(2021, 1, 1), source_bureau="民政",
                           recorded_at=now, recorded_by="seed"))  # fmt: skip
        s.add(Enrolment(person_id=p.id, year=2022, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by="seed"))
        s.commit()
    return psn_no


def settle_for(db: Database, psn_no: str, yuan: int, day: str) -> str:
    summary = PolicyRangeSummary(medfee_sumamt=yuan * 100)
    claim = Claim(f"C{psn_no}{day}{yuan}", psn_no, date.fromisoformat(day), "21", 3, "in_county", "", (), summary, HOSPITAL)
    with db.unit_of_work() as s:
        setl_id = str(ledger.settle_claim(s, PACK, claim, "clerk", fixmedins_code=HOSPITAL).entry.setl_id)
        s.commit()
    return setl_id


def candidate(db: Database) -> tuple[int, str]:
    """P1, an ordinary resident, over the catastrophic-spending line (15,000 yuan) after a March admission: the
    candidate's warning number and the admission."""
    seed(db)
    with db.unit_of_work() as s:
        s.execute(sa.delete(Identity))
        s.commit()
    first = settle(db, 400_000, "2022-03-10")
    r = svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    assert r.by_rule == {"catastrophic_ordinary": 1}
    with db.unit_of_work() as s:
        [(w, _)] = svc.list_warnings(s)
        assert (w.kind, w.status, w.identity) == ("candidate", "new", "ordinary")
        return w.id, first


def test_a_candidate_applies_is_paid_from_the_warning_closes_with_its_amount_and_a_rise_re_opens_it(db: Database) -> None:
    wid, first = candidate(db)
    bill = entry(db, first)
    base = bill.inscp_scp_amt - bill.fund_pay_sumamt
    # Huaibei 依申请救助 (assumed terms): 50% above 15,000 yuan of the window's policy-range self-pay, at most
    # 20,000 yuan per application
    terms = PACK.at(date(2022, 6, 30)).assistance
    assert terms is not None and terms.on_application is not None
    on_app = terms.on_application
    assert (on_app.window_months, on_app.deductible, on_app.ratio, on_app.limit) == (12, 1_500_000, 5_000, 2_000_000)
    app = create_app(db, PACK)
    mon, clerk, admin = (_sign_in(app, u) for u in ("monitoring", "clerk", "admin"))
    for token in (clerk, admin):  # clerk: no warnings at all; admin: reads them, works none
        r = _call(app, "POST", f"/api/warnings/{wid}/application", token, json={"applied_on": "2022-06-30"})
        assert r.status_code == 403
    before = snapshot(db)
    late = _call(app, "POST", f"/api/warnings/{wid}/application", mon, json={"applied_on": "2022-02-28"})
    assert late.status_code == 422 and late.json()["field"] == "applied_on"  # nothing in the window yet: pays 0
    assert snapshot(db) == before
    r = _call(app, "POST", f"/api/warnings/{wid}/application", mon, json={"applied_on": "2022-06-30"},
              headers={"Idempotency-Key": "w-apply-1"})  # fmt: skip
    assert r.status_code == 201, r.text
    done = r.json()
    setl_id = done["application"]["setl_id"]
    pay = min(apply_ratio(base - 1_500_000, 5_000), 2_000_000)
    assert (base, pay) == (4_707_300, 1_603_650)  # (47,073.00 - 15,000) x 50% = 16,036.50, under the 20,000 limit
    assert (done["status"], done["assisted_amt"], done["assisted_setl_id"], done["application"]["maf_pay"]) == (
        "assisted", pay, setl_id, pay,
    )  # fmt: skip
    a = entry(db, setl_id)
    assert (a.kind, a.maf_pay, a.psn_part_amt, a.recorded_by) == ("apply", pay, -pay, "monitoring")
    again = _call(app, "POST", f"/api/warnings/{wid}/application", mon, json={"applied_on": "2022-06-30"},
                  headers={"Idempotency-Key": "w-apply-1"})  # fmt: skip
    assert again.status_code == 201 and again.json()["application"]["setl_id"] == setl_id  # once per key
    with db.unit_of_work() as s:
        assert len(assistance.of_person(s, a.person_id)) == 1

    closed = _call(app, "POST", f"/api/warnings/{wid}/steps", mon, json={"to": "closed", "note": "已依申请救助"})
    assert closed.status_code == 200 and (closed.json()["status"], closed.json()["assisted_amt"]) == ("closed", pay)
    page = signed_in(app, "monitoring").get(f"/warnings/{wid}").text
    assert f'href="/assistance/{setl_id}"' in page and "已办结" in page

    # a later admission: the run re-opens the closed warning, the help recorded stays on it
    settle(db, 100_000, "2022-08-10")
    svc.run_monitoring(db, PACK, parse_period("2022-08"), "monitoring")
    detail = _call(app, "GET", f"/api/warnings/{wid}", mon).json()
    assert (detail["status"], detail["assisted_amt"], detail["assisted_setl_id"]) == ("new", pay, setl_id)
    last = detail["events"][-1]
    assert (last["from_status"], last["to_status"], last["source"]) == ("closed", "new", "monitoring:manual")
    assert last["note"].startswith("办结后金额上升，重新打开：") and last["amount"] == detail["measure_amt"]


def test_the_push_list_downloaded_with_no_filter_imports_back_ignoring_rows_not_awaiting_a_confirmation(
    db: Database,
) -> None:
    wid, _ = warned(db)  # P1: pushed, confirmed at risk (是 printed in its row), closed
    add_person(db, "P2", "tuopin")
    settle_for(db, "P2", 100_000, "2022-03-12")
    svc.run_monitoring(db, PACK, parse_period("2022-03"), "monitoring")
    with db.unit_of_work() as s:
        other = s.scalar(sa.select(WarningCase.id).where(WarningCase.psn_no == "P2"))
        assert other is not None
        for n in (wid, other):
            svc.step(s, n, "pushed", "monitoring", bureaus=["civil_affairs"])
        svc.step(s, wid, "at_risk", "monitoring", pack=PACK, on=date(2022, 4, 1))
        svc.step(s, wid, "closed", "monitoring", note="已由民政临时救助")
        s.commit()
    app = create_app(db, PACK)
    mon = _sign_in(app, "monitoring")
    listed = _call(app, "GET", "/api/warnings/export.xlsx", mon)  # no filter: every warning, the closed one too
    wb = load_workbook(io.BytesIO(listed.content))
    rows = {ws.cell(r, 2).value: (ws, r) for ws in wb.worksheets for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    assert set(rows) == {wid, other}
    ws, r = rows[wid]
    assert ws.cell(r, CONFIRM_COL).value == "是"  # the closed warning's confirmation, as recorded
    ws, r = rows[other]
    ws.cell(r, CONFIRM_COL, value="是")
    ws.cell(r, CONFIRM_COL + 1, value="村委 李华")
    out = io.BytesIO()
    wb.save(out)
    files = {"file": ("回执.xlsx", out.getvalue(), XLSX)}
    got = _call(app, "POST", "/api/warnings/import", mon, files=files)
    assert got.status_code == 200, got.text
    assert got.json() == {"at_risk": 1, "not_at_risk": 0, "unchanged": 0, "blank": 0, "ignored": 1}
    with db.unit_of_work() as s:
        assert (svc.get_warning(s, wid).status, svc.get_warning(s, other).status) == ("closed", "at_risk")
    # the window says what was ignored
    client = signed_in(app, "monitoring")
    page = client.get("/warnings")
    r2 = client.post("/warnings/import", data={"csrf": csrf_of(page.text)}, files=files, follow_redirects=True)
    assert r2.status_code == 200 and "未变 1" in r2.text and "已忽略 1" in r2.text


def test_reversing_an_application_through_the_settlements_route_needs_assistance(db: Database) -> None:
    wid, first = candidate(db)
    with db.unit_of_work() as s:
        _, app_done = svc.assist_by_application(s, PACK, wid, date(2022, 6, 30), "monitoring")
        s.commit()
    applied = str(app_done.setl_id)
    # the rule, once, in the use case: a role with ``reverse`` but not ``assistance`` is refused, nothing written
    no_assistance = Principal("h", "institution", None, "医院")
    before = snapshot(db)
    with db.unit_of_work() as s, pytest.raises(NotPermitted) as info:
        settlements.reverse(s, applied, "重复申请", no_assistance, None)
    assert info.value.permission == "assistance" and snapshot(db) == before
    app = create_app(db, PACK)
    mon, clerk = _sign_in(app, "monitoring"), _sign_in(app, "clerk")
    # monitoring staff decide applications, but reverse no settlement
    r = _call(app, "POST", f"/api/settlements/{first}/reverse", mon, json={"reason": "录入错误"})
    assert r.status_code == 403 and r.json()["detail"]["expected"] == "reverse"
    r = _call(app, "POST", f"/api/settlements/{applied}/reverse", mon, json={"reason": "重复申请"})
    assert r.status_code == 201, r.text
    assert r.json()["reverses"] == applied and r.json()["maf_pay"] == -app_done.result.pay
    # the warning keeps the help it recorded and says it no longer stands, naming the reversal
    undo = r.json()["setl_id"]
    detail = _call(app, "GET", f"/api/warnings/{wid}", mon).json()
    assert (detail["assisted_setl_id"], detail["help_reversed_by"]) == (applied, undo)
    listed = _call(app, "GET", "/api/warnings", mon).json()["warnings"]
    assert [w["help_reversed_by"] for w in listed if w["id"] == wid] == [undo]
    page = signed_in(app, "monitoring").get(f"/warnings/{wid}").text
    assert re.search(rf'id="help-reversed">该笔已冲正 <a href="/settlements/{undo}">', page), page
    shown = yibao("warnings", "show", str(wid), env={"YIBAO_DATABASE_URL": _cli_url(db), "COLUMNS": "200"})
    assert shown.returncode == 0 and f"（该笔已冲正：{undo}）" in shown.stdout, shown.stdout + shown.stderr
    r = _call(app, "POST", f"/api/settlements/{first}/reverse", clerk, json={"reason": "录入错误"})
    assert r.status_code == 201


def test_the_window_forms_are_refused_to_other_roles_and_errors_stay_beside_their_fields(db: Database) -> None:
    wid, _ = confirmed(db)
    app = create_app(db, PACK)
    for user in ("clerk", "analyst", "admin"):
        client = signed_in(app, user)
        csrf = csrf_of(client.get("/").text)
        form = {"csrf": csrf, "category": "jiance", "valid_from": "2022-04-01"}
        r = client.post(f"/warnings/{wid}/identity", data=form, follow_redirects=False)
        assert r.status_code == 403 and "无权" in r.text, user
        if user == "clerk":  # decides applications, but none made from a warning: that is the warning's work
            asked = {"csrf": csrf, "on": "2022-06-30", "idem": "0" * 24, "warning": str(wid)}
            r = client.post("/persons/P1/assistance", data=asked, follow_redirects=False)
            assert r.status_code == 403 and "无权" in r.text
    client = signed_in(app, "monitoring")
    page = client.get(f"/warnings/{wid}")
    assert 'id="identity-form"' in page.text and 'value="jiance"' in page.text and 'value="tekun"' in page.text
    before = snapshot(db)
    bad = {"csrf": csrf_of(page.text), "category": "jiance", "valid_from": "2022-03-01", "valid_to": "2022-12-31"}
    r = client.post(f"/warnings/{wid}/identity", data=bad, follow_redirects=False)
    assert r.status_code == 422 and 'id="e-valid_from"' in r.text and "2022-03-10" in r.text
    assert snapshot(db) == before
    good = bad | {"valid_from": "2022-04-01"}
    r = client.post(f"/warnings/{wid}/identity", data=good, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/warnings/{wid}").text
    assert "监测人口（监测预警，自 2022-04-01 至 2022-12-31，monitoring 登记）" in page
    assert 'id="identity-form"' in page  # still at risk: another identity may be needed; a second one is refused
