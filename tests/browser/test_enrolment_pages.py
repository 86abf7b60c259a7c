"""Enrolling the county in a real browser, on the demo county (Anhui 2022: premium 320 individual + 580 fiscal;
an ordinary resident pays all 320): coverage drilled down from the county to a township (the 96% target missed
there) and a village, its people not enrolled as Excel; the tax bureau's payment list with an unmatched row
named (row, ID number, name) and its errors workbook, nothing written, then the corrected list confirmed; the
registry enrolled after a preview; the targets met; the coverage workbook opened and checked; role refusals."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.store.tables import Enrolment, Identity, ImportBatch, Person

UNKNOWN = "110101199003071233"
"""A valid ID number no one in the demo county has."""


def _enrolled(site: Site) -> set[int]:
    with site.db.reading() as s:
        return {
            int(p)
            for p in s.scalars(sa.select(Enrolment.person_id).where(Enrolment.year == 2022, Enrolment.psn_insu_stas == "1"))
        }


def _exempt(site: Site) -> set[int]:
    with site.db.reading() as s:
        q = sa.select(Enrolment.person_id).where(Enrolment.year == 2022, Enrolment.special_status.is_not(None))
        special = {int(p) for p in s.scalars(q)}
    return special - _enrolled(site)


def _people(site: Site) -> list[Person]:
    """The county's people: a record merged into another after review (another browser test merges one) counts once."""
    with site.db.reading() as s:
        return list(s.scalars(sa.select(Person).where(Person.merged_into.is_(None)).order_by(Person.id)))


def _no_identity(site: Site, person_id: int) -> bool:
    with site.db.reading() as s:
        return not s.scalar(sa.select(sa.func.count()).select_from(Identity).where(Identity.person_id == person_id))


def _payment_list(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["身份证号", "姓名", "缴费年度", "缴费金额", "缴费日期", "完税凭证号"])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _download(page: Page, selector: str, path: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    info.value.save_as(path)
    return path


def test_enrol_the_county_from_payments_and_the_registry_with_coverage_by_place(page: Page, site: Site, tmp_path: Path) -> None:
    people = _people(site)
    enrolled, exempt = _enrolled(site), _exempt(site)
    gaps = [p for p in people if p.id not in enrolled and p.id not in exempt and p.insutype == "390"]
    assert len(gaps) >= 2, "the demo county has residents not enrolled"
    payer = next(p for p in gaps if _no_identity(site, p.id))  # ordinary: pays the whole 320
    town = [p for p in people if p.township == payer.township]
    town_gap = sum(1 for p in town if p.id not in enrolled and p.id not in exempt)
    town_rate = (len(town) - town_gap) * 10_000 // len(town)

    sign_in(page, "clerk")
    page.click("nav >> text=参保")
    expect(page.locator("h1")).to_contain_text("2022年度 · 全县")
    expect(page.locator("#places tr.total")).to_contain_text(f"{len(people)}")

    # drill down: the payer's township (the 96% target missed when a resident in a dozen is missing), then the village
    page.click(f"#places a:text-is('{payer.township}')")
    expect(page.locator("#crumbs")).to_contain_text(str(payer.township))
    overall = page.locator("#targets tr[data-target=overall]")
    expect(overall).to_contain_text("≥ 96.00%")
    expect(overall).to_contain_text("未达标" if town_rate < 9_600 else "达标")
    expect(page.locator("#places tr.total")).to_contain_text(f"{len(town)}")
    page.click(f"#places a:text-is('{payer.village}')")
    expect(page.locator("#crumbs")).to_contain_text(f"{payer.township} › {payer.village}")
    page.click("#view-gaps")
    expect(page.locator("#gaps")).to_contain_text(payer.psn_name)
    gaps_book = load_workbook(_download(page, "#gaps-xlsx", tmp_path / "gaps.xlsx"))
    sheet = gaps_book["未参保人员"]
    assert [c.value for c in sheet[1]][:5] == ["序号", "乡镇（街道）", "村（社区）", "户号", "姓名"]
    assert payer.psn_name in [sheet.cell(r, 5).value for r in range(2, sheet.max_row + 1)]
    shot(page, "enrolment-village-gaps")

    # the tax bureau's list: the payer (320.00 due) and a row nobody in the registry matches
    batches = _batches(site)
    bad = _payment_list(
        tmp_path / "缴费明细.xlsx",
        [[payer.certno, payer.psn_name, 2022, 320, None, None], [UNKNOWN, "王五", 2022, 320, None, None]],
    )
    page.goto("/enrolment?year=2022")
    page.set_input_files("#f-file", str(bad))
    page.click("#payment-upload-button")
    expect(page.locator("#payment-refused")).to_contain_text("整个文件不导入")
    unmatched = page.locator("#payment-problems tr[data-row='3']")
    expect(unmatched).to_contain_text(UNKNOWN)
    expect(unmatched).to_contain_text("王五")
    expect(unmatched).to_contain_text("未匹配")
    assert page.locator("#payment-confirm").count() == 0
    errors = load_workbook(_download(page, "#payment-errors-link", tmp_path / "errors.xlsx")).active
    assert errors is not None
    assert [errors.cell(2, c).value for c in range(1, 4)] == [3, UNKNOWN, "王五"]
    assert _enrolled(site) == enrolled and _batches(site) == batches  # the good row was not imported either
    shot(page, "enrolment-payments-refused")
    page.click("#payment-cancel")

    good = _payment_list(tmp_path / "缴费明细-改正.xlsx", [[payer.certno, payer.psn_name, 2022, "320.00", "2021-10-08", "T0001"]])
    page.set_input_files("#f-file", str(good))
    page.click("#payment-upload-button")
    expect(page.locator("#payment-preview")).to_contain_text("320.00")
    assert _enrolled(site) == enrolled
    page.click("#payment-confirm")
    expect(page.locator("#enrol-result")).to_contain_text("税务缴费明细，批次 #")
    assert _enrolled(site) == enrolled | {payer.id}
    assert _batches(site) == batches + 1
    with site.db.reading() as s:
        row = s.scalars(sa.select(Enrolment).where(Enrolment.person_id == payer.id, Enrolment.year == 2022)).one()
        assert (row.psn_insu_stas, row.individual, row.assistance_subsidy, row.fiscal_subsidy, row.recorded_by) == (
            "1",
            32_000,
            0,
            58_000,
            "clerk",
        )

    # the registry: previewed (nothing written), then confirmed; the rest of the gap enrolled, the exempt left out
    rest = [p for p in gaps if p.id != payer.id]
    page.click("#registry-preview-button")
    preview = page.locator("#registry-preview .counts")
    expect(preview).to_have_attribute("data-reactivated", str(sum(1 for p in rest if _has_row(site, p.id))))
    expect(preview).to_have_attribute("data-created", str(sum(1 for p in rest if not _has_row(site, p.id))))
    assert _enrolled(site) == enrolled | {payer.id}
    shot(page, "enrolment-registry-preview")
    page.click("#registry-confirm")
    expect(page.locator("#enrol-result")).to_contain_text("参保已完成")
    assert _enrolled(site) == enrolled | {p.id for p in gaps}
    for key in ("overall", "low_income"):
        expect(page.locator(f"#targets tr[data-target={key}] .target-met")).to_have_text("达标")
    page.click("#registry-preview-button")  # again: nothing to do
    expect(page.locator("#registry-nothing")).to_be_visible()

    book = load_workbook(_download(page, "#coverage-xlsx", tmp_path / "coverage.xlsx"))
    ws = book["参保情况"]
    assert [ws.cell(2, c).value for c in (1, 2, 5)] == ["全县", len(people), 0]
    results = [ws.cell(r, 3).value for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value).startswith("参保率目标")]
    assert results == ["达标", "达标"]
    shot(page, "enrolment-coverage")

    # the auditor is refused; the analyst sees the figures, not the people, and cannot enrol
    page.context.clear_cookies()
    sign_in(page, "auditor")
    response = page.goto("/enrolment")
    assert response is not None and response.status == 403
    page.context.clear_cookies()
    sign_in(page, "analyst")
    page.goto("/enrolment?view=gaps")
    expect(page.locator("#gaps")).to_contain_text("只能查看统计数")
    assert page.locator("#enrol-actions").count() == 0
    assert page.request.get("/enrolment/gaps.xlsx").status == 403
    assert page.request.post("/enrolment/registry", form={"year": "2022"}).status == 403


def _batches(site: Site) -> int:
    with site.db.reading() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(ImportBatch).where(ImportBatch.kind == "tax_payment")) or 0)


def _has_row(site: Site, person_id: int) -> bool:
    with site.db.reading() as s:
        q = sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.person_id == person_id, Enrolment.year == 2022)
        return bool(s.scalar(q))
