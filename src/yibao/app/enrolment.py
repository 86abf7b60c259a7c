"""Enrolments in the database: premiums and subsidies, special statuses, duplicates, coverage.

Rules (each with a test in ``tests/db/test_enrolment.py``):

- **Premium split.** A resident (``insutype`` 390) enrolled for year Y (``psn_insu_stas`` "1")
  pays the premium of the pack in force on 1 January of Y, split by
  :func:`yibao.policy.premium.premium_split` by the identity that decides on the pack's
  cut-off day in Y-1 (当年缴费，次年享受): identities are read from the ``identity`` table as
  valid on that day, the pack's ``identity_priority`` picks the highest. A person who becomes
  低保 after the cut-off day is subsidised as before it. Each priced row records the pack and
  the cut-off day (``policy_pack``, ``cutoff_date``).
- **Special statuses** (视同参保 / 免于参保: deceased, military service, prison, insured in
  another province; seed 000 keeps them in a ledger) are stored on the person's enrolment row
  for the year with their evidence, who recorded them and when. A person not enrolled but with
  a special status is *exempt*: covered-equivalent, never on the gap list.
- **Coverage.** Of everyone in the registry: *enrolled* (a row with ``psn_insu_stas`` "1" in
  any scheme), *exempt* (not enrolled, a special status), *gap* (neither). Rates are basis
  points, rounded half up. Categories are decided on ``as_of`` (default 1 January of the year).
- **Gap list** (应保未保): people holding a low-income or 脱贫 category
  (:data:`TARGET_CATEGORIES`) on ``as_of`` who are neither enrolled nor exempt.
- **Duplicates** (重复参保): twice in the resident scheme, in the resident and employee scheme
  at once, or enrolled here while recorded as insured in another province.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.core.errors import InputError
from yibao.core.idcard import mask, parse_certno
from yibao.core.identities import ORDINARY
from yibao.policy.in_force import pack_in_force
from yibao.policy.pack import PolicyPack
from yibao.policy.premium import Split, premium_split, unranked_subsidies
from yibao.policy.schema import Policy, Premium
from yibao.store.db import Database
from yibao.store.tables import ChronicFiling, CrossFiling, Enrolment, Identity, ImportBatch, Person

RESIDENT = "390"
EMPLOYEE = "310"
ENROLLED = "1"
"""``psn_insu_stas`` of a normal enrolment (national vocabulary: 0 not enrolled, 1 normal, 2 suspended, 4 terminated)."""
NOT_ENROLLED = "0"
SPECIAL = "4"
"""``psn_insu_stas`` given to a not-enrolled row that carries a special status (as the synthetic county)."""

STAS_LABELS: dict[str, tuple[str, str]] = {
    "0": ("未参保", "not enrolled"),
    "1": ("正常参保", "enrolled"),
    "2": ("暂停参保", "suspended"),
    "4": ("终止参保", "terminated"),
}


@dataclass(frozen=True)
class SpecialStatus:
    code: str
    zh: str
    en: str
    aliases: tuple[str, ...]


SPECIAL_STATUSES: dict[str, SpecialStatus] = {
    s.code: s
    for s in (
        SpecialStatus("deceased", "死亡", "deceased", ("已故", "去世", "dead")),
        SpecialStatus("military", "服兵役", "military service", ("参军", "服役", "入伍", "现役军人", "military")),
        SpecialStatus("prison", "服刑", "in prison", ("服刑人员", "在押", "prison")),
        SpecialStatus(
            "other_province",
            "省外参保",
            "insured in another province",
            ("外省参保", "异地参保", "省外", "other province"),
        ),
    )
}
"""Seed 000: 省外异地参保的人员和视同参保人员（死亡、参军、服刑等）由县、乡、村三级建立台账."""

_STATUS_ALIASES = {name.lower(): s.code for s in SPECIAL_STATUSES.values() for name in (s.code, s.zh, s.en, *s.aliases)}

TARGET_CATEGORIES: tuple[str, ...] = ("tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin")
"""Rural low-income and 脱贫 people, whose enrolment must be 100% (应保尽保; seed 001: 农村低收入人口和脱贫人口参保率达100%)."""

DEFAULT_PRIORITY: tuple[str, ...] = (
    *TARGET_CATEGORIES,
    "pinkun",
    "orphan",
    "youfu",
    "disabled",
    "jisheng",
)
"""Which category a person is counted under when no pack says (the shipped packs' order, then the rest)."""

_CHUNK = 5000
T = TypeVar("T")


def special_status_code(name: str) -> str:
    """``deceased`` / 死亡 / ... to the code; ``InputError`` naming the accepted values otherwise."""
    code = _STATUS_ALIASES.get(str(name).strip().lower())
    if code is None:
        known = "、".join(f"{s.code}({s.zh})" for s in SPECIAL_STATUSES.values())
        raise InputError("special status", "status", name, f"one of {known}")
    return code


def special_status_label(code: str | None, lang: str = "zh") -> str:
    if code is None:
        return ""
    s = SPECIAL_STATUSES.get(code)
    if s is None:
        return code
    return s.zh if lang == "zh" else s.en


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolResult:
    year: int
    pack_id: str
    cutoff: date
    priced: int
    """Enrolment rows whose premium split was (re)computed."""
    created: int
    """New enrolment rows (only when ``persons`` were given)."""
    reactivated: int
    """Existing rows of the year that became enrolled (``psn_insu_stas`` 0/2/4 -> 1)."""
    by_category: dict[str, int]
    """Rows priced per deciding category."""
    individual: int
    assistance: int
    fiscal: int

    @property
    def total(self) -> int:
        return self.individual + self.assistance + self.fiscal


@dataclass(frozen=True)
class EnrolmentView:
    """One enrolment row as a clerk reads it."""

    id: int
    year: int
    insutype: str
    psn_insu_stas: str
    special_status: str | None
    evidence: str | None
    premium: int
    individual: int
    assistance_subsidy: int
    fiscal_subsidy: int
    subsidy_category: str | None
    policy_pack: str | None
    cutoff_date: date | None
    recorded_at: datetime
    recorded_by: str


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
class CoverageRow:
    category: str
    """An identity category code, ``ordinary``, ``all`` or ``low_income`` (the target group)."""
    persons: int
    enrolled: int
    exempt: int

    @property
    def gap(self) -> int:
        return self.persons - self.enrolled - self.exempt

    @property
    def covered(self) -> int:
        return self.enrolled + self.exempt

    @property
    def enrolled_rate_bp(self) -> int | None:
        """参保率: enrolled of all, basis points."""
        return _rate(self.enrolled, self.persons)

    @property
    def covered_rate_bp(self) -> int | None:
        """参保率（含视同参保）: enrolled or exempt, of all, basis points."""
        return _rate(self.covered, self.persons)


def _rate(part: int, whole: int) -> int | None:
    return None if whole == 0 else (2 * part * 10_000 + whole) // (2 * whole)


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


@dataclass(frozen=True)
class GapList:
    year: int
    as_of: date
    pack_id: str | None
    cutoff: date | None
    entries: tuple[GapEntry, ...]


@dataclass(frozen=True)
class BudgetRow:
    category: str
    persons: int
    individual: int
    assistance: int
    fiscal: int

    @property
    def total(self) -> int:
        return self.individual + self.assistance + self.fiscal


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
            "all",
            sum(r.persons for r in self.rows),
            sum(r.individual for r in self.rows),
            sum(r.assistance for r in self.rows),
            sum(r.fiscal for r in self.rows),
        )


@dataclass(frozen=True)
class LoadResult:
    folder: str
    persons: int
    identities: int
    enrolments: int
    chronic_filings: int
    cross_filings: int
    year: int
    seconds: float
    import_id: int
    rows: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _check_year(year: int) -> None:
    if not isinstance(year, int) or isinstance(year, bool) or not 1990 <= year <= 2100:
        raise InputError("enrolment", "year", year, "a year between 1990 and 2100")


def _check_user(user: str) -> str:
    text = str(user or "").strip()
    if not text or len(text) > 64:
        raise InputError("enrolment", "user", user, "who does this: a non-empty name of at most 64 characters")
    return text


def policy_for_year(pack: PolicyPack, year: int) -> tuple[Policy, Premium]:
    """The policy in force on 1 January of ``year`` and its premium; ``InputError`` if there is none."""
    _check_year(year)
    day = date(year, 1, 1)
    if not pack.covers(day):
        end = pack.valid_to.isoformat() if pack.valid_to else "open"
        raise InputError(
            f"policy pack {pack.pack_id}",
            "year",
            year,
            f"a year whose 1 January the pack covers ({pack.valid_from.isoformat()} .. {end})",
        )
    policy = pack.at(day)
    if policy.premium is None:
        raise InputError(pack.file, "policy.premium", None, "a premium block (individual, fiscal, cutoff, subsidies)")
    unranked = unranked_subsidies(policy.premium, policy.identity_priority)
    if unranked:
        raise InputError(
            pack.file,
            "policy.premium.subsidies",
            unranked,
            f"categories that identity_priority ranks ({list(policy.identity_priority)}), or they could never decide",
        )
    return policy, policy.premium


def deciding(rows: Iterable[tuple[int, str]], priority: Sequence[str]) -> dict[int, str]:
    """Per person, the highest-ranking category (same rule as :func:`yibao.core.identities.deciding_identity`)."""
    rank = {c: i for i, c in enumerate(priority)}
    best: dict[int, int] = {}
    for person_id, category in rows:
        r = rank.get(category)
        if r is not None and (person_id not in best or r < best[person_id]):
            best[person_id] = r
    return {pid: priority[r] for pid, r in best.items()}


def categories_on(s: Session, day: date, priority: Sequence[str], person_ids: Collection[int] | None = None) -> dict[int, str]:
    """Deciding category per person on ``day`` from the identity table; people without one are absent (ordinary)."""
    q = sa.select(Identity.person_id, Identity.category).where(
        Identity.valid_from <= day,
        sa.or_(Identity.valid_to.is_(None), Identity.valid_to >= day),
        Identity.category.in_(list(priority)),
    )
    if person_ids is None:
        rows: list[tuple[int, str]] = [(int(p), str(c)) for p, c in s.execute(q)]
    else:
        rows = []
        for chunk in _chunks(sorted(person_ids)):
            rows.extend((int(p), str(c)) for p, c in s.execute(q.where(Identity.person_id.in_(chunk))))
    return deciding(rows, priority)


def _certno(raw: object, where: str) -> str:
    text = str(raw).strip().upper() if raw is not None else ""
    try:
        parse_certno(text)
    except ValueError as exc:
        raise InputError(where, "certno", raw, f"a resident ID number: {exc}") from None
    return text


def _person_ids(s: Session, certnos: Sequence[str], where: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(list(certnos)):
        for pid, certno in s.execute(sa.select(Person.id, Person.certno).where(Person.certno.in_(chunk))):
            found[str(certno)] = int(pid)
    missing = [c for c in certnos if c not in found]
    if missing:
        shown = [mask(c) for c in missing[:5]]
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise InputError(where, "certno", shown, f"people in the registry; {len(missing)} are not{more}")
    return found


def _stored_pack_id(s: Session, year: int) -> str | None:
    row = s.execute(
        sa.select(Enrolment.policy_pack, sa.func.count())
        .where(Enrolment.year == year, Enrolment.policy_pack.is_not(None))
        .group_by(Enrolment.policy_pack)
        .order_by(sa.func.count().desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def pack_of_year(db: Database, year: int) -> PolicyPack | None:
    """The pack that priced most of the year's enrolments, if it is a shipped pack (or a readable file)."""
    with db.unit_of_work() as s:
        pack_id = _stored_pack_id(s, year)
    return pack_in_force([pack_id])


# ---------------------------------------------------------------------------------------------
# Enrolment and premiums
# ---------------------------------------------------------------------------------------------


def _split_values(split: Split, pack_id: str, cutoff: date) -> dict[str, Any]:
    return {
        "premium": split.total,
        "individual": split.individual,
        "assistance_subsidy": split.assistance,
        "fiscal_subsidy": split.fiscal,
        "subsidy_category": split.category,
        "policy_pack": pack_id,
        "cutoff_date": cutoff,
    }


def enrol(db: Database, year: int, pack: PolicyPack, *, persons: Iterable[str] | None = None, user: str) -> EnrolResult:
    """Enrol people in the resident scheme for ``year`` and price their premium split.

    With ``persons`` (ID numbers): each gets a resident enrolment for the year (created, or an
    existing not-enrolled row made normal) and its split. Without: every resident row of the
    year already enrolled is (re)priced, e.g. after loading a county or correcting identities,
    and not-enrolled rows carry no premium. One transaction: on any error nothing is written.
    """
    user = _check_user(user)
    policy, premium = policy_for_year(pack, year)
    cutoff = premium.cutoff_date(year)
    now = _now()
    where = f"enrol {year}"
    wanted: list[str] | None = None
    if persons is not None:
        wanted = list(dict.fromkeys(_certno(c, where) for c in persons))
        if not wanted:
            raise InputError(where, "persons", [], "at least one ID number (or no list: every enrolled resident)")
    created = reactivated = 0
    with db.unit_of_work() as s:
        rows_q = sa.select(Enrolment.id, Enrolment.person_id, Enrolment.psn_insu_stas, Enrolment.special_status).where(
            Enrolment.year == year, Enrolment.insutype == RESIDENT
        )
        if wanted is not None:
            ids = _person_ids(s, wanted, where)
            person_ids = set(ids.values())
            existing: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
            for chunk in _chunks(sorted(person_ids)):
                for eid, pid, stas, special in s.execute(rows_q.where(Enrolment.person_id.in_(chunk))):
                    existing[int(pid)].append((int(eid), str(stas), special))
            dead = [c for c, pid in ids.items() if any(sp == "deceased" for _, _, sp in existing.get(pid, []))]
            if dead:
                raise InputError(where, "certno", [mask(c) for c in dead[:5]], "living people (these are recorded as deceased)")
            for pid in sorted(person_ids):
                rows = existing.get(pid)
                if not rows:
                    s.add(
                        Enrolment(
                            person_id=pid,
                            year=year,
                            insutype=RESIDENT,
                            psn_insu_stas=ENROLLED,
                            premium=0,
                            individual=0,
                            assistance_subsidy=0,
                            fiscal_subsidy=0,
                            recorded_at=now,
                            recorded_by=user,
                        )
                    )
                    created += 1
                elif not any(stas == ENROLLED for _, stas, _ in rows):
                    first = min(eid for eid, _, _ in rows)
                    s.execute(
                        sa.update(Enrolment)
                        .where(Enrolment.id == first)
                        .values(psn_insu_stas=ENROLLED, recorded_at=now, recorded_by=user)
                    )
                    reactivated += 1
            s.flush()
            targets: list[tuple[int, int]] = []
            for chunk in _chunks(sorted(person_ids)):
                targets.extend(
                    (int(e), int(p))
                    for e, p, stas, _ in s.execute(rows_q.where(Enrolment.person_id.in_(chunk)))
                    if stas == ENROLLED
                )
        else:
            targets = [(int(e), int(p)) for e, p, stas, _ in s.execute(rows_q) if stas == ENROLLED]
            s.execute(
                sa.update(Enrolment)
                .where(Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas != ENROLLED)
                .values(premium=0, individual=0, assistance_subsidy=0, fiscal_subsidy=0, subsidy_category=None)
            )
        cats = categories_on(s, cutoff, policy.identity_priority, {p for _, p in targets} if wanted is not None else None)
        by_cat: dict[str, list[int]] = {ORDINARY: []}
        for eid, pid in targets:
            by_cat.setdefault(cats.get(pid, ORDINARY), []).append(eid)
        if not by_cat[ORDINARY]:
            del by_cat[ORDINARY]
        totals = Counter[str]()
        for category, eids in by_cat.items():
            split = premium_split(premium, category)
            values = {**_split_values(split, pack.pack_id, cutoff), "recorded_at": now, "recorded_by": user}
            if wanted is None and category == ORDINARY:
                # most people: one statement for every enrolled resident row, the others are overwritten below
                s.execute(
                    sa.update(Enrolment)
                    .where(Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED)
                    .values(**values)
                )
            else:
                for chunk in _chunks(sorted(eids)):
                    s.execute(sa.update(Enrolment).where(Enrolment.id.in_(chunk)).values(**values))
            totals["individual"] += split.individual * len(eids)
            totals["assistance"] += split.assistance * len(eids)
            totals["fiscal"] += split.fiscal * len(eids)
    return EnrolResult(
        year=year,
        pack_id=pack.pack_id,
        cutoff=cutoff,
        priced=len(targets),
        created=created,
        reactivated=reactivated,
        by_category={c: len(e) for c, e in sorted(by_cat.items(), key=lambda kv: cat_order(kv[0], policy.identity_priority))},
        individual=totals["individual"],
        assistance=totals["assistance"],
        fiscal=totals["fiscal"],
    )


def cat_order(category: str, priority: Sequence[str]) -> tuple[int, str]:
    if category in priority:
        return (list(priority).index(category), category)
    return (len(priority) + (1 if category == ORDINARY else 0), category)


def record_special_status(db: Database, certno: str, year: int, status: str, evidence: str, user: str) -> EnrolmentView:
    """Record a special status (死亡、服兵役、服刑、省外参保) with its evidence in the year's ledger.

    The status goes on the person's rows for the year; a person enrolled keeps
    ``psn_insu_stas`` "1" (for instance someone who died during the year); a person without an
    enrolment gets a row with ``psn_insu_stas`` "4" and no premium: exempt.
    """
    user = _check_user(user)
    _check_year(year)
    where = f"special status {year}"
    code = special_status_code(status)
    text = str(evidence or "").strip()
    if not text or len(text) > 255:
        raise InputError(where, "evidence", evidence, "the evidence (document, who confirmed it, date): 1 to 255 characters")
    cert = _certno(certno, where)
    now = _now()
    with db.unit_of_work() as s:
        person = s.execute(sa.select(Person).where(Person.certno == cert)).scalar_one_or_none()
        if person is None:
            raise InputError(where, "certno", mask(cert), "a person in the registry")
        rows = list(s.scalars(sa.select(Enrolment).where(Enrolment.person_id == person.id, Enrolment.year == year)))
        if not rows:
            row = Enrolment(
                person_id=person.id,
                year=year,
                insutype=person.insutype or RESIDENT,
                psn_insu_stas=SPECIAL,
                premium=0,
                individual=0,
                assistance_subsidy=0,
                fiscal_subsidy=0,
                recorded_at=now,
                recorded_by=user,
            )
            s.add(row)
            rows = [row]
        for row in rows:
            row.special_status = code
            row.evidence = text
            row.recorded_at = now
            row.recorded_by = user
            if row.psn_insu_stas == NOT_ENROLLED:
                row.psn_insu_stas = SPECIAL
        s.flush()
        main = min(rows, key=lambda r: (r.psn_insu_stas != ENROLLED, r.id))
        return _view(main)


def _view(e: Enrolment) -> EnrolmentView:
    return EnrolmentView(
        id=e.id,
        year=e.year,
        insutype=e.insutype,
        psn_insu_stas=e.psn_insu_stas,
        special_status=e.special_status,
        evidence=e.evidence,
        premium=e.premium,
        individual=e.individual,
        assistance_subsidy=e.assistance_subsidy,
        fiscal_subsidy=e.fiscal_subsidy,
        subsidy_category=e.subsidy_category,
        policy_pack=e.policy_pack,
        cutoff_date=e.cutoff_date,
        recorded_at=e.recorded_at,
        recorded_by=e.recorded_by,
    )


def enrolments_of(db: Database, certno: str) -> list[EnrolmentView]:
    """A person's enrolment rows, newest year first."""
    cert = _certno(certno, "enrolments")
    with db.unit_of_work() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.certno == cert))
        if pid is None:
            raise InputError("enrolments", "certno", mask(cert), "a person in the registry")
        rows = s.scalars(
            sa.select(Enrolment).where(Enrolment.person_id == pid).order_by(Enrolment.year.desc(), Enrolment.id)
        ).all()
        return [_view(e) for e in rows]


# ---------------------------------------------------------------------------------------------
# Duplicates, coverage, gap list, budget
# ---------------------------------------------------------------------------------------------


def find_duplicates(db: Database, year: int) -> list[Duplicate]:
    """People enrolled twice for ``year``: twice in 390, in 390 and 310, or here and in another province."""
    _check_year(year)
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
    for chunk in _chunks(sorted(ids)):
        for p in s.scalars(sa.select(Person).where(Person.id.in_(chunk))):
            out[p.id] = p
    return out


def year_status(s: Session, year: int) -> tuple[set[int], dict[int, str], dict[int, str]]:
    """(enrolled person ids, exempt person id -> status, resident row stas per person) for ``year``."""
    enrolled: set[int] = set()
    special: dict[int, str] = {}
    stas_of: dict[int, str] = {}
    q = sa.select(Enrolment.person_id, Enrolment.insutype, Enrolment.psn_insu_stas, Enrolment.special_status).where(
        Enrolment.year == year
    )
    for pid, insutype, stas, status in s.execute(q):
        pid = int(pid)
        if stas == ENROLLED:
            enrolled.add(pid)
        if status is not None:
            special.setdefault(pid, str(status))
        if insutype == RESIDENT and stas_of.get(pid) != ENROLLED:
            stas_of[pid] = str(stas)
    exempt = {pid: st for pid, st in special.items() if pid not in enrolled}
    return enrolled, exempt, stas_of


def coverage(db: Database, year: int, as_of: date | None = None, *, priority: Sequence[str] = DEFAULT_PRIORITY) -> Coverage:
    """Enrolment rates overall, for the low-income and 脱贫 target group, and per deciding category on ``as_of``."""
    _check_year(year)
    day = as_of or date(year, 1, 1)
    with db.unit_of_work() as s:
        person_ids = [int(p) for p in s.scalars(sa.select(Person.id))]
        cats = categories_on(s, day, priority)
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
    _check_year(year)
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
        cats = categories_on(s, day, gap_priority)
        enrolled, exempt, stas_of = year_status(s, year)
        gap_ids = {pid for pid in cats if pid not in enrolled and pid not in exempt}
        people = _people_by_id(s, gap_ids)
        cut_cats: dict[int, str] = {}
        cutoff = None
        if policy is not None and premium is not None:
            cutoff = premium.cutoff_date(year)
            cut_cats = categories_on(s, cutoff, policy.identity_priority, gap_ids)
    entries = []
    for pid in gap_ids:
        p = people[pid]
        split = premium_split(premium, cut_cats.get(pid, ORDINARY)) if premium is not None else None
        entries.append(
            GapEntry(
                psn_no=p.psn_no,
                psn_name=p.psn_name,
                certno_masked=mask(p.certno),
                gend=p.gend,
                brdy=p.brdy,
                township=p.township,
                village=p.village,
                hh_no=p.hh_no,
                category=cats[pid],
                psn_insu_stas=stas_of.get(pid),
                subsidy_category=split.category if split else None,
                individual=split.individual if split else None,
                assistance=split.assistance if split else None,
            )
        )
    entries.sort(key=lambda e: (e.township or "", e.village or "", e.hh_no or "", e.psn_name, e.psn_no))
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
            residents = {int(p) for p in s.scalars(sa.select(Person.id).where(Person.insutype == RESIDENT))}
            ids = {p for p in residents if p not in employees and p not in exempt}
        cats = categories_on(s, cutoff, policy.identity_priority)
    count = Counter(cats.get(pid, ORDINARY) for pid in ids)
    rows = []
    for category in sorted(count, key=lambda c: cat_order(c, policy.identity_priority)):
        split = premium_split(premium, category)
        n = count[category]
        rows.append(BudgetRow(category, n, split.individual * n, split.assistance * n, split.fiscal * n))
    return Budget(year, pack.pack_id, cutoff, basis, tuple(rows))


# ---------------------------------------------------------------------------------------------
# Loading a synthetic county
# ---------------------------------------------------------------------------------------------

_SYNTH_FILES = ("people", "identities", "enrolments", "chronic_filings", "cross_filings")


def _read_synth(folder: Path) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(str(folder), "manifest.json", None, "a folder written by `yibao synth` (manifest.json, Parquet files)")
    try:
        meta = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(manifest_path), "(file)", str(exc)[:80], "a readable JSON manifest") from None
    frames: dict[str, pl.DataFrame] = {}
    for name in _SYNTH_FILES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise InputError(str(folder), f"{name}.parquet", None, "present (every file `yibao synth` writes)")
        try:
            df = pl.read_parquet(path)
        except Exception as exc:  # any reader failure: a bad file for the clerk
            raise InputError(str(path), "(file)", str(exc)[:80], "a readable Parquet file") from None
        frames[name] = df.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
    return meta, frames


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("manifest.json", *(f"{n}.parquet" for n in _SYNTH_FILES)):
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def _insert(conn: sa.Connection, table: sa.Table, df: pl.DataFrame) -> None:
    """Bulk insert a frame whose columns are the table's: COPY on PostgreSQL, executemany elsewhere."""
    if df.height == 0:
        return
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        cols = ", ".join(quote(c) for c in df.columns)
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {quote(table.name)} ({cols}) FROM STDIN") as copy:
            for row in df.iter_rows():
                copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        # the text forms SQLAlchemy's SQLite types store (Date: 2022-01-31; DateTime:
        # 2022-01-31 08:00:00.000000), made by Polars for whole columns instead of row by row
        text = df.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"), pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        quote = conn.dialect.identifier_preparer.quote
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in df.columns)}) "
            f"VALUES ({', '.join('?' for _ in df.columns)})"
        )
        for chunk in text.iter_slices(100_000):
            conn.exec_driver_sql(sql, chunk.rows())
        return
    for chunk in df.iter_slices(50_000):
        conn.execute(table.insert(), chunk.to_dicts())


def load_synth(db: Database, county_dir: str | Path, user: str) -> LoadResult:
    """Bulk-load a synthetic county (``yibao synth``): people, identities, enrolments, filings.

    One transaction; nothing is written when the folder is incomplete or any of its people is
    already in the registry. The identities are recorded under one import batch (kind
    ``synth``) naming the folder and a SHA-256 of its files. Claims are not loaded (they are
    settled by the batch engine from the Parquet file). Premiums are not priced: run
    :func:`enrol` with a pack afterwards.
    """
    started = time.perf_counter()
    user = _check_user(user)
    folder = Path(county_dir)
    meta, f = _read_synth(folder)
    people = f["people"]
    now = _now()
    where = str(folder)
    with db.engine.begin() as conn:
        existing = pl.DataFrame(
            conn.execute(sa.select(Person.psn_no, Person.certno)).all(), schema=["psn_no", "certno"], orient="row"
        )
        clash = people.filter(
            pl.col("psn_no").is_in(existing["psn_no"].to_list()) | pl.col("certno").is_in(existing["certno"].to_list())
        )
        if clash.height:
            raise InputError(
                where,
                "psn_no/certno",
                clash["psn_no"].head(3).to_list(),
                f"people not yet in the registry ({clash.height} of {people.height} already are: loaded before?)",
            )
        stamp = [pl.lit(now).alias("recorded_at"), pl.lit(user).alias("recorded_by")]
        person_cols = [c.name for c in Person.__table__.columns if c.name != "id"]
        persons = people.with_columns(pl.lit(None, dtype=pl.String).alias("psn_type"), *stamp).select(person_cols)
        _insert(conn, Person.__table__, persons)  # type: ignore[arg-type]
        new_ids = pl.DataFrame(
            conn.execute(sa.select(Person.id, Person.psn_no)).all(),
            schema={"person_id": pl.Int64, "psn_no": pl.String},
            orient="row",
        ).join(people.select("psn_no"), on="psn_no", how="semi")
        idents = f["identities"]
        report = {
            "generator": meta.get("generator"),
            "persons": people.height,
            "year": meta.get("year"),
            "seed": meta.get("seed"),
            "rows": {name: df.height for name, df in f.items()},
        }
        inserted = conn.execute(
            sa.insert(ImportBatch).values(
                kind="synth",
                source_bureau="合成数据",
                file_name=str(folder)[-255:],
                file_sha256=_digest(folder),
                rows_total=idents.height,
                rows_rejected=0,
                report=json.dumps(report, ensure_ascii=False, sort_keys=True),
                recorded_at=now,
                recorded_by=user,
            )
        ).inserted_primary_key
        assert inserted is not None
        import_id = int(inserted[0])

        def with_person(df: pl.DataFrame) -> pl.DataFrame:
            return df.join(new_ids, on="psn_no", how="left", maintain_order="left")

        identity = with_person(idents.with_row_index("source_row", offset=1)).select(
            "person_id",
            "category",
            "valid_from",
            "valid_to",
            "source_bureau",
            pl.lit("identities.parquet").alias("source_file"),
            pl.col("source_row").cast(pl.Int64),
            pl.lit(import_id, dtype=pl.Int64).alias("import_id"),
            *stamp,
        )
        _insert(conn, Identity.__table__, identity)  # type: ignore[arg-type]
        enrol_df = with_person(f["enrolments"]).select(
            "person_id",
            pl.col("year").cast(pl.Int64),
            "insutype",
            "psn_insu_stas",
            "special_status",
            pl.when(pl.col("special_status").is_not_null())
            .then(pl.lit(f"合成数据 synthetic county {folder.name}"))
            .otherwise(None)
            .alias("evidence"),
            *(pl.lit(0, dtype=pl.Int64).alias(c) for c in ("premium", "individual", "assistance_subsidy", "fiscal_subsidy")),
            *stamp,
        )
        _insert(conn, Enrolment.__table__, enrol_df)  # type: ignore[arg-type]
        chronic = with_person(f["chronic_filings"]).select("person_id", "dise_codg", "begin", "end", *stamp)
        _insert(conn, ChronicFiling.__table__, chronic)  # type: ignore[arg-type]
        cross = with_person(f["cross_filings"]).select("person_id", "begin", "end", *stamp)
        _insert(conn, CrossFiling.__table__, cross)  # type: ignore[arg-type]
    years = f["enrolments"]["year"].unique().to_list()
    return LoadResult(
        folder=str(folder),
        persons=people.height,
        identities=idents.height,
        enrolments=enrol_df.height,
        chronic_filings=chronic.height,
        cross_filings=cross.height,
        year=int(years[0]) if years else int(meta.get("year", 0)),
        seconds=time.perf_counter() - started,
        import_id=import_id,
        rows=report["rows"],  # type: ignore[arg-type]
    )
