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

from typing import Any, get_args

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.policy.schema import Monitoring, WarningRule
from yibao.rules.monitoring import Period, period_rules
from yibao.store import ledger_folds
from yibao.store.ledger_folds import Combine, added, fold_ledger, upsert
from yibao.store.monitoring_tables import PersonYearMeasure
from yibao.store.service_tables import LedgerEntry

MEASURES: tuple[str, ...] = get_args(WarningRule.model_fields["measure"].annotation)
"""The rules' measures (``WarningRule.measure``)."""
JOB = "person_year_measure"
"""The fold's name in ``ledger_fold``."""
PARTS = ("sum", "max", "fixes")


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
    return ledger_folds.folded_to(JOB)


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
    return ledger_folds.folded(session, JOB)


def fold(engine: sa.Engine) -> int:
    """Fold the ledger rows written since the last fold into ``person_year_measure``; the number of rows folded (0 also
    when the ledger stayed busy past :data:`yibao.store.ledger_folds.LOCK_WAIT`; see
    :func:`yibao.store.ledger_folds.fold_ledger`)."""
    return fold_ledger(engine, JOB, _add)


def _add(s: Session, after: int, upto: int) -> None:
    """Add the bounds of the rows :func:`unfolded` to the stored ones: sums added, maxima the larger."""
    dialect = s.connection().dialect.name
    larger: Combine = sa.func.greatest if dialect == "postgresql" else sa.func.max  # SQLite's two-argument max
    combine: dict[str, Combine] = {"sum": added, "max": larger, "fixes": added}
    upsert(s, PersonYearMeasure, ["year", "person_id"], unfolded(after, upto),
           {f"{m}_{p}": combine[p] for m in MEASURES for p in PARTS})  # fmt: skip
