"""A 疑点 as the REST API, the web window and the command line show it: the case, its finding (the rule,
its message, the evidence), the settlements and lines concerned, the steps taken and the files."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app import suspects as svc
from yibao.app.auth import Principal
from yibao.audit import messages
from yibao.core.i18n import pick
from yibao.core.vocab import AUDIT_RESULTS, AUDIT_STAGES, channel_label, label
from yibao.rules import suspect_workflow as wf
from yibao.store.audit_tables import AuditFinding, SuspectAttachment, SuspectCase, SuspectEvent
from yibao.store.service_tables import FeeLineRow, Institution, LedgerEntry

SAMPLE_RULE = "sample"
SAMPLE_LABEL = ("抽查复核", "sampled for manual review")
SAMPLE_MESSAGE = ("随机抽查的结算，逐笔人工复核", "a settlement drawn at random for manual review")


def rule_label(rule_type: str, lang: str) -> str:
    if rule_type == SAMPLE_RULE:
        return pick(SAMPLE_LABEL, lang)
    return messages.rule_label(rule_type, lang)


def message(f: AuditFinding, lang: str) -> str:
    """The finding's message (:func:`yibao.audit.messages.render`); a draw for manual review says so."""
    if f.rule_type == SAMPLE_RULE:
        return pick(SAMPLE_MESSAGE, lang)
    return messages.render(f.rule_type, json.loads(f.args or "{}"), lang, f.result)


def case_dict(c: SuspectCase, f: AuditFinding, lang: str = "zh", *, day: date | None = None) -> dict[str, Any]:
    """One 疑点 in a list: its number, the settlement, the rule, the amounts, the status and whether it is overdue."""
    overdue = wf.is_overdue(c.status, c.due_date, day or svc.today())
    return {
        "id": c.id, "case_no": c.case_no, "setl_id": c.setl_id, "setl_date": f.setl_date.isoformat(),
        "fixmedins_code": c.fixmedins_code, "psn_no": c.psn_no, "rule_code": c.rule_code, "rule_type": f.rule_type,
        "rule_label": rule_label(f.rule_type, lang), "result": f.result, "result_label": label(AUDIT_RESULTS, f.result, lang),
        "stage": f.stage, "stage_label": label(AUDIT_STAGES, f.stage, lang), "amount": c.amount, "status": c.status,
        "status_label": wf.status_label(c.status, lang), "due_date": c.due_date.isoformat() if c.due_date else None,
        "overdue": overdue, "recovered_amt": c.recovered_amt, "sampled": c.sampled, "sample_id": c.sample_id,
        "opened_at": c.opened_at.isoformat(), "closed_at": c.closed_at.isoformat() if c.closed_at else None,
        "version": c.version,
    }  # fmt: skip


def event_dict(e: SuspectEvent, lang: str = "zh") -> dict[str, Any]:
    return {
        "action": e.action, "action_label": wf.action_label(e.action, lang), "from_status": e.from_status,
        "to_status": e.to_status, "to_label": wf.status_label(e.to_status, lang), "note": e.note, "amount": e.amount,
        "attachment_id": e.attachment_id, "channel": e.channel, "channel_label": channel_label(e.channel, lang),
        "recorded_at": e.recorded_at.isoformat(), "recorded_by": e.recorded_by,
    }  # fmt: skip


def attachment_dict(a: SuspectAttachment) -> dict[str, Any]:
    return {
        "id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
        "recorded_at": a.recorded_at.isoformat(), "recorded_by": a.recorded_by,
    }  # fmt: skip


def _claims(s: Session, setl_ids: list[str]) -> list[dict[str, Any]]:
    if not setl_ids:
        return []
    q = (
        sa.select(LedgerEntry, Institution.fixmedins_name)
        .outerjoin(Institution, Institution.fixmedins_code == LedgerEntry.fixmedins_code)
        .where(LedgerEntry.setl_id.in_(setl_ids))
        .order_by(LedgerEntry.setl_date, LedgerEntry.id)
    )
    return [
        {
            "setl_id": e.setl_id, "kind": e.kind, "mdtrt_id": e.mdtrt_id, "setl_date": e.setl_date.isoformat(),
            "fixmedins_code": e.fixmedins_code, "fixmedins_name": name, "med_type": e.med_type,
            "medfee_sumamt": e.medfee_sumamt, "fund_pay_sumamt": e.fund_pay_sumamt, "psn_part_amt": e.psn_part_amt,
        }
        for e, name in s.execute(q)
    ]  # fmt: skip


HIDDEN = ("mdtrt_id", "fixmedins_code", "fixmedins_name", "medfee_sumamt", "fund_pay_sumamt", "psn_part_amt")
"""What an institution does not see of another institution's settlement cited as evidence (it sees that it was
there: its number, day and kind of care)."""


def _as_seen(claim: dict[str, Any], who: Principal) -> dict[str, Any]:
    """A settlement as ``who`` sees it: the bureau all of it, an institution another's without where or how much."""
    if who.can("suspects.read") or claim["fixmedins_code"] == who.fixmedins_code:
        return claim | {"other": False}
    return claim | dict.fromkeys(HIDDEN) | {"other": True}


def _lines(s: Session, setl_id: str, sns: list[str]) -> list[dict[str, Any]]:
    if not sns:
        return []
    q = sa.select(FeeLineRow).where(FeeLineRow.setl_id == setl_id, FeeLineRow.feedetl_sn.in_(sns)).order_by(FeeLineRow.id)
    return [
        {
            "feedetl_sn": r.feedetl_sn, "med_list_codg": r.med_list_codg, "med_list_name": r.med_list_name, "cnt": r.cnt,
            "pric": r.pric, "det_item_fee_sumamt": r.det_item_fee_sumamt,
            "fee_ocur_date": r.fee_ocur_date.isoformat() if r.fee_ocur_date else None,
        }
        for r in s.scalars(q)
    ]  # fmt: skip


def evidence_text(item: str, lang: str) -> str:
    """One piece of evidence (``claim:S…``, ``item:…``, ``date:…``) for people to read."""
    kind, _, value = item.partition(":")
    words = {"claim": ("结算", "settlement"), "item": ("项目", "item"), "date": ("日期", "date")}.get(kind)
    return f"{pick(words, lang)} {value}" if words else item


def detail(s: Session, case_id: int, who: Principal, lang: str = "zh", *, day: date | None = None) -> dict[str, Any]:
    """One 疑点 with everything its page shows (``NotFound`` for one ``who`` may not see)."""
    c, f = svc.get_case(s, case_id, who)
    day = day or svc.today()
    evidence = json.loads(f.evidence or "[]")
    linked = [e.partition(":")[2] for e in evidence if e.startswith("claim:")]
    sns = json.loads(f.feedetl_sns or "[]")
    overdue = wf.is_overdue(c.status, c.due_date, day)
    steps = wf.allowed(c.status, svc.actor_of(who), overdue=overdue) if _may_act(who) else ()
    return case_dict(c, f, lang, day=day) | {
        "message": message(f, lang),
        "action": f.action,
        "evidence": [{"code": e, "text": evidence_text(e, lang)} for e in evidence],
        "claims": [_as_seen(e, who) for e in _claims(s, [c.setl_id, *[x for x in linked if x != c.setl_id]])],
        "lines": _lines(s, c.setl_id, [str(x) for x in sns]),
        "events": [event_dict(e, lang) for e in svc.events_of(s, c.id)],
        "attachments": [attachment_dict(a) for a in svc.attachments_of(s, c.id)],
        "next": [
            {
                "action": st.action,
                "label": wf.action_label(st.action, lang),
                "to": st.to,
                "note": st.note,
                "amount": st.amount,
                "file": st.file,
            }
            for st in steps
        ],
    }


def _may_act(who: Principal) -> bool:
    return who.can("suspects.work") or who.can("suspects.own")
