"""The audit knowledge workbook (知识库): the Excel lists a bureau receives, a sheet per knowledge table.

A sheet is named after its table, in Chinese (``限定支付范围``) or by its key (``item_limits``); its header row
holds the columns' Chinese headers (``医保目录编码``) or keys (``med_list_codg``), as in
:data:`yibao.audit.knowledge.TABLES`. A sheet named ``说明`` (instructions) is left alone. Every row is checked
by :func:`yibao.audit.knowledge.parse_rows`; a bad one is refused naming the file, the sheet, the row as Excel
shows it, the column as headed in the file and the value, and every bad row of the workbook is reported at
once. :func:`template` writes the workbook to fill in: every table's sheet with its headers and one example row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

from openpyxl import Workbook

from yibao.audit import knowledge as kn
from yibao.core import xlsx
from yibao.core.errors import InputError, InputErrors
from yibao.interfaces.workbooks.grid import Record, records, sheets
from yibao.interfaces.workbooks.mapping import norm_header
from yibao.interfaces.workbooks.sheets import SheetLimits

INSTRUCTIONS = "说明"
"""The template's instructions sheet (any sheet of this name is not a table)."""

EXAMPLES: dict[str, dict[str, str]] = {
    "catalogue": {"med_list_codg": "001201000010000", "med_list_name": "普通门诊诊查费", "kind": "item", "std_pric": "10.00"},
    "item_limits": {"med_list_codg": "XG03BAA0001", "gend": "1", "age_min": "18", "age_max": "", "med_types": "11,21",
                    "min_hosp_lv": "2", "insutypes": "390,310"},
    "quantity_limits": {"med_list_codg": "XA10BAA0001", "per_line": "2", "per_day": "3"},
    "frequency_limits": {"med_list_codg": "003102000010000", "window": "month", "max_times": "2"},
    "course_limits": {"med_list_codg": "XJ01CAA0001", "max_days": "14"},
    "duplicate_pairs": {"main_codg": "003105010010000", "sub_codg": "003105010020000"},
    "bundles": {"bundle_codg": "002502010010000", "part_codg": "002502010020000"},
    "requirements": {"med_list_codg": "003103000010000", "requires_codg": "003103000020000", "requires_dise": ""},
    "indications": {"med_list_codg": "XL01XCA0001", "dise_prefix": "C50"},
}  # fmt: skip
"""One example row per table (made up, in the national code formats), for the template."""


@dataclass(frozen=True)
class KnowledgeSheet:
    table: str
    """The table's key (``item_limits``)."""
    sheet: str
    """The sheet's name as written."""
    rows: tuple[dict[str, str | None], ...]
    """Each row as written (text by column key): checked, and stored as it is so it is parsed again alike."""


def table_of(sheet_title: str) -> kn.Table | None:
    """The knowledge table a sheet holds, by its Chinese name or its key (spaces and case aside)."""
    key = norm_header(sheet_title)
    for table in kn.TABLES.values():
        if key in (norm_header(table.zh), norm_header(table.name)):
            return table
    return None


def _headers(table: kn.Table) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in table.columns:
        out[norm_header(c.zh)] = c.name
        out[norm_header(c.name)] = c.name
    return out


def _columns_text(table: kn.Table) -> str:
    return ", ".join(f"{c.zh} ({c.name})" for c in table.columns)


def _checked(file: str, table: kn.Table, sheet: str, rows: list[Record]) -> tuple[list[dict[str, str | None]], list[InputError]]:
    """Each row through :func:`kn.parse_rows`; errors name the sheet's row and the column as the file heads it."""
    out: list[dict[str, str | None]] = []
    errors: list[InputError] = []
    for rec in rows:
        at = f"{file} sheet {sheet} row {rec.row}"
        try:
            kn.parse_rows(table.name, [rec.values], at)
        except InputError as e:
            column = next((c for c in table.columns if c.name == e.field), None)
            errors.append(replace(e, where=at, field=f"{column.zh}（{column.name}）" if column else e.field))
            continue
        out.append(rec.values)
    return out, errors


def read_workbook(path: Path, limits: SheetLimits | None = None, name: str | None = None) -> list[KnowledgeSheet]:
    """Every table sheet of the workbook, checked; ``InputError``/``InputErrors`` naming every bad row otherwise."""
    file = name or path.name
    found: list[KnowledgeSheet] = []
    errors: list[InputError] = []
    seen: dict[str, str] = {}
    if Path(file).suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputError(file, "file", file, "an .xlsx workbook with a sheet per knowledge table")
    with sheets(path, limits, file) as book:
        for title, rows in book:
            if norm_header(title) == norm_header(INSTRUCTIONS):
                continue
            table = table_of(title)
            if table is None:
                names = ", ".join(f"{t.zh} ({t.name})" for t in kn.TABLES.values())
                errors.append(
                    InputError(f"{file} sheet {title}", "sheet", title, f"a sheet named after a knowledge table: {names}")
                )
                continue
            if table.name in seen:
                errors.append(
                    InputError(f"{file} sheet {title}", "sheet", title, f"each table once ({seen[table.name]} holds it)")
                )
                continue
            seen[table.name] = title
            try:
                recs = records(rows, _headers(table), tuple(c.name for c in table.columns if c.required),
                               f"{file} sheet {title}", _columns_text(table))  # fmt: skip
            except InputError as e:
                errors.append(e)
                continue
            good, bad = _checked(file, table, title, recs)
            errors.extend(bad)
            found.append(KnowledgeSheet(table.name, title, tuple(good)))
    if not found and not errors:
        names = ", ".join(t.zh for t in kn.TABLES.values())
        errors.append(InputError(file, "sheet", None, f"at least one sheet named after a knowledge table: {names}"))
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    return found


def template() -> Workbook:
    """The workbook to fill in: instructions, then a sheet per table with its Chinese headers and an example row."""
    wb = Workbook()
    info = wb.active
    assert info is not None
    info.title = INSTRUCTIONS
    lines = [
        "医保基金智能监管知识库导入模板",
        "每个工作表对应一张知识库表，工作表名称与表头请勿修改；第 2 行为示例，导入前请删除或替换。",
        "导入后，该表以本工作簿的内容为准（整表替换规则包中的同名表）；未包含的表保持不变。",
        "数量、剂量、次数可含三位小数；支付标准以元为单位，至多两位小数；多个代码以逗号分隔。",
        "限定性别：1 男 / 2 女；周期：day 自然日、week 自然周、month 自然月、quarter 季度、year 自然年。",
        "类别：drug 药品、item 诊疗项目、material 医用耗材。",
    ]
    for r, text in enumerate(lines, start=1):
        xlsx.cell(info, r, 1, text)
    xlsx.widths(info, [120])
    for table in kn.TABLES.values():
        ws = wb.create_sheet(xlsx.sheet_title(table.zh))
        xlsx.header(ws, 1, [c.zh for c in table.columns])
        xlsx.put(ws, 2, [EXAMPLES[table.name].get(c.name) or None for c in table.columns])
        xlsx.widths(ws, [max(14.0, len(c.zh) * 2.2) for c in table.columns])
    return wb


def write_template(path: Path) -> Path:
    xlsx.save(template(), path)
    return path


def template_bytes() -> bytes:
    out = io.BytesIO()
    template().save(out)
    return out.getvalue()
