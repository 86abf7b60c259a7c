"""Engine, sessions and the unit of work.

``YIBAO_DATABASE_URL`` (:mod:`yibao.core.settings`) chooses the database: an SQLite file
``yibao.db`` in the working folder by default (nothing to install), or PostgreSQL, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/yibao``. The schema is created and upgraded
with Alembic (:func:`upgrade`), never with ``create_all``.

A unit of work writes only what its caller commits explicitly (``session.commit()``); leaving it
without a commit, or by an exception, rolls everything back.

SQLite has one writer at a time. Its own queue is a busy handler that sleeps and retries (up to 100 ms
a sleep), so under load a writer could wait a second for a lock freed long before. Writers here take
turns instead (:class:`Turns`): a lock per process for its threads and, for a database file, a lock on
a file beside it (``yibao.db.lock``, ``flock``) for the server's worker processes; a transaction takes
its turn at ``BEGIN IMMEDIATE`` and gives it back the moment it has committed or rolled back. Read-only
work (:meth:`Database.reading`) takes no turn: in WAL mode a reader never waits for a writer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from yibao.core.settings import database_url

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux: the worker processes are not serialised by a file lock
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).parent / "migrations"
WAIT_SECONDS = 30.0
"""How long a writer waits for its turn (SQLite's own ``busy_timeout`` is the same) before giving up."""
READ_ONLY = "yibao_read_only"
"""The execution option that marks a read-only transaction (:meth:`Database.reading`)."""


class Queue:
    """A lock that threads get in the order they asked for it (``threading.Lock`` lets a newcomer overtake
    threads already waiting, which shows in the slowest answers under load)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            mine = threading.Lock()
            mine.acquire()
            self._waiting.append(mine)
        if mine.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if mine in self._waiting:
                self._waiting.remove(mine)
                return False
            return True  # handed over just as the wait ended

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()  # the first in line holds it now
            else:
                self._held = False


class Turns:
    """Writers of one SQLite database, one at a time: the threads of this process in the order they came
    (:class:`Queue`), the processes by an exclusive ``flock`` on ``<database>.lock`` (none for an in-memory
    database). One per database file per process (:func:`turns_for`)."""

    def __init__(self, lock_file: Path | None) -> None:
        self.lock_file = lock_file
        self._threads = Queue()
        self._fd: int | None = None
        self._pid = 0

    def take(self) -> None:
        if not self._threads.acquire(WAIT_SECONDS):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked (no turn to write)"))
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def give(self) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int | None:
        if self.lock_file is None or fcntl is None:
            return None
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd, self._pid = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644), os.getpid()
        return self._fd


_turns: dict[str, Turns] = {}
_turns_lock = threading.Lock()


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (``None``: in memory)."""
    name = make_url(url).database
    if not name or name == ":memory:" or (name.startswith("file:") and "mode=memory" in name):
        return None
    return Path(name.removeprefix("file:").split("?")[0]).resolve()


def turns_for(url: str) -> Turns:
    """The one :class:`Turns` of this process for the database at ``url``."""
    path = sqlite_file(url)
    key = str(path) if path is not None else url
    with _turns_lock:
        found = _turns.get(key)
        if found is None:
            found = _turns[key] = Turns(path.with_name(path.name + ".lock") if path is not None else None)
        return found


class TurnTakingConnection(sqlite3.Connection):
    """An SQLite connection that gives its writer's turn back once its transaction has ended."""

    turn: Turns | None = None
    read_only = False

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._ended(closed=True)

    def begin(self, turns: Turns, read_only: bool) -> None:
        """Start a transaction: a read-only one (no turn), or a write one in turn."""
        if read_only:
            self.execute("BEGIN")
            self.execute("PRAGMA query_only=1")  # a write in it fails instead of slipping past the turns
            self.read_only = True
            return
        turns.take()
        self.turn = turns
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException as e:
            self._ended(closed=True)
            if isinstance(e, sqlite3.OperationalError):  # as SQLAlchemy would have raised it
                raise OperationalError("BEGIN IMMEDIATE", None, e) from e
            raise

    def _ended(self, closed: bool = False) -> None:
        if not closed and self.in_transaction:
            return  # a failed commit: the transaction, and the turn, go on until its rollback
        if self.read_only and not closed:
            self.read_only = False
            self.execute("PRAGMA query_only=0")
        turn, self.turn = self.turn, None
        if turn is not None:
            turn.give()


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        turns = turns_for(url)
        engine = create_engine(url, connect_args={"timeout": WAIT_SECONDS, "factory": TurnTakingConnection})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(WAIT_SECONDS * 1000)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # an immediate write transaction, in turn: writers queue for the lock instead of failing
            # later with "database is locked", so settlements of one person are serialised
            raw: Any = conn.connection.driver_connection
            raw.begin(turns, bool(conn.get_execution_options().get(READ_ONLY)))

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


class Sole:
    """One holder at a time across every process of one database, for work that must run once (the
    monthly schedule in a server of several worker processes): a PostgreSQL session advisory lock held
    on a connection of its own, or an exclusive ``flock`` on ``<database>.<name>.lock`` beside an SQLite
    file. Whoever holds it keeps it until :meth:`give` or its process ends; the others' :meth:`take`
    answers ``False`` until then."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        self._conn: Connection | None = None
        self._fd: int | None = None
        self.held = False

    def take(self) -> bool:
        """Hold it (``True``), or not while another holds it (``False``); asking again while held is cheap."""
        if self.engine.dialect.name == "postgresql":
            self.held = self._take_postgresql()
        elif self.engine.dialect.name == "sqlite":
            self.held = self._take_file()
        else:
            self.held = True
        return self.held

    def _take_postgresql(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT 1")  # the lock lives as long as this session
                return True
            except SQLAlchemyError:
                self._drop()
        conn = self.engine.connect()
        key = text("SELECT pg_try_advisory_lock(hashtext(:name || current_schema()))")
        if conn.execute(key, {"name": self.name}).scalar():
            conn.commit()
            self._conn = conn
            return True
        conn.close()
        return False

    def _take_file(self) -> bool:
        path = sqlite_file(self.engine.url.render_as_string(hide_password=False))
        if path is None or fcntl is None:
            return True
        if self._fd is None:
            self._fd = os.open(path.with_name(f"{path.name}.{self.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def give(self) -> None:
        self._drop()  # closing the session ends its advisory lock
        if self._fd is not None:
            os.close(self._fd)  # closing the file ends its flock
            self._fd = None
        self.held = False


class Database:
    """An engine with its session factory; one per process (or per test)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.read_engine = engine.execution_options(**{READ_ONLY: True})
        self.readers = sessionmaker(self.read_engine, expire_on_commit=False)

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

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Read-only work: like :meth:`unit_of_work`, but nothing can be written (SQLite refuses a write; on
        SQLite it takes no writer's turn and waits for no writer)."""
        session = self.readers()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A read-only transaction on a plain connection (no ORM session): for a small read on every request."""
        with self.read_engine.connect() as conn:
            yield conn
