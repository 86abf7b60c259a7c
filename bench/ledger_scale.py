"""A province-sized ledger on PostgreSQL: settle, monitoring, the annual report and verify over it (prints figures).

    nice -n 10 .venv/bin/python bench/ledger_scale.py --rows 20000000 --keep                 # this checkout's code
    nice -n 10 .venv/bin/python bench/ledger_scale.py --rows 20000000 --keep --code ../wt-base --small 1000000,4000000

Loads a database of its own (``ledger_scale_<rows>`` on 127.0.0.1:5432, created and dropped; ``--keep`` keeps it and
reuses a loaded one, upgraded to the measured code's migrations first, the upgrade timed) and measures the measured
code (``--code PATH``: its ``src`` on ``PYTHONPATH`` in a subprocess per measurement; default this checkout):

- the database is migrated by that code and seeded with the demo county (``ensure_demo``, ``--donors`` people, seed
  7: accounts, institutions, people, identities, enrolment, a year of settlements with their year-to-date rows);
- the province: the demo county's people of 2022 cloned K times, each clone with its own ids, person and household
  numbers, ID numbers (region code per clone, check digit recomputed), county/township/village names, and every
  ledger and year-to-date row of its people (setl_id, visit and message ids suffixed with the clone), so that every
  clone is a valid county: verify finds no difference. Before cloning, 1% of the donors' settlements get a reversal
  and a re-settlement (撤销重结, net nothing) and 0.5% a back-pay (补差: tilted assistance ``oth_pay``, its
  ``tilt_*`` accumulators added to the person's year-to-date row). K is the least giving ``--rows`` ledger rows.
  A cloned ledger row leaves its trace, ``setldetail`` and ``fee_results`` empty (``[]``; none of the measured
  readers reads them) unless ``--full-rows``: 0.6 instead of 1.9 KB a row, 12 instead of 38 GB at 20 million.
  The columns are generated vectorised (polars) and streamed as CSV into ``COPY`` (psycopg ``cursor.copy``); the
  tables' constraints and indexes are dropped before and rebuilt after (their definitions read from the catalogue,
  so a partitioned ledger is handled the same way), then ``VACUUM ANALYZE``.
- settle: the real HTTP server (bench/service.py's driver, ``CORES`` workers, pool 10) at 16 clients for random
  enrolled people of the province, on this ledger and on an empty one (``<db>_empty``: the same people, only the
  demo's few thousand settlements);
- the monthly monitoring run (``run_monitoring`` of 2022-12, the warning tables emptied first: every warning new),
  after the whole ledger is folded into the monitoring bounds (``yibao.store.monitoring_bounds.fold``; timed apart:
  ``fold_seconds``, and its rate, which gives what folding a month's new rows costs a monthly run),
  the annual report (``ledger_reports`` 2022-01-01..2022-12-31; its stages timed apart), after the claims cube is
  folded from scratch in two folds timed apart (``yibao.store.claims_cube_fold.fold``: the ledger but its last
  twelfth, then that twelfth, about a month's new rows), and ``verify`` (then ``verify --since-last`` with the last
  clean check marked before the last twelfth, timed apart).

Each measurement runs in its own process, watched: its resident memory (with its children) above ``--guard-gb``
(default 7.5) kills it and the figure reads "over the memory guard". ``--small 1000000,4000000`` loads and measures
those sizes too and prints, for every reader, the time at ``--rows`` projected linearly from the two largest small
sizes (labelled "projected"). Every figure is printed with the load average; the last line is ``RESULT ledger_scale …``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pgload
import polars as pl
import psycopg
from machine import loadavg

HERE = Path(__file__).resolve().parent
PG = os.environ.get("YIBAO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
YEAR = 2022
PACK = "anhui-huaibei-2022"
CORES = len(os.sched_getaffinity(0))
TABLES = ("person", "identity", "enrolment", "ledger", "year_to_date")
LEDGER_AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
    "pool_prop_selfpay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "captn_pay",
)  # fmt: skip
"""The ledger's amount columns (as ``yibao.app.ledger.AMOUNTS``; the loader imports no yibao code)."""
READERS = ("monitoring", "report", "verify")
CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = np.array(list("10X98765432"))
CHUNK_ROWS = 400_000
"""Ledger rows per COPY chunk."""


def url_of(db: str, driver: str = "") -> str:
    base = PG.replace("postgresql://", f"postgresql{driver}://", 1)
    return f"{base}/{db}"


def connect(db: str) -> psycopg.Connection[Any]:
    return pgload.connect(PG, db)


def say(text: str) -> None:
    print(f"{text} (load {loadavg()})", flush=True)


def size_label(rows: int) -> str:
    return f"{rows // 1_000_000}m" if rows % 1_000_000 == 0 else str(rows)


# ------------------------------------------------------------------ measurements in a watched subprocess


@dataclass
class Measured:
    what: str
    ok: bool
    seconds: float
    peak_gb: float
    load: str
    info: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (``/proc``)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return total
    return total + sum(_tree_rss(int(c)) for c in children)


def measure(code: Path, what: str, db: str, guard_gb: float, *extra: str) -> Measured:
    """Run ``--probe what`` with ``code``'s ``src`` on ``PYTHONPATH``; kill it when its memory passes the guard."""
    env = os.environ | {"PYTHONPATH": str(code / "src")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--probe", what, "--db", db, *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    peak, killed = 0, False
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True)
    reader.start()
    while proc.poll() is None:
        rss = _tree_rss(proc.pid)
        peak = max(peak, rss)
        if rss > guard_gb * 2**30:
            killed = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.2)
    reader.join(timeout=10)
    wall = time.perf_counter() - t0
    load = loadavg()
    if killed:
        note = f"over the memory guard: resident memory passed {guard_gb:g} GB after {wall:.0f} s, killed"
        return Measured(what, False, wall, peak / 2**30, load, note=note)
    lines = [x for x in out if x.startswith("PROBE ")]
    if proc.returncode != 0 or not lines:
        return Measured(what, False, wall, peak / 2**30, load, note=f"failed (exit {proc.returncode}): {''.join(out)[-300:]}")
    info = json.loads(lines[-1][6:])
    return Measured(what, True, float(info.pop("seconds")), peak / 2**30, load, info)


# ------------------------------------------------------------------ the probes (run with the measured code)


def _database(db: str) -> Any:
    import sqlalchemy as sa

    from yibao.store.db import Database

    return Database(sa.create_engine(url_of(db, "+psycopg"), pool_pre_ping=True))


def probe(what: str, db: str, a: argparse.Namespace) -> dict[str, Any]:
    import sqlalchemy as sa

    t0 = time.perf_counter()
    if what in ("setup", "upgrade"):
        from yibao.store.db import upgrade

        database = _database(db)
        upgrade(database.engine)
        out: dict[str, Any] = {"upgrade_seconds": time.perf_counter() - t0}
        if what == "setup":
            from yibao.app.demo import ensure_demo

            ensure_demo(database, persons=a.donors, seed=7)
        return out | {"seconds": time.perf_counter() - t0}
    database = _database(db)
    if what == "verify":
        from yibao.app.ledger import verify

        with database.unit_of_work() as s:
            diffs = verify(s)
        return {"seconds": time.perf_counter() - t0, "differences": len(diffs)} | _since_last(database)
    if what == "monitoring":
        from yibao.app.warnings import run_monitoring
        from yibao.policy.pack import load_pack
        from yibao.rules.monitoring import parse_period

        with database.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE warning_event, warning, monitoring_run"))
        pack = load_pack(PACK)
        folding = _fold(database)
        t0 = time.perf_counter()
        r = run_monitoring(database, pack, parse_period(f"{YEAR}-12"), "bench")
        return {"seconds": time.perf_counter() - t0, "found": r.found, "created": r.created} | folding
    if what == "report":
        from yibao.app.report_sources import ledger_reports

        folding = _cube_fold(database)
        stages: list[tuple[str, float]] = []

        def step(name: str) -> None:
            stages.append((name.split(" / ")[-1].replace(" ", "_"), time.perf_counter()))

        t0 = time.perf_counter()
        ledger_reports(database, date(YEAR, 1, 1), date(YEAR, 12, 31), step=step)
        step("end")
        split = {f"{a}_s": round(tb - ta, 1) for (a, ta), (_, tb) in itertools.pairwise(stages)}
        return {"seconds": time.perf_counter() - t0} | folding | split
    if what == "settle":
        return _settle(database, db, a)
    raise SystemExit(f"unknown probe {what}")


def _fold(database: Any) -> dict[str, Any]:
    """The measured code's monitoring bounds (``yibao.store.monitoring_bounds``, if it has them) folded from scratch:
    the whole ledger folded once (as after the upgrade that adds them), timed apart from the run that follows."""
    try:
        from yibao.store.monitoring_bounds import fold
    except ImportError:  # code from before the bounds: the run reads the year as it always did
        return {}
    import sqlalchemy as sa

    with database.engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE person_year_measure, ledger_fold"))
    t0 = time.perf_counter()
    rows = fold(database.engine)
    seconds = time.perf_counter() - t0
    return {"fold_seconds": round(seconds, 1), "folded_rows": rows, "fold_rows_per_s": round(rows / max(seconds, 1e-9))}


def _since_last(database: Any) -> dict[str, Any]:
    """The measured code's ``verify --since-last`` (``yibao.app.ledger.verify_since_last``, if it has it), timed apart,
    with the last clean check marked before the last twelfth of the ledger rows (about a month of new rows)."""
    try:
        from yibao.app.ledger import verify_since_last
    except ImportError:
        return {}
    import sqlalchemy as sa

    with database.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM ledger_fold WHERE job = 'verify'"))
        conn.execute(sa.text("INSERT INTO ledger_fold (job, ledger_id) VALUES ('verify', :cut)"), {"cut": month_back(conn)})
    t0 = time.perf_counter()
    checked = verify_since_last(database.engine)
    return {"since_last_s": round(time.perf_counter() - t0, 1), "since_last_rows": checked.rows,
            "since_last_differences": len(checked.differences)}  # fmt: skip


MONTH_PART = 12
"""The claims cube's second fold and ``verify --since-last`` take the last 1/12 of the ledger rows: about a month's
new rows."""


def month_back(conn: Any) -> int:
    """The ledger id before the last :data:`MONTH_PART`-th of the rows."""
    import sqlalchemy as sa

    low, high = conn.execute(sa.text("SELECT min(id), max(id) FROM ledger")).one()
    return int(high - (high - low + 1) // MONTH_PART)


def _cube_fold(database: Any) -> dict[str, Any]:
    """The measured code's folded claims cube (``yibao.store.claims_cube_fold``, if it has it) built from scratch in
    two folds, both timed apart from the report that follows: the ledger rows but the last twelfth (as after the
    upgrade that adds the cube), then the last twelfth (about a month of new rows: what a month's first report
    folds)."""
    try:
        from yibao.store.claims_cube_fold import fold
    except ImportError:  # code from before the folded cube: the report reads the year's ledger
        return {}
    import sqlalchemy as sa

    with database.engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE claims_cube_cell, claims_cube_visit, claims_cube_persons, claims_cube_helped"))
        conn.execute(sa.text("DELETE FROM ledger_fold WHERE job = 'claims_cube'"))
        cut = month_back(conn)
    out: dict[str, Any] = {}
    for name, upto in (("cube_fold", cut), ("cube_month_fold", None)):
        t0 = time.perf_counter()
        rows = fold(database.engine, upto)
        out |= {f"{name}_s": round(time.perf_counter() - t0, 1), f"{name}_rows": rows}
    return out


def _settle(database: Any, db: str, a: argparse.Namespace) -> dict[str, Any]:
    import service
    import sqlalchemy as sa

    with database.engine.connect() as conn:
        people = list(
            conn.scalars(
                sa.text(
                    "SELECT p.psn_no FROM person p JOIN enrolment e ON e.person_id = p.id WHERE e.year = :y "
                    "AND e.psn_insu_stas = '1' AND e.insutype = '390' AND (p.insutype IS NULL OR p.insutype = '390') "
                    "AND p.death_date IS NULL ORDER BY random() LIMIT 20000"
                ),
                {"y": YEAR},
            )
        )
    database.engine.dispose()
    with service.server(url_of(db, "+psycopg"), None, CORES, 10) as srv:
        token = service.sign_in(srv.base)
        lat, errors, server_cpu, _client, _busy = service.drive(
            srv, service.requests("settle", token, people), 16, a.seconds, a.warmup
        )
    lat.sort()
    return {
        "seconds": a.seconds, "rps": len(lat) / a.seconds, "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], "errors": errors, "requests": len(lat),
        "server_cores": server_cpu / a.seconds, "people": len(people),
    }  # fmt: skip


# ------------------------------------------------------------------ the database: create, drop, constraints


def loaded(db: str) -> dict[str, Any] | None:
    """What an earlier load recorded in the database (``ledger_scale_meta``), if it finished."""
    if not pgload.exists(PG, db):
        return None
    with connect(db) as c:
        if c.execute("SELECT to_regclass('ledger_scale_meta')").fetchone() == (None,):
            return None
        row = c.execute("SELECT info FROM ledger_scale_meta").fetchone()
    return json.loads(row[0]) if row else None


def db_size(db: str) -> int:
    with connect("postgres") as c:
        row = c.execute("SELECT pg_database_size(%s)", (db,)).fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class Schema:
    """The loaded tables' constraints and indexes (definitions from the catalogue), dropped and rebuilt around a load."""

    constraints: list[tuple[str, str, str, str]]  # table, name, kind (p/u/f), definition
    indexes: list[tuple[str, str]]  # name, definition

    @classmethod
    def read(cls, c: psycopg.Connection[Any]) -> Schema:
        names = list(TABLES)
        cons = c.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conparentid = 0 AND contype IN ('p', 'u', 'f') AND (conrelid::regclass::text = ANY(%s) "
            "OR (contype = 'f' AND confrelid::regclass::text = ANY(%s)))",
            (names, names),
        ).fetchall()
        idx = c.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))"
            " AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)",
            (names,),
        ).fetchall()
        return cls([tuple(r) for r in cons], [tuple(r) for r in idx])  # type: ignore[misc]

    def drop(self, c: psycopg.Connection[Any]) -> None:
        for table, name, _kind, _ in sorted(self.constraints, key=lambda x: x[2] != "f"):
            c.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
        for name, _ in self.indexes:
            c.execute(f'DROP INDEX IF EXISTS "{name}"')

    def build(self, c: psycopg.Connection[Any]) -> None:
        c.execute("SET maintenance_work_mem = '1GB'")
        for table, name, _kind, definition in sorted(self.constraints, key=lambda x: x[2] == "f"):
            c.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for _, definition in self.indexes:
            # a partitioned table's index reads "ON ONLY ledger": built so, it stays INVALID and no partition has it
            c.execute(definition.replace(" ON ONLY ", " ON ", 1))


# ------------------------------------------------------------------ the province: the demo county cloned


def read_frame(c: psycopg.Connection[Any], query: str) -> pl.DataFrame:
    """A query's rows as text columns, exactly as PostgreSQL writes them (NULL stays null, '' stays '')."""
    buf = io.BytesIO()
    with c.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)") as cp:
        for block in cp:
            buf.write(block)
    return pl.read_csv(io.BytesIO(buf.getvalue()), infer_schema=False)


def _negated(consumed: str) -> str:
    def neg(v: Any) -> Any:
        return {k: -x for k, x in v.items()} if isinstance(v, dict) else -v

    return json.dumps({k: v if k == "year" else neg(v) for k, v in json.loads(consumed).items()})


def _plus(ytd: str, delta: dict[str, int]) -> str:
    data = json.loads(ytd)
    for k, v in delta.items():
        data[k] = data.get(k, 0) + v
    return json.dumps(data)


@dataclass
class Donors:
    """The demo county's people of the year and every row of theirs, as text; the clone's strides."""

    person: pl.DataFrame
    identity: pl.DataFrame
    enrolment: pl.DataFrame
    ledger: pl.DataFrame
    ytd: pl.DataFrame
    base: dict[str, int]  # the largest id of each table before cloning

    @classmethod
    def read(cls, c: psycopg.Connection[Any], seed: int = 18) -> Donors:
        who = f"SELECT person_id FROM enrolment WHERE year = {YEAR}"
        person = read_frame(c, f"SELECT * FROM person WHERE id IN ({who}) ORDER BY id")
        frames = {t: read_frame(c, f"SELECT * FROM {t} WHERE person_id IN ({who}) ORDER BY 1") for t in TABLES[1:]}
        base = {}
        for t in ("person", "identity", "enrolment", "ledger"):
            row = c.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()
            base[t] = int(row[0]) if row else 0
        ledger, ytd = _reversals_and_backpays(frames["ledger"], frames["year_to_date"], np.random.default_rng(seed))
        return cls(person, frames["identity"], frames["enrolment"], ledger, ytd, base)


def _reversals_and_backpays(
    ledger: pl.DataFrame, ytd: pl.DataFrame, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """1% of the settlements reversed and settled again (net nothing), 0.5% corrected by a back-pay (tilted
    assistance paid afterwards: ``oth_pay`` and the ``tilt_*`` accumulators), the year-to-date rows moved with them."""
    taken = set(ledger["reverses"].drop_nulls()) | set(ledger["corrects"].drop_nulls())
    pool = ledger.filter(
        (pl.col("kind") == "settle") & (pl.col("year") == str(YEAR)) & ~pl.col("setl_id").is_in(list(taken))
        & (pl.col("psn_part_amt").cast(pl.Int64) >= 100)
    )  # fmt: skip
    picks = rng.permutation(pool.height)
    n_rev, n_fix = max(1, pool.height // 100), max(1, pool.height // 200)
    rev, fix = pool[picks[:n_rev].tolist()], pool[picks[n_rev : n_rev + n_fix].tolist()]
    empty_json = {c: pl.lit("[]") for c in ("setldetail", "fee_results", "trace")}
    reversal = rev.with_columns(
        ("R" + pl.col("setl_id")).alias("setl_id"), pl.lit("reverse").alias("kind"), pl.col("setl_id").alias("reverses"),
        pl.lit("重新结算").alias("reason"), pl.lit(None, pl.Utf8).alias("visit_seq"), pl.lit(None, pl.Utf8).alias("msgid"),
        *((-pl.col(a).cast(pl.Int64)).cast(pl.Utf8).alias(a) for a in LEDGER_AMOUNTS),
        pl.col("consumed").map_elements(_negated, return_dtype=pl.Utf8), **empty_json,
    )  # fmt: skip
    again = rev.with_columns(
        ("N" + pl.col("setl_id")).alias("setl_id"),
        (pl.col("visit_seq").cast(pl.Int64) + 1).cast(pl.Utf8),
        pl.lit(None, pl.Utf8).alias("msgid"),
    )
    x = (pl.col("psn_part_amt").cast(pl.Int64) // 10).alias("x")
    fix = fix.with_columns(x)
    backpay = fix.with_columns(
        ("B" + pl.col("setl_id")).alias("setl_id"), pl.lit("backpay").alias("kind"), pl.col("setl_id").alias("corrects"),
        pl.lit(None, pl.Utf8).alias("visit_seq"), pl.lit(None, pl.Utf8).alias("msgid"),
        *(pl.lit("0").alias(a) for a in LEDGER_AMOUNTS if a not in ("oth_pay", "fund_pay_sumamt", "psn_part_amt")),
        pl.col("x").cast(pl.Utf8).alias("oth_pay"), pl.col("x").cast(pl.Utf8).alias("fund_pay_sumamt"),
        (-pl.col("x")).cast(pl.Utf8).alias("psn_part_amt"),
        pl.format('{{"year": {}, "tilt_base": {}, "tilt_paid": {}}}', pl.col("year"), pl.col("x"), pl.col("x")).alias("consumed"),
        **empty_json,
    ).drop("x")  # fmt: skip
    added: dict[tuple[str, str], dict[str, int]] = {}
    for pid, year, amount in fix.select("person_id", "year", "x").iter_rows():
        d = added.setdefault((pid, year), {"tilt_base": 0, "tilt_paid": 0})
        d["tilt_base"] += amount
        d["tilt_paid"] += amount
    ytd = ytd.with_columns(
        pl.struct("person_id", "year", "data")
        .map_elements(lambda r: _plus(r["data"], added.get((r["person_id"], r["year"]), {})), return_dtype=pl.Utf8)
        .alias("data")
    )
    missing = set(added) - set(ytd.select("person_id", "year").iter_rows())
    assert not missing, f"back-paid people without a year-to-date row: {sorted(missing)[:5]}"
    out = pl.concat([ledger, reversal, again.select(ledger.columns), backpay.select(ledger.columns)])
    return out.with_row_index("_row"), ytd


def _int(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int64)


def _text(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Utf8)


NARROWED = ("setldetail", "fee_results", "trace")
"""What a cloned ledger row leaves empty (``[]``) unless ``--full-rows``: 1.3 KB of the demo's 1.9 KB rows, which at
20 million rows would be 38 GB of ledger (and twice that while a migration copies it) on this machine's disk."""


def clone(d: Donors, table: str, ks: np.ndarray, full_rows: bool = False) -> pl.DataFrame:
    """``table``'s donor rows for clones ``ks``: new ids and numbers, everything else as the donor's (a ledger row's
    :data:`NARROWED` columns ``[]`` unless ``full_rows``)."""
    src = {"person": d.person, "identity": d.identity, "enrolment": d.enrolment, "ledger": d.ledger, "year_to_date": d.ytd}
    frame = src[table]
    columns = [c for c in frame.columns if c != "_row"]
    if "_row" not in frame.columns:
        frame = frame.with_row_index("_row")
    df = frame.join(pl.DataFrame({"_k": ks.astype(np.int64)}), how="cross")
    k = pl.col("_k")
    sfx = k.cast(pl.Utf8).str.zfill(5)
    p0 = d.base["person"]
    person_id = _text(_int("person_id") + p0 * (k + 1)) if table != "person" else None
    if table == "person":
        body = pl.col("certno").str.slice(6, 11)
        certno17 = pl.lit("34") + k.cast(pl.Utf8).str.zfill(4) + body
        df = df.with_columns(certno17.alias("_c17"))
        weights = pl.sum_horizontal([pl.col("_c17").str.slice(i, 1).cast(pl.Int32) * w for i, w in enumerate(CHECK_WEIGHTS)]).mod(
            11
        )
        check = pl.Series(CHECK_CHARS[df.select(weights).to_series().to_numpy()])
        df = df.with_columns((pl.col("_c17") + check).alias("certno"))
        df = df.with_columns(
            _text(_int("id") + p0 * (k + 1)).alias("id"),
            (pl.col("psn_no") + sfx).alias("psn_no"),
            (pl.col("hh_no") + sfx).alias("hh_no"),
            pl.format("{}县", (k % 100 + 1).cast(pl.Utf8).str.zfill(3)).alias("county"),
            (sfx + pl.col("township")).alias("township"),
            (sfx + pl.col("village")).alias("village"),
            _text(_int("merged_into") + p0 * (k + 1)).alias("merged_into"),
        )
    elif table in ("identity", "enrolment"):
        df = df.with_columns(_text(_int("_row") + 1 + d.base[table] + k * frame.height).alias("id"), person_id.alias("person_id"))
    elif table == "year_to_date":
        df = df.with_columns(person_id.alias("person_id"))
    else:
        suffixed = ("setl_id", "reverses", "corrects", "mdtrt_id", "msgid", "psn_no")
        df = df.with_columns(
            _text(_int("_row") + 1 + d.base["ledger"] + k * frame.height).alias("id"),
            person_id.alias("person_id"),
            *((pl.col(c) + sfx).alias(c) for c in suffixed),
            *(() if full_rows else (pl.lit("[]").alias(c) for c in NARROWED)),
        )
    return df.select(columns)


def _chunks(d: Donors, tables: tuple[str, ...], clones: int, full_rows: bool) -> Iterator[tuple[str, list[str], bytes, int]]:
    per = max(1, CHUNK_ROWS // max(1, d.ledger.height))
    for start in range(0, clones, per):
        ks = np.arange(start, min(clones, start + per))
        for t in tables:
            df = clone(d, t, ks, full_rows)
            yield t, df.columns, pgload.csv(df), df.height


def renice_backend(c: psycopg.Connection[Any], nice: int) -> None:
    """The backend serving this load at the load's niceness (it runs as another user; allowed to root)."""
    row = c.execute("SELECT pg_backend_pid()").fetchone()
    if row:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, int(row[0]), nice)


def load(db: str, code: Path, rows: int, a: argparse.Namespace, *, ledger: bool, clones: int | None = None) -> dict[str, Any]:
    """A fresh database migrated by ``code``, the demo county, then the province cloned from it: what was loaded."""
    pgload.recreate(PG, db)
    setup = measure(code, "setup", db, a.guard_gb, "--donors", str(a.donors))
    if not setup.ok:
        raise SystemExit(f"{db}: setup failed: {setup.note}")
    say(f"{db}: migrated by {code} and the demo county seeded ({a.donors:,} people) in {setup.seconds:.0f} s")
    with connect(db) as c:
        d = Donors.read(c)
        k = clones if clones is not None else math.ceil(rows / d.ledger.height)
        assert k < 10_000, "at most 9,999 clones (the region code of the ID number)"
        assert d.person["certno"].str.slice(6, 11).n_unique() == d.person.height, "donors' ID numbers clash when cloned"
        tables = TABLES if ledger else ("person", "identity", "enrolment")
        renice_backend(c, os.getpriority(os.PRIO_PROCESS, 0))
        schema = Schema.read(c)
        schema.drop(c)
        t0 = time.perf_counter()
        counts = dict.fromkeys(tables, 0)
        chunks: queue.Queue[tuple[str, list[str], bytes, int] | None] = queue.Queue(maxsize=3)

        def produce() -> None:
            try:
                for item in _chunks(d, tables, k, a.full_rows):
                    chunks.put(item)
            finally:
                chunks.put(None)

        threading.Thread(target=produce, daemon=True).start()
        while (item := chunks.get()) is not None:
            table, columns, data, n = item
            pgload.copy_csv(c, table, columns, data)
            counts[table] += n
            if table == "ledger" and counts[table] // 2_000_000 != (counts[table] - n) // 2_000_000:
                say(f"  {counts[table]:,} ledger rows copied, {time.perf_counter() - t0:.0f} s")
        t_copy = time.perf_counter() - t0
        say(f"{db}: COPY of {', '.join(f'{t} {n:,}' for t, n in counts.items())} rows in {t_copy:.0f} s")
        t0 = time.perf_counter()
        schema.build(c)
        t_index = time.perf_counter() - t0
        pgload.follow_ids(c, ("person", "identity", "enrolment", "ledger"))
        say(f"{db}: constraints and indexes rebuilt in {t_index:.0f} s")
        t0 = time.perf_counter()
        c.execute("VACUUM (ANALYZE) " + ", ".join(TABLES))
        t_vacuum = time.perf_counter() - t0
        total = c.execute("SELECT count(*) FROM ledger").fetchone()
        people = c.execute("SELECT count(*) FROM person").fetchone()
        assert total and people
        info = {
            "rows": rows, "clones": k, "donors": d.person.height, "ledger_rows": int(total[0]), "persons": int(people[0]),
            "copy_s": t_copy, "index_s": t_index, "vacuum_s": t_vacuum, "setup_s": setup.seconds, "code": str(code),
            "full_rows": a.full_rows,
        }  # fmt: skip
        c.execute("CREATE TABLE ledger_scale_meta (info text)")
        c.execute("INSERT INTO ledger_scale_meta VALUES (%s)", (json.dumps(info),))
    info["size_bytes"] = db_size(db)
    say(
        f"{db}: loaded {info['ledger_rows']:,} ledger rows, {info['persons']:,} people ({k:,} clones of "
        f"{d.person.height:,}{'' if a.full_rows else '; cloned rows without trace, setldetail, fee_results'}): COPY "
        f"{t_copy:.0f} s, indexes {t_index:.0f} s, VACUUM ANALYZE {t_vacuum:.0f} s; "
        f"database size {info['size_bytes'] / 2**30:.1f} GiB"
    )
    return info


def ready(
    db: str, code: Path, rows: int, a: argparse.Namespace, *, ledger: bool = True, clones: int | None = None
) -> dict[str, Any]:
    """The database of ``rows`` loaded (reused with ``--keep`` when an earlier load finished, upgraded by ``code``)."""
    info = loaded(db) if a.keep else None
    if info is None:
        return load(db, code, rows, a, ledger=ledger, clones=clones)
    up = measure(code, "upgrade", db, a.guard_gb)
    if not up.ok:
        raise SystemExit(f"{db}: upgrade failed: {up.note}")
    info["size_bytes"] = db_size(db)
    say(
        f"{db}: kept from an earlier load ({info['ledger_rows']:,} ledger rows, {info['persons']:,} people, loaded by "
        f"{info['code']}); upgraded to {code}'s migrations in {up.seconds:.1f} s; size {info['size_bytes'] / 2**30:.1f} GiB"
    )
    return info


# ------------------------------------------------------------------ the report


def reader_line(m: Measured, rows: int) -> str:
    extra = ", ".join(f"{k} {v}" for k, v in m.info.items() if k != "upgrade_seconds")
    if not m.ok:
        return f"{m.what:<10} at {rows:>11,} ledger rows: {m.note} (peak {m.peak_gb:.1f} GB; load {m.load})"
    extra = f", {extra}" if extra else ""
    return f"{m.what:<10} at {rows:>11,} ledger rows: {m.seconds:8.1f} s, peak memory {m.peak_gb:.2f} GB{extra} (load {m.load})"


def settle_line(m: Measured, label: str) -> str:
    if not m.ok:
        return f"settle, 16 clients, {label}: {m.note} (load {m.load})"
    i = m.info
    return (
        f"settle, 16 clients, {CORES} workers, {label}: {i['rps']:.1f} settlements/s, p50 {i['p50_ms']:.1f} ms, "
        f"p99 {i['p99_ms']:.1f} ms, errors {i['errors']}, server {i['server_cores']:.2f} cores (load {m.load})"
    )


def project(points: list[tuple[int, float]], rows: int) -> float:
    """Linear in the rows through the two largest measured sizes."""
    (r1, s1), (r2, s2) = sorted(points)[-2:]
    return s2 + (s2 - s1) / (r2 - r1) * (rows - r2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000_000, help="ledger rows at least (default 20,000,000)")
    ap.add_argument("--keep", action="store_true", help="keep the databases; reuse ones an earlier run loaded")
    ap.add_argument("--code", type=Path, default=HERE.parent, help="the checkout whose src is measured (default this one)")
    ap.add_argument("--db", default="ledger_scale", help="database name prefix (default ledger_scale)")
    ap.add_argument("--small", default="", help="smaller sizes to measure the readers at too, e.g. 1000000,4000000")
    ap.add_argument("--readers", default=",".join(READERS), help="readers to time at --rows ('' for none)")
    ap.add_argument("--small-readers", default=",".join(READERS), help="readers to time at the --small sizes")
    ap.add_argument("--no-settle", dest="settle", action="store_false", help="skip the settle load")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds of settling (default 20)")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--donors", type=int, default=1000, help="people of the demo county cloned (default 1000)")
    ap.add_argument("--full-rows", action="store_true", help="cloned ledger rows keep the donors' trace and details")
    ap.add_argument("--guard-gb", type=float, default=7.5, help="resident memory that stops a measurement (default 7.5)")
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.probe:
        print("PROBE " + json.dumps(probe(a.probe, a.db, a)), flush=True)
        return
    code = a.code.resolve()
    head = subprocess.run(["git", "-C", str(code), "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    say(f"measured code: {code} ({head[:80]}); {CORES} cores, memory guard {a.guard_gb:g} GB")
    sizes = sorted({int(x) for x in a.small.split(",") if x})
    timed: dict[str, list[tuple[int, float]]] = {r: [] for r in READERS}
    results: dict[str, Any] = {}
    for rows in [*sizes, a.rows]:
        big = rows == a.rows
        db = f"{a.db}_{size_label(rows)}"
        info = ready(db, code, rows, a)
        wanted = [r for r in (a.readers if big else a.small_readers).split(",") if r]
        for r in wanted:
            m = measure(code, r, db, a.guard_gb)
            print(reader_line(m, info["ledger_rows"]), flush=True)
            if m.ok:
                timed[r].append((info["ledger_rows"], m.seconds))
                if big:
                    results[f"{r}_s"] = f"{m.seconds:.1f}"
                    if "fold_seconds" in m.info:  # the monitoring bounds' one-time fold of the whole ledger
                        results["fold_s"] = m.info["fold_seconds"]
                    for k in ("cube_fold_s", "cube_month_fold_s", "since_last_s"):  # the cube's folds, verify --since-last
                        if k in m.info:
                            results[k] = m.info[k]
            elif big:
                results[f"{r}_s"] = "over-guard" if "guard" in m.note else "failed"
        if big and a.settle:
            m = measure(code, "settle", db, a.guard_gb, "--seconds", str(a.seconds), "--warmup", str(a.warmup))
            print(settle_line(m, f"{info['ledger_rows']:,} ledger rows"), flush=True)
            empty_db = f"{db}_empty"
            ready(empty_db, code, rows, a, ledger=False, clones=info["clones"])
            e = measure(code, "settle", empty_db, a.guard_gb, "--seconds", str(a.seconds), "--warmup", str(a.warmup))
            print(settle_line(e, f"empty ledger, the same {info['persons']:,} people"), flush=True)
            for tag, x in (("", m), ("empty_", e)):
                if x.ok:
                    results[f"{tag}settle_rps"] = f"{x.info['rps']:.1f}"
                    results[f"{tag}p99_ms"] = f"{x.info['p99_ms']:.1f}"
            if not a.keep:
                pgload.drop(PG, empty_db)
        if big:
            results["rows"] = info["ledger_rows"]
            results["db_gib"] = f"{info['size_bytes'] / 2**30:.1f}"
            if "copy_s" in info:
                results["load_s"] = f"{info['copy_s'] + info['index_s'] + info['vacuum_s']:.0f}"
        if not a.keep:
            pgload.drop(PG, db)
    for r in READERS:
        measured_big = any(n >= a.rows for n, _ in timed[r])
        if len({n for n, _ in timed[r]}) >= 2 and not measured_big:
            s = project(timed[r], a.rows)
            print(f"{r:<10} at {a.rows:>11,} ledger rows: PROJECTED {s:.0f} s (linear from the measured "
                  f"{', '.join(f'{n:,} rows {t:.1f} s' for n, t in sorted(timed[r]))}; not measured at this size)")  # fmt: skip
            results[f"{r}_projected_s"] = f"{s:.0f}"
    print("RESULT ledger_scale " + " ".join(f"{k}={v}" for k, v in results.items()) + f" load={loadavg().split()[0]}")


if __name__ == "__main__":
    main()
