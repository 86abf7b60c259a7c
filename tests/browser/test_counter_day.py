"""A clerk's day at the counter in a real browser, by keyboard where a clerk would use it: find the person by the last
digits of the ID number and the name, page through a name search, choose the person (the bill has the focus), paste
eight fee lines from a spreadsheet (bad cells named, nothing settled; then good ones), Enter previews, Ctrl+Enter
confirms, the settlement page and the slip show the diagnosis, the reversal marks both entries on the person's page,
and the day's Excel has the clerk's rows and the totals per fund.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from decimal import Decimal

import openpyxl
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.app.counter_day import FUNDS, HEADER_ROW
from yibao.app.registry import PER_PAGE
from yibao.core.clock import beijing_today
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

LINES = [
    ("XJ05ABA001A001", "阿莫西林胶囊", "甲类", "120.50"),
    ("XA07DAA001A001", "蒙脱石散", "甲", "35"),
    ("001401000010000", "一般检查治疗", "乙类", "8.80"),
    ("002202000020000", "血常规", "乙", "260"),
    ("XR03BAA001A001", "沙丁胺醇气雾剂", "甲类", "12.34"),
    ("002206000010000", "尿常规", "丙类", "99.99"),
    ("002204000010000", "生化全项", "乙类", "1500"),
    ("001101000010000", "普通门诊诊查费", "甲类", "45.60"),
]
"""Eight fee lines as a spreadsheet holds them: code, name, class (甲类 or 甲), amount in yuan."""
TOTAL_FEN = sum(int(Decimal(amount) * 100) for *_, amount in LINES)


def _tsv(lines: list[tuple[str, str, str, str]]) -> str:
    return "\r\n".join("\t".join(cells) for cells in lines) + "\r\n"  # as Excel copies: CRLF, a last line end


def _paste(page: Page, selector: str, text: str) -> None:
    """Paste ``text`` into the cell with the keyboard (Ctrl+V from the system clipboard)."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.focus(selector)
    page.keyboard.press("Control+V")


def _ledger(site: Site, psn_no: str) -> list[LedgerEntry]:
    with site.db.unit_of_work() as s:
        rows = list(s.scalars(sa.select(LedgerEntry).where(LedgerEntry.psn_no == psn_no).order_by(LedgerEntry.id)))
        s.expunge_all()
    return rows


def test_a_clerks_day_at_the_counter(page: Page, site: Site) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    certno, name, _ = site.assisted[-1]
    sign_in(page, "clerk")

    # The persons page: the ID number's last four characters with the name find the one person.
    page.goto("/persons")
    page.fill("#q", f"{name} {certno[-4:]}")
    page.press("#q", "Enter")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr")).to_contain_text(name)
    expect(page.locator("#results tbody code")).to_have_text(re.compile(re.escape(certno[-4:]) + "$"))
    expect(page.locator("#pager .total")).to_have_text("共 1 人，第 1 / 1 页")

    # A name search with more people than a page: the total, and page 2 by its link.
    with site.db.unit_of_work() as s:
        surnames = Counter(n[0] for n in s.scalars(sa.select(Person.psn_name)))
        surname, count = surnames.most_common(1)[0]
        assert count > PER_PAGE
        page_two = list(
            s.scalars(
                sa.select(Person.psn_no)
                .where(Person.psn_name.startswith(surname))
                .order_by(Person.psn_name, Person.psn_no)
                .offset(PER_PAGE)
                .limit(PER_PAGE)
            )
        )
    page.fill("#q", surname)
    page.press("#q", "Enter")
    pages = -(-count // PER_PAGE)
    expect(page.locator("#pager .total")).to_have_text(f"共 {count} 人，第 1 / {pages} 页")
    expect(page.locator("#results tbody tr")).to_have_count(PER_PAGE)
    page.click("#pager a[data-page='2']")
    expect(page.locator("#pager .total")).to_have_text(f"共 {count} 人，第 2 / {pages} 页")
    assert page.locator("#results tbody tr td:nth-child(3)").all_inner_texts() == page_two
    shot(page, "persons-page-two")

    # The counter's picker pages the same way; the tail and the name (written together) choose the person, and the
    # focus moves to the bill.
    page.goto("/counter")
    expect(page.locator("#f-person")).to_be_focused()
    page.keyboard.type(surname)
    page.keyboard.press("Enter")
    expect(page.locator("#candidates-pager .total")).to_have_text(f"共 {count} 人，第 1 / {pages} 页")
    page.click("#candidates-pager a[data-page='2']")
    expect(page.locator("#candidates-pager .total")).to_have_text(f"共 {count} 人，第 2 / {pages} 页")
    assert page.locator("#candidates tbody tr td:nth-child(3)").all_inner_texts() == page_two
    page.fill("#f-person", "")
    page.focus("#f-person")
    page.keyboard.type(f"{certno[-4:]}{name}")
    page.keyboard.press("Enter")
    expect(page.locator("#person-card")).to_contain_text(name)
    expect(page.locator("#f-med_type")).to_be_focused()
    psn_no = page.locator("#bill input[name=person]").input_value()
    before = [e.setl_id for e in _ledger(site, psn_no)]

    page.select_option("#f-med_type", "11")
    page.select_option("#f-hosp_lv", "2")
    page.select_option("#f-place", "in_county")
    page.fill("#f-setl_date", "2022-07-15")
    page.fill("#f-dise_codg", "i10")
    page.fill("#f-dise_name", "高血压")
    page.click("#fee-lines summary")

    # Pasted with two bad cells: each named by row, column, value and what was expected; nothing is settled.
    bad = list(LINES)
    bad[2] = (*LINES[2][:3], "8,80")
    bad[4] = (*LINES[4][:2], "丁", LINES[4][3])
    _paste(page, "input[name=fl0_code]", _tsv(bad))
    expect(page.locator("#fee-table tbody tr")).to_have_count(8)  # six rows, two added for the paste
    expect(page.locator("input[name=fl7_code]")).to_have_value(LINES[7][0])
    expect(page.locator("select[name=fl1_lv]")).to_have_value("01")  # 甲 -> 甲类
    page.press("input[name=fl7_amt]", "Enter")
    problems = page.locator("#fee-problems li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("第 3 行「金额（元）」“8,80”：金额不能含逗号")
    expect(problems.nth(1)).to_contain_text("第 5 行「等级」“丁”：请选择甲/乙/丙类")
    expect(page.locator("#fee-table tbody tr")).to_have_count(8)
    assert page.locator("#preview").count() == 0
    assert [e.setl_id for e in _ledger(site, psn_no)] == before
    shot(page, "counter-paste-errors")

    # Pasted again, right: Enter previews, the focus is on the preview, Ctrl+Enter confirms.
    _paste(page, "input[name=fl0_code]", _tsv(LINES))
    page.focus("#f-dise_name")
    page.keyboard.press("Enter")
    expect(page.locator("#preview")).to_be_focused()
    expect(page.locator("#preview tr[data-field=medfee_sumamt]")).to_contain_text(f"{TOTAL_FEN / 100:,.2f}")
    expect(page.locator("#confirm-form")).to_contain_text("Ctrl+Enter")
    shot(page, "counter-paste-preview")
    page.keyboard.press("Control+Enter")
    expect(page).to_have_url(re.compile(r"/settlements/S\w+\?settled=1$"))
    expect(page.locator("#slip-link")).to_be_focused()
    expect(page.locator("#diagnosis")).to_have_text("I10 高血压")
    setl_id = page.url.split("?")[0].rsplit("/", 1)[1]
    entry = _ledger(site, psn_no)[-1]
    assert (entry.setl_id, entry.dise_codg, entry.dise_name, entry.medfee_sumamt) == (setl_id, "I10", "高血压", TOTAL_FEN)

    slip = page.context.new_page()
    slip.goto(f"/settlements/{setl_id}/slip")
    expect(slip.locator("#slip-dise")).to_have_text("I10 高血压")
    slip.close()

    # Reversed: the settlement and its reversal marked on the person's page, each linked to the other.
    page.fill("#f-reason", "费用录入错误")
    page.click("#reverse-button")
    page.wait_for_url(re.compile(r"\?reversed=1$"))
    reversal = _ledger(site, psn_no)[-1]
    assert reversal.reverses == setl_id and (reversal.dise_codg, reversal.dise_name) == ("I10", "高血压")
    page.goto(f"/persons/{psn_no}")
    settled_row = page.locator(f"#settlements tr[data-setl-id='{setl_id}']")
    reversal_row = page.locator(f"#settlements tr[data-setl-id='{reversal.setl_id}']")
    expect(settled_row.locator(".mark-reversed")).to_have_text("已冲正")
    expect(settled_row.locator("a.mark-link")).to_have_attribute("href", f"/settlements/{reversal.setl_id}")
    expect(reversal_row.locator(".mark-reverse")).to_have_text("冲正")
    expect(reversal_row.locator("a.mark-link")).to_have_attribute("href", f"/settlements/{setl_id}")
    shot(page, "person-reversal-marks")
    reversal_row.locator("a.mark-link").click()
    expect(page.locator("#reversed-tag")).to_be_visible()

    # The day's Excel from the home page's link: the clerk's own rows, Beijing day, totals per fund.
    page.goto("/")
    page.click("#my-day-link")
    expect(page.locator("#f-day")).to_have_value(beijing_today().isoformat())
    with page.expect_download() as download:
        page.click("#my-day-download")
    assert download.value.suggested_filename == f"结算日报-clerk-{beijing_today().isoformat()}.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    body, total = rows[:-1], rows[-1]
    by_id = {r[0]: r for r in body}
    first = len(by_id[setl_id]) - len(FUNDS)
    assert by_id[setl_id][1:3] == ["已冲正", reversal.setl_id]
    assert by_id[setl_id][8:10] == ["I10", "高血压"]
    assert Decimal(str(by_id[setl_id][first])) == Decimal(TOTAL_FEN) / 100  # a cell's yuan come back as a float
    assert by_id[reversal.setl_id][1:3] == ["冲正", setl_id]
    assert Decimal(str(by_id[reversal.setl_id][first])) == -Decimal(TOTAL_FEN) / 100
    with site.db.unit_of_work() as s:
        mine = s.scalars(sa.select(LedgerEntry.setl_id).where(LedgerEntry.recorded_by == "clerk")).all()
    assert set(by_id) <= set(mine) and len(by_id) == len(body)
    assert total[:2] == ["合计", len(body)]
    for i in range(len(FUNDS)):
        assert Decimal(str(total[first + i])) == sum((Decimal(str(r[first + i])) for r in body), Decimal(0))
