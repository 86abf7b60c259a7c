"""The claims table (:mod:`yibao.rules.claims`) read from the ledger (SQLite or PostgreSQL).

:func:`standing` is the one definition, in SQL, of the settlements that count: kind ``settle``, not reversed,
with their back-pay corrections (补差) added and the identity of their latest correction. :func:`from_ledger`
reads it into the claims frame; the monitoring prefilter (:mod:`yibao.store.monitoring_reads`) aggregates it.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from yibao.rules.claims import AMOUNTS, CODES, EVERYWHERE, PERSON_COLUMNS, SCHEMA, Place, empty, finish
from yibao.store.ledger_partitions import dated, in_years
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

Schema = Mapping[str, pl.DataType | type[pl.DataType]]
"""A frame's columns and their types, in order."""
Persons = sa.Select[int] | Collection[int]
"""Whose settlements to read: a query of person ids (run inside the same statement) or the ids themselves."""
Settlements = sa.Select[Any]
"""Which settlements to read: a query of their ``setl_id`` (run inside the same statement)."""


def as_int(x: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """A sum back to an integer (PostgreSQL's SUM of a bigint is numeric)."""
    return sa.cast(x, sa.BigInteger)


def corrected(name: str) -> sa.ColumnElement[int]:
    """A settlement's ledger amount ``name`` with its back-pay corrections added (补差, ``kind`` ``backpay``), for a
    query over ``ledger`` rows (one settlement or a few: a correlated subquery per row)."""
    fix = aliased(LedgerEntry)
    extra = sa.select(sa.func.coalesce(sa.func.sum(getattr(fix, name)), 0)).where(fix.corrects == LedgerEntry.setl_id)
    total: sa.ColumnElement[int] = sa.cast(getattr(LedgerEntry, name) + extra.scalar_subquery(), sa.BigInteger)
    return total.label(name)  # SUM of a bigint is numeric on PostgreSQL: back to an integer


def written(entry: Any, since: int | None, upto: int | None) -> list[sa.ColumnElement[bool]]:
    """The conditions that keep the ledger rows of ``entry`` with ``since < id <= upto`` (a bound left out: none)."""
    return [*([] if since is None else [entry.id > since]), *([] if upto is None else [entry.id <= upto])]


def corrections(
    start: date, end: date, since: int | None = None, upto: int | None = None, of: Settlements | None = None
) -> sa.Subquery:
    """Per corrected settlement (``corrects``) of the years of ``start``..``end``: the sum of each amount of its
    back-pays, and the identity of its latest correction (the highest ``id``), in one pass over the correcting rows (a
    window, no per-row subquery). A back-pay has the year of the settlement it corrects (migration 0316). The sums
    are integers again (SUM of a bigint is numeric on PostgreSQL): a settlement plus them is integer arithmetic.
    ``since``, ``upto`` and ``of``: as :func:`standing`'s."""
    fix = aliased(LedgerEntry)
    latest = sa.func.row_number().over(partition_by=fix.corrects, order_by=fix.id.desc())
    only = [] if of is None else [fix.corrects.in_(of)]
    rows = (
        sa.select(fix.corrects, fix.kind, fix.identity, latest.label("rn"), *(getattr(fix, a) for a in AMOUNTS))
        .where(fix.corrects.is_not(None), in_years(fix.year, start, end), *written(fix, since, upto), *only)
        .subquery("fix_rows")
    )
    backpay = rows.c.kind == "backpay"
    return (
        sa.select(
            rows.c.corrects,
            sa.func.max(sa.case((rows.c.rn == 1, rows.c.identity))).label("identity"),
            *(as_int(sa.func.sum(sa.case((backpay, rows.c[a])))).label(a) for a in AMOUNTS),
        )
        .group_by(rows.c.corrects)
        .subquery("fixes")
    )


def standing(
    start: date, end: date, persons: Persons | None = None, *, since: int | None = None, upto: int | None = None,
    of: Settlements | None = None,
) -> sa.Select[Any]:  # fmt: skip
    """Settlements dated ``start``..``end`` (inclusive) that stand (no reversal undid them): the ledger's codes,
    ``setl_date``, ``year``, ``person_id`` and ``id``, and every amount with its back-pay corrections added, under the
    identity of the latest correction. ``persons``: only their settlements; ``upto``: as the ledger stood when its
    highest id was ``upto`` (the rows after it left out); ``since``: only the ledger rows after that id (settlements
    written after it, whose reversals and corrections all come after them); ``of``: only these settlements (a query
    of ``setl_id``).

    A settlement's ``year`` is its ``setl_date``'s year, and its reversal's and back-pays' year is its own (both
    enforced on PostgreSQL by migration 0316), so every ledger row read is filtered on the year too: on a ledger
    partitioned by year only those partitions are read (:func:`yibao.store.ledger_partitions.in_years`)."""
    fixes = corrections(start, end, since, upto, of)
    undo = aliased(LedgerEntry)
    undone = sa.exists().where(
        undo.reverses.is_not(None), undo.reverses == LedgerEntry.setl_id, undo.kind == "reverse",
        in_years(undo.year, start, end), *written(undo, since, upto),
    )  # fmt: skip
    codes = [sa.func.coalesce(fixes.c.identity, LedgerEntry.identity).label(c) if c == "identity" else getattr(LedgerEntry, c)
             for c in CODES]  # fmt: skip
    amounts = [
        sa.cast(getattr(LedgerEntry, a) + sa.func.coalesce(fixes.c[a], 0), sa.BigInteger).label(a) for a in AMOUNTS
    ]  # SUM of a bigint is numeric on PostgreSQL: back to an integer
    q = (
        sa.select(*codes, LedgerEntry.setl_date, LedgerEntry.year, *amounts, LedgerEntry.person_id, LedgerEntry.id)
        .outerjoin(fixes, fixes.c.corrects == LedgerEntry.setl_id)
        .where(LedgerEntry.kind == "settle", dated(LedgerEntry, start, end), ~undone, *written(LedgerEntry, since, upto))
    )
    if of is not None:
        q = q.where(LedgerEntry.setl_id.in_(of))
    if persons is not None:
        q = q.where(LedgerEntry.person_id.in_(persons if isinstance(persons, sa.Select) else list(persons)))
    return q


def from_ledger(
    session: Session, start: date, end: date, place: Place = EVERYWHERE, *, persons: Persons | None = None
) -> pl.DataFrame:
    """Settlements dated ``start``..``end`` (inclusive) that stand (not reversed), with the person's place; a
    settlement corrected by back-pay (补差, ``kind`` ``backpay``) counts with its corrections added, under the identity
    of its latest correction. ``persons``: only the settlements of these people (ids, or a query of ids)."""
    df = _read(session, ledger_query(start, end, place, persons))
    return empty() if df.is_empty() else finish(df)


def ledger_query(start: date, end: date, place: Place = EVERYWHERE, persons: Persons | None = None) -> sa.Select[Any]:
    """What :func:`from_ledger` reads: the standing settlements with their person's columns, in person and date order."""
    rows = standing(start, end, persons).subquery("standing")
    q = (
        sa.select(*(rows.c[c] for c in (*CODES, "setl_date", *AMOUNTS)), *(getattr(Person, c) for c in PERSON_COLUMNS))
        .join(Person, Person.id == rows.c.person_id)
        .order_by(rows.c.person_id, rows.c.setl_date, rows.c.id)
    )
    for field in ("county", "township", "village"):
        if getattr(place, field):
            q = q.where(getattr(Person, field) == getattr(place, field))
    if place.fixmedins_code:
        q = q.where(rows.c.fixmedins_code == place.fixmedins_code)
    return q


READ_SCHEMA = {c: SCHEMA[c] for c in (*CODES, "setl_date", *AMOUNTS, *PERSON_COLUMNS)}
"""The columns of :func:`ledger_query`, as :func:`from_ledger` reads them."""


def _read(session: Session, q: sa.Select[Any]) -> pl.DataFrame:
    """The rows of :func:`ledger_query` as a frame of :data:`READ_SCHEMA`."""
    return select_frame(session.connection(), q, READ_SCHEMA)


def select_frame(conn: sa.Connection, q: sa.Select[Any], schema: Schema) -> pl.DataFrame:
    """The rows of ``q`` as a frame of ``schema`` (``q``'s columns in its order): on PostgreSQL by ``COPY … TO
    STDOUT`` (CSV) read by polars, elsewhere by the cursor's rows turned into columns."""
    return copied(conn, q, schema) if conn.dialect.name == "postgresql" else fetched(conn, q, schema)


def fetched(conn: sa.Connection, q: sa.Select[Any], schema: Schema) -> pl.DataFrame:
    """The rows of ``q`` fetched by the cursor, turned into the columns of ``schema``."""
    rows = conn.execute(q).all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pl.DataFrame(dict(zip(schema, columns, strict=True)), schema=schema)


NULL = r"\N"


def copied(conn: sa.Connection, q: sa.Select[Any], schema: Schema) -> pl.DataFrame:
    """``COPY (q) TO STDOUT`` as CSV (every value quoted, NULL unquoted ``\\N``) into polars, as the columns of ``schema``."""
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *, NULL '{NULL}')"
    buf = io.BytesIO()
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(sql, compiled.params) as copy:
        for chunk in copy:
            buf.write(chunk)
    if buf.tell() == 0:
        return pl.DataFrame(schema=schema)
    buf.seek(0)
    return pl.read_csv(buf, has_header=False, new_columns=list(schema), schema=schema, null_values=NULL)
