"""Row validation for identity imports: every bad cell found, with a reason a clerk can act on.

The checks run on whole columns with Polars (a million rows in about a second); only the rows
that fail are looked at one by one to say exactly what is wrong. Checks:

- 身份证号: 18 characters, 17 digits and a digit or X, a real birth date, the GB 11643 check digit;
- 姓名: not empty; 身份类别: known (mapping's ``categories`` plus yibao's names) and certified by
  this bureau; 开始日期 present, 结束日期 optional, both real dates (Excel dates, 2023-05-01,
  2023/5/1, 2023.5.1, 2023年5月1日, 20230501), 结束日期 not before 开始日期;
- across rows: the same ID number and category twice with different dates is an error on the
  later row (twice with the same dates: the later row is a duplicate and left out); the same
  ID number under two names is an error on the later row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from yibao.core.idcard import CHECK, WEIGHTS, check_digit
from yibao.core.identities import CATEGORIES
from yibao.interfaces.workbooks.mapping import FIELDS, Mapping
from yibao.interfaces.workbooks.sheets import Sheet

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


_SCI = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)


def certno_reason(text: str | None, today: date) -> tuple[str, str]:
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


def _date_reason(raw: str | None, label: str) -> tuple[str, str]:
    if not raw:
        return f"{label}为空", f"{label} is empty"
    return (
        f"{label}“{raw}”不是有效日期（可写作 2023-05-01、2023/5/1、2023年5月1日、20230501 或 Excel 日期，"
        f"且在 {MIN_DATE.year}—{MAX_DATE.year} 年之间）",
        f"{raw!r} is not a valid date (2023-05-01, 2023/5/1, 20230501 or an Excel date, years {MIN_DATE.year}-{MAX_DATE.year})",
    )


def validate(sheet: Sheet, mapping: Mapping, *, today: date | None = None) -> Checked:
    """Check every row of ``sheet``; valid rows come back parsed, every bad cell as a :class:`CellError`."""
    today = today or date.today()
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
    cat_ok = pl.col("_cat").is_not_null()
    if mapping.allowed is not None:
        cat_ok = cat_ok & pl.col("_cat").is_in(sorted(mapping.allowed))
    long_checks = {f: pl.col(f).str.len_chars() > n for f, n in MAX_LEN.items() if f != "psn_name"}
    df = df.with_columns(
        (~certno_ok_expr("_c", today)).alias("_bad_certno"),
        (pl.col("_name").is_null() | (pl.col("_name").str.len_chars() > MAX_LEN["psn_name"]))
        .fill_null(True)
        .alias("_bad_psn_name"),
        (~cat_ok).fill_null(True).alias("_bad_category"),
        pl.col("_vf").is_null().alias("_bad_valid_from"),
        ((pl.col("valid_to").is_not_null() & pl.col("_vt").is_null()) | (pl.col("_vt") < pl.col("_vf")).fill_null(False)).alias(
            "_bad_valid_to"
        ),
        *(expr.fill_null(False).alias(f"_bad_{f}") for f, expr in long_checks.items()),
    )
    flag_cols = [c for c in df.columns if c.startswith("_bad_")]
    df = df.with_columns(pl.any_horizontal(flag_cols).alias("_bad"))

    # across rows, among rows whose own cells are fine: repeats and contradictions
    ok = df.filter(~pl.col("_bad")).sort("_row")
    first_key = ok.group_by("_c", "_cat", maintain_order=True).agg(
        pl.col("_row").first().alias("_k_row"), pl.col("_vf").first().alias("_k_vf"), pl.col("_vt").first().alias("_k_vt")
    )
    first_name = ok.group_by("_c", maintain_order=True).agg(
        pl.col("_row").first().alias("_n_row"), pl.col("_name").first().alias("_n_name")
    )
    ok = ok.join(first_key, on=["_c", "_cat"], how="left").join(first_name, on="_c", how="left")
    later = pl.col("_row") != pl.col("_k_row")
    same_dates = (pl.col("_vf") == pl.col("_k_vf")) & pl.col("_vt").eq_missing(pl.col("_k_vt"))
    ok = ok.with_columns(
        (later & same_dates).alias("_dup"),
        (later & ~same_dates & (pl.col("_vf") != pl.col("_k_vf"))).alias("_x_vf"),
        (later & ~same_dates & (pl.col("_vf") == pl.col("_k_vf"))).alias("_x_vt"),
        ((pl.col("_row") != pl.col("_n_row")) & (pl.col("_name") != pl.col("_n_name"))).alias("_x_name"),
    )

    errors: list[CellError] = []

    def err(row: int, fld: str, value: str | None, zh: str, en: str) -> None:
        errors.append(CellError(row, sheet.header_of(fld, mapping), value or "", zh, en, fld, sheet.columns.get(fld)))

    label = {f: sheet.header_of(f, mapping) for f in FIELDS}
    bad = df.filter(pl.col("_bad"))
    for r in bad.iter_rows(named=True):
        row = int(r["_row"])
        if r["_bad_certno"]:
            zh, en = certno_reason(r["_c"], today)
            err(row, "certno", r["certno"], zh, en)
        if r["_bad_psn_name"]:
            if r["_name"] is None:
                err(row, "psn_name", r["psn_name"], "姓名为空", "name is empty")
            else:
                err(row, "psn_name", r["psn_name"], f"姓名超过{MAX_LEN['psn_name']}个字", "name is too long")
        if r["_bad_category"]:
            raw = r["category"]
            if not raw:
                err(row, "category", raw, f"{label['category']}为空", "category is empty")
            elif r["_cat"] is None:
                err(
                    row,
                    "category",
                    raw,
                    f"无法识别的{label['category']}“{raw}”（可在映射文件 categories: 中补充对应关系）",
                    f"unknown category {raw!r} (add it to the mapping's categories:)",
                )
            else:
                cat = CATEGORIES[r["_cat"]]
                err(
                    row,
                    "category",
                    raw,
                    f"“{raw}”（{cat.zh}）不由{mapping.source}认定，应由{cat.bureau}导入",
                    f"{raw!r} ({cat.en}) is not certified by {mapping.source}; import it from {cat.bureau}",
                )
        if r["_bad_valid_from"]:
            zh, en = _date_reason(r["valid_from"], label["valid_from"])
            err(row, "valid_from", r["valid_from"], zh, en)
        if r["_bad_valid_to"]:
            if r["_vt"] is None:
                zh, en = _date_reason(r["valid_to"], label["valid_to"])
                err(row, "valid_to", r["valid_to"], zh, en)
            else:
                err(
                    row,
                    "valid_to",
                    r["valid_to"],
                    f"{label['valid_to']} {r['_vt'].isoformat()} 早于{label['valid_from']} {r['_vf'].isoformat()}",
                    f"valid to {r['_vt'].isoformat()} is before valid from {r['_vf'].isoformat()}",
                )
        for f, n in MAX_LEN.items():
            if f != "psn_name" and r.get(f"_bad_{f}"):
                err(row, f, r[f], f"{label[f]}超过{n}个字", f"{f} longer than {n} characters")
    cross = ok.filter(pl.col("_x_vf") | pl.col("_x_vt") | pl.col("_x_name"))
    for r in cross.iter_rows(named=True):
        row = int(r["_row"])
        if r["_x_vf"] or r["_x_vt"]:
            fld = "valid_from" if r["_x_vf"] else "valid_to"
            k_vt = r["_k_vt"].isoformat() if r["_k_vt"] else "（空）"
            err(
                row,
                fld,
                r[fld],
                f"同一身份证号、同一类别已在第{r['_k_row']}行出现，日期不同（{r['_k_vf'].isoformat()} 至 {k_vt}）："
                "一个文件中每人每类只能有一行",
                f"same ID number and category as row {r['_k_row']} with different dates",
            )
        if r["_x_name"]:
            err(
                row,
                "psn_name",
                r["psn_name"],
                f"同一身份证号在第{r['_n_row']}行的姓名为“{r['_n_name']}”",
                f"the same ID number has name {r['_n_name']!r} on row {r['_n_row']}",
            )
    errors.sort(key=lambda e: (e.row, e.col if e.col is not None else -1))

    rejected_rows = {e.row for e in errors}
    rejected = pl.concat(
        [bad.select("_row", "_c"), cross.select("_row", "_c")],
        how="vertical",
    )
    rej_certnos = set(rejected.filter(certno_ok_expr("_c", today))["_c"].to_list())
    unknown_person = rejected.filter(~certno_ok_expr("_c", today)).height

    good = ok.filter(~(pl.col("_dup") | pl.col("_x_vf") | pl.col("_x_vt") | pl.col("_x_name")))
    dups = ok.filter(pl.col("_dup") & ~pl.col("_x_name")).height
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
