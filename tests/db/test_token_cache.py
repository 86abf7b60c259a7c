"""The API keeps who holds a token it has checked for ``TOKEN_CACHE_SECONDS`` (one small read per request
instead of the token and the account whole), never past the token's own expiry, never once the token is
gone from the database (signed out, in this process or another), and never remembers a refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.db.test_fuzz import _call, _sign_in
from tests.db.test_service import PACK, seed
from yibao.app.auth import Principal
from yibao.entrypoints.common import security
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import Token


def _delete_tokens(db: Database) -> None:
    with db.unit_of_work() as s:
        s.execute(sa.delete(Token))
        s.commit()


def test_a_checked_token_is_refused_once_signed_out_elsewhere_and_an_unknown_one_is_never_remembered(db: Database) -> None:
    seed(db)
    app = create_app(db, PACK)
    token = _sign_in(app, "clerk")
    assert _call(app, "GET", "/api/persons/P1", token).status_code == 200
    assert _call(app, "GET", "/api/persons/P1", token).status_code == 200  # from the cache
    _delete_tokens(db)  # as if signed out in another process: this one's cache does not outlive the token
    assert _call(app, "GET", "/api/persons/P1", token).status_code == 401
    assert _call(app, "GET", "/api/persons/P1", "no such token").status_code == 401


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_without_the_cache_every_request_asks_the_database(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "TOKEN_CACHE_SECONDS", 0.0)
    seed(db)
    app = create_app(db, PACK)
    token = _sign_in(app, "clerk")
    assert _call(app, "GET", "/api/persons/P1", token).status_code == 200
    _delete_tokens(db)
    assert _call(app, "GET", "/api/persons/P1", token).status_code == 401


def test_a_cached_token_never_outlives_its_expiry() -> None:
    cache = security.Principals()
    who = Principal("clerk", "clerk", None, "clerk")
    cache.put("a", who, datetime.now(UTC) + timedelta(hours=8))
    cache.put("b", who, datetime.now(UTC) - timedelta(seconds=1))
    assert cache.get("a") == who and cache.get("b") is None
