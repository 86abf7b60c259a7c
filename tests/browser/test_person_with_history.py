"""A person with a year of settlements and a warning, as a clerk and a monitoring officer see them."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person


def _busiest_warned(site: Site) -> tuple[str, str, int]:
    """(psn_no, name, settlements) of the warned person with the most settlements in the ledger."""
    with site.db.unit_of_work() as s:
        n = sa.func.count(LedgerEntry.id)
        psn_no, name, count = s.execute(
            sa.select(Person.psn_no, Person.psn_name, n)
            .join(LedgerEntry, LedgerEntry.person_id == Person.id)
            .where(Person.id.in_(sa.select(WarningCase.person_id)))
            .group_by(Person.psn_no, Person.psn_name)
            .order_by(n.desc(), Person.psn_no)
            .limit(1)
        ).one()
    return str(psn_no), str(name), int(count)


def test_person_page_lists_every_settlement_of_the_ledger(page: Page, site: Site) -> None:
    psn_no, name, count = _busiest_warned(site)
    sign_in(page, "clerk")
    page.goto(f"{site.url}/persons/{psn_no}")
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("#settlements h2")).to_contain_text(f"（{count}）")
    expect(page.locator("#settlements tbody tr")).to_have_count(count)
    expect(page.locator("#position svg.bars")).to_be_visible()
    shot(page, "person-history")


def test_monitoring_officer_sees_the_warning_list(page: Page, site: Site) -> None:
    with site.db.unit_of_work() as s:
        warned = s.scalar(sa.select(sa.func.count()).select_from(WarningCase))
    sign_in(page, "monitor")
    page.click("nav >> text=预警")
    expect(page.locator("h1")).to_be_visible()
    assert warned and page.locator("table tbody tr").count() >= 1
    shot(page, "warnings-list")


def test_a_monitoring_officer_sees_the_persons_warnings_and_a_clerk_does_not(page: Page, site: Site) -> None:
    psn_no, _, _ = _busiest_warned(site)
    with site.db.unit_of_work() as s:
        ids = list(
            s.scalars(sa.select(WarningCase.id).join(Person, Person.id == WarningCase.person_id).where(Person.psn_no == psn_no))
        )
    sign_in(page, "monitor")
    page.goto(f"{site.url}/persons/{psn_no}")
    expect(page.locator("#warnings tbody tr")).to_have_count(len(ids))
    page.locator("#warnings a").first.click()
    page.wait_for_url(f"**/warnings/{max(ids)}")
    page.context.clear_cookies()
    sign_in(page, "clerk")
    page.goto(f"{site.url}/persons/{psn_no}")
    expect(page.locator("#settlements")).to_be_visible()
    expect(page.locator("#warnings")).to_have_count(0)


def test_a_settlement_page_in_english_explains_in_english(page: Page, site: Site) -> None:
    with site.db.unit_of_work() as s:
        setl_id = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.med_type == "21").order_by(LedgerEntry.id).limit(1))
    sign_in(page, "clerk")
    page.goto(f"{site.url}/lang/en?next=/settlements/{setl_id}")
    trace = page.locator("#trace").inner_text()
    assert "Basic insurance" in trace or "basic" in trace.lower()
    assert not re.search(r"[\u4e00-\u9fff]", trace), trace
