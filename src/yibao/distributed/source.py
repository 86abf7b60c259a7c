"""Where a Spark run's tables come from: a folder of Parquet datasets, or tables of a metastore (Hive).

``SOURCE`` is either a folder (local, ``hdfs://…``, ``s3a://…``: whatever Hadoop reads) holding, as
``yibao synth`` writes them, ``claims.parquet``, ``people.parquet``, ``identities.parquet`` … — each a
Parquet file or a folder of Parquet files, with or without the ``.parquet`` ending — or ``table:DB``
(tables ``DB.claims``, ``DB.people``, ``DB.identities`` …) or ``table:DB.PREFIX`` (``DB.PREFIX_claims``,
``DB.PREFIX_people`` …). The tables and their columns are those of ``yibao batch``
(:mod:`yibao.settlement.batch.io`): claims and people must be there, the other tables are optional.
"""

from __future__ import annotations

from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from yibao.core.errors import InputError, InputErrors
from yibao.settlement.batch.engine import AMOUNT_COLUMNS, CLAIM_COLUMNS
from yibao.settlement.batch.io import FILE_NAMES, OPTIONAL_CLAIM_COLUMNS, SIDE_COLUMNS, TABLES

TABLE = "table:"


def hadoop_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """Hadoop's file system for ``path`` and the path as Hadoop's object (local, HDFS, S3 …)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def exists(spark: SparkSession, path: str) -> bool:
    fs, p = hadoop_path(spark, path)
    return bool(fs.exists(p))


def _table_name(source: str, name: str) -> str:
    db, dot, prefix = source.removeprefix(TABLE).partition(".")
    return f"{db}.{prefix}_{name}" if dot else f"{db}.{name}"


def _find(spark: SparkSession, source: str, name: str) -> DataFrame | None:
    """Table ``name`` of ``source`` as Spark reads it, or None when the source has no such table."""
    file = FILE_NAMES.get(name, name)
    if source.startswith(TABLE):
        table = _table_name(source, file)
        return spark.table(table) if spark.catalog.tableExists(table) else None
    for candidate in (f"{source.rstrip('/')}/{file}.parquet", f"{source.rstrip('/')}/{file}"):
        if exists(spark, candidate):
            return spark.read.parquet(candidate)
    return None


def _where(source: str, name: str) -> str:
    file = FILE_NAMES.get(name, name)
    return _table_name(source, file) if source.startswith(TABLE) else f"{source.rstrip('/')}/{file}.parquet"


def _with_order(frame: DataFrame) -> DataFrame:
    """The frame with ``_f`` and ``_r``, the file and row each row came from (file order; for a table whose rows
    have no file, such as a Hive SerDe table, the order Spark reads them in)."""
    try:
        ordered = frame.withColumns({"_f": F.col("_metadata.file_path"), "_r": F.col("_metadata.row_index")})
        ordered.schema  # noqa: B018 - analysed here, so a source without the file metadata falls back
        return ordered
    except AnalysisException:
        return frame.withColumns({"_f": F.lit(""), "_r": F.monotonically_increasing_id()})


def read_tables(spark: SparkSession, source: str) -> dict[str, DataFrame]:
    """The source's tables (those it has), each with the columns ``yibao batch`` reads and ``_f``, ``_r``."""
    found: dict[str, DataFrame] = {}
    for name in TABLES:
        frame = _find(spark, source, name)
        if frame is None:
            if name in ("claims", "people"):
                where = _where(source, name)
                if name == "claims":
                    raise InputErrors([InputError(source, name, None, f"a claims table ({where})")])
                raise InputErrors([InputError(source, name, None, f"a people table ({where})")])
            continue
        wanted = (*CLAIM_COLUMNS, *AMOUNT_COLUMNS, *OPTIONAL_CLAIM_COLUMNS) if name == "claims" else SIDE_COLUMNS[name]
        required = CLAIM_COLUMNS if name == "claims" else ("psn_no",)
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise InputErrors(
                [InputError(_where(source, name), "columns", frame.columns, f"columns {list(required)}; missing {missing}")]
            )
        found[name] = _with_order(frame.select([c for c in wanted if c in frame.columns]))
    return found


def read_people(spark: SparkSession, source: str) -> DataFrame:
    """The people table with every column (what-if reads incomes and schemes from it)."""
    frame = _find(spark, source, "people")
    if frame is None:
        raise InputErrors([InputError(source, "people", None, f"a people table ({_where(source, 'people')})")])
    return frame
