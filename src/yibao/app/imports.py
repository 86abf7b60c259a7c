"""Identity imports from other bureaus (民政, 乡村振兴, 退役军人, 残联, 卫健).

``import_identities(db, path, source)`` reads a bureau's Excel or CSV file through the source's
column mapping, validates every row, and applies the file as a delta in one unit of work:

- a person is one ID number: rows from several bureaus for the same 身份证号 land on one person;
  a new ID number with the same name, birth date and village as another person is flagged as a
  :class:`~yibao.store.tables.Conflict` (``same_person_other_id``) for review, never merged;
- identities are never overwritten. Each row (person, category, this bureau) is ``unchanged``,
  ``ended``, ``changed`` or ``added`` by the pure rule :func:`yibao.rules.identity_changes.classify`
  against this bureau's records of the person and category; an ended record gets valid_to and
  ended_* (by this import);
- ``snapshot_as_of``: the file is the bureau's complete roster on that day, so this bureau's open
  identities of people/categories not in it end the day before (``ended``);
- the same file (SHA-256) from the same bureau is not imported twice; a changed file only
  brings its differences, so a re-import of the same content changes nothing.

A file with any bad cell is refused whole (nothing written) and ``<file>.errors.xlsx`` lists every
bad cell and marks it in red in a copy of the sheet; with ``skip_bad`` the good rows are imported
and ``<file>.rejects.xlsx`` holds the rest. With ``dry_run`` the change report is computed and every
write rolled back (the error and reject workbooks are still written), for a preview. Existing
people and identities are loaded in bulk (IN-lists of :data:`BATCH` ID numbers), changes are
computed in Python and written with bulk inserts and updates.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import polars as pl
from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors, NotFound
from yibao.interfaces.workbooks.identity_files import write_error_workbook
from yibao.interfaces.workbooks.import_changes import changes_workbook
from yibao.interfaces.workbooks.mapping import Mapping, load_mapping
from yibao.interfaces.workbooks.sheets import ProgressFn, SheetLimits, SheetRefused, read_sheet
from yibao.interfaces.workbooks.validate import CellError, Checked, validate
from yibao.rules.identity_changes import Held, classify
from yibao.store.db import Database
from yibao.store.tables import Conflict, Identity, ImportBatch, ImportChange, Person

KIND = "identities"
BATCH = 10_000
"""ID numbers (or person ids) per IN-list when loading what the database already holds."""
PG_BATCH = 100_000
"""The same on PostgreSQL, where each batch is one array parameter (``= ANY(:values)``)."""
WRITE_CHUNK = 20_000
COPY_SLICE = 100_000
"""Rows per CSV block streamed into PostgreSQL's COPY."""
CONFLICT_KIND = "same_person_other_id"
ONE_DAY = timedelta(days=1)
T = TypeVar("T")


def default_user() -> str:
    try:
        return getpass.getuser()[:64]
    except Exception:  # no login name (containers, services)
        return "unknown"


def psn_no_for(certno: str) -> str:
    """A person number derived from the ID number (stable across databases, reveals nothing readable)."""
    return "P" + hashlib.blake2b(certno.encode("ascii"), digest_size=10).hexdigest().upper()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class ImportReport:
    """What one import did: the change report (also stored as JSON in ``import_batch.report``)."""

    status: str
    """"imported", "already_imported" (then ``batch_id`` is the earlier batch and nothing was written) or
    "dry_run" (the report of what an import would do; nothing was written, ``batch_id`` is ``None``)."""
    batch_id: int | None
    source_bureau: str
    file_name: str
    file_sha256: str
    rows_read: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    """Rows whose category the mapping marks as not an identity."""
    rows_duplicate: int = 0
    """Exact repeats of an earlier row in the same file."""
    people_new: int = 0
    people_updated: int = 0
    """Existing people whose missing county/township/village/household number the file filled in."""
    identities_added: int = 0
    identities_ended: int = 0
    identities_changed: int = 0
    identities_unchanged: int = 0
    ended_by_snapshot: int = 0
    """Of ``identities_ended``: open identities missing from a ``--snapshot`` roster."""
    conflicts: int = 0
    snapshot_as_of: date | None = None
    rejects_file: str | None = None
    recorded_by: str = ""
    seconds: float = 0.0
    rejected_unknown_person: int = 0
    """Rejected rows whose ID number is unreadable (a snapshot cannot protect those people)."""
    changes: pl.DataFrame | None = field(default=None, repr=False, compare=False)
    """The named change report (:data:`CHANGE_SCHEMA`: every person added, place filled in, identity added, ended
    or changed with before and after, look-alike flagged), also written to ``import_change``; not in
    :meth:`as_dict`."""

    @property
    def already_imported(self) -> bool:
        return self.status == "already_imported"

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "changes"}
        out["snapshot_as_of"] = self.snapshot_as_of.isoformat() if self.snapshot_as_of else None
        return out


class ImportRefused(InputErrors):
    """The file was refused: nothing was written; ``error_file`` lists every bad cell."""

    def __init__(
        self,
        cells: list[CellError],
        error_file: Path | None,
        file_name: str,
        rows_read: int = 0,
        rows_rejected: int = 0,
    ):
        self.cells = cells
        self.error_file = error_file
        self.file_name = file_name
        self.rows_read = rows_read
        self.rows_rejected = rows_rejected
        super().__init__(
            [
                InputError(f"{file_name} 第{c.row}行" if c.row else file_name, c.column, c.value, c.reason, "", c.reason_en)
                for c in cells
            ]
        )

    def render(self, lang: str = "zh", limit: int | None = None) -> str:
        shown = self.cells if limit is None else self.cells[:limit]
        lines = []
        for c in shown:
            where = (f"第{c.row}行" if lang == "zh" else f"row {c.row}") if c.row else ""
            col = f"「{c.column}」" if c.column else ""
            value = f" {c.value!r}" if c.value else ""
            lines.append(f"{where}{col}{value}: {c.reason if lang == 'zh' else c.reason_en}")
        if limit is not None and len(self.cells) > limit:
            more = len(self.cells) - limit
            lines.append(f"……另有 {more} 处错误" if lang == "zh" else f"... and {more} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render("en", limit=20)


def _out_path(path: Path, suffix: str, out_dir: Path | None) -> Path:
    return (out_dir or path.parent) / f"{path.stem}.{suffix}.xlsx"


def _earlier_batch(session: Session, sha: str, bureau: str) -> int | None:
    q = (
        select(ImportBatch.id)
        .where(ImportBatch.file_sha256 == sha, ImportBatch.source_bureau == bureau, ImportBatch.kind == KIND)
        .order_by(ImportBatch.id)
        .limit(1)
    )
    return session.execute(q).scalar()


def import_identities(
    db: Database,
    path: Path | str,
    source: str,
    *,
    mapping: Path | str | Mapping | None = None,
    skip_bad: bool = False,
    snapshot_as_of: date | None = None,
    user: str | None = None,
    progress: ProgressFn | None = None,
    out_dir: Path | None = None,
    today: date | None = None,
    dry_run: bool = False,
    limits: SheetLimits | None = None,
) -> ImportReport:
    """Import one bureau file; see the module doc. Raises :class:`ImportRefused` for a bad file.

    ``limits`` (the web window's uploads): a file whose sheet declares or holds more rows or cells is
    refused before it is read (:func:`yibao.interfaces.workbooks.sheets.read_sheet`)."""
    started = time.perf_counter()
    path = Path(path)
    m = mapping if isinstance(mapping, Mapping) else load_mapping(source, mapping)
    user = (user or default_user())[:64]
    sha = file_sha256(path)
    file_name = path.name[:255]
    base = ImportReport(status="imported", batch_id=None, source_bureau=m.source, file_name=file_name, file_sha256=sha)
    base.recorded_by, base.snapshot_as_of = user, snapshot_as_of

    with db.unit_of_work() as s:
        earlier = _earlier_batch(s, sha, m.source)
    if earlier is not None:
        base.status, base.batch_id = "already_imported", earlier
        base.seconds = time.perf_counter() - started
        return base

    try:
        sheet = read_sheet(path, m, progress, limits)
    except SheetRefused as exc:
        cells = [CellError(p.row, p.column, p.value, p.reason, p.reason_en, p.field, None) for p in exc.problems]
        out = write_error_workbook(cells, _out_path(path, "errors", out_dir), sheet=None, source=m.source)
        raise ImportRefused(cells, out, file_name) from None
    if progress is not None:
        progress("check", 0, sheet.frame.height)
    checked = validate(sheet, m, today=today)
    if progress is not None:
        progress("check", sheet.frame.height, sheet.frame.height)
    base.rows_read, base.rows_skipped, base.rows_duplicate = checked.rows_read, checked.rows_skipped, checked.rows_duplicate
    base.rows_rejected = len(checked.rejected_rows)
    base.rejected_unknown_person = checked.rejected_unknown_person
    if checked.errors and not skip_bad:
        out = write_error_workbook(checked.errors, _out_path(path, "errors", out_dir), sheet=sheet, source=m.source)
        raise ImportRefused(checked.errors, out, file_name, checked.rows_read, len(checked.rejected_rows))
    if checked.errors:
        rejects = write_error_workbook(
            checked.errors, _out_path(path, "rejects", out_dir), sheet=sheet, only_rows=checked.rejected_rows, source=m.source
        )
        base.rejects_file = str(rejects)
    if checked.good.height == 0:
        cell = CellError(sheet.header_row, "", "", "文件中没有可导入的数据行", "the file has no rows to import", "", None)
        rejects_path = Path(base.rejects_file) if base.rejects_file else None
        raise ImportRefused([*checked.errors, cell], rejects_path, file_name, checked.rows_read, len(checked.rejected_rows))

    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        earlier = _earlier_batch(s, sha, m.source)  # someone imported it meanwhile
        if earlier is not None:
            base.status, base.batch_id = "already_imported", earlier
            base.seconds = time.perf_counter() - started
            return base
        batch = ImportBatch(
            kind=KIND,
            source_bureau=m.source,
            file_name=file_name,
            file_sha256=sha,
            rows_total=checked.rows_read,
            rows_rejected=len(checked.rejected_rows),
            report="{}",
            recorded_at=now,
            recorded_by=user,
        )
        s.add(batch)
        s.flush()
        base.batch_id = batch.id
        name, raw = _driver(s)
        if name == "sqlite":  # a bigger page cache for this import only
            raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        try:
            _apply(s, base, checked, m, now, progress)
        finally:
            if name == "sqlite":
                raw.execute("PRAGMA cache_size=-2000")
        base.seconds = round(time.perf_counter() - started, 3)
        if dry_run:  # the report only: nothing of this unit of work is committed
            base.status, base.batch_id = "dry_run", None
        else:
            batch.report = json.dumps(base.as_dict(), ensure_ascii=False, sort_keys=True)
            s.commit()
    return base


PERSON_T = cast(Table, Person.__table__)
IDENTITY_T = cast(Table, Identity.__table__)
CONFLICT_T = cast(Table, Conflict.__table__)
CHANGE_T = cast(Table, ImportChange.__table__)
CHANGE_SCHEMA: dict[str, Any] = {
    "change": pl.String,
    "certno": pl.String,
    "psn_name": pl.String,
    "category": pl.String,
    "before": pl.String,
    "after": pl.String,
    "source_row": pl.Int64,
}
"""A named change report's columns (``import_change`` without its id and batch)."""
PLACE = ("county", "township", "village", "hh_no")
IDENTITY_COLS = (
    "person_id",
    "category",
    "valid_from",
    "valid_to",
    "source_bureau",
    "source_file",
    "source_row",
    "import_id",
    "recorded_at",
    "recorded_by",
)
SQLITE_CACHE_KIB = 256 * 1024
"""SQLite page cache during an import (the default 2 MB makes a million random index inserts crawl)."""


def _driver(s: Session) -> tuple[str, Any]:
    """("postgresql" | "sqlite" | other dialect name, the DB-API connection of the session's transaction)."""
    conn = s.connection()
    name = conn.dialect.name
    if name == "postgresql" and conn.dialect.driver != "psycopg":
        name = "postgresql-other"
    return name, conn.connection.driver_connection


def _fetch(
    s: Session, head: str, column: str, values: Sequence[Any], schema: dict[str, Any], equal: tuple[str, Any] | None = None
) -> pl.DataFrame:
    """``head WHERE [equal[0] = equal[1] AND] column IN values`` as a frame, a batch at a time.

    The raw driver is used so that a batch costs one statement, not one bound parameter object
    per value: IN-lists of :data:`BATCH` on SQLite, one array parameter of :data:`PG_BATCH`
    (``= ANY(%s)``) on PostgreSQL. Date columns come back as dates on both.
    """
    name, raw = _driver(s)
    rows: list[tuple[Any, ...]] = []
    eq_col, eq_val = equal if equal is not None else (None, None)
    if name == "postgresql":
        cond = f"{eq_col} = %b AND " if eq_col else ""
        with raw.cursor() as cur:
            for chunk in _chunks(values, PG_BATCH):
                cur.execute(f"{head} WHERE {cond}{column} = ANY(%b)", ((eq_val,) if eq_col else ()) + (list(chunk),))
                rows.extend(cur.fetchall())
    elif name == "sqlite":
        cond = f"{eq_col} = ? AND " if eq_col else ""
        cur = raw.cursor()
        try:
            for chunk in _chunks(values, BATCH):
                cur.execute(
                    f"{head} WHERE {cond}{column} IN ({','.join('?' * len(chunk))})", [eq_val, *chunk] if eq_col else list(chunk)
                )
                rows.extend(cur.fetchall())
        finally:
            cur.close()
    else:  # any other database: SQLAlchemy's expanding IN
        cond = f"{eq_col} = :eq AND " if eq_col else ""
        stmt = text(f"{head} WHERE {cond}{column} IN :values").bindparams(bindparam("values", expanding=True))
        for chunk in _chunks(values, BATCH):
            rows.extend(tuple(r) for r in s.execute(stmt, {"values": list(chunk), "eq": eq_val}))
    dates = [k for k, v in schema.items() if v == pl.Date]
    raw_schema = schema if name == "postgresql" else {k: (pl.String if k in dates else v) for k, v in schema.items()}
    frame = pl.DataFrame(rows, schema=raw_schema, orient="row") if rows else pl.DataFrame(schema=raw_schema)
    if name != "postgresql" and dates:
        frame = frame.with_columns(pl.col(d).str.slice(0, 10).str.to_date("%Y-%m-%d") for d in dates)
    return frame.cast(schema)  # type: ignore[arg-type]


def _bulk_insert(s: Session, table: Table, frame: pl.DataFrame) -> None:
    """Insert a frame's rows in the session's transaction: COPY on PostgreSQL, executemany on SQLite.

    Dates and timestamps go in as the dialect stores them (ISO text on SQLite, as SQLAlchemy writes
    them), so the ORM reads these rows like any other.
    """
    if frame.height == 0:
        return
    conn = s.connection()
    dialect = conn.dialect
    prep = dialect.identifier_preparer
    names = ", ".join(prep.quote(c) for c in frame.columns)
    name, raw = _driver(s)
    if name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {prep.format_table(table)} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
            for offset in range(0, frame.height, COPY_SLICE):
                copy.write(frame.slice(offset, COPY_SLICE).write_csv(include_header=False))
        return
    if name == "sqlite":
        as_text: list[pl.Expr | pl.Series] = []
        for col, dtype in frame.schema.items():
            if dtype == pl.Date:
                as_text.append(pl.col(col).dt.to_string("%Y-%m-%d"))
            elif isinstance(dtype, pl.Datetime):
                proc = table.c[col].type.dialect_impl(dialect).bind_processor(dialect)
                stored = {v: (proc(v) if proc else str(v)) for v in frame[col].unique().to_list() if v is not None}
                as_text.append(pl.col(col).replace_strict(stored, default=None, return_dtype=pl.String))
        rows = frame.with_columns(as_text) if as_text else frame
        sql = f"INSERT INTO {prep.format_table(table)} ({names}) VALUES ({', '.join('?' * frame.width)})"
        cur = raw.cursor()
        try:
            cur.executemany(sql, rows.iter_rows())
        finally:
            cur.close()
        return
    conn.execute(insert(table), frame.to_dicts())


def _reserve_ids(s: Session, table: Table, n: int) -> list[int] | None:
    """``n`` primary keys for new rows, so that they need not be read back (``None``: let the database choose).

    PostgreSQL: values of the column's sequence (safe with other sessions). SQLite: above the
    current maximum; this transaction already holds SQLite's write lock (the import batch row),
    so no one else can insert in between.
    """
    if n == 0:
        return []
    name, raw = _driver(s)
    tbl = _table(s, table)
    if name == "postgresql":
        with raw.cursor() as cur:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (tbl,))
            seq = cur.fetchone()[0]
            if seq is None:
                return None
            cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (seq, n))
            return sorted(r[0] for r in cur.fetchall())
    if name == "sqlite":
        cur = raw.cursor()
        try:
            top = cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {tbl}").fetchone()[0]
        finally:
            cur.close()
        return list(range(int(top) + 1, int(top) + 1 + n))
    return None


def _person_frame(s: Session, certnos: Sequence[str]) -> pl.DataFrame:
    """person_id, certno, name and place columns of the people the database knows among ``certnos``.

    The ID number of a record merged into another (a reviewed 同人异号, :mod:`yibao.app.conflicts`) finds the
    surviving person: what a bureau sends under either number lands on the one person."""
    head = f"SELECT COALESCE(merged_into, id), certno, psn_name, {', '.join(PLACE)} FROM {_table(s, PERSON_T)}"
    schema = {"person_id": pl.Int64, "certno": pl.String, "name_db": pl.String, **{f"{c}_db": pl.String for c in PLACE}}
    return _fetch(s, head, "certno", certnos, schema)


def period_text(valid_from: date, valid_to: date | None) -> str:
    """An identity's period as the change report writes it: ``2022-01-01 ~ 2022-06-30``, open ``2022-01-01 ~``."""
    return f"{valid_from.isoformat()} ~ {valid_to.isoformat()}" if valid_to else f"{valid_from.isoformat()} ~"


def _period_expr(vf: str, vt: str) -> pl.Expr:
    """:func:`period_text` over two date columns."""
    end = pl.col(vt).dt.to_string("%Y-%m-%d")
    return pl.concat_str([pl.col(vf).dt.to_string("%Y-%m-%d"), pl.lit(" ~"), (pl.lit(" ") + end).fill_null("")])


def _place_expr(suffix: str) -> pl.Expr:
    return pl.concat_str([pl.col(f"{c}{suffix}").fill_null("") for c in PLACE], separator="/")


def _table(s: Session, table: Table) -> str:
    return s.connection().dialect.identifier_preparer.format_table(table)


def _apply(s: Session, rep: ImportReport, checked: Checked, m: Mapping, now: datetime, progress: ProgressFn | None) -> None:
    assert rep.batch_id is not None
    batch_id, user, bureau, file_name = rep.batch_id, rep.recorded_by, m.source, rep.file_name
    good = checked.good.sort("_row")
    total = good.height
    say = progress or (lambda _stage, _done, _total: None)
    say("compare", 0, total)

    # -- who is known already (one person per ID number, whichever bureau brought them) ------
    per_person = good.group_by("certno", maintain_order=True).agg(
        pl.col("_row").first(),
        pl.col("psn_name").first(),
        pl.col("brdy").first(),
        pl.col("gend").first(),
        *(pl.col(c).drop_nulls().first() for c in PLACE),
    )
    known = _person_frame(s, sorted(set(per_person["certno"].to_list()) | checked.rejected_certnos))
    new_people = per_person.join(known, on="certno", how="anti")
    # existing people: fill in a missing county, township, village or household number
    filled = (
        per_person.join(known, on="certno", how="inner")
        .filter(pl.any_horizontal([pl.col(f"{c}_db").is_null() & pl.col(c).is_not_null() for c in PLACE]))
        .with_columns(*(pl.coalesce(f"{c}_db", c).alias(f"{c}_new") for c in PLACE))
    )
    fills = filled.select(pl.col("person_id").alias("_id"), *(pl.col(f"{c}_new").alias(c) for c in PLACE)).to_dicts()
    named: list[pl.DataFrame] = [
        filled.select(
            change=pl.lit("person_updated"),
            certno="certno",
            psn_name="name_db",
            category=pl.lit(None, pl.String),
            before=_place_expr("_db"),
            after=_place_expr("_new"),
            source_row="_row",
        )
    ]
    conflicts = _look_alikes(s, new_people, batch_id, file_name, user, now)
    say("compare", total // 10, total)

    # -- identities of known people: compare each row with this bureau's records ---------------
    head = f"SELECT id, person_id, category, valid_from, valid_to FROM {_table(s, IDENTITY_T)}"
    ident_schema = {"id": pl.Int64, "person_id": pl.Int64, "category": pl.String, "e_vf": pl.Date, "e_vt": pl.Date}
    held = _fetch(s, head, "person_id", sorted(known["person_id"].to_list()), ident_schema, ("source_bureau", bureau))
    held = held.filter(pl.col("e_vt").is_null() | (pl.col("e_vt") >= pl.col("e_vf")))  # void records never count
    rows_known = good.join(known.select("certno", "person_id"), on="certno", how="inner").select(
        "_row", "person_id", "category", "valid_from", "valid_to"
    )
    # the usual case, vectorised: one record for the key with exactly the row's dates (what
    # classify calls unchanged); the other rows go through classify one by one
    per_key = held.group_by("person_id", "category").agg(pl.len().alias("_n"), pl.col("e_vf").first(), pl.col("e_vt").first())
    matched = rows_known.join(per_key, on=["person_id", "category"], how="left")
    same = (pl.col("_n") == 1) & (pl.col("e_vf") == pl.col("valid_from")) & pl.col("e_vt").eq_missing(pl.col("valid_to"))
    unchanged = matched.filter(same.fill_null(False))
    rep.identities_unchanged = unchanged.height
    rest = matched.filter(~same.fill_null(False)).select("_row", "person_id", "category", "valid_from", "valid_to")
    existing: dict[tuple[int, str], list[Held]] = defaultdict(list)
    for rid, pid, cat, evf, evt in held.join(
        rest.select("person_id", "category").unique(), on=["person_id", "category"]
    ).iter_rows():
        existing[(pid, cat)].append(Held(rid, evf, evt))

    inserts: list[tuple[Any, ...]] = []
    ends: dict[int, dict[str, Any]] = {}

    def end(rec_id: int, valid_to: date) -> None:
        ends[rec_id] = {"_id": rec_id, "valid_to": valid_to, "ended_at": now, "ended_by": user, "ended_import_id": batch_id}

    kinds = Counter[str]()
    who = {pid: (c, nm) for pid, c, nm in known.select("person_id", "certno", "name_db").iter_rows()}
    lines: list[tuple[Any, ...]] = []
    for n, (row, pid, cat, vf, vt) in enumerate(rest.iter_rows()):
        if n % 50_000 == 0 and n:
            say("compare", total // 10 + n * 9 // 10, total)
        records = existing.get((pid, cat), [])
        change = classify(records, vf, vt)
        kinds[change.kind] += 1
        for rec_id, valid_to in change.ends:
            end(rec_id, valid_to)
        if change.insert:
            inserts.append((pid, cat, vf, vt, row))
        if change.kind != "unchanged":
            before, after = _before_after(records, change.ends, (vf, vt) if change.insert else None)
            lines.append((change.kind, *who[pid], cat, before, after, row))
    rep.identities_unchanged += kinds["unchanged"]
    rep.identities_ended += kinds["ended"]
    rep.identities_changed += kinds["changed"]
    rep.identities_added += kinds["added"] + total - rows_known.height  # every row of a new person is a new identity
    say("compare", total, total)

    # -- a complete roster: this bureau's open identities not in it end the day before ----------
    if rep.snapshot_as_of is not None:
        protected = known.filter(pl.col("certno").is_in(sorted(checked.rejected_certnos)))["person_id"].to_list()
        open_q = (
            select(Identity.id, Identity.person_id, Identity.category, Identity.valid_from)
            .where(Identity.source_bureau == bureau, Identity.valid_to.is_(None))
            .execution_options(yield_per=BATCH)
        )
        open_ids = pl.DataFrame(
            [tuple(r) for r in s.execute(open_q)],
            schema={"id": pl.Int64, "person_id": pl.Int64, "category": pl.String, "valid_from": pl.Date},
            orient="row",
        ).with_columns(_open=pl.lit(None, pl.Date), _end=pl.lit(rep.snapshot_as_of - ONE_DAY, pl.Date))
        gone = (
            open_ids.join(rows_known.select("person_id", "category").unique(), on=["person_id", "category"], how="anti")
            .filter(~pl.col("person_id").is_in(protected) & ~pl.col("id").is_in(list(ends)))
            .sort("id")
        )
        ended_on = rep.snapshot_as_of - ONE_DAY
        for rid in gone["id"].to_list():
            end(rid, ended_on)
        if gone.height:
            head = f"SELECT id, certno, psn_name FROM {_table(s, PERSON_T)}"
            named_schema = {"person_id": pl.Int64, "c": pl.String, "n": pl.String}
            names = _fetch(s, head, "id", sorted(set(gone["person_id"].to_list())), named_schema)
            named.append(
                gone.join(names, on="person_id").select(
                    change=pl.lit("ended"),
                    certno="c",
                    psn_name="n",
                    category="category",
                    before=_period_expr("valid_from", "_open"),
                    after=_period_expr("valid_from", "_end"),
                    source_row=pl.lit(None, pl.Int64),
                )
            )
        rep.identities_ended += gone.height
        rep.ended_by_snapshot = gone.height

    # -- write: people, then their ids, then identities; bulk throughout -----------------------
    new_certnos: list[str] = new_people["certno"].to_list()
    named += [
        good.join(new_people.select("certno"), on="certno", how="semi").select(
            change=pl.lit("person_added"),
            certno="certno",
            psn_name="psn_name",
            category="category",
            before=pl.lit(None, pl.String),
            after=_period_expr("valid_from", "valid_to"),
            source_row="_row",
        ),
        pl.DataFrame(lines, schema=CHANGE_SCHEMA, orient="row"),
        pl.DataFrame(
            [("conflict", c["certno"], c["psn_name"], None, None, c["other_certno"], c["source_row"]) for c in conflicts],
            schema=CHANGE_SCHEMA,
            orient="row",
        ),
    ]
    changes = (
        pl.concat([f.select(*(pl.col(k).cast(v) for k, v in CHANGE_SCHEMA.items())) for f in named])
        .with_columns(pl.col("psn_name").str.slice(0, 64), pl.col("before").str.slice(0, 255), pl.col("after").str.slice(0, 255))
        .sort("source_row", "certno", nulls_last=True, maintain_order=True)
    )
    rep.changes = changes
    writes = new_people.height + len(fills) + len(ends) + total - rows_known.height + len(inserts) + len(conflicts)
    say("write", 0, writes)
    stamp = {"recorded_at": pl.lit(now, dtype=pl.Datetime("us", "UTC")), "recorded_by": pl.lit(user, dtype=pl.String)}
    people_frame = new_people.select(
        pl.Series("psn_no", [psn_no_for(c) for c in new_certnos], dtype=pl.String),
        "certno",
        "psn_name",
        "gend",
        "brdy",
        *PLACE,
        pl.lit("390").alias("insutype"),
        **stamp,
    )
    ids = _reserve_ids(s, PERSON_T, people_frame.height)
    if ids is not None:
        people_frame = people_frame.with_columns(pl.Series("id", ids, dtype=pl.Int64))
    for offset in range(0, people_frame.height, COPY_SLICE):
        chunk = people_frame.slice(offset, COPY_SLICE)
        _bulk_insert(s, PERSON_T, chunk)
        say("write", offset + chunk.height, writes)
    done = people_frame.height
    if ids is not None:
        new_ids = people_frame.select("certno", pl.col("id").alias("person_id"))
    else:
        new_ids = _person_frame(s, new_certnos).select("certno", "person_id")
    constants = {
        "source_bureau": pl.lit(bureau, dtype=pl.String),
        "source_file": pl.lit(file_name, dtype=pl.String),
        "import_id": pl.lit(batch_id, dtype=pl.Int64),
    }
    schema = {"person_id": pl.Int64, "category": pl.String, "valid_from": pl.Date, "valid_to": pl.Date, "_row": pl.Int64}
    ident_frame = (
        pl.concat(
            [
                good.join(new_ids, on="certno", how="inner").select(*schema),
                pl.DataFrame(inserts, schema=schema, orient="row"),
            ]
        )
        .sort("_row")
        .select("person_id", "category", "valid_from", "valid_to", **constants, source_row=pl.col("_row"), **stamp)
        .select(IDENTITY_COLS)
    )
    for offset in range(0, ident_frame.height, COPY_SLICE):
        chunk = ident_frame.slice(offset, COPY_SLICE)
        _bulk_insert(s, IDENTITY_T, chunk)
        say("write", done + offset + chunk.height, writes)
    done += ident_frame.height
    steps: list[tuple[Any, list[dict[str, Any]]]] = [
        (update(PERSON_T).where(PERSON_T.c.id == bindparam("_id")), fills),
        (update(IDENTITY_T).where(IDENTITY_T.c.id == bindparam("_id")), list(ends.values())),
        (insert(CONFLICT_T), conflicts),
    ]
    for stmt, rows in steps:
        for upd_chunk in _chunks(rows, WRITE_CHUNK):
            s.connection().execute(stmt, list(upd_chunk))
            done += len(upd_chunk)
            say("write", done, writes)
    for offset in range(0, changes.height, COPY_SLICE):
        _bulk_insert(s, CHANGE_T, changes.slice(offset, COPY_SLICE).with_columns(import_id=pl.lit(batch_id, pl.Int64)))
    say("write", writes, writes)

    rep.people_new = new_people.height
    rep.people_updated = len(fills)
    rep.conflicts = len(conflicts)


def _before_after(
    records: Sequence[Held], ends: Sequence[tuple[int, date]], added: tuple[date, date | None] | None
) -> tuple[str | None, str]:
    """A classified row's before and after (:func:`period_text`): the records it ends, then as ended, and the one it adds."""
    ended = dict(ends)
    touched = [h for h in records if h.id in ended]
    before = "; ".join(period_text(h.valid_from, h.valid_to) for h in touched) or None
    after = [period_text(h.valid_from, ended[h.id]) for h in touched] + ([period_text(*added)] if added else [])
    return before, "; ".join(after)


def _look_alikes(
    s: Session, new_people: pl.DataFrame, batch_id: int, file_name: str, user: str, now: datetime
) -> list[dict[str, Any]]:
    """Conflicts for new ID numbers whose name, birth date and village match another person's.

    Candidates are fetched by name (the leading column of ``ix_person_name_brdy_village``) a
    batch at a time and matched on birth date and village here.
    """
    placed = new_people.filter(pl.col("village").is_not_null()).select("_row", "certno", "psn_name", "brdy", "village")
    if placed.height == 0:
        return []
    head = f"SELECT id, psn_name, brdy, village, certno, merged_into FROM {_table(s, PERSON_T)}"
    schema = {"id": pl.Int64, "psn_name": pl.String, "brdy": pl.Date, "village": pl.String, "other_certno": pl.String}
    names = sorted(set(placed["psn_name"].to_list()))
    found = _fetch(s, head, "psn_name", names, schema | {"merged_into": pl.Int64})
    # a record merged into another after review is that person: the survivor stands for both
    candidates = (
        found.filter(pl.col("merged_into").is_null())
        .drop("merged_into")
        .join(placed.select("psn_name", "brdy", "village").unique(), on=["psn_name", "brdy", "village"], how="semi")
    )
    others: dict[tuple[str, date, str], list[str]] = defaultdict(list)
    for _, pname, pbrdy, pvillage, other in candidates.sort("id").iter_rows():
        others[(pname, pbrdy, pvillage)].append(other)
    # only keys someone else already holds, or that two new ID numbers share, can conflict
    key = ["psn_name", "brdy", "village"]
    shared = placed.group_by(key).agg(pl.len().alias("_n")).filter(pl.col("_n") > 1).select(key)
    suspects = pl.concat([candidates.select(key), shared]).unique()
    placed = placed.join(suspects, on=key, how="semi").sort("_row")
    out: list[dict[str, Any]] = []
    for row, certno, pname, pbrdy, pvillage in placed.iter_rows():  # file order: later new ID numbers match earlier ones
        k = (pname, pbrdy, pvillage)
        for other in others[k]:
            out.append(
                {
                    "import_id": batch_id,
                    "kind": CONFLICT_KIND,
                    "certno": certno,
                    "other_certno": other,
                    "psn_name": pname,
                    "brdy": pbrdy,
                    "village": pvillage,
                    "source_file": file_name,
                    "source_row": row,
                    "status": "open",
                    "recorded_at": now,
                    "recorded_by": user,
                }
            )
        others[k].append(certno)
    return out


# ---------------------------------------------------------------------------------------------
# The named change report
# ---------------------------------------------------------------------------------------------

ChangeRow = tuple[str, str, str, str | None, str | None, str | None, int | None]
"""change, certno, psn_name, category, before, after, source_row (:data:`CHANGE_SCHEMA`)."""


def report_changes(rep: ImportReport, limit: int | None = None) -> list[ChangeRow]:
    """The named changes of a report just made (a preview's too), in file order."""
    if rep.changes is None:
        return []
    frame = rep.changes if limit is None else rep.changes.head(limit)
    return cast(list[ChangeRow], frame.select(*CHANGE_SCHEMA).rows())


def batch_changes(s: Session, batch_id: int, limit: int | None = None) -> list[ChangeRow]:
    """The named changes an import batch made, in file order."""
    c = ImportChange
    q = (
        select(c.change, c.certno, c.psn_name, c.category, c.before, c.after, c.source_row)
        .where(c.import_id == batch_id)
        .order_by(c.id)
    )
    return [cast(ChangeRow, tuple(r)) for r in s.execute(q if limit is None else q.limit(limit))]


def batch_change_count(s: Session, batch_id: int) -> int:
    return int(s.scalar(select(func.count()).select_from(ImportChange).where(ImportChange.import_id == batch_id)) or 0)


def identity_batch(s: Session, batch_id: int) -> ImportBatch:
    """An identity import batch; :class:`NotFound` for any other id."""
    b = s.get(ImportBatch, batch_id)
    if b is None or b.kind != KIND:
        raise NotFound(
            "import", "batch", batch_id, "an identity import batch", "身份数据导入的批次号", "an identity import batch"
        )
    return b


def changes_file(s: Session, batch_id: int, lang: str = "zh") -> tuple[str, bytes]:
    """The batch's change report as a workbook: (file name, bytes). Raises :class:`NotFound` for no such batch."""
    b = identity_batch(s, batch_id)
    said = f"#{b.id} · {b.source_bureau} · {b.file_name} · {b.recorded_by} · {beijing_text(b.recorded_at)}"
    title = f"身份数据导入变更报告：批次 {said}" if lang == "zh" else f"Identity import changes: batch {said}"
    data = changes_workbook([title], batch_changes(s, batch_id), lang)
    return (f"导入变更-批次{b.id}.xlsx" if lang == "zh" else f"import-changes-batch-{b.id}.xlsx"), data


# ---------------------------------------------------------------------------------------------
# Questions the registry answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldIdentity:
    category: str
    valid_from: date
    valid_to: date | None
    source_bureau: str
    source_file: str | None
    source_row: int | None
    import_id: int | None


def identities_on(session: Session, certno: str, day: date) -> list[HeldIdentity]:
    """What this person was on ``day``: the identities in force that day (as the registry knows now)."""
    q = (
        select(Identity)
        .join(Person, Person.id == Identity.person_id)
        .where(
            Person.certno == certno.strip().upper(),
            Identity.valid_from <= day,
            (Identity.valid_to.is_(None)) | (Identity.valid_to >= day),
        )
        .order_by(Identity.valid_from, Identity.id)
    )
    return [
        HeldIdentity(i.category, i.valid_from, i.valid_to, i.source_bureau, i.source_file, i.source_row, i.import_id)
        for i in session.scalars(q)
    ]
