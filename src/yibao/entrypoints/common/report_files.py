"""The bureau's reports as files, for the REST API and the web window alike: the charts there are, the workbook."""

from __future__ import annotations

from typing import Literal

from fastapi.responses import Response

from yibao.entrypoints.common.downloads import download
from yibao.reports.catalogue import ReportSet

ChartName = Literal["trend", "payers", "ratios"]


def workbook_download(rs: ReportSet, lang: str) -> Response:
    """Every table of the report as one .xlsx workbook (openpyxl is imported here, when a workbook is asked for)."""
    from yibao.reports.workbook import workbook_bytes

    return download(workbook_bytes(rs, lang), "报表.xlsx" if lang == "zh" else "report.xlsx", ascii_name="report.xlsx")
