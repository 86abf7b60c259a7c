"""The tax bureau's list of residents' premium payments (城乡居民医保缴费明细), as a workbook or CSV.

Since 2019 the tax bureau collects the residents' premium and sends the county bureau who paid. The first
sheet is read: a header row (Chinese, or the field names) and one row per payment. Rows come out as text
with the row number Excel shows, for :mod:`yibao.app.enrol_county` to match by ID number and check.
:func:`template_bytes` is the template a clerk fills or gives the tax bureau; :func:`write_problems` the
errors workbook naming each refused row.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from yibao.core import xlsx
from yibao.core.errors import InputError
from yibao.interfaces.workbooks.grid import Record, records, sheets
from yibao.interfaces.workbooks.mapping import norm_header
from yibao.interfaces.workbooks.sheets import SheetLimits

COLUMNS: dict[str, str] = {
    "certno": "身份证号",
    "psn_name": "姓名",
    "year": "缴费年度",
    "amount": "缴费金额",
    "pay_date": "缴费日期",
    "voucher": "完税凭证号",
}
"""Column key -> its Chinese header (an amount in yuan; 缴费金额（元） is read as well)."""
REQUIRED = ("certno", "psn_name", "year", "amount")
SHEET = "缴费明细"
TEMPLATE_NAME = "税务缴费明细模板.xlsx"
PROBLEM_HEADERS = ("行号", "身份证号", "姓名", "项目", "值", "问题")
"""The errors workbook's columns (row, ID number, name, field, value, what is wrong)."""


@dataclass(frozen=True)
class RowProblem:
    """One refused row of a payment list, as the errors workbook and the preview name it."""

    row: int
    certno: str
    psn_name: str
    field: str
    """The column's Chinese header."""
    value: str
    reason_zh: str
    reason_en: str

    def reason(self, lang: str) -> str:
        return self.reason_zh if lang == "zh" else self.reason_en


def _headers() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, zh in COLUMNS.items():
        for name in (zh, key, zh + "(元)", zh + "（元）"):
            out[norm_header(name)] = key
    return out


def read_payments(path: Path, limits: SheetLimits | None = None, name: str | None = None) -> tuple[str, list[Record]]:
    """The first sheet's rows: (``file sheet NAME`` for messages, records keyed by :data:`COLUMNS`)."""
    file = name or path.name
    expected = ", ".join(f"{zh} ({key})" for key, zh in COLUMNS.items())
    with sheets(path, limits, file) as book:
        if not book:
            raise InputError(file, "sheet", None, "a sheet with the tax bureau's payments", expected_zh="含税务缴费明细的工作表")
        title, rows = book[0]
        where = f"{file} sheet {title}"
        return where, records(rows, _headers(), REQUIRED, where, expected)


def template(year: int, example: Sequence[object] | None = None) -> Workbook:
    """The template: the headers, an example row when given, and a sheet saying how it is filled."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    xlsx.header(ws, 1, list(COLUMNS.values()))
    if example is not None:
        xlsx.put(ws, 2, list(example), ["@", None, None, xlsx.AMOUNT, "yyyy-mm-dd", "@"])
    xlsx.widths(ws, [22, 12, 10, 12, 12, 20])
    about = wb.create_sheet("填写说明")
    for r, text in enumerate(
        (
            f"一行一笔缴费：身份证号（18位）、姓名、缴费年度（{year}）、缴费金额（元，两位小数）为必填；缴费日期、完税凭证号可空。",
            "按身份证号与人员登记簿匹配；姓名须与登记簿一致，缴费金额须等于按分类资助核定的个人应缴部分。",
            "任何一行有误（登记簿中无此人、姓名不符、年度或金额不符、重复），整个文件不导入，错误清单逐行列出。",
        ),
        start=1,
    ):
        xlsx.cell(about, r, 1, text)
    xlsx.widths(about, [120])
    return wb


def template_bytes(year: int, example: Sequence[object] | None = None) -> bytes:
    out = io.BytesIO()
    template(year, example).save(out)
    return out.getvalue()


def write_problems(path: Path, problems: Sequence[RowProblem], lang: str = "zh") -> Path:
    """The errors workbook: one row per problem (row, ID number, name, field, value, what is wrong)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "错误清单" if lang == "zh" else "errors"
    xlsx.header(ws, 1, list(PROBLEM_HEADERS))
    for r, p in enumerate(problems, start=2):
        xlsx.put(ws, r, [p.row, p.certno, p.psn_name, p.field, p.value, p.reason(lang)], [None, "@"])
    xlsx.widths(ws, [8, 22, 12, 12, 16, 70])
    ws.freeze_panes = "A2"
    xlsx.save(wb, path)
    return path
