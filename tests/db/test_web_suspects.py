"""The 疑点 pages without a browser, on SQLite and PostgreSQL: the auditor's list (overdue in red) and detail with its
step forms (each POST needs the session's CSRF token), the institution's own cases and its appeal with a file, a
draw for manual review, and the navigation per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.accounts import HOSPITAL, PASSWORD, csrf_of
from tests.accounts import signed_in as signed_in_as
from tests.db.suspect_data import PACK_FILE, case, seed
from tests.unit.test_languages import mixed, page_texts
from yibao.app import suspects as svc
from yibao.app.audit_pack import AUDIT_PACK_ENV
from yibao.entrypoints.http import create_app
from yibao.store.audit_tables import SuspectCase
from yibao.store.db import Database
from yibao.store.service_tables import Account, Institution
from yibao.store.tables import Person

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def web(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, int], Database]]:
    monkeypatch.setenv(AUDIT_PACK_ENV, str(PACK_FILE))
    ids = seed(db, population=4)
    with TestClient(create_app(db)) as client:
        yield client, ids, db


def signed_in(app_client: TestClient, user: str) -> TestClient:
    return signed_in_as(app_client.app, user)


def test_strangers_go_to_sign_in_and_other_roles_are_refused(web: tuple[TestClient, dict[str, int], Database]) -> None:
    client, ids, _ = web
    for path in ("/suspects", f"/suspects/{ids['mine']}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    clerk = signed_in(client, "clerk")
    assert clerk.get("/suspects").status_code == 403
    assert ">疑点<" not in clerk.get("/").text
    for user in ("auditor", "admin"):
        assert 'href="/suspects"' in signed_in(client, user).get("/").text, user


def test_the_auditor_works_a_case_in_the_window(web: tuple[TestClient, dict[str, int], Database]) -> None:
    client, ids, db = web
    auditor = signed_in(client, "auditor")
    with db.unit_of_work() as s:  # the other hospital's case is overdue
        s.execute(sa.update(SuspectCase).where(SuspectCase.id == ids["theirs"]).values(due_date=svc.today() - timedelta(days=1)))
        s.commit()
    page = auditor.get("/suspects").text
    assert "疑点清单" in page and case(db, ids["mine"]).case_no in page
    row = re.search(rf'<tr data-id="{ids["theirs"]}" class="overdue">.*?</tr>', page, re.S)
    assert row and "逾期" in row.group(0)
    assert f'<tr data-id="{ids["mine"]}">' in page  # in time: not flagged
    assert re.search(r'id="overdue-count"[^>]*>逾期 <b>1</b>', page)
    assert auditor.get("/suspects?overdue=1").text.count("<tr data-id=") == 1
    detail = auditor.get(f"/suspects/{ids['mine']}").text
    for shown in ("ZY001", "S0001", "S0002", "床位费", "立案", 'id="form-confirm"', 'id="form-dismiss"'):
        assert shown in detail, shown
    token = csrf_of(detail)
    url = f"/suspects/{ids['mine']}/act"
    assert auditor.post(url, data={"action": "confirm", "version": "0"}).status_code == 403  # no CSRF token
    r = auditor.post(url, data={"csrf": token, "action": "confirm", "version": "0"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=confirm#events")
    # the same form sent again (version 0): the case moved on
    r = auditor.post(url, data={"csrf": token, "action": "dismiss", "note": "再次提交", "version": "0"})
    assert r.status_code == 409 and "已被他人处理" in r.text
    r = auditor.post(url, data={"csrf": token, "action": "dismiss", "note": "", "version": "1"})
    assert r.status_code == 422 and 'id="e-note"' in r.text
    page = auditor.get(f"/suspects/{ids['mine']}?done=confirm").text
    assert "已记录：初审确认疑点" in page and "复审" in page
    # each step shows who and when, on the bureaus' clock (UTC+8)
    when = datetime.now(UTC) + timedelta(hours=8)
    assert when.strftime("%Y-%m-%d") in page and "auditor · 经办窗口" in page


def test_the_administrator_reads_but_takes_no_step(web: tuple[TestClient, dict[str, int], Database]) -> None:
    client, ids, _ = web
    admin = signed_in(client, "admin")
    page = admin.get(f"/suspects/{ids['mine']}").text
    assert 'id="form-confirm"' not in page and "当前步骤不由您办理" in page
    r = admin.post(f"/suspects/{ids['mine']}/act", data={"csrf": csrf_of(page), "action": "confirm"})
    assert r.status_code == 403


def test_the_institution_sees_its_own_and_appeals_with_a_file(web: tuple[TestClient, dict[str, int], Database]) -> None:
    client, ids, db = web
    auditor = signed_in(client, "auditor")
    token = csrf_of(auditor.get("/suspects").text)
    for step, version in (("confirm", 0), ("notify", 1)):
        auditor.post(f"/suspects/{ids['mine']}/act", data={"csrf": token, "action": step, "version": str(version)})
    his = TestClient(client.app)
    form = his.get("/login").text
    r = his.post("/login", data={"username": "his", "password": PASSWORD, "csrf": csrf_of(form)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/suspects"
    page = his.get("/suspects").text
    assert case(db, ids["mine"]).case_no in page and case(db, ids["theirs"]).case_no not in page
    assert 'href="/suspects"' in page and 'href="/counter"' not in page and 'id="draw-button"' not in page
    assert his.get(f"/suspects/{ids['theirs']}").status_code == 404
    assert his.get("/warnings").status_code == 403 and his.get("/").status_code == 403
    detail = his.get(f"/suspects/{ids['mine']}").text
    assert 'id="form-appeal"' in detail and 'enctype="multipart/form-data"' in detail and 'id="form-accept"' in detail
    token = csrf_of(detail)
    url = f"/suspects/{ids['mine']}/act"
    r = his.post(
        url, data={"csrf": token, "action": "appeal", "note": "申诉", "version": "2"}, files={"file": ("a.exe", b"MZ\x90\x00")}
    )
    assert r.status_code == 422 and 'id="e-file"' in r.text
    r = his.post(url, data={"csrf": token, "action": "lapse", "version": "2"})
    assert r.status_code == 403  # the bureau's step, not the institution's
    data = {"csrf": token, "action": "appeal", "note": "患者确需再次住院", "version": "2"}
    r = his.post(url, data=data, files={"file": ("../出院小结.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert case(db, ids["mine"]).status == "investigation"
    page = his.get(f"/suspects/{ids['mine']}").text
    link = re.search(r'href="(/suspects/\d+/files/\d+)"[^>]*>出院小结.pdf<', page)
    assert link and "患者确需再次住院" in page
    got = his.get(link.group(1))
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    other = signed_in(client, "his2")
    assert other.get(link.group(1)).status_code == 404
    assert auditor.get(link.group(1)).content == PDF


def test_a_draw_for_manual_review_and_its_estimate(web: tuple[TestClient, dict[str, int], Database]) -> None:
    client, _, db = web
    auditor = signed_in(client, "auditor")
    token = csrf_of(auditor.get("/suspects").text)
    form = {"csrf": token, "fixmedins_code": HOSPITAL, "date_from": "2022-05-01", "date_to": "2022-05-31", "seed": "3"}
    r = auditor.post("/suspects/samples", data=form | {"rate": "abc"})
    assert r.status_code == 422 and 'id="e-rate"' in r.text
    r = auditor.post("/suspects/samples", data=form | {"rate": "50"}, follow_redirects=False)
    assert r.status_code == 303 and "sample_id=" in r.headers["location"]
    page = auditor.get(r.headers["location"]).text
    assert 'id="estimate"' in page and "暂无估算" in page and page.count("<tr data-id=") == 2
    his = signed_in(client, "his")
    assert (
        his.post("/suspects/samples", data=form | {"csrf": csrf_of(his.get("/suspects").text), "rate": "50"}).status_code == 403
    )
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SuspectCase).where(SuspectCase.sampled)) == 2


def test_english_on_request(web: tuple[TestClient, dict[str, int], Database]) -> None:
    client, ids, _ = web
    auditor = signed_in(client, "auditor")
    auditor.cookies.set("lang", "en")
    page = auditor.get(f"/suspects/{ids['mine']}").text
    assert "first review" in page and "What happened" in page and "初审" not in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_suspect_page_in_one_language(web: tuple[TestClient, dict[str, int], Database], lang: str) -> None:
    client, ids, db = web
    auditor = signed_in(client, "auditor")
    token = csrf_of(auditor.get("/suspects").text)
    auditor.post(f"/suspects/{ids['mine']}/act", data={"csrf": token, "action": "confirm", "version": "0"})
    auditor.post(f"/suspects/{ids['mine']}/act", data={"csrf": token, "action": "notify", "version": "1"})
    form = {"csrf": token, "fixmedins_code": HOSPITAL, "date_from": "2022-05-01", "date_to": "2022-05-31", "seed": "3"}
    sample = auditor.post("/suspects/samples", data=form | {"rate": "50"}, follow_redirects=False).headers["location"]
    with db.unit_of_work() as s:
        names = {n for row in s.execute(sa.select(Institution.fixmedins_name)) for n in row}
        names |= {n for row in s.execute(sa.select(Person.psn_name, Person.county, Person.township, Person.village)) for n in row}
        names |= {n for row in s.execute(sa.select(Account.username, Account.display_name)) for n in row}
    names |= {"中文", "床位费"}  # the language switch; an item's name as the hospital sent it
    his = signed_in(client, "his")
    problems = []
    for who, paths in ((auditor, ("/suspects", f"/suspects/{ids['mine']}", sample, "/suspects?overdue=x")), (his, (
        "/suspects", f"/suspects/{ids['mine']}", f"/suspects/{ids['theirs']}"))):  # fmt: skip
        who.cookies.set("lang", lang)
        for path in paths:
            r = who.get(path)
            assert r.status_code in (200, 404, 422), (path, r.status_code)
            assert ('lang="zh-CN"' if lang == "zh" else 'lang="en"') in r.text
            problems += [f"{path}: {text}" for text in mixed(page_texts(r.text), lang, names)]
    assert not problems, "\n".join(problems)
