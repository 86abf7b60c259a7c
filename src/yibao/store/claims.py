"""The claims table (:mod:`yibao.rules.claims`) read from the ledger (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.rules.claims import AMOUNTS, CODES, EVERYWHERE, PERSON_COLUMNS, Place, empty, finish
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person


def from_ledger(session: Session, start: date, end: date, place: Place = EVERYWHERE) -> pl.DataFrame:
    """Settlements dated ``start``..``end`` (inclusive) that stand (not reversed), with the person's place."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.kind == "reverse", LedgerEntry.reverses.is_not(None))
    cols = [getattr(LedgerEntry, c) for c in (*CODES, "setl_date", *AMOUNTS)]
    q = (
        sa.select(*cols, *(getattr(Person, c) for c in PERSON_COLUMNS))
        .join(Person, Person.id == LedgerEntry.person_id)
        .where(
            LedgerEntry.kind == "settle",
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
