"""The people cube (:mod:`yibao.reports.people`) aggregated in the database from the registry (SQLite or PostgreSQL).

The people of a place (``person``'s county, township and village), each with the category deciding on 1 January
(:func:`yibao.store.identity_reads.deciding_ranks`), the year's status from ``enrolment`` (enrolled: a row of any
scheme with ``psn_insu_stas`` enrolled; exempt: not enrolled, with a special status recorded) and the premiums of
their enrolled resident rows (the rows ``yibao enrol`` priced) — the rules of ``yibao coverage`` and
:func:`yibao.app.enrolment.year_status` — grouped in SQL: nothing per person leaves the database but the numbers of
the people whose premium the assistance fund subsidised. ``tests/db/test_people_cube.py`` holds it equal to the cube
of the people frame built person by person (:func:`yibao.reports.people.people_cube_of`) on random registries.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.core.identities import ORDINARY
from yibao.core.vocab import ENROLLED
from yibao.reports.people import CELLS_SCHEMA, PEOPLE_KEYS, PREMIUM_COLUMNS, PeopleCube
from yibao.reports.tables import RESIDENT, Context
from yibao.rules.claims import EVERYWHERE, Place
from yibao.store.claims import as_int, select_frame
from yibao.store.claims_cube import PERSON_PLACES, one_if
from yibao.store.identity_reads import category_of, deciding_ranks
from yibao.store.tables import Enrolment, Person

PRICED = sa.and_(Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED)
"""An enrolment row ``yibao enrol`` priced: an enrolled resident row."""


def _enrolment(year: int) -> sa.Subquery:
    """Per person with an enrolment row of ``year``, in one pass over the year's rows: ``enrolled`` (1 when a row of
    any scheme is enrolled), ``special`` (1 when a row records a special status), and of the priced rows
    (:data:`PRICED`): how many, their subsidy category, the amounts (null without one)."""
    return (
        sa.select(
            Enrolment.person_id,
            sa.func.max(one_if(Enrolment.psn_insu_stas == ENROLLED)).label("enrolled"),
            sa.func.max(one_if(Enrolment.special_status.is_not(None))).label("special"),
            sa.func.sum(one_if(PRICED)).label("resident_rows"),
            sa.func.max(sa.case((PRICED, Enrolment.subsidy_category))).label("subsidy_category"),
            *(as_int(sa.func.sum(sa.case((PRICED, getattr(Enrolment, c))))).label(c) for c in PREMIUM_COLUMNS),
        )
        .where(Enrolment.year == year)
        .group_by(Enrolment.person_id)
        .subquery("enrolment_of_year")
    )


def _subsidised(year: int) -> sa.Select[Any]:
    """The ids of the people whose priced rows' ``assistance_subsidy`` sums to more than 0 (only the people with such a
    row above 0 are summed: a sum above 0 has a part above 0)."""
    some = sa.select(Enrolment.person_id).where(Enrolment.year == year, PRICED, Enrolment.assistance_subsidy > 0)
    return (
        sa.select(Enrolment.person_id)
        .where(Enrolment.year == year, PRICED, Enrolment.person_id.in_(some))
        .group_by(Enrolment.person_id)
        .having(sa.func.sum(Enrolment.assistance_subsidy) > 0)
    )


def _in_place(place: Place) -> list[sa.ColumnElement[bool]]:
    """The people of ``place``: their county, township and village, as far as the place names them."""
    return [getattr(Person, f) == getattr(place, f) for f in PERSON_PLACES if getattr(place, f)]


def people_rows(year: int, place: Place, ctx: Context) -> sa.Select[Any]:
    """One row per person of ``place``: ``psn_no``, the :data:`yibao.reports.people.PEOPLE_KEYS` (flags as 0 / 1)
    and the premium amounts (0 without a priced row)."""
    ranks = deciding_ranks(date(year, 1, 1), ctx.priority, ctx.validity).subquery("ranks")
    yearly = _enrolment(year)
    enrolled = sa.func.coalesce(yearly.c.enrolled, 0) == 1
    exempt = sa.and_(sa.func.coalesce(yearly.c.special, 0) == 1, ~enrolled)
    q = (
        sa.select(
            Person.psn_no,
            *(getattr(Person, f) for f in PERSON_PLACES),
            category_of(ranks.c.rank, ctx.priority, ORDINARY).label("category"),
            one_if(enrolled).label("enrolled"),
            one_if(exempt).label("exempt"),
            one_if(sa.func.coalesce(yearly.c.resident_rows, 0) > 0).label("priced"),
            yearly.c.subsidy_category,
            *(sa.func.coalesce(yearly.c[c], 0).label(c) for c in PREMIUM_COLUMNS),
        )
        .outerjoin(ranks, ranks.c.person_id == Person.id)
        .outerjoin(yearly, yearly.c.person_id == Person.id)
    )
    return q.where(*_in_place(place))


def people_cube_from_registry(session: Session, year: int, place: Place = EVERYWHERE, ctx: Context | None = None) -> PeopleCube:
    """The people cube of ``place`` for ``year`` (categories as held on 1 January, with ``ctx``'s identity priority and
    validity), aggregated in the database: the cells in one statement, the subsidised people's numbers in another
    (subsidised: ``assistance_subsidy`` above 0, :func:`yibao.reports.people.subsidised`)."""
    rows = people_rows(year, place, ctx or Context()).subquery("people")
    keys = [rows.c[k] for k in PEOPLE_KEYS]
    cells = sa.select(
        *keys,
        as_int(sa.func.count()).label("persons"),
        as_int(sa.func.sum(one_if(rows.c.assistance_subsidy > 0))).label("subsidised"),
        *(as_int(sa.func.sum(rows.c[c])).label(c) for c in PREMIUM_COLUMNS),
    ).group_by(*keys)
    flags = ("enrolled", "exempt", "priced")  # 0 / 1 in SQL
    schema = {c: pl.Int8 if c in flags else t for c, t in CELLS_SCHEMA.items()}
    found = select_frame(session.connection(), cells, schema)
    who = session.scalars(sa.select(Person.psn_no).where(Person.id.in_(_subsidised(year)), *_in_place(place)))
    return PeopleCube.of(found, pl.DataFrame({"psn_no": list(who)}, schema={"psn_no": pl.Utf8}))
