"""Loading a benchmark's PostgreSQL database, shared by the bench scripts (psycopg only, no yibao code): create and
drop the database, COPY polars frames into its tables as CSV, move the id sequences past the copied ids.

``url`` is any database's URL on the server, as SQLAlchemy (``postgresql+psycopg://…``) or libpq spell it; the
database it names is replaced by the one asked for."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import psycopg
from psycopg.conninfo import make_conninfo


def connect(url: str, db: str) -> psycopg.Connection[Any]:
    """An autocommit connection to database ``db`` of ``url``'s server (each statement, each COPY, its own transaction)."""
    return psycopg.connect(make_conninfo(url.replace("postgresql+psycopg://", "postgresql://", 1), dbname=db), autocommit=True)


def exists(url: str, db: str) -> bool:
    with connect(url, "postgres") as c:
        return c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is not None


def drop(url: str, db: str) -> None:
    """Drop ``db`` if it exists (its connections ended)."""
    with connect(url, "postgres") as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def recreate(url: str, db: str) -> None:
    """``db`` dropped if it exists, and created empty."""
    drop(url, db)
    with connect(url, "postgres") as c:
        c.execute(f'CREATE DATABASE "{db}"')


def csv(df: pl.DataFrame) -> bytes:
    """The frame's rows as CSV without a header, as :func:`copy_csv` takes them."""
    buf = io.BytesIO()
    df.write_csv(buf, include_header=False)
    return buf.getvalue()


def copy_csv(c: psycopg.Connection[Any], table: str, columns: Sequence[str], data: bytes) -> None:
    """``COPY table (columns) FROM STDIN`` of CSV rows (no header)."""
    names = ", ".join(f'"{x}"' for x in columns)
    with c.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT csv)') as cp:
        cp.write(data)


def copy_frame(c: psycopg.Connection[Any], table: str, df: pl.DataFrame) -> None:
    """The frame's rows into ``table``, its columns named as the frame's."""
    copy_csv(c, table, df.columns, csv(df))


def follow_ids(c: psycopg.Connection[Any], tables: Iterable[str]) -> None:
    """Each table's ``id`` sequence set to its largest id, so that the next row written gets the next one."""
    for t in tables:
        c.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM \"{t}\"))")
