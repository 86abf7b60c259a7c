"""The bureau's report as one workbook (openpyxl): a sheet about the report, then a sheet per catalogue entry.

The house pattern of :mod:`yibao.app.enrolment_workbook`: headers bold on a blue fill, the header row
frozen, amounts as exact yuan formatted ``#,##0.00``, ratios as exact fractions formatted
``0.00%``, counts ``#,##0``; subtotal and total rows in bold; written to a temporary file and
renamed, so a failure leaves nothing.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

# the house helpers of the enrolment workbooks (not in that module's __all__)
from yibao.core.i18n import t as _t
from yibao.core.xlsx import AMOUNT, COUNT, PERCENT, yuan
from yibao.core.xlsx import BOLD as _BOLD
from yibao.core.xlsx import cell as _cell
from yibao.core.xlsx import header as _header
from yibao.core.xlsx import put as _put
from yibao.core.xlsx import save as _save
from yibao.core.xlsx import sheet_title as _sheet_title
from yibao.core.xlsx import widths as _widths
from yibao.reports.about import about_lines
from yibao.reports.catalogue import Report, ReportSet
from yibao.reports.cells import CODE_KINDS, Column, is_total

FORMATS = {"amount": AMOUNT, "bp": PERCENT, "count": COUNT}
WIDTHS = {"amount": 18.0, "bp": 14.0, "count": 11.0, "text": 16.0}


def cell_value(col: Column, value: Any, rs: ReportSet, lang: str) -> Any:
    """What goes in a cell: exact yuan, a fraction for a ratio, a count, or words for a code."""
    if value is None:
        return None
    if col.kind == "amount":
        return yuan(int(value))
    if col.kind == "bp":
        return Decimal(int(value)) / 10_000
    if col.kind == "count":
        return int(value)
    return col.text(value, lang, rs.ctx) if col.kind in CODE_KINDS else value


def _width(col: Column, df: pl.DataFrame, lang: str) -> float:
    wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in col.header(lang)) * 0.9 + 2
    if col.kind in WIDTHS:
        return max(WIDTHS[col.kind], min(wide, 26))
    longest = max((len(str(v)) for v in df[col.name].to_list() if v is not None), default=4)
    return max(10.0, min(max(wide, longest * 2.0 + 2), 36))


def _table_sheet(ws: Worksheet, report: Report, rs: ReportSet, lang: str) -> None:
    df = rs[report.name]
    cols = [report.column(c) for c in df.columns]
    _header(ws, 1, [c.header(lang) for c in cols])
    fmts = [FORMATS.get(c.kind) for c in cols]
    r = 1
    for r, row in enumerate(df.iter_rows(named=True), start=2):
        _put(ws, r, [cell_value(c, row[c.name], rs, lang) for c in cols], fmts)
        if is_total(row):
            for col in range(1, len(cols) + 1):
                ws.cell(row=r, column=col).font = _BOLD
    _cell(ws, r + 2, 1, report.note_in(lang))
    ws.freeze_panes = "A2"
    _widths(ws, [_width(c, df, lang) for c in cols])
    ws.row_dimensions[1].height = 32


def build_workbook(rs: ReportSet, lang: str = "zh") -> Workbook:
    wb = Workbook()
    about = wb.active
    about.title = _t(lang, "说明", "about")
    for r, text in enumerate(about_lines(rs, lang), start=1):
        _cell(about, r, 1, text)
    about.cell(row=1, column=1).font = _BOLD
    _widths(about, [110])
    for report in rs.reports:
        _table_sheet(wb.create_sheet(_sheet_title(report.title_in(lang), set(wb.sheetnames))), report, rs, lang)
    return wb


def write_workbook(path: Path, rs: ReportSet, lang: str = "zh") -> None:
    """``报表.xlsx``: the about sheet, then a sheet per table."""
    _save(build_workbook(rs, lang), path)


def workbook_bytes(rs: ReportSet, lang: str = "zh") -> bytes:
    buf = io.BytesIO()
    build_workbook(rs, lang).save(buf)
    return buf.getvalue()
