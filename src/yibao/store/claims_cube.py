"""The claims cube (:mod:`yibao.reports.cube`) aggregated in the database from the ledger (SQLite or PostgreSQL).

The settlements counted are :func:`yibao.store.claims.from_ledger`'s, from the one SQL definition of them
(:func:`yibao.store.claims.standing`: kind ``settle``, dated in the period, not reversed, back-pay corrections added
under the identity of the latest; its ``year`` filter prunes partitions by year); a place narrows by the person's
county, township and village and by the settlement's institution. Nothing per settlement leaves the database: the
cells and the distinct-person counts are SQL aggregates (the grouping sets as UNION ALL of hash aggregates, which SQLite
and PostgreSQL both run), the ``helped`` rows one per assisted person and identity. ``tests/db/test_claims_cube.py``
holds ``cube_from_ledger == cube_of(from_ledger)`` on random ledgers.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
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
from yibao.store.claims import standing
from yibao.store.tables import Person

PERSON_PLACES = ("county", "township", "village")


def _int(x: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """A sum back to an integer (PostgreSQL's SUM of a bigint is numeric)."""
    return sa.cast(x, sa.BigInteger)


def counted(start: date, end: date, place: Place = EVERYWHERE) -> sa.Subquery:
    """The settlements the reports count (:func:`yibao.store.claims.standing`, the one definition) in ``place``:
    ``psn_no``, ``month`` (``YYYY-MM``), ``med_type``, ``line``, ``identity``, ``fixmedins_code`` and the amounts."""
    rows = standing(start, end).subquery("standing")
    month = sa.func.substr(sa.cast(rows.c.setl_date, sa.String), 1, 7)
    q = sa.select(rows.c.psn_no, month.label("month"), *(rows.c[c] for c in (*CELL_KEYS[1:], *AMOUNTS)))
    wanted = {f: getattr(place, f) for f in PERSON_PLACES if getattr(place, f)}
    if wanted:
        q = q.join(Person, Person.id == rows.c.person_id).where(*(getattr(Person, f) == v for f, v in wanted.items()))
    if place.fixmedins_code:
        q = q.where(rows.c.fixmedins_code == place.fixmedins_code)
    return q.subquery("counted")


def _flag(base: sa.Subquery | sa.CTE, name: str) -> sa.ColumnElement[bool]:
    """The flag ``name`` (:data:`yibao.reports.cube.FLAGS`) of a standing settlement."""
    total: sa.ColumnElement[Any] = sa.literal(0)
    for a in FLAGS[name]:
        total = total + base.c[a]
    return total > 0


def _visit_persons(base: sa.Subquery) -> list[sa.Select[Any]]:
    """Distinct persons per grouping set of :data:`yibao.reports.cube.VISIT_SETS` (each set within the one before):
    each set's distinct (keys, person) rows made from the finer set's (hash aggregates over ever fewer rows, no
    sort of the settlements), then counted."""
    parts: list[sa.Select[Any]] = []
    finer: sa.Subquery | sa.CTE = base
    for n, kept in enumerate(VISIT_SETS):
        level = (
            sa.select(*(finer.c[k] for k in kept), finer.c.psn_no)
            .group_by(*(finer.c[k] for k in kept), finer.c.psn_no)
            .cte(f"visit_persons_{n}")
        )
        parts.append(
            sa.select(
                *(level.c[k] if k in kept else sa.literal(ALL, sa.String).label(k) for k in VISIT_KEYS),
                _int(sa.func.count()).label("persons"),
            )
            .select_from(level)
            .group_by(*(level.c[k] for k in kept))
        )
        finer = level
    return parts


assert all(set(b) <= set(a) for a, b in pairwise(VISIT_SETS)), "each visit set within the one before"


def _one_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _frame(session: Session, q: sa.Executable, schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in session.execute(q)], schema=schema, orient="row")


def cube_from_ledger(session: Session, start: date, end: date, place: Place = EVERYWHERE) -> ClaimsCube:
    """The claims cube of the settlements :func:`yibao.store.claims.from_ledger` reads, aggregated in the database."""
    base = counted(start, end, place)
    keys = [base.c[k] for k in CELL_KEYS]
    cells = sa.select(
        *keys,
        _int(sa.func.count()).label("claims"),
        *(_int(sa.func.sum(_one_if(_flag(base, f)))).label(f"{f}_claims") for f in FLAGS),
        *(_int(sa.func.sum(base.c[a])).label(a) for a in AMOUNTS),
        *(_int(sa.func.sum(sa.case((_flag(base, f), base.c[a]), else_=0))).label(f"{f}_paid") for f, a in PAID.items()),
    ).group_by(*keys)
    persons = sa.union_all(*_visit_persons(base))
    helped = (
        sa.select(base.c.psn_no, base.c.identity, *(sa.func.max(_one_if(_flag(base, f))).label(f) for f in FLAGS))
        .where(sa.or_(*(_flag(base, f) for f in FLAGS)))
        .group_by(base.c.psn_no, base.c.identity)
    )
    helped_rows = [(p, i, *(bool(v) for v in flags)) for p, i, *flags in session.execute(helped)]
    return ClaimsCube.of(
        _frame(session, cells, CELLS_SCHEMA),
        _frame(session, persons, VISIT_PERSONS_SCHEMA),
        pl.DataFrame(helped_rows, schema=HELPED_SCHEMA, orient="row"),
    )
