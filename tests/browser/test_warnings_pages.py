"""The warning list in a real browser: a warning taken from new to closed by the monitoring staff (pushed to
民政, the push list downloaded, 是 filled in as a township would, uploaded back, closed with a note), errors beside
the fields, the home page's section, and role refusals. The help itself: tests/browser/test_warnings_help.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.app.push_list import CONFIRM_COL, HEADER_ROW
from yibao.store.monitoring_tables import WarningCase, WarningEvent


def new_warning(site: Site) -> int:
    with site.db.unit_of_work() as s:
        wid = s.scalar(sa.select(sa.func.min(WarningCase.id)).where(WarningCase.status == "new", WarningCase.kind == "warning"))
    if wid is None:
        pytest.skip("the demo county has no new warning")
    return int(wid)


def status_of(site: Site, wid: int) -> str:
    with site.db.unit_of_work() as s:
        return str(s.scalar(sa.select(WarningCase.status).where(WarningCase.id == wid)))


def events_count(site: Site, wid: int) -> int:
    with site.db.unit_of_work() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(WarningEvent).where(WarningEvent.warning_id == wid)) or 0)


def fill_confirmation(path: Path, wid: int, answer: str) -> Path:
    """Fill 核实结果 (and who checked) for warning ``wid`` as a township would, in a copy of the push list."""
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=HEADER_ROW + 1):
            if row[1].value == wid:
                row[CONFIRM_COL - 1].value = answer
                row[CONFIRM_COL].value = "李村长"
                row[CONFIRM_COL + 1].value = "2022-07-05"
    out = path.with_name(f"{path.stem}-{answer}.xlsx")
    wb.save(out)
    return out


def test_a_warning_from_new_to_closed(page: Page, site: Site, tmp_path: Path) -> None:
    wid = new_warning(site)
    sign_in(page, "monitor")
    expect(page.locator("#warnings [data-status=new] b")).not_to_have_text("0")
    shot(page, "home-warnings")
    page.click("#warnings >> text=打开预警名单")
    page.wait_for_url("**/warnings")
    row = page.locator(f"#warnings tr[data-id='{wid}']")
    expect(row).to_contain_text("新预警")
    expect(page.locator("#counts [data-status=new] b")).not_to_have_text("0")
    shot(page, "warnings")

    page.fill("#f-period", "2022-13")  # a bad filter: the error beside the field, the input kept
    page.click("#filter-button")
    expect(page.locator("#e-period")).to_contain_text("应为")
    expect(page.locator("#f-period")).to_have_value("2022-13")
    page.goto("/warnings")

    page.check(f"input[name=ids][value='{wid}']")
    page.click("#push-button")  # no bureau ticked: refused beside the bureaus, the ticked warning kept
    expect(page.locator("#e-bureau")).to_contain_text("请选择推送部门")
    expect(page.locator(f"input[name=ids][value='{wid}']")).to_be_checked()
    assert status_of(site, wid) == "new"
    page.check("#g-bureau input[value=civil_affairs]")
    page.click("#push-button")
    expect(page.locator("#notice")).to_contain_text("已推送 1 条预警")
    expect(row).to_contain_text("民政部门")
    assert status_of(site, wid) == "pushed"

    with page.expect_download() as info:
        page.click("#export-link")
    listed = tmp_path / "push-list.xlsx"
    info.value.save_as(listed)
    assert info.value.suggested_filename.endswith(".xlsx")

    page.set_input_files("#f-file", str(fill_confirmation(listed, wid, "也许")))  # neither 是 nor 否: nothing changes
    page.click("#import-button")
    expect(page.locator("#e-file")).to_contain_text("核实结果")
    assert status_of(site, wid) == "pushed"
    page.set_input_files("#f-file", str(fill_confirmation(listed, wid, "是")))
    page.click("#import-button")
    expect(page.locator("#notice")).to_contain_text("存在风险 1")
    assert status_of(site, wid) == "at_risk"

    page.click(f"#warnings tr[data-id='{wid}'] a >> nth=0")
    page.wait_for_url(f"**/warnings/{wid}")
    expect(page.locator("#status")).to_contain_text("经核实存在返贫致贫风险")
    expect(page.locator("#settlements tbody tr").first).to_be_visible()
    expect(page.locator("#person-link")).to_have_attribute("href", re.compile(r"^/persons/"))
    assert page.locator("#push-form").count() == 0 and page.locator("#confirm-form").count() == 0  # next steps only
    page.fill("#f-amount", "12.345")
    page.click("#assist-button")  # bad amount and no entry that paid help: both refused beside their fields, the input kept
    expect(page.locator("#e-amount")).to_contain_text("至多两位小数")
    expect(page.locator("#f-amount")).to_have_value("12.345")
    page.fill("#f-amount", "1200")
    page.click("#assist-button")
    expect(page.locator("#e-setl_id")).to_be_visible()
    expect(page.locator("#no-paying")).to_be_visible()  # no settlement of this person paid tilted assistance
    shot(page, "warning-detail")

    page.fill("#f-close_note", "已由民政部门临时救助，办结")
    page.click("#close-button")
    page.wait_for_url(re.compile(r"done=closed"))
    expect(page.locator("#status")).to_contain_text("已办结")
    steps = page.locator("#events .timeline li")
    expect(steps).to_have_count(events_count(site, wid))
    for text in ("新预警", "新预警 → 已推送", "已推送 → 经核实存在返贫致贫风险", "经核实存在返贫致贫风险 → 已办结"):
        expect(page.locator("#events")).to_contain_text(text)
    expect(page.locator("#events")).to_contain_text("monitor")
    expect(page.locator("#next-steps")).to_contain_text("已办结")
    shot(page, "warning-closed")


def test_refusals_by_role(page: Page, site: Site) -> None:
    sign_in(page, "clerk")
    assert page.locator("nav.nav a[href='/warnings']").count() == 0
    assert page.locator("#warnings").count() == 0  # no warnings section on the clerk's home page
    for path in ("/warnings", "/warnings/1", "/warnings/export.xlsx"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
    expect(page.locator("h1")).to_contain_text("无权访问")
    shot(page, "warnings-refused-clerk")
    page.click("text=退出")

    sign_in(page, "analyst")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    forms: tuple[tuple[str, dict[str, str | float | bool]], ...] = (
        ("/warnings/1/step", {"csrf": csrf, "to": "closed", "close_note": "x"}),
        ("/warnings/push", {"csrf": csrf, "ids": "1", "bureau": "civil_affairs"}),
        ("/warnings/run", {"csrf": csrf, "run_period": "2022-06"}),
    )
    for path, form in forms:
        refused = page.request.post(path, form=form, max_redirects=0)
        assert refused.status == 403 and "无权" in refused.text(), path
    page.click("text=退出")

    sign_in(page, "admin")  # may read the list, may not work it
    page.goto("/warnings")
    assert page.locator("#push-button").count() == 0 and page.locator("#run").count() == 0
    page.goto("/warnings/1")
    expect(page.locator("#next-steps")).to_be_visible()
    assert page.locator("#next-steps form").count() == 0
    page.goto("/warnings")
    page.click("#lang-en")
    expect(page.locator("h1")).to_contain_text("High medical cost warnings")
    expect(page.locator("#filters label[for=f-status]")).to_have_text("Status")
    shot(page, "warnings-english")
