"""The claims cube (:mod:`yibao.reports.cube`) aggregated in the database from the ledger (SQLite or PostgreSQL).

The settlements counted are :func:`yibao.store.claims.from_ledger`'s: dated in the period, of kind ``settle``, not
reversed; a settlement corrected by back-pay (补差, ``backpay`` rows naming it in ``corrects``) counts with its
corrections' amounts added, under the identity of its latest correction; a place narrows by the person's county,
township and village and by the settlement's institution. Nothing per settlement leaves the database: the cells and the
distinct-person counts are SQL aggregates (the grouping sets as UNION ALL, which SQLite and PostgreSQL both run), the
``helped`` rows one per assisted person and identity. ``tests/db/test_claims_cube.py`` holds
``cube_from_ledger == cube_of(from_ledger)`` on random ledgers.

When the period lies within one year every ledger row read is also filtered on ``year`` (a settlement's accounting
year: its ``setl_date``'s year, which its reversal and back-pay rows repeat), so partitions by year are pruned.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

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
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

PERSON_PLACES = ("county", "township", "village")


def _int(x: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """A sum back to an integer (PostgreSQL's SUM of a bigint is numeric)."""
    return sa.cast(x, sa.BigInteger)


def standing(start: date, end: date, place: Place = EVERYWHERE) -> sa.Select[Any]:
    """One row per settlement dated ``start``..``end`` that stands, as the reports count it: ``psn_no``, ``month``
    (``YYYY-MM``), ``med_type``, ``line``, ``identity`` (its latest correction's), ``fixmedins_code`` and the eleven
    amounts with the back-pay corrections added."""
    ledger = LedgerEntry
    same_year = start.year == end.year

    def in_year(entity: Any) -> list[sa.ColumnElement[bool]]:
        return [entity.year == start.year] if same_year else []

    undo = aliased(LedgerEntry)
    reversed_ = sa.exists().where(undo.kind == "reverse", undo.reverses == ledger.setl_id, *in_year(undo))
    fix = aliased(LedgerEntry)
    fixes = (
        sa.select(
            fix.corrects.label("corrects"),
            sa.func.max(fix.id).label("last_id"),
            *(sa.func.sum(getattr(fix, a)).label(a) for a in AMOUNTS),
        )
        .where(fix.kind == "backpay", fix.corrects.is_not(None), *in_year(fix))
        .group_by(fix.corrects)
        .subquery("fixes")
    )
    last = aliased(LedgerEntry)
    month = sa.func.substr(sa.cast(ledger.setl_date, sa.String), 1, 7)
    q = (
        sa.select(
            ledger.psn_no,
            month.label("month"),
            ledger.med_type,
            ledger.line,
            sa.func.coalesce(last.identity, ledger.identity).label("identity"),
            ledger.fixmedins_code,
            *(_int(getattr(ledger, a) + sa.func.coalesce(getattr(fixes.c, a), 0)).label(a) for a in AMOUNTS),
        )
        .outerjoin(fixes, fixes.c.corrects == ledger.setl_id)
        .outerjoin(last, last.id == fixes.c.last_id)
        .where(ledger.kind == "settle", ledger.setl_date >= start, ledger.setl_date <= end, *in_year(ledger), ~reversed_)
    )
    wanted = {f: getattr(place, f) for f in PERSON_PLACES if getattr(place, f)}
    if wanted:
        q = q.join(Person, Person.id == ledger.person_id).where(*(getattr(Person, f) == v for f, v in wanted.items()))
    if place.fixmedins_code:
        q = q.where(ledger.fixmedins_code == place.fixmedins_code)
    return q


def _flag(base: sa.Subquery | sa.CTE, name: str) -> sa.ColumnElement[bool]:
    """The flag ``name`` (:data:`yibao.reports.cube.FLAGS`) of a standing settlement."""
    total: sa.ColumnElement[Any] = sa.literal(0)
    for a in FLAGS[name]:
        total = total + base.c[a]
    return total > 0


def _one_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _frame(session: Session, q: sa.Executable, schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in session.execute(q)], schema=schema, orient="row")


def cube_from_ledger(session: Session, start: date, end: date, place: Place = EVERYWHERE) -> ClaimsCube:
    """The claims cube of the settlements :func:`yibao.store.claims.from_ledger` reads, aggregated in the database."""
    base = standing(start, end, place).subquery("standing")
    keys = [base.c[k] for k in CELL_KEYS]
    cells = sa.select(
        *keys,
        _int(sa.func.count()).label("claims"),
        *(_int(sa.func.sum(_one_if(_flag(base, f)))).label(f"{f}_claims") for f in FLAGS),
        *(_int(sa.func.sum(base.c[a])).label(a) for a in AMOUNTS),
        *(_int(sa.func.sum(sa.case((_flag(base, f), base.c[a]), else_=0))).label(f"{f}_paid") for f, a in PAID.items()),
    ).group_by(*keys)
    shared = standing(start, end, place).cte("standing")
    parts = [
        sa.select(
            *(shared.c[k] if k in kept else sa.literal(ALL, sa.String).label(k) for k in VISIT_KEYS),
            _int(sa.func.count(sa.distinct(shared.c.psn_no))).label("persons"),
        ).group_by(*(shared.c[k] for k in kept))
        for kept in VISIT_SETS
    ]
    persons = sa.union_all(*parts)
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
