"""The counter's bill form with fee lines pasted from a spreadsheet: as many rows as sent, every bad cell named by row,
column, value and what was expected (nothing becomes a claim then), and the search text read as name + ID tail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.app.registry import search_query
from yibao.core.errors import InputError
from yibao.core.money import fen_to_yuan_str
from yibao.entrypoints.web.bill import FEE_ROWS, MAX_FEE_ROWS, BillForm, fee_field

HEAD = {"person": "P1", "med_type": "11", "hosp_lv": "2", "setl_date": "2022-07-15", "dise_codg": "i10", "dise_name": "高血压"}


def _form(lines: list[tuple[str, str, str, str]], **extra: str) -> BillForm:
    cells = {fee_field(i, c): v for i, line in enumerate(lines) for c, v in zip(("code", "name", "lv", "amt"), line, strict=True)}
    return BillForm.from_form(HEAD | cells | extra)


def test_eight_pasted_lines_make_eight_fee_lines_of_the_claim() -> None:
    lines = [(f"C{i}", f"项目{i}", "01" if i % 2 else "02", f"{10 + i}.5{i}") for i in range(8)]
    form = _form(lines)
    assert len(form.fee_rows()) == 8
    claim = form.claim_in("zh")
    assert claim is not None, form.errors
    assert [f.feedetl_sn for f in claim.fee_lines] == [f"W{i}" for i in range(1, 9)]
    assert sum(f.det_item_fee_sumamt for f in claim.fee_lines) == sum(1000 + 100 * i + 50 + i for i in range(8))
    assert (claim.dise_codg, claim.dise_name) == ("I10", "高血压")


def test_an_empty_bill_shows_six_rows_and_trailing_empty_rows_are_dropped() -> None:
    assert len(BillForm.from_form(HEAD).fee_rows()) == FEE_ROWS
    sent = _form([("A", "", "01", "1"), *[("", "", "01", "")] * 10])
    assert len(sent.fee_rows()) == FEE_ROWS


def test_bad_pasted_cells_are_named_by_row_column_value_and_expectation() -> None:
    lines = [("A", "甲", "01", "1"), ("B", "乙", "01", "8,80"), ("C", "丙", "丁", "2"), ("", "只有名称", "01", "3")]
    form = _form(lines)
    assert form.claim_in("zh") is None
    assert form.fee_problems("zh") == [
        "第 2 行「金额（元）」“8,80”：金额不能含逗号：小数点写作“.”（如 1.25），千位不加逗号",
        "第 3 行「等级」“丁”：请选择甲/乙/丙类",
        "第 4 行「医保目录编码」（空）：请填写目录编码",
    ]
    english = _form(lines)
    assert english.claim_in("en") is None
    assert english.fee_problems("en")[1] == "row 3, Class, “丁”: Choose class A/B/C"
    assert form.values[fee_field(1, "amt")] == "8,80"  # kept as pasted, to be corrected in place


def test_more_rows_than_the_counter_takes_are_refused_not_cut() -> None:
    form = _form([(f"C{i}", "", "01", "1") for i in range(MAX_FEE_ROWS + 1)])
    assert form.claim_in("zh") is None
    assert f"至多录入 {MAX_FEE_ROWS} 行" in form.errors["fee_lines"] and f"收到 {MAX_FEE_ROWS + 1} 行" in form.errors["fee_lines"]


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30))
def test_pasted_amounts_in_yuan_add_up_to_the_claim_in_fen(amounts: list[int]) -> None:
    claim = _form([(f"C{i}", "", "02", fen_to_yuan_str(fen)) for i, fen in enumerate(amounts)]).claim_in("zh")
    assert claim is not None
    assert [f.det_item_fee_sumamt for f in claim.fee_lines] == amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张三 1234", ("张三", "1234")),
        ("1234张三", ("张三", "1234")),
        ("张三123x", ("张三", "123X")),
        ("  欧阳  娜娜   00261 ", ("欧阳 娜娜", "00261")),
        ("123456", ("", "123456")),
        ("张三", ("张三", "")),
        ("张三 12", ("张三 12", "")),  # two digits are no tail: a name search
        ("P530902ABC", ("P530902ABC", "")),
    ],
)
def test_a_search_text_is_a_name_and_an_id_tail(text: str, expected: tuple[str, str]) -> None:
    assert search_query(text) == expected


@pytest.mark.parametrize("text", ["1234", "12345", "002X"])
def test_a_short_tail_alone_is_refused_asking_for_the_name(text: str) -> None:
    with pytest.raises(InputError) as refused:
        search_query(text)
    assert refused.value.field == "q" and "与姓名一起输入" in refused.value.expected_in("zh")
