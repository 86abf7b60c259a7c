"""Running the batch engine on files: a directory of tables in, Parquet out, in person chunks.

Input directory: ``claims``, ``people``, ``identities``, ``chronic_filings``,
``cross_filings`` as ``.parquet``, ``.arrow``/``.feather`` or ``.csv`` (the synthetic county
writes Parquet). Claims must be sorted by ``psn_no`` then ``setl_date`` (``yibao synth``
writes them so); the engine streams them in chunks that never split a person, so memory
stays bounded by the chunk size whatever the file size, and the result is the same as one
pass.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.core.errors import InputError, InputErrors
from yibao.policy.pack import PolicyPack
from yibao.settlement.batch.engine import AMOUNT_COLUMNS, CLAIM_COLUMNS, BatchInput, BatchResult, settle_batch
from yibao.settlement.batch.frames import CROSS_SCHEMA, FILING_SCHEMA, IDENTITY_SCHEMA

TABLES = ("claims", "people", "identities", "chronic_filings", "cross_filings")
OPTIONAL = {"identities": IDENTITY_SCHEMA, "chronic_filings": FILING_SCHEMA, "cross_filings": CROSS_SCHEMA}
SIDE_COLUMNS = {
    "people": ("psn_no", "insutype", "emp_status", "emp_tier"),
    "identities": ("psn_no", "category", "valid_from", "valid_to"),
    "chronic_filings": ("psn_no", "dise_codg", "begin", "end"),
    "cross_filings": ("psn_no", "begin", "end"),
}
DEFAULT_CHUNK = 1_000_000
WORKERS = 2
"""Chunks settled at once (numpy and polars release the GIL, so two chunks use both cores)."""

Progress = Callable[[int, int], None]
"""Called with (claims done, claims in all)."""


def _find(directory: Path, name: str) -> Path | None:
    for ext in (".parquet", ".arrow", ".feather", ".csv"):
        p = directory / f"{name}{ext}"
        if p.exists():
            return p
    return None


def read_table(path: Path, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    if path.suffix == ".parquet":
        if columns is not None:
            present = set(pq.ParquetFile(path).schema_arrow.names)
            return pl.read_parquet(path, columns=[c for c in columns if c in present])
        return pl.read_parquet(path)
    if path.suffix in (".arrow", ".feather"):
        return pl.read_ipc(path)
    return pl.read_csv(
        path, try_parse_dates=True, schema_overrides={"psn_no": pl.Utf8, "med_type": pl.Utf8, "dise_codg": pl.Utf8}
    )


def _side_tables(directory: Path) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    for name in TABLES[1:]:
        path = _find(directory, name)
        if path is None:
            if name == "people":
                raise InputErrors([InputError(str(directory), "people", None, "a people table (people.parquet / .csv)")])
            out[name] = pl.DataFrame(schema=OPTIONAL[name])
        else:
            table = read_table(path, SIDE_COLUMNS[name])
            out[name] = table.select([c for c in SIDE_COLUMNS[name] if c in table.columns])
    return out


def read_input(directory: Path) -> BatchInput:
    claims = _find(directory, "claims")
    if claims is None:
        raise InputErrors([InputError(str(directory), "claims", None, "a claims table (claims.parquet / .arrow / .csv)")])
    side = _side_tables(directory)
    return BatchInput(read_table(claims), **side)


def _claim_chunks(path: Path, chunk: int) -> Iterator[pl.DataFrame]:
    """Chunks of at least ``chunk`` claims (or what is left), cut only where the person changes."""
    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    columns = [c for c in (*CLAIM_COLUMNS, *AMOUNT_COLUMNS) if c in names]
    batches: list[pa.RecordBatch] = []
    rows = 0
    carry: pl.DataFrame | None = None
    for batch in pf.iter_batches(batch_size=chunk, columns=columns):
        batches.append(batch)
        rows += batch.num_rows
        if rows < chunk:
            continue
        df = pl.from_arrow(pa.Table.from_batches(batches))
        assert isinstance(df, pl.DataFrame)
        batches, rows = [], 0
        if carry is not None:
            df = pl.concat([carry, df], how="vertical_relaxed")
        last = df["psn_no"][-1]
        tail_start = df.height - int((df["psn_no"] == last).sum())
        if tail_start == 0:
            carry = df
            continue
        yield df.head(tail_start)
        carry = df.slice(tail_start)
    rest = [carry] if carry is not None else []
    if batches:
        tail = pl.from_arrow(pa.Table.from_batches(batches))
        assert isinstance(tail, pl.DataFrame)
        rest.append(tail)
    if rest:
        df = pl.concat(rest, how="vertical_relaxed")
        if df.height:
            yield df


def _subset(side: dict[str, pl.DataFrame], claims: pl.DataFrame) -> BatchInput:
    """The side tables' rows for the chunk's people (a chunk holds a contiguous range of psn_no)."""
    first, last = claims["psn_no"][0], claims["psn_no"][-1]
    return BatchInput(claims, **{k: v.filter(pl.col("psn_no").is_between(pl.lit(first), pl.lit(last))) for k, v in side.items()})


@dataclass
class BatchRun:
    claims: int
    persons_years: int
    chunks: int
    out: Path
    ytd_out: Path


def run_batch(
    pack: PolicyPack, directory: Path, out: Path, chunk: int = DEFAULT_CHUNK, progress: Progress | None = None
) -> BatchRun:
    """Settle every claim in ``directory`` and write ``out`` (per claim) and ``<out>.ytd.parquet``."""
    claims_path = _find(directory, "claims")
    if claims_path is None:
        raise InputErrors([InputError(str(directory), "claims", None, "a claims table (claims.parquet / .arrow / .csv)")])
    out.parent.mkdir(parents=True, exist_ok=True)
    ytd_out = out.with_name(out.stem + ".ytd.parquet")
    tmp, tmp_ytd = out.with_name(out.name + ".tmp"), ytd_out.with_name(ytd_out.name + ".tmp")
    side = _side_tables(directory)
    if claims_path.suffix != ".parquet":
        chunks: Iterator[pl.DataFrame] = iter([read_table(claims_path)])
        total = -1
    else:
        total = pq.ParquetFile(claims_path).metadata.num_rows
        # at least one chunk per worker, so a small county uses both cores too
        chunks = _claim_chunks(claims_path, max(1, min(chunk, -(-total // WORKERS))))
    writer: pq.ParquetWriter | None = None
    ytd_parts: list[pl.DataFrame] = []
    done = n_chunks = 0
    last_psn: list[str] = []

    def settle_part(part: pl.DataFrame) -> tuple[int, BatchResult]:
        return part.height, settle_batch(pack, _subset(side, part) if total >= 0 else BatchInput(part, **side))

    def ordered_parts() -> Iterator[pl.DataFrame]:
        for part in chunks:
            first = part["psn_no"][0]
            if last_psn and first <= last_psn[0]:
                raise InputErrors(
                    [InputError(claims_path.name, "psn_no", first, f"claims sorted by psn_no (came after {last_psn[0]})")]
                )
            last_psn[:] = [part["psn_no"][-1]]
            yield part

    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            pending: deque[Future[tuple[int, BatchResult]]] = deque()
            parts = ordered_parts()
            while True:
                while len(pending) < WORKERS and (part := next(parts, None)) is not None:
                    pending.append(pool.submit(settle_part, part))
                if not pending:
                    break
                height, result = pending.popleft().result()
                table = result.claims.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="lz4", write_statistics=["claim_id", "psn_no"])
                writer.write_table(table)
                ytd_parts.append(result.year_to_date)
                done += height
                n_chunks += 1
                if progress:
                    progress(done, total if total >= 0 else done)
        if writer is not None:
            writer.close()
            writer = None
        ytd = pl.concat(ytd_parts, how="diagonal_relaxed").fill_null(0) if ytd_parts else pl.DataFrame()
        ytd.write_parquet(tmp_ytd)
        tmp.replace(out)
        tmp_ytd.replace(ytd_out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        tmp_ytd.unlink(missing_ok=True)
    return BatchRun(done, ytd.height, n_chunks, out, ytd_out)
