"""A clerk files a chronic disease picked from the pack's lists (back-dated, with the reason), is refused an unlisted
code, records a screening (病情信息表) and changes the signed institutions once this month; an auditor sees the person
but no form and is refused the writes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.core.clock import beijing_today
from yibao.policy.pack import load_pack
from yibao.store.tables import ChronicFiling, InstitutionChoice, Person, ScreeningRecord


def _unfiled(site: Site) -> tuple[str, int]:
    """(psn_no, id) of a demo person with no chronic filing and no screening record."""
    with site.db.unit_of_work() as s:
        row = s.execute(
            sa.select(Person.psn_no, Person.id)
            .where(~Person.id.in_(sa.select(ChronicFiling.person_id)), ~Person.id.in_(sa.select(ScreeningRecord.person_id)))
            .order_by(Person.id.desc())
            .limit(1)
        ).one()
    return str(row[0]), int(row[1])


def test_a_clerk_files_from_the_catalogue_records_a_screening_and_changes_the_signed_institution(page: Page, site: Site) -> None:
    psn_no, pid = _unfiled(site)
    today = beijing_today()
    back = today - timedelta(days=10)
    pack = load_pack("anhui-huaibei-2022")
    catalogue = pack.at(pack.valid_from).filing_diseases
    assert catalogue is not None
    sign_in(page, "clerk")
    page.goto(f"/persons/{psn_no}")
    # the disease is picked from the pack's lists: every listed disease is an option, by code and name
    options = page.locator("#dise-list option")
    expect(options).to_have_count(len(catalogue.chronic) + len(catalogue.special))
    assert options.evaluate_all("os => os.map(o => o.value)")[:1] == ["I10 高血压 · 门诊慢性病"]
    page.click("#filing-form-box summary")
    # an unlisted code (J06 acute upper respiratory infection) is refused naming the field and the lists
    page.fill("#f-dise_codg", "J06")
    page.fill("#f-fixmedins_code", "H34060200001")
    page.fill("#f-doctor", "王医生")
    page.click("#file-button")
    expect(page.locator("#f-dise_codg")).to_have_value("J06")
    expect(page.locator("#e-dise_codg")).to_contain_text("I10")
    expect(page.locator("#e-dise_codg")).to_contain_text("N18")
    # back-dated without a reason: refused, naming the reason field
    page.fill("#f-dise_codg", "I10 高血压 · 门诊慢性病")
    page.fill("#f-begin", back.isoformat())
    page.fill("#f-signed1", "H34060200001")
    page.click("#file-button")
    expect(page.locator("#e-backdate_reason")).to_be_visible()
    with site.db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ChronicFiling).where(ChronicFiling.person_id == pid)) == 0
    page.fill("#f-backdate_reason", "诊断证明书十日前已出具，今日补办")
    page.click("#file-button")
    page.wait_for_url(f"**/persons/{psn_no}?done=filed*")
    row = page.locator("#chronic-filings tr[data-code=I10]")
    expect(row).to_contain_text("高血压")
    expect(row.locator("[data-field=kind]")).to_have_text("门诊慢性病")
    expect(row.locator("[data-field=backdate_reason]")).to_contain_text("今日补办")
    expect(row).to_contain_text(back.isoformat())
    # the screening record of an examination that did not qualify, kept with the household
    page.click("#screening-form-box summary")
    page.fill("#s-f-dise_codg", "E11 2型糖尿病 · 门诊慢性病")
    page.fill("#s-f-fixmedins_code", "H34060200001")
    page.fill("#s-f-doctor", "李医生")
    page.fill("#s-f-condition", "空腹血糖偏高，未达门诊慢性病认定标准，建议随访")
    page.click("#screening-button")
    page.wait_for_url(f"**/persons/{psn_no}?done=screened*")
    expect(page.locator("#screenings tbody tr")).to_have_count(1)
    expect(page.locator("#screenings")).to_contain_text("未达门诊慢性病认定标准")
    # the signed institution changes once this month; a second change is refused naming the first one's date
    form = row.locator("form.signed-form")
    form.locator("input[name=signed1]").fill("H34060200002")
    form.locator("button").click()
    page.wait_for_url(f"**/persons/{psn_no}?done=signed*")
    expect(row.locator("[data-field=signed]")).to_contain_text("H34060200002")
    form.locator("input[name=signed1]").fill("H34060200003")
    form.locator("button").click()
    expect(form.locator(".error")).to_contain_text(today.isoformat())
    shot(page, "filings")
    with site.db.unit_of_work() as s:
        f = s.scalars(sa.select(ChronicFiling).where(ChronicFiling.person_id == pid)).one()
        assert (f.dise_codg, f.kind, f.begin, f.recorded_by, f.signed_changed_on) == ("I10", "chronic", back, "clerk", today)
        signed = s.execute(
            sa.select(InstitutionChoice.fixmedins_code, InstitutionChoice.end).where(InstitutionChoice.filing_id == f.id)
        ).all()
        assert sorted(signed) == [("H34060200001", today - timedelta(days=1)), ("H34060200002", None)]
        r = s.scalars(sa.select(ScreeningRecord).where(ScreeningRecord.person_id == pid)).one()
        assert (r.dise_codg, r.dise_name, r.examined_on, r.recorded_by) == ("E11", "2型糖尿病", today, "clerk")
    # an auditor reads the person but has no form, and a write is refused
    page.context.clear_cookies()
    sign_in(page, "auditor")
    page.goto(f"/persons/{psn_no}")
    expect(page.locator("#chronic-filings")).to_be_visible()
    expect(page.locator("#filing-form")).to_have_count(0)
    expect(page.locator("#screening-form")).to_have_count(0)
    refused = page.request.post(f"/persons/{psn_no}/screenings", form={"condition": "x"})
    assert refused.status == 403
    # the policy page shows the lists
    page.goto("/policy")
    expect(page.locator("#catalogue tr[data-code=N18]")).to_contain_text("门诊特殊病")
