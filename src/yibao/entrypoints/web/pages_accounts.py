"""The administrator's accounts page: every account, its role and sign-in lock; disable or enable one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import auth
from yibao.app.auth import Principal
from yibao.core.errors import InputError
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of
from yibao.entrypoints.web.render import page_lang, render, role_label
from yibao.entrypoints.web.session import page_user

router = APIRouter()
ADMIN = page_user("accounts")


def _page(request: Request, error: str = "", status_code: int = 200) -> HTMLResponse:
    with db_of(request).unit_of_work() as s:
        rows = auth.accounts(s)
    lang = page_lang(request)
    roles = {role: role_label(role, lang) for role in auth.ROLES}
    return render(request, "accounts.html.j2", {"accounts": rows, "roles": roles, "error": error}, status_code=status_code)


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, who: Annotated[Principal, Depends(ADMIN)]) -> Response:
    return _page(request)


@router.post("/accounts/{username}/{action}", response_class=HTMLResponse)
def set_active(request: Request, username: str, action: str, who: Annotated[Principal, Depends(ADMIN)]) -> Response:
    """Disable (its sessions and tokens end at once) or enable (its sign-in lock lifted) an account."""
    if action not in ("disable", "enable"):
        return _page(request, status_code=404)
    try:
        with db_of(request).unit_of_work() as s:
            auth.set_active(s, username[:64], action == "enable", who.username)
            s.commit()
    except InputError as e:
        return _page(request, f"{username[:64]}：{error_text(e, page_lang(request))}", status_code=422)
    return RedirectResponse("/accounts", status_code=303)
