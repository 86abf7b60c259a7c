"""Settling against the database: one transaction per settlement, the person's year locked.

``settle_claim`` settles with the pure core on one read (:mod:`yibao.app.person_year`: the person, enrolment,
identities, filings, the visit's settlements and the year-to-date row, locked with ``SELECT … FOR UPDATE`` on
PostgreSQL; on SQLite every write transaction is ``BEGIN IMMEDIATE``), then writes the ledger entry and moves
the accumulators with Core (one statement on PostgreSQL, two on SQLite), all in the caller's unit of work; the
trace is stored as its steps and rendered when read (:func:`trace_view`). A reversal appends an entry with the
negated consumption; a settlement can be reversed once. A visit has at most one standing settlement (its
settlements are numbered, the number unique per visit). ``verify`` recomputes every accumulator from the ledger
and finds any visit paid twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from yibao.app.person_year import PersonYear, first_of_year
from yibao.app.person_year import read as person_year_read
from yibao.app.registry import person_not_found
from yibao.core.errors import InputError, NotFound
from yibao.policy.pack import PolicyPack
from yibao.settlement.model import Claim, Settlement, TraceStep, YearToDate
from yibao.settlement.settle import give_back, settle
from yibao.settlement.trace import render_step, tier_name
from yibao.store.big_reads import kept, roomy
from yibao.store.claims import written
from yibao.store.ledger_folds import fold_ledger
from yibao.store.ledger_sums import account_bills, differing_years
from yibao.store.service_tables import LedgerEntry, YearToDateRow
from yibao.store.tables import Enrolment, Person

if TYPE_CHECKING:
    from yibao.app.audit_facts import CounterAudit

AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
    "pool_prop_selfpay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "captn_pay",
)  # fmt: skip
"""The amounts a ledger entry stores (a reversal: negated); ``acct_pay`` is the part of ``psn_part_amt`` the personal
account paid, the rest the person paid in cash (``psn_cash_pay``)."""


def _json(value: Any) -> str:
    """Stored JSON text (dataclasses as objects, tuples as lists, UTF-8 as is)."""
    return orjson.dumps(value).decode()


dumps = _json


def now() -> datetime:
    return datetime.now(UTC)


def new_setl_id(prefix: str = "S") -> str:
    return prefix + datetime.now(UTC).strftime("%Y%m%d") + uuid.uuid4().hex[:14].upper()


def message_key(*parts: str) -> str:
    """The key of a processed message (``rest:user:key``, ``hsa:institution:msgid``): as written while it fits
    the column (64 characters), else its SHA-256, so that long user names and ids are still exactly once."""
    key = ":".join(parts)
    return key if len(key) <= 64 else hashlib.sha256(key.encode()).hexdigest()


def lock_year(session: Session, person_id: int, year: int) -> YearToDate:
    """The person's accumulators for the year, their row created if missing, locked for this transaction
    (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the transaction already holds the write lock)."""
    query = sa.select(YearToDateRow.data).where(YearToDateRow.person_id == person_id, YearToDateRow.year == year)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    data = session.scalar(query)
    return YearToDate.from_dict(json.loads(data)) if data is not None else first_of_year(session, person_id, year)


def _ytd(row: YearToDateRow) -> YearToDate:
    return YearToDate.from_dict(json.loads(row.data))


def year_to_date(session: Session, person_id: int, year: int) -> YearToDate:
    row = session.get(YearToDateRow, (person_id, year))
    return _ytd(row) if row else YearToDate(year)


def check_enrolled(session: Session, person: Person, day: date) -> None:
    ok = session.scalar(
        sa.select(sa.func.count())
        .select_from(Enrolment)
        .where(Enrolment.person_id == person.id, Enrolment.year == day.year, Enrolment.psn_insu_stas == "1")
    )
    if not ok:
        raise not_enrolled(person, day)


def not_enrolled(person: Person, day: date) -> InputError:
    return InputError(f"person {person.psn_no}", "psn_insu_stas", None, f"enrolled (参保状态正常) in {day.year}")


@dataclass(frozen=True)
class EntryRef:
    """What callers of a settlement take from its ledger row (the row itself is written with Core)."""

    setl_id: str
    mdtrt_id: str | None
    psn_no: str
    fixmedins_code: str | None
    setl_date: date


@dataclass
class Settled:
    entry: EntryRef
    settlement: Settlement
    ytd_after: YearToDate
    person: Person
    """The person settled for, as read (kept here, it stays in the session's identity map: no second read)."""
    audit: CounterAudit | None = None
    """What the audit at the counter found (:mod:`yibao.app.audit_counter`), when it ran."""


def person_year(
    session: Session, claim: Claim, *, fixmedins_code: str | None = None, mdtrt_id: str | None = None, lock: bool = True
) -> PersonYear:
    """The claim's person and year in one read (:mod:`yibao.app.person_year`), the year locked when ``lock``."""
    year = claim.setl_date.year
    facts = person_year_read(session, claim.psn_no, year, fixmedins_code=fixmedins_code, mdtrt_id=mdtrt_id, lock=lock)
    if facts is None:
        raise person_not_found(claim.psn_no)
    return facts


def _enrolled(facts: PersonYear, claim: Claim) -> PersonYear:
    if not facts.enrolled:
        raise not_enrolled(facts.person, claim.setl_date)
    return facts


def preview(session: Session, pack: PolicyPack, claim: Claim, *, facts: PersonYear | None = None) -> Settlement:
    """Pre-settlement: computes with the current accumulators, writes nothing."""
    facts = _enrolled(facts or person_year(session, claim, lock=False), claim)
    return settle(pack, facts.core, facts.ytd or YearToDate(claim.setl_date.year), claim)


_LEDGER: sa.Table = LedgerEntry.__table__  # type: ignore[assignment]
_YTD: sa.Table = YearToDateRow.__table__  # type: ignore[assignment]
_ENTRY_COLUMNS = [c.name for c in _LEDGER.c if c.name != "id"]
_INSERT_ENTRY = sa.insert(_LEDGER).values({c: sa.bindparam("e_" + c) for c in _ENTRY_COLUMNS})
_UPDATE_YEAR = (
    sa.update(_YTD)
    .where(_YTD.c.person_id == sa.bindparam("ytd_person"), _YTD.c.year == sa.bindparam("ytd_year"))
    .values(data=sa.bindparam("ytd_data"), version=_YTD.c.version + 1)
)
_WRITE_BOTH = _UPDATE_YEAR.add_cte(_INSERT_ENTRY.cte("entry"))
"""PostgreSQL: the ledger row and the accumulators in one statement (a data-modifying CTE)."""


def settle_claim(
    session: Session, pack: PolicyPack, claim: Claim, user: str, *, mdtrt_id: str | None = None,
    fixmedins_code: str | None = None, msgid: str | None = None, setl_id: str | None = None, facts: PersonYear | None = None,
) -> Settled:  # fmt: skip
    """Settle and record: the ledger entry and the new accumulators in the caller's transaction.

    ``facts``: the claim's person and year as read and locked by :func:`person_year` (read here when not given).
    A settlement of a visit is refused when one stands; two written at once take the same ``visit_seq`` and the
    unique index ``ux_ledger_visit_seq`` keeps one of them.
    """
    facts = _enrolled(facts or person_year(session, claim, fixmedins_code=fixmedins_code, mdtrt_id=mdtrt_id), claim)
    if mdtrt_id and facts.standing:
        raise already_settled("settle", mdtrt_id, facts.standing)
    year = claim.setl_date.year
    before = facts.ytd if facts.ytd is not None else first_of_year(session, facts.person.id, year)
    s = settle(pack, facts.core, before, claim)
    values = entry_values(
        pack, facts.person, claim, s, user, mdtrt_id=mdtrt_id, fixmedins_code=fixmedins_code, msgid=msgid, setl_id=setl_id
    )
    values["visit_seq"] = facts.visit_settlements + 1 if mdtrt_id else None
    entry = {"e_" + k: v for k, v in values.items()}
    year_values = {"ytd_person": facts.person.id, "ytd_year": year, "ytd_data": _json(s.ytd_after.to_dict())}
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_WRITE_BOTH, entry | year_values)
    else:
        conn.execute(_INSERT_ENTRY, entry)
        conn.execute(_UPDATE_YEAR, year_values)
    ref = EntryRef(values["setl_id"], mdtrt_id, values["psn_no"], values["fixmedins_code"], claim.setl_date)
    return Settled(ref, s, s.ytd_after, facts.person)


def visit_settlements(session: Session, mdtrt_id: str) -> tuple[list[str], int]:
    """The visit's standing settlements (no reversal undid them), oldest first, and how many it ever had.

    One statement, so both answers come from the same moment of the database.
    """
    undoing = aliased(LedgerEntry)
    rows = session.execute(
        sa.select(LedgerEntry.setl_id, undoing.setl_id)
        .outerjoin(undoing, undoing.reverses == LedgerEntry.setl_id)
        .where(LedgerEntry.mdtrt_id == mdtrt_id, LedgerEntry.kind == "settle")
        .order_by(LedgerEntry.id)
    ).all()
    return [setl_id for setl_id, reversal in rows if reversal is None], len(rows)


def already_settled(where: str, mdtrt_id: str, setl_id: str, doing_zh: str = "") -> InputError:
    """The refusal of a second settlement of a visit: it names the settlement that stands (and the step refused)."""
    status_zh = f"；当前就诊状态：已结算，不能{doing_zh}" if doing_zh else ""
    return InputError(
        where,
        "mdtrt_id",
        mdtrt_id,
        f"a visit not yet settled (already settled: setl_id {setl_id})",
        expected_zh=f"尚未结算的就诊（已结算，结算ID {setl_id}{status_zh}）",
    )


def entry_values(
    pack: PolicyPack, person: Person, claim: Claim, s: Settlement, user: str, *, mdtrt_id: str | None = None,
    fixmedins_code: str | None = None, msgid: str | None = None, setl_id: str | None = None,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The ledger row recording settlement ``s`` of ``claim``, column by column; the trace stored as its steps
    (:func:`trace_json`), rendered when read (:func:`trace_view`). ``recorded_at`` is now unless given (a past
    claim loaded as history is recorded on its own day)."""
    return dict(
        setl_id=setl_id or new_setl_id(), kind="settle", reverses=None, reason=None, corrects=None, mdtrt_id=mdtrt_id,
        person_id=person.id,
        psn_no=person.psn_no, fixmedins_code=fixmedins_code or claim.fixmedins_code or None, year=claim.setl_date.year,
        setl_date=claim.setl_date, insutype=s.insutype, med_type=s.med_type, line=s.line, identity=s.identity,
        dise_codg=claim.dise_codg or None, dise_name=claim.dise_name or None, major_dise_flag=claim.major_dise_flag,
        hosp_lv=claim.hosp_lv, place=claim.place, captn_town=s.captn_town or None,
        pack_id=pack.pack_id, **{a: getattr(s, a) for a in AMOUNTS},
        consumed=_json(s.consumed.to_dict()), setldetail=_json(s.setldetail), fee_results=_json(s.fee_results),
        trace=trace_json(s.trace),
        msgid=msgid, recorded_at=recorded_at or now(), recorded_by=user, visit_seq=None,
    )  # fmt: skip


def new_entry(
    pack: PolicyPack, person: Person, claim: Claim, s: Settlement, user: str, *, mdtrt_id: str | None = None,
    fixmedins_code: str | None = None, msgid: str | None = None, setl_id: str | None = None,
    recorded_at: datetime | None = None,
) -> LedgerEntry:  # fmt: skip
    """The ledger entry recording settlement ``s`` of ``claim`` (not yet added to a session)."""
    where = {"mdtrt_id": mdtrt_id, "fixmedins_code": fixmedins_code, "msgid": msgid, "setl_id": setl_id}
    return LedgerEntry(**entry_values(pack, person, claim, s, user, **where, recorded_at=recorded_at))


def trace_json(trace: Iterable[TraceStep]) -> str:
    """The trace as stored: its steps (tier, message key, arguments), rendered in the reader's language when read."""
    return _json([{"tier": t.tier, "key": t.key, "args": t.args} for t in trace])


def _step(raw: dict[str, Any]) -> TraceStep:
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in raw["args"].items()}  # (zh, en) pairs come back as lists
    return TraceStep(raw["tier"], raw["key"], args)


def stored_steps(stored: str) -> list[TraceStep]:
    """A stored trace's steps (entries written before traces were stored as steps have none)."""
    return [_step(raw) for raw in json.loads(stored) if "key" in raw]


def write_year(session: Session, person_id: int, year: int, ytd: YearToDate) -> None:
    """Store the person's accumulators of ``year`` (their row exists and is locked by this transaction)."""
    session.connection().execute(_UPDATE_YEAR, {"ytd_person": person_id, "ytd_year": year, "ytd_data": _json(ytd.to_dict())})


def trace_view(stored: str) -> list[dict[str, str]]:
    """A stored trace as ``{"tier": tier name (Chinese), "zh": sentence, "en": sentence}`` per step.

    Entries written before the trace was stored as steps hold these texts already (rendered when settled)."""
    out = []
    for raw in json.loads(stored):
        if "key" not in raw:
            out.append(raw)
            continue
        step = _step(raw)
        out.append({"tier": tier_name(step.tier), "zh": render_step(step, "zh"), "en": render_step(step, "en")})
    return out


def get_entry(session: Session, setl_id: str, fixmedins_code: str | None = None) -> LedgerEntry:
    """The ledger entry ``setl_id``; with ``fixmedins_code``, only one of that institution's: another
    institution's entry is answered as an unknown one (the same ``NotFound``), so that the answer never tells
    whether it exists."""
    entry = session.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id))
    if entry is None or (fixmedins_code is not None and entry.fixmedins_code != fixmedins_code):
        raise NotFound("settlement", "setl_id", setl_id, "a settlement id in the ledger")
    return entry


REVERSIBLE = ("settle", "apply")
"""Ledger entries a reversal may undo: a settlement, an application for assistance (依申请救助, :mod:`yibao.app.assistance`)."""


def reverse_settlement(session: Session, setl_id: str, reason: str, user: str, *, msgid: str | None = None) -> LedgerEntry:
    """Reverse (撤销) a settlement: give back exactly what it consumed; a second reversal is refused."""
    if not reason.strip():
        raise InputError(f"settlement {setl_id}", "reason", reason, "a reason for the reversal (撤销原因)")
    if len(reason.strip()) > 255:
        raise InputError(f"settlement {setl_id}", "reason", reason, "至多 255 个字符 / at most 255 characters")
    original = get_entry(session, setl_id)
    if original.kind not in REVERSIBLE:
        if original.kind == "backpay":
            expected = "a settlement, not a back-pay: reverse the settlement it corrects, which undoes both"
            expected_zh = "结算，而非补差更正记录：请撤销其所更正的结算，二者一并撤销"
            raise InputError(f"settlement {setl_id}", "setl_id", setl_id, expected, expected_zh=expected_zh)
        raise InputError(f"settlement {setl_id}", "setl_id", setl_id, "a settlement, not a reversal")
    before = lock_year(session, original.person_id, original.year)
    done = session.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.reverses == setl_id))
    if done is not None:
        raise InputError(f"settlement {setl_id}", "setl_id", setl_id, f"a settlement not yet reversed (reversed by {done})")
    # a settlement corrected by back-pay (补差) is reversed together with its corrections: all it stands for
    fixes = list(session.scalars(sa.select(LedgerEntry).where(LedgerEntry.corrects == setl_id)))
    consumed = YearToDate.from_dict(json.loads(original.consumed))
    for fix in fixes:
        consumed = consumed.plus(YearToDate.from_dict(json.loads(fix.consumed)))
    after = give_back(consumed, before, setl_id)
    negated = YearToDate(original.year).minus(consumed)
    entry = LedgerEntry(
        setl_id=new_setl_id("R"), kind="reverse", reverses=setl_id, reason=reason.strip(), mdtrt_id=original.mdtrt_id,
        person_id=original.person_id, psn_no=original.psn_no, fixmedins_code=original.fixmedins_code, year=original.year,
        setl_date=original.setl_date, insutype=original.insutype, med_type=original.med_type, line=original.line,
        identity=fixes[-1].identity if fixes else original.identity, dise_codg=original.dise_codg,
        dise_name=original.dise_name, major_dise_flag=original.major_dise_flag, hosp_lv=original.hosp_lv,
        place=original.place, captn_town=original.captn_town,
        pack_id=original.pack_id, **{a: -getattr(original, a) - sum(getattr(f, a) for f in fixes) for a in AMOUNTS},
        consumed=json.dumps(negated.to_dict()), setldetail="[]", fee_results="[]", trace="[]", msgid=msgid,
        recorded_at=now(), recorded_by=user,
    )  # fmt: skip
    session.add(entry)
    session.flush()
    write_year(session, original.person_id, original.year, after)
    return entry


def entry_dict(entry: LedgerEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "setl_id": entry.setl_id, "kind": entry.kind, "reverses": entry.reverses, "corrects": entry.corrects,
        "reason": entry.reason,
        "mdtrt_id": entry.mdtrt_id, "psn_no": entry.psn_no, "fixmedins_code": entry.fixmedins_code,
        "setl_date": entry.setl_date.isoformat(), "insutype": entry.insutype, "med_type": entry.med_type, "line": entry.line,
        "identity": entry.identity, "dise_codg": entry.dise_codg, "dise_name": entry.dise_name, "pack_id": entry.pack_id,
        "recorded_at": entry.recorded_at.isoformat(),
        "recorded_by": entry.recorded_by,
    }  # fmt: skip
    out.update({a: getattr(entry, a) for a in AMOUNTS})
    out["psn_cash_pay"] = entry.psn_part_amt - entry.acct_pay
    out["setldetail"] = json.loads(entry.setldetail)
    out["trace"] = trace_view(entry.trace)
    out["fee_results"] = json.loads(entry.fee_results)
    return out


def verify(session: Session, since: int | None = None, upto: int | None = None) -> list[dict[str, Any]]:
    """Recompute every person-year's accumulators from the ledger; the differences, then any entry whose personal-account
    payment (``acct_pay``) is not what it consumed of the account (``consumed.acct_paid``) or not within the person's
    share, then any visit paid twice (there should be none).

    The sums are made and compared in the database (:mod:`yibao.store.ledger_sums`): only the person-years that
    differ come back, and only their entries are read to show both sides.

    ``since`` (and ``upto``): only the person-years, bills and visits that the ledger rows with ``since < id <= upto``
    belong to, each checked whole (all its entries, its stored row)."""
    dialect = session.get_bind().dialect.name
    roomy(session, jit=False)
    new = [] if since is None else written(LedgerEntry, since, upto)
    years, bills, visits = [None, None, None] if since is None else _scope(session, new)
    differing = [(int(p), int(y)) for p, y in session.execute(differing_years(dialect, years))]
    account = [
        {"setl_id": b, "acct_pay": int(a), "consumed_acct_paid": int(c), "psn_part_amt": int(s)}
        for b, a, c, s in session.execute(account_bills(dialect, bills, new))
    ]
    return _year_diffs(session, differing) + account + paid_twice(session, visits)


def _scope(session: Session, new: list[sa.ColumnElement[bool]]) -> list[Any]:
    """The person-years, bills and visits the ledger rows ``new`` keeps belong to, as three queries; on PostgreSQL kept
    and counted first (:func:`yibao.store.big_reads.kept`): the planner then knows how few they are."""
    e = LedgerEntry
    queries: dict[str, Any] = {
        "years": sa.select(e.person_id, e.year).where(*new).distinct(),
        "bills": sa.select(sa.func.coalesce(e.corrects, e.setl_id).label("bill")).where(*new),
        "visits": sa.select(e.mdtrt_id).where(*new, e.mdtrt_id.is_not(None)),
    }
    if session.get_bind().dialect.name == "postgresql":
        return [kept(session, f"verify_{name}", q) for name, q in queries.items()]
    return list(queries.values())


VERIFY_JOB = "verify"
"""The mark of :func:`verify_since_last` in ``ledger_fold``: every ledger row up to it was checked with no difference."""


@dataclass
class Checked:
    """What :func:`verify_since_last` checked: the ledger rows written since the last clean check, and the differences
    found in what they touch (none: the mark moved past them)."""

    rows: int
    differences: list[dict[str, Any]]


class _Differ(Exception):
    def __init__(self, rows: int, differences: list[dict[str, Any]]) -> None:
        self.rows, self.differences = rows, differences


def verify_since_last(engine: sa.Engine) -> Checked:
    """Verify (:func:`verify`) only the person-years, bills and visits the ledger rows written since the last check
    that found nothing belong to; with no difference the mark moves past those rows, else it stays, so the same
    differences are found again until they are put right. It does not see a stored year-to-date row changed without
    a ledger row, nor a visit or bill no new row belongs to: the whole ledger's ``verify`` does."""

    def check(s: Session, after: int, upto: int) -> None:
        found = verify(s, after, upto)
        if found:
            rows = s.scalar(sa.select(sa.func.count()).where(*written(LedgerEntry, after, upto))) or 0
            raise _Differ(rows, found)

    try:
        return Checked(fold_ledger(engine, VERIFY_JOB, check), [])
    except _Differ as d:
        return Checked(d.rows, d.differences)


def _year_diffs(session: Session, keys: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Both sides of each differing person-year: the ledger's sum of what its entries consumed, and the stored row."""
    derived: dict[tuple[int, int], YearToDate] = {}
    stored: dict[tuple[int, int], YearToDate] = {}
    for lo in range(0, len(keys), 500):
        chunk = keys[lo : lo + 500]
        mine = sa.tuple_(LedgerEntry.person_id, LedgerEntry.year).in_(chunk)
        for person_id, year, consumed in session.execute(
            sa.select(LedgerEntry.person_id, LedgerEntry.year, LedgerEntry.consumed).where(mine).order_by(LedgerEntry.id)
        ):
            key = (person_id, year)
            derived[key] = derived.get(key, YearToDate(year)).plus(YearToDate.from_dict(json.loads(consumed)))
        rows = session.scalars(sa.select(YearToDateRow).where(sa.tuple_(YearToDateRow.person_id, YearToDateRow.year).in_(chunk)))
        stored |= {(r.person_id, r.year): _ytd(r) for r in rows}
    return [
        {"person_id": p, "year": y, "ledger": derived.get((p, y), YearToDate(y)).to_dict(),
         "stored": stored.get((p, y), YearToDate(y)).to_dict()}
        for p, y in keys
    ]  # fmt: skip


def paid_twice(session: Session, visits: sa.Select[Any] | None = None) -> list[dict[str, Any]]:
    """Visits with more than one standing settlement (there should be none): the visit, its person, the settlements.
    ``visits``: only these (a query of ``mdtrt_id``)."""
    undoing = aliased(LedgerEntry)
    standing = (
        sa.select(LedgerEntry.mdtrt_id, LedgerEntry.psn_no, LedgerEntry.setl_id)
        .outerjoin(undoing, undoing.reverses == LedgerEntry.setl_id)
        .where(LedgerEntry.kind == "settle", LedgerEntry.mdtrt_id.is_not(None), undoing.id.is_(None),
               *([] if visits is None else [LedgerEntry.mdtrt_id.in_(visits)]))
        .subquery()
    )  # fmt: skip
    twice = sa.select(standing.c.mdtrt_id).group_by(standing.c.mdtrt_id).having(sa.func.count() > 1)
    found: dict[str, dict[str, Any]] = {}
    for mdtrt_id, psn_no, setl_id in session.execute(
        sa.select(standing).where(standing.c.mdtrt_id.in_(twice)).order_by(standing.c.mdtrt_id, standing.c.setl_id)
    ):
        found.setdefault(mdtrt_id, {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "standing": []})["standing"].append(setl_id)
    return list(found.values())
