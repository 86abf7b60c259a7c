"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.core.errors import InputError
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
        else:
            if who.role in session.STAFF_ROLES:
                return response
            errors["username"] = t("定点机构账号请使用国家接口", "Institution accounts use the national interface")
    return render(request, "login.html.j2", {"values": values, "errors": errors}, status_code=422)


@router.post("/logout")
async def logout(request: Request) -> Response:
    if session.current_user(request) is not None:
        await session.check_csrf(request)
    response = RedirectResponse("/login", status_code=303)
    session.end_session(request, response)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> Response:
    response = RedirectResponse(session.safe_next(next), status_code=303)
    if code in session.LANGS:
        response.set_cookie(session.LANG_COOKIE, code, max_age=365 * 24 * 3600, path="/", samesite="lax")
    return response
