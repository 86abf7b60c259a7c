"""What runs inside one Spark partition: Arrow batches in, the batch engine's rows out (no Spark import here).

The driver (:mod:`yibao.distributed.batch`) unions the claims and every side table into one frame of
*tagged rows*: ``psn_no``, the table's number ``_t`` (its place in :data:`yibao.settlement.batch.io.TABLES`),
the sort keys ``_d`` (a claim's settlement date), ``_f`` and ``_r`` (the file and row it came from), and
one struct column per table holding the row itself (null in the other tables' rows). It hash-partitions
that frame by ``psn_no`` and sorts each partition by ``psn_no, _d, _f, _r``, so a person's claims and
side rows are together, claims in the order the native engine takes them (person, date, file order).

:func:`settle_partition` reads the partition's batches, cuts them into chunks of about ``chunk`` rows that
never split a person, and settles each chunk with the very ``settle_batch`` of ``yibao batch`` (one
compiled pass per person-year on Arrow columns: no Python per row). Its output rows are tagged too
(:data:`OUT_CLAIM`, :data:`OUT_YTD`, :data:`OUT_COUNT`, :data:`OUT_ERROR`), one struct column per kind.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from yibao.core.errors import InputError, InputErrors
from yibao.policy.pack import PolicyPack
from yibao.settlement.batch.engine import BatchInput, PackTables, pack_tables, settle_batch
from yibao.settlement.batch.io import OPTIONAL, TABLES, in_scope
from yibao.settlement.batch.result import STORED, with_derived

OUT_CLAIM, OUT_YTD, OUT_COUNT, OUT_ERROR = 0, 1, 2, 3
"""The kinds of output row: a settled claim, a person-year's accumulators, a chunk's counts, a refusal."""
TOTALS = ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt")
"""The run's totals the command line prints (summed per chunk from the claims with their derived columns)."""
DEFAULT_CHUNK = 200_000
"""Tagged rows settled at once within a partition (about a tenth of them side rows on a synthetic county)."""


def ytd_columns(prepared: PackTables) -> list[str]:
    """The year-to-date columns a run on this pack writes (one schema for every chunk: the pack's slots)."""
    from yibao.settlement.batch import kernel

    empty = np.zeros(0, np.int64)
    paid = kernel.settle_claims(prepared.tables, kernel.Claims(**{f.name: empty for f in fields(kernel.Claims)}))
    return ["psn_no", "year", *paid.ytd_columns(prepared.tables)]


def out_schema(ytd: list[str]) -> pa.Schema:
    """The Arrow schema of the partition function's output (Spark's types: plain strings, int64 fen)."""
    text = {"claim_id", "psn_no", "med_type", "line", "identity", "captn_town"}
    claim = pa.struct([
        (name, pa.string() if name in text else pa.date32() if name == "setl_date" else pa.int64()) for name in STORED
    ])  # fmt: skip
    year = pa.struct([(name, pa.string() if name == "psn_no" else pa.int32() if name == "year" else pa.int64()) for name in ytd])
    count = pa.struct([("insutype", pa.string()), ("people", pa.int64()), ("claims", pa.int64())])
    totals = pa.struct([(name, pa.int64()) for name in TOTALS])
    return pa.schema([("_k", pa.int8()), ("c", claim), ("y", year), ("n", count), ("s", totals), ("e", pa.binary())])


@dataclass(frozen=True)
class Job:
    """What every partition needs, shipped to the executors pickled with the function."""

    pack: PolicyPack
    prepared: PackTables
    present: frozenset[str]
    """The tables the input has (absent optional ones are empty, as in ``run_batch``)."""
    schema: pa.Schema
    chunk: int = DEFAULT_CHUNK

    @classmethod
    def make(cls, pack: PolicyPack, present: Iterable[str], chunk: int = DEFAULT_CHUNK) -> Job:
        prepared = pack_tables(pack)
        return cls(pack, prepared, frozenset(present), out_schema(ytd_columns(prepared)), chunk)


def _rows(table: pa.Table, name: str) -> pl.DataFrame:
    """The rows of table ``name`` among the tagged rows, as the table's own columns."""
    if name not in table.column_names:
        return pl.DataFrame(schema=OPTIONAL[name])
    mask = pc.equal(table.column("_t"), TABLES.index(name))
    struct = table.filter(mask).column(name).combine_chunks()
    if isinstance(struct, pa.ChunkedArray):  # an empty selection combines to a chunked array of no chunks
        struct = pa.array([], type=struct.type)
    children = struct.flatten()
    frame = pl.from_arrow(pa.Table.from_arrays(children, names=[f.name for f in struct.type]))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _tagged(kind: int, column: str, table: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """``table`` as output rows of ``kind``: its columns in the struct ``column``, the other structs null."""
    n = table.num_rows
    arrays = []
    for f in schema:
        if f.name == "_k":
            arrays.append(pa.array(np.full(n, kind, np.int8)))
        elif f.name == column and not pa.types.is_struct(f.type):
            arrays.append(table.column(column).combine_chunks().cast(f.type))
        elif f.name == column:
            cast = table.select([g.name for g in f.type]).cast(pa.schema(list(f.type)))
            arrays.append(pa.StructArray.from_arrays([c.combine_chunks() for c in cast.columns], fields=list(f.type)))
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _error(exc: InputError | InputErrors, schema: pa.Schema) -> pa.RecordBatch:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    said = [(e.where, e.field, e.value, e.expected, e.expected_zh, e.expected_en) for e in errors]
    return _tagged(OUT_ERROR, "e", pa.table({"e": pa.array([pickle.dumps(said)], pa.binary())}), schema)


def refusal(blobs: Iterable[bytes]) -> InputErrors:
    """The partitions' refusals (:data:`OUT_ERROR` rows) as one error for the driver to raise."""
    errors = [InputError(*said) for blob in blobs for said in pickle.loads(blob)]
    return InputErrors(errors)


def settle_chunk(table: pa.Table, job: Job) -> Iterator[pa.RecordBatch]:
    """One chunk of tagged rows (whole persons) settled: its claims, person-years and counts."""
    frames = {name: _rows(table, name) if name in job.present else pl.DataFrame(schema=OPTIONAL[name]) for name in TABLES}
    claims, side = frames.pop("claims"), frames
    if claims.height == 0:
        return
    part, left_out = in_scope(claims, side["people"], job.pack.schemes())
    counts: list[tuple[str | None, int, int]] = [(scheme, people, n) for scheme, (people, n) in left_out.items()]
    if part.height:
        result = settle_batch(job.pack, BatchInput(part, **side), job.prepared, derived=False)
        stored = result.claims.select(STORED)
        yield _tagged(OUT_CLAIM, "c", stored.to_arrow(), job.schema)
        yield _tagged(OUT_YTD, "y", result.year_to_date.to_arrow(), job.schema)
        sums = with_derived(stored.lazy()).select(pl.col(c).sum() for c in TOTALS).collect()
        yield _tagged(OUT_COUNT, "s", sums.to_arrow(), job.schema)
        counts.append((None, result.year_to_date.height, part.height))  # the settled: person-years and claims
    if counts:
        rows = pa.table({
            "insutype": pa.array([c[0] for c in counts], pa.string()),
            "people": pa.array([c[1] for c in counts], pa.int64()),
            "claims": pa.array([c[2] for c in counts], pa.int64()),
        })  # fmt: skip
        yield _tagged(OUT_COUNT, "n", rows, job.schema)


def settle_partition(batches: Iterator[pa.RecordBatch], job: Job) -> Iterator[pa.RecordBatch]:
    """Every person of a partition settled, chunk by chunk (``mapInArrow``'s function, with ``job`` bound).
    A refusal (bad input) is one :data:`OUT_ERROR` row and ends the partition."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            rows += batch.num_rows
            if rows < job.chunk:
                continue
            table = pa.Table.from_batches(pending)
            psn = pl.Series(table.column("psn_no").combine_chunks())
            cut = int(psn.search_sorted(psn[-1], side="left"))  # the last person may go on in the next batch
            if cut == 0:
                continue
            yield from settle_chunk(table.slice(0, cut), job)
            rest = table.slice(cut)
            pending, rows = rest.to_batches(), rest.num_rows
        if pending:
            yield from settle_chunk(pa.Table.from_batches(pending), job)
    except (InputError, InputErrors) as exc:
        yield _error(exc, job.schema)
