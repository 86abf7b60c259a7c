"""The bureau's report as one self-contained HTML page: every report of the set, the charts inline as SVG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2

from yibao.reports.about import about_lines
from yibao.reports.catalogue import Report, ReportSet
from yibao.reports.cells import is_total

if TYPE_CHECKING:  # the charts come drawn: matplotlib is not needed to lay out the tables
    from yibao.reports.charts import Chart

TEXT = {"zh": {"title": "医疗保障统计报表"}, "en": {"title": "Medical security statistics"}}


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


def section(report: Report, rs: ReportSet, lang: str, charts: Mapping[str, Chart]) -> dict[str, Any]:
    """One report's title, headers, rows of cells, note and the charts it shows (those of ``charts``)."""
    df = rs[report.name]
    cols = [report.column(c) for c in df.columns]
    rows = [
        {"total": is_total(r), "cells": [Cell(c.text(r[c.name], lang, rs.ctx), c.numeric) for c in cols]}
        for r in df.iter_rows(named=True)
    ]
    return {
        "name": report.name,
        "title": report.title_in(lang),
        "headers": [c.header(lang) for c in cols],
        "rows": rows,
        "note": report.note_in(lang),
        "charts": [charts[c].svg for c in report.charts if c in charts],
    }


def sections(rs: ReportSet, lang: str, charts: Mapping[str, Chart]) -> list[dict[str, Any]]:
    """A section per report of the set, in its order (the HTML report's and the web page's)."""
    return [section(report, rs, lang, charts) for report in rs.reports]


def render_html(rs: ReportSet, charts: Mapping[str, Chart], lang: str = "zh") -> str:
    """``report.html``: the about lines, a link per report, each report (with its charts) and its note."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("yibao", "templates"), autoescape=True)
    return env.get_template("report.html.j2").render(
        t=TEXT[lang],
        lang=lang,
        period=f"{rs.meta.start.isoformat()} – {rs.meta.end.isoformat()}",
        about=about_lines(rs, lang),
        sections=sections(rs, lang, charts),
    )
