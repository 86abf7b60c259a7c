"""Tables of the early warning: monitoring runs, warnings and every step of their follow-up."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.tables import Base, UtcDateTime


class MonitoringRun(Base):
    """One run of the warning rules for a period (by hand, by the CLI or by the monthly schedule)."""

    __tablename__ = "monitoring_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(8), index=True)
    pack_id: Mapped[str] = mapped_column(String(64))
    found: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16))
    """manual / cli / schedule."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class WarningCase(Base):
    """A person over a warning rule's line (or a candidate for assistance on application).

    One row per (rule, person, key): the key is the year for a cumulative rule and the
    settlement for a per-claim rule, so a re-run of any period updates the amounts in place.
    """

    __tablename__ = "warning"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    """warning / candidate."""
    key: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    identity: Mapped[str] = mapped_column(String(32))
    first_period: Mapped[str] = mapped_column(String(8), index=True)
    last_period: Mapped[str] = mapped_column(String(8))
    measure_amt: Mapped[int] = mapped_column(BigInteger)
    threshold_amt: Mapped[int] = mapped_column(BigInteger)
    excess_amt: Mapped[int] = mapped_column(BigInteger)
    crossing_setl_id: Mapped[str | None] = mapped_column(String(40))
    crossing_date: Mapped[date | None] = mapped_column(Date)
    setl_ids: Mapped[str] = mapped_column(Text)
    """The settlements that count, JSON list."""
    medfee_sumamt: Mapped[int] = mapped_column(BigInteger)
    fund_pay_sumamt: Mapped[int] = mapped_column(BigInteger)
    psn_part_amt: Mapped[int] = mapped_column(BigInteger)
    hh_self_pay: Mapped[int | None] = mapped_column(BigInteger)
    """Everything the person's household paid itself this year to the period's end (all lines)."""
    hh_persons: Mapped[int | None] = mapped_column(Integer)
    """How many of the household's members had settlements."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    """new / pushed / at_risk / not_at_risk / assisted / closed."""
    bureau: Mapped[str | None] = mapped_column(String(64))
    """Pushed to (bureau codes, comma separated)."""
    pushed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    at_risk: Mapped[bool | None] = mapped_column(Boolean)
    assisted_amt: Mapped[int | None] = mapped_column(BigInteger)
    assisted_setl_id: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("rule", "person_id", "key", name="uq_warning_rule_person_key"),)


class WarningEvent(Base):
    """One step of a warning's follow-up (never updated): who moved it, when, and what came with it."""

    __tablename__ = "warning_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warning.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    bureau: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    setl_id: Mapped[str | None] = mapped_column(String(40))
    period: Mapped[str | None] = mapped_column(String(8))
    """For run events: the period whose run created or updated the warning."""
    source: Mapped[str] = mapped_column(String(255))
    """web / api / cli / run / the imported file's name."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class LedgerFold(Base):
    """How far a job has folded the ledger: every ledger row with ``id <= ledger_id`` is in the job's tables
    (migration 0318). A reader adds the rows after it, so a job's tables are a cache: folding makes reads faster,
    never different (:mod:`yibao.store.monitoring_bounds`)."""

    __tablename__ = "ledger_fold"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    ledger_id: Mapped[int] = mapped_column(BigInteger)
    folded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PersonYearMeasure(Base):
    """Upper bounds of a person's monitoring measures in a year, folded from the ledger rows up to the
    ``person_year_measure`` fold (migration 0318; :mod:`yibao.store.monitoring_bounds` says what each column holds
    and why it bounds the rules' measures)."""

    __tablename__ = "person_year_measure"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    self_pay_sum: Mapped[int] = mapped_column(BigInteger)
    self_pay_max: Mapped[int] = mapped_column(BigInteger)
    self_pay_fixes: Mapped[int] = mapped_column(BigInteger)
    policy_range_self_pay_sum: Mapped[int] = mapped_column(BigInteger)
    policy_range_self_pay_max: Mapped[int] = mapped_column(BigInteger)
    policy_range_self_pay_fixes: Mapped[int] = mapped_column(BigInteger)
