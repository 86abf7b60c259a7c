"""The administrator's accounts page: every account, its role and sign-in lock; create one (an institution account
bound to an existing institution), disable or enable it, reset its password (a one-time temporary password, or one
the administrator sets; either must be changed at next sign-in), change its role; and the audit trail of all of it.

Disabling, a reset and a changed role end the account's sessions and API tokens at once (:mod:`yibao.app.auth`)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import auth
from yibao.app.auth import Principal
from yibao.core.errors import InputError
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.render import page_lang, render, role_label, translator
from yibao.entrypoints.web.session import page_user
from yibao.store.service_tables import Institution

router = APIRouter()
ADMIN = page_user("accounts")
NEW_FIELDS = ("username", "display_name", "role", "fixmedins_code", "password")
ACTIONS = ("disable", "enable", "reset", "role")


def _page(
    request: Request,
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    issued: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    only = clean(request.query_params.get("user"), 64) or None
    with db_of(request).unit_of_work() as s:
        rows = auth.accounts(s)
        events = auth.account_events(s, only)
        insts = s.execute(sa.select(Institution.fixmedins_code, Institution.fixmedins_name).order_by(Institution.fixmedins_code))
        institutions = [("", t("（非定点机构账号）", "(not an institution account)"))] + [(c, f"{c} {n}") for c, n in insts]
    roles = {role: role_label(role, lang) for role in auth.ROLES}
    context: dict[str, Any] = {
        "accounts": rows, "roles": roles, "role_options": list(roles.items()), "institutions": institutions,
        "events": events, "detail_text": lambda d: auth.detail_text(d, lang),
        "actions": {k: t(*v) for k, v in auth.ACTIONS.items()}, "only": only,
        "error": error, "errors": errors or {}, "values": values or {"temporary": "1"}, "issued": issued,
    }  # fmt: skip
    return render(request, "accounts.html.j2", context, status_code=status_code)


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, who: Annotated[Principal, Depends(ADMIN)]) -> Response:
    return _page(request)


def _institution(role: str, chosen: str) -> str | None:
    """The institution chosen on the form, for an institution account; a staff account's form may leave one chosen
    (the select stays as it was when the role changes), which is no choice at all."""
    return (chosen or None) if role == "institution" else None


def _issued(username: str, password: str, chosen: bool) -> dict[str, str] | None:
    """The one-time notice of a generated temporary password (none when the administrator typed it)."""
    return None if chosen else {"username": username, "password": password}


@router.post("/accounts", response_class=HTMLResponse)
def create(request: Request, who: Annotated[Principal, Depends(ADMIN)], form: Posted) -> Response:
    """A new account: the password typed, or a temporary one generated and shown once."""
    lang = page_lang(request)
    values = {k: clean(form.get(k), 128 if k == "password" else 64) for k in NEW_FIELDS}
    values["temporary"] = "1" if form.get("temporary") else ""
    password = values.pop("password") or auth.temporary_password()
    temporary = bool(values["temporary"]) or not form.get("password")
    try:
        with db_of(request).unit_of_work() as s:
            auth.create_account(
                s, values["username"], password, values["role"], who.username, display_name=values["display_name"],
                fixmedins_code=_institution(values["role"], values["fixmedins_code"]), temporary=temporary,
            )  # fmt: skip
            s.commit()
    except InputError as e:
        field = e.field if e.field in NEW_FIELDS else "username"
        return _page(request, errors={field: error_text(e, lang)}, values=values, status_code=422)
    return _page(
        request, issued=_issued(values["username"], password, bool(form.get("password"))) or {"created": values["username"]}
    )


@router.post("/accounts/{username}/{action}", response_class=HTMLResponse)
def change(request: Request, username: str, action: str, who: Annotated[Principal, Depends(ADMIN)], form: Posted) -> Response:
    """Disable or enable an account, reset its password or change its role: its sessions and tokens end at once."""
    if action not in ACTIONS:
        return _page(request, status_code=404)
    username = username[:64]
    issued: dict[str, str] | None = None
    try:
        with db_of(request).unit_of_work() as s:
            if action == "reset":
                typed = clean(form.get("password"), 128)
                _account, password = auth.reset_password(s, username, who.username, typed or None)
                issued = _issued(username, password, bool(typed)) or {"reset": username}
            elif action == "role":
                role = clean(form.get("role"), 16)
                auth.set_role(s, username, role, who.username, _institution(role, clean(form.get("fixmedins_code"), 32)))
            else:
                auth.set_active(s, username, action == "enable", who.username)
            s.commit()
    except InputError as e:
        return _page(request, error=f"{username}：{error_text(e, page_lang(request))}", status_code=422)
    if issued is not None:
        return _page(request, issued=issued)
    return RedirectResponse("/accounts", status_code=303)
