"""Settling at the service: a claim from a request, pre-settle, settle and reverse, each exactly once per key.

The REST API and the web counter call these; the national interface settles visits
(:mod:`yibao.app.visits`) and runs its writing transactions through :func:`once` too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.app import assistance, audit_counter, ledger, person_year, slips, visits
from yibao.app.auth import Principal, check_permitted
from yibao.app.person_year import PersonYear
from yibao.app.registry import person_not_found
from yibao.app.schemas import ClaimIn
from yibao.core.errors import InputError, NotFound
from yibao.policy.pack import PolicyPack
from yibao.settlement.model import Claim, FeeLine, PolicyRangeSummary, Settlement
from yibao.settlement.trace import render
from yibao.store.db import Database
from yibao.store.service_tables import Institution, LedgerEntry, Message

Work = Callable[[Session], tuple[dict[str, Any], str | None]]
"""A writing operation: its answer and its effect (``settle:S…``, ``reverse:R…``; what 2601 undoes)."""


def to_claim(
    s: Session, body: ClaimIn, who: Principal, claim_id: str, *, mdtrt_id: str | None = None, lock: bool = True
) -> tuple[Claim, str | None, PersonYear]:
    """The pure core's claim from a request: the institution's level and place, the person's number; with the
    person and their year as one read (:mod:`yibao.app.person_year`, the year locked when ``lock``)."""
    code = body.fixmedins_code
    if who.role == "institution":
        if code and code != who.fixmedins_code:
            raise InputError("claim", "fixmedins_code", code, f"your own institution ({who.fixmedins_code})")
        code = who.fixmedins_code
    facts = person_year.read(s, body.psn_no, body.setl_date.year, fixmedins_code=code, mdtrt_id=mdtrt_id, lock=lock)
    inst = facts.institution if facts is not None else _institution(s, code)
    if code and inst is None:
        raise InputError("claim", "fixmedins_code", code, "a registered institution (定点医药机构)")
    hosp_lv = body.hosp_lv or (inst[0] if inst else None)
    if hosp_lv is None:
        raise InputError("claim", "hosp_lv", None, "1, 2 or 3, or a registered fixmedins_code")
    if facts is None:
        raise person_not_found(body.psn_no)
    place = body.place or (inst[1] if inst else "in_county")
    lines = tuple(
        FeeLine(f.feedetl_sn, f.med_list_codg, f.det_item_fee_sumamt, f.chrgitm_lv, f.cnt, f.pric, f.med_list_name)
        for f in body.fee_lines
    )
    summary = PolicyRangeSummary(**body.summary.model_dump()) if body.summary else None
    claim = Claim(
        claim_id,
        facts.person.psn_no,
        body.setl_date,
        body.med_type,
        hosp_lv,
        place,  # type: ignore[arg-type]
        body.dise_codg,
        lines,
        summary,
        code or "",
        major_dise_flag=body.major_dise_flag,
        dise_name=body.dise_name,
        township=facts.township,
    )
    return claim, code, facts


def _institution(s: Session, code: str | None) -> tuple[int, str] | None:
    """The institution's level and place (read on its own only when the person read found nobody)."""
    inst = s.get(Institution, code) if code else None
    return (inst.hosp_lv, inst.place) if inst is not None else None


def settlement_json(
    s: Settlement, setl_id: str | None = None, lang: str = "zh", audit: audit_counter.CounterAudit | None = None
) -> dict[str, Any]:
    """A settlement as the REST API answers it (fen), with the audit's findings (``audit``) when it ran."""
    out = {
        "setl_id": setl_id,
        "setlinfo": s.setlinfo() | ({"setl_id": setl_id} if setl_id else {}),
        "setldetail": [d.__dict__ for d in s.setldetail],
        "line": s.line,
        "identity": s.identity,
        "fee_results": [f.__dict__ | {"cnt": None} for f in s.fee_results],
        "trace": [{"tier": t, "text": m} for t, m in render(s.trace, lang)],
        "year_to_date": s.ytd_after.to_dict(),
    }
    if s.captn_town:  # 门诊统筹人头定额: what of hifp_pay the township's pot paid by head, the rest item by item
        out["capitation"] = {"township": s.captn_town, "captn_pay": s.captn_pay, "item_pay": s.hifp_pay - s.captn_pay}
    if audit is not None and audit.pack is not None:
        out["audit"] = audit_counter.audit_json(audit, lang)
    return out


def _request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _decimal(v: Any) -> orjson.Fragment:
    if isinstance(v, Decimal):
        return orjson.Fragment(str(v))  # as written (yuan with their two places), never through a float
    raise TypeError(f"{type(v).__name__} is not JSON")


def dump(body: Any) -> bytes:
    """JSON as answered and as stored (UTF-8); ``Decimal`` amounts written as they are."""
    return orjson.dumps(body, default=_decimal, option=orjson.OPT_NON_STR_KEYS)


def load(text: str | bytes) -> Any:
    """An answer as stored, its amounts ``Decimal`` again."""
    return json.loads(text, parse_float=Decimal)


_MESSAGE: sa.Table = Message.__table__  # type: ignore[assignment]
_SEEN = sa.select(_MESSAGE.c.request_sha256, _MESSAGE.c.response).where(_MESSAGE.c.msgid == sa.bindparam("msgid"))
_RECORD = sa.insert(_MESSAGE)


def _seen(s: Session, key: str, digest: str) -> str | None:
    """The answer already given for ``key``; the same key with another request is refused."""
    row = s.connection().execute(_SEEN, {"msgid": key}).first()
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise InputError("request", "msgid", key, "a new msgid / Idempotency-Key for a different request")
    return str(row.response)


def once_json(
    db: Database, key: str | None, infno: str, sender: str, payload: Any, work: Work
) -> tuple[dict[str, Any] | None, bytes, bool]:
    """Run ``work`` in a unit of work exactly once for ``key``: the answer (``None`` when it is a repeat's), the answer
    as JSON (:func:`dump`; a repeat gets the first answer's, as stored) and whether this was the first time.

    The message is looked up in the work's own transaction; without a key the work simply runs (and commits). The
    same key with another ``payload`` is refused. Two at once with one key: the message's primary key keeps one,
    and the other answers as it did.
    """
    if key is None:
        with db.unit_of_work() as s:
            response, _ = work(s)
            s.commit()
        return response, dump(response), True
    digest = _request_hash(payload)
    try:
        with db.unit_of_work() as s:
            seen = _seen(s, key, digest)
            if seen is not None:
                return None, seen.encode(), False
            response, effect = work(s)
            text = dump(response)
            message = {"infno": infno, "sender": sender, "request_sha256": digest, "effect": effect}
            s.connection().execute(_RECORD, message | {"msgid": key, "response": text.decode(), "recorded_at": ledger.now()})
            s.commit()
    except IntegrityError:
        with db.unit_of_work() as s:  # a concurrent twin won: answer as it did
            seen = _seen(s, key, digest)
            if seen is None:
                raise
            return None, seen.encode(), False
    return response, text, True


def once(db: Database, key: str | None, infno: str, sender: str, payload: Any, work: Work) -> tuple[dict[str, Any], bool]:
    """:func:`once_json` for callers that take the answer as a dict (a repeat's parsed from what was stored)."""
    response, text, first = once_json(db, key, infno, sender, payload, work)
    return (response if response is not None else load(text)), first


def preview(s: Session, pack: PolicyPack, body: ClaimIn, who: Principal) -> tuple[Settlement, audit_counter.CounterAudit]:
    """The pre-settlement of a request's claim and what the audit finds on it; writes nothing."""
    claim, _, facts = to_claim(s, body, who, "PREVIEW", lock=False)
    return visits.preview_claim(s, pack, claim, facts, None)


def settle(
    s: Session, pack: PolicyPack, body: ClaimIn, who: Principal, msgid: str | None, *, mdtrt_id: str | None,
    channel: str = "api",
) -> ledger.Settled:  # fmt: skip
    """Settle a request's claim into the ledger (in the caller's unit of work).

    A claim naming a visit (``mdtrt_id``) must name one its institution registered for its person, and is
    the visit's one standing settlement (:func:`yibao.app.ledger.visit_settlements`). Lock order: the visit, then
    the person's year (read with the person, :mod:`yibao.app.person_year`).
    """
    visit = visits.locked(s, mdtrt_id) if mdtrt_id is not None else None
    claim, code, facts = to_claim(s, body, who, ledger.new_setl_id(), mdtrt_id=mdtrt_id)
    if mdtrt_id is not None:
        visits.check_named(visit, mdtrt_id, code, facts.person)
    audit = audit_counter.check(s, pack, claim, facts.person, visit)
    done = ledger.settle_claim(
        s, pack, audit.claim, who.username, mdtrt_id=mdtrt_id, fixmedins_code=code, msgid=msgid, setl_id=claim.claim_id,
        facts=facts,
    )  # fmt: skip
    audit_counter.record(s, audit, done.entry, who.username, channel)
    done.audit = audit
    return done


def own(who: Principal) -> str | None:
    """The institution whose settlements alone ``who`` may see (``None``: staff, who see every one)."""
    return who.fixmedins_code if who.role == "institution" else None


def visible(s: Session, setl_id: str, who: Principal) -> LedgerEntry:
    """The entry when ``who`` may see it (an institution only its own); ``NotFound`` otherwise, the same
    answer for another institution's settlement as for one that does not exist."""
    return ledger.get_entry(s, setl_id, own(who))


def entry_view(s: Session, setl_id: str, who: Principal) -> dict[str, Any]:
    """One ledger entry as the REST API answers it, with the reversal that undid it (if any)."""
    out = ledger.entry_dict(visible(s, setl_id, who))
    out["reversed_by"] = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.reverses == setl_id))
    return out


def reverse(s: Session, setl_id: str, reason: str, who: Principal, msgid: str | None) -> LedgerEntry:
    """Reverse a settlement with a reason; a hospital visit's settlement also opens the visit again. An application
    for assistance (依申请救助) needs ``assistance`` and is reversed as such (:func:`yibao.app.assistance.reverse`), a
    settlement ``reverse`` (:class:`yibao.app.auth.NotPermitted` otherwise)."""
    entry = visible(s, setl_id, who)
    if entry.kind == assistance.KIND:
        check_permitted(who, "assistance")
        return assistance.reverse(s, setl_id, reason, who.username, msgid=msgid)
    check_permitted(who, "reverse")
    if entry.mdtrt_id and entry.fixmedins_code:
        return visits.undo_settlement(s, setl_id, reason, who.username, msgid, entry.fixmedins_code)
    return ledger.reverse_settlement(s, setl_id, reason, who.username, msgid=msgid)


def slip_of(db: Database, pack: PolicyPack, setl_id: str, who: Principal) -> slips.Slip:
    """The settlement slip of ``setl_id`` (an institution only its own); ``NotFound`` otherwise."""
    if not 1 <= len(setl_id) <= 40:
        raise NotFound("slip", "setl_id", setl_id[:40], "a settlement id in the ledger")
    with db.unit_of_work() as s:
        slip = slips.build_slip(s, setl_id, pack)
    if own(who) not in (None, slip.fixmedins_code):  # as unknown: the answer tells nothing of other institutions
        raise NotFound("slip", "setl_id", setl_id, "a settlement id in the ledger")
    return slip
