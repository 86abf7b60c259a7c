"""Bureau files that would hold up the service: too many declared rows or cells, a text file named .xlsx, and
the error workbook of a file with thousands of bad rows.

A sheet's size is refused before its rows are read: an .xlsx declares its size in ``<dimension>``, which
openpyxl reads when it opens the workbook. The proof here is a workbook whose rows cannot be parsed at
all: it is refused for its size, never for its broken rows. The error workbook's work per row must not
grow with the number of bad cells elsewhere in the file; it is measured by counting the lines of the
writer that run (no clock).
"""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from openpyxl import Workbook

from yibao.interfaces.workbooks import identity_files
from yibao.interfaces.workbooks.identity_files import write_error_workbook
from yibao.interfaces.workbooks.mapping import load_mapping
from yibao.interfaces.workbooks.sheets import SheetLimits, SheetRefused, read_sheet
from yibao.interfaces.workbooks.validate import validate

HEADERS = ["序号", "村（社区）", "姓名", "身份证号码", "救助类别", "享受开始日期"]
LIMITS = SheetLimits(rows=500_000, cells=10_000_000)
MINZHENG = load_mapping("民政")


def _workbook(path: Path, rows: int = 3) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for i in range(rows):
        ws.append([i + 1, "那招村", "张三", "530902196207040026", "农村低保", "2022-01-01"])
    wb.save(path)
    return path


def _rewrite_sheet(path: Path, change: Callable[[str], str]) -> Path:
    """The workbook with its first sheet's XML changed (as a crafted file would be)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = change(parts[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


def _declaring(path: Path, ref: str) -> Path:
    return _rewrite_sheet(_workbook(path), lambda xml: re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{ref}"', xml))


def _refusal(exc: pytest.ExceptionInfo[SheetRefused]) -> str:
    return " ".join(p.reason for p in exc.value.problems)


def test_a_sheet_declaring_a_million_rows_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = _declaring(tmp_path / "名册.xlsx", "A1:F1000000")
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG, limits=LIMITS)
    assert "1,000,000 行" in _refusal(refused) and "上限 500,000 行" in _refusal(refused), _refusal(refused)


def test_the_declared_size_is_checked_before_a_row_is_read(tmp_path: Path) -> None:
    # the rows of this sheet are not XML at all: reading one would fail; the size alone refuses it
    path = _declaring(tmp_path / "名册.xlsx", "A1:XFD1048576")
    _rewrite_sheet(path, lambda xml: xml.replace("<sheetData>", "<sheetData><row r='1'><c r=<<<broken"))
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG, limits=LIMITS)
    assert "1,048,576 行" in _refusal(refused), _refusal(refused)


def test_a_sheet_declaring_too_many_cells_is_refused(tmp_path: Path) -> None:
    path = _declaring(tmp_path / "名册.xlsx", "A1:XFD1000")  # 1,000 rows of 16,384 columns
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG, limits=LIMITS)
    assert "16,384,000 个单元格" in _refusal(refused) and "10,000,000 个单元格" in _refusal(refused), _refusal(refused)


def test_a_sheet_declaring_nothing_is_counted_as_it_is_read(tmp_path: Path) -> None:
    path = _rewrite_sheet(_workbook(tmp_path / "名册.xlsx", rows=60), lambda xml: re.sub(r"<dimension [^>]*/>", "", xml))
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG, limits=SheetLimits(rows=50, cells=10_000))
    assert "有 51 行" in _refusal(refused) and "上限 50 行" in _refusal(refused), _refusal(refused)
    assert read_sheet(path, MINZHENG, limits=SheetLimits(rows=61, cells=10_000)).frame.height == 60


def test_a_csv_with_too_many_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "名册.csv"
    path.write_text(",".join(HEADERS) + "\n" + "1,那招村,张三,530902196207040026,农村低保,2022-01-01\n" * 60, encoding="utf-8")
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG, limits=SheetLimits(rows=50, cells=10_000))
    assert "61 行" in _refusal(refused), _refusal(refused)


def test_within_the_limits_a_file_reads_as_before(tmp_path: Path) -> None:
    sheet = read_sheet(_workbook(tmp_path / "名册.xlsx", rows=5), MINZHENG, limits=SheetLimits(rows=6, cells=36))
    assert sheet.frame.height == 5


@pytest.mark.parametrize("name", ["名册.xlsx", "名册.xlsm"])
@pytest.mark.parametrize(
    "data",
    [b"\xd0\xd5\xc3\xfb,\xc9\xed\xb7\xdd\xd6\xa4\r\n", b"PK\x03\x04 truncated zip", b"", "姓名,身份证号码\n".encode()],
    ids=["gbk text", "broken zip", "empty", "utf-8 text"],
)
def test_a_file_that_is_not_a_workbook_is_refused_with_a_message(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG)
    assert "不是有效的 Excel 工作簿" in _refusal(refused), _refusal(refused)


def test_a_csv_that_is_not_text_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "名册.csv"
    path.write_bytes(b"\x81\x20\xff\xfe\x00binary")
    with pytest.raises(SheetRefused) as refused:
        read_sheet(path, MINZHENG)
    assert "UTF-8" in _refusal(refused) and "GBK" in _refusal(refused), _refusal(refused)


# ------------------------------------------------------------------ the error workbook, linear


def _bad_roster(path: Path, rows: int) -> Path:
    """``rows`` rows, each with three bad cells (ID number, category, start date)."""
    body = "".join(f"{i},那招村,张三,5309021962,临时救助,去年\n" for i in range(1, rows + 1))
    path.write_text(",".join(HEADERS) + "\n" + body, encoding="utf-8")
    return path


def _writer_lines(tmp_path: Path, rows: int) -> int:
    """Lines of the error-workbook writer (identity_files.py) run while writing the workbook of ``rows`` bad rows."""
    sheet = read_sheet(_bad_roster(tmp_path / f"bad{rows}.csv", rows), MINZHENG)
    errors = validate(sheet, MINZHENG).errors
    assert len(errors) == 3 * rows
    source = identity_files.__file__
    lines = 0

    def trace(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal lines
        if frame.f_code.co_filename != source:
            return None
        if event == "line":
            lines += 1
        return trace

    sys.settrace(trace)
    try:
        write_error_workbook(errors, tmp_path / f"bad{rows}.errors.xlsx", sheet=sheet)
    finally:
        sys.settrace(None)
    return lines


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_the_error_workbook_does_the_same_work_per_row_however_many_rows_are_bad(tmp_path: Path) -> None:
    # four times the rows (and the bad cells): four times the work, not sixteen (each row used to scan every mark)
    small, large = _writer_lines(tmp_path, 100), _writer_lines(tmp_path, 400)
    assert large <= 4.5 * small, (small, large)
