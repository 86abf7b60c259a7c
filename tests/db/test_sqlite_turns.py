"""SQLite writers take turns (``yibao.store.db.Turns``): threads of a process by a lock, processes by a file lock.

The proof is SQLite's busy handler switched off (``busy_timeout=0``, ``timeout=0``): a writer that found
the database locked would fail at once with "database is locked". Many threads, then two processes of many
threads each, write in parallel; none fails and every increment is counted. Read-only work takes no turn.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from yibao.store.db import Database, Queue, make_engine

THREADS = 16
WRITES = 40


def impatient(url: str) -> Database:
    """The database with SQLite's busy handler off: waiting for a lock inside SQLite is an error."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    return Database(engine)


def create(url: str) -> None:
    db = Database(make_engine(url))
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT OR IGNORE INTO counter VALUES (1, 0)")
    db.engine.dispose()


def hammer(url: str, threads: int = THREADS, writes: int = WRITES) -> None:
    """``threads`` threads, each ``writes`` read-modify-write transactions (a lost update would show)."""
    db = impatient(url)

    def one(_: int) -> None:
        for _ in range(writes):
            with db.unit_of_work() as s:
                n = s.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                s.execute(sa.text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
                s.commit()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(threads)))
    db.engine.dispose()


def count(url: str) -> int:
    db = Database(make_engine(url))
    with db.reading() as s:
        n = int(s.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one())
    db.engine.dispose()
    return n


def test_threads_write_in_turn_and_never_meet_a_locked_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    create(url)
    hammer(url)
    assert count(url) == THREADS * WRITES


@pytest.mark.slow  # starts two Python processes
def test_processes_write_in_turn_and_never_meet_a_locked_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    create(url)
    code = f"from tests.db.test_sqlite_turns import hammer; hammer({url!r}, 8, 60)"
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=root, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err
    assert count(url) == 2 * 8 * 60


def test_reading_takes_no_turn_and_cannot_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    create(url)
    db = impatient(url)
    with db.unit_of_work() as writer:
        writer.execute(sa.text("UPDATE counter SET n = 5 WHERE id = 1"))  # this thread holds the turn
        # taking the turn again would wait for this very thread; a reader does not, and sees the last commit
        with db.reading() as s:
            assert s.execute(sa.text("SELECT n FROM counter")).scalar_one() == 0
        writer.commit()
    with db.reading() as s, pytest.raises(sa.exc.OperationalError, match="readonly"):
        s.execute(sa.text("UPDATE counter SET n = 6 WHERE id = 1"))
    with db.unit_of_work() as s:  # the connection is a writer's again once the reader is done
        s.execute(sa.text("UPDATE counter SET n = 7 WHERE id = 1"))
        s.commit()
    assert count(url) == 7
    db.engine.dispose()


def test_a_failed_begin_gives_the_turn_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    create(url)
    db = impatient(url)
    outsider = __import__("sqlite3").connect(tmp_path / "turns.db", timeout=0, isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")  # a writer outside yibao (no turns): SQLite refuses ours at once
    with pytest.raises(sa.exc.OperationalError, match="locked"), db.unit_of_work() as s:
        s.execute(sa.text("UPDATE counter SET n = 1 WHERE id = 1"))
    outsider.execute("ROLLBACK")
    done = threading.Event()

    def write() -> None:
        with db.unit_of_work() as s:
            s.execute(sa.text("UPDATE counter SET n = 2 WHERE id = 1"))
            s.commit()
        done.set()

    t = threading.Thread(target=write)  # another thread gets the turn: it was given back
    t.start()
    t.join()
    assert done.is_set() and count(url) == 2
    outsider.close()
    db.engine.dispose()


def test_threads_get_their_turn_in_the_order_they_asked() -> None:
    queue, got = Queue(), []
    assert queue.acquire(1)
    threads = []
    for i in range(8):

        def wait(i: int = i) -> None:
            assert queue.acquire(60)
            got.append(i)
            queue.release()

        threads.append(threading.Thread(target=wait))
        threads[-1].start()
        while len(queue._waiting) < i + 1:  # this one is in line before the next asks
            threading.Event().wait(0.001)
    queue.release()
    for t in threads:
        t.join()
    assert got == list(range(8))
    assert queue.acquire(0)  # free again
