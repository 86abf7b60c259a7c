"""The auditor's desk in a real browser, signed in as the demo auditor: the rule library (a rule switched off with a
reason and seen recorded, then back on), the knowledge page, the ledger verification, 3201 对总账 and 3202 对明细账
with an uploaded list. Screenshots at 1366×768 in tests/browser/screenshots/desk-*.png."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from tests.browser.test_csp import _violations, _watched
from tests.db.desk import workbook
from yibao.app.audit_pack import pack_in_force
from yibao.app.demo import DEMO_HOSPITAL
from yibao.store.audit_tables import AuditRuleChange
from yibao.store.service_tables import LedgerEntry

MONTH = (date(2022, 6, 1), date(2022, 6, 30))


def split_admission_rule(site: Site) -> str:
    with site.db.unit_of_work() as s:
        return next(r.code for r in pack_in_force(s).rules if r.type == "split_admission" and r.enabled)


def test_the_auditor_switches_a_rule_off_with_a_reason_and_sees_it_recorded(page: Page, site: Site) -> None:
    code = split_admission_rule(site)
    sign_in(page, "auditor")
    page.click("nav.nav >> text=规则库")
    page.wait_for_url("**/audit/rules")
    expect(page.locator(f'tr[data-code="{code}"] .status')).to_have_text("启用")
    shot(page, "desk-rules")
    page.click(f'tr[data-code="{code}"] >> a >> nth=0')
    page.wait_for_url(f"**/audit/rules/{code}")
    expect(page.locator("h1")).to_contain_text("分解住院")
    page.select_option("#f-enabled", "off")
    page.fill("#f-reason", "本市对分解住院另行专项核查，暂停自动提示")
    page.click("#save-button")
    page.wait_for_url(f"**/audit/rules/{code}?saved=1")
    expect(page.locator("#notice")).to_contain_text("已保存")
    expect(page.locator("#rule-status")).to_have_text("停用")
    expect(page.locator("#history td.reason").first).to_have_text("本市对分解住院另行专项核查，暂停自动提示")
    shot(page, "desk-rule-switched-off")
    # a parameter refused beside its field, nothing recorded
    with site.db.unit_of_work() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(AuditRuleChange))
    page.fill("#f-param_days", "两周")
    page.fill("#f-reason", "试")
    page.click("#save-button")
    expect(page.locator("#e-param_days")).to_contain_text("不小于 0 的整数")
    shot(page, "desk-rule-refused")
    with site.db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditRuleChange)) == before
        last = s.scalars(sa.select(AuditRuleChange).order_by(AuditRuleChange.id.desc())).first()
        assert last is not None and (last.rule_code, last.enabled, last.recorded_by) == (code, False, "auditor")
    # back on, as the other browser tests expect it
    page.goto(f"/audit/rules/{code}")
    page.select_option("#f-enabled", "on")
    page.fill("#f-reason", "专项核查结束，恢复")
    page.click("#save-button")
    page.wait_for_url(f"**/audit/rules/{code}?saved=1")
    expect(page.locator("#rule-status")).to_have_text("启用")


def test_the_knowledge_page_lists_the_tables_in_force(page: Page) -> None:
    sign_in(page, "auditor")
    page.goto("/audit/rules")
    page.click("#knowledge-link")
    page.wait_for_url("**/audit/knowledge")
    expect(page.locator('tr[data-table="item_limits"]')).to_contain_text("限定支付范围")
    with page.expect_download() as got:
        page.click("#template-link")
    assert got.value.suggested_filename == "知识库导入模板.xlsx"
    shot(page, "desk-knowledge")


def test_the_ledger_verification_agrees_on_the_demo_ledger(page: Page) -> None:
    sign_in(page, "auditor")
    page.click("nav.nav >> text=对账核验")
    page.wait_for_url("**/reconcile")
    page.click("#tab-verify")
    page.click("#verify-button")
    expect(page.locator("#verify-ok")).to_contain_text("无差异")
    shot(page, "desk-verify")


def ledger_month(site: Site) -> list[LedgerEntry]:
    with site.db.unit_of_work() as s:
        q = sa.select(LedgerEntry).where(
            LedgerEntry.fixmedins_code == DEMO_HOSPITAL,
            LedgerEntry.kind == "settle",
            LedgerEntry.setl_date.between(*MONTH),
        )
        reversed_ = set(s.scalars(sa.select(LedgerEntry.reverses).where(LedgerEntry.kind == "reverse")))
        return [e for e in s.scalars(q.order_by(LedgerEntry.setl_id)) if e.setl_id not in reversed_]


def test_3201_totals_and_3202_detail_of_the_demo_hospital(page: Page, site: Site, tmp_path: Path) -> None:
    entries = ledger_month(site)
    if len(entries) < 3:
        pytest.skip("the demo hospital has fewer than 3 settlements in June 2022")
    sign_in(page, "auditor")
    page.goto("/reconcile")
    page.select_option("#f-fixmedins_code", DEMO_HOSPITAL)
    page.fill("#f-begin", MONTH[0].isoformat())
    page.fill("#f-end", MONTH[1].isoformat())
    page.fill("#f-his_medfee_sumamt", "1.00")
    page.fill("#f-his_fund_pay_sumamt", "1.00")
    page.fill("#f-his_fixmedins_setl_cnt", "1")
    page.click("#totals-button")
    expect(page.locator("#stmt-result")).to_contain_text("总账不平")
    expect(page.locator('#totals-diff tr[data-field="medfee_sumamt"]')).to_be_visible()
    expect(page.locator("#totals-groups tfoot")).to_contain_text("合计")
    shot(page, "desk-3201")

    def yuan(fen: int) -> str:
        return str(Decimal(fen) / 100)

    head = ["结算ID", "就诊ID", "人员编号", "医疗费总额", "基金支付总额", "个人账户支出", "退费结算标志"]
    kept = entries[1:]  # the first is left out: 医院无此结算
    rows = [[e.setl_id, e.mdtrt_id, e.psn_no, yuan(e.medfee_sumamt), yuan(e.fund_pay_sumamt), "0", "0"] for e in kept]
    rows[0][3] = yuan(kept[0].medfee_sumamt + 100)  # one yuan more: 金额不一致
    path = workbook(tmp_path / "医院结算明细.xlsx", {"结算明细": [head, *rows]})
    page.click("#tab-detail")
    page.select_option("#f-fixmedins_code", DEMO_HOSPITAL)
    page.fill("#f-begin", MONTH[0].isoformat())
    page.fill("#f-end", MONTH[1].isoformat())
    page.set_input_files("#f-file", str(path))
    page.click("#detail-button")
    expect(page.locator("#stmt-result")).to_contain_text("明细账不平")
    expect(page.locator(f'tr[data-kind="missing_on_his"][data-setl-id="{entries[0].setl_id}"]')).to_be_visible()
    expect(page.locator(f'tr[data-kind="amount_differs"][data-setl-id="{kept[0].setl_id}"]')).to_contain_text("医疗费总额")
    shot(page, "desk-3202")


def test_no_desk_page_breaks_the_content_security_policy(page: Page, site: Site) -> None:
    said = _watched(page)
    sign_in(page, "admin")
    code = split_admission_rule(site)
    for path in ("/audit/rules", f"/audit/rules/{code}", "/audit/knowledge", "/reconcile", "/reconcile/detail",
                 "/reconcile/verify?run=1", "/reconcile/daily?begin=2022-06-01&end=2022-06-30"):  # fmt: skip
        page.goto(path)
        assert _violations(page) == [], (path, _violations(page))
    assert said == []
