"""The audit's facts from the database: a claim being settled with its person and history (the counter),
and the ledger of a date range as frames (an audit run).

Both read the ledger the same way, so that a claim audited at the counter and audited again after
settlement gives the same findings (``tests/db/test_audit_runs.py``):

- a claim is a settlement that stands (no reversal undid it), ``seq`` its ledger id; the claim being
  settled at the counter comes after every one (:data:`COUNTER_SEQ`);
- its lines are the fee lines the settlement took (``fee_line.setl_id``), in upload order, dated by
  ``fee_ocur_date`` (2204 ``fee_ocur_time``) or else the visit's first day; counts in thousandths;
- ``begndate``/``enddate`` are the visit's (admission and discharge); a claim typed at the counter or
  sent over REST without a visit is dated on its settlement day, and after settlement has no lines (the
  ledger keeps no counts or unit prices of such a bill): episode rules still see it;
- the person's history is read back to :func:`lookback_start`: as far as the enabled rules' windows reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.audit.knowledge import WINDOWS
from yibao.audit.model import (
    CLAIM_SCHEMA,
    INPATIENT_MED_TYPES,
    LINE_SCHEMA,
    MILLI,
    PERSON_SCHEMA,
    AuditClaim,
    AuditLine,
    Finding,
    Frames,
    History,
    PersonFacts,
    Stay,
)
from yibao.audit.pack import AuditPack, RuleSpec
from yibao.rules import visit_lifecycle as lifecycle
from yibao.settlement.model import Claim
from yibao.store.audit_tables import AuditRuleChange, KnowledgeImport
from yibao.store.service_tables import FeeLineRow, LedgerEntry, Visit
from yibao.store.tables import Person

COUNTER_SEQ = 2**62
"""The ``seq`` of the claim being settled: after every settlement in the ledger."""


def milli(cnt: Decimal | str) -> int:
    """A count in thousandths (1.5 → 1500), rounded half up below a thousandth."""
    return int((Decimal(cnt) * MILLI).to_integral_value(rounding=ROUND_HALF_UP))


def person_facts(p: Person) -> PersonFacts:
    return PersonFacts(p.psn_no, p.gend, p.brdy, p.death_date)


@dataclass(frozen=True)
class CounterAudit:
    """What the audit found on a claim at the counter, and the claim as it is to be settled."""

    claim: Claim
    """With ``audit_refused`` set for the lines 违规 rules make self-paid."""
    findings: tuple[Finding, ...] = ()
    pack: AuditPack | None = None
    """None when the audit is off."""

    def rule(self, code: str) -> RuleSpec:
        assert self.pack is not None
        return self.pack.rule(code)

    def action(self, f: Finding) -> str:
        """What the finding did at settlement: self_pay / refuse for a 违规 one, flag otherwise."""
        return self.rule(f.rule_code).action if f.result == "violation" else "flag"


# ------------------------------------------------------------------ how far back


def window_start(window: str, day: date) -> date:
    """The first day of the calendar ``window`` (``day``, ``week`` … ``year``, ``insu_year``) holding ``day``."""
    if window == "week":
        return day - timedelta(days=day.weekday())
    if window == "month":
        return day.replace(day=1)
    if window == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if window in ("year", "insu_year"):
        return day.replace(month=1, day=1)
    return day


def lookback_start(pack: AuditPack, earliest: date) -> date:
    """The first settlement day a claim beginning on ``earliest`` needs in its history: the start of the
    widest window of an enabled rule (frequency limits: of their knowledge table's windows), and a
    re-admission rule's days before it. Stays that overlap the claim end on or after ``earliest``."""
    start = earliest
    for rule in pack.rules:
        if not rule.enabled:
            continue
        start = min(start, window_start(rule.window, earliest))
        if rule.type == "frequency_limit":
            for w in {str(r.get("window")) for r in pack.knowledge.table("frequency_limits")} & set(WINDOWS):
                start = min(start, window_start(w, earliest))
        days = rule.params.get("days")
        if days is not None and isinstance(days.value, int):
            back = min(days.value + 1, (earliest - date.min).days)  # a visit dated in year 1 looks back to year 1
            start = min(start, earliest - timedelta(days=back))
    return start


# ------------------------------------------------------------------ the counter: one claim


def counter_claim(claim: Claim, insutype: str, visit: Visit | None, line_days: dict[str, date | None]) -> AuditClaim:
    """The claim being settled as the audit sees it (``line_days``: each line's ``fee_ocur_date`` when known)."""
    begin = visit.begntime if visit is not None else claim.setl_date
    end = (visit.endtime or visit.begntime) if visit is not None else claim.setl_date
    lines = tuple(
        AuditLine(
            fl.feedetl_sn,
            fl.med_list_codg,
            line_days.get(fl.feedetl_sn) or begin,
            milli(fl.cnt),
            fl.pric if fl.pric is not None else 0,
            fl.det_item_fee_sumamt,
        )
        for fl in claim.fee_lines
    )
    return AuditClaim(
        claim.claim_id, COUNTER_SEQ, claim.psn_no, claim.fixmedins_code, claim.hosp_lv, insutype, claim.med_type,
        begin, end, claim.setl_date, claim.dise_codg, lines,
    )  # fmt: skip


_LEDGER: sa.Table = LedgerEntry.__table__  # type: ignore[assignment]
_VISIT: sa.Table = Visit.__table__  # type: ignore[assignment]
_FEE: sa.Table = FeeLineRow.__table__  # type: ignore[assignment]
_UNDO = _LEDGER.alias("undo")
_STANDING = sa.and_(_LEDGER.c.kind == "settle", ~sa.exists().where(_UNDO.c.reverses == _LEDGER.c.setl_id))
"""Settlements no reversal undid."""
_LINE_JOIN = sa.and_(_FEE.c.mdtrt_id == _LEDGER.c.mdtrt_id, _FEE.c.setl_id == _LEDGER.c.setl_id, _FEE.c.cancelled.is_(False))
_CLAIM_COLS = (
    _LEDGER.c.id, _LEDGER.c.setl_id, _LEDGER.c.psn_no, _LEDGER.c.fixmedins_code, _LEDGER.c.hosp_lv, _LEDGER.c.insutype,
    _LEDGER.c.med_type, _LEDGER.c.setl_date, _VISIT.c.begntime, _VISIT.c.endtime, _VISIT.c.dise_codg,
)  # fmt: skip
_LINE_COLS = (
    _FEE.c.feedetl_sn, _FEE.c.med_list_codg, _FEE.c.fee_ocur_date, _FEE.c.cnt, _FEE.c.pric, _FEE.c.det_item_fee_sumamt,
)  # fmt: skip
_CLAIMS_FROM = _LEDGER.outerjoin(_VISIT, _VISIT.c.mdtrt_id == _LEDGER.c.mdtrt_id)

# The statements of the counter, built once (each settlement only binds its values).
_SETTLED = (
    sa.select(sa.literal_column("0").label("part"), *_CLAIM_COLS, *_LINE_COLS, _FEE.c.id.label("line_id"))
    .select_from(_CLAIMS_FROM.outerjoin(_FEE, _LINE_JOIN))
    .where(_LEDGER.c.person_id == sa.bindparam("person_id"), _LEDGER.c.setl_date >= sa.bindparam("since"), _STANDING)
)
_CHANGED = (
    sa.select(sa.func.count()).select_from(AuditRuleChange).scalar_subquery(),
    sa.select(sa.func.max(AuditRuleChange.id)).scalar_subquery(),
    sa.select(sa.func.count()).select_from(KnowledgeImport).scalar_subquery(),
    sa.select(sa.func.max(KnowledgeImport.id)).scalar_subquery(),
)
"""How many rule changes and knowledge imports the bureau made, and the last of each (both are only appended)."""
_NULL = {i: sa.cast(sa.null(), c.type) for i, c in enumerate((*_CLAIM_COLS, *_LINE_COLS, _FEE.c.id))}


def _part(part: int, **at: Any) -> sa.Select[Any]:
    """A part of the counter's statement: its columns where ``at`` (``p0`` … ``p17``) puts them, NULL elsewhere."""
    return sa.select(sa.literal_column(str(part)), *(at.get(f"p{i}", null) for i, null in _NULL.items()))


_OPEN_STAYS = _part(1, p1=_VISIT.c.mdtrt_id, p3=_VISIT.c.fixmedins_code, p8=_VISIT.c.begntime, p9=_VISIT.c.endtime).where(
    _VISIT.c.person_id == sa.bindparam("person_id"),
    _VISIT.c.med_type.in_(sorted(INPATIENT_MED_TYPES)),
    _VISIT.c.status.in_(lifecycle.OPEN),
    _VISIT.c.mdtrt_id != sa.bindparam("skip"),
)
_OWN_LINES = _part(2, p11=_FEE.c.feedetl_sn, p13=_FEE.c.fee_ocur_date).where(
    _FEE.c.mdtrt_id == sa.bindparam("skip"), _FEE.c.cancelled.is_(False), _FEE.c.setl_id.is_(None)
)
_MARKS = _part(3, p0=_CHANGED[0], p4=_CHANGED[1], p15=_CHANGED[2], p16=_CHANGED[3])
_COUNTER = sa.union_all(_SETTLED, _OPEN_STAYS, _OWN_LINES, _MARKS).order_by(sa.text("1"), sa.text("2"), sa.text("19"))
"""Everything the counter reads for one claim, in one statement: the person's settlements that stand with their
lines (part 0, oldest first), the admissions registered and not settled (1), the days of the lines being settled
(2), and how far the bureau's rule changes and knowledge imports have gone (3)."""
Marks = tuple[Any, ...]


@dataclass(frozen=True)
class CounterFacts:
    history: History
    line_days: dict[str, date | None]
    """Each line of the visit being settled: its ``fee_ocur_date`` (None when not sent)."""
    marks: Marks
    """The bureau's rule changes and knowledge imports: (count, last id) of each."""


def counter_facts(s: Session, person_id: int, since: date, mdtrt_id: str | None = None) -> CounterFacts:
    """What the counter reads to audit a claim of the person (of the visit ``mdtrt_id``), in one query: the
    settlements that stand, settled on or after ``since``, with their lines; the admissions registered and not
    settled but for this visit; the days of this visit's lines; the marks of the bureau's changes."""
    claims: list[AuditClaim] = []
    stays: list[Stay] = []
    days: dict[str, date | None] = {}
    marks: Marks = ()
    head: Sequence[Any] | None = None
    lines: list[AuditLine] = []
    params = {"person_id": person_id, "since": since, "skip": mdtrt_id or ""}
    for part, *row in s.connection().execute(_COUNTER, params):
        if part == 1:
            stays.append(Stay(row[1], row[3], row[8], row[9]))
        elif part == 2:
            days[row[11]] = row[13]
        elif part == 3:
            marks = (row[0], row[4], row[15], row[16])
        else:
            if head is None or head[0] != row[0]:
                if head is not None:
                    claims.append(_claim(head, lines))
                head, lines = row, []
            if row[11] is not None:
                begin = row[8] or row[7]
                lines.append(AuditLine(row[11], row[12], row[13] or begin, milli(row[14]), row[15] or 0, row[16]))
    if head is not None:
        claims.append(_claim(head, lines))
    return CounterFacts(History(tuple(claims), tuple(stays)), days, marks)


def _claim(head: Sequence[Any], lines: Iterable[AuditLine]) -> AuditClaim:
    seq, setl_id, psn_no, code, hosp_lv, insutype, med_type, setl_date, begin, end, dise = head[:11]
    return AuditClaim(
        setl_id, seq, psn_no, code or "", hosp_lv or 0, insutype, med_type, begin or setl_date,
        end or begin or setl_date, setl_date, dise or "", tuple(lines),
    )  # fmt: skip


# ------------------------------------------------------------------ a run: the ledger as frames


def _in_range(since: date, date_to: date) -> sa.ColumnElement[bool]:
    return sa.and_(_LEDGER.c.setl_date >= since, _LEDGER.c.setl_date <= date_to, _STANDING)


def earliest_day(s: Session, date_from: date, date_to: date) -> date:
    """The first day a claim settled in the range began on (an admission may begin long before it ends)."""
    first = s.scalar(
        sa.select(sa.func.min(_VISIT.c.begntime))
        .select_from(_VISIT.join(_LEDGER, _LEDGER.c.mdtrt_id == _VISIT.c.mdtrt_id))
        .where(_in_range(date_from, date_to))
    )
    return min(first, date_from) if first is not None else date_from


def ledger_frames(s: Session, since: date, date_to: date) -> Frames:
    """The standing settlements of ``since``…``date_to`` as frames (``seq`` = ledger id): one query per frame."""
    claim_rows = s.execute(
        sa.select(*_CLAIM_COLS).select_from(_CLAIMS_FROM).where(_in_range(since, date_to)).order_by(_LEDGER.c.id)
    )
    claims = [_claim(r, ()) for r in claim_rows]
    claims_df = pl.DataFrame([{k: getattr(c, k) for k in CLAIM_SCHEMA} for c in claims], schema=CLAIM_SCHEMA, orient="row")
    line_rows = s.execute(
        sa.select(_LEDGER.c.setl_id, *_LINE_COLS)
        .select_from(_LEDGER.join(_FEE, _LINE_JOIN))
        .where(_in_range(since, date_to))
        .order_by(_LEDGER.c.id, _FEE.c.id)
    )
    cols: dict[str, list[Any]] = {k: [] for k in ("claim_id", "feedetl_sn", "med_list_codg", "fee_ocur_date", "cnt_milli",
                                                  "pric", "det_item_fee_sumamt")}  # fmt: skip
    for setl_id, sn, code, day, cnt, pric, amount in line_rows:
        cols["claim_id"].append(setl_id)
        cols["feedetl_sn"].append(sn)
        cols["med_list_codg"].append(code)
        cols["fee_ocur_date"].append(day)
        cols["cnt_milli"].append(milli(cnt))
        cols["pric"].append(pric or 0)
        cols["det_item_fee_sumamt"].append(amount)
    schema = {k: v for k, v in LINE_SCHEMA.items() if k != "line_no"}
    lines = (
        pl.DataFrame(cols, schema=schema)
        .with_columns(pl.int_range(pl.len()).over("claim_id").cast(pl.Int32).alias("line_no"))
        .join(claims_df.select("claim_id", "begndate"), on="claim_id", how="left")
        .with_columns(pl.col("fee_ocur_date").fill_null(pl.col("begndate")))
        .select(list(LINE_SCHEMA))
        .sort(["claim_id", "line_no"])
    )
    people = s.execute(
        sa.select(Person.psn_no, Person.gend, Person.brdy, Person.death_date).where(
            Person.id.in_(sa.select(_LEDGER.c.person_id).where(_in_range(since, date_to)))
        )
    )
    people_df = pl.DataFrame(list(people), schema=PERSON_SCHEMA, orient="row")
    return Frames(claims_df, lines, people_df)
