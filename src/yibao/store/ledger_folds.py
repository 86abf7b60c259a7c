"""Folding the ledger into a job's tables as it grows: how far a job has folded, the horizon a fold may reach, and
the additive upsert the jobs store their sums with (SQLite and PostgreSQL).

A job (:mod:`yibao.store.monitoring_bounds`, :mod:`yibao.store.claims_cube_fold`) keeps per-key sums of the ledger
rows with ``id`` up to its mark in ``ledger_fold``; :func:`fold_ledger` takes the rows written since, hands the range
to the job and moves the mark, one fold of a job at a time. A job's tables are a cache: a reader adds the rows after
the mark, so folding makes a read faster, never different.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.store.monitoring_tables import LedgerFold
from yibao.store.service_tables import LedgerEntry

HIGHEST = sa.select(sa.func.coalesce(sa.func.max(LedgerEntry.id), 0))
"""The highest ledger id (0: an empty ledger)."""
LOCK_WAIT = "2s"
"""How long a fold waits for the transactions writing to the ledger to end before it gives up (PostgreSQL): settling
queues behind a waiting ``SHARE`` lock, so a long writer (a back-pay batch) must not hold the windows up; a reader
reads correctly without the fold, only slower."""
LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's error code for a lock not taken within ``lock_timeout``."""

Combine = Callable[[sa.ColumnElement[Any], sa.ColumnElement[Any]], sa.ColumnElement[Any]]
Apply = Callable[[Session, int, int], None]
"""A job's step: add the ledger rows with ``after < id <= upto`` to its tables, in the fold's transaction."""


def folded_to(job: str) -> sa.ScalarSelect[int]:
    """The highest ledger id ``job`` has folded (0 before its first fold)."""
    return sa.select(sa.func.coalesce(sa.func.max(LedgerFold.ledger_id), 0)).where(LedgerFold.job == job).scalar_subquery()


def folded(session: Session, job: str) -> int:
    """The highest ledger id ``job`` has folded (0 before its first fold)."""
    return session.scalar(sa.select(folded_to(job))) or 0


def _horizon(engine: sa.Engine) -> int | None:
    """On PostgreSQL, the highest ledger id below which every row is committed: a short transaction takes a ``SHARE``
    lock on the ledger, which waits for the transactions writing to it to end (and holds new writers back the moment
    it takes), and reads the highest id then. ``None`` on SQLite (one writer at a time: the highest id the fold's own
    transaction sees is such a horizon already). Raises :class:`Busy` when the ledger stayed busy past
    :data:`LOCK_WAIT`."""
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            conn.execute(sa.text("LOCK TABLE ledger IN SHARE MODE"))
            return conn.scalar(HIGHEST) or 0
    except sa.exc.OperationalError as e:
        if getattr(e.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise Busy from None


class Busy(Exception):
    """The ledger stayed busy past :data:`LOCK_WAIT`."""


def fold_ledger(engine: sa.Engine, job: str, apply: Apply, upto: int | None = None) -> int:
    """Fold the ledger rows written since ``job``'s last fold into its tables (``apply``), those up to the ledger id
    ``upto`` when given; the number of rows folded (0 also when the ledger stayed busy past :data:`LOCK_WAIT`). Only
    rows every later reader will see are folded (:func:`_horizon`)."""
    try:
        horizon = _horizon(engine)
    except Busy:
        return 0
    with Session(engine) as s, s.begin():
        s.execute(insert_for(s)(LedgerFold).values(job=job, ledger_id=0).on_conflict_do_nothing())
        mark = s.get_one(LedgerFold, job, with_for_update=True)  # one fold of a job at a time
        if horizon is None:
            horizon = s.scalar(HIGHEST) or 0
        if upto is not None:
            horizon = min(horizon, upto)
        if horizon <= mark.ledger_id:
            return 0
        rows = s.scalar(sa.select(sa.func.count()).where(LedgerEntry.id > mark.ledger_id, LedgerEntry.id <= horizon)) or 0
        apply(s, mark.ledger_id, horizon)
        mark.ledger_id, mark.folded_at = horizon, datetime.now(UTC)
    return rows


def insert_for(s: Session | sa.Connection) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (PostgreSQL's or SQLite's)."""
    conn = s.connection() if isinstance(s, Session) else s
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def added(a: sa.ColumnElement[Any], b: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return a + b


def upsert(s: Session, table: Any, keys: Sequence[str], rows: sa.Select[Any], combine: Mapping[str, Combine]) -> None:
    """Add ``rows`` (the key columns ``keys``, then the columns of ``combine``, unique per key) to ``table``: a new key
    inserted, a stored one's columns combined with the new values (``combine[c](stored, new)``)."""
    stmt = insert_for(s)(table).from_select([*keys, *combine], rows)
    stored, new = table.__table__.c if hasattr(table, "__table__") else table.c, stmt.excluded
    s.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_={c: f(stored[c], new[c]) for c, f in combine.items()}))
