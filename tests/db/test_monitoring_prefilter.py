"""The monitoring prefilter (:mod:`yibao.store.monitoring_reads`) against the whole ledger, on SQLite and PostgreSQL:
on seeded random ledgers (settlements on several lines and identities, reversals, back-pays, households) and
random warning rules (both measures, year and claim scope, month and quarter, several lines), evaluating only the
people the database finds gives exactly the warnings of evaluating every settlement of the year; and a year of
monthly runs writes the same warnings and timelines either way. Also: the lean ``from_ledger`` equals the
settlements rebuilt by hand from the random rows."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from tests.conftest import migrated_database, seeds
from tests.db.random_ledger import AMOUNTS, IDENTITIES, LINES, STAMP, Ledger, random_ledger, write
from tests.db.test_service import PACK
from yibao.app import warnings as svc
from yibao.policy.schema import Monitoring
from yibao.rules.claims import AMOUNTS as CLAIM_AMOUNTS
from yibao.rules.monitoring import evaluate, parse_period
from yibao.store.claims import from_ledger
from yibao.store.db import Database
from yibao.store.monitoring_bounds import fold
from yibao.store.monitoring_reads import candidates
from yibao.store.monitoring_tables import MonitoringRun, WarningCase, WarningEvent
from yibao.store.service_tables import LedgerEntry

KEYS = ["rule", "key", "psn_no"]


def random_rules(rng: random.Random) -> Monitoring:
    rules: dict[str, Any] = {}
    for i in range(rng.randint(1, 4)):
        rules[f"r{i}"] = dict(
            label_zh="规则", label_en="rule", kind=rng.choice(("warning", "candidate")),
            categories=rng.sample(IDENTITIES, rng.randint(1, len(IDENTITIES))), lines=rng.sample(LINES, rng.randint(1, 3)),
            measure=rng.choice(("self_pay", "policy_range_self_pay")), scope=rng.choice(("year", "year", "claim")),
            threshold=rng.choice((0, 500, 3_000, 8_000, 20_000, 60_000)), period=rng.choice(("month", "month", "quarter")),
        )  # fmt: skip
    return Monitoring.model_validate({"rules": rules})


def loaded(db: Database, seed: int, per_person: float = -1) -> Ledger:
    led = random_ledger(seed, persons=70, per_person=per_person)
    with db.engine.begin() as conn:
        write(conn, led)
    fold(db.engine)  # the bounds a monthly run reads (folded as its first step)
    return led


def sorted_frame(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(KEYS)


@pytest.mark.parametrize("seed", seeds(0, 1, 2, 3))
def test_the_prefilter_finds_every_warning_the_whole_ledger_has(db: Database, seed: int) -> None:
    led = loaded(db, seed)
    rng = random.Random(1000 + seed)
    narrowed = 0
    with db.unit_of_work() as s:
        warned = rng.sample([p["id"] for p in led.persons], 8)
        for pid in warned:  # warnings already known, whatever their amounts: a run updates them
            psn_no = f"P{pid:07d}"
            s.add(WarningCase(rule="r0", kind="warning", key="2022", person_id=pid, psn_no=psn_no, year=2022, identity="x",
                              first_period="2022-01", last_period="2022-01", measure_amt=1, threshold_amt=0, excess_amt=1,
                              setl_ids="[]", medfee_sumamt=0, fund_pay_sumamt=0, psn_part_amt=0, status="new",
                              updated_at=STAMP, recorded_at=STAMP, recorded_by="t"))  # fmt: skip
        s.flush()
        for _ in range(6):
            mon = random_rules(rng)
            period = parse_period(rng.choice(("2022-01", "2022-03", "2022-06", "2022-12", "2022-Q1", "2022-Q3", "2022-Q4")))
            whole = from_ledger(s, date(2022, 1, 1), period.end)
            found = svc.evaluate_ledger(s, mon, period, over_only=True)
            assert sorted_frame(found).equals(sorted_frame(evaluate(whole, mon, period, over_only=True)))
            everyone = evaluate(whole, mon, period, over_only=False)
            some = svc.evaluate_ledger(s, mon, period, over_only=False)
            watched = "r0" in mon.rules and mon.rules["r0"].period == period.kind  # the known warnings' rule runs
            known = [f"P{p:07d}" for p in warned] if watched else []
            needed = everyone.filter(pl.col("is_over") | pl.col("psn_no").is_in(known))
            assert sorted_frame(some.join(needed.select(KEYS), on=KEYS, how="semi")).equals(sorted_frame(needed))
            read = s.scalars(candidates(mon, period, with_known=True)).all()
            narrowed += len(read) < len(led.persons)
    assert narrowed  # the prefilter left people out at least once (the test is not vacuous)


def test_from_ledger_equals_the_random_rows_rebuilt_by_hand(db: Database) -> None:
    led = loaded(db, 7)
    rows = led.entries
    undone = {r["reverses"] for r in rows if r["kind"] == "reverse"}
    expected: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["kind"] == "settle" and r["setl_id"] not in undone and date(2022, 2, 1) <= r["setl_date"] <= date(2022, 9, 30):
            expected[r["setl_id"]] = {"identity": r["identity"], **{a: r[a] for a in CLAIM_AMOUNTS}}
    for r in rows:  # back-pays in the order written: amounts added, the latest identity kept
        if r["kind"] == "backpay" and r["corrects"] in expected:
            e = expected[r["corrects"]]
            e.update({a: e[a] + r[a] for a in CLAIM_AMOUNTS}, identity=r["identity"])
    with db.unit_of_work() as s:
        frame = from_ledger(s, date(2022, 2, 1), date(2022, 9, 30))
        some = from_ledger(s, date(2022, 2, 1), date(2022, 9, 30), persons=[1, 2, 3])
    got = {r["setl_id"]: {k: r[k] for k in ("identity", *CLAIM_AMOUNTS)} for r in frame.iter_rows(named=True)}
    assert got == expected and len(got) > 50
    assert set(some["psn_no"]) <= {"P0000001", "P0000002", "P0000003"}
    assert some.equals(frame.filter(pl.col("psn_no").is_in(["P0000001", "P0000002", "P0000003"])))
    assert AMOUNTS  # the generator writes every ledger amount


def state(db: Database) -> list[Any]:
    """The warnings, each warning's timeline and the runs, without ids and clock times (they differ between two runs;
    in which order one run notes its changes on different warnings does not matter)."""
    with db.unit_of_work() as s:
        w = WarningCase.__table__
        e = WarningEvent.__table__
        skip = {"id", "updated_at", "recorded_at", "pushed_at"}
        warnings = sorted(tuple(v for k, v in r._mapping.items() if k not in skip) for r in s.execute(sa.select(w)))
        events = s.execute(
            sa.select(w.c.rule, w.c.person_id, w.c.key, *(c for c in e.c if c.name not in skip | {"warning_id"}))
            .join(w, w.c.id == e.c.warning_id)
            .order_by(e.c.id)
        ).all()
        timelines: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for r in events:
            timelines.setdefault(tuple(r[:3]), []).append(tuple(r[3:]))
        runs = s.execute(sa.select(MonitoringRun.period, MonitoringRun.found, MonitoringRun.created, MonitoringRun.updated))
        return [warnings, sorted(timelines.items()), [tuple(r) for r in runs]]


def a_year_of_runs(db: Database, seed: int, prefilter: bool) -> tuple[list[Any], list[Any]]:
    """Monthly runs January to July and March again, twelve large settlements reversed, runs August to December:
    what each run counted, and the warnings and timelines left."""
    led = loaded(db, 20 + seed, per_person=5)
    undone = {r["reverses"] for r in led.entries if r["kind"] == "reverse"}
    late = [r for r in led.entries if r["kind"] == "settle" and r["setl_date"].year == 2022 and r["setl_id"] not in undone]
    undo = sorted(late, key=lambda r: -r["psn_part_amt"])[:12]  # the largest: their people were warned
    runs = [svc.run_monitoring(db, PACK, parse_period(f"2022-{m:02d}"), "t", prefilter=prefilter) for m in (*range(1, 8), 3)]
    with db.engine.begin() as conn:  # reversals after July: known warnings fall back under the line
        conn.execute(sa.insert(LedgerEntry.__table__), [reversal(r, i) for i, r in enumerate(undo)])
    runs += [svc.run_monitoring(db, PACK, parse_period(f"2022-{m:02d}"), "t", prefilter=prefilter) for m in range(8, 13)]
    return counted(runs), state(db)


def counted(runs: list[svc.RunResult]) -> list[Any]:
    """What each run counted."""
    return [(r.period, r.found, r.created, r.updated, r.unchanged, r.by_rule) for r in runs]


Runs = Callable[[Database, int, bool], tuple[list[Any], list[Any]]]
"""Monthly runs on a seeded ledger in a database, with the prefilter or without: what each counted, and the state."""


def same_either_way(runs: Runs, db: Database, seed: int, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The same ledger in two databases of the same kind: ``runs`` with the prefilter in one, without in the other,
    count the same and leave the same warnings and timelines; and they found warnings and updated some."""
    narrowed = runs(db, seed, True)
    (tmp_path / "whole").mkdir()
    with migrated_database(db.engine.dialect.name, tmp_path / "whole", request) as whole:
        everything = runs(whole, seed, False)
    assert narrowed == everything
    assert narrowed[0][-1][1] > 0 and any(r[3] for r in narrowed[0])  # warnings found, and some updated


@pytest.mark.parametrize("seed", seeds(0, 1))
def test_a_year_of_monthly_runs_writes_the_same_warnings_either_way(
    db: Database, seed: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Monthly runs with the prefilter in one database, without in the other."""
    same_either_way(a_year_of_runs, db, seed, tmp_path, request)


def reversal(r: dict[str, Any], i: int) -> dict[str, Any]:
    return (
        r | {"id": 900_000 + i, "setl_id": f"X{i:09d}", "kind": "reverse", "reverses": r["setl_id"]} | {a: -r[a] for a in AMOUNTS}
    )
