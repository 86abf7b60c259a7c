"""What the monthly monitoring run reads: the people who can have a warning, found in the database.

:func:`yibao.rules.monitoring.evaluate` stays the only decider; this module only narrows whose settlements it is
given (:func:`candidates`, a query of person ids): everyone whose year-to-date measure under a ``year`` rule is
above the rule's line, or who has a settlement in the period above a ``claim`` rule's line, plus (when asked) the
people who already have a warning of that year and rule, plus every member of their households (the warning
shows what the whole household paid). Each measure is the SQL twin of the rule's polars measure
(:func:`measure`); ``tests/db/test_monitoring_prefilter.py`` proves on random ledgers that evaluating the
people found gives the same warnings as evaluating everyone. :func:`found` is what a run reads settlements for.
The exact measures are worked out only for the people whose folded bound is over a line
(:mod:`yibao.store.monitoring_bounds`), not for everyone with a settlement this year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.policy.schema import Monitoring, WarningRule
from yibao.rules.monitoring import Period, period_rules
from yibao.store.big_reads import kept
from yibao.store.claims import Persons, standing
from yibao.store.monitoring_bounds import folded, over_a_bound, pos, raw
from yibao.store.monitoring_tables import WarningCase
from yibao.store.tables import Person


def measure(rule: WarningRule, row: Any) -> sa.ColumnElement[int]:
    """A rule's measure of one standing settlement (``row``: the columns of :func:`yibao.store.claims.standing`):
    ``psn_part_amt``, or the policy-range self-pay ``inscp_scp_amt - fund_pay_sumamt`` never below 0 — the SQL
    twin of :func:`yibao.rules.monitoring._measure` (:data:`yibao.settlement.batch.result.SCP_SELF_PAY`)."""
    x = raw(rule.measure, row)
    return x if rule.measure == "self_pay" else pos(x)


def over_the_line(mon: Monitoring, period: Period, near: Persons | None = None) -> sa.Select[int] | None:
    """People with a ``year`` rule's measure from 1 January to the period's end above its line, or a settlement of
    the period above a ``claim`` rule's line (the period's rules only; ``None``: the period has no rules); ``near``:
    looked for among these people only."""
    rows = standing(date(period.year, 1, 1), period.end, near).subquery("counted")
    over: list[sa.ColumnElement[bool]] = []
    for key, rule in period_rules(mon, period).items():
        line = mon.threshold(key)
        counted: sa.ColumnElement[bool] = rows.c.line.in_(list(rule.lines))
        if rule.scope == "claim":
            counted = counted & (rows.c.setl_date >= period.start)
            over.append(sa.func.max(sa.case((counted, measure(rule, rows.c)))) > line)
        else:
            over.append(sa.func.sum(sa.case((counted, measure(rule, rows.c)), else_=0)) > line)
    if not over:
        return None
    return sa.select(rows.c.person_id).group_by(rows.c.person_id).having(sa.or_(*over))


def known(mon: Monitoring, period: Period) -> sa.Select[int]:
    """People with a warning of the period's year under one of the period's rules (a run updates them)."""
    rules = list(period_rules(mon, period))
    return sa.select(WarningCase.person_id).where(WarningCase.year == period.year, WarningCase.rule.in_(rules))


def candidates(mon: Monitoring, period: Period, *, with_known: bool, near: Persons | None = None) -> sa.Select[int]:
    """The people whose settlements :func:`yibao.rules.monitoring.evaluate` needs: those over a line (and with
    ``with_known`` those already warned this year), with every member of their households. Those over a line are
    looked for among ``near``, by default the people whose bound is over a line
    (:func:`yibao.store.monitoring_bounds.over_a_bound`)."""
    if near is None:
        near = over_a_bound(mon, period)
    over = None if near is None else over_the_line(mon, period, near)
    parts = [q for q in (over, known(mon, period) if with_known else None) if q is not None]
    if not parts:
        return sa.select(Person.id).where(sa.false())
    seeds = (sa.union(*parts) if len(parts) > 1 else parts[0]).cte("seeds")  # read twice below, computed once
    seed_ids = sa.select(seeds.c[0].label("id"))
    households = sa.select(Person.hh_no).where(Person.id.in_(seed_ids), Person.hh_no.is_not(None))
    members = sa.select(Person.id).where(Person.hh_no.in_(households))
    everyone = sa.union(seed_ids, members).subquery("everyone")  # a union, not an OR: each part by its index
    return sa.select(everyone.c.id)


def found(session: Session, mon: Monitoring, period: Period, *, with_known: bool) -> Persons:
    """:func:`candidates` for a read of their settlements in ``session``: on PostgreSQL their ids, read first (the
    planner cannot tell how few people a ``HAVING`` leaves: given the query, it joins them to the whole year's
    ledger; given the ids, it knows), the people over a bound kept first in a temporary table for the same reason
    (:func:`yibao.store.big_reads.kept`); elsewhere the query itself, run inside the read."""
    if session.connection().dialect.name != "postgresql":
        return candidates(mon, period, with_known=with_known)
    bound = over_a_bound(mon, period, folded(session))
    near: Persons = [] if bound is None else kept(session, "monitoring_near", bound)
    return list(session.scalars(candidates(mon, period, with_known=with_known, near=near)))
