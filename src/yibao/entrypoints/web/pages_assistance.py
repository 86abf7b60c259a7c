"""依申请救助 in the window: from the person page, preview the look-back bills and the amount, confirm once, print
the slip; a decided application's page with its reversal. Opened from a warning (``?warning=``), the decision is
also recorded on the warning as its help (:func:`yibao.app.warnings.assist_by_application`, one transaction)."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import assistance, ledger, settlements, slips
from yibao.app import warnings as warning_svc
from yibao.app.auth import Principal
from yibao.core.errors import InputError, NotFound
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day
from yibao.entrypoints.web.forms import IDEM, reversal_form
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import PageRefused, can, page_user
from yibao.settlement.trace import render as render_trace

router = APIRouter()

APPLY = page_user("assistance")
READ = page_user("person.read")
KEY = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
"""A person's number or an application's id as the window takes it in a path."""
WARNING = re.compile(r"^[1-9]\d{0,8}$")
"""The warning an application is made from (``?warning=``)."""


def _warning_of(text: str) -> int | None:
    return int(text) if WARNING.match(text) else None


def _not_found(request: Request, key: str, what: tuple[str, str]) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t(*what), "key": key[:40]}, status_code=404)


def _day(text: str, fallback: date) -> date | None:
    try:
        return date.fromisoformat(text) if text else fallback
    except ValueError:
        return None


def _base(
    psn_no: str, values: dict[str, str], errors: dict[str, str] | None = None, warning: int | None = None
) -> dict[str, Any]:
    """What every state of the page names (a preview not yet made, no decided entry)."""
    idem = secrets.token_hex(12)
    return {"psn_no": psn_no, "values": values, "errors": errors or {}, "idem": idem, "notice": "", "entry": None,
            "reversed_by": None, "app": None, "warning": warning}  # fmt: skip


def _context(app: assistance.Application, lang: str) -> dict[str, Any]:
    return {"app": app, "r": app.result, "bills": app.bills, "trace": render_trace(app.result.trace, lang)}


@router.get("/persons/{psn_no}/assistance", response_class=HTMLResponse)
def preview(
    request: Request, psn_no: str, who: Annotated[Principal, Depends(APPLY)], on: Annotated[str, Query(max_length=10)] = "",
    warning: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:  # fmt: skip
    """The application of the day asked for (the window's day by default): the bills it counts and what it pays."""
    if not KEY.match(psn_no):
        return _not_found(request, psn_no, ("人员", "person"))
    lang = page_lang(request)
    t = translator(lang)
    pack = pack_of(request)
    day = _day(on.replace("\x00", ""), policy_day(pack))
    values = {"on": on or policy_day(pack).isoformat()}
    errors: dict[str, str] = {}
    context = _base(psn_no, values, errors, _warning_of(warning))
    if day is None:
        errors["on"] = t("应为：YYYY-MM-DD 格式的日期", "expected a date written YYYY-MM-DD")
        return render(request, "assistance.html.j2", context, status_code=422)
    with db_of(request).reading() as s:
        try:
            app = assistance.apply_for_assistance(s, pack, psn_no, day, who.username)
        except NotFound:
            return _not_found(request, psn_no, ("人员", "person"))
        except InputError as e:
            errors["on"] = error_text(e, lang)
            return render(request, "assistance.html.j2", context, status_code=422)
    return render(request, "assistance.html.j2", context | _context(app, lang))


@router.post("/persons/{psn_no}/assistance", response_class=HTMLResponse)
def confirm(
    request: Request,
    psn_no: str,
    who: Annotated[Principal, Depends(APPLY)],
    on: Annotated[str, Form(max_length=10)] = "",
    idem: Annotated[str, Form(max_length=64)] = "",
    warning: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Decide the previewed application, exactly once per preview (a double submit decides once); made from a
    warning, it is recorded on the warning too (``warnings.work`` needed)."""
    if not KEY.match(psn_no):
        return _not_found(request, psn_no, ("人员", "person"))
    lang = page_lang(request)
    t = translator(lang)
    pack = pack_of(request)
    day = _day(on.replace("\x00", ""), policy_day(pack))
    wid = _warning_of(warning)
    if wid is not None and not can(who, "warnings.work"):
        raise PageRefused("warnings.work")
    context = _base(psn_no, {"on": on}, warning=wid)
    if day is None or not IDEM.match(idem):
        context["errors"]["on"] = t("请先预览，再确认", "Preview first, then confirm")
        return render(request, "assistance.html.j2", context, status_code=422)
    key = ledger.message_key("web", who.username, idem)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        if wid is not None:
            w, done = warning_svc.assist_by_application(s, pack, wid, day, who.username, source="web", msgid=key)
            if w.psn_no != psn_no:  # the warning of someone else: nothing of it is kept
                raise InputError(
                    f"预警 {wid}", "warning", wid, f"a warning of person {psn_no}", expected_zh=f"人员 {psn_no} 的预警"
                )
        else:
            done = assistance.apply_for_assistance(s, pack, psn_no, day, who.username, confirm=True, msgid=key)
        return {"setl_id": done.setl_id}, f"apply:{done.setl_id}"

    try:
        asked = [psn_no, day.isoformat(), wid]
        answer, _ = settlements.once(db_of(request), key, "apply", who.username, asked, work)
    except NotFound:
        return _not_found(request, psn_no, ("人员", "person"))
    except InputError as e:
        context["errors"]["on"] = error_text(e, lang)
        return render(request, "assistance.html.j2", context, status_code=422)
    if wid is not None:
        return RedirectResponse(f"/warnings/{wid}?done=assisted#events", status_code=303)
    return RedirectResponse(f"/assistance/{answer['setl_id']}?decided=1", status_code=303)


def _decided(request: Request, setl_id: str, **extra: Any) -> HTMLResponse:
    if not KEY.match(setl_id):
        return _not_found(request, setl_id, ("依申请救助", "application"))
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        try:
            app = assistance.get(s, setl_id)
        except NotFound:
            return _not_found(request, setl_id, ("依申请救助", "application"))
        entry = ledger.get_entry(s, setl_id)
        listed = {a["setl_id"]: a for a in assistance.of_person(s, entry.person_id)}
        s.expunge_all()
    status = extra.pop("status_code", 200)
    context = _base(app.person.psn_no, {}) | {"entry": entry, "reversed_by": listed[setl_id]["reversed_by"]} | extra
    return render(request, "assistance.html.j2", context | _context(app, lang), status_code=status)


@router.get("/assistance/{setl_id}", response_class=HTMLResponse)
def application_page(
    request: Request, setl_id: str, who: Annotated[Principal, Depends(READ)], decided: str = "", reversed: str = ""
) -> HTMLResponse:
    return _decided(request, setl_id, notice="decided" if decided else "reversed" if reversed else "")


@router.post("/assistance/{setl_id}/reverse", response_class=HTMLResponse)
def reverse(
    request: Request,
    setl_id: str,
    who: Annotated[Principal, Depends(APPLY)],
    reason: Annotated[str, Form(max_length=1000)] = "",
    idem: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if not KEY.match(setl_id):
        return _not_found(request, setl_id, ("依申请救助", "application"))
    lang = page_lang(request)
    t = translator(lang)
    reason, problem = reversal_form(reason, idem, t)
    if problem:
        return _decided(request, setl_id, values={"reason": reason}, errors={"reason": problem}, status_code=422)
    key = ledger.message_key("web", who.username, idem)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        done = assistance.reverse(s, setl_id, reason, who.username, msgid=key)
        return {"setl_id": done.setl_id}, f"reverse:{done.setl_id}"

    try:
        settlements.once(db_of(request), key, "reverse", who.username, [setl_id, reason], work)
    except NotFound:
        return _not_found(request, setl_id, ("依申请救助", "application"))
    except InputError as e:
        return _decided(request, setl_id, values={"reason": reason}, errors={"reason": error_text(e, lang)}, status_code=422)
    return RedirectResponse(f"/assistance/{setl_id}?reversed=1", status_code=303)


@router.get("/assistance/{setl_id}/slip", response_class=HTMLResponse)
def slip_page(request: Request, setl_id: str, who: Annotated[Principal, Depends(READ)]) -> Response:
    """The application's one-page A4 slip (the settlement slip's machinery)."""
    if not KEY.match(setl_id):
        return _not_found(request, setl_id, ("依申请救助", "application"))
    with db_of(request).unit_of_work() as s:
        try:
            assistance.get(s, setl_id)
            view = slips.build_slip(s, setl_id, pack_of(request))
        except NotFound:
            return _not_found(request, setl_id, ("依申请救助", "application"))
    return HTMLResponse(slips.render_html(view))
