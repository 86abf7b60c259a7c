"""Benchmark: the monthly monitoring run, the year's claims read and ``yibao verify`` on a ledger of a million
settlements in PostgreSQL, before and after the reads moved into the database (a script that prints figures).

    PYTHONPATH=src .venv/bin/python bench/monitoring_sql.py --before /work/wt-base/src
    PYTHONPATH=src .venv/bin/python bench/monitoring_sql.py --settlements 200000 --keep

Creates the database ``mon_bench`` (``--db-name``) on the PostgreSQL server (``--pg``), migrates it, and loads with
COPY a synthetic ledger (generated vectorised with numpy: people in households, settlements of 2022 on four lines and four
identities with skewed amounts, 3% reversed, 1% corrected by a back-pay) and ``year_to_date`` rows equal to the sums
of what the entries consumed (so ``verify`` finds nothing). Then, for each checkout (``--before``: another
checkout's ``src``, e.g. the code before this work; then this one), a fresh process times: the December run of
``anhui-huaibei-2022``'s warning rules (``run_monitoring``, warnings emptied first), the same run again (every
warning known: updated or unchanged), ``verify``, and ``from_ledger`` of the whole year; for this checkout also the
year read by COPY against the cursor's rows. Every figure is printed with the load average; the database is dropped
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pgload
import polars as pl

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
DB_NAME = "mon_bench"
YEAR = 2022
LINES = np.array(["outpatient", "chronic", "inpatient", "two_diseases"])
LINE_P = [0.75, 0.12, 0.05, 0.08]
IDENTITIES = np.array(["ordinary", "tuopin", "dibao", "tekun"])
IDENTITY_P = [0.8, 0.12, 0.06, 0.02]


def ledger_frame(n: int, persons: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """People, ledger rows and year-to-date rows: the settlements, then reversals and back-pays of some of them."""
    rng = np.random.default_rng(seed)
    pid = np.arange(1, persons + 1)
    people = pl.DataFrame(
        {
            "id": pid, "psn_no": [f"P{i:09d}" for i in pid], "certno": [f"34{i:016d}" for i in pid],
            "psn_name": [f"人{i}" for i in pid], "gend": rng.choice(["1", "2"], persons), "brdy": date(1960, 1, 1),
            "hh_no": [f"H{i // 3:08d}" for i in pid], "county": "濉溪县",
            "township": rng.choice(["临涣镇", "韩村镇", "百善镇"], persons),
            "village": rng.choice(["一村", "二村", "三村"], persons),
            "insutype": "390", "recorded_at": "2022-01-01T00:00:00+00:00", "recorded_by": "bench",
        }
    )  # fmt: skip
    who = rng.integers(1, persons + 1, n)
    identity = IDENTITIES[np.minimum(np.searchsorted(np.cumsum(IDENTITY_P), rng.random(persons)), 3)][who - 1]
    line = LINES[np.minimum(np.searchsorted(np.cumsum(LINE_P), rng.random(n)), 3)]
    big = np.where(line == "inpatient", 4.1, np.where(line == "outpatient", 0.0, 1.6))  # about 6000, 100, 500 yuan
    medfee = (rng.lognormal(9.2 + big, 1.0) // 1).astype(np.int64).clip(100, 50_000_000)
    inscp = (medfee * rng.uniform(0.6, 1.0, n)).astype(np.int64)
    fund = (inscp * rng.uniform(0.5, 0.9, n)).astype(np.int64)
    part = medfee - fund
    days = rng.integers(0, 365, n)
    setl_date = pl.Series(np.datetime64(f"{YEAR}-01-01") + days.astype("timedelta64[D]")).cast(pl.Date)
    ids = np.arange(1, n + 1)
    settle = pl.DataFrame(
        {
            "id": ids, "setl_id": [f"S{i:011d}" for i in ids], "kind": "settle", "person_id": who,
            "psn_no": [f"P{i:09d}" for i in who], "setl_date": setl_date, "line": line, "identity": identity,
            "medfee_sumamt": medfee, "inscp_scp_amt": inscp, "fund_pay_sumamt": fund, "hifp_pay": fund, "psn_part_amt": part,
            "admissions": (line == "inpatient").astype(np.int64), "ded": (inscp - fund) // 3, "paid": fund,
            "ci_paid": np.where(line == "inpatient", fund // 10, 0), "acct": np.zeros(n, np.int64),
        }
    ).with_columns(pl.lit(None, pl.Utf8).alias("reverses"), pl.lit(None, pl.Utf8).alias("corrects"))  # fmt: skip
    amounts = ["medfee_sumamt", "inscp_scp_amt", "fund_pay_sumamt", "hifp_pay", "psn_part_amt"]
    consumed = ["admissions", "ded", "paid", "ci_paid", "acct"]
    undo = settle.sample(fraction=0.03, seed=seed).with_columns(
        pl.col("setl_id").alias("reverses"), pl.lit("reverse").alias("kind"),
        *(-pl.col(c) for c in (*amounts, *consumed)),
    )  # fmt: skip
    fixes = settle.sample(fraction=0.01, seed=seed + 1).with_columns(
        pl.col("setl_id").alias("corrects"), pl.lit("backpay").alias("kind"), pl.lit("tuopin").alias("identity"),
        pl.col("psn_part_amt") // -10, pl.col("hifp_pay") // 10, pl.col("fund_pay_sumamt") // 10,
        *(pl.lit(0, pl.Int64).alias(c) for c in ("medfee_sumamt", "inscp_scp_amt", *consumed)),
    )  # fmt: skip
    undo = undo.filter(~pl.col("reverses").is_in(fixes["corrects"].implode()))  # a corrected bill stays
    more = pl.concat([undo, fixes])
    more = more.with_columns(
        pl.Series("id", np.arange(n + 1, n + 1 + more.height)),
        pl.format("{}{}", pl.col("kind").str.slice(0, 1).str.to_uppercase(), pl.int_range(pl.len()) + n + 1).alias("setl_id"),
    )
    rows = pl.concat([settle, more])

    def cat(*parts: str | pl.Expr) -> pl.Expr:
        return pl.concat_str([pl.lit(p) if isinstance(p, str) else p.cast(pl.Utf8) for p in parts])

    def as_json(year: pl.Expr) -> pl.Expr:
        """The YearToDate JSON of the columns ``consumed`` names (a map entry of 0 is left out, as ``plus`` does)."""

        def one(col: str) -> pl.Expr:
            return pl.when(pl.col(col) != 0).then(cat('{"inp": ', pl.col(col), "}")).otherwise(pl.lit("{}"))

        return cat(
            '{"year": ', year, ', "admissions": ', pl.col("admissions"), ', "deductible_base": ', one("ded"),
            ', "basic_paid": ', one("paid"), ', "deductible_taken": {}, "deductible_levels": {}, "covered_cost": {}, '
            '"ci_base": 0, "ci_paid": ', pl.col("ci_paid"), ', "maf_base": 0, "maf_paid": 0, "tilt_base": 0, '
            '"tilt_paid": 0, "acct_paid": ', pl.col("acct"), "}",
        )  # fmt: skip

    rows = rows.with_columns(as_json(pl.lit(YEAR)).alias("consumed"))
    years = rows.group_by("person_id").agg(*(pl.col(c).sum() for c in consumed)).with_columns(pl.lit(YEAR).alias("year"))
    years = years.with_columns(as_json(pl.lit(YEAR)).alias("data"))
    return people, rows, years


def load(url: str, name: str, n: int, persons: int) -> float:
    """Create and fill the database; the seconds it took."""
    from yibao.store.db import make_engine, upgrade

    t0 = time.perf_counter()
    pgload.recreate(url, name)
    engine = make_engine(bench_url(url, name))
    upgrade(engine)
    engine.dispose()
    people, rows, years = ledger_frame(n, persons, 7)
    fixed = {
        "year": YEAR, "insutype": "390", "med_type": "21", "pack_id": "anhui-huaibei-2022", "fixmedins_code": "H1",
        "place": "in_county", "hosp_lv": 2, "major_dise_flag": False, "setldetail": "[]", "fee_results": "[]", "trace": "[]",
        "recorded_at": "2022-12-31T00:00:00+00:00", "recorded_by": "bench",
    }  # fmt: skip
    zero = ["fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "act_pay_dedc", "pool_prop_selfpay", "hifmi_pay",
            "maf_pay", "oth_pay", "acct_pay", "captn_pay"]  # fmt: skip
    ledger = rows.select(
        "id", "setl_id", "kind", "reverses", "corrects", "person_id", "psn_no", "setl_date", "line", "identity",
        "medfee_sumamt", "inscp_scp_amt", "fund_pay_sumamt", "hifp_pay", "psn_part_amt", "consumed",
        *(pl.lit(v).alias(k) for k, v in fixed.items()), *(pl.lit(0, pl.Int64).alias(c) for c in zero),
    )  # fmt: skip
    ytd = years.select("person_id", "year", "data", pl.lit(1).alias("version"))
    with pgload.connect(url, name) as c:
        for table, frame in (("person", people), ("ledger", ledger), ("year_to_date", ytd)):
            pgload.copy_frame(c, table, frame)
        pgload.follow_ids(c, ("ledger", "person"))
        c.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def bench_url(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def measure(url: str, label: str) -> None:
    """In a process of its own (``PYTHONPATH`` names the checkout): time the readers, print one line each."""
    from machine import loadavg

    from yibao.app import ledger
    from yibao.app.warnings import run_monitoring
    from yibao.policy import load_pack
    from yibao.rules.monitoring import parse_period
    from yibao.store import claims
    from yibao.store.db import Database, make_engine

    db = Database(make_engine(url))
    pack, period = load_pack("anhui-huaibei-2022"), parse_period(f"{YEAR}-12")
    with db.engine.begin() as conn:
        for table in ("warning_event", "warning", "monitoring_run"):
            conn.exec_driver_sql(f"DELETE FROM {table}")

    def timed(what: str, fn: object) -> object:
        t0 = time.perf_counter()
        out = fn()  # type: ignore[operator]
        print(f"{label}: {what}: {time.perf_counter() - t0:.2f} s (load {loadavg()})", end="", flush=True)
        return out

    r = timed("monitoring run 2022-12, no warnings known", lambda: run_monitoring(db, pack, period, "bench"))
    print(f"; found {r.found}, created {r.created}")  # type: ignore[attr-defined]
    r = timed("monitoring run 2022-12 again, every warning known", lambda: run_monitoring(db, pack, period, "bench"))
    print(f"; found {r.found}, updated {r.updated}, unchanged {r.unchanged}")  # type: ignore[attr-defined]
    with db.unit_of_work() as s:
        diffs = timed("verify", lambda: ledger.verify(s))
        print(f"; {len(diffs)} differences")  # type: ignore[arg-type]
        frame = timed("from_ledger, the whole year", lambda: claims.from_ledger(s, date(YEAR, 1, 1), date(YEAR, 12, 31)))
        print(f"; {frame.height:,} settlements")  # type: ignore[attr-defined]
        if hasattr(claims, "select_frame"):
            conn = s.connection()
            q = claims.ledger_query(date(YEAR, 1, 1), date(YEAR, 12, 31))
            for how in ("copied", "fetched"):
                f = timed(f"the year's rows read by {how}", lambda how=how: getattr(claims, how)(conn, q, claims.READ_SCHEMA))
                print(f"; {f.height:,} rows")  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settlements", type=int, default=1_000_000)
    ap.add_argument("--persons", type=int, default=None, help="default: a fifth of the settlements")
    ap.add_argument("--pg", default=os.environ.get("YIBAO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--db-name", default=DB_NAME, help=f"the database created on that server (default {DB_NAME})")
    ap.add_argument("--before", default=None, help="another checkout's src folder, measured first")
    ap.add_argument("--keep", action="store_true", help="keep the database (and reuse it with --no-load)")
    ap.add_argument("--no-load", action="store_true", help="measure a database loaded before (with --keep)")
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.measure:
        measure(bench_url(a.pg, a.db_name), a.measure)
        return
    from machine import loadavg

    if not a.no_load:
        seconds = load(a.pg, a.db_name, a.settlements, a.persons or a.settlements // 5)
        print(f"loaded {a.settlements:,} settlements in {seconds:.1f} s (load {loadavg()})", flush=True)
    try:
        for label, src in (("before", a.before), ("after", str(SRC))):
            if src is None:
                continue
            env = os.environ | {"PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
            cmd = [sys.executable, __file__, "--pg", a.pg, "--db-name", a.db_name, "--measure", label]
            subprocess.run(cmd, env=env, check=True)
    finally:
        if not a.keep:
            pgload.drop(a.pg, a.db_name)
    print(f"RESULT monitoring/verify benchmark at {a.settlements:,} settlements done (load {loadavg()})")


if __name__ == "__main__":
    main()
