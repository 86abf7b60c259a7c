"""Running the batch engine on files: a directory of tables in, Parquet out, in person chunks.

Input directory: ``claims`` (optionally with ``fixmedins_code``, ``major_dise_flag`` and ``township``, the
township group of the claim's institution for capitation), ``people`` (optionally with ``birth_date`` or ``brdy``,
employees' ``acct_balance`` in fen, and ``township`` / ``signed_township`` for capitation), ``identities``,
``chronic_filings``, ``cross_filings``, ``resident_tiers`` (psn_no, tier 1/2, begin, end),
``institution_choices`` (psn_no, fixmedins_code, role designated/linked/signed, begin, end; the
engine's ``institutions`` table, named apart from a county's list of hospitals, ``institutions``), ``family_doctor``
(psn_no, begin, end) as
``.parquet``, ``.arrow``/``.feather`` or ``.csv`` (the synthetic county writes Parquet). Claims
must be sorted by ``psn_no`` then ``setl_date`` (``yibao synth`` writes them so).

A Parquet claims file is cut into chunks of about ``chunk`` rows that never split a person:
chunk *i* is nominally rows ``[i·chunk, (i+1)·chunk)``, and each boundary moves forward to the
first row whose person differs from the row before it (:func:`_chunk`) — a rule both neighbours
apply alone, so the chunks cover every row exactly once without any planning pass. ``WORKERS``
threads each read their own chunk (polars, a row slice of the file), take the side tables' rows
for the chunk's persons, settle, and turn the result into Arrow tables; the main thread only
writes the finished chunks in order (pyarrow's writer releases the GIL) and never holds more than
``WORKERS + 1`` chunks. A side table that is Parquet with row groups in ``psn_no`` order (as
``yibao synth`` writes them) is read per chunk, only the row groups whose ``psn_no`` statistics
overlap the chunk's persons; any other side table is read once, sorted by ``psn_no``, and sliced
per chunk by binary search. So memory is bounded by the chunk size and the row-group size, not
by the number of claims or persons (the README's performance section states the bound). The
result is the same as one pass.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from threading import Thread
from typing import Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t
from yibao.core.vocab import INSUTYPES, label
from yibao.policy.pack import PolicyPack
from yibao.settlement.batch.engine import (
    AMOUNT_COLUMNS,
    CLAIM_COLUMNS,
    BatchInput,
    PackTables,
    pack_tables,
    settle_batch,
    warm_up,
)
from yibao.settlement.batch.frames import CROSS_SCHEMA, FILING_SCHEMA, IDENTITY_SCHEMA
from yibao.settlement.batch.prepare import FAMILY_DOCTOR_SCHEMA, INSTITUTION_SCHEMA, PERSON_TOWNSHIPS, RESIDENT_TIER_SCHEMA
from yibao.settlement.batch.result import STORED, ytd_path

TABLES = ("claims", "people", "identities", "chronic_filings", "cross_filings", "resident_tiers", "institutions", "family_doctor")
OPTIONAL = {
    "identities": IDENTITY_SCHEMA,
    "chronic_filings": FILING_SCHEMA,
    "cross_filings": CROSS_SCHEMA,
    "resident_tiers": RESIDENT_TIER_SCHEMA,
    "institutions": INSTITUTION_SCHEMA,
    "family_doctor": FAMILY_DOCTOR_SCHEMA,
}
FILE_NAMES = {"institutions": "institution_choices"}
"""Tables whose file is named apart from the table: a county directory's ``institutions`` file is
its list of hospitals (``yibao synth``), not the people's chosen and signed institutions."""
SIDE_COLUMNS = {
    "people": ("psn_no", "insutype", "emp_status", "emp_tier", "birth_date", "brdy", "acct_balance", *PERSON_TOWNSHIPS),
    "resident_tiers": ("psn_no", "tier", "begin", "end"),
    "institutions": ("psn_no", "fixmedins_code", "role", "begin", "end"),
    "family_doctor": ("psn_no", "begin", "end"),
    "identities": ("psn_no", "category", "valid_from", "valid_to"),
    "chronic_filings": ("psn_no", "dise_codg", "begin", "end"),
    "cross_filings": ("psn_no", "begin", "end", "kind"),
}
OPTIONAL_CLAIM_COLUMNS = ("fixmedins_code", "major_dise_flag", "township")
"""Claim columns read when present (the institution, the 重特大疾病 flag, the institution's township group)."""
TEXT_COLUMNS = ("psn_no", "med_type", "dise_codg", "fixmedins_code", *PERSON_TOWNSHIPS)
"""Columns a CSV file holds as text whatever they look like (codes and names that may be all digits)."""
DEFAULT_CHUNK = 1_000_000
WORKERS = 2
"""Chunks settled at once (numpy, numba, polars and pyarrow release the GIL, so two chunks use both cores)."""
_PAD = 4096
"""Rows read past a chunk's nominal end to find where its last person ends (more are read if needed)."""
_WRITE = {
    "compression": "lz4",
    "use_dictionary": ["psn_no", "setl_date", "med_type", "line", "identity", "captn_town"],
    "write_statistics": ["claim_id", "psn_no"],
}
"""Result file options: lz4; dictionaries only for the columns with few values (a dictionary on the
claim key or the amounts costs more CPU than it saves bytes); statistics on the keys a reader filters by."""
_WRITE_YTD = {"compression": "lz4", "use_dictionary": ["year"], "write_statistics": ["psn_no", "year"]}
"""Year-to-date file options: the same choices (its accumulators are many and mostly distinct or zero)."""

Progress = Callable[[int, int], None]
"""Called with (claims done, claims in all)."""


def _find(directory: Path, name: str) -> Path | None:
    for ext in (".parquet", ".arrow", ".feather", ".csv"):
        p = directory / f"{name}{ext}"
        if p.exists():
            return p
    return None


def _parquet_columns(path: Path, columns: tuple[str, ...]) -> list[str]:
    present = set(pq.ParquetFile(path).schema_arrow.names)
    return [c for c in columns if c in present]


def read_table(path: Path, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path, columns=_parquet_columns(path, columns) if columns is not None else None)
    if path.suffix in (".arrow", ".feather"):
        return pl.read_ipc(path)
    return pl.read_csv(path, try_parse_dates=True, schema_overrides={name: pl.Utf8 for name in TEXT_COLUMNS})


# ---------------------------------------------------------------- side tables, per chunk


class _Side(Protocol):
    def rows(self, first: str, last: str) -> pl.DataFrame:
        """The table's rows whose ``psn_no`` is in ``[first, last]``."""
        ...


@dataclass
class _InMemory:
    """A side table held whole, sorted by ``psn_no``: a chunk's rows are a slice found by binary search."""

    table: pl.DataFrame

    def rows(self, first: str, last: str) -> pl.DataFrame:
        psn = self.table["psn_no"]
        lo = int(psn.search_sorted(first, side="left"))
        hi = int(psn.search_sorted(last, side="right"))
        return self.table.slice(lo, max(hi - lo, 0))


@dataclass
class _SortedParquet:
    """A Parquet side table whose row groups are in ``psn_no`` order: a chunk reads only the row
    groups whose ``psn_no`` statistics overlap its persons (a row slice of the file)."""

    path: Path
    columns: list[str]
    offsets: list[int]  # first row of each row group, and the row count at the end
    mins: list[str]
    maxs: list[str]

    @classmethod
    def open(cls, path: Path, columns: tuple[str, ...]) -> _SortedParquet | None:
        """The table, or None when its row groups lack ``psn_no`` statistics or overlap."""
        meta = pq.ParquetFile(path).metadata
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if "psn_no" not in names:
            return None
        col = names.index("psn_no")
        offsets: list[int] = [0]
        mins: list[str] = []
        maxs: list[str] = []
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            stats = rg.column(col).statistics
            if rg.num_rows == 0:
                continue
            if stats is None or not stats.has_min_max or not isinstance(stats.min, str) or not isinstance(stats.max, str):
                return None
            if maxs and stats.min < maxs[-1]:
                return None  # not in psn_no order: reading per chunk would read everything every time
            offsets.append(offsets[-1] + rg.num_rows)
            mins.append(stats.min)
            maxs.append(stats.max)
        return cls(path, _parquet_columns(path, columns), offsets, mins, maxs)

    def rows(self, first: str, last: str) -> pl.DataFrame:
        a = bisect_left(self.maxs, first)  # the first row group that may hold ``first`` or later
        b = bisect_right(self.mins, last)  # row groups from b on start after ``last``
        lf = pl.scan_parquet(self.path).select(self.columns)
        if a >= b:
            return lf.head(0).collect()
        lo, hi = self.offsets[a], self.offsets[b]
        return lf.slice(lo, hi - lo).filter(pl.col("psn_no").is_between(pl.lit(first), pl.lit(last))).collect()


def _side_table(directory: Path, name: str) -> _Side:
    path = _find(directory, FILE_NAMES.get(name, name))
    if path is None:
        if name == "people":
            raise InputErrors([InputError(str(directory), "people", None, "a people table (people.parquet / .csv)")])
        return _InMemory(pl.DataFrame(schema=OPTIONAL[name]))
    if path.suffix == ".parquet" and (sorted_file := _SortedParquet.open(path, SIDE_COLUMNS[name])) is not None:
        return sorted_file
    table = read_table(path, SIDE_COLUMNS[name])
    table = table.select([c for c in SIDE_COLUMNS[name] if c in table.columns])
    return _InMemory(table.sort("psn_no", maintain_order=True))


def _side_tables(directory: Path) -> dict[str, _Side]:
    return {name: _side_table(directory, name) for name in TABLES[1:]}


def read_input(directory: Path) -> BatchInput:
    """Every table of ``directory`` whole, for one in-memory ``settle_batch``."""
    claims = _find(directory, "claims")
    if claims is None:
        raise InputErrors([InputError(str(directory), "claims", None, "a claims table (claims.parquet / .arrow / .csv)")])
    side = {}
    for name in TABLES[1:]:
        path = _find(directory, FILE_NAMES.get(name, name))
        if path is None and name == "people":
            raise InputErrors([InputError(str(directory), "people", None, "a people table (people.parquet / .csv)")])
        table = pl.DataFrame(schema=OPTIONAL[name]) if path is None else read_table(path, SIDE_COLUMNS[name])
        side[name] = table.select([c for c in SIDE_COLUMNS[name] if c in table.columns])
    return BatchInput(read_table(claims), **side)


# ---------------------------------------------------------------- claims, per chunk


class _Claims:
    """The claims table as row slices: a Parquet file read slice by slice, anything else read whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frame: pl.DataFrame | None = None
        if path.suffix == ".parquet":
            self.columns = _parquet_columns(path, (*CLAIM_COLUMNS, *AMOUNT_COLUMNS, *OPTIONAL_CLAIM_COLUMNS))
            self.n = pq.ParquetFile(path).metadata.num_rows
        else:
            self.frame = read_table(path)
            self.n = self.frame.height

    def read(self, lo: int, hi: int) -> pl.DataFrame:
        if self.frame is not None:
            return self.frame.slice(lo, hi - lo)
        return pl.scan_parquet(self.path).select(self.columns).slice(lo, hi - lo).collect()


def _change(psn: pl.Series, at: int) -> int | None:
    """The first index ``>= at`` whose ``psn_no`` differs from the one at ``at - 1`` (None: none in ``psn``)."""
    differs = psn.slice(at).ne_missing(psn[at - 1])
    i = differs.arg_max()
    return None if i is None or not differs[i] else at + int(i)


def _chunk(claims: _Claims, b0: int, b1: int) -> pl.DataFrame:
    """Rows ``[cut(b0), cut(b1))``, where ``cut(b)`` is the first row ``>= b`` whose person differs
    from row ``b - 1``'s (``cut(0) = 0``, ``cut(n) = n``): no person is split, and neighbouring
    chunks, each computing their shared boundary alone, meet exactly (empty when one person fills
    the whole range: the chunk where that person starts holds all of their claims)."""
    n = claims.n
    lo = max(b0 - 1, 0)
    hi = min(b1 + _PAD, n)
    df = claims.read(lo, hi)
    start = 0 if b0 == 0 else _change(df["psn_no"], b0 - lo)
    if start is None:  # the person before b0 runs past b1 (and past what was read): an earlier chunk has them
        return df.head(0)
    end: int | None = df.height if b1 >= n else _change(df["psn_no"], b1 - lo)
    while end is None:  # the last person runs past what was read: read on
        more = claims.read(hi, min(hi + max(_PAD, hi - lo), n))
        hi += more.height
        df = pl.concat([df, more])
        end = df.height if hi >= n else _change(df["psn_no"], b1 - lo)
    return df.slice(start, end - start)


# ---------------------------------------------------------------- the run


@dataclass
class BatchRun:
    claims: int
    persons_years: int
    chunks: int
    out: Path
    ytd_out: Path
    not_covered: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per scheme (``insutype``) the pack does not cover, the people and claims left out: a residents-only pack
    settles a county's residents, and its employees' claims are not settled (they belong to no fund of the pack)."""


def not_covered_text(not_covered: dict[str, tuple[int, int]], pack_id: str, lang: str) -> str:
    """What a run left out because the pack does not cover those people's scheme (``""`` when nothing was)."""
    said = []
    for scheme, (people_n, claims_n) in sorted(not_covered.items()):
        name = label(INSUTYPES, scheme, lang)
        said.append(
            t(
                lang,
                f"政策包 {pack_id} 不含{name}（{scheme}）：该险种 {people_n:,} 人的 {claims_n:,} 笔单据"
                "不在本政策包范围内，未结算。",
                f"Pack {pack_id} does not cover {name} ({scheme}): "
                f"{claims_n:,} claims of its {people_n:,} people were not settled.",
            )
        )
    return " ".join(said)


def in_scope(
    part: pl.DataFrame, people: pl.DataFrame, schemes: frozenset[str]
) -> tuple[pl.DataFrame, dict[str, tuple[int, int]]]:
    """The claims of people of the pack's ``schemes``, and per other scheme (people, claims) left out."""
    if "insutype" not in people.columns:
        return part, {}
    outside = people.filter(~pl.col("insutype").cast(pl.Utf8).is_in(sorted(schemes))).select(
        "psn_no", pl.col("insutype").cast(pl.Utf8)
    )
    if outside.height == 0:
        return part, {}
    left = part.select("psn_no").join(outside, on="psn_no")
    counts = left.group_by("insutype").agg(pl.col("psn_no").n_unique().alias("people"), pl.len().alias("claims"))
    kept = part.join(outside.select("psn_no"), on="psn_no", how="anti")
    return kept, {r["insutype"]: (int(r["people"]), int(r["claims"])) for r in counts.iter_rows(named=True)}


@dataclass
class _Settled:
    """One chunk, settled and ready to write."""

    claims: int
    first: str | None
    last: str | None
    rows: pa.Table | None
    ytd: pa.Table | None
    left_out: dict[str, tuple[int, int]] = field(default_factory=dict)


class _OrderedWriter:
    """Appends tables to one Parquet file, each cast to the first one's schema."""

    def __init__(self, path: Path, **options: object) -> None:
        self.path, self.options = path, options
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self.writer is None or self.schema is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, table.schema, **self.options)
        elif table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        self.writer.write_table(table, row_group_size=max(table.num_rows, 1))

    def close(self, empty: pl.DataFrame) -> None:
        if self.writer is None:
            empty.write_parquet(self.path)
        else:
            self.writer.close()
            self.writer = None


_EMPTY_RESULT = {
    **dict.fromkeys(STORED, pl.Int64),
    **dict.fromkeys(("claim_id", "psn_no", "med_type", "line", "identity", "captn_town"), pl.Utf8),
    "setl_date": pl.Date,
}


def run_batch(
    pack: PolicyPack, directory: Path, out: Path, chunk: int = DEFAULT_CHUNK, progress: Progress | None = None
) -> BatchRun:
    """Settle every claim in ``directory`` and write ``out`` (per claim; read it with
    :func:`yibao.settlement.batch.result.read_result`) and ``<out stem>.ytd.parquet`` (per person-year).
    Claims of people whose scheme the pack does not cover are left out and counted
    (:attr:`BatchRun.not_covered`). On any error nothing is left at either path."""
    claims_path = _find(directory, "claims")
    if claims_path is None:
        raise InputErrors([InputError(str(directory), "claims", None, "a claims table (claims.parquet / .arrow / .csv)")])
    claims = _Claims(claims_path)
    side = _side_tables(directory)
    out.parent.mkdir(parents=True, exist_ok=True)
    ytd_out = ytd_path(out)
    tmp, tmp_ytd = out.with_name(out.name + ".tmp"), ytd_out.with_name(ytd_out.name + ".tmp")
    total = claims.n
    # at least one chunk per worker, so a small county uses both cores too; a file not in Parquet is one chunk.
    # The first chunk is half a chunk: the workers finish half a chunk apart, so one chunk is written while
    # the other is settled, and at the end only the last chunk's write is left.
    size = max(1, min(chunk, -(-total // WORKERS))) if claims.frame is None else max(total, 1)
    bounds = sorted({0, *range(size // 2 or size, total, size), total})

    def settle_chunk(i: int) -> _Settled:
        part = _chunk(claims, bounds[i], bounds[i + 1])
        if part.height == 0:
            return _Settled(0, None, None, None, None)
        psn = part["psn_no"]
        first, last = str(psn.min()), str(psn.max())
        tables = {name: t.rows(first, last) for name, t in side.items()}
        part, left_out = in_scope(part, tables["people"], schemes)
        if part.height == 0:
            return _Settled(0, None, None, None, None, left_out)
        result = settle_batch(pack, BatchInput(part, **tables), prepared, derived=False)
        return _Settled(
            part.height, first, last, result.claims.select(STORED).to_arrow(), result.year_to_date.to_arrow(), left_out
        )

    # the kernel compiles (first run) or loads from its cache while the first chunks are read and prepared
    prepared = pack_tables(pack)  # the parameter tables, once for every chunk
    schemes = pack.schemes()
    not_covered: dict[str, tuple[int, int]] = {}
    compiling = Thread(target=_warm_up, args=(prepared,), name="batch-compile", daemon=True)
    compiling.start()
    rows_out, ytd_writer = _OrderedWriter(tmp, **_WRITE), _OrderedWriter(tmp_ytd, **_WRITE_YTD)
    done = n_chunks = persons_years = 0
    last_psn: str | None = None
    pending: deque[Future[_Settled]] = deque()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="batch") as pool:
            try:
                submitted = 0
                while True:
                    while submitted < len(bounds) - 1 and len(pending) <= WORKERS:
                        pending.append(pool.submit(settle_chunk, submitted))
                        submitted += 1
                    if not pending:
                        break
                    s = pending.popleft().result()
                    for scheme, (people_n, claims_n) in s.left_out.items():
                        before = not_covered.get(scheme, (0, 0))
                        not_covered[scheme] = (before[0] + people_n, before[1] + claims_n)
                    if s.rows is None or s.ytd is None:
                        continue
                    if last_psn is not None and s.first is not None and s.first <= last_psn:
                        raise InputErrors(
                            [InputError(claims_path.name, "psn_no", s.first, f"claims sorted by psn_no (came after {last_psn})")]
                        )
                    last_psn = s.last
                    rows_out.write(s.rows)
                    ytd_writer.write(s.ytd)
                    done += s.claims
                    persons_years += s.ytd.num_rows
                    n_chunks += 1
                    if progress:
                        progress(done + sum(c for _, c in not_covered.values()), total)
            finally:
                for f in pending:
                    f.cancel()
        rows_out.close(pl.DataFrame(schema=_EMPTY_RESULT))
        ytd_writer.close(pl.DataFrame(schema={"psn_no": pl.Utf8, "year": pl.Int32}))
        tmp.replace(out)
        tmp_ytd.replace(ytd_out)
    finally:
        for w in (rows_out, ytd_writer):
            if w.writer is not None:
                w.writer.close()
        tmp.unlink(missing_ok=True)
        tmp_ytd.unlink(missing_ok=True)
        compiling.join()
    return BatchRun(done, persons_years, n_chunks, out, ytd_out, not_covered)


def _warm_up(pack: PackTables) -> None:
    with suppress(Exception):  # the chunks' own first call compiles again and reports the error where it belongs
        warm_up(pack)
