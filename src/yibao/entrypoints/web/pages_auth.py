"""Sign-in (throttled: a lock says how long to wait), sign-out, one's own password, and the language switch."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import auth
from yibao.app.auth import Principal, SignInLocked
from yibao.core.errors import InputError
from yibao.entrypoints.common.security import client_address, throttle_of
from yibao.entrypoints.web import session
from yibao.entrypoints.web.render import page_lang, render, translator

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    if session.current_user(request) is not None:
        return RedirectResponse(session.safe_next(next), status_code=303)
    return render(request, "login.html.j2", {"values": {"next": session.safe_next(next)}, "errors": {}})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    t = translator(page_lang(request))
    values = {"username": username.strip(), "next": session.safe_next(next)}
    errors: dict[str, str] = {}
    if not hmac.compare_digest(csrf, session.login_csrf(request)):
        errors["form"] = t("页面已过期，请重新输入并登录。", "The page expired; please sign in again.")
    elif not values["username"]:
        errors["username"] = t("请输入用户名", "Enter your user name")
    elif not password:
        errors["password"] = t("请输入密码", "Enter your password")
    if not errors:
        response = RedirectResponse(values["next"], status_code=303)
        try:
            who = session.start_session(request, response, values["username"][:64], password)
        except InputError:
            errors["password"] = t("用户名或密码不正确", "Wrong user name or password")
        except SignInLocked as locked:
            errors["password"] = locked.message(page_lang(request))
            page = render(request, "login.html.j2", {"values": values, "errors": errors}, status_code=429)
            page.headers["Retry-After"] = str(locked.seconds)
            return page
        else:
            if who.must_change_password:  # a temporary password: the holder chooses their own first
                response.headers["location"] = session.PASSWORD_PAGE
                return response
            if who.role in session.STAFF_ROLES:
                return response
            if session.can(who, "suspects.own"):  # an institution: its own 疑点 only
                own = (session.INSTITUTION_HOME, "/capitation")
                wanted = values["next"] if values["next"].startswith(own) else session.INSTITUTION_HOME
                response.headers["location"] = wanted
                return response
            errors["username"] = t("定点机构账号请使用国家接口", "Institution accounts use the national interface")
    return render(request, "login.html.j2", {"values": values, "errors": errors}, status_code=422)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(
    request: Request, who: Annotated[Principal, Depends(session.page_user(session.OWN_ACCOUNT))], done: str = ""
) -> Response:
    return render(request, "password.html.j2", {"errors": {}, "done": done == "1"})


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    who: Annotated[Principal, Depends(session.page_user(session.OWN_ACCOUNT))],
    old_password: Annotated[str, Form(max_length=128)] = "",
    new_password: Annotated[str, Form(max_length=128)] = "",
    new_password2: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """One's own password: every session of the account ends, in every server process; this one goes on
    with a new token (the page after the redirect carries the new session's CSRF token)."""
    lang = page_lang(request)
    t = translator(lang)
    errors: dict[str, str] = {}
    if not old_password:
        errors["old_password"] = t("请输入当前密码", "Enter your current password")
    elif len(new_password) < 8:
        errors["new_password"] = t("新密码至少 8 个字符", "The new password needs at least 8 characters")
    elif new_password != new_password2:
        errors["new_password2"] = t("两次输入的新密码不一致", "The two new passwords differ")
    if errors:
        return render(request, "password.html.j2", {"errors": errors, "done": False}, status_code=422)
    try:
        done = auth.change_password(
            request.app.state.db, who.username, old_password, new_password, client_address(request), throttle_of(request)
        )
    except SignInLocked as locked:
        errors["old_password"] = locked.message(lang)
        return render(request, "password.html.j2", {"errors": errors, "done": False}, status_code=429)
    except InputError:
        errors["old_password"] = t("当前密码不正确", "The current password is wrong")
        return render(request, "password.html.j2", {"errors": errors, "done": False}, status_code=422)
    response = RedirectResponse("/account/password?done=1", status_code=303)
    session.keep_session(request, response, done)
    return response


async def signed_out_form(request: Request) -> None:
    """A dependency: a signed-in session's sign-out form must carry its CSRF token (checked on the event loop)."""
    if await run_in_threadpool(session.current_user, request) is not None:
        await session.check_csrf(request)


@router.post("/logout", dependencies=[Depends(signed_out_form)])
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    session.end_session(request, response)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    response = RedirectResponse(session.safe_next(next), status_code=303)
    if code in session.LANGS:
        response.set_cookie(
            session.LANG_COOKIE, code, max_age=365 * 24 * 3600, path="/", samesite="lax", secure=session.secure_cookies(request)
        )
    return response
