"""The bureau's reports over HTTP: each table as JSON rows, the workbook, the charts.

Figures come from the ledger and the registry (:func:`yibao.app.report_sources.ledger_reports`)
for ``start``..``end`` (one calendar year at most) and a place (county, township, village, or
one institution). JSON amounts are integer fen and ratios integer basis points, as everywhere
in yibao's own API; every code column also comes with its words (``<column>_label``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator

from yibao.app.auth import Principal
from yibao.app.report_sources import ledger_reports
from yibao.app.schemas import Day, no_nul
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.downloads import XLSX
from yibao.entrypoints.common.report_files import ChartName, workbook_download
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of, pack_of
from yibao.reports.catalogue import CATALOGUE, TABLES, ReportSet
from yibao.reports.cells import CODE_KINDS
from yibao.rules.claims import Place

if TYPE_CHECKING:  # matplotlib and openpyxl are imported by the endpoints that draw or write: the server starts fast
    from yibao.reports.charts import Chart

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=refusals(400, 401, 403))

Lang = Literal["zh", "en"]
Reader = Annotated[Principal, Depends(require("reports"))]
PlaceText = Annotated[str | None, AfterValidator(no_nul)]


def report_set(
    request: Request,
    start: Annotated[Day, Query(description="开始日期（结算日期，含）YYYY-MM-DD")],
    end: Annotated[Day, Query(description="结束日期（含），与开始日期同一年度")],
    county: Annotated[PlaceText, Query(max_length=64, description="县（区）")] = None,
    township: Annotated[PlaceText, Query(max_length=64, description="乡镇（街道）")] = None,
    village: Annotated[PlaceText, Query(max_length=64, description="村（社区）")] = None,
    fixmedins_code: Annotated[PlaceText, Query(max_length=32, description="定点医疗机构编号")] = None,
) -> ReportSet:
    """Every table for the period and place, from the ledger (the pack of the year's enrolments, else the server's)."""
    place = Place(county, township, village, fixmedins_code)
    return ledger_reports(db_of(request), start, end, place, configured=pack_of(request))


Reports = Annotated[ReportSet, Depends(report_set)]
LangQuery = Annotated[Lang, Query(description="zh 中文（默认）/ en English")]


@router.get("")
def index(who: Reader, lang: LangQuery = "zh") -> dict[str, Any]:
    """报表与图表清单 / the reports and charts there are."""
    return {
        "reports": [{"name": r.name, "title": r.title_in(lang)} for r in CATALOGUE],
        "charts": list(get_args(ChartName)),
    }


@router.get("/workbook", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def workbook(who: Reader, rs: Reports, lang: LangQuery = "zh") -> Response:
    """全部报表的 Excel 工作簿（每表一页，元两位小数，比例为百分比）/ the workbook of every table."""
    return workbook_download(rs, lang)


def _chart(rs: ReportSet, chart: str, lang: str) -> Chart:
    from yibao.reports.charts import draw

    return draw(rs, lang, (chart,))[chart]


ChartPath = Annotated[ChartName, Path(description="trend 月度支出 / payers 支付方构成 / ratios 报销比例")]


@router.get("/charts/{chart}.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def chart_svg(who: Reader, rs: Reports, chart: ChartPath, lang: LangQuery = "zh") -> Response:
    """图表（SVG，文字为文本）/ a chart as SVG."""
    return Response(_chart(rs, chart, lang).svg, media_type="image/svg+xml")


@router.get("/charts/{chart}.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def chart_png(who: Reader, rs: Reports, chart: ChartPath, lang: LangQuery = "zh") -> Response:
    """图表（PNG）/ a chart as PNG."""
    return Response(_chart(rs, chart, lang).png, media_type="image/png")


def known_report(name: str) -> str:
    """A name of the report catalogue (``ValueError`` otherwise: a 422 naming the field)."""
    if name not in TABLES:
        raise ValueError(f"one of {', '.join(TABLES)}")
    return name


ReportPath = Annotated[
    str,
    Path(description="报表名称，见 GET /api/reports", json_schema_extra={"enum": list(TABLES)}),
    AfterValidator(known_report),
]


@router.get("/{name}")
def table(who: Reader, rs: Reports, name: ReportPath, lang: LangQuery = "zh") -> dict[str, Any]:
    """一张报表：各列（名称、中文/英文标题、类型）与各行（金额为分，比例为万分之一）/ one report as JSON rows."""
    report = rs.report(name)
    df = rs[name]
    cols = [report.column(c) for c in df.columns]
    codes = [c for c in cols if c.kind in CODE_KINDS]
    rows = []
    for r in df.iter_rows(named=True):
        rows.append({**r, **{f"{c.name}_label": c.text(r[c.name], lang, rs.ctx) for c in codes}})
    m = rs.meta
    return {
        "report": name,
        "title": report.title_in(lang),
        "note": report.note_in(lang),
        "start": m.start.isoformat(),
        "end": m.end.isoformat(),
        "place": {
            "county": m.place.county,
            "township": m.place.township,
            "village": m.place.village,
            "fixmedins_code": m.place.fixmedins_code,
        },
        "pack_id": m.pack_id,
        "units": {"amount": "fen", "bp": "basis points (1/10000)"},
        "columns": [{"name": c.name, "label": c.header(lang), "kind": c.kind} for c in cols],
        "rows": rows,
    }
