"""Knowledge tables (知识库): the facts audit rules look items up in.

Each table is a list of rows with fixed columns (:data:`TABLES`). They come inline in an audit pack
or from the Excel workbook a bureau receives (a sheet per table, the Chinese headers of
:data:`TABLES`), and are checked the same way: a bad row is refused naming the file (sheet), row,
column, value and what was expected. Counts are given in units (``1.5``) and held in thousandths.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from yibao.audit.model import MILLI
from yibao.core.errors import InputError, InputErrors

Kind = Literal["code", "text", "fen", "count", "int", "codes", "gend", "window", "kind"]


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    kind: Kind
    required: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]


WINDOWS = ("day", "week", "month", "quarter", "year")
"""自然日, 自然周 (ISO, Monday first), 自然月, 季度, 自然年."""
ITEM_KINDS = ("drug", "item", "exam", "material")
"""药品, 诊疗项目, 检查检验 (exam: the examination share of the institution anomalies), 医用耗材."""

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("catalogue", "医保目录", "catalogue", (
            Column("med_list_codg", "医保目录编码", "code"), Column("med_list_name", "名称", "text"),
            Column("kind", "类别", "kind"), Column("std_pric", "支付标准（元）", "fen", required=False),
        )),
        Table("item_limits", "限定支付范围", "payment restrictions", (
            Column("med_list_codg", "医保目录编码", "code"), Column("gend", "限定性别", "gend", required=False),
            Column("age_min", "最小年龄", "int", required=False), Column("age_max", "最大年龄", "int", required=False),
            Column("med_types", "限定就医方式", "codes", required=False),
            Column("min_hosp_lv", "最低机构等级", "int", required=False),
            Column("insutypes", "限定险种", "codes", required=False),
        )),
        Table("quantity_limits", "数量与剂量限制", "quantity limits", (
            Column("med_list_codg", "医保目录编码", "code"), Column("per_line", "单次最大数量", "count", required=False),
            Column("per_day", "单日最大数量", "count", required=False),
        )),
        Table("frequency_limits", "频次限制", "frequency limits", (
            Column("med_list_codg", "医保目录编码", "code"), Column("window", "周期", "window"),
            Column("max_times", "最大次数", "count"),
        )),
        Table("course_limits", "疗程限制", "course limits", (
            Column("med_list_codg", "医保目录编码", "code"), Column("max_days", "单次就诊最多天数", "int"),
        )),
        Table("duplicate_pairs", "重复收费项目对", "duplicate charge pairs", (
            Column("main_codg", "主项目编码", "code"), Column("sub_codg", "不可同时收取的项目编码", "code"),
        )),
        Table("bundles", "组合项目", "bundles", (
            Column("bundle_codg", "组合项目编码", "code"), Column("part_codg", "组成项目编码", "code"),
        )),
        Table("requirements", "关联项目", "required items", (
            Column("med_list_codg", "医保目录编码", "code"), Column("requires_codg", "须同时具有的项目", "code", required=False),
            Column("requires_dise", "须具有的诊断（编码前缀）", "code", required=False),
        )),
        Table("indications", "药品适应症", "drug indications", (
            Column("med_list_codg", "药品编码", "code"), Column("dise_prefix", "适应症诊断编码前缀", "code"),
        )),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ItemLimit:
    gend: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    med_types: frozenset[str] | None = None
    min_hosp_lv: int | None = None
    insutypes: frozenset[str] | None = None


@dataclass(frozen=True)
class Knowledge:
    """The tables, indexed for the scalar rules; ``rows`` keeps each table's rows for the columnar ones."""

    rows: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    catalogue: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    item_limits: Mapping[str, ItemLimit] = field(default_factory=dict)
    per_line: Mapping[str, int] = field(default_factory=dict)
    per_day: Mapping[str, int] = field(default_factory=dict)
    frequency: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    """Item → (window, max thousandths) pairs."""
    course_days: Mapping[str, int] = field(default_factory=dict)
    duplicate_subs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Main item → the items that may not be charged with it the same day."""
    bundles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Bundle item → its parts."""
    requires_items: Mapping[str, frozenset[str]] = field(default_factory=dict)
    requires_dise: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    indications: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    price_ceilings: Mapping[str, int] = field(default_factory=dict)
    """Unit-price ceilings (限价) from the policy pack's ``fee.price_ceilings``, fen."""

    def table(self, name: str) -> tuple[Mapping[str, Any], ...]:
        return self.rows.get(name, ())


def _cell(table: Table, col: Column, raw: Any, where: str) -> Any:
    """One cell, parsed; InputError naming ``where`` and the column otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if col.required:
            raise InputError(where, col.name, raw, f"a value ({col.zh})")
        return None
    text = str(raw).strip()
    if col.kind in ("code", "text"):
        return text
    if col.kind == "gend":
        if text not in ("1", "2"):
            raise InputError(where, col.name, raw, "1 (male) or 2 (female)")
        return text
    if col.kind == "window":
        if text not in WINDOWS:
            raise InputError(where, col.name, raw, "one of " + ", ".join(WINDOWS))
        return text
    if col.kind == "kind":
        if text not in ITEM_KINDS:
            raise InputError(where, col.name, raw, "one of " + ", ".join(ITEM_KINDS))
        return text
    if col.kind == "codes":
        codes = tuple(c.strip() for c in text.replace("，", ",").split(",") if c.strip())
        if not codes:
            raise InputError(where, col.name, raw, "codes separated by commas")
        return frozenset(codes)
    if col.kind == "int":
        if isinstance(raw, bool) or not text.isdigit():
            raise InputError(where, col.name, raw, "a whole number >= 0")
        return int(text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or isinstance(raw, bool):
        raise InputError(where, col.name, raw, "an amount in yuan >= 0" if col.kind == "fen" else "a count >= 0")
    scaled = number * (100 if col.kind == "fen" else MILLI)
    if scaled != scaled.to_integral_value():
        raise InputError(where, col.name, raw, "at most 2 decimals (fen)" if col.kind == "fen" else "at most 3 decimals")
    return int(scaled)


def parse_rows(table_name: str, rows: Sequence[Mapping[str, Any]], where: str) -> tuple[dict[str, Any], ...]:
    """Check and parse a table's rows (row numbers from 1); every bad row is reported at once."""
    table = TABLES.get(table_name)
    if table is None:
        raise InputError(where, "table", table_name, "one of " + ", ".join(TABLES))
    out: list[dict[str, Any]] = []
    errors: list[InputError] = []
    names = {c.name for c in table.columns}
    for n, row in enumerate(rows, start=1):
        at = f"{where} row {n}"
        if not isinstance(row, Mapping):
            errors.append(InputError(at, table_name, row, "a row of " + ", ".join(sorted(names))))
            continue
        unknown = sorted(set(row) - names)
        if unknown:
            errors.append(
                InputError(
                    at, unknown[0], row[unknown[0]], "a column of " + table_name + ": " + ", ".join(c.name for c in table.columns)
                )
            )
            continue
        try:
            out.append({c.name: _cell(table, c, row.get(c.name), at) for c in table.columns})
        except InputError as e:
            errors.append(e)
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    return tuple(out)


def build(tables: Mapping[str, Sequence[Mapping[str, Any]]], price_ceilings: Mapping[str, int] | None = None) -> Knowledge:
    """Index parsed rows (:func:`parse_rows`) for the rules."""
    rows = {name: tuple(tables.get(name, ())) for name in TABLES}
    freq: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for r in rows["frequency_limits"]:
        freq[r["med_list_codg"]].append((r["window"], r["max_times"]))
    subs: dict[str, set[str]] = defaultdict(set)
    for r in rows["duplicate_pairs"]:
        subs[r["main_codg"]].add(r["sub_codg"])
    bundles: dict[str, set[str]] = defaultdict(set)
    for r in rows["bundles"]:
        bundles[r["bundle_codg"]].add(r["part_codg"])
    req_items: dict[str, set[str]] = defaultdict(set)
    req_dise: dict[str, list[str]] = defaultdict(list)
    for r in rows["requirements"]:
        if r["requires_codg"]:
            req_items[r["med_list_codg"]].add(r["requires_codg"])
        if r["requires_dise"]:
            req_dise[r["med_list_codg"]].append(r["requires_dise"])
    ind: dict[str, list[str]] = defaultdict(list)
    for r in rows["indications"]:
        ind[r["med_list_codg"]].append(r["dise_prefix"])
    return Knowledge(
        rows=rows,
        catalogue={r["med_list_codg"]: r for r in rows["catalogue"]},
        item_limits={
            r["med_list_codg"]: ItemLimit(r["gend"], r["age_min"], r["age_max"], r["med_types"], r["min_hosp_lv"], r["insutypes"])
            for r in rows["item_limits"]
        },
        per_line={r["med_list_codg"]: r["per_line"] for r in rows["quantity_limits"] if r["per_line"] is not None},
        per_day={r["med_list_codg"]: r["per_day"] for r in rows["quantity_limits"] if r["per_day"] is not None},
        frequency={k: tuple(v) for k, v in freq.items()},
        course_days={r["med_list_codg"]: r["max_days"] for r in rows["course_limits"]},
        duplicate_subs={k: frozenset(v) for k, v in subs.items()},
        bundles={k: frozenset(v) for k, v in bundles.items()},
        requires_items={k: frozenset(v) for k, v in req_items.items()},
        requires_dise={k: tuple(v) for k, v in req_dise.items()},
        indications={k: tuple(v) for k, v in ind.items()},
        price_ceilings=dict(price_ceilings or {}),
    )


def window_key(day: date, window: str) -> tuple[int, int]:
    """Which natural window ``day`` falls in: (year, day-of-year / ISO week / month / quarter / 0)."""
    if window == "day":
        return (day.year, day.timetuple().tm_yday)
    if window == "week":
        iso = day.isocalendar()
        return (iso[0], iso[1])
    if window == "month":
        return (day.year, day.month)
    if window == "quarter":
        return (day.year, (day.month - 1) // 3 + 1)
    return (day.year, 0)
