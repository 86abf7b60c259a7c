"""Browser tests of the web window: a live server on a small demo county, Debian's Chromium, a page per test.

Chromium is the system's (``/usr/bin/chromium``, with fonts-noto-cjk for the Chinese); no browser is
ever downloaded. ``shot(page, name)`` saves a full-page screenshot to ``tests/browser/screenshots/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.live import live_server
from yibao.app.demo import demo_people, ensure_demo
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.tables import Enrolment, Identity, Person

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test is slow (a live server and Chromium): the quick command leaves them out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)


SCREENSHOTS = Path(__file__).parent / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}
DEMO_PERSONS = 120
BILL_DAY = date(2022, 7, 15)
PASSWORDS = {
    "clerk": "clerk-demo-2022",
    "auditor": "auditor-demo-2022",
    "monitor": "monitor-demo-2022",
    "analyst": "analyst-demo-2022",
    "admin": "admin-demo-2022",
}


@dataclass(frozen=True)
class Site:
    url: str
    db: Database
    people: list[tuple[str, str, str]]
    """A few enrolled residents: (ID number, name, deciding category)."""
    assisted: list[tuple[str, str, str]]
    """Enrolled residents holding, on ``BILL_DAY``, an identity medical assistance covers (低保, 返贫致贫, 监测)."""


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("web") / "web.db"
    db = Database.open(f"sqlite:///{path}")
    ensure_demo(db, persons=DEMO_PERSONS)
    with live_server(create_app(db)) as url:
        yield Site(url, db, demo_people(db, 5), assisted_people(db))
    db.engine.dispose()


def assisted_people(db: Database) -> list[tuple[str, str, str]]:
    q = (
        sa.select(Person.certno, Person.psn_name, Identity.category)
        .join(Identity, Identity.person_id == Person.id)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Identity.category.in_(("dibao", "fanpin", "jiance")), Enrolment.year == 2022, Enrolment.psn_insu_stas == "1")
        .where(Identity.valid_from <= BILL_DAY, sa.or_(Identity.valid_to.is_(None), Identity.valid_to >= BILL_DAY))
        .order_by(Person.id)
    )
    with db.unit_of_work() as s:
        return [(c, n, cat) for c, n, cat in s.execute(q)]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    size: ViewportSize = {"width": VIEWPORT["width"], "height": VIEWPORT["height"]}
    context = browser.new_context(viewport=size, base_url=site.url, locale="zh-CN")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot ``tests/browser/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    out = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out


def sign_in(page: Page, user: str, password: str | None = None) -> None:
    """Sign in through the form and wait for the home page."""
    page.goto("/login")
    page.fill("#f-username", user)
    page.fill("#f-password", password or PASSWORDS[user])
    page.click("button[type=submit].primary")
    page.wait_for_url("**/")
