"""The ledger on PostgreSQL: plain (before migration 0316), partitioned by year (0316), and the year also
sub-partitioned by month (tried, not adopted): what loading, one settlement's insert, a month's monitoring read
(:func:`yibao.store.claims.from_ledger`) and a year's read cost on each.

Each layout gets a schema of its own (``bench_partitions_*``, dropped at the end) in the database of
``YIBAO_TEST_PG_URL`` (default the test server's ``test``), and the same synthetic ledger: ``--rows`` settlements of
``--year`` spread evenly over its days (one in 50 reversed), a tenth as many of the year before and after, one person
per ten settlements. Times are the best of ``--repeat`` runs. Prints the load average and a final ``RESULT`` line.

    .venv/bin/python bench/ledger_partitions.py --rows 600000
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from alembic import command
from machine import loadavg
from sqlalchemy.orm import Session

from yibao.store.claims import from_ledger
from yibao.store.db import alembic_config

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

LEDGER_ROW = """
INSERT INTO ledger (setl_id, kind, reverses, mdtrt_id, visit_seq, person_id, psn_no, fixmedins_code, year, setl_date,
    insutype, med_type, line, identity, pack_id, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt,
    inscp_scp_amt, act_pay_dedc, hifp_pay, pool_prop_selfpay, hifmi_pay, maf_pay, oth_pay, fund_pay_sumamt,
    psn_part_amt, consumed, setldetail, fee_results, trace, recorded_at, recorded_by)
SELECT {prefix} || g, {kind}, {reverses}, 'M{year}-' || g, {visit_seq}, 1 + mod(g, {people}), 'P' || (1 + mod(g, {people})),
    'H' || mod(g, 30), {year}, DATE '{year}-01-01' + mod(g, {days}), '390', '11', 'outpatient', 'ordinary', 'p',
    {sign} 10000, 0, 0, 0, {sign} 10000, 0, {sign} 6000, {sign} 4000, 0, 0, 0, {sign} 6000, {sign} 4000,
    '{{"year": {year}}}', '[]', '[]', '[]', now(), 'bench'
FROM generate_series(1, {n}) AS g {where}
"""


def _rows(year: int, n: int, people: int) -> list[str]:
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    common = {"year": year, "people": people, "days": days, "n": n}
    settle = LEDGER_ROW.format(prefix=f"'S{year}-'", kind="'settle'", reverses="NULL", visit_seq="1", sign="", where="",
                               **common)  # fmt: skip
    undo = LEDGER_ROW.format(prefix=f"'R{year}-'", kind="'reverse'", reverses=f"'S{year}-' || g", visit_seq="NULL",
                             sign="-", where="WHERE mod(g, 50) = 0", **common)  # fmt: skip
    return [settle, undo]


def _monthly(conn: sa.Connection, year: int) -> None:
    """Replace the year's partition by one sub-partitioned by month (``setl_date``), keeping its rows."""
    # a sub-partitioned year's unique keys must hold its partition key too: the primary key becomes (id, year, setl_date)
    conn.exec_driver_sql("ALTER TABLE ledger DROP CONSTRAINT ledger_pkey")
    conn.exec_driver_sql(f"ALTER TABLE ledger DETACH PARTITION ledger_y{year}")
    conn.exec_driver_sql(f"ALTER TABLE ledger_y{year} RENAME TO ledger_y{year}_old")
    conn.exec_driver_sql(
        f"CREATE TABLE ledger_y{year} PARTITION OF ledger FOR VALUES FROM ({year}) TO ({year + 1}) PARTITION BY RANGE (setl_date)"
    )
    for month in range(1, 13):
        end = date(year + (month == 12), month % 12 + 1, 1)
        conn.exec_driver_sql(
            f"CREATE TABLE ledger_y{year}m{month:02d} PARTITION OF ledger_y{year} "
            f"FOR VALUES FROM ('{date(year, month, 1)}') TO ('{end}')"
        )
    conn.exec_driver_sql("ALTER TABLE ledger DISABLE TRIGGER ledger_key_insert")  # the rows' keys are there already
    conn.exec_driver_sql(f"INSERT INTO ledger SELECT * FROM ledger_y{year}_old")
    conn.exec_driver_sql("ALTER TABLE ledger ENABLE TRIGGER ledger_key_insert")
    conn.exec_driver_sql(f"DROP TABLE ledger_y{year}_old")
    conn.exec_driver_sql("ALTER TABLE ledger ADD CONSTRAINT ledger_pkey PRIMARY KEY (id, year, setl_date)")


def _best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def _layout(name: str, revision: str, args: argparse.Namespace, out: dict[str, dict[str, float]]) -> None:
    schema = f"bench_partitions_{name}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        command.upgrade(alembic_config(engine), revision)
        people = max(args.rows // 10, 1)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO person (psn_no, certno, psn_name, gend, brdy, insutype, recorded_at, recorded_by) "
                f"SELECT 'P' || g, lpad(g::text, 18, '0'), '张三', '1', DATE '1960-01-01', '390', now(), 'bench' "
                f"FROM generate_series(1, {people}) AS g"
            )
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for year, n in ((args.year - 1, args.rows // 10), (args.year, args.rows), (args.year + 1, args.rows // 10)):
                for statement in _rows(year, n, people):
                    conn.exec_driver_sql(statement)
        load = time.perf_counter() - t0
        if name == "monthly":
            with engine.begin() as conn:
                _monthly(conn, args.year)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        total = args.rows * 1.2 * 1.02
        figures = {"load_rows_per_s": total / load}
        one = LEDGER_ROW.format(prefix="'X' || clock_timestamp()::text || '-'", kind="'settle'", reverses="NULL",
                                visit_seq="NULL", sign="", where="", year=args.year, people=people, days=365, n=1)  # fmt: skip
        inserts = 500

        def settle_like() -> None:
            for _ in range(inserts):
                with engine.begin() as conn:
                    conn.exec_driver_sql(one)

        figures["insert_ms"] = _best(args.repeat, settle_like) / inserts * 1000
        with Session(engine) as s:
            month = date(args.year, 6, 1), date(args.year, 6, 30)
            year = date(args.year, 1, 1), date(args.year, 12, 31)
            figures["month_read_s"] = _best(args.repeat, lambda: from_ledger(s, *month))
            figures["year_read_s"] = _best(args.repeat, lambda: from_ledger(s, *year))
            figures["year_sum_s"] = _best(
                args.repeat,
                lambda: s.execute(
                    sa.text("SELECT line, sum(fund_pay_sumamt) FROM ledger WHERE year = :y AND kind = 'settle' GROUP BY line"),
                    {"y": args.year},
                ).all(),
            )
        out[name] = figures
        print(f"{name:8s} " + "  ".join(f"{k} {v:,.3f}" for k, v in figures.items()), flush=True)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600_000, help="settlements of the year (default 600,000)")
    parser.add_argument("--year", type=int, default=2022)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {loadavg()}; {args.rows:,} settlements of {args.year}", flush=True)
    out: dict[str, dict[str, float]] = {}
    for name, revision in (("plain", "0315"), ("year", "0316"), ("monthly", "0316")):
        _layout(name, revision, args, out)
    print(f"load average after: {loadavg()}")
    print(
        "RESULT "
        + " ".join(
            f"{name}: month {f['month_read_s']:.3f}s year {f['year_read_s']:.3f}s insert {f['insert_ms']:.2f}ms"
            f" load {f['load_rows_per_s']:,.0f}/s;"
            for name, f in out.items()
        )
    )


if __name__ == "__main__":
    main()
