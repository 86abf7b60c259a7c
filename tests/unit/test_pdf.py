"""HTML to PDF (yibao.app.pdf): the paper, the embedded font, the text as put in, and fitting to a page count."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.pdf_read import A4, A5, embeds_only_the_print_font, fonts, is_paper, page_sizes, pdf_text

from yibao.app.pdf import html_to_pdf

TEXT = "医疗救助基金支付 2,213.85 元，个人负担 9,137.95 元"


def page(body: str, head: str = "") -> str:
    return f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'


def test_a4_and_a5_are_their_paper_and_the_text_comes_back_as_put_in() -> None:
    for paper, size in (("A4", A4), ("A5", A5)):
        data = html_to_pdf(page(f"<p>{TEXT}</p>"), paper=paper)  # type: ignore[arg-type]
        assert data.startswith(b"%PDF")
        [got] = page_sizes(data)
        assert is_paper(got, size), (paper, got)
        assert pdf_text(data) == (1, TEXT)
        assert embeds_only_the_print_font(data)


def test_the_page_cannot_pick_its_own_font_or_paper() -> None:
    """A page naming a font the machine may lack, bold text, its own @page: the print font and the paper asked for."""
    head = "<style>@page { size: A5; margin: 30mm; } body { font-family: SimSun, 'Microsoft YaHei', serif; }</style>"
    data = html_to_pdf(page(f"<h1>结算单</h1><p>{TEXT}</p><p><b>经办人签字</b></p>", head), paper="A4")
    assert is_paper(page_sizes(data)[0], A4)
    assert pdf_text(data) == (1, f"结算单\n{TEXT}\n经办人签字")
    assert set(fonts(data)) == {"YibaoSans", "YibaoSans-Bold"} and embeds_only_the_print_font(data)


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_max_pages_shrinks_a_long_page_to_fit_and_loses_nothing() -> None:
    rows = [f"第 {i} 行：政策范围内费用 {i},000.00 元" for i in range(1, 41)]
    html = page("".join(f"<p>{r}</p>" for r in rows))
    pages, text = pdf_text(html_to_pdf(html))
    assert pages > 1  # at full size it runs on
    fitted = html_to_pdf(html, max_pages=1)
    pages, text = pdf_text(fitted)
    assert pages == 1 and text.split("\n") == rows
    assert [is_paper(s, A4) for s in page_sizes(fitted)] == [True]  # shrunk content, the paper unchanged
    # past half size it runs on rather than shrink further: every row still printed, on A4
    longer = [f"第 {i} 行" for i in range(1, 301)]
    pages, text = pdf_text(html_to_pdf(page("".join(f"<p>{r}</p>" for r in longer)), max_pages=1))
    assert pages > 1 and text.split("\n") == longer


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
@settings(max_examples=15, deadline=None)
@given(st.text(alphabet="一站式结算单医疗救助基金支付个人负担低保特困脱贫（）：，。0123456789.,", min_size=1, max_size=24))
def test_any_short_chinese_text_comes_back_as_put_in(text: str) -> None:
    assert pdf_text(html_to_pdf(page(f"<p>{text}</p>"), paper="A5")) == (1, text)
