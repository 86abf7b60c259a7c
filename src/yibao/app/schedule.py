"""The monthly monitoring run, scheduled inside the service.

Once a day (and when the service starts) the scheduler looks at the last complete month; if no
run has recorded it yet, it runs the pack's warning rules for that month. A run that fails is
logged and tried again the next time; a re-run would add no duplicates anyway. It then folds the
day's ledger rows into the claims cube (:mod:`yibao.store.claims_cube_fold`), so that a report of a
whole year reads a few stored rows and folds at most a day of new ones itself.

A server of several worker processes starts a scheduler in each; only the one holding the database's
``monthly-monitoring`` lock (:class:`yibao.store.db.Sole`) runs anything. The others ask again at each
of their checks, so when the holder's process ends another takes over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from yibao.app.warnings import RunResult, run_monitoring
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError
from yibao.policy.pack import PolicyPack
from yibao.rules.monitoring import Period, previous_period
from yibao.store import claims_cube_fold
from yibao.store.db import Database, Sole
from yibao.store.monitoring_tables import MonitoringRun

log = logging.getLogger("yibao.schedule")
SCHEDULE_USER = "schedule"
SOLE = "monthly-monitoring"


def due(db: Database, today: date) -> Period | None:
    """The last complete month, unless some run already covered it."""
    period = previous_period(today)
    with db.unit_of_work() as s:
        done = s.scalar(sa.select(sa.func.count()).select_from(MonitoringRun).where(MonitoringRun.period == period.code))
    return None if done else period


def run_due(db: Database, pack: PolicyPack, today: date) -> RunResult | None:
    period = due(db, today)
    if period is None or not pack.covers(period.end) or pack.at(period.end).monitoring is None:
        return None
    return run_monitoring(db, pack, period, SCHEDULE_USER, trigger="schedule")


class MonthlyMonitoring:
    """A daemon thread calling :func:`run_due` every ``interval`` seconds until stopped, while it is the one
    scheduler of the database (``sole``)."""

    def __init__(
        self, db: Database, pack: PolicyPack, interval: float = 86_400.0, today: Callable[[], date] = beijing_today
    ) -> None:
        self.db, self.pack, self.interval, self.today = db, pack, interval, today
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="yibao-monthly-monitoring", daemon=True)
        self.sole = Sole(db.engine, SOLE)
        self.checks = 0
        """Checks made (whether this scheduler held the lock or not)."""
        self.last: RunResult | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sole.give()

    def _check(self) -> RunResult | None:
        result = run_due(self.db, self.pack, self.today())
        claims_cube_fold.fold(self.db.engine)
        return result

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = self._check() if self.sole.take() else None
            except (InputError, sa.exc.SQLAlchemyError):
                log.exception("monthly monitoring run failed; will try again")
            else:
                if result is not None:
                    self.last = result
                    log.info("monitoring %s: %d found, %d new", result.period, result.found, result.created)
            self.checks += 1
            self._stop.wait(self.interval)
