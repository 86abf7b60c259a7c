"""Figures for the home page: settlements of a day or year per payer, straight from the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.assistance import LINE as APPLICATION_LINE
from yibao.core.money import round_half_up_div
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Enrolment, Person

PAYERS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt")
"""Who paid a bill, in settlement order; they add up to ``medfee_sumamt``."""


@dataclass
class Totals:
    settlements: int = 0
    reversals: int = 0
    """Reversals of settlements."""
    applications: int = 0
    """Applications for assistance decided (依申请救助, ledger kind ``apply``), less their reversals; their pay is in
    ``maf_pay`` and, negative, in ``psn_part_amt`` (an application adds no cost)."""
    medfee_sumamt: int = 0
    inscp_scp_amt: int = 0
    by_payer: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAYERS, 0))

    @property
    def funds(self) -> int:
        return sum(self.by_payer[p] for p in PAYERS if p != "psn_part_amt")

    @property
    def policy_range_ratio_bp(self) -> int | None:
        """Funds paid / policy-range cost in basis points (the seeds' 政策范围内报销比例); ``None`` without cost."""
        if self.inscp_scp_amt <= 0:
            return None
        return round_half_up_div(self.funds * 10_000, self.inscp_scp_amt)


def recorded_between(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(LedgerEntry.recorded_at >= start, LedgerEntry.recorded_at < end)


def settled_in(year: int) -> sa.ColumnElement[bool]:
    return LedgerEntry.year == year


def totals(session: Session, condition: sa.ColumnElement[bool], user: str | None = None) -> Totals:
    """Settlements and reversals matching ``condition`` (and recorded by ``user``); amounts net of reversals, with
    back-pay corrections."""
    amounts = ("medfee_sumamt", "inscp_scp_amt", *PAYERS)
    cols = [sa.func.coalesce(sa.func.sum(getattr(LedgerEntry, a)), 0) for a in amounts]
    applying = (LedgerEntry.line == APPLICATION_LINE).label("applying")
    q = sa.select(LedgerEntry.kind, applying, sa.func.count(), *cols).where(condition).group_by(LedgerEntry.kind, applying)
    if user is not None:
        q = q.where(LedgerEntry.recorded_by == user)
    out = Totals()
    for kind, application, count, total, scp, *payers in session.execute(q):
        if application:  # an application or the reversal of one
            out.applications += int(count) if kind != "reverse" else -int(count)
        elif kind == "settle":
            out.settlements = int(count)
        elif kind == "reverse":
            out.reversals = int(count)
        # a back-pay (补差) corrects a settlement: its amounts count, it is no settlement or reversal of its own
        out.medfee_sumamt += int(total)
        out.inscp_scp_amt += int(scp)
        for payer, amount in zip(PAYERS, payers, strict=True):
            out.by_payer[payer] += int(amount)
    return out


def recent(
    session: Session, start: datetime, limit: int = 15, user: str | None = None, kind: str | None = None
) -> list[LedgerEntry]:
    """The latest ledger entries recorded since ``start`` (by ``user``, of ``kind``)."""
    q = sa.select(LedgerEntry).where(LedgerEntry.recorded_at >= start).order_by(LedgerEntry.id.desc()).limit(limit)
    if user is not None:
        q = q.where(LedgerEntry.recorded_by == user)
    if kind is not None:
        q = q.where(LedgerEntry.kind == kind)
    return list(session.scalars(q))


def names(session: Session, psn_nos: set[str]) -> dict[str, str]:
    """psn_no -> name for a page's few rows."""
    if not psn_nos:
        return {}
    return dict(session.execute(sa.select(Person.psn_no, Person.psn_name).where(Person.psn_no.in_(psn_nos))).all())


def register_figures(session: Session, year: int) -> dict[str, int]:
    people = session.scalar(sa.select(sa.func.count()).select_from(Person)) or 0
    enrolled = (
        session.scalar(
            sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.year == year, Enrolment.psn_insu_stas == "1")
        )
        or 0
    )
    return {"people": int(people), "enrolled": int(enrolled)}
