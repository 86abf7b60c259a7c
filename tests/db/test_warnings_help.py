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
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.accounts import HOSPITAL, csrf_of, signed_in
from tests.db.test_fuzz import _call, _sign_in
from tests.db.test_service import PACK, seed
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
from yibao.store.monitoring_tables import WarningCase, WarningEvent
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
