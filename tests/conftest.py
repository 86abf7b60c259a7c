"""Shared fixtures: a migrated database on SQLite and on PostgreSQL.

Tests that take ``db`` run twice, once per database. PostgreSQL is the machine's server
(127.0.0.1:5432, trust auth, database ``test``; ``YIBAO_TEST_PG_URL`` overrides); each test
gets a schema of its own: a new one, or one a finished test of the same process left and that was
emptied (every table's rows deleted, every sequence restarted) after its shape was checked unchanged.

The migrations run once per test process and database kind, not once per test: the first SQLite
database is migrated and kept as a template that each test gets a copy of (the same file, byte for
byte); on PostgreSQL the statements the migrations sent to the first schema are recorded and sent,
in order, to each new one. Either way a test starts from exactly what ``upgrade()`` leaves.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from yibao.store.db import Database, make_engine, upgrade

# Real Argon2 hashing with the library's cheapest parameters: hundreds of test accounts stay cheap.
os.environ.setdefault("YIBAO_PASSWORD_HASH", "cheapest")

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@cache
def _admin() -> sa.Engine:
    """The engine that creates and drops the tests' schemas: one per test process, its connection kept (a new
    engine per schema cost a connection and the dialect's first-connect queries, twice per test)."""
    return make_engine(PG_URL)


def _pg_schema_engine(schema: str) -> sa.Engine:
    with _admin().begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)


_FINGERPRINT = """
SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
                      || ':' || coalesce(column_default, ''), ',' ORDER BY table_name, column_name))
       || (SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema())::text
       || (SELECT count(*) FROM information_schema.sequences WHERE sequence_schema = current_schema())::text
FROM information_schema.columns WHERE table_schema = current_schema()
"""
"""The shape of the schema on ``search_path``: columns, index and sequence counts."""

_pristine: list[str] = []
"""The shape a migrated schema has (taken from the first one)."""
_emptied: list[str] = []
"""Schemas of this process that are migrated and empty, ready for the next test."""


def _empty_for_reuse(schema: str) -> None:
    """Put ``schema`` back in the pool emptied, as a fresh migration leaves it, or drop it if a test changed its shape
    (or anything fails): rows deleted without firing triggers (the order of foreign keys then does not matter),
    sequences restarted, ``alembic_version`` kept. Deleting the few rows a test wrote takes milliseconds; creating and
    migrating a schema took most of a second."""
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            shape = conn.exec_driver_sql(_FINGERPRINT).scalar_one()
            if not _pristine or shape != _pristine[0]:
                raise LookupError(schema)
            tables = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            ).scalars()
            sequences = conn.exec_driver_sql(
                "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
            ).scalars()
            conn.exec_driver_sql(
                "SET LOCAL session_replication_role = replica;"
                + "".join(f'DELETE FROM "{t}";' for t in tables)
                + "".join(f'ALTER SEQUENCE "{q}" RESTART;' for q in sequences)
            )
    except Exception:
        _drop_schema(schema)
    else:
        _emptied.append(schema)
    finally:
        engine.dispose()


def _drop_schema(schema: str) -> None:
    with _admin().begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


Statement = tuple[str, Any, bool]
"""An SQL statement as the driver got it: text, parameters, whether run for many parameter sets."""
_pg_migrations: list[Statement] = []


def _migrate_pg(engine: sa.Engine, schema: str) -> None:
    """``upgrade(engine)``: by alembic the first time in this process (its statements recorded), then by sending
    the recorded statements again, in one transaction (the schema is chosen by ``search_path``, never named)."""
    if not _pg_migrations:
        sent: list[Statement] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
            sent.append((statement, parameters, many))

        event.listen(engine, "before_cursor_execute", record)
        try:
            upgrade(engine)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert not any(schema in statement or schema in repr(params) for statement, params, _ in sent), "schema named"
        _pg_migrations.extend(sent)
        return
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for statement, params, many in _pg_migrations:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params or None)


@pytest.fixture(autouse=True)
def _cli_width_follows_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles read ``COLUMNS`` at each print, as on a terminal, so a test's ``COLUMNS`` applies.

    rich fixes a console's width when it is created if ``COLUMNS`` is set then (pytest-xdist workers have
    ``COLUMNS=80``), and the CLI module is imported once per worker: without this, whether a table is cut
    depended on which test imported it first.
    """
    from yibao.entrypoints.cli import output

    monkeypatch.setattr(output.console, "_width", None)
    monkeypatch.setattr(output.err_console, "_width", None)


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database file just as ``upgrade()`` leaves a new one (closed: no journal beside it)."""
    path = tmp_path_factory.mktemp("migrated") / "yibao.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert not path.with_name(path.name + "-wal").exists()
    return path


@contextmanager
def migrated_database(kind: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A freshly migrated database of ``kind`` ("sqlite": a file in ``folder``; "postgresql": a schema of its own,
    dropped afterwards), for fixtures of any scope."""
    if kind == "sqlite":
        path = folder / "yibao.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_migrated"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        database = Database(engine)
        database.url = url  # type: ignore[attr-defined]
        yield database
        engine.dispose()
        return
    if _emptied:
        schema = _emptied.pop()
        engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)
    else:
        schema = "t_" + uuid.uuid4().hex[:12]
        engine = _pg_schema_engine(schema)
        _migrate_pg(engine, schema)
        if not _pristine:
            with engine.connect() as conn:
                _pristine.append(conn.exec_driver_sql(_FINGERPRINT).scalar_one())
    database = Database(engine)
    database.url = PG_URL  # type: ignore[attr-defined]
    database.pg_schema = schema  # type: ignore[attr-defined]
    try:
        yield database
    finally:
        engine.dispose()
        _empty_for_reuse(schema)


@contextmanager
def unmigrated_engine(kind: str, folder: Path) -> Iterator[sa.Engine]:
    """An empty database of ``kind`` for a test that runs the migrations itself: an SQLite file in ``folder``, or a
    PostgreSQL schema of its own (dropped afterwards)."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'unmigrated.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    engine = _pg_schema_engine(schema)
    try:
        yield engine
    finally:
        engine.dispose()
        _drop_schema(schema)


def seeds(*ns: int) -> list[Any]:
    """The seeds of a seeded random test: the first runs in the quick command, the others in CI only (marked slow)."""
    return [ns[0], *(pytest.param(n, marks=pytest.mark.slow) for n in ns[1:])]


class Seeded(Mapping[int, Database]):
    """A database per seed, made by ``make`` (freshly migrated) and given ``seed(db, n)`` when a test first asks for it."""

    def __init__(self, make: Callable[[int], Database], seeds: Sequence[int], seed: Callable[[Database, int], None]) -> None:
        self._make, self._seeds, self._seed = make, seeds, seed
        self._made: dict[int, Database] = {}

    def __getitem__(self, n: int) -> Database:
        if n not in self._seeds:
            raise KeyError(n)
        if n not in self._made:
            self._made[n] = self._make(n)
            self._seed(self._made[n], n)
        return self._made[n]

    def __iter__(self) -> Iterator[int]:
        return iter(self._seeds)

    def __len__(self) -> int:
        return len(self._seeds)


@contextmanager
def seeded_databases(
    request: pytest.FixtureRequest, folders: pytest.TempPathFactory, seeds: Sequence[int], seed: Callable[[Database, int], None]
) -> Iterator[Mapping[int, Database]]:
    """One freshly migrated database of the fixture's kind (``request.param``) per seed, each given ``seed(db, n)``,
    made when a test first asks for it (a run that leaves a seed's tests out does not build its database)."""
    with ExitStack() as stack:

        def make(n: int) -> Database:
            return stack.enter_context(migrated_database(request.param, folders.mktemp(f"seed{n}"), request))

        yield Seeded(make, seeds, seed)


DB_KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.twin)]
"""Every database test runs on both; the PostgreSQL run is the SQLite run's twin (left out of the quick command)."""


@pytest.fixture(params=DB_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated database: SQLite file, then PostgreSQL schema."""
    with migrated_database(request.param, tmp_path, request) as database:
        yield database


LONGEST_FIRST = ("tests/integration/test_readme_commands.py::test_every_readme_command_runs_as_written",)
"""Tests that run for minutes on their own: started first, so the other worker is not left waiting for them at the end
(with ``--dist worksteal`` the rest then balances itself)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid not in LONGEST_FIRST)  # stable: the rest keep their order


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the emptied schemas this process kept for reuse."""
    while _emptied:
        _drop_schema(_emptied.pop())
