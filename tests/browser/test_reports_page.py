"""The reports page in a real browser: period and place, every table and chart, the workbook, bad periods, refusals."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.reports.catalogue import TABLES, header, title
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

AMOUNT = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
PERCENT = re.compile(r"^-?\d+\.\d{2}%$|^—$")
MONTH = "2022-05"


def busiest_township(site: Site, month: str) -> str:
    """The township with the most settlements in ``month`` (so the figures compared are not all zero)."""
    first = date.fromisoformat(f"{month}-01")
    q = (
        sa.select(Person.township)
        .join(LedgerEntry, LedgerEntry.person_id == Person.id)
        .where(LedgerEntry.setl_date >= first, LedgerEntry.setl_date < first.replace(month=first.month + 1))
        .group_by(Person.township)
        .order_by(sa.func.count().desc(), Person.township)
        .limit(1)
    )
    with site.db.unit_of_work() as s:
        return str(s.scalar(q))


def column_texts(page: Page, table: str, column: str) -> list[str]:
    """The cells of one column (found by its Chinese header) of a table on the page."""
    heads = [h.strip() for h in page.locator(f"#t-{table} thead th").all_inner_texts()]
    index = heads.index(header(column)) + 1
    return [c.strip() for c in page.locator(f"#t-{table} tbody tr td:nth-child({index})").all_inner_texts()]


def expect_report(page: Page, start: str, end: str) -> None:
    """Every table with its title and note, the three charts, amounts in yuan and ratios in percent."""
    expect(page.locator("#period")).to_have_text(f"{start} 至 {end}")
    expect(page.locator("section.report-table")).to_have_count(len(TABLES))
    for name in TABLES:
        expect(page.locator(f"#t-{name} h2")).to_have_text(title(name))
        expect(page.locator(f"#t-{name} .note")).not_to_be_empty()
    expect(page.locator("#charts figure svg")).to_have_count(3)
    for chart in ("trend", "payers", "ratios"):
        expect(page.locator(f"#chart-{chart} svg")).to_be_visible()
    assert all(AMOUNT.match(v) for v in column_texts(page, "monthly", "medfee_sumamt"))
    assert all(PERCENT.match(v) for v in column_texts(page, "ratios", "assist_bp"))
    total = page.locator("#t-monthly tr.total td").first
    expect(total).to_have_text("合计")
    assert total.evaluate("td => getComputedStyle(td).fontWeight") == "700"


def test_analyst_picks_a_township_and_a_month_and_downloads_the_workbook(page: Page, site: Site, tmp_path: Path) -> None:
    sign_in(page, "analyst")
    page.click("nav >> text=报表")
    page.wait_for_url("**/reports")
    expect(page.locator("h1")).to_have_text("医疗保障统计报表")
    expect_report(page, "2022-01-01", "2022-12-31")

    county = page.locator("#f-county option").nth(1).get_attribute("value")
    assert county
    page.select_option("#f-county", county)
    page.click("#show")
    expect_report(page, "2022-01-01", "2022-12-31")
    expect(page.locator("#place")).to_have_text(f"地区/机构：{county}")
    boxes = page.locator(".report-table .scroll")
    assert set(boxes.evaluate_all("bs => bs.map(b => getComputedStyle(b).overflowX)")) == {"auto"}, (
        "wide tables scroll in their box"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366, "the page itself does not scroll sideways"
    shot(page, "reports")

    township = busiest_township(site, MONTH)
    page.select_option("#f-county", "")
    page.select_option("#f-township", township)
    page.fill("#f-month", MONTH)
    page.click("#show")
    expect_report(page, "2022-05-01", "2022-05-31")
    expect(page.locator("#place")).to_have_text(f"地区/机构：{township}")
    expect(page.locator("#about")).to_contain_text(f"地区/机构：{township}")
    expect(page.locator("#f-month")).to_have_value(MONTH)
    expect(page.locator("#f-township")).to_have_value(township)
    shot(page, "reports-township")

    cost = column_texts(page, "monthly", "medfee_sumamt")[-1]
    assert cost != "0.00"
    with page.expect_download() as download:
        page.click("#download-xlsx")
    saved = tmp_path / "report.xlsx"
    download.value.save_as(saved)
    wb = load_workbook(saved)
    assert wb.sheetnames == ["说明", *(title(name) for name in TABLES)]
    about = "\n".join(str(c.value) for c in wb["说明"]["A"] if c.value)
    assert "2022-05-01 至 2022-05-31" in about and township in about
    sheet = wb[title("monthly")]
    heads = [c.value for c in sheet[1]]
    last = next(row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] == "合计")
    cell = last[heads.index(header("medfee_sumamt"))]
    assert isinstance(cell, int | float)
    assert Decimal(str(cell)).quantize(Decimal("0.01")) == Decimal(cost.replace(",", ""))

    for fmt, magic in (("svg", b"<svg"), ("png", b"\x89PNG")):
        with page.expect_download() as download:
            page.click(f"#chart-trend a.chart-{fmt}")
        assert download.value.suggested_filename == f"trend.{fmt}"
        body = Path(download.value.path()).read_bytes()
        assert magic in body[:200]


def test_a_bad_period_is_shown_next_to_its_field_then_english(page: Page) -> None:
    sign_in(page, "analyst")
    page.goto("/reports")
    cases = (
        ({"start": "2022-06-01", "end": "2022-03-01"}, "end", "不早于开始日期 2022-06-01"),
        ({"start": "2022-06-01", "end": "2023-01-05"}, "end", "同一年"),
        ({"month": "2022-13"}, "month", "月份，写作 YYYY-MM"),
        ({"month": "五月"}, "month", "月份，写作 YYYY-MM"),
    )
    for fields, wrong, words in cases:
        for name in ("month", "start", "end"):
            page.fill(f"#f-{name}", fields.get(name, ""))
        page.click("#show")
        expect(page.locator(f"#e-{wrong}")).to_contain_text(words)
        for name, typed in fields.items():
            expect(page.locator(f"#f-{name}")).to_have_value(typed)
        expect(page.locator("section.report-table")).to_have_count(0)
    shot(page, "reports-error")
    page.fill("#f-month", MONTH)
    page.click("#show")
    expect_report(page, "2022-05-01", "2022-05-31")
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Medical security statistics")
    expect(page.locator("#t-monthly h2")).to_have_text(title("monthly", "en"))
    expect(page.locator("#f-month")).to_have_value(MONTH)


def test_a_clerk_has_no_reports(page: Page) -> None:
    sign_in(page, "clerk")
    assert "报表" not in [t.strip() for t in page.locator("nav.nav a").all_inner_texts()]
    for path in ("/reports", "/reports/workbook?month=2022-05"):
        response = page.goto(path)
        assert response is not None and response.status == 403
        expect(page.locator("h1")).to_contain_text("403")
