"""The 疑点 pages in Chromium against a live server: the auditor sees an overdue case in red and moves a case on;
the hospital's account signs in, sees its own case only and appeals with a file chosen in the browser; on a phone's
width the list scrolls inside its card."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from tests.accounts import PASSWORD
from tests.browser.conftest import VIEWPORT, shot
from tests.db.suspect_data import PACK_FILE, case, seed
from tests.live import live_server
from yibao.app import suspects as svc
from yibao.app.audit_pack import AUDIT_PACK_ENV
from yibao.entrypoints.http import create_app
from yibao.store.audit_tables import SuspectCase
from yibao.store.db import Database


@pytest.fixture(scope="module")
def suspects_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, dict[str, int]]]:
    mp = pytest.MonkeyPatch()
    mp.setenv(AUDIT_PACK_ENV, str(PACK_FILE))
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('suspects') / 'web.db'}")
    ids = seed(db, population=4)
    with db.unit_of_work() as s:  # the other hospital's case is overdue
        s.execute(sa.update(SuspectCase).where(SuspectCase.id == ids["theirs"]).values(due_date=svc.today() - timedelta(days=3)))
        s.commit()
    with live_server(create_app(db)) as url:
        yield url, db, ids
    db.engine.dispose()
    mp.undo()


def _page(browser: Browser, url: str, user: str, viewport: dict[str, int] = VIEWPORT) -> Page:
    context = browser.new_context(viewport=viewport, base_url=url, locale="zh-CN")  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#f-username", user)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit].primary")
    return page


def test_the_auditor_sees_overdue_in_red_and_moves_a_case_on(
    browser: Browser, suspects_site: tuple[str, Database, dict[str, int]]
) -> None:
    url, db, ids = suspects_site
    page = _page(browser, url, "auditor")
    page.wait_for_url("**/")
    page.click("nav >> text=疑点")
    page.wait_for_url("**/suspects")
    late = page.locator(f'tr[data-id="{ids["theirs"]}"] td').first
    assert "逾期" in page.locator(f'tr[data-id="{ids["theirs"]}"]').inner_text()
    red = late.evaluate("e => getComputedStyle(e).backgroundColor")
    plain = page.locator(f'tr[data-id="{ids["mine"]}"] td').first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert red != plain, (red, plain)
    shot(page, "suspects-list")
    page.click(f'tr[data-id="{ids["mine"]}"] a')
    page.wait_for_url(f"**/suspects/{ids['mine']}")
    assert "出院 3 天后再次入院" in page.inner_text("#message")
    page.click("#button-confirm")
    page.wait_for_url("**done=confirm**")
    page.click("#button-notify")
    page.wait_for_url("**done=notify**")
    assert "机构申诉" in page.inner_text("#status")
    assert case(db, ids["mine"]).status == "appeal"
    page.context.close()


def test_the_hospital_appeals_its_own_case_with_a_file(
    browser: Browser, suspects_site: tuple[str, Database, dict[str, int]], tmp_path: Path
) -> None:
    url, db, ids = suspects_site
    if case(db, ids["mine"]).status != "appeal":
        pytest.skip("needs the auditor's steps of the test before")
    page = _page(browser, url, "his")
    page.wait_for_url("**/suspects")
    assert page.locator("tr[data-id]").count() == 1 and page.locator("#draw-button").count() == 0
    page.click(f'tr[data-id="{ids["mine"]}"] a')
    page.fill("#note-appeal", "患者确需再次住院，附出院小结")
    evidence = tmp_path / "出院小结.pdf"
    evidence.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.set_input_files("#form-appeal input[type=file]", str(evidence))
    page.click("#button-appeal")
    page.wait_for_url("**done=appeal**")
    assert "调查核实" in page.inner_text("#status")
    assert page.locator("#attachments a", has_text="出院小结.pdf").count() == 1
    shot(page, "suspect-appealed")
    assert page.goto(f"/suspects/{ids['theirs']}").status == 404  # type: ignore[union-attr]
    page.context.close()


Site = tuple[str, Database, dict[str, int]]


def test_on_a_phone_the_list_scrolls_inside_its_card(browser: Browser, suspects_site: Site) -> None:
    url, _, _ = suspects_site
    page = _page(browser, url, "auditor", {"width": 390, "height": 844})
    page.wait_for_url("**/")
    page.goto("/suspects")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, overflow
    shot(page, "suspects-phone")
    page.context.close()
