"""Who is calling and what they may do: bearer tokens, roles, Chinese refusals."""

import hashlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.app.auth import Principal, Throttle, generation_of, principal_until
from yibao.core.settings import Settings
from yibao.store.db import Database

bearer = HTTPBearer(auto_error=False, description="POST /api/auth/token 取得令牌 / get a token there")

TOKEN_CACHE_SECONDS = float(os.environ.get("YIBAO_TOKEN_CACHE_SECONDS", "30"))
"""How long a server process keeps who holds a token it has checked (0: not at all). Each request still
asks the database, in one small read, whether the token is still stored and its account active with the
token generation it was checked with: a token signed out, a changed password or a disabled account is
refused by every worker process from the next request on (bound: none), and a token never outlives its
own expiry. What the cache saves is reading the token and the account whole."""


class Principals:
    """The tokens one app has checked: SHA-256 of the token -> (who, monotonic deadline, token generation)."""

    MAX = 10_000

    def __init__(self) -> None:
        self.known: dict[str, tuple[Principal, float, int]] = {}

    def hit(self, key: str) -> tuple[Principal, int] | None:
        """Who holds the token and the account's token generation when it was checked, while still trusted."""
        found = self.known.get(key)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0], found[2]

    def get(self, key: str) -> Principal | None:
        found = self.hit(key)
        return found[0] if found else None

    def put(self, key: str, who: Principal, expires: datetime, generation: int = 0) -> None:
        if len(self.known) >= self.MAX:
            self.known.clear()
        left = min(TOKEN_CACHE_SECONDS, (expires - datetime.now(UTC)).total_seconds())
        self.known[key] = (who, time.monotonic() + left, generation)


def principals_of(request: Request) -> Principals:
    cache: Principals | None = getattr(request.app.state, "principals", None)
    if cache is None:
        cache = request.app.state.principals = Principals()
    return cache


def lookup_token(request: Request, token: str) -> Principal | None:
    """Who holds the token: from this app's recent checks while the token is still stored and its account's
    token generation unchanged (one small read), else from the database (one transaction)."""
    key = hashlib.sha256(token.encode()).hexdigest()
    cache = principals_of(request) if TOKEN_CACHE_SECONDS > 0 else None
    hit = cache.hit(key) if cache else None
    db: Database = request.app.state.db
    # read-only work takes no writer's turn: on SQLite a request never queues behind a settlement here
    if hit is not None:
        with db.read_connection() as conn:  # a plain connection: an ORM session costs more than the read
            if generation_of(conn, hit[0].username, key) == hit[1]:
                return hit[0]
    with db.reading() as s:
        found = principal_until(s, token)
    if cache is not None:
        cache.known.pop(key, None)
        if found is not None:
            cache.put(key, found.who, found.expires, found.generation)
    return found.who if found else None


def settings_of(request: Request) -> Settings:
    """The configuration the app was made with."""
    settings: Settings = request.app.state.settings
    return settings


def is_https(request: Request) -> bool:
    """Did the request come over HTTPS: to this server, or to a reverse proxy trusted to say so
    (``YIBAO_TRUST_PROXY``: ``X-Forwarded-Proto``)?"""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return settings_of(request).trust_proxy and forwarded == "https"


def client_address(request: Request) -> str:
    """The caller's address, for counting failed sign-ins: the connection's, or behind a trusted reverse
    proxy (``YIBAO_TRUST_PROXY``) the last address of ``X-Forwarded-For`` (the one that proxy added)."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if settings_of(request).trust_proxy and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:128]
    return request.client.host if request.client else "unknown"


def throttle_of(request: Request) -> Throttle:
    return Throttle.of(settings_of(request))


PASSWORD_PATH = "/api/auth/password"
"""The one call a holder of a temporary password may make: changing it."""


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
    if who.must_change_password and request.url.path != PASSWORD_PATH:
        raise HTTPException(
            403,
            {
                "field": "password",
                "message": "当前密码是管理员设置的临时密码，请先修改密码（POST /api/auth/password）",
                "message_en": f"the password is a temporary one set by an administrator: change it first (POST {PASSWORD_PATH})",
            },
        )
    request.state.principal = who
    return who


def forbidden_body(permission: str, role: str) -> dict[str, str]:
    """What a 403 says: the role, the permission it lacks, in both languages."""
    return {
        "field": "role",
        "value": role,
        "expected": permission,
        "message": f"当前角色（{role}）无权执行此操作（{permission}）",
        "message_en": f"role {role} may not do {permission}",
    }


def forbidden(permission: str, who: Principal) -> HTTPException:
    """The 403 for a caller whose role lacks ``permission``, naming both."""
    return HTTPException(403, forbidden_body(permission, who.role))


def require(permission: str) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not who.can(permission):
            raise forbidden(permission, who)
        return who

    return check


Who = Annotated[Principal, Depends(current_principal)]
