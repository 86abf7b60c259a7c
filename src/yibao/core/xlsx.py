"""Shared openpyxl helpers: house number formats, header style, exact yuan cells, atomic save."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

AMOUNT = "#,##0.00"
PERCENT = "0.00%"
COUNT = "#,##0"
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)


def yuan(fen: int) -> Decimal:
    """Exact yuan for a cell."""
    return Decimal(fen) / 100


def rate(bp: int | None) -> Decimal | None:
    return None if bp is None else Decimal(bp) / 10_000


def header(ws: Worksheet, row: int, names: Sequence[str]) -> None:
    for col, name in enumerate(names, start=1):
        cell = ws.cell(row=row, column=col, value=name)
        cell.font = BOLD
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def widths(ws: Worksheet, sizes: Sequence[float]) -> None:
    for col, width in enumerate(sizes, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def put(ws: Worksheet, row: int, values: Sequence[Any], formats: Sequence[str | None] = (), *, bold: bool = False) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col, value=value)
        fmt = formats[col - 1] if col - 1 < len(formats) else None
        if fmt:
            cell.number_format = fmt
        if bold:
            cell.font = BOLD


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
