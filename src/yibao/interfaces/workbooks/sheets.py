"""Reading bureaus' files as they arrive: Excel (.xlsx) and CSV (UTF-8 or GBK), Chinese headers.

The header row is found among the first rows (bureaus often put a title such as
"临翔区低保对象名册" above it), columns are matched through a :class:`~yibao.interfaces.workbooks.mapping.Mapping`,
and every data row keeps its row number as the clerk sees it in Excel. Values come out as
text (dates as ``YYYY-MM-DD`` when Excel stored them as dates) for :mod:`yibao.interfaces.workbooks.validate`.
"""

from __future__ import annotations

import csv
import io
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


def _read_xlsx(path: Path, mapping: Mapping, progress: ProgressFn | None) -> Sheet:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        chosen = None
        first_problem: SheetRefused | None = None
        for ws in wb.worksheets:
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
        for r, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            n = len(row)
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
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def _read_csv(path: Path, mapping: Mapping, progress: ProgressFn | None) -> Sheet:
    text, encoding = decode(path.read_bytes())
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


def read_sheet(path: Path, mapping: Mapping, progress: ProgressFn | None = None) -> Sheet:
    """Read a bureau file (``.xlsx``/``.xlsm`` or ``.csv``/``.txt``) through ``mapping``."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, mapping, progress)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, mapping, progress)
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
