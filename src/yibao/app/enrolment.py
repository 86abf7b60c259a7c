"""Enrolments in the database: creating them, pricing their premiums, special statuses.

Rules (each with a test in ``tests/db/test_enrolment.py``):

- **Creation.** :func:`enrol` with ID numbers gives each person a resident (``insutype`` 390)
  enrolment for the year, ``psn_insu_stas`` "1": a new row, or an existing not-enrolled row made
  normal; people recorded as deceased are refused.
- **Premium split (pricing).** A resident enrolled for year Y pays the premium of the pack in
  force on 1 January of Y, split by :func:`yibao.policy.premium.premium_split` by the identity
  that decides on the pack's cut-off day in Y-1 (当年缴费，次年享受): identities are read from the
  ``identity`` table as valid on that day, the pack's ``identity_priority`` picks the highest. A
  person who becomes 低保 after the cut-off day is subsidised as before it. Each priced row records
  the pack and the cut-off day (``policy_pack``, ``cutoff_date``).
- **Special statuses** (视同参保 / 免于参保: deceased, military service, prison, insured in
  another province; seed 000 keeps them in a ledger) are stored on the person's enrolment row
  for the year with their evidence, who recorded them and when. A person not enrolled but with
  a special status is *exempt*: covered-equivalent, never on the gap list.

Coverage, the gap list, duplicates and the subsidy budget are :mod:`yibao.app.coverage`; loading a
synthetic county is :mod:`yibao.app.bulk_load`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.core import vocab
from yibao.core.errors import InputError
from yibao.core.idcard import mask, parse_certno
from yibao.core.identities import ORDINARY
from yibao.policy.coverage import cat_order
from yibao.policy.in_force import pack_in_force
from yibao.policy.pack import PolicyPack
from yibao.policy.premium import PremiumPayers, Split, premium_split, unranked_subsidies
from yibao.policy.schema import Policy, Premium
from yibao.store.db import Database
from yibao.store.identity_reads import deciding_ranks
from yibao.store.tables import Enrolment, Identity, Person

RESIDENT = "390"
EMPLOYEE = "310"
ENROLLED = vocab.ENROLLED
"""``psn_insu_stas`` of a normal enrolment (national vocabulary: 0 not enrolled, 1 normal, 2 suspended, 4 terminated)."""
NOT_ENROLLED = "0"
SPECIAL = "4"
"""``psn_insu_stas`` given to a not-enrolled row that carries a special status (as the synthetic county)."""


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
class EnrolResult(PremiumPayers):
    """What :func:`enrol` did; the payers' amounts are the totals of the rows it priced."""

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


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def check_year(year: int) -> None:
    if not isinstance(year, int) or isinstance(year, bool) or not 1990 <= year <= 2100:
        raise InputError("enrolment", "year", year, "a year between 1990 and 2100")


def check_user(user: str) -> str:
    text = str(user or "").strip()
    if not text or len(text) > 64:
        raise InputError("enrolment", "user", user, "who does this: a non-empty name of at most 64 characters")
    return text


def policy_for_year(pack: PolicyPack, year: int) -> tuple[Policy, Premium]:
    """The policy in force on 1 January of ``year`` and its premium; ``InputError`` if there is none."""
    check_year(year)
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


def categories_on(
    s: Session,
    day: date,
    priority: Sequence[str],
    person_ids: Collection[int] | None = None,
    validity: Mapping[str, int] | None = None,
) -> dict[int, str]:
    """Deciding category per person on ``day`` from the identity table, each identity within the pack's
    ``identity_validity`` (:func:`yibao.store.identity_reads.deciding_ranks`, the database's twin of
    :func:`yibao.policy.deciding.deciding_on`); people without one are absent (ordinary)."""
    q = deciding_ranks(day, priority, validity)
    if person_ids is None:
        rows = [tuple(r) for r in s.execute(q)]
    else:
        rows = []
        for chunk in chunks(sorted(person_ids)):
            rows.extend(tuple(r) for r in s.execute(q.where(Identity.person_id.in_(chunk))))
    return {int(pid): priority[int(rank)] for pid, rank in rows}


def _certno(raw: object, where: str) -> str:
    text = str(raw).strip().upper() if raw is not None else ""
    try:
        parse_certno(text)
    except ValueError as exc:
        raise InputError(where, "certno", raw, f"a resident ID number: {exc}") from None
    return text


def _person_ids(s: Session, certnos: Sequence[str], where: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(list(certnos)):
        for pid, certno in s.execute(sa.select(Person.id, Person.certno).where(Person.certno.in_(chunk))):
            found[str(certno)] = int(pid)
    missing = [c for c in certnos if c not in found]
    if missing:
        shown = [mask(c) for c in missing[:5]]
        raise InputError(where, "certno", shown, f"people in the registry; {len(missing)} are not (the first {len(shown)} shown)")
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
    user = check_user(user)
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
        if wanted is not None:
            created, reactivated, person_ids = _create_enrolments(s, year, wanted, where, now, user)
            targets = _enrolled_rows(s, year, person_ids)
        else:
            targets = _enrolled_rows(s, year, None)
        by_cat, totals = _price(s, year, pack, policy, premium, targets, everyone=wanted is None, now=now, user=user)
        s.commit()
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


def _resident_rows(year: int) -> sa.Select[int, int, str, str | None]:
    return sa.select(Enrolment.id, Enrolment.person_id, Enrolment.psn_insu_stas, Enrolment.special_status).where(
        Enrolment.year == year, Enrolment.insutype == RESIDENT
    )


def _unpriced(person_id: int, year: int, insutype: str, psn_insu_stas: str, now: datetime, user: str) -> Enrolment:
    """A new enrolment row for the year with no premium yet (pricing comes after)."""
    return Enrolment(
        person_id=person_id,
        year=year,
        insutype=insutype,
        psn_insu_stas=psn_insu_stas,
        premium=0,
        individual=0,
        assistance_subsidy=0,
        fiscal_subsidy=0,
        recorded_at=now,
        recorded_by=user,
    )


def _create_enrolments(
    s: Session, year: int, wanted: Sequence[str], where: str, now: datetime, user: str
) -> tuple[int, int, set[int]]:
    """Each wanted person (ID number) gets an enrolled resident row for ``year``: a new row, or the
    first existing one made normal. Nothing is priced here. Returns (created, reactivated, person ids)."""
    rows_q = _resident_rows(year)
    ids = _person_ids(s, wanted, where)
    person_ids = set(ids.values())
    existing: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    for chunk in chunks(sorted(person_ids)):
        for eid, pid, stas, special in s.execute(rows_q.where(Enrolment.person_id.in_(chunk))):
            existing[int(pid)].append((int(eid), str(stas), special))
    dead = [c for c, pid in ids.items() if any(sp == "deceased" for _, _, sp in existing.get(pid, []))]
    if dead:
        raise InputError(where, "certno", [mask(c) for c in dead[:5]], "living people (these are recorded as deceased)")
    created = reactivated = 0
    for pid in sorted(person_ids):
        rows = existing.get(pid)
        if not rows:
            s.add(_unpriced(pid, year, RESIDENT, ENROLLED, now, user))
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
    return created, reactivated, person_ids


def _enrolled_rows(s: Session, year: int, person_ids: Collection[int] | None) -> list[tuple[int, int]]:
    """(enrolment id, person id) of the year's enrolled resident rows: of ``person_ids``, or everyone's (``None``)."""
    rows_q = _resident_rows(year)
    if person_ids is None:
        return [(int(e), int(p)) for e, p, stas, _ in s.execute(rows_q) if stas == ENROLLED]
    targets: list[tuple[int, int]] = []
    for chunk in chunks(sorted(person_ids)):
        targets.extend(
            (int(e), int(p)) for e, p, stas, _ in s.execute(rows_q.where(Enrolment.person_id.in_(chunk))) if stas == ENROLLED
        )
    return targets


def _price(
    s: Session,
    year: int,
    pack: PolicyPack,
    policy: Policy,
    premium: Premium,
    targets: Sequence[tuple[int, int]],
    *,
    everyone: bool,
    now: datetime,
    user: str,
) -> tuple[dict[str, list[int]], Counter[str]]:
    """Price the ``targets`` rows: the split of the category deciding on the cut-off day
    (:func:`yibao.policy.premium.premium_split`), with the pack and the cut-off day. With
    ``everyone`` the targets are all the year's enrolled resident rows, and the year's
    not-enrolled resident rows are cleared (they carry no premium). Returns the row ids per
    category and the totals per payer (fen)."""
    cutoff = premium.cutoff_date(year)
    if everyone:
        s.execute(
            sa.update(Enrolment)
            .where(Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas != ENROLLED)
            .values(premium=0, individual=0, assistance_subsidy=0, fiscal_subsidy=0, subsidy_category=None)
        )
    cats = categories_on(
        s, cutoff, policy.identity_priority, None if everyone else {p for _, p in targets}, policy.identity_validity
    )
    by_cat: dict[str, list[int]] = {ORDINARY: []}
    for eid, pid in targets:
        by_cat.setdefault(cats.get(pid, ORDINARY), []).append(eid)
    if not by_cat[ORDINARY]:
        del by_cat[ORDINARY]
    totals = Counter[str]()
    for category, eids in by_cat.items():
        split = premium_split(premium, category)
        values = {**_split_values(split, pack.pack_id, cutoff), "recorded_at": now, "recorded_by": user}
        if everyone and category == ORDINARY:
            # most people: one statement for every enrolled resident row, the others are overwritten below
            s.execute(
                sa.update(Enrolment)
                .where(Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED)
                .values(**values)
            )
        else:
            for chunk in chunks(sorted(eids)):
                s.execute(sa.update(Enrolment).where(Enrolment.id.in_(chunk)).values(**values))
        totals["individual"] += split.individual * len(eids)
        totals["assistance"] += split.assistance * len(eids)
        totals["fiscal"] += split.fiscal * len(eids)
    return by_cat, totals


def record_special_status(db: Database, certno: str, year: int, status: str, evidence: str, user: str) -> EnrolmentView:
    """Record a special status (死亡、服兵役、服刑、省外参保) with its evidence in the year's ledger.

    The status goes on the person's rows for the year; a person enrolled keeps
    ``psn_insu_stas`` "1" (for instance someone who died during the year); a person without an
    enrolment gets a row with ``psn_insu_stas`` "4" and no premium: exempt.
    """
    user = check_user(user)
    check_year(year)
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
            row = _unpriced(person.id, year, person.insutype or RESIDENT, SPECIAL, now, user)
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
        s.commit()
        return _view(main)


def _view(e: Enrolment) -> EnrolmentView:
    """The row's columns of the same names as the view's fields."""
    return EnrolmentView(**{f.name: getattr(e, f.name) for f in fields(EnrolmentView)})


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
