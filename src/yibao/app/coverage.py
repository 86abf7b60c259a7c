"""Questions about a year's enrolment: coverage rates, the gap list, duplicates, the subsidy budget.

Rules (each with a test in ``tests/db/test_enrolment.py``):

- **Coverage.** Of everyone in the registry: *enrolled* (a row with ``psn_insu_stas`` "1" in
  any scheme), *exempt* (not enrolled, a special status), *gap* (neither). Rates are basis
  points, rounded half up. Categories are decided on ``as_of`` (default 1 January of the year).
- **Gap list** (应保未保): people holding a low-income or 脱贫 category
  (:data:`~yibao.policy.coverage.TARGET_CATEGORIES`) on ``as_of`` who are neither enrolled nor exempt.
- **Duplicates** (重复参保): twice in the resident scheme, in the resident and employee scheme
  at once, or enrolled here while recorded as insured in another province.
- **Subsidy budget** (资助参保预算): the year's premiums by the category deciding on the pack's
  cut-off day and by payer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.enrolment import (
    EMPLOYEE,
    ENROLLED,
    RESIDENT,
    categories_on,
    check_year,
    chunks,
    pack_of_year,
    policy_for_year,
    year_status,
)
from yibao.core.errors import InputError
from yibao.core.idcard import mask
from yibao.core.identities import ORDINARY
from yibao.policy.coverage import DEFAULT_PRIORITY, TARGET_CATEGORIES, CoverageRow, cat_order
from yibao.policy.pack import PolicyPack
from yibao.policy.premium import PremiumPayers, Split, premium_split
from yibao.policy.schema import Policy, Premium
from yibao.store.db import Database
from yibao.store.tables import Enrolment, Person


@dataclass(frozen=True)
class Duplicate:
    """One person enrolled more than once for a year (重复参保)."""

    kind: Literal["resident_twice", "resident_and_employee", "here_and_other_province"]
    psn_no: str
    psn_name: str
    certno_masked: str
    township: str | None
    village: str | None
    enrolment_ids: tuple[int, ...]
    insutypes: tuple[str, ...]


DUPLICATE_LABELS: dict[str, tuple[str, str]] = {
    "resident_twice": ("居民医保重复参保", "twice in the resident scheme"),
    "resident_and_employee": ("同时参加居民医保和职工医保", "resident and employee scheme at once"),
    "here_and_other_province": ("本地参保且省外参保", "enrolled here and insured in another province"),
}


@dataclass(frozen=True)
class Coverage:
    year: int
    as_of: date
    overall: CoverageRow
    low_income: CoverageRow
    """The target group (:data:`TARGET_CATEGORIES`), which must reach 100%."""
    by_category: tuple[CoverageRow, ...]
    exempt_by_status: dict[str, int]


@dataclass(frozen=True)
class GapEntry:
    """One person on the gap list (应保未保)."""

    psn_no: str
    psn_name: str
    certno_masked: str
    gend: str
    brdy: date
    township: str | None
    village: str | None
    hh_no: str | None
    category: str
    """The low-income / 脱贫 category held on ``as_of``."""
    psn_insu_stas: str | None
    """The year's resident row status, ``None`` when the person has no row for the year."""
    subsidy_category: str | None = None
    """With a pack: the category that decides the subsidy (held on the cut-off day)."""
    individual: int | None = None
    """With a pack: what the person would pay."""
    assistance: int | None = None
    """With a pack: what the assistance fund would pay."""

    @classmethod
    def of(cls, p: Person, category: str, psn_insu_stas: str | None, split: Split | None = None) -> GapEntry:
        """The entry of registry person ``p`` (its ID number masked), with the subsidy ``split`` when a pack is given."""
        return cls(
            psn_no=p.psn_no,
            psn_name=p.psn_name,
            certno_masked=mask(p.certno),
            gend=p.gend,
            brdy=p.brdy,
            township=p.township,
            village=p.village,
            hh_no=p.hh_no,
            category=category,
            psn_insu_stas=psn_insu_stas,
            subsidy_category=split.category if split else None,
            individual=split.individual if split else None,
            assistance=split.assistance if split else None,
        )

    @staticmethod
    def order(e: GapEntry) -> tuple[str, str, str, str, str]:
        """Gap lists run by township, village, household, name."""
        return (e.township or "", e.village or "", e.hh_no or "", e.psn_name, e.psn_no)


@dataclass(frozen=True)
class GapList:
    year: int
    as_of: date
    pack_id: str | None
    cutoff: date | None
    entries: tuple[GapEntry, ...]


@dataclass(frozen=True)
class BudgetRow(PremiumPayers):
    category: str
    persons: int


@dataclass(frozen=True)
class Budget:
    """资助参保预算: premiums for a year by deciding category and payer (fen)."""

    year: int
    pack_id: str
    cutoff: date
    basis: Literal["enrolled", "eligible"]
    rows: tuple[BudgetRow, ...]

    @property
    def total(self) -> BudgetRow:
        return BudgetRow(
            category="all",
            persons=sum(r.persons for r in self.rows),
            individual=sum(r.individual for r in self.rows),
            assistance=sum(r.assistance for r in self.rows),
            fiscal=sum(r.fiscal for r in self.rows),
        )


def find_duplicates(db: Database, year: int) -> list[Duplicate]:
    """People enrolled twice for ``year``: twice in 390, in 390 and 310, or here and in another province."""
    check_year(year)
    with db.unit_of_work() as s:
        rows = s.execute(
            sa.select(Enrolment.id, Enrolment.person_id, Enrolment.insutype, Enrolment.psn_insu_stas, Enrolment.special_status)
            .where(Enrolment.year == year, Enrolment.psn_insu_stas == ENROLLED)
            .order_by(Enrolment.person_id, Enrolment.id)
        ).all()
        per: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
        for eid, pid, insutype, _stas, special in rows:
            per[int(pid)].append((int(eid), str(insutype), special))
        found: list[tuple[str, int, list[tuple[int, str, str | None]]]] = []
        for pid, own in per.items():
            residents = [r for r in own if r[1] == RESIDENT]
            employees = [r for r in own if r[1] == EMPLOYEE]
            if len(residents) >= 2:
                found.append(("resident_twice", pid, residents))
            if residents and employees:
                found.append(("resident_and_employee", pid, own))
            if any(r[2] == "other_province" for r in own):
                found.append(("here_and_other_province", pid, own))
        people = _people_by_id(s, {pid for _, pid, _ in found})
    out = []
    for kind, pid, own in found:
        p = people[pid]
        out.append(
            Duplicate(
                kind=kind,  # type: ignore[arg-type]
                psn_no=p.psn_no,
                psn_name=p.psn_name,
                certno_masked=mask(p.certno),
                township=p.township,
                village=p.village,
                enrolment_ids=tuple(e for e, _, _ in own),
                insutypes=tuple(i for _, i, _ in own),
            )
        )
    out.sort(key=lambda d: (d.township or "", d.village or "", d.psn_no, d.kind))
    return out


def _people_by_id(s: Session, ids: Collection[int]) -> dict[int, Person]:
    out: dict[int, Person] = {}
    for chunk in chunks(sorted(ids)):
        for p in s.scalars(sa.select(Person).where(Person.id.in_(chunk))):
            out[p.id] = p
    return out


def coverage(
    db: Database,
    year: int,
    as_of: date | None = None,
    *,
    priority: Sequence[str] = DEFAULT_PRIORITY,
    validity: Mapping[str, int] | None = None,
) -> Coverage:
    """Enrolment rates overall, for the low-income and 脱贫 target group, and per deciding category on ``as_of``
    (identities within the pack's ``validity``, ``identity_validity``)."""
    check_year(year)
    day = as_of or date(year, 1, 1)
    with db.unit_of_work() as s:
        person_ids = [int(p) for p in s.scalars(sa.select(Person.id).where(Person.merged_into.is_(None)))]
        cats = categories_on(s, day, priority, validity=validity)
        enrolled, exempt, _ = year_status(s, year)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pid in person_ids:
        c = counts[cats.get(pid, ORDINARY)]
        c[0] += 1
        if pid in enrolled:
            c[1] += 1
        elif pid in exempt:
            c[2] += 1
    order = sorted(counts, key=lambda c: cat_order(c, priority))
    by_category = tuple(CoverageRow(c, *counts[c]) for c in order)
    target = [r for r in by_category if r.category in TARGET_CATEGORIES]
    return Coverage(
        year=year,
        as_of=day,
        overall=CoverageRow(
            "all", sum(r.persons for r in by_category), sum(r.enrolled for r in by_category), sum(r.exempt for r in by_category)
        ),
        low_income=CoverageRow(
            "low_income", sum(r.persons for r in target), sum(r.enrolled for r in target), sum(r.exempt for r in target)
        ),
        by_category=by_category,
        exempt_by_status=dict(sorted(Counter(exempt[p] for p in person_ids if p in exempt).items())),
    )


def gap_list(db: Database, year: int, *, as_of: date | None = None, pack: PolicyPack | None = None) -> GapList:
    """Low-income and 脱贫 people (on ``as_of``, default 1 January) neither enrolled nor exempt for ``year``.

    With a pack (default: the pack that priced the year's enrolments, if any) each entry also
    says what the person would pay and what the assistance fund would pay, by the identity
    held on the pack's cut-off day (the rule :func:`enrol` applies).
    """
    check_year(year)
    day = as_of or date(year, 1, 1)
    if pack is None:
        pack = pack_of_year(db, year)
    policy: Policy | None = None
    premium: Premium | None = None
    if pack is not None:
        policy, premium = policy_for_year(pack, year)
    ranked = policy.identity_priority if policy else DEFAULT_PRIORITY
    gap_priority = (*[c for c in ranked if c in TARGET_CATEGORIES], *[c for c in TARGET_CATEGORIES if c not in ranked])
    with db.unit_of_work() as s:
        cats = categories_on(s, day, gap_priority, validity=policy.identity_validity if policy else None)
        enrolled, exempt, stas_of = year_status(s, year)
        gap_ids = {pid for pid in cats if pid not in enrolled and pid not in exempt}
        people = _people_by_id(s, gap_ids)
        cut_cats: dict[int, str] = {}
        cutoff = None
        if policy is not None and premium is not None:
            cutoff = premium.cutoff_date(year)
            cut_cats = categories_on(s, cutoff, policy.identity_priority, gap_ids, policy.identity_validity)
    entries = []
    for pid in gap_ids:
        p = people[pid]
        split = premium_split(premium, cut_cats.get(pid, ORDINARY)) if premium is not None else None
        entries.append(GapEntry.of(p, cats[pid], stas_of.get(pid), split))
    entries.sort(key=GapEntry.order)
    return GapList(year, day, pack.pack_id if pack else None, cutoff, tuple(entries))


def subsidy_budget(db: Database, year: int, pack: PolicyPack, *, basis: Literal["enrolled", "eligible"] = "enrolled") -> Budget:
    """The year's premiums by deciding category (on the cut-off day) and payer, in fen.

    ``enrolled``: people enrolled in the resident scheme for the year (each once, even if
    enrolled twice). ``eligible`` (应保尽保): every resident (``person.insutype`` 390) not
    enrolled as an employee and not exempt — what the funds need if everyone enrols.
    """
    if basis not in ("enrolled", "eligible"):
        raise InputError("subsidy budget", "basis", basis, "enrolled or eligible")
    policy, premium = policy_for_year(pack, year)
    cutoff = premium.cutoff_date(year)
    with db.unit_of_work() as s:
        if basis == "enrolled":
            ids = {
                int(p)
                for p in s.scalars(
                    sa.select(Enrolment.person_id).where(
                        Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED
                    )
                )
            }
        else:
            _, exempt, _ = year_status(s, year)
            employees = {
                int(p)
                for p in s.scalars(
                    sa.select(Enrolment.person_id).where(
                        Enrolment.year == year, Enrolment.insutype == EMPLOYEE, Enrolment.psn_insu_stas == ENROLLED
                    )
                )
            }
            residents = {
                int(p) for p in s.scalars(sa.select(Person.id).where(Person.insutype == RESIDENT, Person.merged_into.is_(None)))
            }
            ids = {p for p in residents if p not in employees and p not in exempt}
        cats = categories_on(s, cutoff, policy.identity_priority, validity=policy.identity_validity)
    count = Counter(cats.get(pid, ORDINARY) for pid in ids)
    rows = []
    for category in sorted(count, key=lambda c: cat_order(c, policy.identity_priority)):
        split = premium_split(premium, category)
        n = count[category]
        rows.append(
            BudgetRow(
                category=category,
                persons=n,
                individual=split.individual * n,
                assistance=split.assistance * n,
                fiscal=split.fiscal * n,
            )
        )
    return Budget(year, pack.pack_id, cutoff, basis, tuple(rows))
