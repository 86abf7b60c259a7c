"""Enrolling a county: every resident of the registry, or the people on the tax bureau's payment list.

Rules (each with a test in ``tests/db/test_enrol_county.py``):

- **From the registry** (:func:`enrol_registry`): every resident of the registry (``person.insutype``
  390) gets an enrolled resident row for the year (new, or a not-enrolled row made normal), priced from
  the pack by the rule of :func:`yibao.app.enrolment.enrol` (the classified subsidy of the identity that
  decides on the cut-off day). Left out, and counted by reason: people who died before the year, people
  with a special status for the year (视同参保: exempt) and people enrolled as employees. A row is
  written only when it is new, re-enrolled or priced otherwise, so a second run changes nothing.
- **From the tax bureau's payment list** (:func:`preview_payments`, :func:`import_payments`): each row
  (ID number, name, year, amount in yuan) is matched by ID number. A row whose ID number is not in the
  registry, whose name differs from it, whose year is another, whose amount is not the person's part due,
  a person left out of enrolment (as above) or an ID number given twice is named (row, ID number, name,
  what is wrong) and nothing is imported. Confirmed, every row is enrolled and priced in one transaction
  and the import is recorded with who and when (``import_batch`` of kind ``tax_payment``).
- ``dry_run`` does the work in a transaction that is rolled back: the page's confirm step shows exactly
  what confirming will do.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.enrolment import (
    EMPLOYEE,
    ENROLLED,
    RESIDENT,
    categories_on,
    check_user,
    chunks,
    policy_for_year,
    year_status,
)
from yibao.core.errors import InputError
from yibao.core.idcard import parse_certno
from yibao.core.identities import ORDINARY
from yibao.core.money import fmt_yuan, yuan_to_fen
from yibao.interfaces.workbooks.sheets import SheetLimits
from yibao.interfaces.workbooks.tax_payments import COLUMNS, RowProblem, read_payments
from yibao.policy.coverage import cat_order
from yibao.policy.pack import PolicyPack
from yibao.policy.premium import PremiumPayers, Split, premium_split
from yibao.policy.schema import Policy, Premium
from yibao.store.db import Database
from yibao.store.tables import Enrolment, ImportBatch, Person

Progress = Callable[[int, int], None]
"""``progress(done, total)`` people, called as the work goes."""

PAYMENT_KIND = "tax_payment"
"""``import_batch.kind`` of a tax bureau payment list."""
TAX_BUREAU = "tax"

LEFT_OUT: dict[str, tuple[str, str]] = {
    "deceased": ("年度前已死亡", "died before the year"),
    "exempt": ("视同参保/免缴（已登记特殊状态）", "exempt (a special status recorded)"),
    "employee": ("已参加职工医保", "enrolled as an employee"),
}
"""Why a resident of the registry is not enrolled (the counts of :attr:`CountyEnrolment.left_out`)."""


@dataclass(frozen=True)
class CategoryTotal(PremiumPayers):
    """People enrolled in one deciding category after the run, and what their premiums come to (fen)."""

    category: str
    persons: int
    added: int
    """Of them, enrolled by this run (new or re-enrolled)."""


@dataclass(frozen=True)
class CountyEnrolment:
    """What enrolling did (or, with ``dry_run``, would do)."""

    year: int
    pack_id: str
    cutoff: date
    people: int
    """People asked for: the registry's residents, or the payment list's rows."""
    created: int
    reactivated: int
    already: int
    """Already enrolled (their price is checked, rewritten only if it differs)."""
    repriced: int
    """Rows already enrolled whose premium split was rewritten."""
    left_out: dict[str, int]
    """Reason (:data:`LEFT_OUT`) -> people not enrolled."""
    by_category: tuple[CategoryTotal, ...]
    dry_run: bool
    batch_id: int | None = None
    """The import batch that recorded a payment list."""

    @property
    def added(self) -> int:
        return self.created + self.reactivated

    @property
    def enrolled(self) -> int:
        return self.created + self.reactivated + self.already

    @property
    def changed(self) -> bool:
        return bool(self.created or self.reactivated or self.repriced)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat()
        return out


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Enrolling and pricing a set of people
# ---------------------------------------------------------------------------------------------


_PRICE_COLUMNS = (
    "premium",
    "individual",
    "assistance_subsidy",
    "fiscal_subsidy",
    "subsidy_category",
    "policy_pack",
    "cutoff_date",
)


def _price_values(split: Split, pack_id: str, cutoff: date) -> dict[str, Any]:
    return dict(
        zip(
            _PRICE_COLUMNS,
            (split.total, split.individual, split.assistance, split.fiscal, split.category, pack_id, cutoff),
            strict=True,
        )
    )


@dataclass
class _Tally:
    created: int = 0
    reactivated: int = 0
    already: int = 0
    repriced: int = 0
    persons: Counter[str] = field(default_factory=Counter)
    added: Counter[str] = field(default_factory=Counter)


def _enrol_people(
    s: Session,
    year: int,
    pack: PolicyPack,
    policy: Policy,
    premium: Premium,
    person_ids: Sequence[int],
    *,
    now: datetime,
    user: str,
    progress: Progress | None,
) -> _Tally:
    """Each of ``person_ids`` enrolled in the resident scheme for ``year`` and priced; rows written only when they change."""
    cutoff = premium.cutoff_date(year)
    tally = _Tally()
    splits = {c: premium_split(premium, c) for c in {ORDINARY, *premium.subsidies}}
    cols = [getattr(Enrolment, c) for c in _PRICE_COLUMNS]
    done = 0
    for chunk in chunks(sorted(person_ids)):
        rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        q = sa.select(Enrolment.id, Enrolment.person_id, Enrolment.psn_insu_stas, *cols).where(
            Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.person_id.in_(chunk)
        )
        for row in s.execute(q.order_by(Enrolment.id)):
            rows[int(row[1])].append(tuple(row))
        cats = categories_on(s, cutoff, policy.identity_priority, chunk, policy.identity_validity)
        new: list[dict[str, Any]] = []
        changes: dict[tuple[str, bool], list[int]] = defaultdict(list)
        """(category, re-enrolled) -> row ids to write."""
        for pid in chunk:
            category = cats.get(pid, ORDINARY)
            split = splits.get(category) or premium_split(premium, category)
            wanted = tuple(_price_values(split, pack.pack_id, cutoff).values())
            own = rows.get(pid, [])
            enrolled = [r for r in own if r[2] == ENROLLED]
            tally.persons[split.category] += 1
            if enrolled:
                tally.already += 1
                stale = [int(r[0]) for r in enrolled if tuple(r[3:]) != wanted]
                changes[(category, False)].extend(stale)
                tally.repriced += len(stale)
                continue
            tally.added[split.category] += 1
            if own:
                tally.reactivated += 1
                changes[(category, True)].append(int(own[0][0]))
            else:
                tally.created += 1
                new.append(
                    {
                        "person_id": pid,
                        "year": year,
                        "insutype": RESIDENT,
                        "psn_insu_stas": ENROLLED,
                        **_price_values(split, pack.pack_id, cutoff),
                        "recorded_at": now,
                        "recorded_by": user,
                    }
                )
        if new:
            s.execute(sa.insert(Enrolment), new)
        for (category, reactivate), ids in changes.items():
            values = _price_values(splits.get(category) or premium_split(premium, category), pack.pack_id, cutoff)
            values |= {"recorded_at": now, "recorded_by": user} | ({"psn_insu_stas": ENROLLED} if reactivate else {})
            for part in chunks(ids):
                s.execute(sa.update(Enrolment).where(Enrolment.id.in_(part)).values(**values))
        done += len(chunk)
        if progress is not None:
            progress(done, len(person_ids))
    return tally


def _result(
    year: int,
    pack: PolicyPack,
    policy: Policy,
    premium: Premium,
    people: int,
    tally: _Tally,
    left_out: Counter[str],
    dry_run: bool,
    batch_id: int | None = None,
) -> CountyEnrolment:
    totals = []
    for category in sorted(tally.persons, key=lambda c: cat_order(c, policy.identity_priority)):
        split = premium_split(premium, category)
        n = tally.persons[category]
        totals.append(
            CategoryTotal(
                category=category,
                persons=n,
                added=tally.added[category],
                individual=split.individual * n,
                assistance=split.assistance * n,
                fiscal=split.fiscal * n,
            )
        )
    return CountyEnrolment(
        year=year,
        pack_id=pack.pack_id,
        cutoff=premium.cutoff_date(year),
        people=people,
        created=tally.created,
        reactivated=tally.reactivated,
        already=tally.already,
        repriced=tally.repriced,
        left_out={k: left_out[k] for k in LEFT_OUT if left_out[k]},
        by_category=tuple(totals),
        dry_run=dry_run,
        batch_id=batch_id,
    )


def _left_out(s: Session, year: int, person_ids: Collection[int]) -> dict[int, str]:
    """Of ``person_ids``, those not to be enrolled for ``year`` and why (:data:`LEFT_OUT`).

    A person already enrolled in the resident scheme is never left out."""
    wanted = set(person_ids)
    enrolled, exempt, _ = year_status(s, year)
    residents_enrolled = {
        int(p)
        for p in s.scalars(
            sa.select(Enrolment.person_id).where(
                Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED
            )
        )
    }
    employees = {
        int(p)
        for p in s.scalars(
            sa.select(Enrolment.person_id).where(
                Enrolment.year == year, Enrolment.insutype == EMPLOYEE, Enrolment.psn_insu_stas == ENROLLED
            )
        )
    }
    dead = {
        int(p)
        for p in s.scalars(sa.select(Person.id).where(Person.death_date.is_not(None), Person.death_date < date(year, 1, 1)))
    }
    out: dict[int, str] = {}
    for pid in wanted - residents_enrolled:
        if pid in employees:
            out[pid] = "employee"
        elif pid in exempt:
            out[pid] = "exempt"
        elif pid in dead and pid not in enrolled:
            out[pid] = "deceased"
    return out


# ---------------------------------------------------------------------------------------------
# From the registry
# ---------------------------------------------------------------------------------------------


def enrol_registry(
    db: Database,
    year: int,
    pack: PolicyPack,
    *,
    user: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> CountyEnrolment:
    """Enrol every resident of the registry for ``year`` with the pack's premium and classified subsidies.

    One transaction; with ``dry_run`` it is rolled back (what would happen). Running it twice changes nothing."""
    user = check_user(user)
    policy, premium = policy_for_year(pack, year)
    now = _now()
    with db.unit_of_work() as s:
        residents = [
            int(p) for p in s.scalars(sa.select(Person.id).where(Person.insutype == RESIDENT, Person.merged_into.is_(None)))
        ]
        out = _left_out(s, year, residents)
        targets = [p for p in residents if p not in out]
        tally = _enrol_people(s, year, pack, policy, premium, targets, now=now, user=user, progress=progress)
        if dry_run:
            s.rollback()
        else:
            s.commit()
    return _result(year, pack, policy, premium, len(residents), tally, Counter(out.values()), dry_run)


# ---------------------------------------------------------------------------------------------
# From the tax bureau's payment list
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentPreview:
    """A payment list checked against the registry: its problems, or what importing it does."""

    file_name: str
    year: int
    rows: int
    problems: tuple[RowProblem, ...]
    result: CountyEnrolment | None
    """What confirming does (a dry run); ``None`` when a row is refused."""
    paid: int
    """The rows' amounts, fen."""

    @property
    def can_import(self) -> bool:
        return self.result is not None and not self.problems


class PaymentsRefused(Exception):
    """The payment list has refused rows: nothing was imported."""

    def __init__(self, problems: Sequence[RowProblem]):
        super().__init__(f"{len(problems)} rows refused")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class _Checked:
    person_ids: list[int]
    problems: list[RowProblem]
    rows: int
    paid: int


def _problem(row: int, values: dict[str, str | None], key: str, zh: str, en: str) -> RowProblem:
    return RowProblem(row, values.get("certno") or "", values.get("psn_name") or "", COLUMNS[key], values.get(key) or "", zh, en)


def _check_payments(s: Session, records: Sequence[Any], year: int, policy: Policy, premium: Premium) -> _Checked:
    """Every row matched by ID number and checked; the problems of all rows, not only the first."""
    problems: list[RowProblem] = []
    parsed: list[tuple[int, dict[str, str | None], str]] = []
    seen: dict[str, int] = {}
    for rec in records:
        v = rec.values
        certno = (v.get("certno") or "").strip().upper()
        try:
            parse_certno(certno)
        except ValueError as exc:
            problems.append(
                _problem(
                    rec.row,
                    v,
                    "certno",
                    "不是有效的居民身份证号（18位，出生日期和校验位正确）",
                    f"not a resident ID number: {exc}",
                )
            )
            continue
        if certno in seen:
            problems.append(
                _problem(rec.row, v, "certno", f"与第 {seen[certno]} 行重复", f"the same ID number as row {seen[certno]}")
            )
            continue
        seen[certno] = rec.row
        parsed.append((rec.row, v, certno))
    people: dict[str, tuple[int, str]] = {}
    for part in chunks([c for _, _, c in parsed]):
        for pid, certno, name in s.execute(sa.select(Person.id, Person.certno, Person.psn_name).where(Person.certno.in_(part))):
            people[str(certno)] = (int(pid), str(name))
    matched = {people[c][0] for _, _, c in parsed if c in people}
    left_out = _left_out(s, year, matched)
    cutoff = premium.cutoff_date(year)
    cats = categories_on(s, cutoff, policy.identity_priority, matched, policy.identity_validity)
    ids: list[int] = []
    paid = 0
    for row, v, certno in parsed:
        found = people.get(certno)
        if found is None:
            problems.append(
                _problem(
                    row,
                    v,
                    "certno",
                    "人员登记簿中无此身份证号（未匹配）",
                    "no one in the registry has this ID number (unmatched)",
                )
            )
            continue
        pid, name = found
        reason = left_out.get(pid)
        if reason is not None:
            zh, en = LEFT_OUT[reason]
            problems.append(_problem(row, v, "certno", f"不能参加居民医保：{zh}", f"cannot enrol as a resident: {en}"))
            continue
        given = (v.get("psn_name") or "").strip()
        if given != name:
            problems.append(_problem(row, v, "psn_name", f"与登记簿姓名“{name}”不符", f"not the registry's name {name!r}"))
        if (v.get("year") or "").strip() != str(year):
            problems.append(_problem(row, v, "year", f"应为参保年度 {year}", f"the covered year {year}"))
        split = premium_split(premium, cats.get(pid, ORDINARY))
        try:
            amount = yuan_to_fen(v.get("amount"))
        except (ValueError, InputError):
            amount = None
        if amount is None or amount != split.individual:
            problems.append(
                _problem(
                    row,
                    v,
                    "amount",
                    f"应为个人应缴 {fmt_yuan(split.individual)} 元（按分类资助核定）",
                    f"the person's part due, {fmt_yuan(split.individual)} yuan (after the classified subsidy)",
                )
            )
        else:
            paid += amount
        ids.append(pid)
    problems.sort(key=lambda p: p.row)
    return _Checked(ids, problems, len(records), paid)


def _read(path: Path, name: str | None, limits: SheetLimits | None) -> list[Any]:
    return read_payments(path, limits, name)[1]


def preview_payments(
    db: Database,
    path: Path,
    year: int,
    pack: PolicyPack,
    *,
    user: str,
    name: str | None = None,
    limits: SheetLimits | None = None,
) -> PaymentPreview:
    """The list checked, and what importing it would do (a dry run). Nothing is written.

    A file that cannot be read (no header, a missing column) raises ``InputError``."""
    user = check_user(user)
    policy, premium = policy_for_year(pack, year)
    records = _read(path, name, limits)
    file_name = name or path.name
    with db.unit_of_work() as s:
        checked = _check_payments(s, records, year, policy, premium)
        if checked.problems:
            return PaymentPreview(file_name, year, checked.rows, tuple(checked.problems), None, checked.paid)
        if not records:
            raise InputError(
                file_name, "rows", 0, "at least one payment row under the header", expected_zh="表头下至少一行缴费记录"
            )
        tally = _enrol_people(s, year, pack, policy, premium, checked.person_ids, now=_now(), user=user, progress=None)
        s.rollback()
    result = _result(year, pack, policy, premium, checked.rows, tally, Counter(), True)
    return PaymentPreview(file_name, year, checked.rows, (), result, checked.paid)


def import_payments(
    db: Database,
    path: Path,
    year: int,
    pack: PolicyPack,
    *,
    user: str,
    name: str | None = None,
    limits: SheetLimits | None = None,
) -> CountyEnrolment:
    """Enrol every row of the list, all or none (:class:`PaymentsRefused` naming every refused row), and record
    the import (file, its SHA-256, rows, what it did, who and when) as an import batch."""
    user = check_user(user)
    policy, premium = policy_for_year(pack, year)
    records = _read(path, name, limits)
    file_name = name or path.name
    now = _now()
    with db.unit_of_work() as s:
        checked = _check_payments(s, records, year, policy, premium)
        if checked.problems:
            raise PaymentsRefused(checked.problems)
        if not records:
            raise InputError(
                file_name, "rows", 0, "at least one payment row under the header", expected_zh="表头下至少一行缴费记录"
            )
        tally = _enrol_people(s, year, pack, policy, premium, checked.person_ids, now=now, user=user, progress=None)
        result = _result(year, pack, policy, premium, checked.rows, tally, Counter(), False)
        batch = ImportBatch(
            kind=PAYMENT_KIND,
            source_bureau=TAX_BUREAU,
            file_name=file_name[:255],
            file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            rows_total=checked.rows,
            rows_rejected=0,
            report=json.dumps(result.as_dict() | {"paid": checked.paid}, ensure_ascii=False),
            recorded_at=now,
            recorded_by=user,
        )
        s.add(batch)
        s.flush()
        batch_id = batch.id
        s.commit()
    return _result(year, pack, policy, premium, checked.rows, tally, Counter(), False, batch_id)


def payment_batches(db: Database, limit: int = 10) -> list[ImportBatch]:
    """The latest payment-list imports, newest first."""
    with db.reading() as s:
        rows = list(
            s.scalars(sa.select(ImportBatch).where(ImportBatch.kind == PAYMENT_KIND).order_by(ImportBatch.id.desc()).limit(limit))
        )
        s.expunge_all()
    return rows
