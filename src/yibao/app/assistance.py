"""依申请救助 at the counter: preview an application, decide it into the ledger, reverse it.

The rule is the pure :func:`yibao.settlement.application.assist_on_application`; this module reads what it
needs (the person and their year, locked like a settlement: :mod:`yibao.app.person_year`; the bills that stand
in the window; the bills counted by the person's earlier applications that stand) and records the decision.

An application is a ledger entry of its own kind (``apply``, ``setl_id`` ``A…``), written in one transaction
with the accumulators it moves and its ``assistance_application`` row (window, bills counted):

- amounts: ``maf_pay`` = ``fund_pay_sumamt`` = the pay, ``psn_part_amt`` = −pay, every other amount 0
  (``medfee_sumamt`` 0: no new medical cost; the parts still add up, 0 = pay − pay, and the person's yearly
  share in the ledger falls by what the fund gave back);
- ``consumed`` = ``{maf_paid: pay}``: the yearly assistance total the counter's cap counts against, so the
  person's later counter settlements see the limit used; ``verify`` recomputes it like any entry's;
- a reversal is an ordinary ``reverse`` entry (:func:`yibao.app.ledger.reverse_settlement`): the amounts and the
  consumption negated, the limit given back, the bills free for a later application.

Settlement-only readers (reports by claim, monitoring, reconciliation with a hospital, the visit checks) ask for
``kind == "settle"`` and never see an application; the fund report counts it as medical assistance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from yibao.app import ledger
from yibao.app.person_year import PersonYear, first_of_year
from yibao.app.person_year import read as person_year_read
from yibao.app.registry import person_not_found
from yibao.core.errors import InputError, NotFound
from yibao.policy.pack import PolicyPack
from yibao.reports.tables import APPLIED_SCHEMA
from yibao.rules.suspect_workflow import beijing_today
from yibao.settlement.application import ApplicationResult, SettledBill, assist_on_application, window_from
from yibao.settlement.model import SetlDetail, YearToDate
from yibao.settlement.settle import FUND_PAY_TYPE
from yibao.settlement.trace import proc_info, render
from yibao.store.claims import corrected
from yibao.store.ledger_partitions import dated
from yibao.store.service_tables import AssistanceApplication, Institution, LedgerEntry
from yibao.store.tables import Person

KIND = "apply"
LINE = "on_application"


@dataclass(frozen=True)
class CountedBill:
    """A bill in the window, as a clerk sees it: what it cost and what every payer left the person."""

    setl_id: str
    setl_date: date
    fixmedins_code: str | None
    fixmedins_name: str
    med_type: str
    medfee_sumamt: int
    inscp_scp_amt: int
    fund_pay_sumamt: int

    @property
    def left(self) -> int:
        """The policy-range self-pay every payer left (what the application counts)."""
        return max(0, self.inscp_scp_amt - self.fund_pay_sumamt)


@dataclass(frozen=True)
class Application:
    """An application previewed (``setl_id`` ``None``) or decided."""

    person: Person
    result: ApplicationResult
    bills: tuple[CountedBill, ...]
    """The bills counted, oldest first."""
    pack_id: str
    setl_id: str | None = None


def _standing(kind: str) -> sa.ColumnElement[bool]:
    undo = aliased(LedgerEntry)
    return sa.and_(LedgerEntry.kind == kind, ~sa.exists().where(undo.reverses == LedgerEntry.setl_id))


def _bills(s: Session, person_id: int, start: date, end: date) -> list[CountedBill]:
    """The person's settlements dated ``start``..``end`` that stand, oldest first."""
    rows = s.execute(
        sa.select(
            LedgerEntry.setl_id,
            LedgerEntry.setl_date,
            LedgerEntry.fixmedins_code,
            Institution.fixmedins_name,
            LedgerEntry.med_type,
            LedgerEntry.medfee_sumamt,
            LedgerEntry.inscp_scp_amt,
            corrected("fund_pay_sumamt"),  # with any back-pay (补差) the bill had
        )
        .outerjoin(Institution, Institution.fixmedins_code == LedgerEntry.fixmedins_code)
        .where(LedgerEntry.person_id == person_id, dated(LedgerEntry, start, end))
        .where(_standing("settle"))
        .order_by(LedgerEntry.setl_date, LedgerEntry.id)
    )
    return [CountedBill(r[0], r[1], r[2], r[3] or r[2] or "", *r[4:]) for r in rows]


def _earlier(s: Session, person_id: int, psn_no: str) -> list[ApplicationResult]:
    """The person's applications that stand, with the bills each counted (only ``claims`` is read of them)."""
    rows = s.execute(
        sa.select(AssistanceApplication)
        .join(LedgerEntry, LedgerEntry.setl_id == AssistanceApplication.setl_id)
        .where(AssistanceApplication.person_id == person_id, _standing(KIND))
    ).scalars()
    return [ApplicationResult(psn_no, a.applied_on, "", a.window_from, tuple(json.loads(a.claims)), a.base, 0, ()) for a in rows]


def _facts(s: Session, psn_no: str, applied_on: date, lock: bool) -> PersonYear:
    facts = person_year_read(s, psn_no, applied_on.year, lock=lock)
    if facts is None:
        raise person_not_found(psn_no)
    return facts


def _assess(s: Session, pack: PolicyPack, facts: PersonYear, applied_on: date, ytd: YearToDate) -> Application:
    policy = pack.at(applied_on)
    terms = policy.assistance.on_application if policy.assistance is not None else None
    person = facts.person
    window = _bills(s, person.id, window_from(applied_on, terms.window_months), applied_on) if terms is not None else []
    bills = [SettledBill(b.setl_id, person.psn_no, b.setl_date, b.inscp_scp_amt, b.fund_pay_sumamt) for b in window]
    result = assist_on_application(policy, facts.core, bills, applied_on, _earlier(s, person.id, person.psn_no), ytd)
    counted = set(result.claims)
    return Application(person, result, tuple(b for b in window if b.setl_id in counted), pack.pack_id)


def preview(s: Session, pack: PolicyPack, psn_no: str, applied_on: date) -> Application:
    """What an application of ``applied_on`` would pay, with the bills it would count; writes nothing."""
    facts = _facts(s, psn_no, applied_on, lock=False)
    return _assess(s, pack, facts, applied_on, facts.ytd or YearToDate(applied_on.year))


_LEDGER: sa.Table = LedgerEntry.__table__  # type: ignore[assignment]


def apply_for_assistance(
    s: Session, pack: PolicyPack, psn_no: str, applied_on: date | None, clerk: str, *, confirm: bool = False,
    msgid: str | None = None,
) -> Application:  # fmt: skip
    """An application of ``psn_no`` on ``applied_on`` (today in Beijing when ``None``): previewed (writes nothing),
    or with ``confirm`` decided into the ledger (:func:`decide`), in the caller's unit of work."""
    day = applied_on or beijing_today(ledger.now())
    if confirm:
        return decide(s, pack, psn_no, day, clerk, msgid=msgid)
    return preview(s, pack, psn_no, day)


def reverse(s: Session, setl_id: str, reason: str, clerk: str, *, msgid: str | None = None) -> LedgerEntry:
    """Reverse a decided application (with a reason): the limit it used is given back, its bills free again."""
    if ledger.get_entry(s, setl_id).kind != KIND:
        raise NotFound("application", "setl_id", setl_id, "an application (依申请救助) in the ledger")
    return ledger.reverse_settlement(s, setl_id, reason, clerk, msgid=msgid)


def decide(s: Session, pack: PolicyPack, psn_no: str, applied_on: date, clerk: str, *, msgid: str | None = None) -> Application:
    """Decide the application into the ledger (in the caller's unit of work): the person's year locked as for a
    settlement, so two applications (or an application and a settlement) of one person never overlap. Refused
    when it pays nothing (the category may not apply, or the bills stay below the deductible)."""
    facts = _facts(s, psn_no, applied_on, lock=True)
    person = facts.person
    ytd = facts.ytd if facts.ytd is not None else first_of_year(s, person.id, applied_on.year)
    app = _assess(s, pack, facts, applied_on, ytd)
    r = app.result
    if r.pay <= 0:
        raise nothing_to_pay(person.psn_no, r)
    setl_id = ledger.new_setl_id("A")
    detail = SetlDetail(FUND_PAY_TYPE[("assistance", "")], r.base, r.yearly_left, r.pay, proc_info("assistance", r.trace))
    amounts = dict.fromkeys(ledger.AMOUNTS, 0) | {"maf_pay": r.pay, "fund_pay_sumamt": r.pay, "psn_part_amt": -r.pay}
    values = dict(
        setl_id=setl_id, kind=KIND, reverses=None, reason=None, mdtrt_id=None, person_id=person.id, psn_no=person.psn_no,
        fixmedins_code=None, year=applied_on.year, setl_date=applied_on, insutype=facts.core.insutype, med_type="",
        line=LINE, identity=r.identity, hosp_lv=None, place=None, pack_id=pack.pack_id, **amounts,
        consumed=ledger.dumps(r.consumed.to_dict()), setldetail=ledger.dumps([detail]), fee_results="[]",
        trace=ledger.trace_json(r.trace), msgid=msgid, recorded_at=ledger.now(), recorded_by=clerk, visit_seq=None,
    )  # fmt: skip
    s.execute(sa.insert(_LEDGER), values)
    s.add(
        AssistanceApplication(
            setl_id=setl_id, person_id=person.id, applied_on=applied_on, window_from=r.window_from, base=r.base,
            yearly_limit=r.yearly_limit, paid_before=r.paid_before, claims=ledger.dumps(list(r.claims)),
        )
    )  # fmt: skip
    s.flush()
    ledger.write_year(s, person.id, applied_on.year, ytd.plus(r.consumed))
    return Application(person, r, app.bills, pack.pack_id, setl_id)


def nothing_to_pay(psn_no: str, r: ApplicationResult) -> InputError:
    if any(t.key == "not_applicable" for t in r.trace):
        zh = "可依申请救助的身份类别（该人员的身份类别不在政策包依申请救助的范围内）"
        en = "an identity category that may apply for assistance (the person's is not one the pack names)"
    else:
        zh = "有救助金额的申请（回溯期内未计入此前申请的费用未超过起付线，或年度救助限额已用完，本次救助 0 元）"
        en = (
            "an application that pays something (the bills not yet counted stay below the deductible, "
            "or the yearly limit is used up)"
        )
    return InputError(f"person {psn_no}", "applied_on", r.applied_on.isoformat(), en, expected_zh=zh, expected_en=en)


def get(s: Session, setl_id: str) -> Application:
    """A decided application by its ``setl_id`` (``NotFound`` otherwise)."""
    entry = ledger.get_entry(s, setl_id)
    row = s.get(AssistanceApplication, setl_id)
    if entry.kind != KIND or row is None:
        raise NotFound("application", "setl_id", setl_id, "an application (依申请救助) in the ledger")
    person = s.get(Person, entry.person_id)
    assert person is not None
    claims = tuple(json.loads(row.claims))
    steps = tuple(ledger.stored_steps(entry.trace))
    result = ApplicationResult(
        entry.psn_no, row.applied_on, entry.identity, row.window_from, claims, row.base, entry.maf_pay, steps,
        row.yearly_limit, row.paid_before,
    )  # fmt: skip
    counted = set(claims)
    bills = tuple(b for b in _bills(s, entry.person_id, row.window_from, row.applied_on) if b.setl_id in counted)
    return Application(person, result, bills, entry.pack_id, setl_id)


def of_person(s: Session, person_id: int) -> list[dict[str, Any]]:
    """The person's applications, newest first: id, day, pay, base, bills counted, who and when, reversed by."""
    undo = aliased(LedgerEntry)
    rows = s.execute(
        sa.select(LedgerEntry, AssistanceApplication, undo.setl_id)
        .join(AssistanceApplication, AssistanceApplication.setl_id == LedgerEntry.setl_id)
        .outerjoin(undo, undo.reverses == LedgerEntry.setl_id)
        .where(LedgerEntry.person_id == person_id, LedgerEntry.kind == KIND)
        .order_by(LedgerEntry.id.desc())
    )
    return [
        {
            "setl_id": e.setl_id,
            "applied_on": a.applied_on.isoformat(),
            "window_from": a.window_from.isoformat(),
            "identity": e.identity,
            "base": a.base,
            "maf_pay": e.maf_pay,
            "bills": len(json.loads(a.claims)),
            "recorded_by": e.recorded_by,
            "recorded_at": e.recorded_at.isoformat(),
            "reversed_by": reversed_by,
        }
        for e, a, reversed_by in rows
    ]


def application_json(app: Application, lang: str = "zh") -> dict[str, Any]:
    """An application as the REST API answers it (fen)."""
    r = app.result
    return {
        "setl_id": app.setl_id,
        "psn_no": r.psn_no,
        "applied_on": r.applied_on.isoformat(),
        "window_from": r.window_from.isoformat(),
        "identity": r.identity,
        "base": r.base,
        "maf_pay": r.pay,
        "yearly_limit": r.yearly_limit,
        "paid_before": r.paid_before,
        "pack_id": app.pack_id,
        "bills": [
            {
                "setl_id": b.setl_id,
                "setl_date": b.setl_date.isoformat(),
                "fixmedins_code": b.fixmedins_code,
                "medfee_sumamt": b.medfee_sumamt,
                "inscp_scp_amt": b.inscp_scp_amt,
                "fund_pay_sumamt": b.fund_pay_sumamt,
                "self_pay_left": b.left,
            }
            for b in app.bills
        ],
        "trace": [{"tier": tier, "text": text} for tier, text in render(r.trace, lang)],
    }


def paid(s: Session, start: date, end: date, place: Mapping[str, str | None] | None = None) -> pl.DataFrame:
    """What applications dated ``start``..``end`` paid, net of their reversals, by month (:data:`APPLIED_SCHEMA`, the
    fund report's 依申请救助); ``place`` (county / township / village) keeps its people's."""
    month = sa.func.substr(sa.cast(LedgerEntry.setl_date, sa.String), 1, 7)
    q = (
        sa.select(month, sa.func.sum(LedgerEntry.maf_pay))
        .where(
            LedgerEntry.line == LINE,
            dated(LedgerEntry, start, end),
        )
        .group_by(month)
        .order_by(month)
    )
    wanted = {k: v for k, v in (place or {}).items() if v}
    if wanted:
        q = q.join(Person, Person.id == LedgerEntry.person_id).where(*(getattr(Person, k) == v for k, v in wanted.items()))
    return pl.DataFrame([(m, int(v)) for m, v in s.execute(q)], schema=APPLIED_SCHEMA, orient="row")
