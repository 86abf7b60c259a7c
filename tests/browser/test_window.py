"""The clerk's window in a real browser: sign-in per role, people, the counter, the slip, refusals, English."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import PASSWORDS, Site, shot, sign_in
from yibao.app.auth import PERMISSIONS
from yibao.app.demo import DEMO_ACCOUNTS
from yibao.entrypoints.web.render import NAV
from yibao.store.service_tables import LedgerEntry

ROLE_OF = {user: role for user, _, role, _ in DEMO_ACCOUNTS}
NAME_OF = {user: name for user, _, _, name in DEMO_ACCOUNTS}
PAYER_LABELS = {
    "hifp_pay": "基本医保统筹支付",
    "hifmi_pay": "大病保险支付",
    "maf_pay": "医疗救助支付",
    "oth_pay": "倾斜救助支付",
    "psn_part_amt": "个人负担总额",
}


def nav_labels(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("nav.nav a").all_inner_texts()]


@pytest.mark.parametrize("user", list(PASSWORDS))
def test_each_role_sees_its_home_and_nav(page: Page, user: str) -> None:
    sign_in(page, user)
    expect(page.locator("h1")).to_contain_text(NAME_OF[user])
    perms = PERMISSIONS[ROLE_OF[user]]
    expected = [item.zh for item in NAV if item.permission is None or item.permission in perms]
    assert nav_labels(page) == expected
    expect(page.locator("#today svg.bars")).to_be_visible()
    assert page.locator("#recent").count() == (1 if "settle.read" in perms else 0)
    assert page.locator("a.button[href='/counter']").count() == (1 if "settle" in perms else 0)
    shot(page, f"home-{user}")
    page.click("text=退出")
    page.wait_for_url("**/login")
    page.goto("/")
    page.wait_for_url("**/login")


def test_sign_in_error_next_to_the_field_keeps_the_input(page: Page) -> None:
    page.goto("/counter")
    page.wait_for_url("**/login?next=/counter")
    page.fill("#f-username", "clerk")
    page.fill("#f-password", "wrong-password")
    page.click("button[type=submit].primary")
    expect(page.locator("#e-password")).to_have_text("用户名或密码不正确")
    expect(page.locator("#f-username")).to_have_value("clerk")
    expect(page.locator("#f-password")).to_have_value("")
    shot(page, "login-error")
    page.fill("#f-password", PASSWORDS["clerk"])
    page.click("button[type=submit].primary")
    page.wait_for_url("**/counter")


def test_search_and_open_a_person(page: Page, site: Site) -> None:
    certno, name, _ = site.assisted[0]
    sign_in(page, "clerk")
    page.click("nav >> text=人员查询")
    page.fill("#q", name[:1])
    page.click("text=查询 >> nth=-1")
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_be_visible()
    masked = page.locator("#results tbody td code").all_inner_texts()
    assert masked and all(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", m) for m in masked)
    assert certno not in page.content()
    shot(page, "persons-search")
    page.locator("#results tbody a", has_text=name).first.click()
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("#certno")).to_have_text(certno)  # a clerk may see the full number on the person's page
    for section in ("#identities", "#enrolment", "#filings", "#position", "#settlements"):
        expect(page.locator(section)).to_be_visible()
    expect(page.locator("#identities .timeline li").first).to_contain_text("来源")
    expect(page.locator("#position svg.bars text.bar-label").first).to_contain_text("基本医保")
    shot(page, "person")


def _fill_bill(page: Page, total: str, **amounts: str) -> None:
    page.select_option("#f-med_type", "21")
    page.select_option("#f-hosp_lv", "2")
    page.select_option("#f-place", "in_county")
    page.fill("#f-setl_date", "2022-07-15")
    page.fill("#f-medfee_sumamt", total)
    for name, value in amounts.items():
        page.fill(f"#f-{name}", value)


def _ledger_count(site: Site, psn_no: str) -> int:
    with site.db.unit_of_work() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry).where(LedgerEntry.psn_no == psn_no)) or 0)


def test_counter_preview_settle_once_print_and_reverse(page: Page, site: Site) -> None:
    certno, name, _ = site.assisted[1]
    sign_in(page, "clerk")
    page.click("nav >> text=结算窗口")
    page.fill("#f-person", certno)
    page.click("text=查找")
    expect(page.locator("#person-card")).to_contain_text(name)
    _fill_bill(page, "23456.78", fulamt_ownpay_amt="1200", preselfpay_amt="345.60")
    page.click("#preview-button")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("预结算结果")
    for code, label in PAYER_LABELS.items():
        expect(preview.locator(f"tr[data-field={code}]")).to_contain_text(label)
    expect(preview.locator("tr[data-field=medfee_sumamt]")).to_contain_text("23,456.78")
    expect(preview.locator("ol.trace li").first).to_be_visible()
    shot(page, "counter-preview")
    psn_no = page.locator("#bill input[name=person]").input_value()
    before = _ledger_count(site, psn_no)

    confirm = page.evaluate("Object.fromEntries(new FormData(document.querySelector('#confirm-form')))")
    page.dblclick("#confirm-button")  # an impatient double click
    # The second click may submit the form again before the button is disabled; the browser then aborts the first
    # navigation (net::ERR_ABORTED), which wait_for_url reports as a failure. What counts is where the page ends up:
    # the settlement's page (the same one for both submissions), with its notice.
    expect(page).to_have_url(re.compile(r"/settlements/S\w+\?settled=1$"))
    setl_url = page.url.split("?")[0]
    expect(page.locator("#notice")).to_contain_text("结算成功")
    shot(page, "settlement")
    again = page.request.post("/counter/settle", form=confirm, max_redirects=0)  # and the same form once more
    assert again.status == 303 and again.headers["location"].split("?")[0] == setl_url.removeprefix(site.url)
    assert _ledger_count(site, psn_no) == before + 1

    setl_id = setl_url.rsplit("/", 1)[1]
    slip = page.context.new_page()
    slip.goto(f"/settlements/{setl_id}/slip")
    expect(slip.locator("body")).to_contain_text("结算单")
    expect(slip.locator("body")).to_contain_text("23,456.78")
    slip.emulate_media(media="print")
    shot(slip, "slip")
    pdf = PdfReader(io.BytesIO(slip.pdf(format="A4", print_background=True, prefer_css_page_size=True)))
    assert len(pdf.pages) == 1
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert abs(width - 595) < 3 and abs(height - 842) < 3  # A4 in points
    slip.close()

    page.goto(setl_url)
    page.click("#reverse-button")  # no reason: refused beside the field
    expect(page.locator("#e-reason")).to_contain_text("请填写撤销原因")
    page.fill("#f-reason", "患者信息录入错误")
    page.click("#reverse-button")
    page.wait_for_url(re.compile(r"\?reversed=1$"))
    expect(page.locator("#reversed-tag")).to_have_text("已撤销")
    expect(page.locator("#reverse-reason")).to_have_text("患者信息录入错误")
    assert page.locator("#reverse-button").count() == 0
    assert _ledger_count(site, psn_no) == before + 2
    shot(page, "settlement-reversed")


def test_counter_errors_beside_the_field_keep_the_input(page: Page, site: Site) -> None:
    certno, _, _ = site.people[2]
    sign_in(page, "clerk")
    page.goto(f"/counter?person={certno}")
    _fill_bill(page, "12.345", overlmt_selfpay="-5")
    page.click("#preview-button")
    expect(page.locator("#e-medfee_sumamt")).to_contain_text("至多两位小数")
    expect(page.locator("#f-medfee_sumamt")).to_have_value("12.345")
    expect(page.locator("#e-overlmt_selfpay")).to_be_visible()
    expect(page.locator("#f-overlmt_selfpay")).to_have_value("-5")
    expect(page.locator("#f-med_type")).to_have_value("21")
    shot(page, "counter-errors")
    _fill_bill(page, "1000", overlmt_selfpay="", inscp_scp_amt="900")
    page.click("#preview-button")
    expect(page.locator("#e-inscp_scp_amt")).to_contain_text("应等于医疗总费用 1000.00 元")
    page.fill("#f-inscp_scp_amt", "")
    page.fill("#f-setl_date", "2023-02-01")  # not enrolled for 2023: the domain's refusal, in Chinese, beside the person
    page.click("#preview-button")
    expect(page.locator("#e-person")).to_contain_text("2023 年参保状态正常")
    expect(page.locator("#f-setl_date")).to_have_value("2023-02-01")


def test_refused_pages_and_actions(page: Page, site: Site) -> None:
    sign_in(page, "analyst")
    assert "结算窗口" not in nav_labels(page)
    assert page.locator("a[href='/counter']").count() == 0
    response = page.goto("/counter")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_contain_text("无权访问")
    shot(page, "refused-analyst-counter")
    response = page.goto(f"/persons?q={site.people[0][1]}")
    assert response is not None and response.status == 403
    page.click("text=退出")

    sign_in(page, "auditor")  # may read a settlement, may not settle or reverse: POSTs are refused on the server
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = page.request.post("/counter/preview", form={"csrf": csrf, "person": site.people[0][0]})
    assert refused.status == 403 and "无权" in refused.text()
    refused = page.request.post("/settlements/S1/reverse", form={"csrf": csrf, "reason": "x", "idem": "0" * 24})
    assert refused.status == 403


def test_language_switch_to_english_and_back(page: Page, site: Site) -> None:
    sign_in(page, "clerk")
    page.goto(f"/persons?q={site.people[0][0]}")
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert nav_labels(page)[:3] == ["Home", "Counter", "People"]
    expect(page.locator("#enrolment h2")).to_have_text("Enrolment and who paid the premium")
    shot(page, "person-english")
    page.goto("/counter")
    expect(page.locator("h1")).to_have_text("One-stop settlement")
    page.click("#lang-zh")
    expect(page.locator("h1")).to_have_text("一站式结算")
