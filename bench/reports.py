"""Benchmark: the annual report over a large ledger, read settlement by settlement (before) and as the claims cube (after).

    .venv/bin/python bench/reports.py --settlements 1000000

Creates the PostgreSQL database ``rep_bench`` (``--db URL`` for another; it is dropped at the end unless ``--keep``,
and reused when it already holds the ledger asked for), migrates it and loads by COPY a synthetic province slice: one
person per four settlements in 20 townships and 400 villages, a tenth with a priority identity, all enrolled for the
year with their premiums; the settlements of one year (15% admissions, 25% chronic, 60% general outpatient; a tenth
with assistance), 2% of them reversed, 1% corrected by back-pay, and a tenth of that count again in the year before.
Then it times, for the whole year and everywhere:

- before: ``from_ledger`` (every settlement into a Polars frame) + ``build_reports`` over that frame;
- after: ``cube_from_ledger`` (aggregated in the database) + ``build_reports`` over the cube;
- ``ledger_reports`` as the CLI, the API and the page call it (after: the cube, the people cube, recoveries, …),
  and the people cube (``people_cube_from_registry``) alone;

checks that both give the same tables, and prints the figures with the load average and a final ``RESULT`` line.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import numpy as np
import pgload
import polars as pl
import sqlalchemy as sa
from machine import loadavg

from yibao.app.report_sources import institution_names, ledger_reports
from yibao.policy.pack import load_pack
from yibao.reports.catalogue import build_reports
from yibao.reports.tables import Context, ReportMeta
from yibao.rules.claims import AMOUNTS, Place
from yibao.store.claims import from_ledger
from yibao.store.claims_cube import cube_from_ledger
from yibao.store.db import Database
from yibao.store.people_cube import people_cube_from_registry

T = TypeVar("T")
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/rep_bench"
PACK = "anhui-huaibei-2022"
LINES = {"21": ("inpatient", 0.15), "14": ("chronic", 0.25), "11": ("outpatient", 0.60)}
PRIORITY = ("tekun", "dibao", "jiance")
STAMP = "2026-12-01 00:00:00+00"


def timed(what: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = what()
    return out, time.perf_counter() - t0


def _people(n: int, year: int, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, np.ndarray]:
    ids = np.arange(1, n + 1)
    village = rng.integers(0, 400, n)
    category = np.where(rng.random(n) < 0.1, rng.choice(np.array(PRIORITY), n), "ordinary")
    person = pl.DataFrame(
        {
            "id": ids,
            "psn_no": [f"P{i:010d}" for i in ids],
            "certno": [f"{i:018d}" for i in ids],
            "psn_name": [f"人{i}" for i in ids],
            "gend": "1",
            "brdy": date(1970, 1, 1),
            "county": "全市",
            "township": [f"镇{v % 20:02d}" for v in village],
            "village": [f"村{v:03d}" for v in village],
            "insutype": "390",
            "recorded_at": STAMP,
            "recorded_by": "bench",
        }
    )
    priority = np.flatnonzero(category != "ordinary")
    identity = pl.DataFrame(
        {
            "person_id": ids[priority],
            "category": category[priority],
            "valid_from": date(year - 2, 1, 1),
            "source_bureau": "civil",
            "recorded_at": STAMP,
            "recorded_by": "bench",
        }
    )
    aid = np.where(category != "ordinary", 32_000, 0)
    enrolment = pl.DataFrame(
        {
            "person_id": ids,
            "year": year,
            "insutype": "390",
            "psn_insu_stas": "1",
            "premium": 90_000,
            "individual": 32_000 - aid,
            "assistance_subsidy": aid,
            "fiscal_subsidy": 58_000,
            "subsidy_category": category,
            "recorded_at": STAMP,
            "recorded_by": "bench",
        }
    )
    return person, identity, enrolment, category


def _settlements(n: int, year: int, persons: int, category: np.ndarray, rng: np.random.Generator, stem: str) -> pl.DataFrame:
    who = rng.integers(1, persons + 1, n)
    med = rng.choice(np.array(list(LINES)), n, p=[p for _, p in LINES.values()])
    line = np.vectorize(lambda m: LINES[m][0])(med)
    total = np.where(med == "21", rng.integers(200_000, 5_000_000, n), rng.integers(2_000, 80_000, n))
    inscp = (total * rng.uniform(0.6, 0.95, n)).astype(np.int64)
    hifp = (inscp * rng.uniform(0.4, 0.8, n)).astype(np.int64)
    hifmi = np.where((med == "21") & (rng.random(n) < 0.1), (inscp - hifp) // 3, 0)
    helped = (category[who - 1] != "ordinary") & (rng.random(n) < 0.9)
    maf = np.where(helped, (inscp - hifp - hifmi) // 2, 0)
    oth = np.where(helped & (rng.random(n) < 0.2), (inscp - hifp - hifmi - maf) // 2, 0)
    funds = hifp + hifmi + maf + oth
    days = rng.integers(0, 365, n)
    return pl.DataFrame(
        {
            "setl_id": [f"{stem}{i:010d}" for i in range(n)],
            "kind": "settle",
            "person_id": who,
            "psn_no": [f"P{i:010d}" for i in who],
            "fixmedins_code": [f"H{c:04d}" for c in rng.integers(0, 300, n)],
            "year": year,
            "setl_date": np.datetime64(f"{year}-01-01") + days.astype("timedelta64[D]"),
            "insutype": "390",
            "med_type": med,
            "line": line,
            "identity": category[who - 1],
            "pack_id": PACK,
            "medfee_sumamt": total,
            "fulamt_ownpay_amt": total - inscp,
            "overlmt_selfpay": 0,
            "preselfpay_amt": 0,
            "inscp_scp_amt": inscp,
            "act_pay_dedc": 0,
            "hifp_pay": hifp,
            "pool_prop_selfpay": 0,
            "hifmi_pay": hifmi,
            "maf_pay": maf,
            "oth_pay": oth,
            "fund_pay_sumamt": funds,
            "psn_part_amt": total - funds,
        }
    )


def _ledger(settlements: int, year: int, persons: int, category: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    settle = pl.concat(
        [
            _settlements(settlements, year, persons, category, rng, "S"),
            _settlements(settlements // 10, year - 1, persons, category, rng, "T"),
        ]
    )
    keep = ("person_id", "psn_no", "fixmedins_code", "year", "setl_date", "insutype", "med_type", "line", "pack_id")
    undone = settle.sample(fraction=0.02, seed=1)
    reverse = undone.select(
        ("R" + pl.col("setl_id")).alias("setl_id"),
        pl.lit("reverse").alias("kind"),
        pl.col("setl_id").alias("reverses"),
        *keep,
        "identity",
        *(-pl.col(a) for a in (*AMOUNTS, "act_pay_dedc", "pool_prop_selfpay")),
    )
    fixed = settle.sample(fraction=0.01, seed=2)
    backpay = fixed.select(
        ("B" + pl.col("setl_id")).alias("setl_id"),
        pl.lit("backpay").alias("kind"),
        pl.col("setl_id").alias("corrects"),
        *keep,
        pl.lit("dibao").alias("identity"),
        *(pl.lit(0, pl.Int64).alias(a) for a in (*AMOUNTS, "act_pay_dedc", "pool_prop_selfpay")),
    ).with_columns(pl.col("maf_pay") + 5_000, pl.col("psn_part_amt") - 5_000, pl.col("fund_pay_sumamt") + 5_000)
    rows = pl.concat([settle, reverse, backpay], how="diagonal_relaxed")
    return rows.with_columns(
        pl.lit("{}").alias("consumed"),
        pl.lit("[]").alias("setldetail"),
        pl.lit("[]").alias("fee_results"),
        pl.lit("[]").alias("trace"),
        pl.lit(STAMP).alias("recorded_at"),
        pl.lit("bench").alias("recorded_by"),
    )


def load(url: str, settlements: int, year: int) -> float:
    """The synthetic ledger, people, identities and enrolments by COPY into the migrated database ``url`` (seconds
    taken)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(7)
    persons = max(settlements // 4, 10)
    person, identity, enrolment, category = _people(persons, year, rng)
    with pgload.connect(url, sa.make_url(url).database or "") as c:
        pgload.copy_frame(c, "person", person)
        pgload.copy_frame(c, "identity", identity)
        pgload.copy_frame(c, "enrolment", enrolment)
        pgload.copy_frame(c, "ledger", _ledger(settlements, year, persons, category, rng))
        pgload.follow_ids(c, ("person", "identity", "enrolment", "ledger"))
        c.execute("ANALYZE")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settlements", type=int, default=1_000_000, help="settlements of the year (default 1000000)")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--db", default=DEFAULT_DB, help=f"PostgreSQL URL of a database to create (default {DEFAULT_DB})")
    ap.add_argument("--keep", action="store_true", help="keep the database (reused by the next run)")
    ap.add_argument("--no-before", action="store_true", help="time the cube only (the per-settlement read takes long)")
    a = ap.parse_args()
    name = sa.make_url(a.db).database or ""
    if not pgload.exists(a.db, name):
        with pgload.connect(a.db, "postgres") as c:
            c.execute(f'CREATE DATABASE "{name}"')
    try:
        db = Database.open(a.db)
        with db.engine.connect() as conn:
            have = conn.execute(sa.text("SELECT count(*) FROM ledger WHERE kind = 'settle' AND year = :y"), {"y": a.year})
            loaded = have.scalar_one() == a.settlements
        t_load = 0.0 if loaded else load(a.db, a.settlements, a.year)
        run(db, a.settlements, a.year, t_load, before=not a.no_before)
        db.engine.dispose()
    finally:
        if not a.keep:
            pgload.drop(a.db, name)


def run(db: Database, settlements: int, year: int, t_load: float, *, before: bool) -> None:
    pack = load_pack(PACK)
    start, end = date(year, 1, 1), date(year, 12, 31)
    ctx = Context.from_pack(pack, start)
    meta = ReportMeta(start, end, Place(), "ledger", pack.pack_id)
    print(f"machine: {platform.machine()} {platform.python_version()}, load average before: {loadavg()}")
    print(f"ledger: {settlements:,} settlements of {year} (+ a tenth in {year - 1}, 2% reversed, 1% back-paid)"
          + (f", loaded by COPY in {t_load:.1f} s" if t_load else ", reused"))  # fmt: skip
    with db.reading() as s:
        people, t_people = timed(lambda: people_cube_from_registry(s, year, Place(), ctx))
        names = institution_names(s)
        cube, t_cube = timed(lambda: cube_from_ledger(s, start, end))
        frame, t_frame = timed(lambda: from_ledger(s, start, end)) if before else (None, 0.0)
    after, t_tables_cube = timed(lambda: build_reports(cube, people, names, meta, ctx))
    print(f"after : cube_from_ledger {t_cube:7.2f} s ({cube.cells.height:,} cells, {cube.helped.height:,} helped rows)"
          f" + build_reports {t_tables_cube:5.2f} s = {t_cube + t_tables_cube:7.2f} s")  # fmt: skip
    t_before = 0.0
    if frame is not None:
        old, t_tables_frame = timed(lambda: build_reports(frame, people, names, meta, ctx))
        t_before = t_frame + t_tables_frame
        print(f"before: from_ledger      {t_frame:7.2f} s ({frame.height:,} rows)"
              f" + build_reports {t_tables_frame:5.2f} s = {t_before:7.2f} s")  # fmt: skip
        same = all(after[n].equals(old[n]) for n in after)
        print(f"same tables either way: {same}")
        if not same:
            raise SystemExit("the cube and the frame gave different tables")
    full, t_full = timed(lambda: ledger_reports(db, start, end, pack=pack))
    print(f"ledger_reports (after, whole call): {t_full:.2f} s; of it the people cube (people_cube_from_registry, "
          f"{int(people.cells['persons'].sum()):,} persons in {people.cells.height:,} cells): {t_people:.2f} s")  # fmt: skip
    print(f"load average after: {loadavg()}")
    ratio = f" speedup={t_before / (t_cube + t_tables_cube):.1f}x" if t_before else ""
    print(f"RESULT reports settlements={settlements} before={t_before:.2f}s after={t_cube + t_tables_cube:.2f}s "
          f"ledger_reports={t_full:.2f}s people={t_people:.2f}s{ratio} load={loadavg().replace(' ', '/')}")  # fmt: skip
    assert full["ratios"].height > 0


if __name__ == "__main__":
    main()
