"""Workbooks around identity imports: error and reject workbooks, and bureau-style sample files.

:func:`write_error_workbook` writes what a clerk needs to fix a refused file: a sheet 错误清单
(行号 / 列名 / 值 / 原因, one line per bad cell) and a copy of the original sheet with every bad
cell filled red and a comment giving the reason. Both are streamed (openpyxl write-only), so a
large file does not need to fit in memory twice.

:func:`bureau_workbooks` turns a synthetic county (:mod:`yibao.synth`) into files as the civil
affairs (民政) and rural revitalisation (乡村振兴) bureaus send them: a title row above Chinese
headers, extra columns yibao ignores, category names as the bureaus write them, real Excel
dates from 民政 and text dates (2022/7/1) from 乡村振兴. It also writes a month-later ("changed")
roster with identities ended, re-certified, changed category and new people, a workbook with
planted bad cells, and a GBK CSV. The rosters themselves are drawn by
:mod:`yibao.synth.bureau_rosters`; this module lays them out as each bureau's file. Run
``python -m yibao.interfaces.workbooks.identity_files DIR`` to regenerate ``examples/workbooks``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from yibao.core.idcard import check_digit
from yibao.core.xlsx import line, sheet_title, stream_cell
from yibao.interfaces.workbooks.sheets import Sheet, iter_source_rows
from yibao.synth import SynthCounty, generate
from yibao.synth.bureau_rosters import bureau_roster, changed_roster

if TYPE_CHECKING:
    from yibao.interfaces.workbooks.validate import CellError

ERROR_SHEET = "错误清单"
ERROR_HEADERS = ("行号", "列名", "值", "原因")
RED = "FFFF9999"
"""Fill of a bad cell in the copy of the original sheet."""
RED_FILL = PatternFill("solid", fgColor=RED)
HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
BOLD = Font(bold=True)
ORIGINAL_ROW = "原行号"
"""Extra last column in a rejects workbook's copy: the row in the original file."""


def write_error_workbook(
    errors: list[CellError],
    out: Path,
    *,
    sheet: Sheet | None,
    only_rows: set[int] | None = None,
    source: str = "",
) -> Path:
    """Write 错误清单 and a red-marked copy of the sheet (only ``only_rows`` below the header when given).

    Linear in the rows and the bad cells: the bad cells are grouped by row once, then each row of the
    sheet looks up its own. Every cell goes through :func:`yibao.core.xlsx.line`, so text from the
    bureau's file that looks like a formula is written as text.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(ERROR_SHEET)
    for letter, width in zip("ABCD", (8, 18, 24, 80), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append([_header_cell(ws, h) for h in ERROR_HEADERS])
    for e in errors:
        ws.append(line(ws, [e.row or None, e.column, e.value, e.reason]))

    if sheet is not None:
        copy = wb.create_sheet(sheet_title(sheet.name, {ERROR_SHEET}, "原始数据"))
        copy.freeze_panes = f"A{sheet.header_row + 1}"
        marks: dict[int, dict[int, list[str]]] = {}
        """Sheet row -> column -> the reasons its cell is bad."""
        for e in errors:
            if e.col is not None:
                marks.setdefault(e.row, {}).setdefault(e.col, []).append(e.reason)
        extra = only_rows is not None
        author = f"yibao {source}".strip()
        for r, values in iter_source_rows(sheet):
            if only_rows is not None and r > sheet.header_row and r not in only_rows:
                continue
            bad = marks.get(r, {})
            width = max(len(values), max(bad, default=-1) + 1)
            cells: list[Any] = []
            for j in range(width):
                v = values[j] if j < len(values) else None
                reasons = bad.get(j)
                if reasons:
                    cell = stream_cell(copy, v)
                    cell.fill = RED_FILL
                    cell.comment = Comment("\n".join(reasons), author, width=300, height=120)
                    cells.append(cell)
                elif r == sheet.header_row:
                    cells.append(_header_cell(copy, v))
                else:
                    cells.append(v)
            if extra and r == sheet.header_row:
                cells.extend([None] * (len(sheet.headers) - len(cells)))
                cells.append(_header_cell(copy, ORIGINAL_ROW))
            elif extra and r > sheet.header_row:
                cells.extend([None] * (len(sheet.headers) - len(cells)))
                cells.append(r)
            copy.append(line(copy, cells))
    tmp = out.with_name(out.name + ".tmp")
    wb.save(tmp)
    tmp.replace(out)
    return out


def _header_cell(ws: Any, value: object) -> Cell:
    cell = stream_cell(ws, value)
    cell.font = BOLD
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return cell


# ---------------------------------------------------------------------------------------------
# Bureau-style sample files from a synthetic county
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How a bureau lays out its roster."""

    file_stem: str
    title: str
    columns: tuple[tuple[str, str], ...]
    """(header, roster column)."""
    text_dates: bool
    """Dates written as text "2022/7/1" rather than Excel dates."""


LAYOUTS: dict[str, Layout] = {
    "民政": Layout(
        "minzheng",
        "{county}民政局 特困、低保、低保边缘人员名册（截至{as_of}）",
        (
            ("序号", "_seq"),
            ("县（区）", "county"),
            ("乡镇", "township"),
            ("村（社区）", "village"),
            ("家庭编号", "hh_no"),
            ("姓名", "psn_name"),
            ("性别", "_sex"),
            ("身份证号码", "certno"),
            ("救助类别", "_label"),
            ("享受开始日期", "valid_from"),
            ("享受结束日期", "valid_to"),
            ("保障金额（元/月）", "_amount"),
            ("备注", "_note"),
        ),
        text_dates=False,
    ),
    "乡村振兴": Layout(
        "xiangcun",
        "{county}防止返贫监测对象和脱贫人口信息表（截至{as_of}）",
        (
            ("序号", "_seq"),
            ("乡（镇）", "township"),
            ("行政村", "village"),
            ("户编号", "hh_no"),
            ("成员姓名", "psn_name"),
            ("证件号码", "certno"),
            ("与户主关系", "_relation"),
            ("户类型", "_label"),
            ("识别时间", "valid_from"),
            ("风险消除时间", "valid_to"),
            ("联系电话", "_phone"),
        ),
        text_dates=True,
    ),
}

_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "民政": {"tekun": ("特困供养人员",), "dibao": ("农村低保",), "dibao_edge": ("低保边缘家庭",), "orphan": ("孤儿",)},
    "乡村振兴": {
        "tuopin": ("脱贫户",),
        "jiance": ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户"),
        "fanpin": ("返贫致贫户",),
        "pinkun": ("建档立卡贫困户",),
    },
}
_AMOUNT = {"tekun": 610, "dibao": 425, "dibao_edge": 0, "orphan": 1_240}


def _stable(text: str, n: int) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") % n


def _roster_values(roster: pl.DataFrame, bureau: str, layout: Layout) -> list[list[Any]]:
    labels = _LABELS[bureau]
    rows = []
    for i, r in enumerate(roster.iter_rows(named=True), start=1):
        options = labels.get(r["category"], (r["category"],))
        derived = {
            "_seq": i,
            "_sex": "男" if r["gend"] == "1" else "女",
            "_label": options[_stable(r["hh_no"] or r["certno"], len(options))],
            "_amount": _AMOUNT.get(r["category"], 0),
            "_note": "",
            "_relation": "户主" if _stable(r["certno"], 4) == 0 else "家庭成员",
            "_phone": f"1{3 + _stable(r['certno'], 6)}{_stable(r['certno'] + 'p', 10**9):09d}",
        }
        values = []
        for _, col in layout.columns:
            v = derived[col] if col.startswith("_") else r[col]
            if isinstance(v, date) and layout.text_dates:
                v = f"{v.year}/{v.month}/{v.day}"
            elif isinstance(v, date):
                v = datetime(v.year, v.month, v.day)
            values.append(v)
        rows.append(values)
    return rows


def write_roster_xlsx(rows: Iterable[list[Any]], bureau: str, path: Path, as_of: date, county_name: str) -> Path:
    layout = LAYOUTS[bureau]
    wb = Workbook()
    ws = wb.active
    ws.title = f"{bureau}名册"
    headers = [h for h, _ in layout.columns]
    ws.append(line(ws, [layout.title.format(county=county_name, as_of=f"{as_of.year}年{as_of.month}月{as_of.day}日")]))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.append(line(ws, headers))
    for c in ws[2]:
        c.font = BOLD
        c.fill = HEADER_FILL
    text_cols = {i for i, (_, col) in enumerate(layout.columns) if col in ("certno", "hh_no")}
    for values in rows:
        ws.append(line(ws, values))
        for j, v in enumerate(values):
            cell = ws.cell(ws.max_row, j + 1)
            if isinstance(v, datetime):
                cell.number_format = "yyyy-mm-dd"
            elif j in text_cols and isinstance(v, str):
                cell.number_format = "@"
    for j, (header, _) in enumerate(layout.columns):
        letter = ws.cell(2, j + 1).column_letter
        ws.column_dimensions[letter].width = 20 if header in ("身份证号码", "证件号码") else max(8, 2 * len(header) + 2)
    ws.freeze_panes = "A3"
    wb.properties.creator = "yibao"
    wb.properties.created = datetime(as_of.year, as_of.month, as_of.day)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_roster_csv(
    rows: Iterable[list[Any]], bureau: str, path: Path, as_of: date, county_name: str, *, encoding: str = "gb18030"
) -> Path:
    """A CSV as Excel saves it in China: GBK (GB18030) by default, the title row kept."""
    layout = LAYOUTS[bureau]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    headers = [h for h, _ in layout.columns]
    w.writerow(
        [layout.title.format(county=county_name, as_of=f"{as_of.year}年{as_of.month}月{as_of.day}日")] + [""] * (len(headers) - 1)
    )
    w.writerow(headers)
    for values in rows:
        w.writerow([v.strftime("%Y-%m-%d") if isinstance(v, datetime) else ("" if v is None else v) for v in values])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


BAD_WORKBOOK_ROWS = 30
"""Data rows in the bad sample workbook (rows 3..32 of the sheet, one of them blank)."""


def _bad_rows(roster: pl.DataFrame, layout: Layout) -> list[list[Any]]:
    """The first rows of the 民政 roster with bad cells planted (see examples/workbooks/README.md)."""
    rows = _roster_values(roster.head(BAD_WORKBOOK_ROWS), "民政", layout)
    col = {h: i for i, (h, _) in enumerate(layout.columns)}
    cert, name, cat, vf, vt = (col[h] for h in ("身份证号码", "姓名", "救助类别", "享受开始日期", "享受结束日期"))

    def at(sheet_row: int) -> list[Any]:
        return rows[sheet_row - 3]

    c4 = at(4)[cert]
    at(4)[cert] = c4[:17] + ("0" if c4[17] != "0" else "1")  # wrong check digit
    at(5)[cert] = at(5)[cert][:17]  # 17 characters
    at(6)[cert] = float(at(6)[cert][:17] + "0")  # typed as a number: Excel keeps 15 digits
    at(7)[name] = None
    at(8)[cat] = "临时救助"  # not an identity
    at(9)[cat] = "脱贫户"  # 乡村振兴's, not 民政's
    at(10)[vf] = "2022-13-01"
    at(11)[vf] = "去年"
    at(11)[vt] = "2022/02/30"
    at(12)[vf] = datetime(2021, 5, 1)
    at(12)[vt] = "2021/4/30"  # ends before it starts
    at(14)[:] = list(at(13))
    at(14)[vf] = datetime(2020, 1, 1)  # same person and category as row 13, other dates
    at(15)[:] = list(at(3))
    at(15)[name] = str(at(3)[name]) + "某"  # same ID number as row 3 under another name
    at(15)[cat] = "低保边缘家庭" if at(3)[cat] != "低保边缘家庭" else "农村低保"
    c16 = at(16)[cert]
    body = c16[:10] + "1345" + c16[14:17]
    at(16)[cert] = body + check_digit(body)  # month 13: no such birth date
    at(17)[:] = list(at(13))  # an exact repeat of row 13: left out, not an error
    at(18)[vf], at(19)[vf], at(20)[vf], at(21)[vf] = "2021/3/5", "20210305", "2021年3月5日", "2021.3.5"
    at(23)[:] = [None] * len(at(23))  # a blank line
    for i, r in enumerate(rows, start=1):
        if r[0] is not None:
            r[0] = i
    return rows


BAD_CELLS: frozenset[tuple[int, str]] = frozenset(
    {
        (4, "身份证号码"),
        (5, "身份证号码"),
        (6, "身份证号码"),
        (7, "姓名"),
        (8, "救助类别"),
        (9, "救助类别"),
        (10, "享受开始日期"),
        (11, "享受开始日期"),
        (11, "享受结束日期"),
        (12, "享受结束日期"),
        (14, "享受开始日期"),
        (15, "姓名"),
        (16, "身份证号码"),
    }
)
"""(sheet row, header) of every cell planted bad in the bad sample workbook."""


def bureau_workbooks(
    county: SynthCounty, out_dir: Path, as_of: date, *, later: date | None = None, csv_copy: bool = True, bad: bool = True
) -> dict[str, Path]:
    """Write bureau-style rosters of ``county`` on ``as_of`` (and ``later``, default a month on).

    Returns name -> path: ``民政``, ``乡村振兴``, ``民政-changed``, ``乡村振兴-changed``,
    ``民政-bad`` and ``民政-csv`` (the 民政 roster as a GBK CSV).
    """
    out_dir = Path(out_dir)
    later = later or _month_later(as_of)
    county_name = str(county.people["county"][0]) if county.people.height else "某县"
    out: dict[str, Path] = {}
    for bureau, layout in LAYOUTS.items():
        roster = bureau_roster(county, bureau, as_of)
        values = _roster_values(roster, bureau, layout)
        out[bureau] = write_roster_xlsx(
            values, bureau, out_dir / f"{layout.file_stem}-{as_of.isoformat()}.xlsx", as_of, county_name
        )
        changed = changed_roster(county, bureau, as_of, later, seed=county.seed)
        out[f"{bureau}-changed"] = write_roster_xlsx(
            _roster_values(changed, bureau, layout),
            bureau,
            out_dir / f"{layout.file_stem}-{later.isoformat()}.xlsx",
            later,
            county_name,
        )
        if bureau == "民政" and csv_copy:
            out[f"{bureau}-csv"] = write_roster_csv(
                values, bureau, out_dir / f"{layout.file_stem}-{as_of.isoformat()}.csv", as_of, county_name
            )
        if bureau == "民政" and bad:
            out[f"{bureau}-bad"] = write_roster_xlsx(
                _bad_rows(roster, layout), bureau, out_dir / f"{layout.file_stem}-bad.xlsx", as_of, county_name
            )
    return out


def _month_later(d: date) -> date:
    """The same day next month; the last day of next month from a month's last day (or a missing day)."""
    y, m = (d.year, d.month + 1) if d.month < 12 else (d.year + 1, 1)
    end_next = (date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)) - timedelta(days=1)
    if (d + timedelta(days=1)).day == 1:
        return end_next
    return date(y, m, min(d.day, end_next.day))


SAMPLE_PERSONS, SAMPLE_YEAR, SAMPLE_SEED = 3000, 2022, 11
SAMPLE_AS_OF = date(2022, 6, 30)
"""The synthetic county and day behind ``examples/workbooks``."""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "examples/workbooks")
    county = generate(SAMPLE_PERSONS, SAMPLE_YEAR, SAMPLE_SEED)
    for name, path in bureau_workbooks(county, out, SAMPLE_AS_OF).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
