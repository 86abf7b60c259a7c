"""Policy packs: every parameter of a pack with its value and source, and two packs (or two dates of one pack)
side by side with the differences highlighted. Any signed-in staff member may read them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from yibao.app.auth import Principal
from yibao.app.filings import catalogue_rows
from yibao.core.errors import InputError
from yibao.entrypoints.web import policy_view as pv
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import pack_of, policy_day
from yibao.entrypoints.web.forms import clean
from yibao.entrypoints.web.render import page_lang, render
from yibao.entrypoints.web.session import page_user
from yibao.policy.in_force import policy_or_first
from yibao.policy.pack import PolicyPack, shipped_packs

router = APIRouter()

STAFF = page_user()


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, who: Annotated[Principal, Depends(STAFF)]) -> HTMLResponse:
    lang = page_lang(request)
    current = pack_of(request)
    q = request.query_params
    values = {"pack": clean(q.get("pack")) or current.pack_id, "on": clean(q.get("on"), 10)}
    errors: dict[str, str] = {}
    pack = _pack(values, "pack", current, errors, lang)
    day = _day(pack, values, "on", errors, lang) if values["on"] else None
    context: dict[str, Any] = {
        "mode": "show",
        "values": values,
        "errors": errors,
        "choices": pv.pack_choices(current, lang),
        "pack": pack,
        "title": pv.title(pack, lang),
        "current": current.pack_id,
        "rows": pv.parameters(pack, day, lang),
        "dates": pack.change_dates(),
        "catalogue": catalogue_rows(policy_or_first(pack, day or pack.valid_from), lang),
    }
    return render(request, "policy.html.j2", context, status_code=422 if errors else 200)


@router.get("/policy/compare", response_class=HTMLResponse)
def compare_page(request: Request, who: Annotated[Principal, Depends(STAFF)]) -> HTMLResponse:
    lang = page_lang(request)
    current = pack_of(request)
    q = request.query_params
    other = next((n for n in shipped_packs() if n != current.pack_id), current.pack_id)
    values = {
        "a": clean(q.get("a")) or current.pack_id,
        "a_on": clean(q.get("a_on"), 10),
        "b": clean(q.get("b")) or other,
        "b_on": clean(q.get("b_on"), 10),
        "only": "1" if q.get("only") else "",
    }
    errors: dict[str, str] = {}
    a, b = _pack(values, "a", current, errors, lang), _pack(values, "b", current, errors, lang)
    same = a is b  # two dates of one pack: its first and last change dates by default
    values["a_on"] = values["a_on"] or (a.change_dates()[0] if same else policy_day(a)).isoformat()
    values["b_on"] = values["b_on"] or (b.change_dates()[-1] if same else policy_day(b)).isoformat()
    a_day, b_day = _day(a, values, "a_on", errors, lang), _day(b, values, "b_on", errors, lang)
    pairs = pv.side_by_side(a, a_day, b, b_day, lang)
    context: dict[str, Any] = {
        "mode": "compare",
        "values": values,
        "errors": errors,
        "choices": pv.pack_choices(current, lang),
        "a": a,
        "b": b,
        "a_title": pv.title(a, lang),
        "b_title": pv.title(b, lang),
        "pairs": [p for p in pairs if p.differs] if values["only"] else pairs,
        "total": len(pairs),
        "differ": sum(p.differs for p in pairs),
    }
    return render(request, "policy.html.j2", context, status_code=422 if errors else 200)


def _pack(values: dict[str, str], field: str, current: PolicyPack, errors: dict[str, str], lang: str) -> PolicyPack:
    """The pack named in ``values[field]``; the app's pack (and an error beside the field) when unknown."""
    try:
        return pv.pack_named(values[field], current)
    except InputError as e:
        errors[field] = error_text(e, lang)
        return current


def _day(pack: PolicyPack, values: dict[str, str], field: str, errors: dict[str, str], lang: str) -> date:
    """The day typed in ``values[field]`` if the pack covers it; the pack's first day (and an error) otherwise."""
    try:
        return pv.day_in(pack, values[field], field)
    except InputError as e:
        errors[field] = error_text(e, lang)
        return pack.valid_from
