"""Cookie sign-in for the web window: the cookie holds an ordinary API token; POST forms carry a CSRF token.

Pages declare who may see them with ``Depends(page_user("permission"))`` (or ``page_user()`` for any
signed-in staff). Someone not signed in is sent to ``/login``; a role without the permission gets the
403 page. For POST (and other unsafe methods) the same dependency also checks the form field ``csrf``
against the session, so every form must carry ``<input type="hidden" name="csrf" value="{{ csrf }}">``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yibao.app import auth
from yibao.app.auth import PERMISSIONS, Principal
from yibao.entrypoints.common.security import (
    client_address,
    is_https,
    lookup_token,
    principals_of,
    settings_of,
    throttle_of,
)
from yibao.store.db import Database

SESSION_COOKIE = "yibao_session"
LOGIN_CSRF_COOKIE = "yibao_login_csrf"
LANG_COOKIE = "lang"
LANGS = ("zh", "en")
STAFF_ROLES = frozenset(role for role in PERMISSIONS if role != "institution")
"""Bureau staff use the window; a hospital system's account uses the national interface, and the window's
疑点 pages for its own cases only (:data:`INSTITUTION_PAGES`)."""
INSTITUTION_PAGES = frozenset({"suspects.own", "capitation.own"})
"""The permissions an institution's account may use in the window: its own 疑点 (list, detail, appeal) and its own
township's capitation statement."""
INSTITUTION_HOME = "/suspects"
OWN_ACCOUNT = "account.own"
"""What every signed-in account may do in the window, an institution's too: change its own password."""
PASSWORD_PAGE = "/account/password"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInNeeded(Exception):
    """Not signed in (or the session expired): the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeNeeded(Exception):
    """Signed in with a temporary password: every page but 修改密码 sends there first."""


class PageRefused(Exception):
    """The signed-in role may not use this page or action (or the form's CSRF token is wrong): a 403 page."""

    def __init__(self, permission: str | None, reason: str = "permission") -> None:
        super().__init__(permission or reason)
        self.permission = permission
        self.reason = reason


def can(user: Principal | None, permission: str | None) -> bool:
    """May ``user`` use what ``permission`` guards (``None``: any signed-in staff)?"""
    if user is None:
        return False
    if permission == OWN_ACCOUNT:
        return True
    if user.role not in STAFF_ROLES:
        return permission in INSTITUTION_PAGES and user.can(permission)
    return permission is None or user.can(permission)


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and 10 <= len(token) <= 200 else None


def current_user(request: Request) -> Principal | None:
    """The signed-in staff member, or ``None``; remembered on ``request.state.web_user``."""
    if hasattr(request.state, "web_user"):
        known: Principal | None = request.state.web_user
        return known
    token = session_token(request)
    who = lookup_token(request, token) if token else None
    request.state.web_user = who
    return who


def csrf_token(request: Request) -> str:
    """The CSRF token of this session: derived from the session token, so it is tied to it and needs no storage.

    Without a valid session (none, or an expired one) it is the sign-in form's token."""
    token = session_token(request)
    if token is None or current_user(request) is None:
        return login_csrf(request)
    return hashlib.sha256(f"yibao-csrf:{token}".encode()).hexdigest()


def login_csrf(request: Request) -> str:
    """Before sign-in: a random value in a cookie, echoed by the sign-in form (double submit)."""
    existing = request.cookies.get(LOGIN_CSRF_COOKIE)
    if existing and len(existing) == 43:
        return existing
    fresh: str | None = getattr(request.state, "login_csrf", None)
    if fresh is None:
        fresh = request.state.login_csrf = secrets.token_urlsafe(32)
    return fresh


async def check_csrf(request: Request) -> None:
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise PageRefused(None, "csrf")


def page_user(permission: str | None = None) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in staff member who may use ``permission`` (``None``: any staff)."""

    async def dependency(request: Request) -> Principal:
        who = await run_in_threadpool(current_user, request)  # a token not in the cache is looked up in the database
        if who is None:
            raise SignInNeeded(return_path(request))
        if who.must_change_password and permission != OWN_ACCOUNT:
            raise PasswordChangeNeeded()
        if not can(who, permission):
            raise PageRefused(permission)
        if request.method not in SAFE_METHODS:
            await check_csrf(request)
        return who

    return dependency


def return_path(request: Request) -> str:
    """The page to come back to (after sign-in, or a language switch): this one with its query, or for a
    form's POST the page the form is on (``/counter/settle`` -> ``/counter``)."""
    if request.method in SAFE_METHODS:
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return request.url.path.rsplit("/", 1)[0] or "/"


def safe_next(path: str | None) -> str:
    """A local path to go back to after sign-in or a language switch (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def login_url(next_path: str) -> str:
    return "/login" if next_path == "/" else f"/login?next={quote(next_path, safe='/')}"


def start_session(request: Request, response: Response, username: str, password: str) -> Principal:
    """Sign in (``InputError`` on a wrong name or password, ``SignInLocked`` after too many) and set the cookie."""
    done = auth.sign_in(request.app.state.db, username, password, client_address(request), throttle_of(request))
    keep_session(request, response, done)
    return done.who


def keep_session(request: Request, response: Response, done: auth.SignedIn) -> None:
    """The session cookie of a new sign-in (its token); the sign-in form's cookie is no longer needed."""
    set_session_cookie(request, response, done.token, done.expires)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")


def set_session_cookie(request: Request, response: Response, token: str, expires: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def secure_cookies(request: Request) -> bool:
    """Cookies are ``Secure`` when the request came over HTTPS (:func:`is_https`) or ``YIBAO_SECURE_COOKIES`` says so."""
    return is_https(request) or settings_of(request).secure_cookies


def end_session(request: Request, response: Response) -> None:
    """Sign out: the token is deleted (and forgotten by this process) and the cookie removed."""
    token = session_token(request)
    if token is not None:
        db: Database = request.app.state.db
        with db.unit_of_work() as s:
            auth.sign_out(s, token)
            s.commit()
        principals_of(request).known.pop(hashlib.sha256(token.encode()).hexdigest(), None)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
