"""Tables of fund supervision: audit runs, findings, 疑点 cases and their steps, appeal files,
the bureau's changes to audit rules and the knowledge tables it imported."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.tables import Base, UtcDateTime


class AuditRun(Base):
    """One after-settlement audit (事后) over a date range of the ledger, or one batch file audited."""

    __tablename__ = "audit_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(8))
    """post (事后) for runs; the counter's findings (事中) have no run."""
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    pack_name: Mapped[str] = mapped_column(String(64))
    claims: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    findings: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    """Findings new in this run (a finding already on record is not written twice)."""
    channel: Mapped[str] = mapped_column(String(16))
    """web / api / cli / schedule."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class AuditFinding(Base):
    """A rule's finding on one settlement (see :class:`yibao.audit.model.Finding`).

    ``finding_key`` (settlement, rule, lines) is unique: a re-run finds the same finding and leaves it.
    """

    __tablename__ = "audit_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_key: Mapped[str] = mapped_column(String(255), unique=True)
    setl_id: Mapped[str] = mapped_column(String(40), index=True)
    mdtrt_id: Mapped[str | None] = mapped_column(String(40))
    psn_no: Mapped[str] = mapped_column(String(32), index=True)
    fixmedins_code: Mapped[str | None] = mapped_column(String(32), index=True)
    setl_date: Mapped[date] = mapped_column(Date)
    rule_code: Mapped[str] = mapped_column(String(16), index=True)
    rule_type: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(16))
    """violation 违规 / suspicious 可疑 / unevaluable 无法判断."""
    action: Mapped[str] = mapped_column(String(16))
    """What it did at settlement: self_pay / refuse / flag (after settlement: flag)."""
    stage: Mapped[str] = mapped_column(String(8))
    """during (found at the counter, 2304) / post (found by an audit run)."""
    feedetl_sns: Mapped[str] = mapped_column(Text)
    """The lines concerned, JSON list."""
    amount: Mapped[int] = mapped_column(BigInteger)
    evidence: Mapped[str] = mapped_column(Text)
    """JSON list (``claim:S…``, ``item:…``)."""
    args: Mapped[str] = mapped_column(Text)
    """The message's arguments, JSON."""
    pack_name: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("audit_run.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_finding_date", "setl_date"),)


class SuspectCase(Base):
    """疑点: a finding under review, 初审 → 复审 → 机构申诉 → 调查核实 → 处理, each step due by ``due_date``."""

    __tablename__ = "suspect_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_finding.id"), unique=True)
    setl_id: Mapped[str] = mapped_column(String(40), index=True)
    fixmedins_code: Mapped[str | None] = mapped_column(String(32), index=True)
    psn_no: Mapped[str] = mapped_column(String(32))
    rule_code: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    """At stake, from the finding."""
    status: Mapped[str] = mapped_column(String(24), index=True)
    """first_review / second_review / appeal / investigation / decision / deducted / no_action."""
    due_date: Mapped[date | None] = mapped_column(Date)
    """When the current step is due (None once closed)."""
    recovered_amt: Mapped[int] = mapped_column(BigInteger, default=0)
    """扣款: recovered from the institution when closed as deducted."""
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    """Picked for manual review by sampling."""
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Raised at each step: two people acting on one case at once, the second is told."""
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("suspect_sample.id"), index=True)
    """The draw that opened it (sampling for manual review), if any."""


class SuspectSample(Base):
    """A draw of an institution's settlements for manual review: ``rate_bp`` of ``population`` settlements
    (``population_amt`` claimed from the fund) in ``date_from``..``date_to``, picked with ``seed``."""

    __tablename__ = "suspect_sample"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(32), index=True)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    rate_bp: Mapped[int] = mapped_column(Integer)
    """The share drawn in basis points (10% = 1000)."""
    seed: Mapped[int] = mapped_column(BigInteger)
    population: Mapped[int] = mapped_column(Integer)
    population_amt: Mapped[int] = mapped_column(BigInteger)
    """The fund's payment of every settlement drawn from (what the institution claimed)."""
    drawn: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class SuspectEvent(Base):
    """One step taken on a 疑点: who, when, from where, what, with which note and file."""

    __tablename__ = "suspect_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("suspect_case.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("suspect_attachment.id"))
    channel: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class SuspectAttachment(Base):
    """A file attached to a 疑点 (an institution's appeal evidence), kept in the database."""

    __tablename__ = "suspect_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("suspect_case.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class AuditRuleChange(Base):
    """The bureau switched a rule on or off or changed a parameter (the latest row per rule is in force)."""

    __tablename__ = "audit_rule_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(16), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    params: Mapped[str] = mapped_column(Text)
    """JSON: parameter name → value (only those changed from the pack)."""
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class KnowledgeImport(Base):
    """A knowledge table imported from a bureau's workbook (the latest active row per table replaces the pack's)."""

    __tablename__ = "knowledge_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32), index=True)
    rows: Mapped[str] = mapped_column(Text)
    """The parsed rows, JSON."""
    row_count: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
