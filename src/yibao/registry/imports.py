"""Identity imports from other bureaus (民政, 乡村振兴, 退役军人, 残联, 卫健).

``import_identities(db, path, source)`` reads a bureau's Excel or CSV file through the source's
column mapping, validates every row, and applies the file as a delta in one unit of work:

- a person is one ID number: rows from several bureaus for the same 身份证号 land on one person;
  a new ID number with the same name, birth date and village as another person is flagged as a
  :class:`~yibao.store.tables.Conflict` (``same_person_other_id``) for review, never merged;
- identities are never overwritten. For each row (person, category, this bureau):

  ========================================================  ============================================
  what the database holds (same person, category, bureau)   what happens
  ========================================================  ============================================
  a record with the same dates                              ``unchanged``
  an open record with the same start, the row has an end    ``ended``: the record gets valid_to, ended_*
  records overlapping the row's period, other dates         ``changed``: each ends the day before the
                                                            row's start (a record starting on or after it
                                                            ends before it starts: void); a new record
  nothing overlapping                                       ``added``: a new record
  ========================================================  ============================================

- ``snapshot_as_of``: the file is the bureau's complete roster on that day, so this bureau's open
  identities of people/categories not in it end the day before (``ended``);
- the same file (SHA-256) from the same bureau is not imported twice; a changed file only
  brings its differences, so a re-import of the same content changes nothing.

A file with any bad cell is refused whole (nothing written) and ``<file>.errors.xlsx`` lists every
bad cell and marks it in red in a copy of the sheet; with ``skip_bad`` the good rows are imported
and ``<file>.rejects.xlsx`` holds the rest. Existing people and identities are loaded in bulk
(IN-lists of :data:`BATCH` ID numbers), changes are computed in Python and written with bulk
inserts and updates.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import polars as pl
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from yibao.errors import InputError, InputErrors
from yibao.registry.mapping import Mapping, load_mapping
from yibao.registry.sheets import ProgressFn, Sheet, SheetRefused, read_sheet
from yibao.registry.validate import CellError, Checked, validate
from yibao.registry.workbooks import write_error_workbook
from yibao.store.db import Database
from yibao.store.tables import Conflict, Identity, ImportBatch, Person

KIND = "identities"
BATCH = 10_000
"""ID numbers (or person ids) per IN-list when loading what the database already holds."""
WRITE_CHUNK = 20_000
COPY_MIN = 100
"""From this many rows on, PostgreSQL gets COPY instead of multi-row INSERTs."""
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
    """"imported" or "already_imported" (then ``batch_id`` is the earlier batch and nothing was written)."""
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

    @property
    def already_imported(self) -> bool:
        return self.status == "already_imported"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
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
            [InputError(f"{file_name} 第{c.row}行" if c.row else file_name, c.column, c.value, c.reason) for c in cells]
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


@dataclass
class _Rec:
    id: int
    valid_from: date
    valid_to: date | None


def _overlaps(rec: _Rec, vf: date, vt: date | None) -> bool:
    return (vt is None or rec.valid_from <= vt) and (rec.valid_to is None or rec.valid_to >= vf)


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
) -> ImportReport:
    """Import one bureau file; see the module doc. Raises :class:`ImportRefused` for a bad file."""
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
        sheet = read_sheet(path, m, progress)
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
        raise ImportRefused([cell], None, file_name, checked.rows_read, len(checked.rejected_rows))

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
        _apply(s, base, checked, sheet, m, now, progress)
        base.seconds = round(time.perf_counter() - started, 3)
        batch.report = json.dumps(base.as_dict(), ensure_ascii=False, sort_keys=True)
    return base


def _bulk_insert(s: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows: COPY on PostgreSQL (psycopg), executemany elsewhere; same transaction either way."""
    if not rows:
        return
    conn = s.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg" and len(rows) >= COPY_MIN:
        prep = conn.dialect.identifier_preparer
        sql = f"COPY {prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)}) FROM STDIN"
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _person_ids(s: Session, certnos: Sequence[str], extra: Sequence[str] = ()) -> dict[str, Any]:
    """certno -> (id, certno, *extra) for the ID numbers the database knows, in IN-lists of :data:`BATCH`."""
    cols = [Person.id, Person.certno, *(getattr(Person, c) for c in extra)]
    out: dict[str, Any] = {}
    for chunk in _chunks(certnos, BATCH):
        for row in s.execute(select(*cols).where(Person.certno.in_(chunk))):
            out[row.certno] = row
    return out


PERSON_T = cast(Table, Person.__table__)
IDENTITY_T = cast(Table, Identity.__table__)
CONFLICT_T = cast(Table, Conflict.__table__)
PLACE = ("county", "township", "village", "hh_no")
PERSON_COLS = ("psn_no", "certno", "psn_name", "gend", "brdy", *PLACE, "insutype", "recorded_at", "recorded_by")
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


def _apply(
    s: Session, rep: ImportReport, checked: Checked, sheet: Sheet, m: Mapping, now: datetime, progress: ProgressFn | None
) -> None:
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
    known = _person_ids(s, sorted(set(per_person["certno"].to_list()) | checked.rejected_certnos), PLACE)
    person_id: dict[str, int] = {c: k.id for c, k in known.items()}
    known_df = pl.DataFrame(
        {"certno": list(person_id), "person_id": list(person_id.values())}, schema={"certno": pl.String, "person_id": pl.Int64}
    )
    new_people = per_person.join(known_df, on="certno", how="anti")

    # existing people: fill in a missing county, township, village or household number
    fills: list[dict[str, Any]] = []
    gaps = {c: k for c, k in known.items() if any(getattr(k, f) is None for f in PLACE)}
    if gaps:
        for p in per_person.filter(pl.col("certno").is_in(list(gaps))).iter_rows(named=True):
            k = gaps[p["certno"]]
            if any(getattr(k, f) is None and p[f] is not None for f in PLACE):
                fills.append({"_id": k.id, **{f: getattr(k, f) if getattr(k, f) is not None else p[f] for f in PLACE}})

    conflicts = _look_alikes(s, new_people, batch_id, file_name, user, now)
    say("compare", total // 10, total)

    # -- identities of known people: compare each row with what this bureau's records say ----
    existing: dict[tuple[int, str], list[_Rec]] = defaultdict(list)
    for pid_chunk in _chunks(sorted(person_id.values()), BATCH):
        iq = select(Identity.id, Identity.person_id, Identity.category, Identity.valid_from, Identity.valid_to).where(
            Identity.source_bureau == bureau, Identity.person_id.in_(pid_chunk)
        )
        for held in s.execute(iq):
            if held.valid_to is not None and held.valid_to < held.valid_from:
                continue  # void: superseded before it began
            existing[(held.person_id, held.category)].append(_Rec(held.id, held.valid_from, held.valid_to))

    inserts: list[tuple[Any, ...]] = []
    ends: dict[int, dict[str, Any]] = {}

    def end(rec_id: int, valid_to: date) -> None:
        ends[rec_id] = {"_id": rec_id, "valid_to": valid_to, "ended_at": now, "ended_by": user, "ended_import_id": batch_id}

    file_keys: set[tuple[int, str]] = set()
    rows_known = good.join(known_df, on="certno", how="inner").select("_row", "person_id", "category", "valid_from", "valid_to")
    for n, (row, pid, cat, vf, vt) in enumerate(rows_known.iter_rows()):
        if n % 50_000 == 0 and n:
            say("compare", total // 10 + n * 9 // 10, total)
        file_keys.add((pid, cat))
        recs = existing.get((pid, cat), [])
        same = next((x for x in recs if x.valid_from == vf), None)
        if same is not None and same.valid_to == vt:
            rep.identities_unchanged += 1
            continue
        if same is not None and same.valid_to is None and vt is not None:
            rep.identities_ended += 1
            end(same.id, vt)
            continue
        hit = [x for x in recs if _overlaps(x, vf, vt)]
        if hit:
            rep.identities_changed += 1
            for x in hit:
                end(x.id, vf - ONE_DAY)
        else:
            rep.identities_added += 1
        inserts.append((pid, cat, vf, vt, bureau, file_name, row, batch_id, now, user))
    rep.identities_added += total - rows_known.height  # every row of a new person is a new identity
    say("compare", total, total)

    # -- a complete roster: this bureau's open identities not in it end the day before ----------
    if rep.snapshot_as_of is not None:
        protected = {person_id[c] for c in checked.rejected_certnos if c in person_id}
        q = (
            select(Identity.id, Identity.person_id, Identity.category, Identity.valid_from)
            .where(Identity.source_bureau == bureau, Identity.valid_to.is_(None))
            .execution_options(yield_per=BATCH)
        )
        for r in s.execute(q):
            if (r.person_id, r.category) in file_keys or r.person_id in protected or r.id in ends:
                continue
            end(r.id, rep.snapshot_as_of - ONE_DAY)
            rep.identities_ended += 1
            rep.ended_by_snapshot += 1

    # -- write: people, then their ids, then identities; bulk throughout -----------------------
    new_certnos: list[str] = new_people["certno"].to_list()
    writes = new_people.height + len(fills) + len(ends) + total - rows_known.height + len(inserts) + len(conflicts)
    done = 0
    say("write", 0, writes)
    person_rows = [
        (psn_no_for(p[0]), *p, "390", now, user)
        for p in new_people.select("certno", "psn_name", "gend", "brdy", *PLACE).iter_rows()
    ]
    for chunk in _chunks(person_rows, WRITE_CHUNK):
        _bulk_insert(s, PERSON_T, PERSON_COLS, chunk)
        done += len(chunk)
        say("write", done, writes)
    new_ids = _person_ids(s, new_certnos)
    new_df = pl.DataFrame(
        {"certno": list(new_ids), "person_id": [r.id for r in new_ids.values()]},
        schema={"certno": pl.String, "person_id": pl.Int64},
    )
    new_rows = good.join(new_df, on="certno", how="inner").select("person_id", "category", "valid_from", "valid_to", "_row")
    inserts.extend(
        (pid, cat, vf, vt, bureau, file_name, row, batch_id, now, user) for pid, cat, vf, vt, row in new_rows.iter_rows()
    )
    inserts.sort(key=lambda r: r[6])  # file order
    for chunk in _chunks(inserts, WRITE_CHUNK):
        _bulk_insert(s, IDENTITY_T, IDENTITY_COLS, chunk)
        done += len(chunk)
        say("write", done, writes)
    steps: list[tuple[Any, list[dict[str, Any]]]] = [
        (update(PERSON_T).where(PERSON_T.c.id == bindparam("_id")), fills),
        (update(IDENTITY_T).where(IDENTITY_T.c.id == bindparam("_id")), list(ends.values())),
    ]
    for stmt, rows in steps:
        for upd_chunk in _chunks(rows, WRITE_CHUNK):
            s.connection().execute(stmt, list(upd_chunk))
            done += len(upd_chunk)
            say("write", done, writes)
    for conflict_chunk in _chunks(conflicts, WRITE_CHUNK):
        s.connection().execute(insert(CONFLICT_T), list(conflict_chunk))
    say("write", writes, writes)

    rep.people_new = new_people.height
    rep.people_updated = len(fills)
    rep.conflicts = len(conflicts)


def _look_alikes(
    s: Session, new_people: pl.DataFrame, batch_id: int, file_name: str, user: str, now: datetime
) -> list[dict[str, Any]]:
    """Conflicts for new ID numbers whose name, birth date and village match another person's.

    Candidates are fetched by name (the leading column of ``ix_person_name_brdy_village``) in
    IN-lists and matched on birth date and village here.
    """
    placed = new_people.filter(pl.col("village").is_not_null()).select("_row", "certno", "psn_name", "brdy", "village")
    if placed.height == 0:
        return []
    keys = set(placed.select("psn_name", "brdy", "village").iter_rows())
    others: dict[tuple[str, date, str], list[str]] = defaultdict(list)
    for chunk in _chunks(sorted({k[0] for k in keys}), BATCH):
        q = (
            select(Person.psn_name, Person.brdy, Person.village, Person.certno)
            .where(Person.psn_name.in_(chunk))
            .order_by(Person.id)
        )
        for r in s.execute(q):
            key = (r.psn_name, r.brdy, r.village)
            if key in keys:
                others[key].append(r.certno)
    out: list[dict[str, Any]] = []
    for row, certno, name, brdy, village in placed.iter_rows():  # file order: later new ID numbers match earlier ones
        key = (name, brdy, village)
        for other in others[key]:
            out.append(
                {
                    "import_id": batch_id,
                    "kind": CONFLICT_KIND,
                    "certno": certno,
                    "other_certno": other,
                    "psn_name": name,
                    "brdy": brdy,
                    "village": village,
                    "source_file": file_name,
                    "source_row": row,
                    "status": "open",
                    "recorded_at": now,
                    "recorded_by": user,
                }
            )
        others[key].append(certno)
    return out


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
