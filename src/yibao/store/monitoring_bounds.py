"""Per person-year upper bounds of the monitoring measures, folded from the ledger as it grows.

The monthly run must find the few people over a warning line among everyone with a settlement this year. Summing the
whole year's standing settlements per person each month costs as much as the ledger is large; instead each ledger
row adds to its person-year's bounds once (:func:`fold`), and the run reads the people whose bound is over a line
(:func:`over_a_bound`), then works out their exact measures (:func:`yibao.store.monitoring_reads.over_the_line`).

For a measure ``m`` (:data:`MEASURES`) a ledger row has the quantity ``x`` (:func:`yibao.store.monitoring_reads.raw`:
``psn_part_amt``, or ``inscp_scp_amt - fund_pay_sumamt``), linear in the row's amounts, and the rule's measure of a
settlement is ``x`` of the settlement with its back-pays added (for the policy-range self-pay, never below 0). With
``pos(v) = max(v, 0)``, a person-year's row holds, over its ledger rows:

- ``{m}_sum``: the sum of ``pos(x)`` over its settlements and back-pays;
- ``{m}_max``: the largest ``pos(x)`` of one settlement;
- ``{m}_fixes``: the sum of ``pos(x)`` over its back-pays.

``pos`` is subadditive (``pos(a + b) <= pos(a) + pos(b)``) and every measure of a settlement is at most ``pos`` of its
total, so a standing settlement's measure is at most ``pos(x)`` of it plus ``pos(x)`` of each of its back-pays:

- a year rule's measure (any lines, any day of the year, reversed settlements left out) is at most ``{m}_sum``;
- a claim rule's (any one settlement) is at most ``{m}_max + {m}_fixes``.

Reversals are not subtracted (one may undo an application for assistance, which added nothing): a reversed settlement
keeps its person's bound high, which costs the run a person to look at, never a warning. Adding rows and taking a
maximum commute, so a bound is the same whatever order the rows are folded in, in one fold or many.

A reader never depends on the fold being recent: :func:`over_a_bound` adds everyone with a ledger row after the fold
(``id`` above ``ledger_fold.ledger_id``) to the people over a stored bound, so a fold only makes the read faster.
``tests/db/test_monitoring_bounds.py`` holds that a bound folded in any number of steps equals the bound of one fold
over all the rows, that it is at least every rule's measure, and that a run finds the same warnings with or without.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.policy.schema import Monitoring, WarningRule
from yibao.rules.monitoring import Period, period_rules
from yibao.store.monitoring_tables import LedgerFold, PersonYearMeasure
from yibao.store.service_tables import LedgerEntry

MEASURES: tuple[str, ...] = get_args(WarningRule.model_fields["measure"].annotation)
"""The rules' measures (``WarningRule.measure``)."""
JOB = "person_year_measure"
"""The fold's name in ``ledger_fold``."""
PARTS = ("sum", "max", "fixes")
Combine = Callable[[sa.ColumnElement[Any], sa.ColumnElement[Any]], sa.ColumnElement[Any]]


def raw(measure: str, row: Any) -> sa.ColumnElement[int]:
    """A measure's quantity ``x`` of a ledger row (``row``: its columns), linear in its amounts: ``psn_part_amt``, or
    for the policy-range self-pay ``inscp_scp_amt - fund_pay_sumamt`` (which the rule's measure keeps from below 0)."""
    if measure == "self_pay":
        return row.psn_part_amt  # type: ignore[no-any-return]
    return row.inscp_scp_amt - row.fund_pay_sumamt  # type: ignore[no-any-return]


def pos(x: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """``max(x, 0)``."""
    return sa.case((x > 0, x), else_=0)


def contributions(rows: Any) -> list[sa.ColumnElement[int]]:
    """Each bound column (``{m}_{part}``, labelled) aggregated over ``rows`` (ledger rows of one person-year)."""
    out: list[sa.ColumnElement[int]] = []
    for m in MEASURES:
        x = pos(raw(m, rows))
        settle, backpay = rows.kind == "settle", rows.kind == "backpay"
        out += [
            sa.func.sum(sa.case((settle | backpay, x), else_=0)).label(f"{m}_sum"),
            sa.func.max(sa.case((settle, x), else_=0)).label(f"{m}_max"),
            sa.func.sum(sa.case((backpay, x), else_=0)).label(f"{m}_fixes"),
        ]
    return out


def folded_to() -> sa.ScalarSelect[int]:
    """The highest ledger id folded (0 before the first fold)."""
    return sa.select(sa.func.coalesce(sa.func.max(LedgerFold.ledger_id), 0)).where(LedgerFold.job == JOB).scalar_subquery()


def unfolded(after: int, upto: int) -> sa.Select[Any]:
    """The bounds per person-year of the ledger rows with ``after < id <= upto``."""
    e = LedgerEntry.__table__.c
    return sa.select(e.year, e.person_id, *contributions(e)).where(e.id > after, e.id <= upto).group_by(e.year, e.person_id)


def over_a_bound(mon: Monitoring, period: Period, after: int | None = None) -> sa.Select[int] | None:
    """People whose folded bound in the period's year is over the line of one of the period's rules, and everyone with
    a ledger row of that year not yet folded (``None``: the period has no rules). Everyone over a line
    (:func:`yibao.store.monitoring_reads.over_the_line`) is among them. ``after``: the fold's ledger id, if read
    already (on PostgreSQL the planner then reads the rows after it by the ledger's primary key)."""
    t = PersonYearMeasure.__table__.c
    over: list[sa.ColumnElement[bool]] = []
    for key, rule in period_rules(mon, period).items():
        m = rule.measure
        bound = t[f"{m}_sum"] if rule.scope == "year" else t[f"{m}_max"] + t[f"{m}_fixes"]
        over.append(bound > mon.threshold(key))
    if not over:
        return None
    e = LedgerEntry.__table__.c
    since = sa.select(e.person_id).where(e.id > (folded_to() if after is None else after), e.year == period.year)
    near = sa.union(sa.select(t.person_id).where(t.year == period.year, sa.or_(*over)), since).subquery("near")
    return sa.select(near.c.person_id)


def folded(session: Session) -> int:
    """The highest ledger id folded (0 before the first fold)."""
    return session.scalar(sa.select(folded_to())) or 0


HIGHEST = sa.select(sa.func.coalesce(sa.func.max(LedgerEntry.id), 0))
"""The highest ledger id (0: an empty ledger)."""
LOCK_WAIT = "2s"
"""How long a fold waits for the transactions writing to the ledger to end before it gives up (PostgreSQL): settling
queues behind a waiting ``SHARE`` lock, so a long writer (a back-pay batch) must not hold the windows up; the run
reads correctly without the fold, only slower."""


def fold(engine: sa.Engine) -> int:
    """Fold the ledger rows written since the last fold into ``person_year_measure``; the number of rows folded (0 also
    when the ledger stayed busy past :data:`LOCK_WAIT`).

    Only rows every later reader will see may be folded: on PostgreSQL a short transaction first takes a ``SHARE``
    lock on the ledger, which waits for the transactions writing to it to end (and holds new writers back the moment
    it takes), and reads the highest id then; every row with a lower id is committed. SQLite has one writer at a time:
    the highest id the fold's own transaction sees is such a horizon already."""
    horizon: int | None = None
    if engine.dialect.name == "postgresql":
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                conn.execute(sa.text("LOCK TABLE ledger IN SHARE MODE"))
                horizon = conn.scalar(HIGHEST)
        except sa.exc.OperationalError as e:
            if getattr(e.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            return 0
    with Session(engine) as s, s.begin():
        s.execute(_insert(s)(LedgerFold).values(job=JOB, ledger_id=0).on_conflict_do_nothing())
        mark = s.get_one(LedgerFold, JOB, with_for_update=True)  # one fold at a time
        if horizon is None:
            horizon = s.scalar(HIGHEST) or 0
        if horizon <= mark.ledger_id:
            return 0
        rows = s.scalar(sa.select(sa.func.count()).where(LedgerEntry.id > mark.ledger_id, LedgerEntry.id <= horizon)) or 0
        _upsert(s, unfolded(mark.ledger_id, horizon))
        mark.ledger_id, mark.folded_at = horizon, datetime.now(UTC)
    return rows


LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's error code for a lock not taken within ``lock_timeout``."""


def _insert(s: Session) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (PostgreSQL's or SQLite's)."""
    return postgresql.insert if s.connection().dialect.name == "postgresql" else sqlite.insert


def _upsert(s: Session, rows: sa.Select[Any]) -> None:
    """Add ``rows`` (:func:`unfolded`) to the stored bounds: sums added, maxima the larger."""
    names = ["year", "person_id", *(f"{m}_{p}" for m in MEASURES for p in PARTS)]
    dialect = s.connection().dialect.name
    ins = _insert(s)(PersonYearMeasure)
    stmt = ins.from_select(names, rows)
    t, new = PersonYearMeasure.__table__.c, stmt.excluded
    larger: Combine = sa.func.greatest if dialect == "postgresql" else sa.func.max  # SQLite's two-argument max
    combine: dict[str, Combine] = {"sum": lambda a, b: a + b, "max": larger, "fixes": lambda a, b: a + b}
    update = {f"{m}_{p}": combine[p](t[f"{m}_{p}"], new[f"{m}_{p}"]) for m in MEASURES for p in PARTS}
    s.execute(stmt.on_conflict_do_update(index_elements=["year", "person_id"], set_=update))
