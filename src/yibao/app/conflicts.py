"""Identity conflicts (疑似同人异号) flagged by the identity import: list them, show both records side by side with
their sources, and decide: merge into one record, keep apart, or undo the last decision.

Every decision is a :class:`~yibao.store.tables.ConflictDecision` row (who, when, why; a merge also lists
every row it moved), so the pair's history reads in order and a decision can be undone. The rule of what a
merge may move and when it is refused is :mod:`yibao.rules.identity_merge`; a refused merge writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.imports import HeldIdentity
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import Said, pick
from yibao.rules.identity_merge import HISTORY, MergeFacts, merge_refusals, undo_refusals
from yibao.store.audit_tables import AuditFinding
from yibao.store.db import Database
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import AssistanceApplication, LedgerEntry, Visit, YearToDateRow
from yibao.store.tables import (
    ChronicFiling,
    Conflict,
    ConflictDecision,
    CrossFiling,
    Enrolment,
    FamilyDoctorContract,
    Identity,
    ImportBatch,
    InstitutionChoice,
    Person,
    PersonalAccount,
    ResidentTier,
)

MOVED: dict[str, Any] = {
    "identity": Identity,
    "enrolment": Enrolment,
    "chronic_filing": ChronicFiling,
    "cross_filing": CrossFiling,
    "resident_tier": ResidentTier,
    "institution_choice": InstitutionChoice,
    "family_doctor_contract": FamilyDoctorContract,
    "personal_account": PersonalAccount,
}
"""What a merge moves from the absorbed record to the survivor (by ``person_id``), each row listed in the decision."""
HISTORY_BY_PERSON: dict[str, Any] = {
    "ledger": LedgerEntry,
    "visit": Visit,
    "year_to_date": YearToDateRow,
    "assistance_application": AssistanceApplication,
    "warning": WarningCase,
}
"""Settlement history by ``person_id`` (:data:`yibao.rules.identity_merge.HISTORY`; ``audit_finding`` goes by psn_no)."""
STATUSES = ("open", "kept", "merged")
MAX_REASON = 255


class DecisionRefused(Exception):
    """A decision that must not be made (nothing was written): every reason, in Chinese and English."""

    def __init__(self, reasons: Sequence[Said]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(en for _, en in self.reasons))

    def render(self, lang: str = "zh") -> str:
        return ("；" if lang == "zh" else "; ").join(pick(r, lang) for r in self.reasons)


@dataclass(frozen=True)
class Source:
    """An import batch: which bureau's file, when, by whom."""

    import_id: int
    source_bureau: str
    file_name: str
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class HeldEnrolment:
    year: int
    insutype: str
    psn_insu_stas: str
    subsidy_category: str | None


@dataclass(frozen=True)
class Record:
    """One side of a pair: the person as the registry holds them, what they hold and where it came from."""

    person_id: int
    psn_no: str
    certno: str
    psn_name: str
    gend: str
    brdy: date
    county: str | None
    township: str | None
    village: str | None
    hh_no: str | None
    recorded_at: datetime
    recorded_by: str
    merged_into: str | None
    """The survivor's ID number when this record was merged into it."""
    identities: list[HeldIdentity]
    enrolments: list[HeldEnrolment]
    settlements: int
    """Ledger entries of kind ``settle`` naming the record."""
    filings: int
    """门诊慢特病 and 异地就医 filings."""
    sources: list[Source]
    """The import batches that brought its identities, oldest first."""


PERSON_FIELDS = ("psn_no", "certno", "psn_name", "gend", "brdy", "county", "township", "village", "hh_no", "recorded_at",
                 "recorded_by")  # fmt: skip
"""The person's own columns a :class:`Record` shows."""


@dataclass(frozen=True)
class Decision:
    id: int
    action: str
    survivor_certno: str | None
    absorbed_certno: str | None
    moved: dict[str, list[int]]
    reason: str
    decided_at: datetime
    decided_by: str

    @property
    def rows_moved(self) -> int:
        return sum(len(v) for v in self.moved.values())


@dataclass(frozen=True)
class Summary:
    """A flagged pair as the list shows it."""

    id: int
    status: str
    psn_name: str
    brdy: date
    village: str | None
    certno: str
    other_certno: str
    source: Source | None
    source_row: int | None


@dataclass(frozen=True)
class Pair:
    summary: Summary
    new: Record
    """The record of the ID number the import brought (``certno``)."""
    other: Record
    """The record already held under the other ID number."""
    decisions: list[Decision]
    refusals: dict[str, list[Said]]
    """For each ID number as the survivor: why that merge would be refused (empty: it may be made)."""

    @property
    def status(self) -> str:
        return self.summary.status


def _source(b: ImportBatch | None) -> Source | None:
    return None if b is None else Source(b.id, b.source_bureau, b.file_name, b.recorded_at, b.recorded_by)


def _summary(c: Conflict, batch: ImportBatch | None) -> Summary:
    return Summary(c.id, c.status, c.psn_name, c.brdy, c.village, c.certno, c.other_certno, _source(batch), c.source_row)


def list_conflicts(s: Session, status: str | None = "open", limit: int = 500) -> list[Summary]:
    """Flagged pairs, newest first (``status`` None: all)."""
    q = sa.select(Conflict, ImportBatch).outerjoin(ImportBatch, ImportBatch.id == Conflict.import_id)
    if status is not None:
        q = q.where(Conflict.status == status)
    return [_summary(c, b) for c, b in s.execute(q.order_by(Conflict.id.desc()).limit(limit))]


def counts(s: Session) -> dict[str, int]:
    """Pairs per status."""
    got = {k: v for k, v in s.execute(sa.select(Conflict.status, sa.func.count()).group_by(Conflict.status))}
    return {k: int(got.get(k, 0)) for k in STATUSES}


def _person(s: Session, certno: str) -> Person:
    p = s.scalar(sa.select(Person).where(Person.certno == certno))
    if p is None:
        raise NotFound("conflict", "certno", certno, "a person the registry holds", "已登记的人员", "a person the registry holds")
    return p


def _count(s: Session, model: Any, *where: Any) -> int:
    return int(s.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def _record(s: Session, p: Person) -> Record:
    idents = s.scalars(sa.select(Identity).where(Identity.person_id == p.id).order_by(Identity.valid_from, Identity.id))
    held = [
        HeldIdentity(i.category, i.valid_from, i.valid_to, i.source_bureau, i.source_file, i.source_row, i.import_id)
        for i in idents
    ]
    enrol_q = sa.select(Enrolment).where(Enrolment.person_id == p.id).order_by(Enrolment.year, Enrolment.insutype)
    enrolments = [HeldEnrolment(e.year, e.insutype, e.psn_insu_stas, e.subsidy_category) for e in s.scalars(enrol_q)]
    batches = (
        sa.select(ImportBatch)
        .where(ImportBatch.id.in_(sa.select(Identity.import_id).where(Identity.person_id == p.id)))
        .order_by(ImportBatch.id)
    )
    survivor = s.scalar(sa.select(Person.certno).where(Person.id == p.merged_into)) if p.merged_into else None
    return Record(
        person_id=p.id,
        **{name: getattr(p, name) for name in PERSON_FIELDS},
        merged_into=survivor,
        identities=held,
        enrolments=enrolments,
        settlements=_count(s, LedgerEntry, LedgerEntry.person_id == p.id, LedgerEntry.kind == "settle"),
        filings=_count(s, ChronicFiling, ChronicFiling.person_id == p.id) + _count(s, CrossFiling, CrossFiling.person_id == p.id),
        sources=[src for b in s.scalars(batches) if (src := _source(b)) is not None],
    )


def _decisions(s: Session, conflict_id: int) -> list[Decision]:
    q = sa.select(ConflictDecision).where(ConflictDecision.conflict_id == conflict_id).order_by(ConflictDecision.id)
    return [
        Decision(d.id, d.action, d.survivor_certno, d.absorbed_certno, json.loads(d.moved or "{}"), d.reason, d.decided_at,
                 d.decided_by)
        for d in s.scalars(q)
    ]  # fmt: skip


def _conflict(s: Session, conflict_id: int, lock: bool = False) -> Conflict:
    q = sa.select(Conflict).where(Conflict.id == conflict_id)
    c = s.scalar(q.with_for_update() if lock else q)
    if c is None:
        raise NotFound(
            "conflict",
            "id",
            conflict_id,
            "a flagged pair the registry holds",
            "已登记的疑似同人异号编号",
            "a flagged pair the registry holds",
        )
    return c


def history(s: Session, p: Person) -> dict[str, int]:
    """Rows of settlement history naming ``p`` (:data:`yibao.rules.identity_merge.HISTORY`)."""
    out = {name: _count(s, model, model.person_id == p.id) for name, model in HISTORY_BY_PERSON.items()}
    out["audit_finding"] = _count(s, AuditFinding, AuditFinding.psn_no == p.psn_no)
    assert set(out) == set(HISTORY)
    return out


def _years(s: Session, model: Any, survivor: Person, absorbed: Person) -> list[int]:
    of = [sa.select(model.year).where(model.person_id == p.id) for p in (survivor, absorbed)]
    return sorted({int(y) for y in s.scalars(sa.intersect(*of))})


def _facts(s: Session, c: Conflict, survivor: Person, absorbed: Person) -> MergeFacts:
    return MergeFacts(
        status=c.status,
        survivor_merged=survivor.merged_into is not None,
        absorbed_merged=absorbed.merged_into is not None,
        absorbed_history=history(s, absorbed),
        survivor_history=history(s, survivor),
        both_enrolled=_years(s, Enrolment, survivor, absorbed),
        both_accounts=_years(s, PersonalAccount, survivor, absorbed),
    )


def get(s: Session, conflict_id: int) -> Pair:
    """A flagged pair with both records, their sources, its decisions, and what a merge either way would meet."""
    c = _conflict(s, conflict_id)
    batch = s.get(ImportBatch, c.import_id) if c.import_id is not None else None
    new, other = _person(s, c.certno), _person(s, c.other_certno)
    refusals = {keep.certno: merge_refusals(_facts(s, c, keep, gone)) for keep, gone in ((new, other), (other, new))}
    return Pair(_summary(c, batch), _record(s, new), _record(s, other), _decisions(s, c.id), refusals)


def _reason(reason: str) -> str:
    text = " ".join(reason.replace("\x00", "").split())
    if not text or len(text) > MAX_REASON:
        raise InputError("conflict", "reason", reason[:40], f"a reason, 1 to {MAX_REASON} characters",
                         f"处理理由（1 至 {MAX_REASON} 个字符）", f"a reason, 1 to {MAX_REASON} characters")  # fmt: skip
    return text


def _decide(s: Session, c: Conflict, action: str, reason: str, user: str, **extra: Any) -> Decision:
    d = ConflictDecision(conflict_id=c.id, action=action, reason=reason, decided_at=datetime.now(UTC), decided_by=user[:64],
                         moved=json.dumps(extra.pop("moved", {}), sort_keys=True), **extra)  # fmt: skip
    s.add(d)
    s.flush()
    return _decisions(s, c.id)[-1]


def keep_apart(db: Database, conflict_id: int, reason: str, user: str) -> Decision:
    """Record the pair as two people: it leaves the list of open pairs and is not flagged again."""
    text = _reason(reason)
    with db.unit_of_work() as s:
        c = _conflict(s, conflict_id, lock=True)
        if c.status != "open":
            raise DecisionRefused(
                [("该疑似同人异号已处理，请先撤销上次决定", "this pair was already decided: undo that decision first")]
            )
        c.status = "kept"
        done = _decide(s, c, "keep", text, user)
        s.commit()
    return done


def merge(db: Database, conflict_id: int, survivor_certno: str, reason: str, user: str) -> Decision:
    """Merge the pair into the record of ``survivor_certno``: the other record's identities, enrolments, filings,
    chosen institutions, contracts and account balances move to it and the other record is marked merged into it.
    Refused (:class:`DecisionRefused`, nothing written) by :func:`yibao.rules.identity_merge.merge_refusals`."""
    text = _reason(reason)
    keep_no = survivor_certno.strip().upper()
    with db.unit_of_work() as s:
        c = _conflict(s, conflict_id, lock=True)
        if keep_no not in (c.certno, c.other_certno):
            raise InputError("conflict", "survivor", survivor_certno, "one of the pair's two ID numbers",
                             "该对记录的两个身份证号之一", "one of the pair's two ID numbers")  # fmt: skip
        survivor = _person(s, keep_no)
        absorbed = _person(s, c.other_certno if keep_no == c.certno else c.certno)
        refused = merge_refusals(_facts(s, c, survivor, absorbed))
        if refused:
            raise DecisionRefused(refused)
        moved: dict[str, list[int]] = {}
        for name, model in MOVED.items():
            ids = sorted(s.scalars(sa.select(model.id).where(model.person_id == absorbed.id)))
            if ids:
                s.execute(sa.update(model).where(model.id.in_(ids)).values(person_id=survivor.id))
                moved[name] = ids
        absorbed.merged_into = survivor.id
        c.status = "merged"
        done = _decide(s, c, "merge", text, user, survivor_certno=survivor.certno, absorbed_certno=absorbed.certno, moved=moved)
        s.commit()
    return done


def undo(db: Database, conflict_id: int, reason: str, user: str) -> Decision:
    """Undo the pair's last decision: a kept-apart pair is open again; a merge moves back every row it moved and the
    absorbed record is a person of its own again (refused once the survivor was settled after the merge)."""
    text = _reason(reason)
    with db.unit_of_work() as s:
        c = _conflict(s, conflict_id, lock=True)
        last = next((d for d in reversed(_decisions(s, c.id)) if d.action != "undo"), None)
        if c.status == "open" or last is None:
            raise DecisionRefused([("该疑似同人异号尚未处理，没有可撤销的决定", "this pair is undecided: nothing to undo")])
        extra: dict[str, Any] = {}
        if c.status == "merged":
            survivor = _person(s, last.survivor_certno or "")
            absorbed = _person(s, last.absorbed_certno or "")
            since = _count(s, LedgerEntry, LedgerEntry.person_id == survivor.id, LedgerEntry.recorded_at > last.decided_at)
            refused = undo_refusals(since)
            if refused:
                raise DecisionRefused(refused)
            for name, ids in last.moved.items():
                model = MOVED[name]
                s.execute(sa.update(model).where(model.id.in_(ids)).values(person_id=absorbed.id))
            absorbed.merged_into = None
            extra = {"survivor_certno": survivor.certno, "absorbed_certno": absorbed.certno, "moved": last.moved}
        c.status = "open"
        done = _decide(s, c, "undo", text, user, **extra)
        s.commit()
    return done
