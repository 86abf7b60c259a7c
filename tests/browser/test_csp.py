"""The window under its content security policy in Chromium: no page breaks a rule, and what scripts do
still happens (the busy button, the back link, the slip's print button) and the charts keep their style."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Site, sign_in
from yibao.store.service_tables import LedgerEntry

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def _violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__violations || []"))


def _watched(page: Page) -> list[str]:
    """Every CSP refusal Chromium reports on the console while the test runs."""
    said: list[str] = []
    page.on("console", lambda m: said.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(WATCH)
    return said


def _a_settlement(site: Site) -> str:
    with site.db.unit_of_work() as s:
        setl_id = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.kind == "settle").order_by(LedgerEntry.id))
    assert setl_id
    return str(setl_id)


def test_no_page_breaks_the_policy_and_scripts_still_work(page: Page, site: Site) -> None:
    said = _watched(page)
    page.goto("/login")  # the check can fail: a script injected into the page is refused, and seen refused
    page.evaluate("var s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s)")
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__ran === undefined") and "script-src" in _violations(page)[0]
    said.clear()
    sign_in(page, "admin")
    setl_id = _a_settlement(site)
    certno = site.people[0][0]
    for path in (
        "/",
        f"/persons?q={certno}",
        "/reports?month=2022-06",
        "/policy",
        "/imports",
        "/accounts",
        "/account/password",
        f"/settlements/{setl_id}",
    ):
        page.goto(path)
        assert _violations(page) == [], (path, _violations(page))
    # the reports' charts: matplotlib SVG with its style attributes, drawn as styled
    page.goto("/reports?month=2022-06")
    chart = page.locator("#charts svg").first
    expect(chart).to_be_visible()
    assert _violations(page) == []
    # the slip's print button: a fixed inline script allowed by its hash
    page.goto(f"/settlements/{setl_id}/slip")
    page.evaluate("window.print = function () { window.__printed = true; }")
    page.click("#print-slip")
    assert page.evaluate("window.__printed === true")
    # the back link of the not-found page: /static/web.js
    page.goto("/accounts")
    page.goto("/settlements/NOPE")
    page.click("a[data-back]")
    page.wait_for_url("**/accounts")
    # the what-if page's busy button shows its spinner while the page works
    page.goto("/whatif")
    busy = page.locator("#run-button-busy")
    expect(busy).to_be_hidden()
    page.evaluate("document.getElementById('run-button').form.addEventListener('submit', e => e.preventDefault())")
    page.click("#run-button")
    expect(busy).to_be_visible()
    expect(page.locator("#run-button")).to_be_disabled()
    assert _violations(page) == [] and said == [], said


def test_the_api_documentation_works_offline(page: Page, site: Site) -> None:
    """``/docs`` with every request to another host refused (an office without internet): Swagger UI draws the
    operations from this server's own files, within the page's policy."""
    outside: list[str] = []

    def only_here(route: Route) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    said = _watched(page)
    page.route("**/*", only_here)
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert page.locator(".opblock").count() >= 40
    assert outside == [] and _violations(page) == [] and said == []
    page.goto("/redoc")
    expect(page.locator(".api-content").first).to_be_visible()
    assert outside == []
