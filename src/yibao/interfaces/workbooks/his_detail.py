"""A hospital's list of its settlements for 3202 对明细账, as a workbook or CSV a finance clerk exports from the HIS.

Columns are headed in Chinese (``结算ID``) or by the national names (``setl_id``); amounts in yuan. The first
sheet is read. Rows come out as the national fields (text), each with the row number Excel shows, for
:func:`yibao.app.reconcile.parse_records` to check.
"""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook

from yibao.core import xlsx
from yibao.core.errors import InputError
from yibao.interfaces.workbooks.grid import Record, records, sheets
from yibao.interfaces.workbooks.mapping import norm_header
from yibao.interfaces.workbooks.sheets import SheetLimits

COLUMNS: dict[str, str] = {
    "setl_id": "结算ID",
    "mdtrt_id": "就诊ID",
    "psn_no": "人员编号",
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支出",
    "refd_setl_flag": "退费结算标志",
}
"""National field -> its Chinese header."""
REQUIRED = ("setl_id", "medfee_sumamt", "fund_pay_sumamt")


def _headers() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, zh in COLUMNS.items():
        out[norm_header(zh)] = key
        out[norm_header(key)] = key
        out[norm_header(zh + "(元)")] = key
    return out


def read_detail(path: Path, limits: SheetLimits | None = None, name: str | None = None) -> tuple[str, list[Record]]:
    """The first sheet's rows: (``file sheet NAME`` for messages, records)."""
    file = name or path.name
    expected = ", ".join(f"{zh} ({key})" for key, zh in COLUMNS.items())
    with sheets(path, limits, file) as book:
        if not book:
            raise InputError(file, "sheet", None, "a sheet with the hospital's settlements")
        title, rows = book[0]
        where = f"{file} sheet {title}"
        return where, records(rows, _headers(), REQUIRED, where, expected)


def template_bytes() -> bytes:
    """A workbook with the headers and one example row."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "结算明细"
    xlsx.header(ws, 1, list(COLUMNS.values()))
    xlsx.put(ws, 2, ["S000001", "M000001", "P000001", xlsx.yuan(123456), xlsx.yuan(98765), xlsx.yuan(0), "0"])
    xlsx.widths(ws, [18, 18, 16, 14, 14, 14, 14])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
