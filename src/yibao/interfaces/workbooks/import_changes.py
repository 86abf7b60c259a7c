"""The named change report of an identity import as a workbook: one line per person added, place filled in,
identity added, ended or changed (before → after), look-alike flagged; a header block names the batch."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from yibao.core.i18n import t
from yibao.core.vocab import IMPORT_CHANGES, identity_label, label
from yibao.core.xlsx import BOLD, HEAD_FILL, line, stream_cell

SHEET = ("变更明细", "changes")
HEADERS: tuple[tuple[str, str], ...] = (
    ("原行号", "row"),
    ("变更", "change"),
    ("姓名", "name"),
    ("身份证号码", "ID number"),
    ("身份类别", "identity"),
    ("变更前", "before"),
    ("变更后", "after"),
)
WIDTHS = (8, 16, 12, 22, 18, 34, 46)


def after_text(change: str, after: str | None, lang: str) -> str:
    """A change's "after" as read: a look-alike's line names the ID number it looks like."""
    if change == "conflict" and after:
        return t(lang, f"与 {after} 同姓名、出生日期、村", f"same name, birth date and village as {after}")
    return after or ""


def change_cells(row: Sequence[Any], lang: str) -> list[Any]:
    """One change (change, certno, psn_name, category, before, after, source_row) as the sheet's columns."""
    change, certno, name, category, before, after, source_row = row
    return [
        source_row,
        label(IMPORT_CHANGES, change, lang),
        name,
        certno,
        identity_label(category, lang) if category else "",
        before or "",
        after_text(change, after, lang),
    ]


def changes_workbook(title: Sequence[str], rows: Iterable[Sequence[Any]], lang: str = "zh") -> bytes:
    """The workbook: ``title`` lines (batch, bureau, file, who, when) above the header, then every change."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t(lang, *SHEET))
    for n, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    for text in title:
        ws.append(line(ws, [text]))
    ws.append([])
    head = []
    for zh, en in HEADERS:
        c = stream_cell(ws, t(lang, zh, en))
        c.font, c.fill = BOLD, HEAD_FILL
        head.append(c)
    ws.append(head)
    for row in rows:
        ws.append(line(ws, change_cells(row, lang)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
