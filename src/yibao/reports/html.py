"""The bureau's report as one self-contained HTML page: every table, the charts inline as SVG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from yibao.reports.charts import Chart
from yibao.reports.tables import TABLES, ReportSet, cell_text, column, header, is_total, note, title
from yibao.reports.workbook import about_lines

SECTION_CHARTS: dict[str, tuple[str, ...]] = {"ratios": ("ratios", "payers"), "monthly": ("trend",)}
"""Which charts stand above which table."""
TEXT = {"zh": {"title": "医疗保障统计报表"}, "en": {"title": "Medical security statistics"}}
NUMERIC = ("amount", "bp", "count")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


def section(name: str, rs: ReportSet, lang: str, charts: Mapping[str, Chart]) -> dict[str, Any]:
    df = rs.table(name)
    kinds = {c: column(c).kind in NUMERIC for c in df.columns}
    rows = [
        {"total": is_total(r), "cells": [Cell(cell_text(c, r[c], lang, rs.ctx), kinds[c]) for c in df.columns]}
        for r in df.iter_rows(named=True)
    ]
    return {
        "name": name,
        "title": title(name, lang),
        "headers": [header(c, lang) for c in df.columns],
        "rows": rows,
        "note": note(name, lang),
        "charts": [charts[c].svg for c in SECTION_CHARTS.get(name, ()) if c in charts],
    }


def render_html(rs: ReportSet, charts: Mapping[str, Chart], lang: str = "zh") -> str:
    """``report.html``: the about lines, a link per table, each table (with its charts) and its note."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("yibao", "templates"), autoescape=True)
    return env.get_template("report.html.j2").render(
        t=TEXT[lang],
        lang=lang,
        period=f"{rs.meta.start.isoformat()} – {rs.meta.end.isoformat()}",
        about=about_lines(rs, lang),
        sections=[section(name, rs, lang, charts) for name in TABLES],
    )
