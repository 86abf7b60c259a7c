"""基金预算 in a real browser, as an analyst: type a month in, import the filled-in template, see January's budget
against actual with the spending-ahead warning on the reports page, and download the workbook with the budget rows.

The basic budget is made from the demo ledger itself (SQL straight on it): four times January's basic-insurance
spending for the year, so January alone uses about a quarter of the year's budget against 8.33% of the year
elapsed — more than the pack's 5-point margin."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.store.service_tables import LedgerEntry


def january_basic(site: Site) -> int:
    """Resident basic-insurance payments of January 2022's settlements that stand (fen)."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.kind == "reverse", LedgerEntry.reverses.is_not(None))
    q = sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.hifp_pay), 0)).where(
        LedgerEntry.kind == "settle",
        LedgerEntry.insutype == "390",
        LedgerEntry.setl_date >= date(2022, 1, 1),
        LedgerEntry.setl_date <= date(2022, 1, 31),
        LedgerEntry.setl_id.not_in(reversed_ids),
    )
    with site.db.unit_of_work() as s:
        return int(s.scalar(q) or 0)


def test_enter_import_see_the_warning_and_download_the_budget(page: Page, site: Site, tmp_path: Path) -> None:
    jan = january_basic(site)
    assert jan > 0
    monthly = -(-jan * 4 // 12 // 100) * 100  # whole yuan, rounded up: the year's budget is about 4 x January
    year_budget = monthly * 12
    used_bp = (jan * 10_000 * 2 + year_budget) // (2 * year_budget)  # half up
    assert used_bp - 833 > 500

    sign_in(page, "analyst")
    page.click("nav >> text=基金预算")
    expect(page.locator("h1")).to_contain_text("基金预算")
    page.fill("#a-assistance-1", "800.00")  # typed in the window
    page.click("#save-budget")
    expect(page.locator("#notice")).to_contain_text("已保存：1 个月的预算有变动")
    expect(page.locator("#total-assistance")).to_have_text("800.00")

    with page.expect_download() as got:  # the template, filled in and imported back
        page.click("#template")
    template = tmp_path / "模板.xlsx"
    got.value.save_as(template)
    wb = load_workbook(template)
    ws = wb.worksheets[0]
    assert [ws.cell(row=2, column=c).value for c in (1, 2)] == [2022, "basic"]
    assert ws.cell(row=4, column=4).value == 800  # the assistance January typed above
    for col in range(4, 16):
        ws.cell(row=2, column=col).value = Decimal(monthly) / 100
    wb.save(template)
    page.set_input_files("#f-file", str(template))
    page.click("#import-button")
    expect(page.locator("#notice")).to_contain_text("已导入模板：12 个月的预算有变动")
    expect(page.locator("#total-basic")).to_have_text(f"{year_budget // 100:,}.00")
    expect(page.locator("#changes tbody tr").first).to_contain_text("模板导入")
    expect(page.locator("#changes tbody tr").first).to_contain_text("analyst")
    shot(page, "budget")

    page.goto("/reports?month=2022-01")
    expect(page.locator("#budget-alerts")).to_contain_text("2022-01 基本医保统筹基金：预算使用进度超过时间进度")
    row = page.locator("#t-budget tbody tr").first
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[:4] == ["基本医保统筹基金", "2022-01", f"{monthly // 100:,}.00", f"{jan // 100:,}.{jan % 100:02d}"]
    assert cells[7:] == [f"{used_bp // 100}.{used_bp % 100:02d}%", "8.33%", "支出超进度"]
    ahead = used_bp - 833
    expect(page.locator("#t-budget_warnings tbody tr").first).to_contain_text(f"{ahead // 100}.{ahead % 100:02d}%")
    shot(page, "budget-report")

    with page.expect_download() as got:
        page.click("#download-xlsx")
    book = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    sheet = book["基金预算执行"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2, max_row=8)]
    jan_row = next(r for r in rows if r[:2] == ["基本医保统筹基金", "2022-01"])
    exact = [Decimal(str(v)) for v in (*jan_row[2:5], *jan_row[7:9])]  # openpyxl reads numbers back as floats
    assert exact == [Decimal(monthly) / 100, Decimal(jan) / 100, Decimal(jan - monthly) / 100, Decimal(used_bp) / 10_000,
                     Decimal(833) / 10_000]  # fmt: skip
    assert jan_row[9] == "支出超进度"
    assert [c.value for c in book["基金预算预警"][2]][:3] == ["支出超进度", "基本医保统筹基金", "2022-01"]
