"""The claims cube folded as the ledger grows (:mod:`yibao.store.claims_cube_fold`) equals the cube aggregated from the
ledger (:func:`yibao.store.claims_cube.cube_from_ledger`, itself held equal to the claims frame's cube by
``test_claims_cube.py``), on SQLite and PostgreSQL.

Seeded random ledgers (:mod:`tests.db.random_ledger`: settlements of two years, back-pays under other identities,
reversals) are written in random steps with their back-pays, reversals and a few applications moved to later steps,
so a fold meets settlements of earlier folds undone, corrected and moved to another identity; some settlements have no
institution. After each step, folded or not, every year's folded cube equals the aggregated one.
"""

from __future__ import annotations

import random
import time
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import seeds
from tests.db.random_ledger import random_ledger
from tests.db.test_schedule_once import GUARD
from tests.db.test_service import PACK, seed
from tests.db.test_warnings import settle
from yibao.app.schedule import MonthlyMonitoring
from yibao.reports.cube import ClaimsCube
from yibao.rules.claims import EVERYWHERE, Place
from yibao.store.claims_cube import cube_from_ledger
from yibao.store.claims_cube_fold import claims_cube, fold, fold_if_behind, folded, folded_cube, whole_year
from yibao.store.claims_cube_tables import CUBE_CELL, CUBE_HELPED, CUBE_PERSONS, CUBE_VISIT
from yibao.store.db import Database
from yibao.store.ledger_folds import HIGHEST
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

YEARS = (2021, 2022, 2023)


def late_ledger(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The people and the ledger rows, each back-pay and reversal moved to a random later place (after its settlement
    and the corrections before it), a few applications added, a seventh of the settlements without an institution;
    ids in the new order."""
    rng = random.Random(seed)
    led = random_ledger(seed, persons=40)
    rows: list[dict[str, Any]] = []
    for r in led.entries:
        if r["kind"] == "settle":
            if rng.random() < 1 / 7:
                r["fixmedins_code"] = None
            rows.append(r)
            if rng.random() < 0.05:
                rows.append(r | {"setl_id": f"A{r['setl_id']}", "kind": "apply", "line": "assistance_application"})
        else:  # after the rows it follows, anywhere later
            after = max(i for i, x in enumerate(rows) if x["setl_id"] in (r["corrects"], r["reverses"]) or
                        x.get("corrects") == (r["corrects"] or r["reverses"]))  # fmt: skip
            rows.insert(rng.randint(after + 1, len(rows)), r)
    for i, r in enumerate(rows, start=1):
        r["id"] = i
    return led.persons, rows


def write(db: Database, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(table), rows)


def scanned(s: Any, year: int) -> ClaimsCube:
    return cube_from_ledger(s, date(year, 1, 1), date(year, 12, 31))


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_the_folded_cube_equals_the_aggregated_one_after_every_step(db: Database, seed: int) -> None:
    persons, rows = late_ledger(seed)
    write(db, Person.__table__, persons)  # type: ignore[arg-type]
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(rows)), 6))
    folds = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        write(db, LedgerEntry.__table__, rows[lo:hi])  # type: ignore[arg-type]
        if rng.random() < 0.6:
            folds += fold(db.engine) > 0
        with db.reading() as s:
            for year in YEARS:
                assert folded_cube(s, year).equals(scanned(s, year)), (lo, hi, year)
    folds += fold(db.engine) > 0
    assert fold(db.engine) == 0 and folds >= 2
    with db.reading() as s:
        for year in YEARS:
            assert folded_cube(s, year).equals(scanned(s, year)), year
        cube = scanned(s, 2022)
        tables = (CUBE_CELL, CUBE_VISIT, CUBE_PERSONS, CUBE_HELPED)
        stored = {t.name: s.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables}
    assert cube.cells.height > 20 and cube.helped.height > 10 and all(stored.values()), stored
    undone = sum(r["kind"] == "reverse" and r["id"] > min(cuts) for r in rows)
    assert undone > 3  # reversals reached settlements written in earlier steps


def test_a_report_reads_the_folded_cube_for_a_whole_year_everywhere(db: Database) -> None:
    persons, rows = late_ledger(5)
    write(db, Person.__table__, persons)  # type: ignore[arg-type]
    write(db, LedgerEntry.__table__, rows)  # type: ignore[arg-type]
    fold(db.engine)
    with db.reading() as s:
        last = s.scalar(sa.select(sa.func.max(LedgerEntry.setl_date)).where(LedgerEntry.year == 2022))
        assert last is not None and last > date(2022, 6, 30)
        assert whole_year(s, date(2022, 1, 1), date(2022, 12, 31), EVERYWHERE)
        assert whole_year(s, date(2022, 1, 1), last, EVERYWHERE)  # the year so far: nothing dated later
        assert not whole_year(s, date(2022, 1, 1), date(2022, 6, 30), EVERYWHERE)
        assert not whole_year(s, date(2022, 2, 1), date(2022, 12, 31), EVERYWHERE)
        assert not whole_year(s, date(2022, 1, 1), date(2022, 12, 31), Place(county="濉溪县"))
        for start, end, place in [
            (date(2022, 1, 1), last, EVERYWHERE),
            (date(2022, 1, 1), date(2022, 6, 30), EVERYWHERE),
            (date(2022, 1, 1), date(2022, 12, 31), Place(township="临涣镇")),
        ]:
            assert claims_cube(s, start, end, place).equals(cube_from_ledger(s, start, end, place))


def test_the_daily_schedule_folds_the_day_into_the_cube(db: Database) -> None:
    seed(db, category="tuopin")
    settle(db, 100_000, "2022-03-10")
    settle(db, 20_000, "2022-03-12")
    scheduler = MonthlyMonitoring(db, PACK, interval=0.01, today=lambda: date(2022, 4, 2))
    scheduler.start()
    deadline = time.monotonic() + GUARD
    while scheduler.checks < 1:
        assert time.monotonic() < deadline, "the scheduler never checked"
        time.sleep(0.01)
    scheduler.stop()
    with db.reading() as s:
        assert folded(s) == s.scalar(HIGHEST) and folded(s) > 0
        stored = s.scalar(sa.select(sa.func.sum(CUBE_CELL.c.claims)).where(CUBE_CELL.c.year == 2022))
        assert stored == 2 and folded_cube(s, 2022).equals(scanned(s, 2022))


def test_a_report_folds_only_when_the_fold_is_far_behind(db: Database) -> None:
    persons, rows = late_ledger(6)
    cut = max(i for i, r in enumerate(rows) if r["year"] != 2022)  # the tail holds rows of another year
    head, tail = rows[:cut], rows[cut:]
    write(db, Person.__table__, persons)  # type: ignore[arg-type]
    write(db, LedgerEntry.__table__, head)  # type: ignore[arg-type]
    assert fold_if_behind(db.engine, behind=len(head)) == 0  # not far enough behind: left to the read
    assert fold_if_behind(db.engine, behind=len(head) - 1) == len(head)
    write(db, LedgerEntry.__table__, tail)  # type: ignore[arg-type]
    of_2022 = sum(r["year"] == 2022 for r in tail)
    assert 0 < of_2022 < len(tail) and fold_if_behind(db.engine, 2030, behind=0) == 0
    assert fold_if_behind(db.engine, 2022, behind=of_2022) == 0  # the year's rows counted, not the others
    assert fold_if_behind(db.engine, 2022, behind=of_2022 - 1) == len(tail)
    with db.reading() as s:
        assert folded(s) == s.scalar(HIGHEST)
