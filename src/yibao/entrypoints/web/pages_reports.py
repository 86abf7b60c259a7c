"""The reports page: every table of the bureau's report for a period and a place, the three charts, the workbook.

The period is a month, or from/to dates within one calendar year (one date alone: the rest of its year;
nothing: the pack's year). The place is a county, township or village from the ``person`` table and/or an
institution. The same query (as typed) serves the page, the workbook (``/reports/workbook``) and the
charts (``/reports/charts/<name>.svg|png``), which answer exactly as the API's report endpoints do.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yibao.app.auth import Principal
from yibao.app.report_sources import check_period, ledger_reports, month_period, parse_date
from yibao.core.errors import InputError
from yibao.core.i18n import paren
from yibao.entrypoints.common.report_files import ChartName, workbook_download
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day
from yibao.entrypoints.web.pages_counter import institutions
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.reports.catalogue import ReportSet
from yibao.reports.cells import place_label
from yibao.rules.claims import Place
from yibao.store.tables import Person

if TYPE_CHECKING:  # matplotlib and openpyxl are imported when a report is shown: the server starts fast
    from yibao.reports.charts import Chart

router = APIRouter()

READ = page_user("reports")
WHERE = "report"
PERIOD_FIELDS = ("month", "start", "end")
PLACE_FIELDS = ("county", "township", "village", "fixmedins_code")
FIELDS = (*PERIOD_FIELDS, *PLACE_FIELDS)
MAX_LEN = 64
DRAWN_KEEP = 16
"""Chart sets kept (drawing takes most of the page's time; a report seen again, or its charts downloaded, reuses them)."""
_drawn: OrderedDict[str, dict[str, Chart]] = OrderedDict()
_drawn_lock = threading.Lock()


def period_error(e: InputError, lang: str) -> str:
    return error_text(e, lang)


@dataclass
class ReportForm:
    """The query as typed (shown again), the errors per field, and what it asks for when there are none."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    start: date | None = None
    end: date | None = None
    place: Place = field(default_factory=Place)

    @property
    def query(self) -> str:
        """The query as typed (empty fields left out), for the downloads of the same report."""
        return urlencode({k: v for k, v in self.values.items() if v})


def _date(form: ReportForm, name: str, lang: str) -> date | None:
    text = form.values[name]
    if not text:
        return None
    try:
        return parse_date(text, WHERE, name)
    except InputError as e:
        form.errors[name] = period_error(e, lang)
        return None


def _month(text: str) -> tuple[date, date]:
    """:func:`month_period`, a year too large for a date also an ``InputError`` (``month_period`` lets it overflow)."""
    try:
        return month_period(text, WHERE, "month")
    except OverflowError:
        raise InputError(WHERE, "month", text, "a month written YYYY-MM, e.g. 2022-05") from None


def _period(form: ReportForm, year: int, lang: str) -> None:
    """Set ``form.start``/``form.end`` from the month or the dates (or the whole ``year``), or an error per field."""
    t = translator(lang)
    v = form.values
    fields: tuple[str, str] = ("start", "end")
    try:
        if v["month"]:
            if v["start"] or v["end"]:
                form.errors["month"] = t("请只填月份，或只填起止日期", "Give a month or dates, not both")
                return
            start, end = _month(v["month"])
            fields = ("month", "month")
        else:
            first, last = _date(form, "start", lang), _date(form, "end", lang)
            if form.errors:
                return
            start = first or (date(last.year, 1, 1) if last else date(year, 1, 1))
            end = last or date(start.year, 12, 31)
        check_period(start, end, WHERE, fields)
    except InputError as e:
        form.errors[e.field] = period_error(e, lang)
        return
    form.start, form.end = start, end


Options = dict[str, list[tuple[str, str]]]


def place_options(s: Session, lang: str) -> Options:
    """The place selects' (value, text) pairs: the registry's counties, townships and villages, and the institutions."""
    every = ("", translator(lang)("全部", "all"))

    def distinct(*columns: Any) -> list[tuple[str, ...]]:
        q = sa.select(*columns).where(columns[-1].is_not(None), columns[-1] != "").distinct().order_by(*columns)
        return [tuple(str(x) for x in r) for r in s.execute(q)]

    villages = distinct(Person.village, Person.township)
    known = institutions(s)
    return {
        "county": [every, *((c, c) for (c,) in distinct(Person.county))],
        "township": [every, *((w, w) for (w,) in distinct(Person.township))],
        "village": [every, *((vil, vil + paren(town, lang)) for vil, town in villages)],
        "fixmedins_code": [every, *((i.fixmedins_code, i.fixmedins_name + paren(i.fixmedins_code, lang)) for i in known)],
    }


def _typed(raw: object) -> str:
    return raw.replace("\x00", "").strip()[:MAX_LEN] if isinstance(raw, str) else ""


def read_form(params: Mapping[str, Any], options: Options, year: int, lang: str) -> ReportForm:
    """The period and place asked for in ``params`` (an unknown place or a bad period: an error beside its field)."""
    t = translator(lang)
    form = ReportForm({name: _typed(params.get(name)) for name in FIELDS})
    _period(form, year, lang)
    for name in PLACE_FIELDS:
        if form.values[name] and form.values[name] not in {value for value, _ in options[name]}:
            form.errors[name] = t(
                "不在登记的地区或机构中，请从列表中选择", "Not a registered place or institution; choose from the list"
            )
    if not form.errors:
        form.place = Place(*(form.values[name] or None for name in PLACE_FIELDS))
    return form


def _read(request: Request) -> tuple[ReportForm, Options]:
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        options = place_options(s, lang)
    return read_form(request.query_params, options, policy_day(pack_of(request)).year, lang), options


def _reports(request: Request, form: ReportForm) -> ReportSet:
    assert form.start is not None and form.end is not None
    return ledger_reports(db_of(request), form.start, form.end, form.place, configured=pack_of(request))


def charts_of(rs: ReportSet, lang: str) -> dict[str, Chart]:
    """The report's charts (:func:`yibao.reports.charts.draw`), drawn once per language and content of the report."""
    from yibao.reports.charts import draw

    content = "\n".join([lang, repr(rs.meta), repr(rs.ctx), *(df.write_csv() for df in rs.tables().values())])
    key = hashlib.sha256(content.encode()).hexdigest()
    with _drawn_lock:
        if key in _drawn:
            _drawn.move_to_end(key)
            return _drawn[key]
    charts = draw(rs, lang)
    with _drawn_lock:
        _drawn[key] = charts
        while len(_drawn) > DRAWN_KEEP:
            _drawn.popitem(last=False)
    return charts


def _lang(request: Request) -> Literal["zh", "en"]:
    return "en" if page_lang(request) == "en" else "zh"


def latest_alerts(rs: ReportSet, lang: str) -> list[str]:
    """The budget warnings of the report's last month, as sentences (all of them are in the 基金预算预警 table)."""
    from yibao.reports.budget import warning_lines

    alerts = rs.get("budget_warnings")
    if alerts is None or alerts.height == 0:
        return []
    return warning_lines(alerts.filter(alerts["month"] == alerts["month"].max()), lang)


def _page(request: Request, form: ReportForm, options: Options) -> HTMLResponse:
    """The form, and when it holds no error every table and chart."""
    context: dict[str, Any] = {
        "values": form.values,
        "errors": form.errors,
        "options": options,
        "query": form.query,
        "report": None,
    }
    if not form.errors:
        from yibao.reports.about import about_lines
        from yibao.reports.html import sections  # the standalone HTML report's rows: the same words and cells

        began = time.perf_counter()
        rs = _reports(request, form)
        lang = _lang(request)
        context["report"] = {
            "start": rs.meta.start,
            "end": rs.meta.end,
            "place": place_label(rs.meta.place, lang),
            "about": about_lines(rs, lang),
            "sections": sections(rs, lang, {}),
            "charts": charts_of(rs, lang),
            "budget_alerts": latest_alerts(rs, lang),
            "took_ms": round((time.perf_counter() - began) * 1000),
        }
    return render(request, "reports.html.j2", context, status_code=422 if form.errors else 200)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, who: Annotated[Principal, Depends(READ)]) -> HTMLResponse:
    return _page(request, *_read(request))


@router.get("/reports/workbook", response_model=None)
def workbook(request: Request, who: Annotated[Principal, Depends(READ)]) -> Response:
    """The workbook of every table (the API's); a bad query: the page with its errors."""
    form, options = _read(request)
    if form.errors:
        return _page(request, form, options)
    return workbook_download(_reports(request, form), _lang(request))


@router.get("/reports/charts/{chart}.{fmt}", response_model=None)
def chart_file(
    request: Request, who: Annotated[Principal, Depends(READ)], chart: ChartName, fmt: Literal["svg", "png"]
) -> Response:
    """One chart as SVG or PNG (as the page shows it)."""
    form, options = _read(request)
    if form.errors:
        return _page(request, form, options)
    drawn = charts_of(_reports(request, form), _lang(request))[chart]
    body, media = (drawn.svg.encode(), "image/svg+xml") if fmt == "svg" else (drawn.png, "image/png")
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{chart}.{fmt}"'})
