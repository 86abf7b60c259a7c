"""The claims table (:mod:`yibao.rules.claims`) read from the ledger (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from yibao.rules.claims import AMOUNTS, CODES, EVERYWHERE, PERSON_COLUMNS, Place, empty, finish
from yibao.store.ledger_partitions import in_years
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person


def corrected(name: str) -> sa.ColumnElement[int]:
    """A settlement's ledger amount ``name`` with its back-pay corrections added (补差, ``kind`` ``backpay``), for a
    query over ``ledger`` rows."""
    fix = aliased(LedgerEntry)
    extra = sa.select(sa.func.coalesce(sa.func.sum(getattr(fix, name)), 0)).where(fix.corrects == LedgerEntry.setl_id)
    total: sa.ColumnElement[int] = sa.cast(getattr(LedgerEntry, name) + extra.scalar_subquery(), sa.BigInteger)
    return total.label(name)  # SUM of a bigint is numeric on PostgreSQL: back to an integer


def from_ledger(session: Session, start: date, end: date, place: Place = EVERYWHERE) -> pl.DataFrame:
    """Settlements dated ``start``..``end`` (inclusive) that stand (not reversed), with the person's place; a
    settlement corrected by back-pay (补差, ``kind`` ``backpay``) counts with its corrections added, under the identity
    of its latest correction."""
    # every entry read has the year of its date, as has a reversal or back-pay of it (migration 0316): naming the
    # years lets a partitioned ledger read only theirs, and reads the same rows
    undo = aliased(LedgerEntry)
    reversed_ids = sa.select(undo.reverses).where(
        undo.kind == "reverse", undo.reverses.is_not(None), in_years(undo.year, start, end)
    )
    fix = aliased(LedgerEntry)
    fixes = (
        sa.select(fix.corrects.label("corrects"), *(sa.func.sum(getattr(fix, a)).label(a) for a in AMOUNTS))
        .where(fix.kind == "backpay", in_years(fix.year, start, end))
        .group_by(fix.corrects)
        .subquery()
    )
    latest = (
        sa.select(fix.identity)
        .where(fix.corrects == LedgerEntry.setl_id, in_years(fix.year, start, end))
        .order_by(fix.id.desc())
        .limit(1)
    )
    codes = [sa.func.coalesce(latest.scalar_subquery(), LedgerEntry.identity) if c == "identity" else getattr(LedgerEntry, c)
             for c in CODES]  # fmt: skip
    amounts = [
        sa.cast(getattr(LedgerEntry, a) + sa.func.coalesce(getattr(fixes.c, a), 0), sa.BigInteger).label(a) for a in AMOUNTS
    ]
    q = (
        sa.select(*codes, LedgerEntry.setl_date, *amounts, *(getattr(Person, c) for c in PERSON_COLUMNS))
        .join(Person, Person.id == LedgerEntry.person_id)
        .outerjoin(fixes, fixes.c.corrects == LedgerEntry.setl_id)
        .where(
            LedgerEntry.kind == "settle",
            in_years(LedgerEntry.year, start, end),
            LedgerEntry.setl_date >= start,
            LedgerEntry.setl_date <= end,
            LedgerEntry.setl_id.not_in(reversed_ids),
        )
        .order_by(LedgerEntry.person_id, LedgerEntry.setl_date, LedgerEntry.id)
    )
    for field in ("county", "township", "village"):
        if getattr(place, field):
            q = q.where(getattr(Person, field) == getattr(place, field))
    if place.fixmedins_code:
        q = q.where(LedgerEntry.fixmedins_code == place.fixmedins_code)
    names = [*CODES, "setl_date", *AMOUNTS, *PERSON_COLUMNS]
    rows = session.execute(q).all()
    if not rows:
        return empty()
    df = pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row", infer_schema_length=None)
    return finish(df)
