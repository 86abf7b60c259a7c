"""A year's enrolment by place: coverage of the county, its townships and their villages, the people not
enrolled (the gap list) and the 视同参保 ledger, each for the place asked for.

Rules (each with a test in ``tests/db/test_enrol_county.py``):

- **Coverage by place.** As :func:`yibao.app.coverage.coverage` (enrolled: a row with ``psn_insu_stas``
  "1" in any scheme; exempt: not enrolled, a special status; gap: neither), counted for the place and for
  each place one level down (the county's townships, a township's villages), overall and for the rural
  low-income and 脱贫 group (:data:`~yibao.policy.coverage.TARGET_CATEGORIES`, categories on ``as_of``).
- **Gap list.** Everyone in the place neither enrolled nor exempt for the year, with the category held
  on ``as_of``, sorted by township, village, household and name.
- **视同参保 ledger.** Everyone in the place with a special status recorded for the year (死亡, 服兵役,
  服刑, 省外参保), its evidence, who recorded it and when, and whether the person is enrolled here too.
- A township or village the registry does not hold is refused (``InputError``), never shown as zeros.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from yibao.app.coverage import GapEntry
from yibao.app.enrolment import ENROLLED, RESIDENT, categories_on, check_year, year_status
from yibao.core.errors import InputError
from yibao.core.identities import ORDINARY
from yibao.policy.coverage import DEFAULT_PRIORITY, TARGET_CATEGORIES, CoverageRow
from yibao.store.db import Database
from yibao.store.tables import Enrolment, Person

UNKNOWN_PLACE = ""
"""The place of people the registry gives none (shown as 未登记)."""


@dataclass(frozen=True)
class Place:
    """Where a view is: the county (no township), a township, or a village of a township."""

    township: str | None = None
    village: str | None = None

    @property
    def level(self) -> str:
        return "village" if self.village is not None else "township" if self.township is not None else "county"

    def matches(self, township: str | None, village: str | None) -> bool:
        if self.township is not None and (township or UNKNOWN_PLACE) != self.township:
            return False
        return self.village is None or (village or UNKNOWN_PLACE) == self.village


@dataclass(frozen=True)
class PlaceCoverage:
    """One place's coverage: everyone, and the low-income and 脱贫 group."""

    name: str
    """The township or village (:data:`UNKNOWN_PLACE` when the registry gives none); the county's own row: ``""``."""
    overall: CoverageRow
    low_income: CoverageRow


@dataclass(frozen=True)
class CoverageByPlace:
    year: int
    as_of: date
    place: Place
    total: PlaceCoverage
    parts: tuple[PlaceCoverage, ...]
    """One level down (townships of the county, villages of a township); none for a village."""


@dataclass(frozen=True)
class LedgerEntry:
    """One person's special status for the year (视同参保 / 免缴台账)."""

    psn_no: str
    psn_name: str
    certno: str
    township: str | None
    village: str | None
    status: str
    evidence: str | None
    enrolled: bool
    """Enrolled here as well (e.g. died during the year, or enrolled here and in another province)."""
    recorded_by: str
    recorded_at: datetime


def _counts(persons: int, enrolled: int, exempt: int, category: str) -> CoverageRow:
    return CoverageRow(category, persons, enrolled, exempt)


def check_place(db: Database, place: Place) -> Place:
    """``place`` if the registry holds it; ``InputError`` naming it otherwise."""
    if place.township is None:
        if place.village is not None:
            raise InputError(
                "enrolment", "village", place.village, "a village of a chosen township", expected_zh="所选乡镇下的村"
            )
        return place
    with db.reading() as s:
        q = (
            sa.select(sa.func.count())
            .select_from(Person)
            .where(sa.func.coalesce(Person.township, UNKNOWN_PLACE) == place.township)
        )
        if not s.scalar(q):
            raise InputError(
                "enrolment", "township", place.township, "a township of the registry", expected_zh="人员登记簿中的乡镇"
            )
        if place.village is not None and not s.scalar(q.where(sa.func.coalesce(Person.village, UNKNOWN_PLACE) == place.village)):
            raise InputError(
                "enrolment", "village", place.village, f"a village of {place.township}", expected_zh=f"{place.township}的村"
            )
    return place


def coverage_by_place(
    db: Database,
    year: int,
    place: Place = Place(),
    *,
    as_of: date | None = None,
    priority: Sequence[str] = DEFAULT_PRIORITY,
    validity: Mapping[str, int] | None = None,
) -> CoverageByPlace:
    """Coverage of ``place`` and of each place one level down."""
    check_year(year)
    check_place(db, place)
    day = as_of or date(year, 1, 1)
    with db.reading() as s:
        people = [
            (int(p), t, v)
            for p, t, v in s.execute(sa.select(Person.id, Person.township, Person.village).where(Person.merged_into.is_(None)))
        ]
        cats = categories_on(s, day, priority, validity=validity)
        enrolled, exempt, _ = year_status(s, year)
    # per part: [persons, enrolled, exempt] overall and for the target group
    tally: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    down = {"county": 1, "township": 2}.get(place.level)
    for pid, township, village in people:
        if not place.matches(township, village):
            continue
        keys = [None] if down is None else [None, (township if down == 1 else village) or UNKNOWN_PLACE]
        target = cats.get(pid, ORDINARY) in TARGET_CATEGORIES
        for key in keys:
            c = tally["\0" if key is None else key]
            c[0] += 1
            c[1] += pid in enrolled
            c[2] += pid not in enrolled and pid in exempt
            if target:
                c[3] += 1
                c[4] += pid in enrolled
                c[5] += pid not in enrolled and pid in exempt

    def row(name: str, c: list[int]) -> PlaceCoverage:
        return PlaceCoverage(name, _counts(c[0], c[1], c[2], "all"), _counts(c[3], c[4], c[5], "low_income"))

    total = row("", tally.pop("\0", [0] * 6))
    parts = tuple(row(name, tally[name]) for name in sorted(tally))
    return CoverageByPlace(year, day, place, total, parts)


def _people_in(place: Place) -> sa.Select[Any]:
    q = sa.select(Person).where(Person.merged_into.is_(None))  # a record merged into another counts once, as the survivor
    if place.township is not None:
        q = q.where(sa.func.coalesce(Person.township, UNKNOWN_PLACE) == place.township)
    if place.village is not None:
        q = q.where(sa.func.coalesce(Person.village, UNKNOWN_PLACE) == place.village)
    return q


def not_enrolled(
    db: Database,
    year: int,
    place: Place = Place(),
    *,
    as_of: date | None = None,
    priority: Sequence[str] = DEFAULT_PRIORITY,
    validity: Mapping[str, int] | None = None,
) -> list[GapEntry]:
    """Everyone in ``place`` neither enrolled nor exempt for ``year`` (the gap list of the place)."""
    check_year(year)
    check_place(db, place)
    day = as_of or date(year, 1, 1)
    with db.reading() as s:
        enrolled, exempt, stas_of = year_status(s, year)
        people = [p for p in s.scalars(_people_in(place)) if p.id not in enrolled and p.id not in exempt]
        cats = categories_on(s, day, priority, [p.id for p in people], validity) if people else {}
    entries = [GapEntry.of(p, cats.get(p.id, ORDINARY), stas_of.get(p.id)) for p in people]
    entries.sort(key=GapEntry.order)
    return entries


def special_ledger(db: Database, year: int, place: Place = Place()) -> list[LedgerEntry]:
    """The year's special statuses (视同参保 / 免缴) of the people in ``place``, one row per person."""
    check_year(year)
    check_place(db, place)
    inner = _people_in(place).subquery()
    q = (
        sa.select(Enrolment, inner.c.psn_no, inner.c.psn_name, inner.c.certno, inner.c.township, inner.c.village)
        .join(inner, inner.c.id == Enrolment.person_id)
        .where(Enrolment.year == year, Enrolment.special_status.is_not(None))
        .order_by(inner.c.township, inner.c.village, inner.c.psn_name, Enrolment.id)
    )
    with db.reading() as s:
        enrolled, _, _ = year_status(s, year)
        seen: set[int] = set()
        out: list[LedgerEntry] = []
        for e, psn_no, name, certno, township, village in s.execute(q):
            if e.person_id in seen:
                continue
            seen.add(e.person_id)
            out.append(
                LedgerEntry(
                    psn_no=psn_no,
                    psn_name=name,
                    certno=certno,
                    township=township,
                    village=village,
                    status=str(e.special_status),
                    evidence=e.evidence,
                    enrolled=e.person_id in enrolled,
                    recorded_by=e.recorded_by,
                    recorded_at=e.recorded_at,
                )
            )
    return out


def latest_year(db: Database, fallback: int) -> int:
    """The latest year with a resident enrolment row (``fallback`` when there is none)."""
    with db.reading() as s:
        got = s.scalar(
            sa.select(sa.func.max(Enrolment.year)).where(Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED)
        )
    return int(got) if got is not None else fallback


def townships(db: Database) -> list[str]:
    with db.reading() as s:
        return sorted({t or UNKNOWN_PLACE for t in s.scalars(sa.select(Person.township).distinct())})
