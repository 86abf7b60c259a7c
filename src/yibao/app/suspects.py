"""疑点 (suspicious items under review): opened from audit findings, moved along 初审 → 复审 → 机构申诉 →
调查核实 → 处理 (扣款 / 不予处理), each step due by a time limit from the audit pack."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.ledger import now
from yibao.audit.pack import AuditPack
from yibao.store.audit_tables import AuditFinding, SuspectCase, SuspectEvent

FIRST_STEP = "first_review"


def _case_no(s: Session, year: int) -> str:
    prefix = f"YD{year}"
    last = s.scalar(sa.select(sa.func.max(SuspectCase.case_no)).where(SuspectCase.case_no.like(prefix + "%")))
    return f"{prefix}{int(last[len(prefix) :]) + 1 if last else 1:06d}"


def open_cases(s: Session, findings: Iterable[AuditFinding], pack: AuditPack, who: str, channel: str) -> list[SuspectCase]:
    """A 疑点 in 初审 for each of ``findings`` that has none yet (the findings are flushed rows)."""
    opened: list[SuspectCase] = []
    at = now()
    for f in findings:
        if s.scalar(sa.select(SuspectCase.id).where(SuspectCase.finding_id == f.id)) is not None:
            continue
        case = SuspectCase(
            case_no=_case_no(s, at.year),
            finding_id=f.id,
            setl_id=f.setl_id,
            fixmedins_code=f.fixmedins_code,
            psn_no=f.psn_no,
            rule_code=f.rule_code,
            amount=f.amount,
            status=FIRST_STEP,
            due_date=(at + timedelta(hours=8)).date() + timedelta(days=pack.workflow_days[FIRST_STEP]),
            recovered_amt=0,
            sampled=False,
            opened_at=at,
            version=0,
        )
        s.add(case)
        s.flush()
        s.add(
            SuspectEvent(
                case_id=case.id,
                from_status=None,
                to_status=FIRST_STEP,
                action="open",
                channel=channel,
                recorded_at=at,
                recorded_by=who,
            )
        )
        opened.append(case)
    return opened
