"""The monthly schedule runs in one process only, however many worker processes start a scheduler.

Each scheduler holds its own database session (PostgreSQL) or its own open lock file (SQLite), as one in
another process would: the database's ``monthly-monitoring`` lock lets one of them run; when that one
stops, another takes over.
"""

from __future__ import annotations

import time
from datetime import date

import sqlalchemy as sa

from tests.db.test_service import PACK, seed
from yibao.app.schedule import MonthlyMonitoring
from yibao.store.db import Database
from yibao.store.monitoring_tables import MonitoringRun

GUARD = 120.0
"""Seconds after which a scheduler that never checks is a failure (a guard, nothing is timed)."""


def _checked(schedulers: list[MonthlyMonitoring], at_least: int) -> None:
    deadline = time.monotonic() + GUARD
    while min(m.checks for m in schedulers) < at_least:
        assert time.monotonic() < deadline, "a scheduler stopped checking"
        time.sleep(0.01)


def test_of_four_schedulers_one_runs_the_month_and_another_takes_over(db: Database) -> None:
    seed(db, category="tuopin")  # nothing settled: a run finds nothing, and is recorded all the same
    april = [MonthlyMonitoring(db, PACK, interval=0.01, today=lambda: date(2022, 4, 2)) for _ in range(4)]
    for m in april:
        m.start()
    _checked(april, 5)
    holders = [m for m in april if m.sole.held]
    assert len(holders) == 1
    assert [m.last is not None for m in april].count(True) == 1
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MonitoringRun)) == 1
    holders[0].stop()
    rest = [m for m in april if m is not holders[0]]
    for m in rest:
        m.today = lambda: date(2022, 5, 2)  # May: April is due
    start = [m.checks for m in rest]
    _checked(rest, max(start) + 5)
    assert [m.sole.held for m in rest].count(True) == 1
    for m in rest:
        m.stop()
    with db.unit_of_work() as s:
        periods = s.scalars(sa.select(MonitoringRun.period).order_by(MonitoringRun.period)).all()
    assert periods == ["2022-03", "2022-04"]
