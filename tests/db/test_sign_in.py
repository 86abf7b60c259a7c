"""Sign-in and sessions over real HTTP on SQLite and PostgreSQL: failed sign-ins lock the user name and the
address (told in Chinese with how long to wait, at ``POST /api/auth/token`` and on the sign-in page); a
changed password or a disabled account stops every token at once in every server process; the account
commands; security headers on every answer; the session cookie ``Secure`` over HTTPS or when told; the
password check outside any write transaction (32 concurrent sign-ins on SQLite)."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.accounts import PASSWORD, login, seed_accounts
from tests.db.test_service import PACK
from tests.live import live_server
from yibao.app.auth import create_account
from yibao.core.settings import Settings
from yibao.entrypoints.cli.main import app as cli_app
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import Account, SignInFailures

WRONG = "not the password"


def _token(url: str, username: str, password: str = PASSWORD, headers: dict[str, str] | None = None) -> httpx.Response:
    data = {"username": username, "password": password}
    return httpx.post(f"{url}/api/auth/token", data=data, headers=headers, timeout=120)


def _login_form(client: httpx.Client, username: str, password: str) -> httpx.Response:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf.group(1)})


def _served_lock(db: Database, scope: str, key: str) -> None:
    """As if the lock's 15 minutes had passed."""
    with db.unit_of_work() as s:
        s.execute(
            sa.update(SignInFailures)
            .where(SignInFailures.scope == scope, SignInFailures.key == key)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1), last_at=datetime.now(UTC) - timedelta(minutes=16))
        )
        s.commit()


@pytest.mark.slow  # a large run: the full suite has it, the quick command leaves it out
def test_wrong_passwords_lock_the_account_and_say_how_long_to_wait(db: Database) -> None:
    seed_accounts(db)
    with live_server(create_app(db, PACK)) as url:
        answers = [_token(url, "clerk", WRONG) for _ in range(5)]
        assert [r.status_code for r in answers] == [422, 422, 422, 422, 429]
        locked = _token(url, "clerk")  # the right password, too late
        assert locked.status_code == 429, locked.text
        body = locked.json()
        assert body["field"] == "username"
        assert "密码连续输错 5 次" in body["message"] and "请 15 分钟后再试" in body["message"], body
        assert re.fullmatch(r"[^A-Za-z]+", body["message"]), body["message"]  # wholly Chinese
        assert "15 minutes" in body["message_en"]
        assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
        # 300 more wrong passwords change nothing: still locked, the right one still refused
        assert {_token(url, "clerk", WRONG).status_code for _ in range(20)} == {429}
        assert _token(url, "clerk").status_code == 429
        # another clerk at the same address is not locked out
        assert _token(url, "auditor").status_code == 200
        # the window's sign-in page says the same, in the page's language
        with httpx.Client(base_url=url, follow_redirects=True) as window:
            page = _login_form(window, "clerk", PASSWORD)
            assert page.status_code == 429 and "请 15 分钟后再试" in page.text
            window.cookies.set("lang", "en")
            page = _login_form(window, "clerk", PASSWORD)
            assert page.status_code == 429 and "Try again in 15 minutes" in page.text
        # a name that does not exist is locked just the same (the answer tells nothing of who exists)
        assert [_token(url, "nobody", WRONG).status_code for _ in range(6)] == [422] * 4 + [429, 429]
        # after the lock the right password works, and a success starts the count again
        _served_lock(db, "account", "clerk")
        assert _token(url, "clerk").status_code == 200
        assert [_token(url, "clerk", WRONG).status_code for _ in range(4)] == [422] * 4
        assert _token(url, "clerk").status_code == 200
        # an administrator who enables the account lifts its lock
        assert [_token(url, "clerk", WRONG).status_code for _ in range(5)][-1] == 429
        admin = login(url, "admin")
        assert httpx.post(f"{url}/api/accounts/clerk/enable", headers=admin, timeout=60).status_code == 200
        assert _token(url, "clerk").status_code == 200


def test_parallel_guesses_are_counted_and_locked(db: Database) -> None:
    seed_accounts(db)
    with live_server(create_app(db, PACK)) as url, ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: _token(url, "clerk", WRONG).status_code, range(48)))
        assert set(codes) == {422, 429} and codes.count(422) < 48 - 16, codes
        assert _token(url, "clerk").status_code == 429
    with db.unit_of_work() as s:
        row = s.get(SignInFailures, ("account", "clerk"))
        assert row is not None and row.locked_until is not None


def test_many_names_from_one_address_lock_the_address(db: Database) -> None:
    seed_accounts(db)
    behind_proxy = Settings(trust_proxy=True, sign_in_address_failures=10)
    with live_server(create_app(db, PACK, settings=behind_proxy)) as url:
        sprayer, other = {"X-Forwarded-For": "10.0.0.7"}, {"X-Forwarded-For": "10.0.0.8"}
        codes = [_token(url, f"guess{i}", WRONG, sprayer).status_code for i in range(10)]
        assert codes == [422] * 9 + [429]
        refused = _token(url, "clerk", PASSWORD, sprayer)
        assert refused.status_code == 429 and refused.json()["field"] == "address"
        assert "本机登录失败次数过多" in refused.json()["message"] and "分钟后再试" in refused.json()["message"]
        assert _token(url, "clerk", PASSWORD, other).status_code == 200  # another computer signs in
    # not behind a trusted proxy, X-Forwarded-For is not believed: the connection's address is counted
    # (in process: uvicorn, which ``yibao serve`` tells to believe proxy headers only as configured, is not between)
    client = TestClient(create_app(db, PACK, settings=Settings(sign_in_address_failures=10)))
    answers = [
        client.post(
            "/api/auth/token", data={"username": f"spray{i}", "password": WRONG}, headers={"X-Forwarded-For": f"10.1.0.{i}"}
        )
        for i in range(10)
    ]
    assert [r.status_code for r in answers] == [422] * 9 + [429]
    assert client.post("/api/auth/token", data={"username": "clerk", "password": PASSWORD}).status_code == 429


@contextmanager
def _two_workers(db: Database) -> Iterator[tuple[str, str]]:
    """Two server processes' worth of app (each with its own token cache) on one database."""
    with ExitStack() as stack:
        yield stack.enter_context(live_server(create_app(db, PACK))), stack.enter_context(live_server(create_app(db, PACK)))


def _me(url: str, headers: dict[str, str]) -> int:
    return httpx.get(f"{url}/api/persons/P0", headers=headers, timeout=60).status_code  # 404 signed in, 401 not


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_a_changed_password_stops_every_token_in_every_worker(db: Database) -> None:
    seed_accounts(db)
    with _two_workers(db) as (a, b):
        old = login(a, "clerk")
        other_sign_in = login(b, "clerk")
        assert _me(a, old) == _me(b, old) == _me(b, other_sign_in) == 404  # both workers trust (and cache) them
        short = httpx.post(
            f"{a}/api/auth/password", json={"old_password": PASSWORD, "new_password": "short"}, headers=old, timeout=60
        )
        assert short.status_code == 422
        wrong = httpx.post(
            f"{a}/api/auth/password", json={"old_password": WRONG, "new_password": "new horse 9"}, headers=old, timeout=60
        )
        assert wrong.status_code == 422 and wrong.json()["field"] == "password"
        changed = httpx.post(
            f"{a}/api/auth/password", json={"old_password": PASSWORD, "new_password": "new horse 9"}, headers=old
        )
        assert changed.status_code == 200, changed.text
        new = {"Authorization": f"Bearer {changed.json()['access_token']}"}
        assert _me(a, old) == _me(b, old) == _me(b, other_sign_in) == 401
        assert _me(a, new) == _me(b, new) == 404
        assert _token(b, "clerk").status_code == 422
        assert _token(b, "clerk", "new horse 9").status_code == 200
        # the window: the session ends on the other worker, the one that changed it goes on
        with (
            httpx.Client(base_url=a, follow_redirects=True, timeout=60) as here,
            httpx.Client(base_url=b, follow_redirects=True, timeout=60) as there,
        ):
            assert _login_form(here, "clerk", "new horse 9").status_code == 200
            assert _login_form(there, "clerk", "new horse 9").status_code == 200
            page = here.get("/account/password").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf and "修改密码" in page
            form = {"csrf": csrf.group(1), "old_password": "new horse 9", "new_password": "third horse 10"}
            assert here.post("/account/password", data=form | {"new_password2": "other"}).status_code == 422
            done = here.post("/account/password", data=form | {"new_password2": "third horse 10"})
            assert done.status_code == 200 and "密码已修改" in done.text
            assert here.get("/counter").url.path == "/counter"
            assert there.get("/counter").url.path == "/login"


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_a_disabled_account_stops_at_once_in_every_worker(db: Database) -> None:
    seed_accounts(db)
    with _two_workers(db) as (a, b):
        clerk, admin = login(b, "clerk"), login(a, "admin")
        assert _me(b, clerk) == 404
        assert httpx.post(f"{a}/api/accounts/clerk/disable", headers=clerk, timeout=60).status_code == 403
        off = httpx.post(f"{a}/api/accounts/clerk/disable", headers=admin, timeout=60)
        assert off.status_code == 200 and off.json() == {"username": "clerk", "active": False}
        assert _me(b, clerk) == _me(a, clerk) == 401
        assert _token(b, "clerk").status_code == 422  # as any wrong sign-in
        listed = {r["username"]: r for r in httpx.get(f"{a}/api/accounts", headers=admin, timeout=60).json()}
        assert listed["clerk"]["active"] is False and listed["admin"]["active"] is True
        own = httpx.post(f"{a}/api/accounts/admin/disable", headers=admin, timeout=60)
        assert own.status_code == 422 and own.json()["field"] == "username"
        assert httpx.post(f"{a}/api/accounts/nobody/disable", headers=admin, timeout=60).status_code == 404
        assert httpx.post(f"{a}/api/accounts/clerk/enable", headers=admin, timeout=60).status_code == 200
        assert _me(b, login(b, "clerk")) == 404
        # the administrator's page does the same
        with httpx.Client(base_url=a, follow_redirects=True, timeout=60) as window:
            assert _login_form(window, "admin", PASSWORD).status_code == 200
            page = window.get("/accounts").text
            assert 'data-username="clerk"' in page and "停用" in page
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            window.post("/accounts/clerk/disable", data={"csrf": csrf.group(1)})
            assert "已停用" in window.get("/accounts").text
        assert _token(b, "clerk").status_code == 422


def _cli_url(db: Database) -> str:
    url: str = db.url  # type: ignore[attr-defined]
    if getattr(db, "pg_schema", None):
        url += f"?options=-csearch_path%3D{db.pg_schema}"  # type: ignore[attr-defined]
    return url


def test_account_commands_set_a_password_and_disable_an_account(db: Database) -> None:
    seed_accounts(db)
    env = {"YIBAO_DATABASE_URL": _cli_url(db)}
    with live_server(create_app(db, PACK)) as url:
        clerk = login(url, "clerk")
        run = CliRunner().invoke(cli_app, ["account-passwd", "clerk"], input="fresh horse 11\nfresh horse 11\n", env=env)
        assert run.exit_code == 0, run.output
        assert "已重设 clerk 的密码" in run.output
        assert _me(url, clerk) == 401
        assert _token(url, "clerk", "fresh horse 11").status_code == 200
        clerk = login(url, "clerk", "fresh horse 11")
        run = CliRunner().invoke(cli_app, ["account-disable", "clerk"], env=env)
        assert run.exit_code == 0 and "已停用账号 clerk" in run.output, run.output
        assert _me(url, clerk) == 401 and _token(url, "clerk", "fresh horse 11").status_code == 422
        run = CliRunner().invoke(cli_app, ["account-enable", "clerk"], env=env)
        assert run.exit_code == 0, run.output
        assert _token(url, "clerk", "fresh horse 11").status_code == 200
        missing = CliRunner().invoke(cli_app, ["account-disable", "nobody"], env=env)
        assert missing.exit_code == 2 and "nobody" in missing.output
        short = CliRunner().invoke(cli_app, ["account-passwd", "clerk"], input="short\nshort\n", env=env)
        assert short.exit_code == 2


HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def test_every_answer_has_the_security_headers(db: Database) -> None:
    seed_accounts(db)
    with live_server(create_app(db, PACK)) as url:
        clerk = login(url, "clerk")
        get = partial(httpx.get, timeout=60)  # a loaded machine answers /openapi.json in more than httpx's 5 s
        answers = [
            get(f"{url}/api/health"),
            get(f"{url}/login"),
            get(f"{url}/", follow_redirects=False),
            get(f"{url}/static/web.css"),
            get(f"{url}/static/web.js"),
            get(f"{url}/no/such/page"),
            get(f"{url}/openapi.json"),
            get(f"{url}/docs"),
            get(f"{url}/api/persons/P0", headers=clerk),
            get(f"{url}/api/persons/P0"),
            _token(url, "clerk", WRONG),
        ]
        for r in answers:
            for name, value in HEADERS.items():
                assert r.headers.get(name) == value, (r.url, name, r.headers)
            policy = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, (r.url, policy)
        window = answers[1].headers["content-security-policy"]
        script = next(part for part in window.split("; ") if part.startswith("script-src"))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert "javascript:" not in answers[1].text and "<script>" not in answers[1].text


def _session_cookie(
    db: Database, settings: Settings, base: str = "http://testserver", headers: dict[str, str] | None = None
) -> str:
    """The session cookie a sign-in on the window sets (the sign-in form's own cookie sent back by hand: a
    ``Secure`` one would not be over plain HTTP)."""
    client = TestClient(create_app(db, PACK, settings=settings), base_url=base)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    sent = (headers or {}) | {"Cookie": f"yibao_login_csrf={csrf.group(1)}"}
    client.cookies.clear()
    r = client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "csrf": csrf.group(1)}, headers=sent, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return next(str(c) for c in r.headers.get_list("set-cookie") if c.startswith("yibao_session="))


def test_the_session_cookie_is_secure_over_https_or_when_told(db: Database) -> None:
    seed_accounts(db)
    proto = {"X-Forwarded-Proto": "https"}
    assert "secure" not in _session_cookie(db, Settings()).lower()
    assert "secure" in _session_cookie(db, Settings(), "https://testserver").lower()
    assert "secure" in _session_cookie(db, Settings(secure_cookies=True)).lower()
    assert "secure" not in _session_cookie(db, Settings(), headers=proto).lower()  # a header anyone can send
    assert "secure" in _session_cookie(db, Settings(trust_proxy=True), headers=proto).lower()
    told = Settings.from_env({"YIBAO_SECURE_COOKIES": "1", "YIBAO_TRUST_PROXY": "yes"})
    assert told == Settings(secure_cookies=True, trust_proxy=True)
    assert Settings.from_env(told.environ()) == told


@pytest.mark.slow  # a large run: the full suite has it, the quick command leaves it out
def test_32_concurrent_sign_ins_on_sqlite_all_succeed_without_holding_the_write_lock(tmp_path: Path) -> None:
    """Each sign-in checks a password hashed with Argon2's real (library default) cost. While they run, a
    probe keeps trying to take SQLite's write lock without waiting: with the check inside a write
    transaction the lock is nearly always held; outside, it is nearly always free."""
    path = tmp_path / "signin.db"
    db = Database.open(f"sqlite:///{path}")
    real = PasswordHasher()
    with db.unit_of_work() as s:
        for i in range(32):
            create_account(s, f"clerk{i}", PASSWORD, "clerk", "test")
        s.flush()
        s.execute(sa.update(Account).values(password_hash=real.hash(PASSWORD)))
        s.commit()
    free = busy = 0
    done = threading.Event()

    def probe() -> None:
        nonlocal free, busy
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        while not done.is_set():
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                free += 1
            except sqlite3.OperationalError:
                busy += 1
            done.wait(0.002)
        conn.close()

    with live_server(create_app(db, PACK)) as url, ThreadPoolExecutor(32) as pool:
        watcher = threading.Thread(target=probe)
        watcher.start()
        codes = list(pool.map(lambda i: _token(url, f"clerk{i}").status_code, range(32)))
        done.set()
        watcher.join()
    print(f"write lock free {free} times, held {busy} times")
    assert codes == [200] * 32, codes
    assert free + busy > 20, (free, busy)
    assert free > busy, f"the write lock was free {free} times and held {busy} times"
    db.engine.dispose()
