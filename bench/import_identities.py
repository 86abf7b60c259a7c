"""Benchmark: identity imports of a bureau's million-row file, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_identities.py --rows 1000000 --xlsx-rows 100000

Generates a synthetic county (:mod:`yibao.synth`) large enough for ``--rows`` 乡村振兴 roster
rows, writes the roster on 30 June as a CSV with the bureau's Chinese headers (and the first
``--xlsx-rows`` as an .xlsx), plus the roster a month later (the county's July changes). Then,
on a fresh SQLite file and a fresh PostgreSQL schema, times:

1. the first import (every row a new person and a new identity);
2. the month-later roster (every row compared, a few thousand changes);
3. the first file again (refused as already imported: nothing to do);

and, on SQLite, the .xlsx. It checks the counts (people and identities in the database equal
the file's) before printing rows per second. ``--pg-url`` names the PostgreSQL database
(default ``YIBAO_TEST_PG_URL`` or the local ``test`` database); ``--no-pg`` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from openpyxl import Workbook

from yibao import synth
from yibao.app.imports import ImportReport, import_identities
from yibao.store.db import Database, make_engine, upgrade
from yibao.store.tables import Identity, Person
from yibao.synth.bureau_rosters import bureau_roster

BUREAU = "乡村振兴"
AS_OF, LATER = date(2022, 6, 30), date(2022, 7, 31)
ROWS_PER_PERSON = 0.188
"""乡村振兴 roster rows per synthetic person on 30 June (脱贫 + 监测 + 返贫致贫), a little under."""
PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HEADERS = {
    "township": "乡（镇）",
    "village": "行政村",
    "hh_no": "户编号",
    "psn_name": "成员姓名",
    "certno": "证件号码",
    "category": "户类型",
    "valid_from": "识别时间",
    "valid_to": "风险消除时间",
}
LABELS = {"tuopin": "脱贫户", "jiance": "脱贫不稳定户", "fanpin": "返贫致贫户", "pinkun": "建档立卡贫困户"}


def bureau_frame(roster: pl.DataFrame) -> pl.DataFrame:
    """The roster with the bureau's headers and category names, dates as text."""
    return roster.select(
        pl.int_range(1, roster.height + 1).alias("序号"),
        *(pl.col(c).alias(h) for c, h in HEADERS.items() if c not in ("category", "valid_from", "valid_to")),
        pl.col("category").replace_strict(LABELS).alias(HEADERS["category"]),
        pl.col("valid_from").dt.strftime("%Y/%-m/%-d").alias(HEADERS["valid_from"]),
        pl.col("valid_to").dt.strftime("%Y/%-m/%-d").alias(HEADERS["valid_to"]),
        pl.lit("").alias("联系电话"),
    )


def write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    """As Excel writes it: shared strings and a <dimension> element (openpyxl's write-only mode has neither)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(["临翔区防止返贫监测对象和脱贫人口信息表"])
    ws.append(frame.columns)
    for row in frame.iter_rows():
        ws.append(list(row))
    wb.save(path)


@contextmanager
def sqlite_db(folder: Path, name: str) -> Iterator[Database]:
    url = f"sqlite:///{folder / name}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield Database(engine)
    finally:
        engine.dispose()


@contextmanager
def pg_db(url: str) -> Iterator[Database]:
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    try:
        yield Database(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def timed(db: Database, path: Path, **kw: Any) -> tuple[ImportReport, float]:
    t0 = time.perf_counter()
    rep = import_identities(db, path, BUREAU, user="bench", **kw)
    return rep, time.perf_counter() - t0


def table_counts(db: Database) -> tuple[int, int]:
    with db.unit_of_work() as s:
        people = s.scalar(sa.select(sa.func.count()).select_from(Person)) or 0
        idents = s.scalar(sa.select(sa.func.count()).select_from(Identity)) or 0
    return int(people), int(idents)


def run_db(label: str, db: Database, first: Path, later: Path, first_rows: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    rep, secs = timed(db, first)
    people, idents = table_counts(db)
    expected_people = first_rows["certno"].n_unique()
    assert (rep.rows_read, rep.rows_rejected, rep.identities_added) == (first_rows.height, 0, first_rows.height), rep
    assert (people, idents) == (expected_people, first_rows.height), (people, idents)
    out.append({"db": label, "step": "first import", "rows": rep.rows_read, "seconds": secs, "report": rep.as_dict()})
    print(
        f"  {label}: first import  {rep.rows_read:>9,} rows in {secs:6.1f} s = {rep.rows_read / secs:>8,.0f} rows/s", flush=True
    )
    rep, secs = timed(db, later)
    out.append({"db": label, "step": "month later", "rows": rep.rows_read, "seconds": secs, "report": rep.as_dict()})
    print(
        f"  {label}: month later   {rep.rows_read:>9,} rows in {secs:6.1f} s = {rep.rows_read / secs:>8,.0f} rows/s"
        f"  (added {rep.identities_added:,}, ended {rep.identities_ended:,}, changed {rep.identities_changed:,},"
        f" unchanged {rep.identities_unchanged:,}, people new {rep.people_new:,})",
        flush=True,
    )
    rep, secs = timed(db, first)
    assert rep.already_imported
    out.append({"db": label, "step": "same file again", "rows": 0, "seconds": secs, "report": rep.as_dict()})
    print(f"  {label}: same file again: already imported as batch #{rep.batch_id} in {secs:.2f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000, help="0: no .xlsx run")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="folder for the files and the SQLite database (default: a temp dir)")
    ap.add_argument("--json", type=Path, default=None, help="write the timings here")
    args = ap.parse_args()

    folder = args.out or Path(tempfile.mkdtemp(prefix="yibao-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    persons = int(args.rows / ROWS_PER_PERSON) + 1000
    t0 = time.perf_counter()
    county = synth.generate(persons, 2022, args.seed)
    roster = bureau_roster(county, BUREAU, AS_OF).head(args.rows)
    keep = roster.select("certno").unique()
    later = bureau_roster(county, BUREAU, LATER).join(keep, on="certno", how="semi")
    later = pl.concat([later, bureau_roster(county, BUREAU, LATER).join(keep, on="certno", how="anti").head(5_000)])
    del county
    print(f"synthetic county: {persons:,} people, {roster.height:,} roster rows ({time.perf_counter() - t0:.1f} s)")
    if roster.height < args.rows:
        raise SystemExit(f"only {roster.height:,} rows; raise ROWS_PER_PERSON's margin")

    first_csv, later_csv = folder / "xiangcun-2022-06-30.csv", folder / "xiangcun-2022-07-31.csv"
    bureau_frame(roster).write_csv(first_csv)
    bureau_frame(later).write_csv(later_csv)
    print(f"files: {first_csv} ({first_csv.stat().st_size / 1e6:.0f} MB), {later_csv}")

    results: list[dict[str, Any]] = []
    print(f"\n{args.rows:,}-row CSV, SQLite file:")
    with sqlite_db(folder, f"bench-{uuid.uuid4().hex[:6]}.db") as db:
        results += run_db("sqlite", db, first_csv, later_csv, roster)
    if not args.no_pg:
        print(f"\n{args.rows:,}-row CSV, PostgreSQL (fresh schema):")
        with pg_db(args.pg_url) as db:
            results += run_db("postgresql", db, first_csv, later_csv, roster)
    if args.xlsx_rows:
        small = roster.head(args.xlsx_rows)
        xlsx = folder / "xiangcun-2022-06-30.xlsx"
        write_xlsx(bureau_frame(small), xlsx)
        print(f"\n{small.height:,}-row .xlsx ({xlsx.stat().st_size / 1e6:.0f} MB), SQLite:")
        with sqlite_db(folder, f"bench-xlsx-{uuid.uuid4().hex[:6]}.db") as db:
            rep, secs = timed(db, xlsx)
            assert rep.identities_added == small.height
            results.append({"db": "sqlite", "step": "xlsx first import", "rows": rep.rows_read, "seconds": secs})
            print(f"  sqlite: xlsx import   {rep.rows_read:>9,} rows in {secs:6.1f} s = {rep.rows_read / secs:>8,.0f} rows/s")
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
