"""The monitoring run's folded bounds (:mod:`yibao.store.monitoring_bounds`), on SQLite and PostgreSQL, on seeded random
ledgers (settlements on several lines, back-pays that raise or lower them, reversals):

- folding the ledger in random steps as it is written stores the same bounds as one fold over all of it;
- every stored bound is at least the measure the rules can take of the person-year, worked out from the settlements
  that stand (:func:`yibao.store.claims.from_ledger`, with the rules' own polars measure);
- with part of the ledger not yet folded, the people over a bound include everyone over a line;
- monthly runs with settlements, back-pays and reversals arriving between them write the same warnings with the
  bounds as without.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from tests.conftest import migrated_database, seeds
from tests.db.random_ledger import Ledger, random_ledger
from tests.db.test_monitoring_prefilter import counted, random_rules, same_either_way, state
from tests.db.test_service import PACK
from yibao.app import warnings as svc
from yibao.rules.monitoring import parse_period
from yibao.settlement.batch.result import SCP_SELF_PAY
from yibao.store.claims import from_ledger
from yibao.store.db import Database
from yibao.store.monitoring_bounds import JOB, fold, over_a_bound
from yibao.store.monitoring_reads import over_the_line
from yibao.store.monitoring_tables import LedgerFold, PersonYearMeasure
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person


def write_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    if rows:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(LedgerEntry.__table__), rows)


def start(db: Database, seed: int, per_person: float = -1) -> Ledger:
    led = random_ledger(seed, persons=60, per_person=per_person)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Person.__table__), led.persons)
    return led


def stored_rows(db: Database) -> list[sa.Row[Any]]:
    t = PersonYearMeasure.__table__
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.year, t.c.person_id)))


def stored(db: Database) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in stored_rows(db)]


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_folding_in_steps_stores_what_one_fold_stores(db: Database, seed: int) -> None:
    led = start(db, seed)
    rng = random.Random(seed)
    rows = led.entries
    cuts = sorted(rng.sample(range(1, len(rows)), 5))
    folded = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        write_rows(db, rows[lo:hi])
        if rng.random() < 0.7:
            folded += fold(db.engine)
    folded += fold(db.engine)
    assert folded == len(rows) and fold(db.engine) == 0  # every row folded once, and nothing is folded twice
    in_steps = stored(db)
    with db.engine.begin() as conn:  # the same ledger folded at once
        conn.execute(sa.delete(PersonYearMeasure.__table__))
        conn.execute(sa.delete(LedgerFold.__table__))
    assert fold(db.engine) == len(rows)
    assert stored(db) == in_steps and len(in_steps) > 40


def exact_measures(frame: pl.DataFrame) -> pl.DataFrame:
    """Per person-year and measure, the most a rule can count: its standing settlements' measures that are above 0
    summed (a year rule over any lines and days), and the largest (a claim rule)."""
    measures = {"self_pay": pl.col("psn_part_amt"), "policy_range_self_pay": SCP_SELF_PAY}
    return frame.group_by("year", "psn_no").agg(
        *(pl.max_horizontal(e, 0).sum().alias(f"{m}_sum") for m, e in measures.items()),
        *(e.max().alias(f"{m}_claim") for m, e in measures.items()),
    )


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_every_bound_is_at_least_every_measure_a_rule_can_take(db: Database, seed: int) -> None:
    led = start(db, 10 + seed)
    half = len(led.entries) // 2
    write_rows(db, led.entries[:half])
    fold(db.engine)
    write_rows(db, led.entries[half:])
    fold(db.engine)
    with db.unit_of_work() as s:
        exact = exact_measures(from_ledger(s, date(2021, 1, 1), date(2022, 12, 31)))
        people = {pid: psn for pid, psn in s.execute(sa.select(Person.id, Person.psn_no))}
    found = pl.DataFrame([r._asdict() | {"psn_no": people[r.person_id]} for r in stored_rows(db)]).drop("person_id")
    both = exact.join(found, on=["year", "psn_no"], how="left")
    assert both.height > 40 and both["self_pay_sum_right"].null_count() == 0  # everyone with a settlement has bounds
    for m in ("self_pay", "policy_range_self_pay"):
        assert (both[f"{m}_sum"] <= both[f"{m}_sum_right"]).all()
        assert (both[f"{m}_claim"] <= both[f"{m}_max"] + both[f"{m}_fixes"]).all()
    tight = both.filter(pl.col("self_pay_sum") == pl.col("self_pay_sum_right")).height
    assert tight > both.height // 3  # without back-pays or reversals the bound is the measure itself


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_everyone_over_a_line_is_over_a_bound_folded_or_not(db: Database, seed: int) -> None:
    """Half the ledger folded, the other half written after: the people over a bound (stored, or with rows after the
    fold) include everyone over a line, worked out exactly over everyone's settlements, for random rules."""
    led = start(db, 20 + seed)
    half = len(led.entries) // 2
    write_rows(db, led.entries[:half])
    fold(db.engine)
    write_rows(db, led.entries[half:])
    rng = random.Random(seed)
    over_lines = narrowed = 0
    with db.unit_of_work() as s:
        everyone = set(s.scalars(sa.select(LedgerEntry.person_id).where(LedgerEntry.year == 2022)))
        for _ in range(10):
            mon = random_rules(rng)
            period = parse_period(rng.choice(("2022-01", "2022-06", "2022-12", "2022-Q1", "2022-Q4")))
            exact, near = over_the_line(mon, period), over_a_bound(mon, period)
            assert (exact is None) == (near is None)
            if exact is None or near is None:
                continue
            over, bounded = set(s.scalars(exact)), set(s.scalars(near))
            assert over <= bounded
            over_lines += len(over)
            narrowed += len(bounded) < len(everyone)
    assert over_lines and narrowed  # people over lines were found, and the bounds left people out


def a_year_of_arrivals(db: Database, seed: int, prefilter: bool) -> tuple[list[Any], list[Any]]:
    """Monthly runs January to December, the random ledger's rows arriving in id order over the year (a settlement,
    its back-pays and its reversal may arrive in different months): what each run counted, and the warnings left."""
    led = start(db, 40 + seed, per_person=5)
    rows = led.entries
    runs = []
    for m in range(1, 13):
        write_rows(db, rows[len(rows) * (m - 1) // 12 : len(rows) * m // 12])
        runs.append(svc.run_monitoring(db, PACK, parse_period(f"2022-{m:02d}"), "t", prefilter=prefilter))
    if prefilter:
        with db.engine.connect() as conn:
            assert conn.scalar(sa.select(LedgerFold.ledger_id).where(LedgerFold.job == JOB)) == rows[-1]["id"]
    return counted(runs), state(db)


@pytest.mark.parametrize("seed", seeds(0, 1))
def test_runs_as_the_ledger_grows_write_the_same_warnings_with_the_bounds(
    db: Database, seed: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    same_either_way(a_year_of_arrivals, db, seed, tmp_path, request)


@pytest.mark.slow  # waits out the fold's lock timeout
def test_a_fold_skips_no_uncommitted_row_and_does_not_hold_the_ledger_up(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """PostgreSQL: a row written by a transaction still open (its id below rows committed after it) is neither folded
    nor passed over. The fold waits for that writer at most LOCK_WAIT, then gives up, folding nothing; once the writer
    has committed, the next fold takes its row and the later ones."""
    with migrated_database("postgresql", tmp_path, request) as pg:
        led = start(pg, 3)
        rows = led.entries
        refs = {r["reverses"] for r in rows} | {r["corrects"] for r in rows}
        solo = next(i for i, r in enumerate(rows) if i >= 10 and r["kind"] == "settle" and r["setl_id"] not in refs)
        write_rows(pg, rows[:solo])
        assert fold(pg.engine) == solo
        with pg.engine.connect() as writer:
            writer.begin()
            writer.execute(sa.insert(LedgerEntry.__table__), rows[solo : solo + 1])  # open: its row is not visible yet
            write_rows(pg, rows[solo + 1 : solo + 10])  # committed after it, with higher ids
            assert fold(pg.engine) == 0  # waited for the open writer, then gave up: nothing passed over
            with pg.engine.connect() as conn:
                assert conn.scalar(sa.select(LedgerFold.ledger_id).where(LedgerFold.job == JOB)) == rows[solo - 1]["id"]
            writer.commit()
        assert fold(pg.engine) == 10
        with pg.engine.begin() as conn:  # everything as one fold over the same rows stores it
            in_steps = stored(pg)
            conn.execute(sa.delete(PersonYearMeasure.__table__))
            conn.execute(sa.delete(LedgerFold.__table__))
        assert fold(pg.engine) == solo + 10 and stored(pg) == in_steps
