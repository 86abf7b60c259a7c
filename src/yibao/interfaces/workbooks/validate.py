"""Row validation for identity imports: every bad cell found, with a reason a clerk can act on.

The checks run on whole columns with Polars (a million rows in about a second); only the rows
that fail are looked at one by one to say exactly what is wrong. Each check is defined once, in
a table, with its message in Chinese and English: :data:`CELL_CHECKS` look at one row's cells,
:data:`CROSS_CHECKS` compare a row with earlier rows of the file. In short:

- 身份证号: 18 characters, 17 digits and a digit or X, a real birth date, the GB 11643 check digit;
- 姓名: not empty; 身份类别: known (mapping's ``categories`` plus the names of the built-in categories and
  of those the installation's packs declare, :func:`yibao.policy.categories.known`; an unknown one names
  the accepted ones) and certified by this bureau; 开始日期 present, 结束日期 optional, both real dates (Excel dates, 2023-05-01,
  2023/5/1, 2023.5.1, 2023年5月1日, 20230501), 结束日期 not before 开始日期; place columns not too long;
- across rows: the same ID number and category twice with different dates is an error on the
  later row (twice with the same dates: the later row is a duplicate and left out); the same
  ID number under two names is an error on the later row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from yibao.core.clock import beijing_today
from yibao.core.idcard import CHECK, WEIGHTS, check_digit
from yibao.interfaces.workbooks.mapping import FIELDS, Mapping
from yibao.interfaces.workbooks.sheets import Sheet
from yibao.policy.categories import identity_label, known

MIN_DATE = date(1950, 1, 1)
MAX_DATE = date(2099, 12, 31)
MAX_LEN = {"psn_name": 64, "county": 64, "township": 64, "village": 64, "hh_no": 32}
_SPACES = r"[\s\u3000]+"


@dataclass(frozen=True)
class CellError:
    """One bad cell: its row as Excel shows it, its column header, the value, and why."""

    row: int
    column: str
    value: str
    reason: str
    """Chinese, for the clerk and the error workbook."""
    reason_en: str
    field: str
    col: int | None
    """0-based column index in the sheet (``None`` when the column is absent)."""


@dataclass
class Checked:
    good: pl.DataFrame
    """Valid rows: _row, certno, psn_name, category, valid_from, valid_to, county, township, village, hh_no, brdy, gend."""
    errors: list[CellError]
    rows_read: int
    rows_skipped: int
    """Rows whose category the mapping says is not an identity (``skip``)."""
    rows_duplicate: int
    """Exact repeats of an earlier row (same ID number, category and dates)."""
    rejected_rows: set[int] = field(default_factory=set)
    rejected_certnos: set[str] = field(default_factory=set)
    """ID numbers (as written, upper case) on rejected rows."""
    rejected_unknown_person: int = 0
    """Rejected rows whose ID number is unreadable (the person cannot be told)."""


def date_expr(col: str) -> pl.Expr:
    """Parse a text column of dates as bureaus write them; null when unreadable or out of range."""
    s = (
        pl.col(col)
        .str.strip_chars()
        .str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")
        .str.replace_all(r"[年月/.]", "-")
        .str.replace(r"日$", "")
    )
    d = pl.coalesce(
        s.str.to_date("%Y-%m-%d", strict=False),
        pl.when(s.str.contains(r"^\d{8}$")).then(s.str.to_date("%Y%m%d", strict=False)),
    )
    return pl.when(d.is_between(MIN_DATE, MAX_DATE)).then(d)


def certno_ok_expr(col: str, today: date) -> pl.Expr:
    c = pl.col(col)
    fmt = c.str.contains(r"^\d{17}[\dX]$")
    digits = [c.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(17)]
    total = pl.sum_horizontal([d * w for d, w in zip(digits, WEIGHTS, strict=True)]) % 11
    expected = total.replace_strict({i: CHECK[i] for i in range(11)}, return_dtype=pl.String, default=None)
    brdy = c.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return (
        fmt.fill_null(False)
        & brdy.is_between(date(1880, 1, 1), today).fill_null(False)
        & (c.str.slice(17, 1) == expected).fill_null(False)
    )


Reason = tuple[str, str]
"""Why a cell is bad: Chinese (for the clerk and the error workbook), English."""


_SCI = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)


def certno_reason(text: str | None, today: date) -> Reason:
    """Why an ID number is wrong, in Chinese and English."""
    if not text:
        return "身份证号为空", "ID number is empty"
    if _SCI.match(text):
        return (
            "身份证号被 Excel 存成了数字（科学计数法），后几位已丢失：请把该列设为“文本”后重新录入",
            "the ID number was stored as a number by Excel (scientific notation) and lost its last digits",
        )
    if len(text) != 18:
        return f"身份证号应为18位，实际为{len(text)}位", f"ID number must have 18 characters, got {len(text)}"
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        return "身份证号应为17位数字加1位数字或X", "ID number must be 17 digits followed by a digit or X"
    try:
        brdy = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return f"身份证号第7-14位出生日期 {text[6:14]} 不存在", f"birth date {text[6:14]} in characters 7-14 does not exist"
    if brdy.year < 1880 or brdy > today:
        return f"身份证号中的出生日期 {brdy.isoformat()} 不合理", f"implausible birth date {brdy.isoformat()} in the ID number"
    expected = check_digit(text[:17])
    return (
        f"身份证号校验位错误：应为 {expected}，实际为 {text[17]}（请核对号码）",
        f"check digit should be {expected}, got {text[17]} (GB 11643)",
    )


def _date_reason(raw: str | None, label: str) -> Reason:
    if not raw:
        return f"{label}为空", f"{label} is empty"
    return (
        f"{label}“{raw}”不是有效日期（可写作 2023-05-01、2023/5/1、2023年5月1日、20230501 或 Excel 日期，"
        f"且在 {MIN_DATE.year}—{MAX_DATE.year} 年之间）",
        f"{raw!r} is not a valid date (2023-05-01, 2023/5/1, 20230501 or an Excel date, years {MIN_DATE.year}-{MAX_DATE.year})",
    )


@dataclass(frozen=True)
class Context:
    """What the checks need besides the row: the day, the source's mapping, the sheet's headers."""

    today: date
    mapping: Mapping
    label: dict[str, str]
    """Field -> its header as the sheet shows it (or the mapping's first name for it)."""


@dataclass(frozen=True)
class Check:
    """One check: the field whose cell it marks, where it fails (whole columns), and why (one row)."""

    name: str
    field: str
    fails: Callable[[Context], pl.Expr]
    """True where the cell is bad, over the working frame (raw columns and the parsed ``_c``,
    ``_name``, ``_cat``, ``_vf``, ``_vt``; cross checks also ``_k_*`` and ``_n_*`` of the first row
    with the same key)."""
    reason: Callable[[dict[str, Any], Context], Reason]

    @property
    def flag(self) -> str:
        return f"_bad_{self.name}"


def _name_reason(r: dict[str, Any], _ctx: Context) -> Reason:
    if r["_name"] is None:
        return "姓名为空", "name is empty"
    return f"姓名超过{MAX_LEN['psn_name']}个字", "name is too long"


def _category_fails(ctx: Context) -> pl.Expr:
    ok = pl.col("_cat").is_not_null()
    if ctx.mapping.allowed is not None:
        ok = ok & pl.col("_cat").is_in(sorted(ctx.mapping.allowed))
    return (~ok).fill_null(True)


def _category_reason(r: dict[str, Any], ctx: Context) -> Reason:
    raw, label = r["category"], ctx.label["category"]
    if not raw:
        return f"{label}为空", "category is empty"
    if r["_cat"] is None:
        accepted = ctx.mapping.allowed if ctx.mapping.allowed is not None else set(ctx.mapping.categories.values())
        codes = [c for c in known() if c in accepted]
        return (
            f"无法识别的{label}“{raw}”，应为："
            + "、".join(f"{identity_label(c)}（`{c}`）" for c in codes)
            + "（其他写法可在映射文件 `categories:` 中补充对应关系）",
            f"unknown category {raw!r}; expected one of: "
            + ", ".join(f"{identity_label(c, 'en')} ({c})" for c in codes)
            + " (other names can be added to the mapping's categories:)",
        )
    cat = known()[r["_cat"]]
    return (
        f"“{raw}”（{cat.zh}）不由{ctx.mapping.source}认定，应由{cat.bureau}导入",
        f"{raw!r} ({cat.en}) is not certified by {ctx.mapping.source}; import it from {cat.bureau}",
    )


def _valid_to_reason(r: dict[str, Any], ctx: Context) -> Reason:
    if r["_vt"] is None:
        return _date_reason(r["valid_to"], ctx.label["valid_to"])
    return (
        f"{ctx.label['valid_to']} {r['_vt'].isoformat()} 早于{ctx.label['valid_from']} {r['_vf'].isoformat()}",
        f"valid to {r['_vt'].isoformat()} is before valid from {r['_vf'].isoformat()}",
    )


def _too_long(fld: str, n: int) -> Check:
    return Check(
        fld,
        fld,
        lambda _ctx: (pl.col(fld).str.len_chars() > n).fill_null(False),
        lambda _r, ctx: (f"{ctx.label[fld]}超过{n}个字", f"{fld} longer than {n} characters"),
    )


CELL_CHECKS: tuple[Check, ...] = (
    Check("certno", "certno", lambda ctx: ~certno_ok_expr("_c", ctx.today), lambda r, ctx: certno_reason(r["_c"], ctx.today)),
    Check(
        "psn_name",
        "psn_name",
        lambda _ctx: (pl.col("_name").is_null() | (pl.col("_name").str.len_chars() > MAX_LEN["psn_name"])).fill_null(True),
        _name_reason,
    ),
    Check("category", "category", _category_fails, _category_reason),
    Check(
        "valid_from",
        "valid_from",
        lambda _ctx: pl.col("_vf").is_null(),
        lambda r, ctx: _date_reason(r["valid_from"], ctx.label["valid_from"]),
    ),
    Check(
        "valid_to",
        "valid_to",
        lambda _ctx: (
            (pl.col("valid_to").is_not_null() & pl.col("_vt").is_null()) | (pl.col("_vt") < pl.col("_vf")).fill_null(False)
        ),
        _valid_to_reason,
    ),
    *(_too_long(f, n) for f, n in MAX_LEN.items() if f != "psn_name"),
)
"""The checks of one row's own cells, in the order a row's errors are listed."""

_LATER = pl.col("_row") != pl.col("_k_row")
_SAME_DATES = (pl.col("_vf") == pl.col("_k_vf")) & pl.col("_vt").eq_missing(pl.col("_k_vt"))


def _same_key_reason(r: dict[str, Any], _ctx: Context) -> Reason:
    k_vt = r["_k_vt"].isoformat() if r["_k_vt"] else "（空）"
    return (
        f"同一身份证号、同一类别已在第{r['_k_row']}行出现，日期不同（{r['_k_vf'].isoformat()} 至 {k_vt}）："
        "一个文件中每人每类只能有一行",
        f"same ID number and category as row {r['_k_row']} with different dates",
    )


OTHER_NAME = Check(
    "other_name",
    "psn_name",
    lambda _ctx: (pl.col("_row") != pl.col("_n_row")) & (pl.col("_name") != pl.col("_n_name")),
    lambda r, _ctx: (
        f"同一身份证号在第{r['_n_row']}行的姓名为“{r['_n_name']}”",
        f"the same ID number has name {r['_n_name']!r} on row {r['_n_row']}",
    ),
)
CROSS_CHECKS: tuple[Check, ...] = (
    Check("other_start", "valid_from", lambda _ctx: _LATER & ~_SAME_DATES & (pl.col("_vf") != pl.col("_k_vf")), _same_key_reason),
    Check("other_end", "valid_to", lambda _ctx: _LATER & ~_SAME_DATES & (pl.col("_vf") == pl.col("_k_vf")), _same_key_reason),
    OTHER_NAME,
)
"""The checks of a row against the first row with its ID number and category (dates) or its ID
number (name), among rows whose own cells are fine."""


def validate(sheet: Sheet, mapping: Mapping, *, today: date | None = None) -> Checked:
    """Check every row of ``sheet``; valid rows come back parsed, every bad cell as a :class:`CellError`."""
    ctx = Context(today or beijing_today(), mapping, {f: sheet.header_of(f, mapping) for f in FIELDS})
    df = sheet.frame
    rows_read = df.height
    code = pl.col("category").str.replace_all(_SPACES, "").str.to_lowercase()
    df = df.with_columns(
        pl.col("certno").str.replace_all(_SPACES, "").str.strip_chars_start("'").str.to_uppercase().alias("_c"),
        pl.col("psn_name").str.replace_all(_SPACES, "").replace("", None).alias("_name"),
        code.replace_strict(mapping.categories, default=None, return_dtype=pl.String).alias("_cat"),
        code.is_in(sorted(mapping.skip)).fill_null(False).alias("_skip"),
        date_expr("valid_from").alias("_vf"),
        date_expr("valid_to").alias("_vt"),
    )
    skipped = int(df["_skip"].sum())
    df = df.filter(~pl.col("_skip"))
    df = df.with_columns(check.fails(ctx).alias(check.flag) for check in CELL_CHECKS)
    df = df.with_columns(pl.any_horizontal([check.flag for check in CELL_CHECKS]).alias("_bad"))

    # across rows, among rows whose own cells are fine: repeats and contradictions
    ok = df.filter(~pl.col("_bad")).sort("_row")
    first_key = ok.group_by("_c", "_cat", maintain_order=True).agg(
        pl.col("_row").first().alias("_k_row"), pl.col("_vf").first().alias("_k_vf"), pl.col("_vt").first().alias("_k_vt")
    )
    first_name = ok.group_by("_c", maintain_order=True).agg(
        pl.col("_row").first().alias("_n_row"), pl.col("_name").first().alias("_n_name")
    )
    ok = ok.join(first_key, on=["_c", "_cat"], how="left").join(first_name, on="_c", how="left")
    ok = ok.with_columns((_LATER & _SAME_DATES).alias("_dup"), *(check.fails(ctx).alias(check.flag) for check in CROSS_CHECKS))

    errors: list[CellError] = []
    bad = df.filter(pl.col("_bad"))
    cross = ok.filter(pl.any_horizontal([check.flag for check in CROSS_CHECKS]))
    for frame, checks in ((bad, CELL_CHECKS), (cross, CROSS_CHECKS)):
        for r in frame.iter_rows(named=True):
            for check in checks:
                if r[check.flag]:
                    zh, en = check.reason(r, ctx)
                    fld = check.field
                    errors.append(CellError(int(r["_row"]), ctx.label[fld], r[fld] or "", zh, en, fld, sheet.columns.get(fld)))
    errors.sort(key=lambda e: (e.row, e.col if e.col is not None else -1))

    rejected_rows = {e.row for e in errors}
    rejected = pl.concat(
        [bad.select("_row", "_c"), cross.select("_row", "_c")],
        how="vertical",
    )
    rej_certnos = set(rejected.filter(certno_ok_expr("_c", ctx.today))["_c"].to_list())
    unknown_person = rejected.filter(~certno_ok_expr("_c", ctx.today)).height

    good = ok.filter(~pl.any_horizontal(["_dup", *(check.flag for check in CROSS_CHECKS)]))
    dups = ok.filter(pl.col("_dup") & ~pl.col(OTHER_NAME.flag)).height
    good = good.select(
        "_row",
        pl.col("_c").alias("certno"),
        pl.col("_name").alias("psn_name"),
        pl.col("_cat").alias("category"),
        pl.col("_vf").alias("valid_from"),
        pl.col("_vt").alias("valid_to"),
        *(pl.col(f).str.replace_all(_SPACES, "").replace("", None).alias(f) for f in ("county", "township", "village", "hh_no")),
        pl.col("_c").str.slice(6, 8).str.to_date("%Y%m%d").alias("brdy"),
        pl.when(pl.col("_c").str.slice(16, 1).cast(pl.Int64) % 2 == 1).then(pl.lit("1")).otherwise(pl.lit("2")).alias("gend"),
    )
    return Checked(
        good=good,
        errors=errors,
        rows_read=rows_read,
        rows_skipped=skipped,
        rows_duplicate=dups,
        rejected_rows=rejected_rows,
        rejected_certnos=rej_certnos,
        rejected_unknown_person=unknown_person,
    )
