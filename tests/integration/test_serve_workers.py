"""``yibao serve --workers 2`` for real: two uvicorn worker processes over HTTP, on SQLite and PostgreSQL.

Every answer names the worker that gave it (``YIBAO_WORKER_HEADER=1``: ``X-Yibao-Worker: <pid>``); each
request goes on a new connection, so the kernel hands them to both workers, and the checks below go on
until both have answered. Nothing is timed.

- the monthly schedule's lock is held by exactly one worker;
- 16 clients settling for one person through both workers never pay past a cap (the per-person lock holds
  across processes) and the ledger verifies;
- a changed password, a disabled account and a signed-out token are refused by every worker from the very
  next request on, although both had the token cached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.accounts import PASSWORD, login
from tests.conftest import PG_URL, _drop_schema
from tests.db.test_service import PACK, bill, seed
from tests.live import free_port
from yibao.store.db import Database, make_engine
from yibao.store.service_tables import LedgerEntry

pytestmark = pytest.mark.slow  # starts servers of several processes

GUARD = 120.0
"""Seconds after which a server that does not start, or a worker that never answers, is a failure."""


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path | None]]:
    """The URL of a fresh database the server will use (and, for SQLite, its file)."""
    if request.param == "sqlite":
        path = tmp_path / "yibao.db"
        yield f"sqlite:///{path}", path
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}", None
    finally:
        _drop_schema(schema)


@contextmanager
def served(url: str, workers: int) -> Iterator[str]:
    port = free_port()
    env = os.environ | {"YIBAO_DATABASE_URL": url, "YIBAO_WORKER_HEADER": "1", "YIBAO_TOKEN_CACHE_SECONDS": "30"}
    cmd = [sys.executable, "-m", "yibao", "serve", "--port", str(port), "--workers", str(workers), "--no-demo", "--schedule"]
    base = f"http://127.0.0.1:{port}"
    with subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL) as proc:
        try:
            deadline = time.monotonic() + GUARD
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                try:
                    if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield base
        finally:
            proc.terminate()


def every_worker(ask: Callable[[], httpx.Response], workers: int = 2) -> dict[str, list[int]]:
    """Ask (each time on a new connection) until ``workers`` different workers have answered: pid -> codes."""
    seen: dict[str, list[int]] = {}
    deadline = time.monotonic() + GUARD
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered"
        r = ask()
        seen.setdefault(r.headers["x-yibao-worker"], []).append(r.status_code)
    return seen


def flock_holders(path: Path) -> list[int]:
    """The processes holding an flock on ``path`` (from ``/proc/locks``)."""
    inode = os.stat(path).st_ino
    holders = []
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and parts[-3].endswith(f":{inode}"):
            holders.append(int(parts[-4]))
    return holders


def test_two_workers_share_the_schedule_the_caps_and_the_refusals(database: tuple[str, Path | None]) -> None:
    url, sqlite_path = database
    db = Database.open(url)
    seed(db, category="jiance")  # no critical-illness tilt: the CI cap and the assistance limit bind
    db.engine.dispose()
    with served(url, 2) as base:
        person = f"{base}/api/persons/P1"
        clerk = login(base, "clerk")
        pids = set(every_worker(lambda: httpx.get(person, headers=clerk)))
        if sqlite_path is not None:  # the schedule's lock: one worker holds it (PostgreSQL: an advisory lock)
            lock = sqlite_path.with_name(f"{sqlite_path.name}.monthly-monitoring.lock")
            deadline = time.monotonic() + GUARD
            while not lock.exists() or not flock_holders(lock):
                assert time.monotonic() < deadline, "no worker took the schedule's lock"
                time.sleep(0.05)
            holders = flock_holders(lock)
            assert len(holders) == 1 and holders[0] in {int(p) for p in pids}, (holders, pids)

        # 16 clients, one person, both workers: no fund pays past its cap
        bills = [bill(180_000 + 1_000 * i, f"2022-{1 + i % 12:02d}-{1 + i % 27:02d}") for i in range(48)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda b: httpx.post(f"{base}/api/settlements", json=b, headers=clerk, timeout=120), bills))
        assert {r.status_code for r in answers} == {201}, [r.text for r in answers if r.status_code != 201][:3]
        assert len({r.headers["x-yibao-worker"] for r in answers}) == 2  # both workers settled
        admin = login(base, "admin")
        assert httpx.get(f"{base}/api/ledger/verify", headers=admin, timeout=120).json()["ok"] is True

        # a token every worker has cached, then a changed password: refused by every worker at once
        monitoring = login(base, "monitoring")
        assert all(401 not in codes for codes in every_worker(lambda: httpx.get(person, headers=monitoring)).values())
        changed = httpx.post(
            f"{base}/api/auth/password", json={"old_password": PASSWORD, "new_password": "another horse 9"}, headers=monitoring
        )
        assert changed.status_code == 200, changed.text
        assert all(set(c) == {401} for c in every_worker(lambda: httpx.get(person, headers=monitoring)).values())
        fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
        assert all(401 not in c for c in every_worker(lambda: httpx.get(person, headers=fresh)).values())

        # a disabled account
        assert httpx.post(f"{base}/api/accounts/clerk/disable", headers=admin).status_code == 200
        assert all(set(c) == {401} for c in every_worker(lambda: httpx.get(person, headers=clerk)).values())

        # a token signed out (deleted, as the window's 退出 does): refused by every worker, not just the one
        assert all(401 not in c for c in every_worker(lambda: httpx.get(person, headers=fresh)).values())
        sign_out(url, fresh["Authorization"].removeprefix("Bearer "))
        assert all(set(c) == {401} for c in every_worker(lambda: httpx.get(person, headers=fresh)).values())

    db = Database.open(url)
    with db.reading() as s:
        entries = s.scalars(sa.select(LedgerEntry)).all()
    db.engine.dispose()
    assert len(entries) == 48
    assert sum(e.hifp_pay for e in entries) == 30_000_000  # the basic cap binds exactly
    policy = PACK.at(date(2022, 6, 1))
    assert sum(e.maf_pay for e in entries) == policy.assistance.limit  # type: ignore[union-attr]


def sign_out(url: str, token: str) -> None:
    from yibao.app import auth

    db = Database.open(url)
    with db.unit_of_work() as s:
        auth.sign_out(s, token)
        s.commit()
    db.engine.dispose()
