"""The claims cube (:mod:`yibao.reports.cube`) aggregated in the database from the ledger (SQLite or PostgreSQL).

The settlements counted are :func:`yibao.store.claims.from_ledger`'s, from the one SQL definition of them
(:func:`yibao.store.claims.standing`: kind ``settle``, dated in the period, not reversed, back-pay corrections added
under the identity of the latest; its ``year`` filter prunes partitions by year); a place narrows by the person's
county, township and village and by the settlement's institution. Nothing per settlement leaves the database: the
cells and the distinct-person counts are SQL aggregates (the grouping sets as UNION ALL of aggregates, with
``COUNT(DISTINCT)`` for the persons, which SQLite and PostgreSQL both run), the ``helped`` rows one per assisted person
and identity. ``tests/db/test_claims_cube.py`` holds ``cube_from_ledger == cube_of(from_ledger)`` on random ledgers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.reports.cube import (
    CELL_KEYS,
    CELLS_SCHEMA,
    FLAGS,
    HELPED_SCHEMA,
    PAID,
    VISIT_KEYS,
    VISIT_PERSONS_SCHEMA,
    VISIT_SETS,
    ClaimsCube,
)
from yibao.reports.grouping import ALL
from yibao.rules.claims import AMOUNTS, EVERYWHERE, Place
from yibao.store.claims import Settlements, as_int, standing
from yibao.store.tables import Person

PERSON_PLACES = ("county", "township", "village")


def counted(
    start: date, end: date, place: Place = EVERYWHERE, *, since: int | None = None, upto: int | None = None,
    of: Settlements | None = None,
) -> sa.Select[Any]:  # fmt: skip
    """The settlements the reports count (:func:`yibao.store.claims.standing`, the one definition; ``since``, ``upto``
    and ``of`` as there) in ``place``: ``year``, ``person_id``, ``month`` (``YYYY-MM``), ``med_type``, ``line``, ``identity``,
    ``fixmedins_code`` and the amounts (the person by id: the distinct-person counts hash integers, and only the helped
    rows are named)."""
    rows = standing(start, end, since=since, upto=upto, of=of).subquery("standing")
    month = sa.func.substr(sa.cast(rows.c.setl_date, sa.String), 1, 7)
    q = sa.select(rows.c.year, rows.c.person_id, month.label("month"), *(rows.c[c] for c in (*CELL_KEYS[1:], *AMOUNTS)))
    wanted = {f: getattr(place, f) for f in PERSON_PLACES if getattr(place, f)}
    if wanted:
        q = q.join(Person, Person.id == rows.c.person_id).where(*(getattr(Person, f) == v for f, v in wanted.items()))
    if place.fixmedins_code:
        q = q.where(rows.c.fixmedins_code == place.fixmedins_code)
    return q


def flagged(base: Any, name: str) -> sa.ColumnElement[bool]:
    """The flag ``name`` (:data:`yibao.reports.cube.FLAGS`) of a standing settlement."""
    total: sa.ColumnElement[Any] = sa.literal(0)
    for a in FLAGS[name]:
        total = total + base.c[a]
    return total > 0


def per_set(rows: Any, by: tuple[str, ...] = (), sign: int = 1) -> list[sa.Select[Any]]:
    """Distinct persons per grouping set of :data:`yibao.reports.cube.VISIT_SETS` (and the keys ``by`` first) among
    ``rows`` (the visit keys, ``by`` and ``person_id``; the keys left out are :data:`yibao.reports.grouping.ALL`),
    times ``sign``."""
    return [
        sa.select(
            *(rows.c[k] for k in by),
            *(rows.c[k] if k in kept else sa.literal(ALL, sa.String).label(k) for k in VISIT_KEYS),
            as_int(sa.func.count(sa.distinct(rows.c.person_id)) * sign).label("persons"),
        ).group_by(*(rows.c[k] for k in (*by, *kept)))
        for kept in VISIT_SETS
    ]


def _visit_persons(base: sa.CTE) -> list[sa.Select[Any]]:
    """Distinct persons per grouping set of :data:`yibao.reports.cube.VISIT_SETS`: the distinct (visit keys, person)
    rows made once by a hash aggregate (about one per person), then each set's ``COUNT(DISTINCT person_id)`` over
    them. At 20 million settlements this takes about 19 s. Building each set's distinct rows from the finer set's
    took 28 s: a chain of hash aggregates over millions of rows, each written out for the next."""
    finest = (
        sa.select(*(base.c[k] for k in VISIT_KEYS), base.c.person_id)
        .group_by(*(base.c[k] for k in VISIT_KEYS), base.c.person_id)
        .cte("visit_persons")
    )
    return per_set(finest)


def one_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def cell_sums(base: Any, sign: sa.ColumnElement[int] | None = None) -> list[sa.ColumnElement[int]]:
    """A cell's columns (:data:`yibao.reports.cube.CELLS_SCHEMA` after the keys) aggregated over ``base``'s settlements,
    each counted ``sign`` times when given (a fold's delta: +1 as the ledger stands now, -1 as it stood)."""

    def times(x: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return x if sign is None else x * sign

    return [
        as_int(sa.func.count() if sign is None else sa.func.sum(sign)).label("claims"),
        *(as_int(sa.func.sum(times(one_if(flagged(base, f))))).label(f"{f}_claims") for f in FLAGS),
        *(as_int(sa.func.sum(times(base.c[a]))).label(a) for a in AMOUNTS),
        *(as_int(sa.func.sum(times(sa.case((flagged(base, f), base.c[a]), else_=0)))).label(f"{f}_paid")
          for f, a in PAID.items()),
    ]  # fmt: skip


STACKED: dict[str, Any] = {
    **{k: sa.String for k in ("psn_no", *CELL_KEYS)},
    **{c: sa.BigInteger for c in (*CELLS_SCHEMA, *VISIT_PERSONS_SCHEMA, *HELPED_SCHEMA) if c not in ("psn_no", *CELL_KEYS)},
}
"""Every column of the three parts, with its SQL type (a part's rows have NULL in the columns it has not)."""


def _stacked(parts: dict[str, list[sa.Select[Any]]]) -> sa.CompoundSelect[Any]:
    """The parts' rows in one statement (UNION ALL), each named by ``part`` and padded to :data:`STACKED`, so the
    settlements are read once for all of them."""
    out = []
    for name, selects in parts.items():
        for n, q in enumerate(selects):
            sub = q.subquery(f"{name}_{n}")
            cols = [sub.c[c] if c in sub.c else sa.null().cast(t).label(c) for c, t in STACKED.items()]
            out.append(sa.select(sa.literal(name, sa.String).label("part"), *cols))
    return sa.union_all(*out)


def cube_from_ledger(session: Session, start: date, end: date, place: Place = EVERYWHERE) -> ClaimsCube:
    """The claims cube of the settlements :func:`yibao.store.claims.from_ledger` reads, aggregated in the database in
    one statement (the settlements read once, as a common table expression)."""
    base = counted(start, end, place).cte("counted")
    keys = [base.c[k] for k in CELL_KEYS]
    cells = sa.select(*keys, *cell_sums(base)).group_by(*keys)
    marked = (
        sa.select(base.c.person_id, base.c.identity, *(as_int(sa.func.max(one_if(flagged(base, f)))).label(f) for f in FLAGS))
        .where(sa.or_(*(flagged(base, f) for f in FLAGS)))
        .group_by(base.c.person_id, base.c.identity)
        .subquery("flagged")
    )
    helped = sa.select(Person.psn_no, *(marked.c[c] for c in ("identity", *FLAGS))).join(Person, Person.id == marked.c.person_id)
    return read_parts(session, {"cells": [cells], "persons": _visit_persons(base), "helped": [helped]})


def read_parts(session: Session, parts: dict[str, list[sa.Select[Any]]]) -> ClaimsCube:
    """The cube of the three parts' statements (``cells``, ``persons``, ``helped``), read in one statement."""
    schema = {"part": pl.Utf8, **{c: pl.Utf8 if t is sa.String else pl.Int64 for c, t in STACKED.items()}}
    rows = pl.DataFrame([tuple(r) for r in session.execute(_stacked(parts))], schema=schema, orient="row")

    def part(name: str) -> pl.DataFrame:
        return rows.filter(pl.col("part") == name)

    helped_rows = part("helped").with_columns(pl.col(f).cast(pl.Boolean) for f in FLAGS)
    return ClaimsCube.of(part("cells"), part("persons"), helped_rows)
