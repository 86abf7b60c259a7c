"""门诊统筹人头定额 statements from the database: a township's month read from the ledger, the persons it counts, the
pack in force for those entries, the year-end score; the rules are :mod:`yibao.rules.capitation`.

A month's figures are the sum, by institution, of every ledger entry that drew on the township's pot
(``ledger.captn_town``) dated in the month — settlements, their reversals (negated, on the original's day) and
back-pay corrections (deltas) — so a reversed visit nets out. Visits count settlements less reversed settlements.
The institutions listed are the township's (``institution.township``) and any other its entries name.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from yibao.app.auth import Principal
from yibao.app.registry import signed_township_column
from yibao.core.errors import InputError, NotFound
from yibao.policy.in_force import pack_in_force, policy_or_first
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Capitation
from yibao.rules import capitation as rules
from yibao.rules.capitation import InstitutionMonth, MonthStatement, Rule, YearEnd
from yibao.store.ledger_partitions import dated
from yibao.store.service_tables import CapitationScore, Institution, LedgerEntry
from yibao.store.tables import Enrolment, InstitutionChoice, Person

WHERE = "门诊统筹人头定额 / capitation"
RESIDENT = "390"
ENROLLED = "1"
MAX_TOWNSHIP = 64
MONTH_TEXT = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 1990, 2100


# ---------------------------------------------------------------------------------------------
# What is asked for
# ---------------------------------------------------------------------------------------------


def check_township(value: object, field: str = "township") -> str:
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > MAX_TOWNSHIP or "\x00" in text:
        raise InputError(WHERE, field, value, f"a township's name (1-{MAX_TOWNSHIP} characters)",
                         expected_zh=f"乡镇名称（1 至 {MAX_TOWNSHIP} 个字）")  # fmt: skip
    return text


def check_year(value: object, field: str = "year") -> int:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise InputError(WHERE, field, value, f"a year from {FIRST_YEAR} to {LAST_YEAR}",
                         expected_zh=f"{FIRST_YEAR} 至 {LAST_YEAR} 之间的年度")  # fmt: skip
    return int(text)


def check_month(value: object, field: str = "month") -> tuple[int, int]:
    """``YYYY-MM`` as (year, month)."""
    m = MONTH_TEXT.match(str(value).strip() if value is not None else "")
    if not m or not FIRST_YEAR <= int(m[1]) <= LAST_YEAR or not 1 <= int(m[2]) <= 12:
        raise InputError(WHERE, field, value, "a month as YYYY-MM, e.g. 2020-03", expected_zh="年月，格式 YYYY-MM，如 2020-03")
    return int(m[1]), int(m[2])


def check_score(value: object, field: str = "score") -> int:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise InputError(WHERE, field, value, "a whole-number score from 0 to 100", expected_zh="0 至 100 的整数考核分")
    return int(text)


# ---------------------------------------------------------------------------------------------
# Townships, months, who may see which
# ---------------------------------------------------------------------------------------------


def townships(s: Session) -> list[str]:
    """Every township an institution belongs to or a ledger entry drew on, sorted."""
    named = s.scalars(sa.select(Institution.township).where(Institution.township.is_not(None)).distinct())
    drawn = s.scalars(sa.select(LedgerEntry.captn_town).where(LedgerEntry.captn_town.is_not(None)).distinct())
    return sorted({t for t in (*named, *drawn) if t})


def months(s: Session, township: str) -> list[tuple[int, int]]:
    """The months (year, month) in which the township's pot was drawn on, oldest first."""
    days = s.scalars(sa.select(LedgerEntry.setl_date).where(LedgerEntry.captn_town == township).distinct())
    return sorted({(d.year, d.month) for d in days})


def own_township(s: Session, who: Principal) -> str | None:
    """The township of an institution account's institution (None: none, or not an institution account)."""
    if not who.fixmedins_code:
        return None
    return s.scalar(sa.select(Institution.township).where(Institution.fixmedins_code == who.fixmedins_code)) or None


def visible(s: Session, who: Principal) -> list[str]:
    """The townships ``who`` may see: all with ``capitation.read``, an institution its own (if it has one)."""
    if who.can("capitation.read"):
        return townships(s)
    if who.can("capitation.own"):
        own = own_township(s, who)
        return [own] if own else []
    return []


def check_visible(s: Session, who: Principal, township: str) -> None:
    """``NotFound`` for a township ``who`` may not see, as for one that does not exist (an institution sees its own)."""
    if township not in visible(s, who):
        raise NotFound(WHERE, "township", township, "a township with capitation institutions that you may see",
                       expected_zh="您可查看的实行门诊统筹人头定额的乡镇")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The rule in force, the persons counted
# ---------------------------------------------------------------------------------------------


def pack_for(s: Session, township: str, year: int, configured: PolicyPack | None) -> PolicyPack | None:
    """The pack that settled the township's entries of the year (most used first), else ``configured``."""
    ids = s.scalars(
        sa.select(LedgerEntry.pack_id)
        .where(LedgerEntry.captn_town == township, LedgerEntry.year == year)
        .group_by(LedgerEntry.pack_id)
        .order_by(sa.func.count().desc())
    )
    return pack_in_force(list(ids), configured)


def block_of(pack: PolicyPack | None, year: int, month: int = 12) -> Capitation:
    """The pack's capitation block on the month's first day (or the pack's first day); ``InputError`` when none."""
    block = None if pack is None else policy_or_first(pack, date(year, month, 1)).capitation
    if block is None:
        name = pack.pack_id if pack is not None else "(none)"
        raise InputError(f"policy pack {name}", "capitation", None, "a pack with a capitation block (门诊统筹人头定额)",
                         expected_zh="含门诊统筹人头定额参数的政策包")  # fmt: skip
    return block


def counted_persons(s: Session, township: str, year: int, counted: str) -> int:
    """The persons the township counts for ``year``: enrolled residents living in it (``enrolled``), or enrolled
    residents whose latest designated institution (签约/选定基层机构) belongs to it (``signed``); a record merged into
    another (:mod:`yibao.app.conflicts`) is not counted."""
    enrolled = sa.select(Enrolment.person_id).where(
        Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED
    )
    q = sa.select(sa.func.count(sa.distinct(Person.id))).where(Person.id.in_(enrolled), Person.merged_into.is_(None))
    where = signed_township_column() if counted == "signed" else Person.township
    return int(s.scalar(q.where(where == township)) or 0)


def signed_with(s: Session, codes: list[str], year: int) -> dict[str, int]:
    """Persons enrolled for ``year`` whose latest designated institution is each of ``codes`` (the persons weight)."""
    latest = (
        sa.select(InstitutionChoice.fixmedins_code)
        .where(InstitutionChoice.person_id == Person.id, InstitutionChoice.role == "designated")
        .order_by(InstitutionChoice.begin.desc(), InstitutionChoice.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    enrolled = sa.select(Enrolment.person_id).where(Enrolment.year == year, Enrolment.psn_insu_stas == ENROLLED)
    live = sa.and_(Person.id.in_(enrolled), Person.merged_into.is_(None))  # a record merged into another counts once
    rows = s.execute(sa.select(latest.label("code"), sa.func.count()).where(live).group_by(latest))
    return {code: int(n) for code, n in rows if code in codes}


# ---------------------------------------------------------------------------------------------
# The month's figures
# ---------------------------------------------------------------------------------------------


def month_rows(s: Session, township: str, start: date, end: date, year: int) -> list[InstitutionMonth]:
    """Each institution's figures for ``start``..``end`` from the township's ledger entries (every kind, so reversals
    and back-pay net in), with the township's institutions that had none at zero."""
    reversed_ = aliased(LedgerEntry)
    summed = [sa.func.coalesce(sa.func.sum(getattr(LedgerEntry, f)), 0) for f in rules.AMOUNT_FIELDS]
    visit = sa.case((LedgerEntry.kind == "settle", 1), (reversed_.kind == "settle", -1), else_=0)
    q = (
        sa.select(LedgerEntry.fixmedins_code, sa.func.coalesce(sa.func.sum(visit), 0), *summed)
        .outerjoin(reversed_, sa.and_(LedgerEntry.kind == "reverse", reversed_.setl_id == LedgerEntry.reverses))
        .where(LedgerEntry.captn_town == township, dated(LedgerEntry, start, end))
        .group_by(LedgerEntry.fixmedins_code)
    )
    figures = {code or "": [int(v), *map(int, amounts)] for code, v, *amounts in s.execute(q)}
    insts = {
        i.fixmedins_code: i
        for i in s.scalars(
            sa.select(Institution).where(sa.or_(Institution.township == township, Institution.fixmedins_code.in_(list(figures))))
        )
    }
    codes = sorted(set(figures) | {c for c, i in insts.items() if i.township == township})
    persons = signed_with(s, codes, year)
    out = []
    for code in codes:
        inst = insts.get(code)
        name, lv = (inst.fixmedins_name, inst.hosp_lv) if inst is not None else (code, 1)
        visits, *amounts = figures.get(code, [0] * (1 + len(rules.AMOUNT_FIELDS)))
        hospital = rules.is_township_hospital(name, lv)
        sums = dict(zip(rules.AMOUNT_FIELDS, amounts, strict=True))
        out.append(InstitutionMonth(code, name, hospital, visits, persons=persons.get(code, 0), **sums))
    return out


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Statement:
    """A month's statement with the pack it was computed by and the pot's rule."""

    statement: MonthStatement
    pack_id: str
    block: Capitation


def statement(s: Session, township: str, year: int, month: int, configured: PolicyPack | None) -> Statement:
    """The township's monthly statement (:func:`yibao.rules.capitation.month_statement`)."""
    pack = pack_for(s, township, year, configured)
    block = block_of(pack, year, month)
    assert pack is not None
    persons = counted_persons(s, township, year, block.counted)
    rows = month_rows(s, township, date(year, month, 1), month_end(year, month), year)
    return Statement(rules.month_statement(Rule.of(block), township, year, month, persons, rows), pack.pack_id, block)


# ---------------------------------------------------------------------------------------------
# The year-end: the score and the settlement
# ---------------------------------------------------------------------------------------------


def latest_score(s: Session, township: str, year: int) -> CapitationScore | None:
    q = sa.select(CapitationScore).where(CapitationScore.township == township, CapitationScore.year == year)
    return s.scalars(q.order_by(CapitationScore.id.desc()).limit(1)).first()


def scores(s: Session, township: str, year: int) -> list[CapitationScore]:
    """Every score recorded for the township and year, newest first (the first counts)."""
    q = sa.select(CapitationScore).where(CapitationScore.township == township, CapitationScore.year == year)
    return list(s.scalars(q.order_by(CapitationScore.id.desc())))


def record_score(s: Session, township: str, year: int, score: object, note: str, by: str) -> CapitationScore:
    """Record the township's year-end score (the latest counts), in the caller's transaction; checked first."""
    town = check_township(township)
    if town not in townships(s):
        raise InputError(WHERE, "township", township, "a township with capitation institutions",
                         expected_zh="实行门诊统筹人头定额的乡镇")  # fmt: skip
    row = CapitationScore(
        township=town, year=check_year(year), score=check_score(score), note=(note or "").strip()[:255],
        recorded_at=datetime.now(UTC), recorded_by=by,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


@dataclass(frozen=True)
class YearEndOf:
    year_end: YearEnd
    pack_id: str
    block: Capitation
    score: CapitationScore | None


def year_end(s: Session, township: str, year: int, configured: PolicyPack | None) -> YearEndOf:
    """The township's year-end settlement (:func:`yibao.rules.capitation.year_end`) with the latest score."""
    pack = pack_for(s, township, year, configured)
    block = block_of(pack, year)
    assert pack is not None
    persons = counted_persons(s, township, year, block.counted)
    q = sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.captn_pay), 0), sa.func.coalesce(sa.func.sum(LedgerEntry.hifp_pay), 0))
    made, hifp = s.execute(
        q.where(
            LedgerEntry.captn_town == township,
            dated(LedgerEntry, date(year, 1, 1), date(year, 12, 31)),
        )
    ).one()
    score = latest_score(s, township, year)
    ye = rules.year_end(Rule.of(block), township, year, persons, score.score if score else None, int(made), int(hifp) - int(made))
    return YearEndOf(ye, pack.pack_id, block, score)


# ---------------------------------------------------------------------------------------------
# As JSON (fen)
# ---------------------------------------------------------------------------------------------


def _inst_json(r: InstitutionMonth) -> dict[str, object]:
    return {"fixmedins_code": r.fixmedins_code, "fixmedins_name": r.fixmedins_name, "township_hospital": r.hospital,
            "visits": r.visits, **{f: getattr(r, f) for f in rules.AMOUNT_FIELDS}, "item_pay": r.item_pay,
            "persons_signed": r.persons}  # fmt: skip


def statement_json(done: Statement) -> dict[str, object]:
    """The monthly statement, amounts in fen."""
    m = done.statement
    total = {k: v for k, v in _inst_json(m.total).items() if k not in ("fixmedins_code", "fixmedins_name", "township_hospital")}
    return {
        "township": m.township, "month": f"{m.year}-{m.month:02d}", "pack_id": done.pack_id, "counted": done.block.counted,
        "persons": m.persons, "standard": m.standard_fen, "year_amount": m.year_amount, "prepay_share_bp": m.prepay_share,
        "year_prepayment": m.year_prepayment, "prepayment": m.prepayment,
        "institutions": [_inst_json(r) for r in m.institutions], "total": total,
        "owed": [{"fixmedins_code": o.fixmedins_code, "fixmedins_name": o.fixmedins_name, "amount": o.amount,
                  "due": o.due.isoformat()} for o in m.owed],
        "owed_total": m.owed_total, "due": m.due.isoformat(), "due_inclusive": True, "weighted": m.weighted,
        "balance": m.balance,
    }  # fmt: skip


def year_end_json(done: YearEndOf) -> dict[str, object]:
    """The year-end settlement, amounts in fen; the score with who recorded it and when (UTC, ISO)."""
    y, sc = done.year_end, done.score
    return {
        "township": y.township, "year": y.year, "pack_id": done.pack_id, "persons": y.persons, "standard": y.standard_fen,
        "year_amount": y.year_amount, "prepaid": y.prepaid, "withheld": y.withheld, "score": y.score,
        "release_bp": y.release_bp, "released": y.released, "not_released": y.not_released, "paid": y.paid,
        "captn_made": y.captn_made, "surplus": y.surplus, "item_pay": y.item_pay,
        "score_note": sc.note if sc else None, "score_recorded_by": sc.recorded_by if sc else None,
        "score_recorded_at": sc.recorded_at.isoformat() if sc else None,
    }  # fmt: skip
