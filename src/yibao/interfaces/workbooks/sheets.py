"""Reading bureaus' files as they arrive: Excel (.xlsx) and CSV (UTF-8 or GBK), Chinese headers.

The header row is found among the first rows (bureaus often put a title such as
"临翔区低保对象名册" above it), columns are matched through a :class:`~yibao.interfaces.workbooks.mapping.Mapping`,
and every data row keeps its row number as the clerk sees it in Excel. Values come out as
text (dates as ``YYYY-MM-DD`` when Excel stored them as dates) for :mod:`yibao.interfaces.workbooks.validate`.

With :class:`SheetLimits` (the web window's uploads) a file is refused before it is read when its
sheet declares more rows or cells than the limits (an .xlsx says its size in ``<dimension>``, which
openpyxl reads first), or a CSV has more lines; a sheet that declares nothing is counted as it is read
and refused as soon as it passes them. A file that is not what its name says (a text file named
``.xlsx``) is refused with a message, never a traceback.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl

from yibao.interfaces.workbooks.mapping import FIELDS, Mapping, norm_header

HEADER_SCAN_ROWS = 20
"""How many rows from the top are searched for the header row."""
DATE_FIELDS = frozenset({"valid_from", "valid_to"})
EXCEL_EPOCH = date(1899, 12, 30)
ProgressFn = Callable[[str, int, int | None], None]
"""``(stage, done, total)``; total ``None`` while unknown."""


@dataclass(frozen=True)
class SheetProblem:
    """A problem with the file as a whole (no header, a required column missing)."""

    row: int
    column: str
    value: str
    reason: str
    reason_en: str
    field: str = ""


class SheetRefused(Exception):
    def __init__(self, problems: list[SheetProblem]):
        self.problems = problems
        super().__init__("; ".join(p.reason_en for p in problems))


@dataclass(frozen=True)
class SheetLimits:
    """The most one sheet may hold (:class:`yibao.core.settings.Limits` gives the web window's)."""

    rows: int
    """Rows of the sheet, title and header rows included (as declared, or as read)."""
    cells: int
    """Rows times columns (as declared), or cells read."""


UNITS = {"rows": ("行", "rows"), "cells": ("个单元格", "cells")}


def _too_many(name: str, sheet: str, what: str, count: int, limit: int, declared: bool) -> SheetRefused:
    """The file refused: sheet ``sheet`` of file ``name`` declares (or has) ``count`` rows or cells, more than ``limit``."""
    unit_zh, unit_en = UNITS[what]
    how_zh, how_en = ("声明了", "declares") if declared else ("有", "has")
    zh = (
        f"文件过大：工作表「{sheet}」{how_zh} {count:,} {unit_zh}，超过上限 {limit:,} {unit_zh}。"
        "请把名册拆分成几个较小的文件，分批导入。"
    )
    en = (
        f"the file is too large: sheet {sheet!r} {how_en} {count:,} {unit_en}, more than the limit of {limit:,} {unit_en}; "
        "split the roster into smaller files"
    )
    return SheetRefused([SheetProblem(0, "", name, zh, en)])


def _not_a_workbook(path: Path, exc: BaseException) -> SheetRefused:
    suffix = path.suffix.lower()
    return SheetRefused(
        [
            SheetProblem(
                0,
                "",
                path.name,
                f"无法读取：文件不是有效的 Excel 工作簿（{suffix}），可能已损坏或只是改了扩展名。"
                "请在 Excel 中打开后另存为 .xlsx，或另存为 .csv。",
                f"cannot read it: the file is not a valid Excel workbook ({suffix}; {type(exc).__name__}); "
                "open it in Excel and save it as .xlsx or .csv",
            )
        ]
    )


def check_declared(name: str, ws: Any, limits: SheetLimits | None) -> None:
    """Refuse a read-only sheet whose ``<dimension>`` declares more than ``limits``, before a row of it is read
    (``name``: the file's, for the message)."""
    if limits is None:
        return
    rows, cols = ws.max_row, ws.max_column
    if isinstance(rows, int) and rows > limits.rows:
        raise _too_many(name, ws.title, "rows", rows, limits.rows, declared=True)
    if isinstance(rows, int) and isinstance(cols, int) and rows * cols > limits.cells:
        raise _too_many(name, ws.title, "cells", rows * cols, limits.cells, declared=True)


class RowCount:
    """Rows and cells read so far from one sheet, refused past ``limits`` (for a sheet that declared no size)."""

    def __init__(self, name: str, sheet: str, limits: SheetLimits | None) -> None:
        self.name, self.sheet, self.limits = name, sheet, limits
        self.cells = 0

    def row(self, r: int, width: int) -> None:
        """Row ``r`` (1-based) of ``width`` cells was read."""
        if self.limits is None:
            return
        self.cells += width
        if r > self.limits.rows:
            raise _too_many(self.name, self.sheet, "rows", r, self.limits.rows, declared=False)
        if self.cells > self.limits.cells:
            raise _too_many(self.name, self.sheet, "cells", self.cells, self.limits.cells, declared=False)


@dataclass
class Sheet:
    """One bureau sheet: where the header is, which column is which field, and the data rows."""

    path: Path
    kind: str
    """"xlsx" or "csv"."""
    name: str
    """The worksheet's title ("CSV" for a CSV file)."""
    header_row: int
    """1-based, as Excel shows it."""
    headers: list[str]
    """Header texts as written in the file (one per column)."""
    columns: dict[str, int]
    """Field -> 0-based column index."""
    frame: pl.DataFrame
    """``_row`` (Int64, the sheet row) and one String column per field (null when blank or absent)."""
    encoding: str | None = None
    blank_rows: int = 0

    def header_of(self, field_name: str, mapping: Mapping) -> str:
        """The header as written in the file, or the field's Chinese name if the column is absent."""
        idx = self.columns.get(field_name)
        return self.headers[idx] if idx is not None else mapping.field_names.get(field_name, field_name)


def _header_text(v: object) -> str:
    if v is None:
        return ""
    return str(v).strip()


def _find_header(rows: list[list[object]], mapping: Mapping) -> tuple[int, dict[str, int]] | None:
    """The best header row among ``rows`` (0-based index) and its field -> column map."""
    index = mapping.header_index()
    best: tuple[int, dict[str, int]] | None = None
    for i, row in enumerate(rows):
        found: dict[str, int] = {}
        rank: dict[str, int] = {}
        for j, v in enumerate(row):
            key = norm_header(v)
            fld = index.get(key)
            if fld is None:
                continue
            # the first listed header name wins when a sheet has two candidate columns
            order = [norm_header(n) for n in mapping.columns[fld]].index(key)
            if fld not in found or order < rank[fld]:
                found[fld], rank[fld] = j, order
        if found and (best is None or len(found) > len(best[1])):
            best = (i, found)
    return best


def _check_columns(path: Path, rows: list[list[object]], mapping: Mapping, offset: int = 0) -> tuple[int, dict[str, int]]:
    found = _find_header(rows, mapping)
    if found is None:
        names = "、".join(mapping.columns[f][0] for f in mapping.required)
        raise SheetRefused(
            [
                SheetProblem(
                    1,
                    "",
                    "",
                    f"前{HEADER_SCAN_ROWS}行中找不到表头（应含列：{names}）",
                    f"no header row in the first {HEADER_SCAN_ROWS} rows (expected columns such as {names})",
                )
            ]
        )
    idx, columns = found
    problems = []
    for fld in mapping.required:
        if fld not in columns:
            names = "、".join(mapping.columns[fld][:6])
            problems.append(
                SheetProblem(
                    offset + idx + 1,
                    mapping.field_names[fld],
                    "",
                    f"缺少必需的列“{mapping.field_names[fld]}”（可用列名：{names}）",
                    f"required column {fld!r} is missing (accepted headers: {names})",
                    fld,
                )
            )
    if problems:
        raise SheetRefused(problems)
    return idx, columns


def cell_text(v: object, fld: str) -> str | None:
    """A cell as text for validation: dates ISO, Excel serial dates converted, big numbers as Excel shows them."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        return s or None
    if isinstance(v, datetime):
        return v.date().isoformat() if fld in DATE_FIELDS or v.time() == time(0) else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | float):
        if isinstance(v, float) and not v.is_integer():
            return repr(v)
        n = int(v)
        if fld in DATE_FIELDS and 0 < n < 100_000:  # an Excel serial day number without a date format
            return (EXCEL_EPOCH + timedelta(days=n)).isoformat()
        if isinstance(v, float) and abs(v) >= 1e15:  # Excel keeps 15 significant digits: show what it shows
            return f"{v:.15G}"
        return str(n)
    if isinstance(v, timedelta | time):
        return str(v)
    return str(v).strip() or None


def _frame(rows: list[int], values: dict[str, list[str | None]]) -> pl.DataFrame:
    data: dict[str, Any] = {"_row": pl.Series("_row", rows, dtype=pl.Int64)}
    for fld in FIELDS:
        data[fld] = (
            pl.Series(fld, values[fld], dtype=pl.String)
            if fld in values
            else pl.repeat(None, len(rows), dtype=pl.String, eager=True)
        )
    return pl.DataFrame(data)


# ---------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------


def _read_xlsx(path: Path, mapping: Mapping, progress: ProgressFn | None, limits: SheetLimits | None) -> Sheet:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike: the file is not a workbook
        raise _not_a_workbook(path, exc) from None
    try:
        return _read_workbook(path, wb, mapping, progress, limits)
    except SheetRefused:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError, SyntaxError) as exc:
        raise _not_a_workbook(path, exc) from None  # a part of the archive unreadable (XML errors are SyntaxErrors)
    finally:
        wb.close()


def _read_workbook(path: Path, wb: Any, mapping: Mapping, progress: ProgressFn | None, limits: SheetLimits | None) -> Sheet:
    chosen = None
    first_problem: SheetRefused | None = None
    for ws in wb.worksheets:
        check_declared(path.name, ws, limits)
        top = [list(r) for r in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True)]
        try:
            idx, columns = _check_columns(path, top, mapping)
        except SheetRefused as exc:
            first_problem = first_problem or exc
            if _find_header(top, mapping) is not None:  # the right sheet, but a column is missing
                raise
            continue
        chosen = (ws, top, idx, columns)
        break
    if chosen is None:
        raise first_problem or SheetRefused([SheetProblem(1, "", "", "工作簿中没有工作表", "the workbook has no sheet")])
    ws, top, idx, columns = chosen
    header_row = idx + 1
    headers = [_header_text(v) for v in top[idx]]
    total = ws.max_row - header_row if ws.max_row else None
    rows: list[int] = []
    values: dict[str, list[str | None]] = {f: [] for f in columns}
    items = list(columns.items())
    blank = 0
    count = RowCount(path.name, ws.title, limits)
    for r, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        n = len(row)
        count.row(r, n)
        texts = [(f, cell_text(row[j], f) if j < n else None) for f, j in items]
        if all(t is None for _, t in texts):
            blank += 1
            continue
        rows.append(r)
        for f, t in texts:
            values[f].append(t)
        if progress is not None and len(rows) % 20_000 == 0:
            progress("read", r - header_row, total)
    if progress is not None:
        progress("read", (rows[-1] - header_row) if rows else 0, (rows[-1] - header_row) if rows else 0)
    return Sheet(path, "xlsx", ws.title, header_row, headers, columns, _frame(rows, values), blank_rows=blank)


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def _decode_csv(path: Path) -> tuple[str, str]:
    try:
        return decode(path.read_bytes())
    except UnicodeDecodeError:
        problem = SheetProblem(
            0,
            "",
            path.name,
            "无法读取：文件既不是 UTF-8 也不是 GBK 编码的文本，可能不是 CSV 文件。请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）。",
            "cannot read it: the file is neither UTF-8 nor GBK text (is it a CSV file?); save it as .xlsx or CSV (UTF-8)",
        )
        raise SheetRefused([problem]) from None


def _read_csv(path: Path, mapping: Mapping, progress: ProgressFn | None, limits: SheetLimits | None) -> Sheet:
    text, encoding = _decode_csv(path)
    if limits is not None:
        lines = text.count("\n") + (not text.endswith("\n"))
        if lines > limits.rows:
            raise _too_many(path.name, "CSV", "rows", lines, limits.rows, declared=False)
    head = list(csv.reader(io.StringIO("\n".join(text.splitlines()[:HEADER_SCAN_ROWS]))))
    top: list[list[object]] = [list(r) for r in head]
    idx, columns = _check_columns(path, top, mapping)
    header_row = idx + 1
    headers = [_header_text(v) for v in top[idx]]
    if progress is not None:
        progress("read", 0, None)
    df = pl.read_csv(
        io.BytesIO(text.encode("utf-8")),
        has_header=False,
        skip_rows=idx,
        infer_schema=False,
        truncate_ragged_lines=True,
        quote_char='"',
    )
    df = df.slice(1)  # the header row itself
    names = df.columns
    sel = [pl.int_range(header_row + 1, header_row + 1 + df.height, dtype=pl.Int64).alias("_row")]
    for fld in FIELDS:
        if fld in columns and columns[fld] < len(names):
            sel.append(pl.col(names[columns[fld]]).str.strip_chars().replace("", None).alias(fld))
        else:
            sel.append(pl.lit(None, dtype=pl.String).alias(fld))
    frame = df.select(sel)
    blank = frame.select(pl.all_horizontal(pl.col(list(columns)).is_null())).to_series()
    frame = frame.filter(~blank)
    if progress is not None:
        progress("read", df.height, df.height)
    return Sheet(path, "csv", "CSV", header_row, headers, columns, frame, encoding=encoding, blank_rows=int(blank.sum()))


def read_sheet(path: Path, mapping: Mapping, progress: ProgressFn | None = None, limits: SheetLimits | None = None) -> Sheet:
    """Read a bureau file (``.xlsx``/``.xlsm`` or ``.csv``/``.txt``) through ``mapping``, within ``limits`` if given."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, mapping, progress, limits)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, mapping, progress, limits)
    raise SheetRefused(
        [
            SheetProblem(
                0,
                "",
                path.name,
                f"不支持的文件类型 {suffix or '（无扩展名）'}：请另存为 .xlsx 或 .csv（.xls 需先在 Excel 中另存为 .xlsx）",
                f"unsupported file type {suffix or '(none)'}: save it as .xlsx or .csv",
            )
        ]
    )


def iter_source_rows(sheet: Sheet) -> Iterator[tuple[int, list[object]]]:
    """Every row of the original sheet (title rows too) as ``(row number, values)``, for copies."""
    if sheet.kind == "xlsx":
        wb = openpyxl.load_workbook(sheet.path, read_only=True, data_only=True)
        try:
            ws = wb[sheet.name]
            for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
                yield r, list(row)
        finally:
            wb.close()
        return
    text, _ = decode(sheet.path.read_bytes())
    for r, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield r, list(row)
