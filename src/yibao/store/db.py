"""Engine, sessions and the unit of work.

``YIBAO_DATABASE_URL`` (:mod:`yibao.core.settings`) chooses the database: an SQLite file
``yibao.db`` in the working folder by default (nothing to install), or PostgreSQL, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/yibao``. The schema is created and upgraded
with Alembic (:func:`upgrade`), never with ``create_all``.

A unit of work writes only what its caller commits explicitly (``session.commit()``); leaving it
without a commit, or by an exception, rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from yibao.core.settings import database_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # an immediate write transaction: writers queue for the lock instead of failing
            # later with "database is locked", so settlements of one person are serialised
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "heads")


@cache
def default_engine() -> Engine:
    engine = make_engine()
    upgrade(engine)
    return engine


class Database:
    """An engine with its session factory; one per process (or per test)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None, migrate: bool = True) -> Database:
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        return cls(engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One operation: what the caller commits (``session.commit()``) is written, all together; nothing else is.

        Leaving the block without a commit, or by an exception, rolls back. Objects read in the
        block stay readable after it (detached, as loaded).
        """
        session = self.sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()  # ends the transaction: whatever was not committed is rolled back
