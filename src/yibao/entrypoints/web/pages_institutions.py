"""The institution anomaly page (机构异常监测) of the auditor's desk: the ranked flags (filters: year, month,
level, indicator), each institution's summary, the township view; an institution's page with its flags and
a chart per indicator (its monthly line against its peers' band, ``/audit/institutions/<code>/chart.svg``).

For the roles that read the bureau's reports (auditor, monitoring, analyst, admin). The analysis is the API's
(:mod:`yibao.app.institution_anomalies`), cached while the ledger is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from yibao.app.auth import Principal
from yibao.app.institution_anomalies import (
    LEVELS,
    Query,
    Result,
    cached_anomalies,
    check_query,
    draw_chart,
    shown_row,
    township_view,
)
from yibao.audit.indicators import BY_CODE
from yibao.audit.institutions import INDICATOR_LABELS, INDICATOR_NOTES, indicator_label
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import pick
from yibao.core.vocab import HOSP_LEVELS, label
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day
from yibao.entrypoints.web.forms import clean
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.store.service_tables import LedgerEntry

router = APIRouter()

READ = page_user("reports")
FIELDS = ("year", "month", "level", "indicator")
LIST_LIMIT = 200
CODE_MAX = 32
Reader = Annotated[Principal, Depends(READ)]


def _default_year(request: Request) -> int:
    """The year of the ledger's latest settlement (the demo's 2022), else the policy's day."""
    with db_of(request).unit_of_work() as s:
        last = s.scalar(sa.select(sa.func.max(LedgerEntry.setl_date)))
    if last is not None:
        return int(last.year)
    return policy_day(pack_of(request)).year


def read_query(request: Request, params: Mapping[str, Any], lang: str) -> tuple[Query | None, dict[str, str], dict[str, str]]:
    """(the query or None, the values as typed, errors per field)."""
    values = {name: clean(params.get(name), 16) for name in FIELDS}
    errors: dict[str, str] = {}
    t = translator(lang)
    if not values["year"]:
        values["year"] = str(_default_year(request))
    numbers: dict[str, int | None] = {}
    for name in ("year", "level"):
        text = values[name]
        numbers[name] = int(text) if text.isdigit() and len(text) <= 4 else None
        if text and numbers[name] is None:
            errors[name] = t("请填写数字", "a number, please")
    if errors:
        return None, values, errors
    year = numbers["year"]
    assert year is not None
    try:
        q = check_query(year, values["month"] or None, numbers["level"], values["indicator"] or None)
    except InputError as e:
        errors[e.field] = error_text(e, lang)
        return None, values, errors
    return q, values, errors


def _options(lang: str) -> dict[str, list[tuple[str, str]]]:
    every = ("", translator(lang)("全部", "all"))
    return {
        "level": [every, *((str(lv), label(HOSP_LEVELS, lv, lang)) for lv in LEVELS)],
        "indicator": [every, *((code, indicator_label(code, lang)) for code in INDICATOR_LABELS)],
    }


def _indicators(lang: str) -> list[dict[str, str]]:
    return [{"code": c, "label": indicator_label(c, lang), "note": pick(INDICATOR_NOTES[c], lang)} for c in INDICATOR_LABELS]


def _query_string(q: Query, **extra: object) -> str:
    pairs = {"year": q.year, "month": q.month, "level": q.level, "indicator": q.indicator} | extra
    return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


def _summary(r: Result, lang: str) -> list[dict[str, Any]]:
    rows = r.anomalies.summary
    if r.query.level is not None:
        rows = rows.filter(pl.col("group") == str(r.query.level))
    return [
        {**row, "name": r.name(row["code"]), "level": label(HOSP_LEVELS, row["group"], lang),
         "township": r.townships.get(row["code"]),
         "worst": f"{row['worst_milli'] / 1000:.2f}" if row["worst_milli"] is not None else "—"}
        for row in rows.iter_rows(named=True)
    ]  # fmt: skip


@router.get("/audit/institutions", response_class=HTMLResponse)
def institutions_page(request: Request, who: Reader) -> HTMLResponse:
    lang = page_lang(request)
    q, values, errors = read_query(request, request.query_params, lang)
    context: dict[str, Any] = {"values": values, "errors": errors, "options": _options(lang), "indicators": _indicators(lang)}
    if q is None:
        return render(request, "audit_institutions.html.j2", {**context, "result": None}, status_code=422)
    with db_of(request).unit_of_work() as s:
        r = cached_anomalies(s, q, pack_of(request))
    ranked = r.ranked()
    rows = [shown_row(r, row, lang) for row in ranked.head(LIST_LIMIT).iter_rows(named=True)]
    context |= {
        "result": r,
        "rows": rows,
        "total": ranked.height,
        "limit": LIST_LIMIT,
        "summary": _summary(r, lang),
        "townships": township_view(r, lang),
        "query": _query_string(q),
        "period": q.month or str(q.year),
    }
    return render(request, "audit_institutions.html.j2", context)


def _not_found(request: Request, code: str) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t("定点机构", "institution"), "key": code}, status_code=404)


def _year_of(request: Request, lang: str) -> Query | None:
    """An institution's page and charts show the whole year of the list's query (month, level and indicator
    narrow the list only)."""
    q, _values, _errors = read_query(request, {"year": request.query_params.get("year")}, lang)
    return q


@router.get("/audit/institutions/{code}", response_class=HTMLResponse)
def institution_page(request: Request, who: Reader, code: str) -> HTMLResponse:
    lang = page_lang(request)
    code = clean(code, CODE_MAX)
    q = _year_of(request, lang)
    if q is None:
        return _not_found(request, code)
    with db_of(request).unit_of_work() as s:
        r = cached_anomalies(s, q, pack_of(request))
    own = r.anomalies.indicators.filter((pl.col("code") == code) & pl.col("month").is_in(q.months))
    if own.height == 0:
        return _not_found(request, code)
    flags = r.anomalies.institutions.ranked.filter(pl.col("code") == code)
    present = set(own["indicator"].to_list())
    context = {
        "code": code,
        "name": r.name(code),
        "level": label(HOSP_LEVELS, r.levels.get(code, ""), lang),
        "township": r.townships.get(code),
        "flags": [shown_row(r, row, lang) for row in flags.iter_rows(named=True)],
        "charts": [
            {"indicator": c, "label": indicator_label(c, lang), "query": _query_string(q, indicator=c)}
            for c in BY_CODE
            if c in present
        ],
        "indicators": _indicators(lang),
        "back": urlencode({k: v for k, v in request.query_params.items() if k in FIELDS}),
        "period": str(q.year),
    }
    return render(request, "audit_institution.html.j2", context)


@router.get("/audit/institutions/{code}/chart.svg", response_model=None)
def chart(request: Request, who: Reader, code: str) -> Response:
    lang = page_lang(request)
    code = clean(code, CODE_MAX)
    q = _year_of(request, lang)
    indicator = clean(request.query_params.get("indicator"), 32) or "cost_per_admission"
    if q is None or indicator not in BY_CODE:
        return _not_found(request, code)
    with db_of(request).unit_of_work() as s:
        r = cached_anomalies(s, q, pack_of(request))
    try:
        svg = draw_chart(r, code, indicator, lang).svg
    except NotFound:
        return _not_found(request, code)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
