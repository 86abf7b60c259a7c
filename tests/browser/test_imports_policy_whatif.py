"""Imports, policy and what-if in a real browser: a bureau workbook with bad rows previewed (every bad cell with
its reason, the error workbook), cancelled (nothing changes) and confirmed (the good rows in); a pack's parameters
with their sources and two policies side by side; a what-if run on a synthetic county; role refusals."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.interfaces.workbooks.identity_files import ERROR_SHEET
from yibao.store.tables import Identity, ImportBatch, Person

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BAD = EXAMPLES / "workbooks" / "minzheng-bad.xlsx"


def registry(site: Site) -> tuple[int, int, int]:
    with site.db.unit_of_work() as s:
        people, identities, batches = (
            int(s.scalar(sa.select(sa.func.count()).select_from(t)) or 0) for t in (Person, Identity, ImportBatch)
        )
    return people, identities, batches


def upload(page: Page, path: Path, source: str = "民政") -> None:
    page.select_option("#f-source", source)
    page.set_input_files("#f-file", str(path))
    page.click("#upload-button")


def count(page: Page, table: str, key: str) -> int:
    return int(page.locator(f"#{table} tr[data-key={key}] td.num").inner_text().replace(",", ""))


def test_import_with_bad_rows_previewed_cancelled_then_confirmed(page: Page, site: Site, tmp_path: Path) -> None:
    before = registry(site)
    sign_in(page, "clerk")
    page.click("nav >> text=导入")
    page.select_option("#f-source", "民政")
    page.click("#upload-button")  # no file: refused beside the field, the bureau kept
    expect(page.locator("#e-file")).to_contain_text("请选择")
    expect(page.locator("#f-source")).to_have_value("民政")

    upload(page, BAD)
    expect(page.locator("#preview")).to_contain_text("尚未写入")
    rejected = page.locator("#rejected tr[data-row='4']")
    expect(rejected).to_contain_text("身份证号码")
    expect(rejected).to_contain_text("校验位")
    expect(page.locator("#rejected tr[data-row='7']")).to_contain_text("姓名为空")
    assert count(page, "report", "rows_rejected") == 12 and count(page, "report", "rows_accepted") > 0
    shot(page, "imports-report")
    with page.expect_download() as info:
        page.click("#errors-link")
    errors = tmp_path / "errors.xlsx"
    info.value.save_as(errors)
    assert ERROR_SHEET in load_workbook(errors).sheetnames
    assert registry(site) == before  # the preview wrote nothing

    page.click("#cancel-button")
    expect(page.locator("#notice")).to_contain_text("已取消")
    assert registry(site) == before

    upload(page, BAD)
    new_people, added = count(page, "report", "people_new"), count(page, "report", "identities_added")
    page.click("#confirm-button")
    page.wait_for_url(re.compile(r"/imports\?batch=\d+$"))
    expect(page.locator("#batch-report")).to_contain_text("minzheng-bad.xlsx")
    assert count(page, "report", "identities_added") == added
    people, identities, batches = registry(site)
    assert (people, identities, batches) == (before[0] + new_people, before[1] + added, before[2] + 1)
    shot(page, "imports-done")

    upload(page, BAD)  # the same file again: nothing to confirm
    expect(page.locator("#already")).to_contain_text("再次导入不会有任何改动")
    assert page.locator("#confirm-button").count() == 0
    assert registry(site) == (people, identities, batches)


def test_policy_parameters_and_side_by_side(page: Page) -> None:
    sign_in(page, "auditor")
    page.click("nav >> text=政策")
    rows = page.locator("#params tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 30
    expect(page.locator("#params tr[data-path='critical_illness.tilt.ratio_add']")).to_contain_text("003_")
    expect(page.locator("#params tr[data-path='critical_illness.deductible']")).to_contain_text("假设")
    shot(page, "policy")
    page.fill("#f-on", "2030-01-01")
    page.click("#show-button")
    expect(page.locator("#e-on")).to_contain_text("2022-01-01")
    expect(page.locator("#f-on")).to_have_value("2030-01-01")

    page.click("#compare-link")
    page.select_option("#f-b", "hainan-2023")
    page.click("#compare-button")
    expect(page.locator("#pairs tr.diff").first).to_be_visible()
    expect(page.locator("#pairs tr[data-path='critical_illness.deductible']")).to_have_class("diff")
    expect(page.locator("#differ")).to_contain_text("项参数不同")
    shot(page, "policy-compare")

    page.goto("/policy/compare?a=hainan-2023&b=hainan-2023&only=1")  # two dates of one pack
    expect(page.locator("#f-a_on")).to_have_value("2023-01-01")
    expect(page.locator("#f-b_on")).to_have_value("2024-01-01")
    paths = page.locator("#pairs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.path)")
    assert sorted(paths) == ["premium.fiscal", "premium.individual"]
    expect(page.locator("#pairs tr[data-path='premium.individual']")).to_contain_text("400")
    shot(page, "policy-compare-dates")


def test_whatif_run_shows_the_comparison(page: Page) -> None:
    sign_in(page, "analyst")
    page.click("nav >> text=测算")
    expect(page.locator("#f-ci_deductible")).to_have_value("15000")
    page.fill("#f-persons", "10")
    page.fill("#f-ci_deductible", "-1")
    page.click("#run-button")
    expect(page.locator("#e-persons")).to_contain_text("1,000 至 50,000")
    expect(page.locator("#e-ci_deductible")).to_be_visible()
    expect(page.locator("#f-persons")).to_have_value("10")

    page.fill("#f-persons", "20000")
    page.fill("#f-ci_deductible", "10000")
    page.fill("#f-inp_ratio_2", "80")
    page.click("#run-button", no_wait_after=True)  # a 20,000-person county: the answer is awaited below
    result = page.locator("#result")
    expect(result).to_contain_text("大病保险起付线 15000→10000", timeout=60_000)
    expect(page.locator("#headline")).to_contain_text("基金支出变化")
    expect(result.locator("svg.bars")).to_be_visible()
    expect(result.locator("table.cmp").first).to_contain_text("大病保险")
    expect(page.locator("#f-ci_deductible")).to_have_value("10000")
    shot(page, "whatif")

    with page.context.expect_page() as info:
        page.click("#report-link")
    report = info.value
    expect(report.locator("h1")).to_have_text("政策调整测算对比")
    expect(report.locator("svg").first).to_be_visible()
    report.close()

    page.select_option("#f-overlay", "reform-ci-deductible")
    page.click("#run-button", no_wait_after=True)
    expect(page.locator("#result")).to_contain_text("监测人口救助比例提高至70%", timeout=60_000)


def test_refusals_by_role(page: Page, site: Site) -> None:
    sign_in(page, "monitor")
    assert page.locator("nav.nav a[href='/imports']").count() == 0
    assert page.locator("nav.nav a[href='/whatif']").count() == 0
    expect(page.locator("nav.nav a[href='/policy']")).to_be_visible()  # any staff member reads the policy
    for path in ("/imports", "/whatif"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = page.request.post("/whatif/run", form={"csrf": csrf, "persons": "1000", "seed": "1", "ci_deductible": "1"})
    assert refused.status == 403
    refused = page.request.post("/imports/preview", multipart={"csrf": csrf, "source": "民政"})
    assert refused.status == 403 and "无权" in refused.text()
    page.click("text=退出")

    sign_in(page, "clerk")  # imports yes, what-if no
    response = page.goto("/whatif")
    assert response is not None and response.status == 403
    response = page.goto("/policy")
    assert response is not None and response.status == 200
