"""The claims cube of a whole year kept as the ledger grows, so a year's report reads a few thousand stored rows
instead of the year's settlements (SQLite and PostgreSQL).

The cube of the settlements that stand (:func:`yibao.store.claims.standing`) is a sum over settlements, except its
distinct-person counts. A ledger row changes the standing of one settlement only: a settlement starts to stand, a
reversal undoes one, a back-pay adds to one and may move it to another identity. So the rows with ids ``after <
id <= upto`` change the cube by the cube of the settlements they touch as the ledger stands at ``upto``, less the
same settlements' cube as it stood at ``after`` (:func:`signed`: those settlements, each once with ``sign`` +1 and
once with -1, both read by :func:`yibao.store.claims.standing` with its ``since``, ``upto`` and ``of``). The tables
(:mod:`yibao.store.claims_cube_tables`) add up such deltas:

- ``claims_cube_cell``: the cube's cells per year (sums of the signed rows' columns, :func:`cell_sums`);
- ``claims_cube_visit``: each person's settlements per year and visit keys (the signed count);
- ``claims_cube_persons``: the persons per year and visit set. A person counts in a set while one of their visit
  rows under it is above 0, so the touched persons' set counts as their visit rows stand after the delta, less the
  same before it, are the change (:func:`persons_delta`);
- ``claims_cube_helped``: each person's settlements per year and identity meeting each flag.

:func:`fold` adds the rows written since the last fold (:func:`yibao.store.ledger_folds.fold_ledger`; the service's
daily check does, and a report when the fold is far behind, :func:`fold_if_behind`);
:func:`folded_cube` reads a year's cube as the stored tables plus the delta of the rows written after the fold, so it
never depends on the fold being recent. :func:`claims_cube` reads a report's cube that way when its period is a
whole year (or runs from 1 January past the year's last settlement) everywhere, else by
:func:`yibao.store.claims_cube.cube_from_ledger`. ``tests/db/test_claims_cube_fold.py`` holds the folded cube equal
to ``cube_from_ledger``'s for every year after folds in random steps, with rows written after the last.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.reports.cube import CELL_KEYS, FLAGS, VISIT_KEYS, ClaimsCube
from yibao.reports.grouping import ALL
from yibao.rules.claims import EVERYWHERE, Place
from yibao.store import ledger_folds
from yibao.store.big_reads import roomy
from yibao.store.claims import as_int, written
from yibao.store.claims_cube import cell_sums, counted, cube_from_ledger, flagged, one_if, per_set, read_parts
from yibao.store.claims_cube_tables import CUBE_CELL, CUBE_HELPED, CUBE_PERSONS, CUBE_VISIT, LENGTHS, NO_INSTITUTION
from yibao.store.ledger_folds import added, fold_ledger, upsert
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

JOB = "claims_cube"
"""The fold's name in ``ledger_fold``."""
EVER = (date(1, 1, 1), date(9999, 12, 31))
"""The dates of every year (a fold takes every year's rows)."""
VISIT = ("year", "person_id", *VISIT_KEYS)
HELPED = ("year", "person_id", "identity")
CELL_COLUMNS = [c.name for c in CUBE_CELL.c if not c.primary_key]
"""A cell's counts and sums (the cube's cell columns after the keys)."""


def older(after: int, upto: int | None, year: int | None = None) -> sa.Select[Any]:
    """The ``setl_id`` of the settlements written up to the ledger id ``after`` that the rows with ``after < id <=
    upto`` (no ``upto``: every row after) reverse or correct (looked up by ``setl_id`` and year: a reversal and a
    back-pay have the year of their settlement)."""
    e = LedgerEntry
    of_year = [] if year is None else [e.year == year]
    new = [*written(e, after, upto), *of_year]
    refs = sa.union(*(sa.select(e.year, c.label("ref")).where(*new, c.is_not(None)) for c in (e.reverses, e.corrects)))
    r = refs.subquery("refs")
    return sa.select(e.setl_id).join(r, sa.and_(e.setl_id == r.c.ref, e.year == r.c.year)).where(e.id <= after, *of_year)


def signed(start: date, end: date, after: int, upto: int | None) -> sa.Select[Any]:
    """The settlements dated ``start``..``end`` whose standing the ledger rows with ``after < id <= upto`` change, with
    ``sign`` +1 as they stand at ``upto`` and -1 as they stood at ``after``, in :func:`counted`'s columns. Summed with
    their sign, they are the change those rows make to any sum over the settlements that stand.

    They are the settlements written after ``after`` (read from those rows alone: their reversals and corrections
    come after them; they stood nowhere before) and the older ones those rows reverse or correct (:func:`older`, a
    few: read by ``setl_id``)."""
    new = counted(start, end, since=after if after else None, upto=upto).subquery("new")
    parts = [sa.select(sa.literal(1).label("sign"), *new.c)]
    if after:
        of = older(after, upto, start.year if start.year == end.year else None)
        now, was = (counted(start, end, upto=u, of=of).subquery(n) for u, n in ((upto, "now"), (after, "was")))
        parts += [sa.select(sa.literal(1).label("sign"), *now.c), sa.select(sa.literal(-1).label("sign"), *was.c)]
    return sa.union_all(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]


def _keyed(base: Any) -> list[sa.ColumnElement[Any]]:
    """A delta's cell keys, ``fixmedins_code`` as stored (:data:`yibao.store.claims_cube_tables.NO_INSTITUTION`)."""
    return [
        sa.func.coalesce(base.c[k], NO_INSTITUTION).label(k) if k == "fixmedins_code" else base.c[k] for k in ("year", *CELL_KEYS)
    ]


def cells_delta(base: Any) -> sa.Select[Any]:
    keys = _keyed(base)
    return sa.select(*keys, *cell_sums(base, base.c.sign)).group_by(*keys)


def visit_delta(base: Any) -> sa.Select[Any]:
    keys = [base.c[k] for k in VISIT]
    return sa.select(*keys, as_int(sa.func.sum(base.c.sign)).label("claims")).group_by(*keys)


def helped_delta(base: Any) -> sa.Select[Any]:
    """The change to each person's flagged settlements per year and identity (only a flagged row changes a count:
    the assisted, a minority, are all the table holds)."""
    keys = [base.c[k] for k in HELPED]
    flags = (as_int(sa.func.sum(base.c.sign * one_if(flagged(base, f)))).label(f) for f in FLAGS)
    return sa.select(*keys, *flags).where(sa.or_(*(flagged(base, f) for f in FLAGS))).group_by(*keys)


def persons_delta(base: Any, year: int | None = None) -> sa.Select[Any]:
    """The change to the persons per year and visit set that ``base``'s signed rows make: for the persons they touch,
    the set counts of their visit rows above 0 with the delta added, less the same without it."""
    persons = sa.select(base.c.year, base.c.person_id).distinct().cte("touched_persons")
    v = CUBE_VISIT.c
    stored = (
        sa.select(*(v[k] for k in VISIT), v.claims)
        .join(persons, sa.and_(persons.c.year == v.year, persons.c.person_id == v.person_id))
        .where(*([] if year is None else [v.year == year]))
    )
    before = stored.where(v.claims > 0).cte("before")  # each read by four sets: made once
    both = sa.union_all(stored, visit_delta(base)).subquery("both")
    keys = [both.c[k] for k in VISIT]
    after = sa.select(*keys).group_by(*keys).having(sa.func.sum(both.c.claims) > 0).cte("after")
    sets = sa.union_all(*per_set(after, ("year",)), *per_set(before, ("year",), -1)).subquery("sets")
    out = [sets.c[k] for k in ("year", *VISIT_KEYS)]
    total = sa.func.sum(sets.c.persons)
    return sa.select(*out, as_int(total).label("persons")).group_by(*out).having(total != 0)


def _delta_table(names: list[str]) -> sa.Table:
    """The fold's signed rows, held for its four statements (a temporary table of the fold's connection)."""
    cols = [sa.Column(c, sa.String(LENGTHS[c]) if c in LENGTHS else sa.BigInteger) for c in names]
    return sa.Table("claims_cube_delta", sa.MetaData(), *cols, prefixes=["TEMPORARY"])


def _add(s: Session, after: int, upto: int) -> None:
    """Add the change the rows ``after < id <= upto`` make (:func:`signed`) to the four tables; the persons first, as
    they compare with the visit rows stored before."""
    roomy(s, jit=False, hashes=True)  # compiling the plans costs seconds; the delta's aggregates hash in memory
    rows = signed(*EVER, after, upto)
    names = [c.name for c in rows.selected_columns]
    delta = _delta_table(names)
    conn = s.connection()
    delta.create(conn)
    try:
        conn.execute(delta.insert().from_select(names, rows))
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE claims_cube_delta"))
        upsert(s, CUBE_PERSONS, ["year", *VISIT_KEYS], persons_delta(delta), {"persons": added})
        upsert(s, CUBE_VISIT, VISIT, visit_delta(delta), {"claims": added})
        upsert(s, CUBE_CELL, ["year", *CELL_KEYS], cells_delta(delta), dict.fromkeys(CELL_COLUMNS, added))
        upsert(s, CUBE_HELPED, HELPED, helped_delta(delta), dict.fromkeys(FLAGS, added))
        s.execute(sa.delete(CUBE_HELPED).where(*(CUBE_HELPED.c[f] == 0 for f in FLAGS)))  # no longer assisted
    finally:
        delta.drop(conn)


def fold(engine: sa.Engine, upto: int | None = None) -> int:
    """Fold the ledger rows written since the last fold (up to the ledger id ``upto`` when given) into the claims
    cube's tables; the number of rows folded (0 also when the ledger stayed busy,
    :func:`yibao.store.ledger_folds.fold_ledger`)."""
    return fold_ledger(engine, JOB, _add, upto)


BEHIND = 100_000
"""Ledger ids past the fold beyond which :func:`fold_if_behind` folds: fewer are added by the read itself (a fold
took about 15 µs a row at 20M rows), and a fold takes a ``SHARE`` lock on the ledger, which holds the counters'
settlements back while it waits (:func:`yibao.store.ledger_folds.fold_ledger`)."""


def fold_if_behind(engine: sa.Engine, year: int | None = None, behind: int = BEHIND) -> int:
    """Fold (:func:`fold`) when more than ``behind`` ledger rows (of ``year``, when given: those a read of its cube
    would add) were written after the fold; the rows folded."""
    e = LedgerEntry
    with Session(engine) as s:
        after = sa.select(sa.func.count()).where(e.id > folded(s), *([] if year is None else [e.year == year]))
        late = s.scalar(after) or 0
    return fold(engine) if late > behind else 0


def folded(session: Session) -> int:
    """The highest ledger id folded into the claims cube (0 before the first fold)."""
    return ledger_folds.folded(session, JOB)


def _stored_plus(
    table: sa.Table, delta: sa.Select[Any], keys: list[str], columns: list[str], year: int, *extra: Any
) -> tuple[sa.Subquery, list[sa.ColumnElement[Any]], list[sa.ColumnElement[Any]]]:
    """The stored rows of ``year`` in ``table`` and ``delta``'s (its ``year`` left out), and any ``extra`` rows, as one
    subquery: its ``keys`` and the sums of its ``columns`` per key, to group by."""
    stored = sa.select(*(table.c[c] for c in (*keys, *columns))).where(table.c.year == year)
    change = delta.subquery()
    both = sa.union_all(stored, sa.select(*(change.c[c] for c in (*keys, *columns))), *extra).subquery(table.name)
    return both, [both.c[k] for k in keys], [as_int(sa.func.sum(both.c[c])).label(c) for c in columns]


def folded_cube(session: Session, year: int) -> ClaimsCube:
    """The claims cube of ``year`` (1 January to 31 December, everywhere): the stored tables plus the delta of the
    ledger rows written after the fold (all of them before the first). On PostgreSQL the rest of ``session``'s
    transaction runs without JIT compilation (:func:`yibao.store.big_reads.roomy`)."""
    roomy(session, jit=False)  # compiling the plan over every partition would cost seconds (from here on)
    base = signed(date(year, 1, 1), date(year, 12, 31), folded(session), None).cte("signed")
    cells_in, keys, sums = _stored_plus(CUBE_CELL, cells_delta(base), list(CELL_KEYS), CELL_COLUMNS, year)
    place = [sa.func.nullif(k, NO_INSTITUTION).label(k.name) if k.name == "fixmedins_code" else k for k in keys]
    cells = sa.select(*place, *sums).group_by(*keys).having(sa.func.sum(cells_in.c.claims) > 0)
    nobody = sa.select(*(sa.literal(ALL, sa.String).label(k) for k in VISIT_KEYS), sa.literal(0).label("persons"))
    persons_in, pkeys, psums = _stored_plus(  # the row of every person kept even at 0, as the aggregated cube's
        CUBE_PERSONS, persons_delta(base, year), list(VISIT_KEYS), ["persons"], year, nobody
    )
    everyone = sa.and_(*(k == ALL for k in pkeys))
    persons = sa.select(*pkeys, *psums).group_by(*pkeys).having(sa.or_(sa.func.sum(persons_in.c.persons) > 0, everyone))
    helped_in, hkeys, hsums = _stored_plus(CUBE_HELPED, helped_delta(base), ["person_id", "identity"], list(FLAGS), year)
    counts = sa.select(*hkeys, *hsums).group_by(*hkeys).having(sa.or_(*(sa.func.sum(helped_in.c[f]) > 0 for f in FLAGS)))
    each = counts.subquery("helped_counts")
    helped = sa.select(Person.psn_no, each.c.identity, *(one_if(each.c[f] > 0).label(f) for f in FLAGS)).join(
        Person, Person.id == each.c.person_id
    )
    return read_parts(session, {"cells": [cells], "persons": [persons], "helped": [helped]})


def whole_year(session: Session, start: date, end: date, place: Place) -> bool:
    """Whether the cube of ``start``..``end`` in ``place`` is its year's folded cube: everywhere, from 1 January, to 31
    December or past the last day any ledger row of the year is dated."""
    if place != EVERYWHERE or start != date(start.year, 1, 1) or end.year != start.year:
        return False
    if end == date(end.year, 12, 31):
        return True
    last = session.scalar(sa.select(sa.func.max(LedgerEntry.setl_date)).where(LedgerEntry.year == start.year))
    return last is None or last <= end


def claims_cube(session: Session, start: date, end: date, place: Place = EVERYWHERE) -> ClaimsCube:
    """The claims cube of ``start``..``end`` in ``place``: the year's folded cube (:func:`folded_cube`) when the period
    is its whole year everywhere (:func:`whole_year`), else aggregated from the ledger
    (:func:`yibao.store.claims_cube.cube_from_ledger`). Both are the same cube."""
    if whole_year(session, start, end, place):
        return folded_cube(session, start.year)
    return cube_from_ledger(session, start, end, place)
