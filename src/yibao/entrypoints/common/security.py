"""Who is calling and what they may do: bearer tokens, roles, Chinese refusals."""

import hashlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.app.auth import Principal, principal_until
from yibao.store.db import Database

bearer = HTTPBearer(auto_error=False, description="POST /api/auth/token 取得令牌 / get a token there")

TOKEN_CACHE_SECONDS = float(os.environ.get("YIBAO_TOKEN_CACHE_SECONDS", "30"))
"""How long a server process trusts a token it has checked before asking the database again (0: every
request asks). A token deleted or an account deactivated stops working at most this long later; a token
never outlives its own expiry."""


class Principals:
    """The tokens one app has checked: SHA-256 of the token -> (who, monotonic deadline)."""

    MAX = 10_000

    def __init__(self) -> None:
        self.known: dict[str, tuple[Principal, float]] = {}

    def get(self, key: str) -> Principal | None:
        hit = self.known.get(key)
        if hit is None or hit[1] <= time.monotonic():
            return None
        return hit[0]

    def put(self, key: str, who: Principal, expires: datetime) -> None:
        if len(self.known) >= self.MAX:
            self.known.clear()
        left = min(TOKEN_CACHE_SECONDS, (expires - datetime.now(UTC)).total_seconds())
        self.known[key] = (who, time.monotonic() + left)


def principals_of(request: Request) -> Principals:
    cache: Principals | None = getattr(request.app.state, "principals", None)
    if cache is None:
        cache = request.app.state.principals = Principals()
    return cache


def lookup_token(request: Request, token: str) -> Principal | None:
    """Who holds the token: from this app's recent checks, else from the database (one transaction)."""
    key = hashlib.sha256(token.encode()).hexdigest()
    cache = principals_of(request) if TOKEN_CACHE_SECONDS > 0 else None
    who = cache.get(key) if cache else None
    if who is not None:
        return who
    db: Database = request.app.state.db
    with db.unit_of_work() as s:
        found = principal_until(s, token)
    if found is None:
        return None
    if cache is not None:
        cache.put(key, *found)
    return found[0]


def current_principal(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    if cred is None:
        raise HTTPException(
            401,
            {"field": "Authorization", "message": "请先登录（缺少令牌）", "message_en": "sign in first"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    who = lookup_token(request, cred.credentials)
    if who is None:
        raise HTTPException(
            401,
            {"field": "Authorization", "message": "令牌无效或已过期，请重新登录", "message_en": "token invalid or expired"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = who
    return who


def require(permission: str) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not who.can(permission):
            raise HTTPException(
                403,
                {
                    "field": "role",
                    "value": who.role,
                    "expected": permission,
                    "message": f"当前角色（{who.role}）无权执行此操作（{permission}）",
                    "message_en": f"role {who.role} may not do {permission}",
                },
            )
        return who

    return check


Who = Annotated[Principal, Depends(current_principal)]
