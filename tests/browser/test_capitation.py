"""门诊统筹人头定额 in a real browser, as an auditor: choose the demo township (Zibo 2020) and a month, read the statement
— its by-head total equals the ledger's own sum (SQL straight on it) — download the workbook and record the year's
score, which the year-end block then shows with its release."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.core.money import fmt_yuan
from yibao.store.service_tables import LedgerEntry
from yibao.synth.township import DEMO_TOWNSHIP


def month_sum(site: Site, field: str, start: date, end: date) -> int:
    """A ledger amount of the demo township's pot in ``start``..``end``, every entry (reversals net out)."""
    column = getattr(LedgerEntry, field)
    q = sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(
        LedgerEntry.captn_town == DEMO_TOWNSHIP, LedgerEntry.setl_date >= start, LedgerEntry.setl_date <= end
    )
    with site.db.unit_of_work() as s:
        return int(s.scalar(q) or 0)


def test_choose_read_download_and_score(page: Page, site: Site, tmp_path: Path) -> None:
    by_head = month_sum(site, "captn_pay", date(2020, 3, 1), date(2020, 3, 31))
    fund = month_sum(site, "hifp_pay", date(2020, 3, 1), date(2020, 3, 31))
    assert by_head > 0
    sign_in(page, "auditor")
    page.click("nav >> text=人头定额")
    expect(page.locator("h1")).to_contain_text("门诊统筹人头定额")
    page.select_option("#f-township", DEMO_TOWNSHIP)
    page.fill("#f-month", "2020-03")
    page.click("#choose button[type=submit]")
    expect(page.locator("#statement h2")).to_contain_text(f"{DEMO_TOWNSHIP} 2020 年 3 月结算单")
    rows = page.locator("#institutions tbody tr")
    expect(rows.first).to_contain_text("卫生院")  # the township hospital first
    total = page.locator("#total td").all_inner_texts()
    assert total[6] == fmt_yuan(by_head) and total[5] == fmt_yuan(fund) and total[7] == fmt_yuan(fund - by_head)
    expect(page.locator("#owed")).to_contain_text("2020-04-20")
    shot(page, "capitation-statement")

    with page.expect_download() as got:
        page.click("#xlsx")
    path = tmp_path / "结算单.xlsx"
    got.value.save_as(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["月度结算单", "年终结算"]
    totals = [r for r in wb["月度结算单"].iter_rows(values_only=True) if r[0] == "合计"]
    assert Decimal(str(totals[0][7])) == Decimal(by_head) / 100

    page.fill("#f-score", "88")
    page.fill("#f-note", "年度考核")
    page.click("#save-score")
    expect(page.locator("#notice")).to_contain_text("已录入考核得分 88 分")
    expect(page.locator("#score")).to_have_text("88")
    expect(page.locator("#year-end")).to_contain_text("80%")
    shot(page, "capitation-year-end")
