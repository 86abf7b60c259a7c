"""Warnings that end in help, walked in a real browser on the demo county (Huaibei pack), one test:

1. a warning for a low-income (stable 脱贫) person: pushed, confirmed at risk, given the tilted-assistance identity
   监测 from the warning (source 监测预警, first and last day); the clerk's next bill at the counter pays tilted
   assistance; the warning is marked assisted pointing at that settlement (an admission without it is refused);
2. an ordinary resident's large bill makes them a candidate (the monthly run from the list page); the candidate
   applies and is paid from the warning (the assistance page, window prefilled), and closed its amount stays shown;
3. the push list downloaded with no filter imports back: rows not awaiting a confirmation are ignored and counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.app import ledger
from yibao.core.money import fmt_yuan
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Enrolment, Identity, Person


def last_new_warning(site: Site) -> tuple[int, str]:
    """The newest warning of a stable 脱贫 person still new (the pages' own test takes the oldest): number, ID number."""
    with site.db.unit_of_work() as s:
        q = (
            sa.select(WarningCase.id, Person.certno)
            .join(Person, Person.id == WarningCase.person_id)
            .where(WarningCase.status == "new", WarningCase.kind == "warning", WarningCase.identity == "tuopin")
            .order_by(WarningCase.id.desc())
        )
        found = s.execute(q).first()
    if found is None:
        pytest.skip("the demo county has no new warning for a stable 脱贫 person")
    return int(found[0]), str(found[1])


def ordinary_resident(site: Site) -> tuple[str, str]:
    """An enrolled resident holding no identity (the last one: the other browser tests take the first)."""
    with site.db.unit_of_work() as s:
        q = (
            sa.select(Person.psn_no, Person.certno)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.year == 2022, Enrolment.psn_insu_stas == "1", Person.insutype == "390")
            .where(~sa.exists().where(Identity.person_id == Person.id), Person.merged_into.is_(None))
            .order_by(Person.id.desc())
        )
        psn_no, certno = s.execute(q).first() or pytest.skip("no ordinary resident in the demo county")
    return str(psn_no), str(certno)


def settle_at_the_counter(page: Page, certno: str, day: str, total: str) -> str:
    """The clerk settles a level-3 in-county admission at the counter: its setl_id."""
    page.goto(f"/counter?person={certno}")
    page.select_option("#f-med_type", "21")
    page.select_option("#f-hosp_lv", "3")
    page.select_option("#f-place", "in_county")
    page.fill("#f-setl_date", day)
    page.fill("#f-medfee_sumamt", total)
    page.click("#preview-button")
    expect(page.locator("#preview")).to_contain_text("预结算结果")
    page.click("#confirm-button")
    expect(page).to_have_url(re.compile(r"/settlements/S\w+\?settled=1$"))
    return page.url.split("?")[0].rsplit("/", 1)[1]


def entry(site: Site, setl_id: str) -> LedgerEntry:
    with site.db.unit_of_work() as s:
        e = ledger.get_entry(s, setl_id)
        s.expunge(e)
        return e


def test_warnings_end_in_help(page: Page, site: Site, tmp_path: Path) -> None:
    wid, certno = last_new_warning(site)
    with site.db.unit_of_work() as s:
        crossing = s.scalar(sa.select(WarningCase.crossing_setl_id).where(WarningCase.id == wid))
    sign_in(page, "monitor")

    # 1. push, confirm at risk, give the tilted-assistance identity
    page.goto(f"/warnings/{wid}")
    page.check("#g-bureau input[value=civil_affairs]")
    page.click("#push-button")
    page.wait_for_url(re.compile(r"done=pushed"))
    page.fill("#f-confirm_note", "入户核实：因病致贫风险")
    page.fill("#f-confirm_on", "2022-08-01")
    page.click("#at-risk-button")
    page.wait_for_url(re.compile(r"done=at_risk"))
    expect(page.locator("#no-paying")).to_be_visible()  # nothing has paid tilted assistance yet
    page.select_option("#f-category", "jiance")
    page.fill("#f-valid_from", "2022-07-01")  # before the line was crossed: refused beside the field, kept
    page.fill("#f-valid_to", "2022-12-31")
    page.click("#identity-button")
    expect(page.locator("#e-valid_from")).to_contain_text("不早于越线日")
    expect(page.locator("#f-valid_to")).to_have_value("2022-12-31")
    page.fill("#f-valid_from", "2022-08-01")
    page.click("#identity-button")
    page.wait_for_url(re.compile(r"done=identity"))
    given = "监测人口（监测预警，自 2022-08-01 至 2022-12-31，monitor 登记）"
    expect(page.locator("#person .recorded-identity")).to_contain_text(given)
    expect(page.locator("#events")).to_contain_text("登记倾斜救助身份：2022-08-01 至 2022-12-31")
    # the admission that raised the warning paid no tilted assistance: not offered, and refused if posted
    csrf = page.locator("#assist-form input[name=csrf]").get_attribute("value") or ""
    refused = page.request.post(f"/warnings/{wid}/step", form={"csrf": csrf, "to": "assisted", "setl_id": str(crossing)})
    assert refused.status == 422 and "倾斜救助为 0" in refused.text()
    shot(page, "warning-identity")
    page.click("text=退出")

    # the clerk's next bill pays tilted assistance at settlement
    sign_in(page, "clerk")
    later = settle_at_the_counter(page, certno, "2022-09-10", "400000")
    paid = entry(site, later)
    assert paid.identity == "jiance" and paid.oth_pay > 0
    expect(page.locator("tr[data-field=oth_pay]")).to_contain_text(fmt_yuan(paid.oth_pay))
    page.click("text=退出")

    sign_in(page, "monitor")
    page.goto(f"/warnings/{wid}")
    page.select_option("#f-setl_id", later)  # the amount left empty: what the settlement paid
    page.fill("#f-assist_note", "倾斜救助已随结算支付")
    page.click("#assist-button")
    page.wait_for_url(re.compile(r"done=assisted"))
    expect(page.locator("#assisted")).to_contain_text(fmt_yuan(paid.oth_pay))
    expect(page.locator(f"#assisted a[href='/settlements/{later}']")).to_be_visible()

    # 2. an ordinary resident's large bill: a candidate once the month is run
    page.click("text=退出")
    sign_in(page, "clerk")
    ordinary, ordinary_certno = ordinary_resident(site)
    settle_at_the_counter(page, ordinary_certno, "2022-10-10", "400000")
    page.click("text=退出")
    sign_in(page, "monitor")
    page.goto("/warnings")
    page.fill("#f-run_period", "2022-10")
    page.click("#run-button")
    expect(page.locator("#notice")).to_contain_text("已运行监测期 2022-10")
    with site.db.unit_of_work() as s:
        cid = s.scalar(sa.select(WarningCase.id).where(WarningCase.psn_no == ordinary, WarningCase.kind == "candidate"))
    assert cid is not None
    page.goto(f"/warnings/{cid}")
    expect(page.locator("h1")).to_contain_text("依申请救助候选")
    page.click("#apply-link")  # the application, the window's day prefilled, made for this warning
    expect(page.locator("#from-warning")).to_contain_text(f"#{cid}")
    expect(page.locator("#f-on")).to_have_value("2022-12-31")
    expect(page.locator("#bills tbody tr").first).to_be_visible()
    pay = page.locator("#pay").inner_text()
    shot(page, "warning-application")
    page.click("#confirm-button")
    page.wait_for_url(re.compile(rf"/warnings/{cid}\?done=assisted"))
    expect(page.locator("#assisted")).to_contain_text(pay)
    expect(page.locator("#assisted")).to_contain_text("依申请救助")
    page.fill("#f-close_note", "已依申请救助")
    page.click("#close-button")
    page.wait_for_url(re.compile(r"done=closed"))
    expect(page.locator("#status")).to_contain_text("已办结")
    expect(page.locator("#assisted")).to_contain_text(pay)  # the amount paid stays on the closed warning
    applied = page.locator("#assisted a").inner_text()
    assert entry(site, applied).kind == "apply" and fmt_yuan(entry(site, applied).maf_pay) == pay
    shot(page, "warning-candidate-closed")

    # 3. the push list with no filter, imported back as it is
    page.goto("/warnings")
    expect(page.locator(f"#warnings tr[data-id='{cid}'] td.assisted")).to_have_text(pay)
    with page.expect_download() as info:
        page.click("#export-link")
    listed = tmp_path / "push-list-all.xlsx"
    info.value.save_as(listed)
    with site.db.unit_of_work() as s:  # rows answered (a confirmation recorded) whose warning awaits none now
        answered = s.execute(sa.select(WarningCase.status, WarningCase.at_risk).where(WarningCase.at_risk.is_not(None)))
        ignored = sum(1 for status, risk in answered if status not in ("pushed", "at_risk" if risk else "not_at_risk"))
    assert ignored >= 1  # the warning assisted above
    page.set_input_files("#f-file", str(listed))
    page.click("#import-button")
    expect(page.locator("#notice")).to_contain_text(f"已忽略 {ignored}")
    shot(page, "warnings-imported-back")
