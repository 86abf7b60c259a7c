"""Back-pay after a late identity (补差): the settlements an identity changes, and paying their differences.

An identity recorded (imported, entered over the API or the CLI) after bills it covers were settled leaves those
bills settled under the identity held then. :func:`affected` lists every standing settlement whose identity as it
stands (the original's, or its latest correction's) is not the deciding identity on its date under the identities
now on record; :func:`plan` re-settles the person's years concerned in date order with the one core and the
accumulators from the year's start (:func:`yibao.settlement.backpay.resettle`), and :func:`pay` writes each
changed bill's difference as a correcting ledger entry (``kind`` ``backpay``, ``corrects`` the original; the
original stays), and moves the year's accumulators by the differences — all in one transaction, the years locked.
Paying twice pays once: after a payment the bills stand as re-settled and nothing differs.

One payment's entries share a ``setl_id`` stem (``B…-1``, ``B…-2`` …): the stem names the payment and its slip.

Reversal after a back-pay: reversing the original also undoes its corrections (the reversal entry negates the
original and its corrections together, :func:`yibao.app.ledger.reverse_settlement`); a correction itself is not
reversible on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from yibao.app import ledger
from yibao.app.person_year import read as person_year_read
from yibao.app.registry import find_person
from yibao.core.errors import InputError, NotFound
from yibao.core.identities import IdentityPeriod
from yibao.policy.pack import PolicyPack
from yibao.settlement.backpay import AMOUNTS, Booked, Difference, LineChanged, resettle, summary_claim
from yibao.settlement.model import Claim, FeeLineResult, YearToDate
from yibao.store.service_tables import LedgerEntry, Visit
from yibao.store.tables import Identity, Person

KIND = "backpay"
BILLS = ("settle",)
CARRIED = ("apply",)
"""Entries carried in the re-settlement with what they consumed (an application for assistance)."""


# ---------------------------------------------------------------------------------------------
# Which settlements a late identity changes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Affected:
    """A standing settlement whose identity is not the one in force on its date as now known."""

    setl_id: str
    person_id: int
    psn_no: str
    psn_name: str
    setl_date: date
    fixmedins_code: str | None
    medfee_sumamt: int
    settled_as: str
    """The identity it stands under (the original's, or its latest correction's)."""
    now: str
    """The deciding identity on its date under the identities now on record."""


def _standing(kinds: Sequence[str]) -> sa.ColumnElement[bool]:
    undo = aliased(LedgerEntry)
    return sa.and_(LedgerEntry.kind.in_(kinds), ~sa.exists().where(undo.reverses == LedgerEntry.setl_id))


def _stands_as() -> sa.ColumnElement[str]:
    """The identity a settlement stands under: its latest correction's, else its own."""
    fix = aliased(LedgerEntry)
    latest = sa.select(fix.identity).where(fix.corrects == LedgerEntry.setl_id).order_by(fix.id.desc()).limit(1)
    return sa.func.coalesce(latest.scalar_subquery(), LedgerEntry.identity)


def affected(s: Session, pack: PolicyPack, person_id: int | None = None) -> list[Affected]:
    """Standing settlements (of ``person_id``, else of everyone) whose identity differs from the one now in force
    on their date. Only people with an identity recorded or ended after a settlement of theirs are looked at."""
    late = sa.exists().where(
        Identity.person_id == LedgerEntry.person_id,
        sa.or_(Identity.recorded_at > LedgerEntry.recorded_at, Identity.ended_at > LedgerEntry.recorded_at),
    )
    q = (
        sa.select(
            LedgerEntry.setl_id, LedgerEntry.person_id, LedgerEntry.psn_no, Person.psn_name, LedgerEntry.setl_date,
            LedgerEntry.fixmedins_code, LedgerEntry.medfee_sumamt, _stands_as(),
        )
        .join(Person, Person.id == LedgerEntry.person_id)
        .where(_standing(BILLS), late)
        .order_by(LedgerEntry.person_id, LedgerEntry.setl_date, LedgerEntry.id)
    )  # fmt: skip
    if person_id is not None:
        q = q.where(LedgerEntry.person_id == person_id)
    rows = s.execute(q).all()
    held = _identities(s, {r.person_id for r in rows})
    out = []
    for r in rows:
        if not pack.covers(r.setl_date):
            continue
        now = pack.at(r.setl_date).deciding_identity(held.get(r.person_id, ()), r.setl_date)
        if now != r[7]:
            out.append(Affected(r.setl_id, r.person_id, r.psn_no, r.psn_name, r.setl_date, r.fixmedins_code,
                                r.medfee_sumamt, r[7], now))  # fmt: skip
    return out


def _identities(s: Session, person_ids: Iterable[int]) -> dict[int, tuple[IdentityPeriod, ...]]:
    ids = sorted(person_ids)
    out: dict[int, list[IdentityPeriod]] = {}
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        rows = s.execute(
            sa.select(Identity.person_id, Identity.category, Identity.valid_from, Identity.valid_to, Identity.source_bureau)
            .where(Identity.person_id.in_(chunk))
            .order_by(Identity.person_id, Identity.valid_from, Identity.id)
        )
        for pid, cat, begin, end, src in rows:
            out.setdefault(pid, []).append(IdentityPeriod(cat, begin, end, src))
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True)
class PendingPerson:
    """A person with settlements to re-settle (待补差), for the clerk's list."""

    psn_no: str
    psn_name: str
    settlements: tuple[Affected, ...]

    @property
    def first(self) -> date:
        return self.settlements[0].setl_date


def pending(s: Session, pack: PolicyPack) -> list[PendingPerson]:
    """Everyone with settlements a late identity changes (:func:`affected`), by person."""
    by: dict[int, list[Affected]] = {}
    for a in affected(s, pack):
        by.setdefault(a.person_id, []).append(a)
    return [PendingPerson(v[0].psn_no, v[0].psn_name, tuple(v)) for v in by.values()]


# ---------------------------------------------------------------------------------------------
# Re-settling: the plan
# ---------------------------------------------------------------------------------------------


def _claim(entry: LedgerEntry, dise_codg: str, amounts: dict[str, int]) -> Claim:
    if entry.hosp_lv is None:
        raise InputError(
            f"settlement {entry.setl_id}", "hosp_lv", None, "the hospital level it was settled at, on record",
            expected_zh="台账中记录的结算时医院等级",
        )  # fmt: skip
    claim = Claim(
        entry.setl_id, entry.psn_no, entry.setl_date, entry.med_type, entry.hosp_lv, entry.place or "in_county",  # type: ignore[arg-type]
        dise_codg, fixmedins_code=entry.fixmedins_code or "", major_dise_flag=entry.major_dise_flag,
        township=entry.captn_town or "",  # re-settled on the pot it drew on
    )  # fmt: skip
    results = [FeeLineResult(**r) for r in json.loads(entry.fee_results)]
    return summary_claim(claim, amounts, results)


def booked(s: Session, person_id: int, year: int, pack: PolicyPack) -> list[Booked]:
    """The person's year as it stands: each standing bill with its corrections folded in, and the entries carried
    (:data:`CARRIED`), in ledger order."""
    entries = list(
        s.scalars(
            sa.select(LedgerEntry)
            .where(LedgerEntry.person_id == person_id, LedgerEntry.year == year, _standing(BILLS + CARRIED))
            .order_by(LedgerEntry.setl_date, LedgerEntry.id)
        )
    )
    fixes: dict[str, list[LedgerEntry]] = {}
    ids = [e.setl_id for e in entries]
    for fix in s.scalars(
        sa.select(LedgerEntry).where(LedgerEntry.kind == KIND, LedgerEntry.corrects.in_(ids)).order_by(LedgerEntry.id)
    ):
        fixes.setdefault(fix.corrects or "", []).append(fix)
    visits = {e.mdtrt_id for e in entries if e.mdtrt_id}
    diagnoses = {m: d for m, d in s.execute(sa.select(Visit.mdtrt_id, Visit.dise_codg).where(Visit.mdtrt_id.in_(visits)))}
    out = []
    for e in entries:
        own = fixes.get(e.setl_id, [])
        amounts = {a: getattr(e, a) + sum(getattr(f, a) for f in own) for a in AMOUNTS}
        consumed = YearToDate.from_dict(json.loads(e.consumed))
        for f in own:
            consumed = consumed.plus(YearToDate.from_dict(json.loads(f.consumed)))
        identity = own[-1].identity if own else e.identity
        claim = None
        if e.kind in BILLS:
            if e.pack_id != pack.pack_id:
                raise InputError(
                    f"settlement {e.setl_id}", "pack_id", e.pack_id, f"a settlement under {pack.pack_id}",
                    expected_zh=f"按政策包 {pack.pack_id} 结算的结算",
                )  # fmt: skip
            dise = getattr(e, "dise_codg", None) or (diagnoses.get(e.mdtrt_id) if e.mdtrt_id else None) or ""
            claim = _claim(e, dise, amounts)
        out.append(Booked(e.setl_id, e.setl_date, claim, amounts, identity, e.line, consumed))
    return out


@dataclass(frozen=True)
class Plan:
    """What paying the person's back-pay would write: per changed bill, its difference."""

    person: Person
    differences: tuple[Difference, ...]
    years: tuple[int, ...]

    @property
    def total(self) -> dict[str, int]:
        return {a: sum(d.delta[a] for d in self.differences) for a in AMOUNTS}

    @property
    def refund(self) -> int:
        """Cash to pay back to the person (negative: they owe it)."""
        return sum(d.refund for d in self.differences)


def plan(s: Session, pack: PolicyPack, psn_no: str, *, lock: bool = False) -> Plan:
    """The person's back-pay: the years holding a settlement a late identity changes, each re-settled in date order;
    the bills whose amounts, accumulators or identity change. ``lock``: the years' accumulators locked (to pay)."""
    person = find_person(s, psn_no)
    years = sorted({a.setl_date.year for a in affected(s, pack, person.id)})
    diffs: list[Difference] = []
    for year in years:
        facts = person_year_read(s, person.psn_no, year, lock=lock)
        assert facts is not None  # the person was just read
        try:
            diffs += [d for d in resettle(pack, facts.core, booked(s, person.id, year, pack)) if d.changed]
        except LineChanged as e:
            raise InputError(
                f"settlement {e.ref}", "line", e.now,
                f"the benefit line it was settled on ({e.was}); its diagnosis is not on record, so it cannot be "
                "settled again here",
                expected_zh=f"原结算的待遇类别（{e.was}）；该笔结算未存诊断，无法在此重新结算",
            ) from None  # fmt: skip
    return Plan(person, tuple(diffs), tuple(years))


# ---------------------------------------------------------------------------------------------
# Paying
# ---------------------------------------------------------------------------------------------


def reason_text(d: Difference) -> str:
    return f"补差：身份 {d.before.identity} → {d.after.identity}"


def pay(s: Session, pack: PolicyPack, psn_no: str, user: str, *, msgid: str | None = None) -> tuple[str | None, Plan]:
    """Pay the person's back-pay (in the caller's transaction): one ``backpay`` entry per changed bill, the years'
    accumulators moved by the differences. Answers the payment's ``setl_id`` stem (``None``: nothing to pay)."""
    p = plan(s, pack, psn_no, lock=True)
    if not p.differences:
        return None, p
    stem = ledger.new_setl_id("B")
    at = ledger.now()
    moved: dict[int, YearToDate] = {}
    for n, d in enumerate(p.differences, start=1):
        original = ledger.get_entry(s, d.before.ref)
        s.add(_entry(original, d, f"{stem}-{n}", user, at, msgid, pack))
        year = original.year
        moved[year] = moved.get(year, YearToDate(year)).plus(d.consumed)
    s.flush()
    for year, delta in moved.items():
        ledger.write_year(s, p.person.id, year, ledger.lock_year(s, p.person.id, year).plus(delta))
    return stem, p


def _entry(original: LedgerEntry, d: Difference, setl_id: str, user: str, at: datetime, msgid: str | None,
           pack: PolicyPack) -> LedgerEntry:  # fmt: skip
    after = d.after
    return LedgerEntry(
        setl_id=setl_id, kind=KIND, reverses=None, corrects=original.setl_id, reason=reason_text(d), mdtrt_id=None,
        person_id=original.person_id, psn_no=original.psn_no, fixmedins_code=original.fixmedins_code, year=original.year,
        setl_date=original.setl_date, insutype=after.insutype, med_type=original.med_type, line=after.line,
        identity=after.identity, hosp_lv=original.hosp_lv, place=original.place, captn_town=original.captn_town,
        pack_id=pack.pack_id,
        **d.delta, consumed=ledger.dumps(d.consumed.to_dict()), setldetail=ledger.dumps(after.setldetail),
        fee_results="[]", trace=ledger.trace_json(after.trace), msgid=msgid, recorded_at=at, recorded_by=user,
        visit_seq=None,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A payment, as read back (its slip)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paid:
    """One payment (its entries sharing the ``setl_id`` stem) and, per entry, the original as first settled."""

    stem: str
    person: Person
    entries: tuple[tuple[LedgerEntry, LedgerEntry], ...]
    """(correction, original) pairs in order."""

    @property
    def recorded_at(self) -> datetime:
        return self.entries[0][0].recorded_at

    @property
    def recorded_by(self) -> str:
        return self.entries[0][0].recorded_by


def payment(s: Session, stem: str) -> Paid:
    """The payment ``stem``; ``NotFound`` when no correction has that stem."""
    fixes = list(
        s.scalars(
            sa.select(LedgerEntry)
            .where(LedgerEntry.kind == KIND, LedgerEntry.setl_id.like(stem.replace("%", "").replace("_", "") + "-%"))
            .order_by(LedgerEntry.id)
        )
    )
    if not stem or not fixes:
        raise NotFound("back-pay", "stem", stem[:40], "a back-pay payment id (B…)", expected_zh="补差单号（B…）")
    person = s.get(Person, fixes[0].person_id)
    assert person is not None
    pairs = tuple((f, ledger.get_entry(s, f.corrects or "")) for f in fixes)
    return Paid(stem, person, pairs)


def payments_of(s: Session, person_id: int) -> list[str]:
    """The stems of the person's back-pay payments, newest first."""
    ids = s.scalars(
        sa.select(LedgerEntry.setl_id)
        .where(LedgerEntry.person_id == person_id, LedgerEntry.kind == KIND)
        .order_by(LedgerEntry.id.desc())
    )
    return list(dict.fromkeys(i.rsplit("-", 1)[0] for i in ids))


def corrections_of(s: Session, setl_id: str) -> list[LedgerEntry]:
    """The corrections of one settlement, oldest first."""
    return list(s.scalars(sa.select(LedgerEntry).where(LedgerEntry.corrects == setl_id).order_by(LedgerEntry.id)))


def differences_view(p: Plan) -> list[dict[str, Any]]:
    """The plan as plain rows: per bill, the identity before and after and per amount before / after / difference."""
    out = []
    for d in p.differences:
        out.append({
            "setl_id": d.before.ref, "setl_date": d.after.setl_date.isoformat(), "identity_before": d.before.identity,
            "identity_after": d.after.identity, "refund": d.refund,
            "before": {a: d.before.amounts[a] for a in AMOUNTS}, "after": {a: getattr(d.after, a) for a in AMOUNTS},
            "difference": d.delta,
        })  # fmt: skip
    return out


def plan_json(p: Plan) -> dict[str, Any]:
    """A plan as the REST API answers it (amounts in fen)."""
    return {"psn_no": p.person.psn_no, "psn_name": p.person.psn_name, "years": list(p.years),
            "differences": differences_view(p), "total": p.total, "refund": p.refund}  # fmt: skip


def pending_json(people: list[PendingPerson]) -> list[dict[str, Any]]:
    return [
        {"psn_no": x.psn_no, "psn_name": x.psn_name,
         "settlements": [{"setl_id": a.setl_id, "setl_date": a.setl_date.isoformat(), "fixmedins_code": a.fixmedins_code,
                          "medfee_sumamt": a.medfee_sumamt, "settled_as": a.settled_as, "now": a.now}
                         for a in x.settlements]}
        for x in people
    ]  # fmt: skip


def payment_json(paid: Paid) -> dict[str, Any]:
    """A payment as the REST API answers it: per correction, the settlement it corrects and the differences."""
    return {
        "stem": paid.stem, "psn_no": paid.person.psn_no, "recorded_by": paid.recorded_by,
        "recorded_at": paid.recorded_at.isoformat(),
        "corrections": [{"setl_id": f.setl_id, "corrects": o.setl_id, "identity_before": o.identity,
                         "identity": f.identity, **{a: getattr(f, a) for a in AMOUNTS}} for f, o in paid.entries],
        "refund": -sum(f.psn_part_amt - f.acct_pay for f, _ in paid.entries),
    }  # fmt: skip
