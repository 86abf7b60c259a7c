"""Visits a hospital system registered (就诊): their fee lines as a claim, settling and reopening them.

The steps follow the state table :mod:`yibao.rules.visit_lifecycle`. The national interface
(:mod:`yibao.app.national`) and the web counter both settle a visit here, each finding the visit
its own way (the institution's ``mdtrt_id``; the person chosen at the counter).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app import audit_counter, ledger
from yibao.app.person_year import PersonYear
from yibao.app.registry import find_person
from yibao.core.errors import InputError, NotFound
from yibao.policy.pack import PolicyPack
from yibao.rules import visit_lifecycle as lifecycle
from yibao.settlement.model import Claim, FeeLine, Place, Settlement
from yibao.store.service_tables import FeeLineRow, Institution, LedgerEntry, Visit
from yibao.store.tables import Person


def locked(s: Session, mdtrt_id: str) -> Visit | None:
    """The visit, read afresh with its row locked for the rest of the transaction (``SELECT … FOR UPDATE`` on
    PostgreSQL; on SQLite the write transaction already holds the database).

    Every step on a visit starts here, so two settlements of one visit (two msgids, two server processes) take
    turns: the second finds the visit settled. Lock order: the visit, then the person's year (:mod:`ledger`).
    """
    return s.get(Visit, mdtrt_id, with_for_update=True, populate_existing=True)


def move(visit: Visit, action: str, where: str) -> None:
    """Take the step ``action`` (:data:`~yibao.rules.visit_lifecycle.TRANSITIONS`), or refuse it naming the status."""
    visit.status = lifecycle.step(visit.status, action, where, visit.mdtrt_id)


def _unsettled_lines(mdtrt_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(FeeLineRow.mdtrt_id == mdtrt_id, FeeLineRow.cancelled.is_(False), FeeLineRow.setl_id.is_(None))


def claim_of(s: Session, visit: Visit, setl_id: str) -> Claim:
    """The visit's unsettled fee lines as a claim for the pure core, dated on discharge (else the visit's day)."""
    inst = s.get(Institution, visit.fixmedins_code)
    assert inst is not None
    rows = s.scalars(sa.select(FeeLineRow).where(_unsettled_lines(visit.mdtrt_id)).order_by(FeeLineRow.id)).all()
    if not rows:
        raise InputError(str(visit.mdtrt_id), "feedetail", 0, "fee lines uploaded for this visit (2204/2301) before settling")
    lines = tuple(
        FeeLine(r.feedetl_sn, r.med_list_codg, r.det_item_fee_sumamt, r.chrgitm_lv, Decimal(r.cnt), r.pric, r.med_list_name or "")
        for r in rows
    )
    day = visit.endtime or visit.begntime
    place = cast(Place, inst.place)
    return Claim(
        setl_id,
        visit.psn_no,
        day,
        visit.med_type,
        inst.hosp_lv,
        place,
        visit.dise_codg or "",
        lines,
        None,
        visit.fixmedins_code,
        township=inst.township or "",
    )


def claim_to_settle(s: Session, visit: Visit, action: str, where: str, setl_id: str) -> Claim:
    """The claim of a visit whose status allows ``action`` (a pre-settlement or a settlement).

    A settled visit is refused naming the settlement that stands ("已结算，结算ID …").
    """
    if visit.status == "settled":
        standing, _ = ledger.visit_settlements(s, visit.mdtrt_id)
        if standing:
            raise ledger.already_settled(where, visit.mdtrt_id, standing[-1], lifecycle.ACTIONS[action].zh)
    lifecycle.step(visit.status, action, where, visit.mdtrt_id)
    return claim_of(s, visit, setl_id)


def record_settlement(
    s: Session, pack: PolicyPack, visit: Visit, claim: Claim, action: str, user: str, msgid: str | None, channel: str = "api"
) -> ledger.Settled:
    """Audit and settle ``claim`` (the visit's, from :func:`claim_to_settle`) into the ledger; its fee lines and the
    visit settled, the audit's findings recorded (:mod:`yibao.app.audit_counter`). The person and their year are
    one read (:func:`yibao.app.ledger.person_year`), after the visit's lock: the one lock order."""
    facts = ledger.person_year(s, claim, fixmedins_code=visit.fixmedins_code, mdtrt_id=visit.mdtrt_id)
    audit = audit_counter.check(s, pack, claim, facts.person, visit)
    done = ledger.settle_claim(
        s, pack, audit.claim, user, mdtrt_id=visit.mdtrt_id, fixmedins_code=visit.fixmedins_code, msgid=msgid,
        setl_id=claim.claim_id, facts=facts,
    )  # fmt: skip
    audit_counter.record(s, audit, done.entry, user, channel)
    done.audit = audit
    s.execute(sa.update(FeeLineRow).where(_unsettled_lines(visit.mdtrt_id)).values(setl_id=claim.claim_id))
    move(visit, action, "settle")
    return done


def preview_claim(
    s: Session, pack: PolicyPack, claim: Claim, facts: PersonYear | None, visit: Visit | None
) -> tuple[Settlement, audit_counter.CounterAudit]:
    """The pre-settlement of ``claim`` with what the audit finds on it (``facts``: its person and year when the
    caller has read them); writes nothing."""
    facts = facts or ledger.person_year(s, claim, lock=False)
    audit = audit_counter.check(s, pack, claim, facts.person, visit, "pre-settle")
    return ledger.preview(s, pack, audit.claim, facts=facts), audit


def audited_preview(s: Session, pack: PolicyPack, visit: Visit) -> tuple[Settlement, audit_counter.CounterAudit]:
    """The counter's pre-settlement of a visit (inpatient stays once discharged) and its audit; writes nothing."""
    claim = claim_to_settle(s, visit, lifecycle.settle_action(visit.med_type, pre=True), "pre-settle", ledger.new_setl_id())
    return preview_claim(s, pack, claim, None, visit)


def preview_visit(s: Session, pack: PolicyPack, visit: Visit) -> Settlement:
    """The counter's pre-settlement of a visit (:func:`audited_preview` without the findings)."""
    return audited_preview(s, pack, visit)[0]


def settle_visit(
    s: Session, pack: PolicyPack, visit: Visit, user: str, msgid: str | None, channel: str = "web"
) -> ledger.Settled:
    """The counter's settlement of a visit: as 2207 (outpatient) or 2304 (a discharged inpatient stay) would."""
    action = lifecycle.settle_action(visit.med_type)
    claim = claim_to_settle(s, visit, action, "settle", ledger.new_setl_id())
    return record_settlement(s, pack, visit, claim, action, user, msgid, channel)


def undo_settlement(s: Session, setl_id: str, reason: str, user: str, msgid: str | None, fixmedins_code: str) -> LedgerEntry:
    """Reverse the settlement of a visit of ``fixmedins_code``: its fee lines free again and the visit open as it was."""
    entry = ledger.get_entry(s, setl_id, fixmedins_code)  # another institution's: as unknown
    visit = locked(s, entry.mdtrt_id) if entry.mdtrt_id else None  # before the person's year: the one lock order
    rev = ledger.reverse_settlement(s, setl_id, reason, user, msgid=msgid)
    s.execute(sa.update(FeeLineRow).where(FeeLineRow.setl_id == setl_id).values(setl_id=None))
    if visit is not None and visit.status == "settled":  # a REST settlement naming a visit never settled it
        move(visit, lifecycle.reopen_action(visit.med_type, visit.endtime is not None), "settle cancel")
    return rev


def visit_of_person(s: Session, person_key: str, mdtrt_id: str) -> tuple[Visit, Person]:
    """The visit ``mdtrt_id`` of the person ``person_key`` (as chosen at the counter)."""
    person = find_person(s, person_key)
    visit = locked(s, mdtrt_id)
    if visit is None or visit.person_id != person.id:
        raise NotFound("counter", "mdtrt_id", mdtrt_id, f"a visit of {person.psn_no} uploaded by a hospital")
    return visit, person


def check_named(visit: Visit | None, mdtrt_id: str, fixmedins_code: str | None, person: Person) -> Visit:
    """The visit a REST claim names (``mdtrt_id``, :func:`locked` beforehand): registered by the claim's institution
    for its person.

    Any other visit is answered as one that does not exist: the answer says nothing of other institutions' visits.
    """
    if visit is None or visit.fixmedins_code != fixmedins_code or visit.person_id != person.id:
        raise NotFound("claim", "mdtrt_id", mdtrt_id, "a visit (就诊ID) your institution registered for this person")
    return visit


def open_visits(s: Session, person: Person) -> list[dict[str, Any]]:
    """The person's open visits, newest first: institution, fee lines not yet settled, and whether it is ready to settle."""
    totals = (
        sa.select(FeeLineRow.mdtrt_id, sa.func.count(), sa.func.sum(FeeLineRow.det_item_fee_sumamt))
        .where(FeeLineRow.cancelled.is_(False), FeeLineRow.setl_id.is_(None))
        .group_by(FeeLineRow.mdtrt_id)
        .subquery()
    )
    q = (
        sa.select(Visit, Institution.fixmedins_name, totals.c[1], totals.c[2])
        .join(Institution, Institution.fixmedins_code == Visit.fixmedins_code)
        .outerjoin(totals, totals.c.mdtrt_id == Visit.mdtrt_id)
        .where(Visit.person_id == person.id, Visit.status.in_(lifecycle.OPEN))
        .order_by(Visit.begntime.desc())
    )
    return [
        {
            "mdtrt_id": v.mdtrt_id,
            "institution": inst_name,
            "med_type": v.med_type,
            "begntime": v.begntime,
            "endtime": v.endtime,
            "dise_codg": v.dise_codg or "",
            "status": v.status,
            "lines": int(lines or 0),
            "total": int(total or 0),
            "ready": lifecycle.ready_to_settle(v.status, v.med_type, int(lines or 0)),
        }
        for v, inst_name, lines, total in s.execute(q)
    ]
