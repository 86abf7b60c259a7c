"""The bureau's report as one workbook (openpyxl): a sheet per table and a sheet about the report.

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
from yibao.core.xlsx import header as _header
from yibao.core.xlsx import put as _put
from yibao.core.xlsx import save as _save
from yibao.core.xlsx import widths as _widths
from yibao.reports.tables import CODE_KINDS, TABLES, ReportSet, cell_text, column, header, is_total, note, place_label, title

FORMATS = {"amount": AMOUNT, "bp": PERCENT, "count": COUNT}
WIDTHS = {"amount": 18.0, "bp": 14.0, "count": 11.0, "text": 16.0}



def cell_value(name: str, value: Any, rs: ReportSet, lang: str) -> Any:
    """What goes in a cell: exact yuan, a fraction for a ratio, a count, or words for a code."""
    if value is None:
        return None
    kind = column(name).kind
    if kind == "amount":
        return yuan(int(value))
    if kind == "bp":
        return Decimal(int(value)) / 10_000
    if kind == "count":
        return int(value)
    return cell_text(name, value, lang, rs.ctx) if kind in CODE_KINDS else value


def _width(name: str, df: pl.DataFrame, lang: str) -> float:
    kind = column(name).kind
    head = header(name, lang)
    wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in head) * 0.9 + 2
    if kind in WIDTHS:
        return max(WIDTHS[kind], min(wide, 26))
    longest = max((len(str(v)) for v in df[name].to_list() if v is not None), default=4)
    return max(10.0, min(max(wide, longest * 2.0 + 2), 36))


def _table_sheet(ws: Worksheet, name: str, rs: ReportSet, lang: str) -> None:
    df = rs.table(name)
    names = df.columns
    _header(ws, 1, [header(c, lang) for c in names])
    fmts = [FORMATS.get(column(c).kind) for c in names]
    r = 1
    for r, row in enumerate(df.iter_rows(named=True), start=2):
        _put(ws, r, [cell_value(c, row[c], rs, lang) for c in names], fmts)
        if is_total(row):
            for col in range(1, len(names) + 1):
                ws.cell(row=r, column=col).font = _BOLD
    ws.cell(row=r + 2, column=1, value=note(name, lang))
    ws.freeze_panes = "A2"
    _widths(ws, [_width(c, df, lang) for c in names])
    ws.row_dimensions[1].height = 32


def about_lines(rs: ReportSet, lang: str) -> list[str]:
    """Period, place, source and pack, for the workbook's first lines and the HTML page."""
    m = rs.meta
    source = _t(lang, "结算台账", "the ledger") if m.source == "ledger" else _t(lang, "批量测算结果", "a batch simulation")
    place = place_label(m.place, lang)
    lines = [
        _t(
            lang,
            f"报表期间：{m.start.isoformat()} 至 {m.end.isoformat()}",
            f"Period: {m.start.isoformat()} to {m.end.isoformat()}",
        ),
        _t(lang, f"地区/机构：{place}", f"Place / institution: {place}"),
        _t(lang, f"数据来源：{source}（{m.detail}）", f"Source: {source} ({m.detail})"),
        _t(lang, f"政策包：{m.pack_id or '未知'}", f"Policy pack: {m.pack_id or 'unknown'}"),
    ]
    if m.cutoff is not None:
        lines.append(
            _t(
                lang,
                f"资助类别按政策包缴费截止日 {m.cutoff.isoformat()} 所持身份；人员类别按 {m.year} 年 1 月 1 日所持身份。",
                f"Subsidy categories as held on the pack's cut-off day {m.cutoff.isoformat()}; categories on 1 January {m.year}.",
            )
        )
    if m.place.fixmedins_code:
        lines.append(
            _t(
                lang,
                "按机构统计时，参保、资助参保和筹资仍按地区（不按机构）。",
                "With an institution, enrolment, premium subsidies and income are still for the place, not the institution.",
            )
        )
    lines.append(_t(lang, "金额单位：元（数据以分记账，精确到分）。", "Amounts in yuan (kept in fen, exact)."))
    return lines


def build_workbook(rs: ReportSet, lang: str = "zh") -> Workbook:
    wb = Workbook()
    about = wb.active
    about.title = _t(lang, "说明", "about")
    for r, text in enumerate(about_lines(rs, lang), start=1):
        about.cell(row=r, column=1, value=text)
    about.cell(row=1, column=1).font = _BOLD
    _widths(about, [110])
    for name in TABLES:
        _table_sheet(wb.create_sheet(title(name, lang)[:31]), name, rs, lang)
    return wb


def write_workbook(path: Path, rs: ReportSet, lang: str = "zh") -> None:
    """``报表.xlsx``: the about sheet, then a sheet per table."""
    _save(build_workbook(rs, lang), path)


def workbook_bytes(rs: ReportSet, lang: str = "zh") -> bytes:
    buf = io.BytesIO()
    build_workbook(rs, lang).save(buf)
    return buf.getvalue()
