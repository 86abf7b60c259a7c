"""The identity-row checks (:mod:`yibao.interfaces.workbooks.validate`): one sheet whose rows each
break one check of the table, and the errors a clerk gets for them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from yibao.interfaces.workbooks.mapping import FIELDS, load_mapping
from yibao.interfaces.workbooks.sheets import Sheet
from yibao.interfaces.workbooks.validate import CELL_CHECKS, CROSS_CHECKS, validate

HEADERS = ("身份证号码", "姓名", "救助类别", "享受开始日期", "享受结束日期", "县（区）", "乡镇", "村（社区）", "家庭编号")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def idno(body: str) -> str:
    """A valid ID number for a 17-digit body (GB 11643, computed here independently)."""
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


A, B = idno("53090219800101001"), idno("53090219700505002")


def sheet(rows: list[tuple[str | None, ...]]) -> Sheet:
    frame = pl.DataFrame(
        {"_row": list(range(2, 2 + len(rows))), **{f: [r[i] for r in rows] for i, f in enumerate(FIELDS)}},
        schema={"_row": pl.Int64, **dict.fromkeys(FIELDS, pl.String)},
    )
    return Sheet(Path("roster.xlsx"), "xlsx", "名册", 1, list(HEADERS), {f: i for i, f in enumerate(FIELDS)}, frame)


def row(
    certno: str | None,
    name: str | None,
    category: str | None,
    vf: str | None,
    vt: str | None = None,
    village: str | None = "忙弄村",
) -> tuple[str | None, ...]:
    return (certno, name, category, vf, vt, "临翔区", "博尚镇", village, "HH1")


def test_each_check_of_the_table_gives_its_cell_and_reason() -> None:
    wrong_check = A[:17] + ("0" if A[17] != "0" else "1")
    rows = [
        row(A, "张三", "农村低保", "2022-01-01"),  # 2: good
        row(wrong_check, "李四", "农村低保", "2022-01-01"),  # 3
        row(B, None, "农村低保", "2022-01-01"),  # 4
        row(B, "王五", "临时救助", "2022-01-01"),  # 5
        row(B, "王五", "农村低保", "去年"),  # 6
        row(B, "王五", "农村低保", "2022-05-01", "2022-04-30"),  # 7
        row(B, "王五", "农村低保", "2022-05-01", village="村" * 65),  # 8
        row(A, "张三", "农村低保", "2022-02-01"),  # 9: other start than row 2
        row(A, "张三", "农村低保", "2022-01-01", "2022-12-31"),  # 10: other end than row 2
        row(A, "张四", "低保边缘家庭", "2022-01-01"),  # 11: other name than row 2
        row(A, "张三", "农村低保", "2022-01-01"),  # 12: a repeat of row 2
    ]
    checked = validate(sheet(rows), load_mapping("民政"), today=date(2023, 6, 1))
    got = [(e.row, e.field, e.column, e.reason_en) for e in checked.errors]
    assert got == [
        (3, "certno", "身份证号码", f"check digit should be {A[17]}, got {wrong_check[17]} (GB 11643)"),
        (4, "psn_name", "姓名", "name is empty"),
        (
            5,
            "category",
            "救助类别",
            "unknown category '临时救助'; expected one of: extreme-poverty support (tekun), minimum living allowance "
            "(dibao), near minimum-allowance household (dibao_edge), orphan / unsupported child (orphan), "
            "impoverished by serious illness (yinbing), household in hardship from unavoidable expenses (gangxing) "
            "(other names can be added to the mapping's categories:)",
        ),
        (
            6,
            "valid_from",
            "享受开始日期",
            "'去年' is not a valid date (2023-05-01, 2023/5/1, 20230501 or an Excel date, years 1950-2099)",
        ),
        (7, "valid_to", "享受结束日期", "valid to 2022-04-30 is before valid from 2022-05-01"),
        (8, "village", "村（社区）", "village longer than 64 characters"),
        (9, "valid_from", "享受开始日期", "same ID number and category as row 2 with different dates"),
        (10, "valid_to", "享受结束日期", "same ID number and category as row 2 with different dates"),
        (11, "psn_name", "姓名", "the same ID number has name '张三' on row 2"),
    ]
    assert [e.reason for e in checked.errors if e.row == 4] == ["姓名为空"]
    assert checked.good["_row"].to_list() == [2]
    assert (checked.rows_read, checked.rows_duplicate, checked.rejected_rows) == (11, 1, set(range(3, 12)))
    assert checked.rejected_certnos == {A, B}
    assert checked.rejected_unknown_person == 1  # row 3: its ID number tells no one


def test_civil_affairs_certifies_the_illness_and_hardship_categories() -> None:
    """民政 recognises 因病致贫重病患者 and 刚性支出困难家庭成员 (the built-ins ``yinbing``, ``gangxing``)."""
    rows = [row(A, "张三", "因病致贫重病患者", "2022-01-01"), row(B, "王五", "支出型困难家庭", "2022-03-01")]
    checked = validate(sheet(rows), load_mapping("民政"), today=date(2023, 6, 1))
    assert checked.errors == []
    assert checked.good["category"].to_list() == ["yinbing", "gangxing"]


def test_every_check_names_a_field_and_a_flag_of_its_own() -> None:
    checks = [*CELL_CHECKS, *CROSS_CHECKS]
    assert all(c.field in FIELDS for c in checks)
    assert len({c.flag for c in checks}) == len(checks)
    assert [c.field for c in CELL_CHECKS][:5] == ["certno", "psn_name", "category", "valid_from", "valid_to"]
