"""Shared openpyxl helpers: house number formats, header style, exact yuan cells, atomic save, and the one way
a cell is written.

Every cell yibao writes goes through :func:`cell` (a sheet written in place) or :func:`line` (a row
appended, also to a write-only sheet): text a spreadsheet would take for a formula or an error value —
beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or ``#N/A`` and the like — is
stored as text with Excel's quote prefix, so a name such as ``=HYPERLINK(…)`` from a bureau's file is
shown, never run, and stays text when a clerk edits the cell. Characters a workbook cannot hold
(control characters other than tab, line feed and carriage return) are shown as U+FFFD.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

AMOUNT = "#,##0.00"
PERCENT = "0.00%"
COUNT = "#,##0"
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)
FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
"""How text a spreadsheet would read as a formula begins (the OWASP list for CSV/formula injection)."""
SHEET_TITLE_BANNED = frozenset("[]:*?/\\")
"""Characters Excel refuses in a sheet's name."""
SHEET_TITLE_MAX = 31


def _storable(value: Any) -> Any:
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def _formula_like(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(FORMULA_LEAD) or value in ERROR_CODES)


def _as_text(c: Cell) -> Cell:
    """``c`` kept as text when its value would be read as a formula or an error value."""
    if _formula_like(c.value):
        c.data_type = "s"
        c.quotePrefix = True
    return c


def cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write ``value`` at (``row``, ``column``) of ``ws``: the one way yibao writes a cell in place."""
    written: Cell = ws.cell(row=row, column=column, value=_storable(value))
    return _as_text(written)


def stream_cell(ws: Any, value: Any) -> Cell:
    """A cell for ``ws.append`` (a write-only sheet too), to be styled before it is appended."""
    return _as_text(WriteOnlyCell(ws, value=_storable(value)))


def line(ws: Any, values: Sequence[Any]) -> list[Any]:
    """``values`` ready for ``ws.append``: text that would be a formula becomes a text cell, cells are kept."""
    return [stream_cell(ws, v) if _formula_like(_storable(v)) else _storable(v) for v in values]


def sheet_title(name: str, taken: set[str] | None = None, fallback: str = "Sheet") -> str:
    """A sheet name Excel accepts for ``name``: banned characters as ``_``, at most 31 characters, not blank, not
    one of ``taken`` (compared as Excel does, ignoring case), not starting or ending with an apostrophe."""
    title = "".join("_" if ch in SHEET_TITLE_BANNED else ch for ch in _storable(name)).strip().strip("'")
    title = title[:SHEET_TITLE_MAX] or fallback
    seen = {t.casefold() for t in taken or ()}
    n = 1
    base = title
    while title.casefold() in seen or title.casefold() == "history":
        n += 1
        suffix = f"_{n}"
        title = base[: SHEET_TITLE_MAX - len(suffix)] + suffix
    return title


def yuan(fen: int) -> Decimal:
    """Exact yuan for a cell."""
    return Decimal(fen) / 100


def rate(bp: int | None) -> Decimal | None:
    return None if bp is None else Decimal(bp) / 10_000


def header(ws: Worksheet, row: int, names: Sequence[str]) -> None:
    for col, name in enumerate(names, start=1):
        c = cell(ws, row, col, name)
        c.font = BOLD
        c.fill = HEAD_FILL
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def widths(ws: Worksheet, sizes: Sequence[float]) -> None:
    for col, width in enumerate(sizes, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def put(ws: Worksheet, row: int, values: Sequence[Any], formats: Sequence[str | None] = (), *, bold: bool = False) -> None:
    for col, value in enumerate(values, start=1):
        c = cell(ws, row, col, value)
        fmt = formats[col - 1] if col - 1 < len(formats) else None
        if fmt:
            c.number_format = fmt
        if bold:
            c.font = BOLD


def save(wb: Workbook, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx.tmp", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
