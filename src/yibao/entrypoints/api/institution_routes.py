"""Institution anomalies over HTTP (机构异常监测): the ranked list, one institution's indicators, its charts.

Read by the roles that read the bureau's reports (auditor, monitoring, analyst, admin). Figures are integers
in their unit (``bp`` basis points, ``fen``, ``milli_day`` thousandths of a day), each with its numerator and
denominator; every code comes with its words in the language asked for (``lang``, Chinese by default).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from yibao.app.auth import Principal
from yibao.app.institution_anomalies import (
    Query as AnomalyQuery,
)
from yibao.app.institution_anomalies import (
    Result,
    cached_anomalies,
    check_query,
    draw_chart,
    institution_detail,
    shown_row,
)
from yibao.audit.indicators import BY_CODE
from yibao.audit.institutions import (
    DIRECTION_LABELS,
    INDICATOR_LABELS,
    INDICATOR_NOTES,
    KIND_LABELS,
    indicator_label,
    shown,
)
from yibao.core.i18n import pick
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of, pack_of

router = APIRouter(prefix="/api/audit/institutions", tags=["audit"], responses=refusals(400, 401, 403, 422))

Lang = Literal["zh", "en"]
Reader = Annotated[Principal, Depends(require("reports"))]
LangQuery = Annotated[Lang, Query(description="zh 中文（默认）/ en English")]
Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="定点医疗机构编号 fixmedins_code")]


def anomaly_query(
    year: Annotated[int, Query(ge=1, le=9999, description="年度")],
    month: Annotated[str | None, Query(max_length=7, description="只看一个月 YYYY-MM")] = None,
    level: Annotated[int | None, Query(ge=0, le=99, description="医院等级 1/2/3")] = None,
    indicator: Annotated[str | None, Query(max_length=32, description="指标：" + ", ".join(BY_CODE))] = None,
) -> AnomalyQuery:
    return check_query(year, month, level, indicator)


Asked = Annotated[AnomalyQuery, Depends(anomaly_query)]


def analysis(request: Request, q: Asked) -> Result:
    with db_of(request).unit_of_work() as s:
        return cached_anomalies(s, q, pack_of(request))


Analysis = Annotated[Result, Depends(analysis)]


def _query(r: Result) -> dict[str, Any]:
    q = r.query
    return {
        "year": q.year, "month": q.month, "level": q.level, "indicator": q.indicator, "months": q.months,
        "made_at": r.made_at.isoformat(),
    }  # fmt: skip


def _indicators(lang: str) -> list[dict[str, str]]:
    return [
        {"code": c, "label": indicator_label(c, lang), "note": pick(INDICATOR_NOTES[c], lang), "unit": BY_CODE[c].unit}
        for c in INDICATOR_LABELS
    ]


DEFAULT_CHART = "cost_per_admission"
UNITS = {"bp": "basis points (1/10000)", "fen": "fen", "milli_day": "thousandths of a day"}


def _township_row(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """A township's flag (``code`` is the township) with its words: the indicator, the value and the peers' median."""
    return {
        **row,
        "text": {
            "indicator": indicator_label(row["indicator"], lang),
            "value": shown(row["value"], row["unit"], lang),
            "median": shown(row["median"], row["unit"], lang),
            "direction": pick(DIRECTION_LABELS[row["direction"]], lang),
            "kind": pick(KIND_LABELS[row["kind"]], lang),
        },
    }


@router.get("")
def ranked(who: Reader, r: Analysis, lang: LangQuery = "zh") -> dict[str, Any]:
    """机构异常排名（同级四分位围栏与自身趋势）、各机构汇总与乡镇视图 / the ranked institution anomalies."""
    a = r.anomalies
    rows = [{**row, "name": r.name(row["code"]), "text": shown_row(r, row, lang)} for row in r.ranked().iter_rows(named=True)]
    summary = [
        {**row, "name": r.name(row["code"]), "township": r.townships.get(row["code"])} for row in a.summary.iter_rows(named=True)
    ]
    served = [{**row, "name": r.name(row["fixmedins_code"])} for row in a.served.iter_rows(named=True)]
    return {
        "query": _query(r),
        "units": UNITS,
        "indicators": _indicators(lang),
        "ranked": rows,
        "institutions": summary,
        "townships": {"served": served, "ranked": [_township_row(row, lang) for row in a.townships.ranked.iter_rows(named=True)]},
    }


@router.get("/{code}", responses=refusals(404))
def institution(who: Reader, r: Analysis, code: Code, lang: LangQuery = "zh") -> dict[str, Any]:
    """一个机构的月度指标、同级区间与异常 / one institution's indicators, its peers' bands and its flags."""
    ind = institution_detail(r, code)
    group = str(r.levels.get(code, ""))
    a = r.anomalies.institutions
    bands = a.bands.filter(a.bands["group"] == group)
    flags = a.ranked.filter(a.ranked["code"] == code)
    return {
        "query": _query(r),
        "code": code,
        "name": r.name(code),
        "hosp_lv": r.levels.get(code),
        "township": r.townships.get(code),
        "units": UNITS,
        "indicators": _indicators(lang),
        "values": ind.to_dicts(),
        "bands": bands.to_dicts(),
        "flags": [{**row, "text": shown_row(r, row, lang)} for row in flags.iter_rows(named=True)],
    }


@router.get(
    "/{code}/chart.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **refusals(404)},
)
def chart_svg(who: Reader, r: Analysis, code: Code, lang: LangQuery = "zh") -> Response:
    """机构某指标（indicator，默认次均住院费用）的月度曲线与同级区间（SVG）/ an institution's indicator against its
    peers' band (the cost per admission unless ``indicator`` says)."""
    institution_detail(r, code)
    return Response(draw_chart(r, code, r.query.indicator or DEFAULT_CHART, lang).svg, media_type="image/svg+xml")


@router.get(
    "/{code}/chart.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **refusals(404)},
)
def chart_png(who: Reader, r: Analysis, code: Code, lang: LangQuery = "zh") -> Response:
    """同上（PNG）/ the same chart as PNG."""
    institution_detail(r, code)
    return Response(draw_chart(r, code, r.query.indicator or DEFAULT_CHART, lang).png, media_type="image/png")
