"""门诊统筹人头定额 in the window: choose a township and a month; the monthly statement (persons counted, the month's
prepayment, each institution's visits and amounts, what was paid by head and item by item, what the township owes
each clinic and by when), the year-end settlement with its score, the Excel workbook, and the score form for the
roles that may record it. An institution's account sees its own township only."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import capitation as svc
from yibao.app.auth import Principal
from yibao.app.capitation_workbook import counted_text, kind_text, workbook_bytes
from yibao.core.errors import InputError
from yibao.core.money import fmt_percent
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web import session
from yibao.entrypoints.web.deps import db_of, pack_of
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.render import page_lang, render, translator

router = APIRouter()
DONE = re.compile(r"^score\.(\d{1,3})$")


async def capitation_user(request: Request) -> Principal:
    """A dependency: a bureau role that reads the statements, or an institution (its own township); POST forms carry
    the session's CSRF token."""
    who = await run_in_threadpool(session.current_user, request)
    if who is None:
        raise session.SignInNeeded(session.return_path(request))
    if who.must_change_password:
        raise session.PasswordChangeNeeded()
    if not (session.can(who, "capitation.read") or session.can(who, "capitation.own")):
        raise session.PageRefused("capitation.read")
    if request.method not in session.SAFE_METHODS:
        await session.check_csrf(request)
    return who


Who = Annotated[Principal, Depends(capitation_user)]
Writer = Annotated[Principal, Depends(session.page_user("capitation.write"))]


def _choice(
    request: Request, who: Principal, source: Any
) -> tuple[list[str], str, list[tuple[int, int]], tuple[int, int] | None, str]:
    """(townships visible, the township chosen, its months with data, the month chosen, what is wrong with the month)."""
    lang = page_lang(request)
    wanted, month_text = clean(source.get("township"), 80), clean(source.get("month"), 16)
    with db_of(request).reading() as s:
        towns = svc.visible(s, who)
        if wanted and wanted not in towns:
            raise session.PageRefused("capitation.read")  # not one's own (or none such): refused, nothing told
        town = wanted or (towns[0] if towns else "")
        months = svc.months(s, town) if town else []
    if not month_text:
        return towns, town, months, (months[-1] if months else None), ""
    try:
        return towns, town, months, svc.check_month(month_text), ""
    except InputError:
        return towns, town, months, None, translator(lang)("年月应为 YYYY-MM，如 2020-03", "A month as YYYY-MM, e.g. 2020-03")


def _query(township: str, month: tuple[int, int] | None, **more: str) -> str:
    q = {"township": township} | ({"month": f"{month[0]}-{month[1]:02d}"} if month else {}) | more
    return urlencode(q)


@router.get("/capitation", response_class=HTMLResponse)
def capitation_page(request: Request, who: Who) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    towns, town, months, month, bad_month = _choice(request, who, request.query_params)
    context: dict[str, Any] = {
        "towns": towns, "township": town, "months": [f"{y}-{m:02d}" for y, m in months],
        "month": f"{month[0]}-{month[1]:02d}" if month else clean(request.query_params.get("month"), 16),
        "errors": {"month": bad_month} if bad_month else {}, "statement": None, "year_end": None, "problem": "",
        "kind_text": lambda h: kind_text(h, lang), "percent": fmt_percent, "query": _query(town, month),
        "year_query": _query(town, month, year_end="1"), "notice": "",
    }  # fmt: skip
    done = DONE.match(request.query_params.get("done", ""))
    if done:
        context["notice"] = t(f"已录入考核得分 {done[1]} 分。", f"Score {done[1]} recorded.")
    if town and month:
        try:
            with db_of(request).reading() as s:
                st = svc.statement(s, town, month[0], month[1], pack_of(request))
                ye = svc.year_end(s, town, month[0], pack_of(request))
                history = svc.scores(s, town, month[0])
        except InputError as e:
            context["problem"] = e.render(lang)
        else:
            context |= {"statement": st.statement, "pack_id": st.pack_id, "counted": counted_text(st.block.counted, lang),
                        "year_end": ye.year_end, "score_row": ye.score, "history": history}  # fmt: skip
    status = 422 if bad_month else 200
    return render(request, "capitation.html.j2", context, status_code=status)


@router.get("/capitation/statement.xlsx", response_model=None)
def workbook(request: Request, who: Who) -> Response:
    """The month's sheet and the year-end sheet (``year_end=1``: the year-end sheet only)."""
    lang = page_lang(request)
    _, town, _, month, bad = _choice(request, who, request.query_params)
    if not town or month is None or bad:
        raise session.PageRefused("capitation.read", "no month")
    only_year = request.query_params.get("year_end") == "1"
    with db_of(request).reading() as s:
        st = None if only_year else svc.statement(s, town, month[0], month[1], pack_of(request))
        ye = svc.year_end(s, town, month[0], pack_of(request))
    data = workbook_bytes(st, ye, lang)
    name = f"人头定额年终结算-{town}-{month[0]}.xlsx" if only_year else f"人头定额结算单-{town}-{month[0]}-{month[1]:02d}.xlsx"
    ascii_name = f"capitation-{month[0]}.xlsx" if only_year else f"capitation-{month[0]}-{month[1]:02d}.xlsx"
    return download(data, name, ascii_name=ascii_name, no_store=True)


@router.post("/capitation/score", response_class=HTMLResponse)
def record_score(request: Request, who: Writer, form: Posted) -> Response:
    """Record the township's score for the month's year; a bad score is said next to the field."""
    lang = page_lang(request)
    town, month_text = clean(form.get("township"), 80), clean(form.get("month"), 16)
    try:
        year, _ = svc.check_month(month_text)
        with db_of(request).unit_of_work() as s:
            svc.check_visible(s, who, town)
            row = svc.record_score(s, town, year, clean(form.get("score"), 8), clean(form.get("note"), 255), who.username)
            s.commit()
            score = row.score
    except InputError as e:
        lang_error = e.render(lang)
        return render(request, "capitation.html.j2", _score_error(request, who, town, month_text, lang_error), status_code=422)
    return RedirectResponse(f"/capitation?{urlencode({'township': town, 'month': month_text, 'done': f'score.{score}'})}", 303)


def _score_error(request: Request, who: Principal, town: str, month_text: str, error: str) -> dict[str, Any]:
    """The page again with the score's error (the statement left out: the form is what needs fixing)."""
    lang = page_lang(request)
    with db_of(request).reading() as s:
        towns = svc.visible(s, who)
        months = svc.months(s, town) if town in towns else []
    return {
        "towns": towns, "township": town, "months": [f"{y}-{m:02d}" for y, m in months], "month": month_text,
        "errors": {"score": error}, "statement": None, "year_end": None, "problem": "", "notice": "",
        "kind_text": lambda h: kind_text(h, lang), "percent": fmt_percent, "query": "", "year_query": "",
    }  # fmt: skip
