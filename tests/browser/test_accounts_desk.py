"""Accounts and the auditor's desk in a real browser (issue 16 items 1 and 2), one walk: the admin creates an account
and reads its one-time temporary password; the new user signs in, is sent to 修改密码 and chooses their own; the admin
changes the role and the user's open session ends on its next click; the user signs in with the new role; the admin
disables the account and the session ends again; every step is in the account trail on the page. Then the auditor
verifies the ledger and downloads the result, uploads the hospital's list with a planted difference, sees it named
(settlement, field, platform and HIS value) and downloads the differences (opened with openpyxl). Others are refused.
Screenshots at 1366×768 in tests/browser/screenshots/accounts-*.png."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Download, Page, expect

from tests.browser.conftest import VIEWPORT, Site, shot, sign_in
from tests.browser.test_auditor_desk import MONTH, ledger_month
from tests.db.desk import workbook
from yibao.app.demo import DEMO_HOSPITAL

NEW_USER = "wangjb"
OWN_PASSWORD = "wang-own-2022"


def _second_page(browser: Browser, site: Site) -> Page:
    context = browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]}, base_url=site.url)
    context.set_default_timeout(10_000)
    return context.new_page()


def _sign_in_form(page: Page, user: str, password: str) -> None:
    page.goto("/login")
    page.fill("#f-username", user)
    page.fill("#f-password", password)
    page.click("button[type=submit].primary")


def _saved(download: Download, folder: Path) -> Path:
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


def _sign_out(page: Page) -> None:
    page.click('header form[action="/logout"] button')
    page.wait_for_url("**/login")


def test_accounts_and_the_auditors_desk(page: Page, browser: Browser, site: Site, tmp_path: Path) -> None:
    # ---- the admin creates an account: a temporary password, shown once
    sign_in(page, "admin")
    page.click("nav.nav >> text=账号")
    page.wait_for_url("**/accounts")
    page.fill("#f-username", NEW_USER)
    page.fill("#f-display_name", "王经办")
    page.select_option("#f-role", "clerk")
    expect(page.locator("#f-temporary")).to_be_checked()
    page.click("#create-button")
    temporary = page.locator("#issued-password").inner_text()
    assert re.fullmatch(r"[A-Za-z2-9]{12}", temporary), temporary
    row = page.locator(f'#accounts tr[data-username="{NEW_USER}"]')
    expect(row.locator(".role")).to_have_text("经办")
    expect(row.locator(".status")).to_contain_text("临时密码")
    shot(page, "accounts-created")

    # ---- the new user signs in, must choose their own password first
    user = _second_page(browser, site)
    try:
        _sign_in_form(user, NEW_USER, temporary)
        user.wait_for_url("**/account/password")
        expect(user.locator("#password-temporary")).to_be_visible()
        user.goto("/counter")  # any other page sends back
        user.wait_for_url("**/account/password")
        user.fill("#f-old_password", temporary)
        user.fill("#f-new_password", OWN_PASSWORD)
        user.fill("#f-new_password2", OWN_PASSWORD)
        user.click("button[type=submit].primary")
        expect(user.locator("#password-changed")).to_be_visible()
        user.click("nav.nav >> text=结算窗口")
        user.wait_for_url("**/counter")
        expect(user.locator("#change-password")).to_be_visible()  # the own-password link in every page's header
        shot(user, "accounts-own-password-changed")

        # ---- the admin changes the role: the user's open session ends on its next request
        page.goto("/accounts")
        row.locator("form.role-form select[name=role]").select_option("auditor")
        row.locator("form.role-form button").click()
        page.wait_for_url("**/accounts")
        expect(row.locator(".role")).to_have_text("审核")
        user.reload()
        user.wait_for_url("**/login?next=/counter")
        _sign_in_form(user, NEW_USER, OWN_PASSWORD)
        user.wait_for_url(f"{site.url}/")
        expect(user.locator("nav.nav")).to_contain_text("对账核验")
        expect(user.locator("nav.nav")).not_to_contain_text("结算窗口")
        assert user.goto("/counter").status == 403  # type: ignore[union-attr]

        # ---- the admin disables it: the session ends again, and signing in is refused
        page.goto("/accounts")
        row.locator("button.toggle").click()
        page.wait_for_url("**/accounts")
        expect(row.locator(".status")).to_have_text("已停用")
        user.goto("/reconcile")
        user.wait_for_url("**/login?next=/reconcile")
        _sign_in_form(user, NEW_USER, OWN_PASSWORD)
        expect(user.locator("#e-password")).to_contain_text("用户名或密码不正确")
    finally:
        user.context.close()
    page.goto(f"/accounts?user={NEW_USER}")
    trail = page.locator("#account-events tbody tr")
    expect(trail).to_have_count(4)
    assert [trail.nth(i).get_attribute("data-action") for i in range(4)] == ["disable", "role", "password", "create"]
    expect(trail.nth(0)).to_contain_text("admin")
    expect(trail.nth(2)).to_contain_text(NEW_USER)  # changed by its holder
    shot(page, "accounts-trail")

    # ---- the clerk is refused the accounts page and the desk
    _sign_out(page)
    sign_in(page, "clerk")
    for path in ("/accounts", "/reconcile", "/reconcile/detail", "/reconcile/verify", "/reconcile/daily"):
        assert page.goto(path).status == 403, path  # type: ignore[union-attr]
    expect(page.locator("nav.nav")).not_to_contain_text("对账核验")

    # ---- the auditor verifies the ledger and downloads the result
    page.goto("/")
    _sign_out(page)
    sign_in(page, "auditor")
    page.click("nav.nav >> text=对账核验")
    page.wait_for_url("**/reconcile")
    page.click("#tab-verify")
    page.click("#verify-button")
    expect(page.locator("#verify-ok")).to_contain_text("无差异")
    with page.expect_download() as got:
        page.click("#verify-download")
    verified = openpyxl.load_workbook(_saved(got.value, tmp_path)).worksheets[0]
    assert verified["A2"].value == "核验人" and verified["B2"].value == "auditor"
    assert "无差异" in str(verified["B3"].value)

    # ---- 3202 with a planted difference: named on the page and in the downloaded workbook
    entries = ledger_month(site)
    if len(entries) < 2:
        pytest.skip("the demo hospital has fewer than 2 settlements in June 2022")
    planted = entries[0]
    head = ["结算ID", "就诊ID", "人员编号", "医疗费总额", "基金支付总额", "个人账户支出", "退费结算标志"]

    def yuan(fen: int) -> str:
        return str(Decimal(fen) / 100)

    rows = [[e.setl_id, e.mdtrt_id, e.psn_no, yuan(e.medfee_sumamt), yuan(e.fund_pay_sumamt), yuan(e.acct_pay), "0"]
            for e in entries]  # fmt: skip
    rows[0][4] = yuan(planted.fund_pay_sumamt + 250)  # the HIS says 2.50 yuan more fund
    path = workbook(tmp_path / "医院六月结算明细.xlsx", {"结算明细": [head, *rows]})
    page.click("#tab-detail")
    page.select_option("#f-fixmedins_code", DEMO_HOSPITAL)
    page.fill("#f-begin", MONTH[0].isoformat())
    page.fill("#f-end", MONTH[1].isoformat())
    page.set_input_files("#f-file", str(path))
    page.click("#detail-button")
    expect(page.locator("#stmt-result")).to_contain_text("明细账不平")
    named = page.locator(f'#differences tr[data-kind="amount_differs"][data-setl-id="{planted.setl_id}"]')
    expect(page.locator("#differences tbody tr")).to_have_count(1)
    platform, his = yuan(planted.fund_pay_sumamt), yuan(planted.fund_pay_sumamt + 250)
    expect(named.locator('[data-field="fund_pay_sumamt"]')).to_have_text(f"基金支付总额：{platform} / {his}")
    shot(page, "accounts-desk-3202")
    with page.expect_download() as got:
        page.click("#differences-download")
    assert got.value.suggested_filename.startswith(f"对明细账差异-{DEMO_HOSPITAL}")
    sheet = openpyxl.load_workbook(_saved(got.value, tmp_path)).worksheets[0]
    found = [r for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(found) == 1
    kind, setl_id, mdtrt_id, psn_no, field, platform_value, his_value, _said = found[0]
    assert (kind, setl_id, mdtrt_id, psn_no, field) == (
        "金额不一致",
        planted.setl_id,
        planted.mdtrt_id,
        planted.psn_no,
        "基金支付总额",
    )
    assert Decimal(str(platform_value)) == Decimal(platform) and Decimal(str(his_value)) == Decimal(his)

    # ---- the platform's totals per institution and day
    page.click("#tab-daily")
    page.select_option("#f-fixmedins_code", DEMO_HOSPITAL)
    page.fill("#f-begin", MONTH[0].isoformat())
    page.fill("#f-end", MONTH[1].isoformat())
    page.click("#daily-button")
    day = page.locator(f'#daily-totals tr[data-code="{DEMO_HOSPITAL}"][data-day="{planted.setl_date.isoformat()}"]')
    expect(day).to_be_visible()
    shot(page, "accounts-desk-daily")
