"""Back-pay after a late identity in a real browser (seed 004: identity changes maintained so people enjoy the
benefit in time): an ordinary resident's admission of 2022-01-04 is settled at the counter; the 民政 roster then
brings a 低保 identity from 2021-12-01; the person page shows 待补差, the clerk's list names the person, the
preview shows the difference, the clerk confirms once and the slip shows it.

By hand (Huaibei 2022, county hospital): 10,000 yuan in range, basic (10,000 - 500) x 91.8% = 8,721.00, left
1,279.00; as an ordinary resident nothing more; as 低保 medical assistance 1,279.00 x 75% = 959.25 (critical
illness from 7,500, tilted from 10,000: nothing). The person is paid back 959.25 yuan."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.interfaces.workbooks.identity_files import write_roster_xlsx
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Enrolment, Identity, Person


def _ordinary_without_bills(site: Site) -> Person:
    """An enrolled resident with no identity and no settlement in 2022."""
    with site.db.unit_of_work() as s:
        person = s.scalars(
            sa.select(Person)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.year == 2022, Enrolment.psn_insu_stas == "1", Enrolment.insutype == "390")
            .where(~sa.exists().where(Identity.person_id == Person.id))
            .where(~sa.exists().where(LedgerEntry.person_id == Person.id))
            .order_by(Person.id.desc())
        ).first()
        assert person is not None
        s.expunge(person)
    return person


def test_a_late_dibao_identity_is_noticed_previewed_paid_once_and_printed(page: Page, site: Site, tmp_path: Path) -> None:
    p = _ordinary_without_bills(site)
    sign_in(page, "clerk")

    # the bill of 2022-01-04, settled as an ordinary resident
    page.goto(f"/counter?person={p.certno}")
    page.select_option("#f-med_type", "21")
    page.select_option("#f-hosp_lv", "2")
    page.select_option("#f-place", "in_county")
    page.fill("#f-setl_date", "2022-01-04")
    page.fill("#f-medfee_sumamt", "10000")
    page.click("#preview-button")
    expect(page.locator("#preview tr[data-field=maf_pay]")).to_contain_text("0.00")
    page.click("#confirm-button")
    expect(page).to_have_url(re.compile(r"/settlements/S\w+\?settled=1$"))
    setl_id = page.url.split("?")[0].rsplit("/", 1)[1]

    # the 民政 roster brings 低保 from 2021-12-01
    roster = write_roster_xlsx(
        [[1, p.county, p.township, p.village, p.hh_no, p.psn_name, "男" if p.gend == "1" else "女", p.certno, "农村低保",
          datetime(2021, 12, 1), None, 425, ""]],
        "民政", tmp_path / "minzheng-late.xlsx", datetime(2022, 1, 31).date(), p.county or "",
    )  # fmt: skip
    page.click("nav >> text=导入")
    page.select_option("#f-source", "民政")
    page.set_input_files("#f-file", str(roster))
    page.click("#upload-button")
    page.click("#confirm-button")
    page.wait_for_url(re.compile(r"/imports\?batch=\d+$"))

    # the person page says 待补差 and names the settlement; the clerk's list has the person
    page.goto(f"/persons/{p.psn_no}")
    notice = page.locator("#backpay-notice")
    expect(notice).to_contain_text("待补差")
    expect(notice).to_contain_text(setl_id)
    expect(notice).to_contain_text("低保")
    shot(page, "backpay-person")
    page.click("nav >> text=补差")
    expect(page.locator(f"#pending tr[data-psn-no='{p.psn_no}']")).to_contain_text(setl_id)
    page.click(f"#pending tr[data-psn-no='{p.psn_no}'] >> text=预览补差")

    # the preview: per fund, as settled / settled again / difference; nothing written yet
    row = page.locator(f".backpay-settlement[data-setl-id='{setl_id}']")
    expect(row.locator("tr[data-field=maf_pay]")).to_contain_text("959.25")
    expect(row.locator("tr[data-field=hifp_pay] td.diff")).to_have_text("0.00")
    expect(row.locator("tr[data-field=psn_part_amt] td.diff")).to_have_text("-959.25")
    expect(row.locator(".identity-after")).to_contain_text("低保")
    expect(page.locator("#refund")).to_have_text("959.25")
    shot(page, "backpay-preview")
    mine = (LedgerEntry.kind == "backpay", LedgerEntry.psn_no == p.psn_no)
    paid = sa.select(sa.func.count()).select_from(LedgerEntry).where(*mine)
    with site.db.unit_of_work() as s:
        assert s.scalar(paid) == 0
    confirm = page.evaluate("Object.fromEntries(new FormData(document.querySelector('#total form')))")
    page.click("#confirm-button")
    expect(page).to_have_url(re.compile(r"/backpay/B[\w-]+\?paid=1$"))
    expect(page.locator("#notice")).to_contain_text("959.25")
    stem = page.url.split("?")[0].rsplit("/", 1)[1]
    again = page.request.post(f"/persons/{p.psn_no}/backpay", form=confirm, max_redirects=0)  # the same form again
    assert again.status == 303 and again.headers["location"] == f"/backpay/{stem}?paid=1"
    with site.db.unit_of_work() as s:
        fixes = s.execute(sa.select(LedgerEntry.corrects, LedgerEntry.maf_pay, LedgerEntry.recorded_by)
                          .where(LedgerEntry.kind == "backpay", LedgerEntry.psn_no == p.psn_no)).all()  # fmt: skip
    assert [tuple(f) for f in fixes] == [(setl_id, 95_925, "clerk")]

    # the slip: before / after per fund and the cash paid back
    slip = page.context.new_page()
    slip.goto(f"/backpay/{stem}/slip")
    expect(slip.locator("h1")).to_have_text("医疗费用补差结算单")
    expect(slip.locator(f"table[data-setl-id='{setl_id}'] tr[data-field=maf_pay]")).to_contain_text("959.25")
    expect(slip.locator("#refund")).to_have_text("959.25")
    shot(slip, "backpay-slip")
    pdf = slip.request.get(f"/backpay/{stem}/slip.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    slip.close()

    page.goto(f"/persons/{p.psn_no}")  # paid: no notice, the payment listed
    assert page.locator("#backpay-notice").count() == 0
    expect(page.locator("#backpay-paid")).to_contain_text(stem)
