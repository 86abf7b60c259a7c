"""Bulk-load a synthetic county (``yibao synth``) into the registry: people, identities, enrolments, filings, and
its institutions (their names are what reports and slips show; a township hospital's and its village clinics'
``township`` when the file has that column).

For the demo database and for runs on a synthetic county: one transaction, bulk inserts (COPY on
PostgreSQL), the identities recorded under one import batch (kind ``synth``).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from yibao.app.enrolment import check_user
from yibao.app.institutions import checked_townships
from yibao.core.errors import InputError
from yibao.store.db import Database
from yibao.store.service_tables import Institution
from yibao.store.tables import ChronicFiling, CrossFiling, Enrolment, Identity, ImportBatch, Person


@dataclass(frozen=True)
class LoadResult:
    folder: str
    persons: int
    identities: int
    enrolments: int
    chronic_filings: int
    cross_filings: int
    year: int
    seconds: float
    import_id: int
    rows: dict[str, int] = field(default_factory=dict)
    institutions: int = 0
    """Institutions added (those not yet known)."""


_SYNTH_FILES = ("people", "identities", "enrolments", "chronic_filings", "cross_filings")


def _read_synth(folder: Path) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(str(folder), "manifest.json", None, "a folder written by `yibao synth` (manifest.json, Parquet files)")
    try:
        meta = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(manifest_path), "(file)", str(exc)[:80], "a readable JSON manifest") from None
    frames: dict[str, pl.DataFrame] = {}
    for name in _SYNTH_FILES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise InputError(str(folder), f"{name}.parquet", None, "present (every file `yibao synth` writes)")
        try:
            df = pl.read_parquet(path)
        except Exception as exc:  # any reader failure: a bad file for the clerk
            raise InputError(str(path), "(file)", str(exc)[:80], "a readable Parquet file") from None
        frames[name] = df.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
    return meta, frames


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("manifest.json", *(f"{n}.parquet" for n in _SYNTH_FILES)):
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def _insert(conn: sa.Connection, table: sa.Table, df: pl.DataFrame) -> None:
    """Bulk insert a frame whose columns are the table's: COPY on PostgreSQL, executemany elsewhere."""
    if df.height == 0:
        return
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        cols = ", ".join(quote(c) for c in df.columns)
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {quote(table.name)} ({cols}) FROM STDIN") as copy:
            for row in df.iter_rows():
                copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        # the text forms SQLAlchemy's SQLite types store (Date: 2022-01-31; DateTime:
        # 2022-01-31 08:00:00.000000), made by Polars for whole columns instead of row by row
        text = df.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"), pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        quote = conn.dialect.identifier_preparer.quote
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in df.columns)}) "
            f"VALUES ({', '.join('?' for _ in df.columns)})"
        )
        for chunk in text.iter_slices(100_000):
            conn.exec_driver_sql(sql, chunk.rows())
        return
    for chunk in df.iter_slices(50_000):
        conn.execute(table.insert(), chunk.to_dicts())


def load_synth(db: Database, county_dir: str | Path, user: str) -> LoadResult:
    """Bulk-load a synthetic county (``yibao synth``): people, identities, enrolments, filings.

    One transaction; nothing is written when the folder is incomplete or any of its people is
    already in the registry. The identities are recorded under one import batch (kind
    ``synth``) naming the folder and a SHA-256 of its files. Claims are not loaded (they are
    settled by the batch engine from the Parquet file). Premiums are not priced: run
    :func:`enrol` with a pack afterwards.
    """
    started = time.perf_counter()
    user = check_user(user)
    folder = Path(county_dir)
    meta, f = _read_synth(folder)
    people = f["people"]
    now = datetime.now(UTC)
    where = str(folder)
    with db.engine.begin() as conn:
        existing = pl.DataFrame(
            conn.execute(sa.select(Person.psn_no, Person.certno)).all(), schema=["psn_no", "certno"], orient="row"
        )
        clash = people.filter(
            pl.col("psn_no").is_in(existing["psn_no"].to_list()) | pl.col("certno").is_in(existing["certno"].to_list())
        )
        if clash.height:
            raise InputError(
                where,
                "psn_no/certno",
                clash["psn_no"].head(3).to_list(),
                f"people not yet in the registry ({clash.height} of {people.height} already are: loaded before?)",
            )
        stamp = [pl.lit(now).alias("recorded_at"), pl.lit(user).alias("recorded_by")]
        person_cols = [c.name for c in Person.__table__.columns if c.name not in ("id", "merged_into")]
        optional = [pl.lit(None, dtype=pl.Date).alias("death_date")] if "death_date" not in people.columns else []
        persons = people.with_columns(pl.lit(None, dtype=pl.String).alias("psn_type"), *optional, *stamp).select(person_cols)
        _insert(conn, Person.__table__, persons)  # type: ignore[arg-type]
        new_ids = pl.DataFrame(
            conn.execute(sa.select(Person.id, Person.psn_no)).all(),
            schema={"person_id": pl.Int64, "psn_no": pl.String},
            orient="row",
        ).join(people.select("psn_no"), on="psn_no", how="semi")
        idents = f["identities"]
        report = {
            "generator": meta.get("generator"),
            "persons": people.height,
            "year": meta.get("year"),
            "seed": meta.get("seed"),
            "rows": {name: df.height for name, df in f.items()},
        }
        inserted = conn.execute(
            sa.insert(ImportBatch).values(
                kind="synth",
                source_bureau="合成数据",
                file_name=str(folder)[-255:],
                file_sha256=_digest(folder),
                rows_total=idents.height,
                rows_rejected=0,
                report=json.dumps(report, ensure_ascii=False, sort_keys=True),
                recorded_at=now,
                recorded_by=user,
            )
        ).inserted_primary_key
        assert inserted is not None
        import_id = int(inserted[0])

        def with_person(df: pl.DataFrame) -> pl.DataFrame:
            return df.join(new_ids, on="psn_no", how="left", maintain_order="left")

        identity = with_person(idents.with_row_index("source_row", offset=1)).select(
            "person_id",
            "category",
            "valid_from",
            "valid_to",
            "source_bureau",
            pl.lit("identities.parquet").alias("source_file"),
            pl.col("source_row").cast(pl.Int64),
            pl.lit(import_id, dtype=pl.Int64).alias("import_id"),
            *stamp,
        )
        _insert(conn, Identity.__table__, identity)  # type: ignore[arg-type]
        enrol_df = with_person(f["enrolments"]).select(
            "person_id",
            pl.col("year").cast(pl.Int64),
            "insutype",
            "psn_insu_stas",
            "special_status",
            pl.when(pl.col("special_status").is_not_null())
            .then(pl.lit(f"合成数据 synthetic county {folder.name}"))
            .otherwise(None)
            .alias("evidence"),
            *(pl.lit(0, dtype=pl.Int64).alias(c) for c in ("premium", "individual", "assistance_subsidy", "fiscal_subsidy")),
            *stamp,
        )
        _insert(conn, Enrolment.__table__, enrol_df)  # type: ignore[arg-type]
        chronic = with_person(f["chronic_filings"]).select("person_id", "dise_codg", "begin", "end", *stamp)
        _insert(conn, ChronicFiling.__table__, chronic)  # type: ignore[arg-type]
        kind = [pl.col("kind").fill_null("")] if "kind" in f["cross_filings"].columns else []  # the filing kind, when given
        cross = with_person(f["cross_filings"]).select("person_id", "begin", "end", *kind, *stamp)
        _insert(conn, CrossFiling.__table__, cross)  # type: ignore[arg-type]
        institutions = _new_institutions(conn, folder)
        _insert(conn, Institution.__table__, institutions)  # type: ignore[arg-type]
    years = f["enrolments"]["year"].unique().to_list()
    return LoadResult(
        folder=str(folder),
        persons=people.height,
        identities=idents.height,
        enrolments=enrol_df.height,
        chronic_filings=chronic.height,
        cross_filings=cross.height,
        year=int(years[0]) if years else int(meta.get("year", 0)),
        seconds=time.perf_counter() - started,
        import_id=import_id,
        rows=report["rows"],  # type: ignore[arg-type]
        institutions=institutions.height,
    )


INSTITUTION_COLUMNS = ("fixmedins_code", "fixmedins_name", "hosp_lv", "place", "admdvs")


def _new_institutions(conn: sa.Connection, folder: Path) -> pl.DataFrame:
    """The county's institutions (``institutions.parquet``, when the folder has it) not yet in the database."""
    path = folder / "institutions.parquet"
    if not path.is_file():
        return pl.DataFrame(schema={c: pl.Int64 if c == "hosp_lv" else pl.String for c in INSTITUTION_COLUMNS})
    try:
        df = pl.read_parquet(path).with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
    except Exception as exc:  # any reader failure: a bad file for the clerk
        raise InputError(str(path), "(file)", str(exc)[:80], "a readable Parquet file") from None
    known = set(conn.execute(sa.select(Institution.fixmedins_code)).scalars())
    df = checked_townships(df.with_columns(pl.col(pl.Null).cast(pl.String)), str(path))
    columns = [*INSTITUTION_COLUMNS, *(["township"] if "township" in df.columns else [])]  # a capitation township's group
    return df.select(columns).filter(~pl.col("fixmedins_code").is_in(sorted(known)))
