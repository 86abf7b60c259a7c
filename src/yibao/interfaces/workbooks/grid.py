"""Sheets of named columns, read as text: each sheet's header row, then its rows keyed by column, with the row
number a clerk sees in Excel.

Used for workbooks whose columns are fixed by yibao (the audit knowledge tables, a hospital's 3202 list), not
for the bureaus' rosters (:mod:`yibao.interfaces.workbooks.sheets` reads those through a mapping). Within
:class:`~yibao.interfaces.workbooks.sheets.SheetLimits` a sheet is refused before it is read when it declares
more rows or cells than allowed (:class:`~yibao.interfaces.workbooks.sheets.SheetRefused`), and counted while
read otherwise. Every problem is an :class:`~yibao.core.errors.InputError` naming the file, the sheet, the
row, the column and the value.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from yibao.core.errors import InputError
from yibao.interfaces.workbooks.mapping import norm_header
from yibao.interfaces.workbooks.sheets import (
    HEADER_SCAN_ROWS,
    RowCount,
    SheetLimits,
    SheetProblem,
    SheetRefused,
    cell_text,
    check_declared,
    decode,
)

Rows = Iterator[tuple[int, tuple[Any, ...]]]
"""``(row number, cell values)`` of one sheet, from its first row."""


@dataclass(frozen=True)
class Record:
    row: int
    """As Excel shows it."""
    values: dict[str, str | None]
    """Column key -> the cell as text (``None`` when blank)."""


def not_readable(name: str, exc: BaseException | None = None) -> InputError:
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return InputError(
        name,
        "file",
        name,
        "an Excel workbook (.xlsx) or a CSV file",
        expected_zh="Excel 工作簿（.xlsx）或 CSV 文件：文件可能已损坏或只是改了扩展名，请在 Excel 中另存为 .xlsx",
        expected_en="an Excel workbook (.xlsx) or a CSV file; it may be damaged or only renamed" + why,
    )


@contextmanager
def sheets(path: Path, limits: SheetLimits | None = None, name: str | None = None) -> Iterator[list[tuple[str, Rows]]]:
    """The sheets of ``path`` (``.xlsx``: every worksheet; ``.csv``: one sheet ``CSV``) as (title, rows).

    ``name`` is the file's name in messages (an upload's name; the path's otherwise)."""
    shown = name or path.name
    suffix = Path(shown).suffix.lower() or path.suffix.lower()
    if suffix in (".csv", ".txt"):
        try:
            text, _ = decode(path.read_bytes())
        except UnicodeDecodeError:
            raise not_readable(shown) from None
        lines = text.splitlines()
        if limits is not None and len(lines) > limits.rows:
            raise _too_many_lines(shown, len(lines), limits.rows)
        yield [("CSV", ((r, tuple(row)) for r, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)))]
        return
    if suffix not in (".xlsx", ".xlsm"):
        raise not_readable(shown)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike: the file is not a workbook
        raise not_readable(shown, exc) from None
    try:
        out = []
        for ws in wb.worksheets:
            check_declared(shown, ws, limits)
            out.append((str(ws.title), _counted(ws, shown, limits)))
        yield out
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError, SyntaxError) as exc:
        raise not_readable(shown, exc) from None
    finally:
        wb.close()


def _too_many_lines(name: str, lines: int, limit: int) -> SheetRefused:
    return SheetRefused(
        [
            SheetProblem(
                0,
                "",
                name,
                f"文件过大：有 {lines:,} 行，超过上限 {limit:,} 行。请拆分成几个较小的文件。",
                f"the file is too large: {lines:,} lines, more than the limit of {limit:,}; split it into smaller files",
            )
        ]
    )


def _counted(ws: Any, name: str, limits: SheetLimits | None) -> Rows:
    count = RowCount(name, str(ws.title), limits)
    for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
        count.row(r, len(row))
        yield r, tuple(row)


def records(
    rows: Rows,
    headers: Mapping[str, str],
    required: tuple[str, ...],
    where: str,
    expected_columns: str,
) -> list[Record]:
    """The rows under the header row (the first of the top rows with a known header) keyed by column.

    ``headers``: a header as matched (:func:`norm_header`) -> column key; ``where``: ``file sheet …`` for
    messages. A header nobody knows, a column given twice or a required one missing is refused naming it."""
    top: list[tuple[int, tuple[Any, ...]]] = []
    found: tuple[int, tuple[Any, ...]] | None = None
    for r, row in rows:
        top.append((r, row))
        if any(norm_header(v) in headers for v in row if v is not None):
            found = (r, row)
            break
        if len(top) >= HEADER_SCAN_ROWS:
            break
    if found is None:
        raise InputError(where, "header", None, f"a header row in the first {HEADER_SCAN_ROWS} rows: {expected_columns}")
    header_row, cells = found
    at = f"{where} row {header_row}"
    columns: dict[int, str] = {}
    for j, v in enumerate(cells):
        text = cell_text(v, "")
        if text is None:
            continue
        key = headers.get(norm_header(text))
        if key is None:
            raise InputError(at, text, text, f"a column of this sheet: {expected_columns}")
        if key in columns.values():
            raise InputError(at, text, text, f"each column once ({key} is given twice)")
        columns[j] = key
    missing = [k for k in required if k not in columns.values()]
    if missing:
        raise InputError(at, missing[0], None, f"a column {missing[0]}: {expected_columns}")
    out: list[Record] = []
    for r, row in rows:
        values = {key: cell_text(row[j], "") if j < len(row) else None for j, key in columns.items()}
        if all(v is None for v in values.values()):
            continue
        out.append(Record(r, values))
    return out
