"""``yibao batch --engine spark``: the batch engine on Apache Spark, fen-identical to the native engine.

:func:`settle_spark` reads the claims and side tables (:mod:`yibao.distributed.source`), tags each
table's rows and unions them, hash-partitions the union by ``psn_no`` (a person's claims and every
side row of theirs land in the same partition), sorts each partition by person, date and file order,
and runs :func:`yibao.distributed.partition.settle_partition` on it with ``mapInArrow``: the same
``settle_batch`` as ``yibao batch`` on Arrow batches, the pack shipped to the executors pickled. The
settled rows are kept (memory and disk) so the claims and the year-to-date rows are written from one
settlement; a refusal in any partition (bad input) is raised on the driver before anything is written.

:func:`run_batch_spark` writes them as two Parquet datasets (a folder of part files, one per partition):
``OUT`` with the columns of ``yibao batch``'s result file and ``<OUT stem>.ytd.parquet`` with its
year-to-date columns, written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import polars as pl
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from yibao.distributed.partition import (
    DEFAULT_CHUNK,
    OUT_CLAIM,
    OUT_COUNT,
    OUT_ERROR,
    OUT_YTD,
    TOTALS,
    Job,
    refusal,
    settle_partition,
)
from yibao.distributed.source import exists, hadoop_path, read_people, read_tables
from yibao.policy.pack import PolicyPack
from yibao.settlement.batch.engine import enum_values
from yibao.settlement.batch.io import TABLES
from yibao.settlement.batch.result import with_derived, ytd_location

COMPRESSION = "lz4_raw"


LOCAL_DEFAULTS = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}
"""Settings a ``local[N]`` session gets unless given: the JVM's quick (C1) compiler only. A local run lasts
seconds to minutes, much of which the optimising compiler spent warming up (on 100,000 claims it shortened the
session's start and usually the run; ``bench/spark_local.py``)."""


def local_cores(master: str | None) -> int | None:
    """The cores of a ``local``, ``local[N]`` or ``local[*]`` master (None: not local mode)."""
    if master is None or (master != "local" and not master.startswith("local[")):
        return None
    inside = master.partition("[")[2].partition("]")[0].partition(",")[0]
    if inside in ("", "*"):
        return (os.cpu_count() or 1) if inside == "*" else 1
    return int(inside) if inside.isdigit() else None


def settings(master: str | None, partitions: int | None, conf: Mapping[str, str] | None) -> dict[str, str]:
    """The session's settings: ``conf``, ``partitions`` as the shuffle's partitions and, with a ``local[N]``
    master, what those leave unset of :data:`LOCAL_DEFAULTS` and N shuffle partitions (one per core, not
    Spark's 200)."""
    out = dict(conf or {})
    cores = local_cores(master)
    if partitions or cores:
        out.setdefault("spark.sql.shuffle.partitions", str(partitions or cores))
    for key, value in (LOCAL_DEFAULTS if cores else {}).items():
        out.setdefault(key, value)
    return out


def session(master: str | None = None, partitions: int | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The Spark session (an existing one, e.g. under ``spark-submit``, is reused with its settings).

    ``master``: ``local[N]``, ``spark://host:7077``, ``yarn`` … (None: ``spark-submit``'s or Spark's default);
    ``partitions``: the shuffle's partitions; ``conf``: any other Spark settings (see :func:`settings` for the
    defaults of local mode). The executors' Python is ``spark.pyspark.python`` when given, else
    ``PYSPARK_PYTHON``, else this interpreter (right for local mode and for a cluster whose nodes have this
    environment at the same path)."""
    conf = settings(master, partitions, conf)
    if "spark.pyspark.python" in conf:
        os.environ["PYSPARK_PYTHON"] = conf["spark.pyspark.python"]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("yibao batch")
    if master:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _tagged_rows(tables: dict[str, DataFrame]) -> DataFrame:
    """One frame of every table's rows: ``psn_no``, ``_t``, ``_d``, ``_f``, ``_r`` and one struct per table."""
    structs = {name: StructType([f for f in frame.schema.fields if f.name not in ("_f", "_r")]) for name, frame in tables.items()}
    parts = []
    for i, name in enumerate(TABLES):
        if name not in tables:
            continue
        frame = tables[name]
        parts.append(
            frame.select(
                F.col("psn_no").cast("string").alias("psn_no"),
                F.lit(i).cast("byte").alias("_t"),
                (F.col("setl_date") if name == "claims" else F.lit(None)).cast("date").alias("_d"),
                F.col("_f").cast("string").alias("_f"),
                F.col("_r").cast("long").alias("_r"),
                *(
                    F.struct(*(F.col(f.name) for f in structs[other].fields)).alias(other)
                    if other == name
                    else F.lit(None).cast(structs[other]).alias(other)
                    for other in tables
                ),
            )
        )
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union


@dataclass
class Settled:
    """A settlement on Spark, kept until :meth:`release`: the claims, the person-years and the counts."""

    claims: DataFrame
    """The result file's columns (``yibao.settlement.batch.result.STORED``), one row per claim."""
    year_to_date: DataFrame
    rows: DataFrame
    job: Job
    claims_n: int
    persons_years: int
    partitions: int
    not_covered: dict[str, tuple[int, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def release(self) -> None:
        self.rows.unpersist()

    def claims_frame(self) -> pl.DataFrame:
        """Every settled claim on the driver with the derived columns: ``read_result``'s frame of the native
        engine's file (its enumerations, its order: person, then date and file order)."""
        frame = pl.from_arrow(self.claims.toArrow())
        assert isinstance(frame, pl.DataFrame)
        enums = [pl.col(name).cast(pl.Enum(values)) for name, values in enum_values(self.job.prepared).items()]
        return with_derived(frame.with_columns(enums).lazy()).collect().sort("psn_no", maintain_order=True)


def settle_spark(
    spark: SparkSession, pack: PolicyPack, source: str, partitions: int | None = None, chunk: int = DEFAULT_CHUNK
) -> Settled:
    """Settle every claim of ``source`` on ``pack`` (see the module's text); InputErrors if the input is refused."""
    tables = read_tables(spark, source)
    job = Job.make(pack, tables, chunk)
    tagged = _tagged_rows(tables)
    spread = tagged.repartition(partitions, "psn_no") if partitions else tagged.repartition("psn_no")
    ordered = spread.sortWithinPartitions("psn_no", "_d", "_f", "_r")
    rows = ordered.mapInArrow(partial(settle_partition, job=job), from_arrow_schema(job.schema))
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        small = rows.filter(F.col("_k") >= OUT_COUNT).select("_k", "n", "s", "e").collect()  # settles all, keeps it
        errors = [r["e"] for r in small if r["_k"] == OUT_ERROR]
        if errors:
            raise refusal(errors)
    except BaseException:
        rows.unpersist()
        raise
    settled = Settled(
        rows.filter(F.col("_k") == OUT_CLAIM).select("c.*"),
        rows.filter(F.col("_k") == OUT_YTD).select("y.*"),
        rows,
        job,
        0,
        0,
        rows.rdd.getNumPartitions(),
        totals=dict.fromkeys(TOTALS, 0),
    )
    for r in small:
        if r["n"] is not None:
            scheme, people, claims = r["n"]["insutype"], int(r["n"]["people"]), int(r["n"]["claims"])
            if scheme is None:
                settled.persons_years += people
                settled.claims_n += claims
            else:
                before = settled.not_covered.get(scheme, (0, 0))
                settled.not_covered[scheme] = (before[0] + people, before[1] + claims)
        if r["s"] is not None:
            for name in TOTALS:
                settled.totals[name] += int(r["s"][name])
    return settled


@dataclass
class SparkRun:
    """What :func:`run_batch_spark` did (the native engine's ``BatchRun``, with the totals it printed)."""

    claims: int
    persons_years: int
    partitions: int
    out: str
    ytd_out: str
    not_covered: dict[str, tuple[int, int]]
    totals: dict[str, int]


def _write(frame: DataFrame, spark: SparkSession, path: str) -> None:
    """``frame`` as a Parquet dataset at ``path``, written under a temporary name and renamed when complete."""
    tmp = f"{path.rstrip('/')}.tmp-{secrets.token_hex(6)}"
    fs, target = hadoop_path(spark, path)
    _, staged = hadoop_path(spark, tmp)
    try:
        frame.write.mode("overwrite").option("compression", COMPRESSION).parquet(tmp)
        if exists(spark, path):
            fs.delete(target, True)
        if not fs.rename(staged, target):
            raise OSError(f"could not rename {tmp} to {path}")
    finally:
        if exists(spark, tmp):
            fs.delete(staged, True)


def run_batch_spark(
    pack: PolicyPack,
    source: str,
    out: str,
    master: str | None = None,
    partitions: int | None = None,
    conf: Mapping[str, str] | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> SparkRun:
    """Settle ``source`` on Spark and write ``out`` (per claim) and ``<out stem>.ytd.parquet`` (per person-year),
    each a folder of Parquet part files with the native engine's columns. Claims of people whose scheme the pack
    does not cover are left out and counted, as ``run_batch`` does. On bad input nothing is written."""
    spark = session(master, partitions, conf)
    settled = settle_spark(spark, pack, source, partitions, chunk)
    try:
        ytd_out = ytd_location(out)
        _write(settled.claims, spark, out)
        _write(settled.year_to_date, spark, ytd_out)
    finally:
        settled.release()
    return SparkRun(
        settled.claims_n, settled.persons_years, settled.partitions, out, ytd_out, settled.not_covered, settled.totals
    )


def people_frame(spark: SparkSession, source: str) -> pl.DataFrame:
    """The source's people table on the driver (for the what-if comparison)."""
    frame = pl.from_arrow(read_people(spark, source).toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame
