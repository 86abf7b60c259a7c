"""The settlement's one read: a person with everything the pure core needs for a year, the year locked.

One statement reads the person (by ``psn_no`` or resident ID number), whether they are enrolled in the year,
their identities, filings, resident tiers, institutions chosen and family-doctor contracts (as JSON texts,
:func:`yibao.app.registry.facts_columns`), the personal account's balance for the year (the core's
``Person.acct_balance``), the year-to-date row (``FOR UPDATE`` on PostgreSQL; on SQLite the
write transaction is ``BEGIN IMMEDIATE`` and already holds the database), the claim's institution, and the
settlements of the visit being settled. A person's first claim of a year finds no year-to-date row:
:func:`first_of_year` inserts it (or, when a concurrent first claim did, locks that one) and answers its
accumulators, in one more statement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.app.registry import FACTS, account_balance_column, core_person, facts_columns, survivor_of
from yibao.settlement import model as sm
from yibao.settlement.model import YearToDate
from yibao.store.service_tables import Institution, LedgerEntry, YearToDateRow
from yibao.store.tables import Enrolment, Person


@dataclass(frozen=True)
class PersonYear:
    """What one settlement reads before it computes."""

    person: Person
    core: sm.Person
    """The pure core's person: identities with periods, filings, scheme."""
    enrolled: bool
    """Enrolled (参保状态正常) in the year."""
    ytd: YearToDate | None
    """The year's accumulators as locked; ``None`` when the year has no row yet (:func:`first_of_year`)."""
    institution: tuple[int, str] | None
    """The claim's institution: its level and place (``None``: not registered, or none named)."""
    visit_settlements: int
    """How many settlements the visit being settled ever had (0 without a visit)."""
    standing: str | None
    """The visit's settlement that stands (no reversal undid it), the latest if several."""
    township: str = ""
    """The claim's institution's township group (capitation), ``""`` for none."""


_LEDGER: sa.Table = LedgerEntry.__table__  # type: ignore[assignment]
_UNDO = _LEDGER.alias("undo")
_VISIT_SETTLEMENTS = _LEDGER.c.mdtrt_id == sa.bindparam("mdtrt_id"), _LEDGER.c.kind == "settle"


@cache
def _statement(dialect: str, lock: bool) -> sa.Select[Any]:
    ytd = sa.select(YearToDateRow.data).where(YearToDateRow.person_id == Person.id, YearToDateRow.year == sa.bindparam("year"))
    if lock and dialect == "postgresql":
        ytd = ytd.with_for_update()
    enrolled = sa.exists().where(
        Enrolment.person_id == Person.id, Enrolment.year == sa.bindparam("year"), Enrolment.psn_insu_stas == "1"
    )
    inst = Institution.fixmedins_code == sa.bindparam("fixmedins_code")
    standing = (
        sa.select(_LEDGER.c.setl_id)
        .where(*_VISIT_SETTLEMENTS, ~sa.exists().where(_UNDO.c.reverses == _LEDGER.c.setl_id))
        .order_by(_LEDGER.c.id.desc())
        .limit(1)
    )
    return (
        sa.select(
            Person,
            enrolled.label("enrolled"),
            *facts_columns(dialect),
            account_balance_column(),
            ytd.scalar_subquery(),
            sa.select(Institution.hosp_lv).where(inst).scalar_subquery(),
            sa.select(Institution.place).where(inst).scalar_subquery(),
            sa.select(Institution.township).where(inst).scalar_subquery(),
            sa.select(sa.func.count()).select_from(_LEDGER).where(*_VISIT_SETTLEMENTS).scalar_subquery(),
            standing.scalar_subquery(),
        )
        .where(sa.or_(Person.psn_no == sa.bindparam("key"), Person.certno == sa.bindparam("certno")))
        .limit(1)
    )


def read(
    s: Session, key: str, year: int, *, fixmedins_code: str | None = None, mdtrt_id: str | None = None, lock: bool = True
) -> PersonYear | None:
    """The person ``key`` (``psn_no`` or resident ID number) for ``year`` in one statement, the year's row locked
    (``lock``); ``None`` when nobody matches."""
    key = key.strip()
    params = {"key": key, "certno": key.upper(), "year": year, "fixmedins_code": fixmedins_code or "", "mdtrt_id": mdtrt_id or ""}
    row = s.execute(_statement(s.get_bind().dialect.name, lock), params).first()
    if row is None:
        return None
    person, enrolled, *facts = row[: 2 + FACTS]
    if person.merged_into is not None:  # a record merged into another after review: the survivor is settled
        survivor = survivor_of(s, person)
        if survivor.id != person.id:
            return read(s, survivor.psn_no, year, fixmedins_code=fixmedins_code, mdtrt_id=mdtrt_id, lock=lock)
    balance, ytd, hosp_lv, place, township, count, standing = row[2 + FACTS :]
    return PersonYear(
        person=person,
        core=core_person(person, *facts, acct_balance=balance),
        enrolled=bool(enrolled),
        ytd=YearToDate.from_dict(json.loads(ytd)) if ytd is not None else None,
        institution=(hosp_lv, place) if hosp_lv is not None else None,
        visit_settlements=count,
        standing=standing,
        township=township or "",
    )


def first_of_year(s: Session, person_id: int, year: int) -> YearToDate:
    """The accumulators of the person's year when :func:`read` found no row: the row inserted, or (a concurrent
    first claim inserted it first) the one that is there; locked for this transaction either way.

    On conflict the row is "updated" to itself, which locks it and answers its data (``RETURNING``).
    """
    dialect = s.get_bind().dialect.name
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(YearToDateRow)
    empty = json.dumps(YearToDate(year).to_dict())
    stmt = (
        insert.values(person_id=person_id, year=year, data=empty, version=0)
        .on_conflict_do_update(index_elements=["person_id", "year"], set_={"data": YearToDateRow.data})
        .returning(YearToDateRow.data)
    )
    return YearToDate.from_dict(json.loads(s.execute(stmt).scalar_one()))
