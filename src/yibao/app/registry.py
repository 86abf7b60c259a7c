"""Looking people up, their identities on a date, filings — and the settlement core's view of a person."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from yibao.app.filings import screenings_of, signed_of
from yibao.app.stamps import recorded
from yibao.core.errors import InputError, NotFound
from yibao.core.idcard import mask, parse_certno
from yibao.core.identities import IdentityPeriod
from yibao.policy.schema import Policy
from yibao.settlement import model as sm
from yibao.store.service_tables import Institution
from yibao.store.tables import (
    ChronicFiling,
    CrossFiling,
    Enrolment,
    FamilyDoctorContract,
    Identity,
    InstitutionChoice,
    Person,
    PersonalAccount,
    ResidentTier,
)

Dated = Identity | ChronicFiling | CrossFiling | ResidentTier | InstitutionChoice | FamilyDoctorContract
"""Rows with dates, correlated with the person in :func:`facts_columns`."""


def find_person(session: Session, key: str) -> Person:
    """By ``psn_no`` or resident ID number; ``InputError`` when nobody matches. The number of a record merged into
    another (a reviewed 同人异号, :mod:`yibao.app.conflicts`) finds the surviving person."""
    key = key.strip()
    person = session.scalar(sa.select(Person).where(sa.or_(Person.psn_no == key, Person.certno == key.upper())))
    if person is None:
        raise person_not_found(key)
    return survivor_of(session, person)


def survivor_of(session: Session, person: Person) -> Person:
    """``person``, or the person its record was merged into (``merged_into``; a merge never chains)."""
    if person.merged_into is None:
        return person
    return session.get(Person, person.merged_into) or person


def person_not_found(key: str) -> NotFound:
    return NotFound("person", "psn_no", key.strip(), "a psn_no or resident ID number registered in yibao")


TAIL = re.compile(r"^(?P<name>[^0-9]*?)\s*(?P<tail>[0-9]{3,5}[0-9Xx])$|^(?P<tail2>[0-9]{3,5}[0-9Xx])\s*(?P<name2>[^0-9]+)$")
"""A search by the last 4–6 characters of the ID number, with the name before or after it (``张三 1234``, ``1234张三``)."""
TAIL_ALONE = 6
"""The ID number's tail alone must be this long (four or five characters match too many people without a name)."""
PER_PAGE = 10
"""People per page of a search's results."""


@dataclass(frozen=True)
class PeopleFound:
    """One page of a search's results, the count of all matches and the page asked for."""

    people: list[Person]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_query(text: str) -> tuple[str, str]:
    """The name (prefix) and ID number tail a search text asks for; ``InputError`` for a tail too short alone."""
    text = " ".join(text.split())
    m = TAIL.match(text)
    if m is None:
        return text, ""
    name = (m.group("name") if m.group("tail") else m.group("name2")) or ""
    tail = (m.group("tail") or m.group("tail2")).upper()
    if not name.strip() and len(tail) < TAIL_ALONE:
        raise InputError(
            "people search", "q", text, f"the last {TAIL_ALONE} characters of the ID number, or 4 to 6 of them with the name",
            expected_zh=f"身份证号后 {TAIL_ALONE} 位；后 4–5 位须与姓名一起输入（如 张三 1234）",
        )  # fmt: skip
    return name.strip(), tail


def find_people(session: Session, text: str, page: int = 1, per_page: int = PER_PAGE) -> PeopleFound:
    """By exact ID number or psn_no; else by the ID number's last 4–6 characters with the name (:func:`search_query`;
    six alone); else by name prefix. A page of ``per_page`` people, by name and person number, and the total."""
    text = text.strip()
    page = max(1, page)
    if not text:
        return PeopleFound([], 0, 1, per_page)
    exact = session.scalars(sa.select(Person).where(sa.or_(Person.psn_no == text, Person.certno == text.upper()))).all()
    if exact:
        return PeopleFound(list(exact), len(exact), 1, per_page)
    name, tail = search_query(text)
    where = []
    if name:
        where.append(Person.psn_name.startswith(name, autoescape=True))
    if tail:
        where.append(Person.certno.endswith(tail, autoescape=True))
    total = session.scalar(sa.select(sa.func.count()).select_from(Person).where(*where)) or 0
    q = sa.select(Person).where(*where).order_by(Person.psn_name, Person.psn_no).limit(per_page).offset((page - 1) * per_page)
    return PeopleFound(list(session.scalars(q)), total, page, per_page)


def identities_on(session: Session, person_id: int, day: date) -> list[Identity]:
    """Identities valid on ``day`` — what the person was on that date."""
    return list(
        session.scalars(
            sa.select(Identity)
            .where(Identity.person_id == person_id, Identity.valid_from <= day)
            .where(sa.or_(Identity.valid_to.is_(None), Identity.valid_to >= day))
            .order_by(Identity.valid_from)
        )
    )


def _json_rows(dialect: str, table: type[Dated], cols: tuple[Any, ...]) -> Any:
    """The person's rows of ``table`` (``person_id`` bound or correlated), ``cols`` of each, as one JSON text
    (``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite; NULL on PostgreSQL when there is none)."""
    if dialect == "postgresql":
        agg: Any = sa.cast(sa.func.json_agg(aggregate_order_by(sa.func.json_build_array(*cols), table.id)), sa.Text)
    else:
        agg = sa.func.json_group_array(sa.func.json_array(*cols))
    return sa.select(agg).where(table.person_id == Person.id).scalar_subquery()


FACTS = 7
"""How many columns :func:`facts_columns` gives."""


def facts_columns(dialect: str) -> tuple[Any, ...]:
    """What ``settle`` needs about a person beyond the person row, as :data:`FACTS` columns correlated with
    ``person.id``: identities, chronic filings, cross-region filings, resident tiers, institutions chosen,
    family-doctor contracts (JSON texts, read by :func:`core_person`)."""
    return (
        _json_rows(dialect, Identity, (Identity.category, Identity.valid_from, Identity.valid_to, Identity.source_bureau)),
        _json_rows(dialect, ChronicFiling, (ChronicFiling.dise_codg, ChronicFiling.begin, ChronicFiling.end,
                                            ChronicFiling.dise_name)),
        _json_rows(dialect, CrossFiling, (CrossFiling.begin, CrossFiling.end, CrossFiling.kind)),
        _json_rows(dialect, ResidentTier, (ResidentTier.tier, ResidentTier.begin, ResidentTier.end)),
        _json_rows(dialect, InstitutionChoice, (InstitutionChoice.fixmedins_code, InstitutionChoice.role,
                                                InstitutionChoice.begin, InstitutionChoice.end)),
        _json_rows(dialect, FamilyDoctorContract, (FamilyDoctorContract.begin, FamilyDoctorContract.end)),
        signed_township_column(),
    )  # fmt: skip


def signed_township_column() -> Any:
    """The township of the institution the person chose last for general outpatient (``designated``: 签约/选定基层
    机构), correlated with ``person.id``; NULL when none is a township institution (capitation ``counted: signed``)."""
    return (
        sa.select(Institution.township)
        .join(InstitutionChoice, InstitutionChoice.fixmedins_code == Institution.fixmedins_code)
        .where(InstitutionChoice.person_id == Person.id, InstitutionChoice.role == "designated")
        .order_by(InstitutionChoice.begin.desc(), InstitutionChoice.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _rows(text: str | None) -> list[list[Any]]:
    return json.loads(text) if text else []


def core_person(
    person: Person,
    identities: str | None,
    chronic: str | None,
    cross: str | None,
    tiers: str | None = None,
    institutions: str | None = None,
    family_doctor: str | None = None,
    signed_township: str | None = None,
    *,
    acct_balance: int | None = None,
) -> sm.Person:
    """The settlement core's person from the person row (its ``brdy`` is the birth date lines go by), the
    JSON texts of :func:`facts_columns` and the personal account's balance for the claim's year
    (:func:`account_balance_column`; none recorded: 0)."""
    return sm.Person(
        psn_no=person.psn_no,
        insutype="310" if person.insutype == "310" else "390",
        identities=tuple(IdentityPeriod(c, date.fromisoformat(b), _day(e), src) for c, b, e, src in _rows(identities)),
        chronic_filings=tuple(sm.ChronicFiling(d, date.fromisoformat(b), _day(e), n or "") for d, b, e, n in _rows(chronic)),
        cross_region_filings=tuple(sm.Period(date.fromisoformat(b), _day(e), k or "") for b, e, k in _rows(cross)),
        emp_status=person.emp_status if person.emp_status in ("in_service", "retired") else None,  # type: ignore[arg-type]
        emp_tier=person.emp_tier if person.emp_tier in ("unit", "individual_1", "individual_2") else None,  # type: ignore[arg-type]
        psn_name=person.psn_name,
        birth_date=person.brdy,
        resident_tiers=tuple(sm.ResidentTierPeriod(t, date.fromisoformat(b), _day(e)) for t, b, e in _rows(tiers) if t in (1, 2)),
        institutions=tuple(
            sm.InstitutionChoice(code, role, date.fromisoformat(b), _day(e))
            for code, role, b, e in _rows(institutions)
            if role in sm.INSTITUTION_ROLES
        ),
        family_doctor=tuple(sm.Period(date.fromisoformat(b), _day(e)) for b, e in _rows(family_doctor)),
        acct_balance=acct_balance or 0,
        township=person.township or "",
        signed_township=signed_township or "",
    )


def account_balance_column() -> Any:
    """The person's personal-account balance for the year bound as ``year`` (correlated with ``person.id``): the
    latest row recorded for that year, NULL when none is."""
    return (
        sa.select(PersonalAccount.balance_fen)
        .where(PersonalAccount.person_id == Person.id, PersonalAccount.year == sa.bindparam("year"))
        .order_by(PersonalAccount.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def account_balance(session: Session, person_id: int, year: int) -> int | None:
    """The person's personal-account balance for ``year`` (the latest row recorded for it); ``None``: none recorded."""
    q = sa.select(account_balance_column()).select_from(Person).where(Person.id == person_id)
    return session.scalar(q, {"year": year})


def account_balances(session: Session, years: Iterable[int]) -> dict[tuple[int, int], int]:
    """Every person's personal-account balance for ``years`` (the latest row of each person-year), by (person id, year)."""
    q = (
        sa.select(PersonalAccount.person_id, PersonalAccount.year, PersonalAccount.balance_fen)
        .where(PersonalAccount.year.in_(sorted(set(years))))
        .order_by(PersonalAccount.id)
    )
    return {(pid, year): fen for pid, year, fen in session.execute(q)}


@cache
def _facts_of_one(dialect: str) -> sa.Select[Any]:
    return sa.select(*facts_columns(dialect)).where(Person.id == sa.bindparam("person_id"))


def settlement_person(session: Session, person: Person) -> sm.Person:
    """Everything ``settle`` needs about a person: identities with periods, filings, scheme (one statement)."""
    stmt = _facts_of_one(session.get_bind().dialect.name)
    return core_person(person, *session.execute(stmt, {"person_id": person.id}).one())


@dataclass
class PersonView:
    """A person as the window and the API show it."""

    baseinfo: dict[str, Any]
    identities: list[dict[str, Any]]
    """Identities held on the day: recorded as valid then and within the pack's ``identity_validity``."""
    identity_history: list[dict[str, Any]]
    deciding_identity: str
    enrolments: list[dict[str, Any]]
    chronic_filings: list[dict[str, Any]]
    cross_filings: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    lapsed: list[dict[str, Any]] = field(default_factory=list)
    """Identities recorded as valid on the day whose recognition is older than the pack's ``identity_validity``
    allows (``held_to`` before the day): not held, so they decide nothing."""
    resident_tiers: list[dict[str, Any]] = field(default_factory=list)
    institutions: list[dict[str, Any]] = field(default_factory=list)
    family_doctor: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    """Personal-account balances recorded, by year, the latest first within a year."""
    screenings: list[dict[str, Any]] = field(default_factory=list)
    """Screening records (病情信息表) of the person and their household, newest first."""


def _identity_dict(i: Identity, policy: Policy, day: date) -> dict[str, Any]:
    """An identity row; ``held_to`` is the last day it holds (its ``valid_to`` cut by ``identity_validity``,
    :meth:`Policy.identity_end`), ``validity_months`` the months a recognition holds (``None``: no limit),
    ``lapsed`` whether it is recorded as valid on ``day`` but its recognition no longer holds then."""
    held_to = policy.identity_end(i.category, i.valid_from, i.valid_to)
    recorded = i.valid_from <= day and (i.valid_to is None or i.valid_to >= day)
    return {
        "category": i.category,
        "valid_from": i.valid_from.isoformat(),
        "valid_to": i.valid_to.isoformat() if i.valid_to else None,
        "source_bureau": i.source_bureau,
        "source_file": i.source_file,
        "source_row": i.source_row,
        "recorded_at": i.recorded_at.isoformat(),
        "recorded_by": i.recorded_by,
        "ended_at": i.ended_at.isoformat() if i.ended_at else None,
        "ended_by": i.ended_by,
        "held_to": held_to.isoformat() if held_to else None,
        "validity_months": policy.identity_validity.get(i.category),
        "lapsed": recorded and held_to is not None and held_to < day,
    }


def person_view(session: Session, person: Person, day: date, policy: Policy, show_certno: bool = False) -> PersonView:
    """The person on ``day`` under ``policy``: identities held (within its ``identity_validity``), the deciding one
    (:meth:`Policy.deciding_identity`, as settlement decides), those lapsed, the history, enrolments, filings."""
    history = session.scalars(
        sa.select(Identity).where(Identity.person_id == person.id).order_by(Identity.valid_from, Identity.id)
    ).all()
    valid = [i for i in history if i.valid_from <= day and (i.valid_to is None or i.valid_to >= day)]
    periods = tuple(IdentityPeriod(i.category, i.valid_from, i.valid_to) for i in valid)
    current = [_identity_dict(i, policy, day) for i in valid]
    enrol = session.scalars(sa.select(Enrolment).where(Enrolment.person_id == person.id).order_by(Enrolment.year)).all()
    chronic = session.scalars(
        sa.select(ChronicFiling).where(ChronicFiling.person_id == person.id).order_by(ChronicFiling.id)
    ).all()
    signed = signed_of(session, [f.id for f in chronic])
    cross = session.scalars(sa.select(CrossFiling).where(CrossFiling.person_id == person.id)).all()
    return PersonView(
        baseinfo={
            "psn_no": person.psn_no,
            "certno": person.certno if show_certno else mask(person.certno),
            "psn_name": person.psn_name,
            "gend": person.gend,
            "brdy": person.brdy.isoformat(),
            "hh_no": person.hh_no,
            "county": person.county,
            "township": person.township,
            "village": person.village,
            "insutype": person.insutype,
            "psn_type": person.psn_type,
            "emp_status": person.emp_status,
            "emp_tier": person.emp_tier,
        },
        identities=[i for i in current if not i["lapsed"]],
        lapsed=[i for i in current if i["lapsed"]],
        identity_history=[_identity_dict(i, policy, day) for i in history],
        deciding_identity=policy.deciding_identity(periods, day),
        enrolments=[
            {
                "year": e.year,
                "insutype": e.insutype,
                "psn_insu_stas": e.psn_insu_stas,
                "special_status": e.special_status,
                "evidence": e.evidence,
                "premium": e.premium,
                "individual": e.individual,
                "assistance_subsidy": e.assistance_subsidy,
                "fiscal_subsidy": e.fiscal_subsidy,
            }
            for e in enrol
        ],
        chronic_filings=[
            {
                "id": f.id,
                "dise_codg": f.dise_codg,
                "dise_name": f.dise_name,
                "fixmedins_code": f.fixmedins_code,
                "doctor": f.doctor,
                "begin": f.begin.isoformat(),
                "end": f.end.isoformat() if f.end else None,
                "kind": f.kind,
                "backdate_reason": f.backdate_reason,
                "signed": [
                    {
                        "fixmedins_code": c.fixmedins_code,
                        "begin": c.begin.isoformat(),
                        "end": c.end.isoformat() if c.end else None,
                    }
                    for c in signed[f.id]
                ],
                "signed_changed_on": f.signed_changed_on.isoformat() if f.signed_changed_on else None,
                "recorded_by": f.recorded_by,
                "recorded_at": f.recorded_at.isoformat(),
            }
            for f in chronic
        ],
        cross_filings=[
            {
                "id": f.id,
                "mdtrtarea_admvs": f.mdtrtarea_admvs,
                "reason": f.reason,
                "kind": f.kind,
                "begin": f.begin.isoformat(),
                "end": f.end.isoformat() if f.end else None,
                "recorded_by": f.recorded_by,
            }
            for f in cross
        ],
        resident_tiers=[
            {
                "id": r.id,
                "tier": r.tier,
                "begin": r.begin.isoformat(),
                "end": r.end.isoformat() if r.end else None,
                "recorded_by": r.recorded_by,
            }
            for r in session.scalars(
                sa.select(ResidentTier).where(ResidentTier.person_id == person.id).order_by(ResidentTier.begin, ResidentTier.id)
            )
        ],
        institutions=[
            {
                "id": r.id,
                "fixmedins_code": r.fixmedins_code,
                "role": r.role,
                "begin": r.begin.isoformat(),
                "end": r.end.isoformat() if r.end else None,
                "recorded_by": r.recorded_by,
            }
            for r in session.scalars(
                sa.select(InstitutionChoice).where(InstitutionChoice.person_id == person.id).order_by(InstitutionChoice.begin)
            )
        ],
        family_doctor=[
            {
                "id": r.id,
                "fixmedins_code": r.fixmedins_code,
                "begin": r.begin.isoformat(),
                "end": r.end.isoformat() if r.end else None,
                "recorded_by": r.recorded_by,
            }
            for r in session.scalars(
                sa.select(FamilyDoctorContract)
                .where(FamilyDoctorContract.person_id == person.id)
                .order_by(FamilyDoctorContract.begin)
            )
        ],
        accounts=[
            {
                "year": r.year,
                "balance_fen": r.balance_fen,
                "source": r.source,
                "recorded_by": r.recorded_by,
                "recorded_at": r.recorded_at.isoformat(),
            }
            for r in session.scalars(
                sa.select(PersonalAccount)
                .where(PersonalAccount.person_id == person.id)
                .order_by(PersonalAccount.year, PersonalAccount.id.desc())
            )
        ],
        screenings=screenings_of(session, person),
    )


def add_cross_filing(
    session: Session,
    person: Person,
    begin: date,
    end: date | None,
    user: str,
    *,
    mdtrtarea_admvs: str | None = None,
    reason: str | None = None,
    kind: str = "",
) -> CrossFiling:
    """异地就医备案 from ``begin`` (to ``end``) of ``kind`` (:data:`yibao.settlement.model.FILING_KINDS`: long_term
    异地长期居住, referral 转诊, temporary 临时外出就医, ``""`` none stated), which the pack's place goes by."""
    if end is not None and end < begin:
        raise InputError("cross-region filing", "end", end.isoformat(), f"a date on or after begin ({begin.isoformat()})")
    kind = (kind or "").strip()
    if kind not in sm.FILING_KINDS:
        raise InputError("cross-region filing", "kind", kind, "long_term, referral, temporary or empty")
    filing = CrossFiling(person_id=person.id, mdtrtarea_admvs=mdtrtarea_admvs, reason=reason, begin=begin, end=end, kind=kind)
    return recorded(session, filing, user)


def add_resident_tier(session: Session, person: Person, tier: int, begin: date, end: date | None, user: str) -> ResidentTier:
    """A resident's contribution tier (1 一档, 2 二档) from ``begin`` (to ``end``); an open earlier period ends the day
    before (a tier is chosen per year: the new choice replaces the old from its first day)."""
    if tier not in (1, 2):
        raise InputError("resident tier", "tier", tier, "1 (一档) or 2 (二档)")
    if end is not None and end < begin:
        raise InputError("resident tier", "end", end.isoformat(), f"a date on or after begin ({begin.isoformat()})")
    for earlier in session.scalars(
        sa.select(ResidentTier).where(ResidentTier.person_id == person.id, ResidentTier.end.is_(None), ResidentTier.begin < begin)
    ):
        earlier.end = date.fromordinal(begin.toordinal() - 1)
    return recorded(session, ResidentTier(person_id=person.id, tier=tier, begin=begin, end=end), user)


def add_institution_choice(
    session: Session, person: Person, fixmedins_code: str, role: str, begin: date, end: date | None, user: str
) -> InstitutionChoice:
    """An institution the person chose in ``role`` (designated / linked / signed) from ``begin`` (to ``end``). A
    designated choice replaces an open earlier designated one from its first day (one selected institution); linked
    and signed ones add up (seed 004: a hospital and a township health centre, changeable monthly)."""
    code = fixmedins_code.strip()
    if role not in sm.INSTITUTION_ROLES:
        raise InputError("institution choice", "role", role, "designated, linked or signed")
    if not code or len(code) > 32:
        raise InputError("institution choice", "fixmedins_code", fixmedins_code, "an institution code (fixmedins_code)")
    if end is not None and end < begin:
        raise InputError("institution choice", "end", end.isoformat(), f"a date on or after begin ({begin.isoformat()})")
    if role == "designated":
        for earlier in session.scalars(
            sa.select(InstitutionChoice).where(
                InstitutionChoice.person_id == person.id,
                InstitutionChoice.role == "designated",
                InstitutionChoice.end.is_(None),
                InstitutionChoice.begin < begin,
            )
        ):
            earlier.end = date.fromordinal(begin.toordinal() - 1)
    choice = InstitutionChoice(person_id=person.id, fixmedins_code=code, role=role, begin=begin, end=end)
    return recorded(session, choice, user)


def add_family_doctor(
    session: Session, person: Person, begin: date, end: date | None, user: str, *, fixmedins_code: str | None = None
) -> FamilyDoctorContract:
    """A family-doctor contract (家庭医生签约) from ``begin`` (to ``end``)."""
    if end is not None and end < begin:
        raise InputError("family doctor contract", "end", end.isoformat(), f"a date on or after begin ({begin.isoformat()})")
    return recorded(session, FamilyDoctorContract(person_id=person.id, fixmedins_code=fixmedins_code, begin=begin, end=end), user)


def register_person(session: Session, certno: str, psn_name: str, user: str, **place: str | None) -> Person:
    """A person known only by the window: ID number checked, birth date and sex taken from it."""
    try:
        parsed = parse_certno(certno)
    except ValueError as exc:
        raise InputError("person", "certno", certno, str(exc)) from None
    if not psn_name.strip():
        raise InputError("person", "psn_name", psn_name, "a name")
    if session.scalar(sa.select(Person.id).where(Person.certno == parsed.certno)) is not None:
        raise InputError("person", "certno", mask(parsed.certno), "a person not yet registered")
    person = Person(
        psn_no=psn_no_for(parsed.certno),
        certno=parsed.certno,
        psn_name=psn_name.strip(),
        gend=parsed.gend,
        brdy=parsed.brdy,
        insutype="390",
        **place,
    )
    return recorded(session, person, user)


def psn_no_for(certno: str) -> str:
    """A stable person number from the ID number (admin division + a digest), never the ID itself."""
    import hashlib

    return "P" + certno[:6] + hashlib.sha256(certno.encode()).hexdigest()[:10].upper()
