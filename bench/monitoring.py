"""Benchmark: the monthly early-warning run over a county's ledger, and over a simulation.

    .venv/bin/python bench/monitoring.py --persons 20000

Generates a synthetic county, loads it into a fresh SQLite file (or ``--db URL``), settles its
year of claims into the ledger claim by claim (``settle_history``), then times the twelve
monthly runs of the pack's warning rules (ledger read + evaluation + writing warnings), a
re-run of December (nothing new), and the same December evaluation on the batch engine's
output for the same county, checking that both find the same people with the same amounts.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import polars as pl

from yibao import synth
from yibao.app.bulk_load import load_synth
from yibao.app.history import settle_history
from yibao.app.warnings import find, run_monitoring
from yibao.policy.pack import load_pack
from yibao.rules import claims as claims_frame
from yibao.rules.monitoring import evaluate, parse_period
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.io import read_input
from yibao.store.db import Database


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20_000, help="people in the synthetic county (default 20000)")
    ap.add_argument("--year", type=int, default=2022, help="the year of claims and runs (default 2022)")
    ap.add_argument("--pack", default="anhui-huaibei-2022", help="the policy pack (default anhui-huaibei-2022)")
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    a = ap.parse_args()
    pack = load_pack(a.pack)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "county"
        county = synth.generate(a.persons, a.year, 7)
        synth.write(county, folder)
        db = Database.open(a.db or f"sqlite:///{tmp}/bench.db")
        load_synth(db, folder, user="bench")
        _people, claims = synth.to_people_and_claims(county)
        t0 = time.perf_counter()
        h = settle_history(db, pack, claims, "bench")
        t_hist = time.perf_counter() - t0
        t0 = time.perf_counter()
        runs = [run_monitoring(db, pack, parse_period(f"{a.year}-{m:02d}"), "bench") for m in range(1, 13)]
        t_runs = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_monitoring(db, pack, parse_period(f"{a.year}-12"), "bench")
        t_again = time.perf_counter() - t0

        t0 = time.perf_counter()
        inp = read_input(folder)
        settled = settle_batch(pack, inp).claims
        frame = claims_frame.from_batch(settled, inp.claims, county.people)
        mon = pack.at(parse_period(f"{a.year}-12").end).monitoring
        assert mon is not None
        sim = evaluate(frame, mon, parse_period(f"{a.year}-12"))
        t_sim = time.perf_counter() - t0
        with db.unit_of_work() as s:
            led = find(s, parse_period(f"{a.year}-12"), pack)
        cols = ["rule", "psn_no", "measure_amt", "crossing_setl_id"]
        same = (
            led.select(cols)
            .sort(cols)
            .equals(sim.select(cols).with_columns(pl.col("crossing_setl_id").str.replace(r"^", "S")).sort(cols))
        )
        backend = db.engine.url.get_backend_name()
        created = sum(r.created for r in runs)
        print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, database {backend}")
        print(f"county: {a.persons:,} people, {h.settled:,} settlements in the ledger ({t_hist:.1f} s to settle one by one)")
        per_run = t_runs / 12 * 1000
        print(f"12 monthly runs: {t_runs:.2f} s ({per_run:.0f} ms per run); December found {runs[-1].found}; {created} created")
        print(f"December re-run: {t_again * 1000:.0f} ms, {again.created} new, {again.updated} updated")
        print(f"simulation (batch engine + evaluation): {t_sim:.2f} s; same people and amounts as the ledger: {same}")


if __name__ == "__main__":
    main()
