"""Rendering web pages: the Jinja2 environment, what every template gets, and the navigation.

Every template receives ``user`` (a :class:`Principal` or ``None``), ``lang`` (``zh``/``en``), ``t(zh, en)``,
``money(fen)`` (also a filter: ``{{ 123456|money }}`` -> ``1,234.56``), ``mask(certno)``, ``label(field)``
(national field name -> label in the page language), ``can(permission)``, ``csrf`` (for POST forms),
``identity_label(code)``, ``line_label(code)``, ``med_type_label(code)``, ``source_label(bureau)``,
``channel_label(code)`` (names of codes), ``paren(text)``, ``colon`` and ``sep`` (punctuation in the page's
language), ``nav`` (the entries the user may use), ``path`` (the current path) and ``here`` (path and query to
come back to); the filter ``local_time`` shows a recorded (UTC) time, a datetime or its ISO text, in Beijing time
(:func:`yibao.core.clock.beijing_text`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from yibao.app.auth import ROLES
from yibao.core import i18n
from yibao.core.clock import beijing_text
from yibao.core.idcard import mask
from yibao.core.money import fmt_yuan
from yibao.core.vocab import LEDGER_MARKS, SOURCES, channel_label, field_label, label, med_type_label
from yibao.entrypoints.web import session
from yibao.entrypoints.web.deps import pack_of, policy_day
from yibao.policy.categories import identity_label
from yibao.policy.pack import PolicyPack

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"


@dataclass(frozen=True)
class NavItem:
    path: str
    zh: str
    en: str
    permission: str | None
    """``None``: any signed-in staff member."""


NAV: tuple[NavItem, ...] = (
    NavItem("/", "首页", "Home", None),
    NavItem("/counter", "结算窗口", "Counter", "settle"),
    NavItem("/persons", "人员查询", "People", "person.read"),
    NavItem("/imports", "导入", "Imports", "imports"),
    NavItem("/conflicts", "同人异号核查", "ID conflicts", "imports"),
    NavItem("/enrolment", "参保", "Enrolment", "enrolment.read"),
    NavItem("/backpay", "补差", "Back-pay", "backpay"),
    NavItem("/warnings", "预警", "Warnings", "warnings.read"),
    NavItem("/suspects", "疑点", "Suspect cases", "suspects.read"),
    NavItem("/suspects", "本机构疑点", "Our suspect cases", "suspects.own"),
    NavItem("/reports", "报表", "Reports", "reports"),
    NavItem("/budget", "基金预算", "Budget", "reports"),
    NavItem("/capitation", "人头定额", "Capitation", "capitation.read"),
    NavItem("/capitation", "本乡镇人头定额", "Our township's capitation", "capitation.own"),
    NavItem("/audit/rules", "规则库", "Rules", "audit.rules"),
    NavItem("/audit/institutions", "机构监测", "Institutions", "reports"),
    NavItem("/reconcile", "对账核验", "Reconcile", "reconcile"),
    NavItem("/policy", "政策", "Policy", None),
    NavItem("/leaflet", "政策问答", "Leaflet", None),
    NavItem("/whatif", "测算", "What-if", "policy.whatif"),
    NavItem("/accounts", "账号", "Accounts", "accounts"),
)
"""The navigation in display order; an entry shows only for roles with its permission."""

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["money"] = fmt_yuan
env.filters["local_time"] = beijing_text
env.globals["mask"] = mask


def page_lang(request: Request) -> str:
    lang = request.cookies.get(session.LANG_COOKIE, "zh")
    return lang if lang in session.LANGS else "zh"


def translator(lang: str) -> Callable[[str, str], str]:
    """``t(zh, en)`` for one page's language (:func:`yibao.core.i18n.t`)."""

    def say(zh: str, en: str) -> str:
        return i18n.t(lang, zh, en)

    return say


def punctuation(lang: str) -> dict[str, Any]:
    """Chinese or English punctuation around a page's words: ``paren(n)`` -> ``（n）`` / `` (n)``, ``colon``, ``sep``."""
    zh = lang == "zh"
    return {
        "paren": lambda text: i18n.paren(text, lang),
        "colon": "：" if zh else ": ",
        "sep": "、" if zh else ", ",
    }


def nav_for(request: Request) -> list[dict[str, Any]]:
    user = session.current_user(request)
    here = request.url.path
    lang = page_lang(request)
    return [
        {
            "path": item.path,
            "label": i18n.t(lang, item.zh, item.en),
            "active": here == item.path or (item.path != "/" and here.startswith(item.path + "/")),
        }
        for item in NAV
        if session.can(user, item.permission)
    ]


def role_label(role: str, lang: str) -> str:
    return label(ROLES, role, lang)


def line_label(pack: PolicyPack, code: str, lang: str) -> str:
    """A benefit line's name (``inpatient`` -> 普通住院) from the app's policy pack."""
    line = pack.at(policy_day(pack)).lines.get(code)
    if line is None:
        return code
    return i18n.t(lang, line.label_zh, line.label_en)


def page_context(request: Request) -> dict[str, Any]:
    """What every page template gets (see the module docstring)."""
    user = session.current_user(request)
    lang = page_lang(request)
    return {
        "request": request,
        "user": user,
        "role_label": role_label(user.role, lang) if user else "",
        "lang": lang,
        "t": translator(lang),
        **punctuation(lang),
        "money": fmt_yuan,
        "label": lambda name: field_label(name, lang),
        "identity_label": lambda code: identity_label(code, lang),
        "line_label": lambda code: line_label(pack_of(request), code, lang),
        "med_type_label": lambda code: med_type_label(code, lang),
        "source_label": lambda code: label(SOURCES, code, lang),
        "channel_label": lambda code: channel_label(code, lang),
        "ledger_mark": lambda kind: label(LEDGER_MARKS, kind, lang),
        "can": lambda permission=None: session.can(user, permission),
        "csrf": session.csrf_token(request),
        "nav": nav_for(request),
        "path": request.url.path,
        "here": session.return_path(request),
    }


def render(request: Request, template_name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render ``templates/web/<template_name>`` with the common context plus ``context``."""
    html = env.get_template(template_name).render({**page_context(request), **(context or {})})
    response = HTMLResponse(html, status_code=status_code)
    fresh = getattr(request.state, "login_csrf", None)
    if fresh and request.cookies.get(session.LOGIN_CSRF_COOKIE) != fresh:
        secure = session.secure_cookies(request)
        response.set_cookie(session.LOGIN_CSRF_COOKIE, fresh, path="/", httponly=True, samesite="lax", secure=secure)
    response.headers["Cache-Control"] = "no-store"
    return response
