"""Shared fixtures: a migrated database on SQLite and on PostgreSQL.

Tests that take ``db`` run twice, once per database. PostgreSQL is the machine's server
(127.0.0.1:5432, trust auth, database ``test``; ``YIBAO_TEST_PG_URL`` overrides); each test
gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from yibao.store.db import Database, make_engine, upgrade

# Real Argon2 hashing with the library's cheapest parameters: hundreds of test accounts stay cheap.
os.environ.setdefault("YIBAO_PASSWORD_HASH", "cheapest")

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema_engine(schema: str) -> sa.Engine:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)


def _drop_schema(schema: str) -> None:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated database: SQLite file, then PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'yibao.db'}"
        engine = make_engine(url)
        upgrade(engine)
        database = Database(engine)
        database.url = url  # type: ignore[attr-defined]
        yield database
        engine.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    engine = _pg_schema_engine(schema)
    upgrade(engine)
    database = Database(engine)
    database.url = PG_URL  # type: ignore[attr-defined]
    database.pg_schema = schema  # type: ignore[attr-defined]
    try:
        yield database
    finally:
        engine.dispose()
        _drop_schema(schema)
