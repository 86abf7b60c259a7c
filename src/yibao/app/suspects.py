"""疑点 (suspicious items under review): opened from audit findings, moved along 初审 → 复审 → 机构申诉 →
调查核实 → 处理 (扣款 / 不予处理), each step due by a time limit from the audit pack.

Who may do what is :mod:`yibao.rules.suspect_workflow`'s; here the database: list (an institution sees
its own 疑点 only: another's is "not found", never "forbidden"), one case, a step taken (recorded with
who, when, from where; two people acting on one case at once: the second is told,
:class:`StaleCase`), an appeal's file kept, and the amounts recovered for the fund report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.audit_pack import base_pack
from yibao.app.auth import Principal
from yibao.app.ledger import now
from yibao.app.suspect_files import FileIn, checked_file
from yibao.audit.pack import AuditPack
from yibao.core.errors import InputError, NotFound
from yibao.policy.pack import PolicyPack
from yibao.reports.tables import RECOVERED_SCHEMA
from yibao.rules import suspect_workflow as wf
from yibao.store.audit_tables import AuditFinding, SuspectAttachment, SuspectCase, SuspectEvent
from yibao.store.tables import Person

FIRST_STEP = "first_review"

Query = sa.Select[SuspectCase, AuditFinding]


def _query() -> Query:
    return sa.select(SuspectCase, AuditFinding).join(AuditFinding, AuditFinding.id == SuspectCase.finding_id)


class StaleCase(InputError):
    """The case moved on since the caller read it (its version is not the one the caller saw): HTTP 409."""


def _case_no(s: Session, year: int) -> str:
    prefix = f"YD{year}"
    last = s.scalar(sa.select(sa.func.max(SuspectCase.case_no)).where(SuspectCase.case_no.like(prefix + "%")))
    return f"{prefix}{int(last[len(prefix) :]) + 1 if last else 1:06d}"


def open_cases(s: Session, findings: Iterable[AuditFinding], pack: AuditPack, who: str, channel: str) -> list[SuspectCase]:
    """A 疑点 in 初审 for each of ``findings`` that has none yet (the findings are flushed rows)."""
    return open_for(s, findings, pack.workflow_days, who, channel)


def open_for(
    s: Session, findings: Iterable[AuditFinding], workflow_days: Mapping[str, int], who: str, channel: str, *,
    sample_id: int | None = None,
) -> list[SuspectCase]:  # fmt: skip
    """:func:`open_cases` with the time limits given (``sample_id``: opened by a draw for manual review)."""
    opened: list[SuspectCase] = []
    at = now()
    for f in findings:
        if s.scalar(sa.select(SuspectCase.id).where(SuspectCase.finding_id == f.id)) is not None:
            continue
        case = SuspectCase(
            case_no=_case_no(s, at.year), finding_id=f.id, setl_id=f.setl_id, fixmedins_code=f.fixmedins_code,
            psn_no=f.psn_no, rule_code=f.rule_code, amount=f.amount, status=FIRST_STEP,
            due_date=wf.due_date(FIRST_STEP, wf.beijing_today(at), workflow_days), recovered_amt=0,
            sampled=sample_id is not None, sample_id=sample_id, opened_at=at, version=0,
        )  # fmt: skip
        s.add(case)
        s.flush()
        action = "open" if sample_id is None else "sample"
        s.add(
            SuspectEvent(
                case_id=case.id, from_status=None, to_status=FIRST_STEP, action=action, channel=channel, recorded_at=at,
                recorded_by=who,
            )
        )  # fmt: skip
        opened.append(case)
    return opened


# ------------------------------------------------------------------ who sees what


def actor_of(who: Principal) -> str:
    """The workflow's actor for a role: the bureau's auditor, an institution (others take no step)."""
    return who.role


def today() -> date:
    """Today on the bureaus' clock (Beijing)."""
    return wf.beijing_today(now())


def _visible(q: Query, who: Principal) -> Query:
    """An institution sees its own 疑点 only; bureau roles that may read 疑点 see them all."""
    if who.can("suspects.read"):
        return q
    if who.can("suspects.own") and who.fixmedins_code:
        return q.where(SuspectCase.fixmedins_code == who.fixmedins_code)
    return q.where(sa.false())


@dataclass(frozen=True)
class Filter:
    status: str | None = None
    """A status, or ``open`` for every open one."""
    fixmedins_code: str | None = None
    rule_code: str | None = None
    overdue: bool | None = None
    date_from: date | None = None
    """Settlement dates (``setl_date``) from …"""
    date_to: date | None = None
    sampled: bool | None = None
    sample_id: int | None = None
    q: str | None = None
    """A case number, settlement id or person number."""


def _filtered(q: Query, f: Filter, day: date) -> Query:
    if f.status == "open":
        q = q.where(SuspectCase.status.in_(wf.OPEN))
    elif f.status:
        q = q.where(SuspectCase.status == f.status)
    for col, value in (
        (SuspectCase.fixmedins_code, f.fixmedins_code), (SuspectCase.rule_code, f.rule_code),
        (SuspectCase.sampled, f.sampled), (SuspectCase.sample_id, f.sample_id),
    ):  # fmt: skip
        if value not in (None, ""):
            q = q.where(col == value)
    late = sa.and_(SuspectCase.status.in_(wf.OPEN), SuspectCase.due_date < day)
    if f.overdue is True:
        q = q.where(late)
    elif f.overdue is False:
        q = q.where(sa.not_(late))
    if f.date_from:
        q = q.where(AuditFinding.setl_date >= f.date_from)
    if f.date_to:
        q = q.where(AuditFinding.setl_date <= f.date_to)
    if f.q:
        term = f.q.strip()
        q = q.where(sa.or_(SuspectCase.case_no == term.upper(), SuspectCase.setl_id == term, SuspectCase.psn_no == term))
    return q


def list_cases(
    s: Session, who: Principal, f: Filter = Filter(), *, day: date | None = None, limit: int = 500, offset: int = 0
) -> list[tuple[SuspectCase, AuditFinding]]:
    """The 疑点 ``who`` may see that match ``f``, the most urgent first (open before closed, earliest due first)."""
    q = _query()
    q = _filtered(_visible(q, who), f, day or today())
    closed_last = sa.case((SuspectCase.status.in_(wf.OPEN), 0), else_=1)
    q = q.order_by(closed_last, SuspectCase.due_date.asc().nulls_last(), SuspectCase.id.desc()).limit(limit).offset(offset)
    return [(c, fi) for c, fi in s.execute(q)]


def counts(s: Session, who: Principal, *, day: date | None = None) -> dict[str, int]:
    """How many 疑点 ``who`` may see, per status, and ``overdue`` (open ones past their due date)."""
    q = _query()
    ids = _visible(q, who).with_only_columns(SuspectCase.id).subquery()
    rows = s.execute(
        sa.select(SuspectCase.status, sa.func.count()).where(SuspectCase.id.in_(sa.select(ids.c.id))).group_by(SuspectCase.status)
    )
    out = {status: int(n) for status, n in rows}
    late = sa.and_(SuspectCase.status.in_(wf.OPEN), SuspectCase.due_date < (day or today()))
    out["overdue"] = int(s.scalar(sa.select(sa.func.count()).where(SuspectCase.id.in_(sa.select(ids.c.id)), late)) or 0)
    return out


def get_case(s: Session, case_id: int, who: Principal, *, lock: bool = False) -> tuple[SuspectCase, AuditFinding]:
    """One 疑点 ``who`` may see (``NotFound`` for one that does not exist or is another institution's)."""
    q = _query()
    q = _visible(q.where(SuspectCase.id == case_id), who)
    if lock and s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=SuspectCase)
    row = s.execute(q).first()
    if row is None:
        raise NotFound("疑点 / suspect case", "id", case_id, "a known case number", expected_zh="已有的疑点编号")
    return row[0], row[1]


def events_of(s: Session, case_id: int) -> list[SuspectEvent]:
    return list(s.scalars(sa.select(SuspectEvent).where(SuspectEvent.case_id == case_id).order_by(SuspectEvent.id)))


def attachments_of(s: Session, case_id: int) -> list[SuspectAttachment]:
    """The case's files (their data deferred: listed without reading them)."""
    q = sa.select(SuspectAttachment).where(SuspectAttachment.case_id == case_id).order_by(SuspectAttachment.id)
    return list(s.scalars(q.options(sa.orm.defer(SuspectAttachment.data))))


def attachment(s: Session, case_id: int, attachment_id: int, who: Principal) -> SuspectAttachment:
    """One file of a 疑点 ``who`` may see (``NotFound`` otherwise)."""
    get_case(s, case_id, who)
    found = s.get(SuspectAttachment, attachment_id)
    if found is None or found.case_id != case_id:
        raise NotFound("疑点附件 / attachment", "id", attachment_id, "a file attached to this case", expected_zh="该疑点的附件")
    return found


# ------------------------------------------------------------------ a step


def act(
    s: Session, case_id: int, action: str, who: Principal, workflow_days: Mapping[str, int], *, note: str | None = None,
    amount: int | None = None, file: FileIn | None = None, expected_version: int | None = None, channel: str = "api",
    upload_limit: int = 50 * 1024 * 1024,
) -> SuspectCase:  # fmt: skip
    """Take ``action`` on a 疑点 (in the caller's transaction): checked against the workflow and ``who``'s role,
    recorded as a :class:`SuspectEvent` with the file, if any, kept as a :class:`SuspectAttachment`."""
    case, _ = get_case(s, case_id, who, lock=True)
    where = f"疑点 {case.case_no} / case {case.case_no}"
    if expected_version is not None and expected_version != case.version:
        raise StaleCase(
            where, "version", expected_version, f"当前版本 {case.version}：该疑点已被他人处理，请刷新后重试",
            expected_en=f"version {case.version}: someone else has acted on this case; reload and try again",
        )  # fmt: skip
    day = today()
    note = note.strip() if note and note.strip() else None
    overdue = wf.is_overdue(case.status, case.due_date, day)
    step = wf.check_action(
        where, case.status, action, actor_of(who), at_stake=case.amount, note=note, amount=amount,
        has_file=file is not None, overdue=overdue,
    )  # fmt: skip
    kept = _keep_file(s, case, file, who, upload_limit, where) if file is not None else None
    at = now()
    before = case.status
    case.status, case.due_date = step.to, wf.due_date(step.to, day, workflow_days)
    if step.to in wf.CLOSED:
        case.closed_at = at
    if step.to == "deducted":
        assert amount is not None
        case.recovered_amt = amount
    case.version += 1
    s.add(
        SuspectEvent(
            case_id=case.id, from_status=before, to_status=step.to, action=action, note=note, amount=amount,
            attachment_id=kept.id if kept else None, channel=channel, recorded_at=at, recorded_by=who.username,
        )
    )  # fmt: skip
    s.flush()
    return case


def _keep_file(s: Session, case: SuspectCase, file: FileIn, who: Principal, limit: int, where: str) -> SuspectAttachment:
    name, content_type = checked_file(file, limit, where)
    kept = SuspectAttachment(
        case_id=case.id, filename=name, content_type=content_type, size=len(file.data),
        sha256=hashlib.sha256(file.data).hexdigest(), data=file.data, recorded_at=now(), recorded_by=who.username,
    )  # fmt: skip
    s.add(kept)
    s.flush()
    return kept


# ------------------------------------------------------------------ recovered amounts (the fund report)


def recovered(s: Session, start: date, end: date, place: Mapping[str, str | None] | None = None) -> pl.DataFrame:
    """The amounts recovered (扣款) by 疑点 on settlements of ``start``..``end``, by the settlement's month and
    institution (:data:`RECOVERED_SCHEMA`): what the period's spending got back, as the report's claims are cut by
    settlement date. ``place`` (county / township / village) keeps the cases of its people."""
    q = (
        sa.select(AuditFinding.setl_date, SuspectCase.fixmedins_code, SuspectCase.recovered_amt)
        .join(AuditFinding, AuditFinding.id == SuspectCase.finding_id)
        .where(SuspectCase.status == "deducted", AuditFinding.setl_date >= start, AuditFinding.setl_date <= end)
    )
    wanted = {k: v for k, v in (place or {}).items() if v}
    if wanted:
        q = q.join(Person, Person.psn_no == SuspectCase.psn_no)
        for k, v in wanted.items():
            q = q.where(getattr(Person, k) == v)
    rows = [(f"{day.year:04d}-{day.month:02d}", code or "", int(amt)) for day, code, amt in s.execute(q)]
    df = pl.DataFrame(rows, schema=RECOVERED_SCHEMA, orient="row")
    return df.group_by("month", "fixmedins_code").agg(pl.col("recovered_amt").sum()).sort("month", "fixmedins_code")


def workflow_days(policy: PolicyPack | None = None) -> Mapping[str, int]:
    """The time limit of each step (days) from the audit pack in force (:func:`yibao.app.audit_pack.base_pack`)."""
    return base_pack(policy).workflow_days
