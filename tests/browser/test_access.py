"""The web window without a browser: sign-in, roles, CSRF, exactly-once settling, a hospital's visit at the counter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.accounts import csrf_of as csrf_of  # the languages test signs in with it too
from tests.accounts import signed_in as signed_in_as
from tests.browser.conftest import DEMO_PERSONS, PASSWORDS, assisted_people
from yibao.app.demo import DEMO_HOSPITAL, ensure_demo
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, Visit

PAGES = {"/": None, "/counter": "settle", "/persons?q=x": "person.read", "/capitation": "capitation.read"}
ROLE_PERMISSIONS = {
    "clerk": {"settle", "person.read", "settle.read", "reverse"},
    "auditor": {"person.read", "settle.read", "capitation.read"},
    "monitor": {"person.read", "settle.read"},
    "analyst": {"capitation.read"},
    "admin": {"person.read", "settle.read", "capitation.read"},
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path: Path = tmp_path_factory.mktemp("web-access") / "web.db"
    db = Database.open(f"sqlite:///{path}")
    ensure_demo(db, persons=DEMO_PERSONS)
    yield create_app(db)
    db.engine.dispose()


def signed_in(app: FastAPI, user: str) -> TestClient:
    """A window session of a demo account (its demo password)."""
    return signed_in_as(app, user, PASSWORDS[user])


def assisted(app: FastAPI) -> str:
    db: Database = app.state.db
    return assisted_people(db)[0][0]


BILL = {"med_type": "21", "hosp_lv": "2", "place": "in_county", "setl_date": "2022-05-10", "medfee_sumamt": "8000"}


def test_pages_send_strangers_to_sign_in_and_keep_the_way_back(app: FastAPI) -> None:
    client = TestClient(app)
    for path in ("/", "/counter", "/persons", "/settlements/S1"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == ("/login" if path == "/" else f"/login?next={path}")
    r = client.post("/counter/settle", data={"csrf": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize("user", list(ROLE_PERMISSIONS))
def test_each_role_gets_its_pages_and_a_403_page_for_the_others(app: FastAPI, user: str) -> None:
    client = signed_in(app, user)
    for path, permission in PAGES.items():
        r = client.get(path)
        allowed = permission is None or permission in ROLE_PERMISSIONS[user]
        assert r.status_code == (200 if allowed else 403), (user, path)
        if not allowed:
            assert "无权访问" in r.text and "<!doctype html>" in r.text
    home = client.get("/").text
    assert ('href="/counter"' in home) == ("settle" in ROLE_PERMISSIONS[user])


def test_session_cookie_is_http_only_same_site_and_sign_out_ends_the_token(app: FastAPI) -> None:
    client = TestClient(app)
    form = client.get("/login")
    assert "yibao_login_csrf" in form.headers["set-cookie"]
    r = client.post(
        "/login", data={"username": "clerk", "password": PASSWORDS["clerk"], "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    cookie = r.headers["set-cookie"]
    assert "yibao_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = client.cookies["yibao_session"]
    home = client.get("/")
    client.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    stale = TestClient(app, cookies={"yibao_session": token})
    assert stale.get("/", follow_redirects=False).status_code == 303


def test_sign_in_refusals(app: FastAPI) -> None:
    client = TestClient(app)
    r = client.post("/login", data={"username": "clerk", "password": PASSWORDS["clerk"], "csrf": "forged"})
    assert r.status_code == 422 and "页面已过期" in r.text and "yibao_session" not in client.cookies
    form = client.get("/login").text
    r = client.post("/login", data={"username": "", "password": "x", "csrf": csrf_of(form)})
    assert r.status_code == 422 and 'id="e-username"' in r.text
    # an institution's account signs in to its own 疑点 only
    data = {"username": "his", "password": "his-demo-2022", "csrf": csrf_of(form)}
    r = client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/suspects"
    assert client.get("/").status_code == 403 and "国家接口" in client.get("/counter").text


def test_a_stale_session_cookie_neither_blocks_sign_in_nor_loses_the_way_back(app: FastAPI) -> None:
    client = TestClient(app, cookies={"yibao_session": "expired-or-deleted-token-0123456789"})
    r = client.post("/counter/settle", data={"csrf": "x"}, follow_redirects=False)
    assert r.headers["location"] == "/login?next=/counter"  # the form's page, not the POST-only action
    form = client.get("/login?next=/counter").text
    data = {"username": "clerk", "password": PASSWORDS["clerk"], "csrf": csrf_of(form), "next": "/counter"}
    r = client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/counter"


def test_sign_in_goes_back_only_to_a_local_page(app: FastAPI) -> None:
    client = TestClient(app)
    form = client.get("/login?next=//evil.example/x").text
    assert 'value="/"' in form
    data = {"username": "clerk", "password": PASSWORDS["clerk"], "csrf": csrf_of(form), "next": "https://evil.example/"}
    assert client.post("/login", data=data, follow_redirects=False).headers["location"] == "/"
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"] == "/"


def test_posts_need_the_sessions_csrf_token(app: FastAPI) -> None:
    clerk, other = signed_in(app, "clerk"), signed_in(app, "clerk")
    data = BILL | {"person": assisted(app)}
    assert clerk.post("/counter/preview", data=data).status_code == 403  # none
    r = clerk.post("/counter/preview", data=data | {"csrf": csrf_of(other.get("/").text)})  # another session's
    assert r.status_code == 403 and "表单已失效" in r.text
    assert clerk.post("/counter/preview", data=data | {"csrf": csrf_of(clerk.get("/").text)}).status_code == 200


@pytest.mark.parametrize(
    ("user", "path"), [("monitor", "/counter/settle"), ("auditor", "/counter/preview"), ("analyst", "/counter/settle")]
)
def test_posts_without_the_permission_are_refused(app: FastAPI, user: str, path: str) -> None:
    client = signed_in(app, user)
    r = client.post(path, data=BILL | {"person": assisted(app), "csrf": csrf_of(client.get("/").text), "idem": "a" * 24})
    assert r.status_code == 403 and "无权" in r.text


def test_auditor_reads_a_settlement_but_may_not_reverse_it(app: FastAPI) -> None:
    clerk = signed_in(app, "clerk")
    setl_id = settle_by_hand(clerk, assisted(app))
    auditor = signed_in(app, "auditor")
    page = auditor.get(f"/settlements/{setl_id}")
    assert page.status_code == 200 and "撤销结算" not in page.text
    r = auditor.post(f"/settlements/{setl_id}/reverse", data={"csrf": csrf_of(page.text), "reason": "x", "idem": "b" * 24})
    assert r.status_code == 403


def settle_by_hand(client: TestClient, person: str, **changes: str) -> str:
    token = csrf_of(client.get("/counter").text)
    preview = client.post("/counter/preview", data=BILL | changes | {"person": person, "csrf": token})
    assert preview.status_code == 200, re.findall(r'class="error"[^>]*>([^<]+)', preview.text)
    idem = re.search(r'name="idem" value="([0-9a-f]+)"', preview.text)
    assert idem
    confirm = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', preview.text.split('id="confirm-form"')[1]))
    first = client.post("/counter/settle", data=confirm, follow_redirects=False)
    second = client.post("/counter/settle", data=confirm, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    return str(first.headers["location"]).split("/")[-1].split("?")[0]


def test_settling_twice_with_one_confirmation_writes_one_ledger_entry(app: FastAPI) -> None:
    db: Database = app.state.db
    clerk = signed_in(app, "clerk")
    setl_id = settle_by_hand(clerk, assisted(app), medfee_sumamt="1234.56", fulamt_ownpay_amt="34.56")
    with db.unit_of_work() as s:
        entry = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id))
        assert entry is not None and entry.medfee_sumamt == 123456 and entry.fulamt_ownpay_amt == 3456
        assert s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry).where(LedgerEntry.msgid == entry.msgid)) == 1
    r = clerk.post("/counter/settle", data=BILL | {"person": assisted(app), "csrf": csrf_of(clerk.get("/").text)})
    assert r.status_code == 422 and "请先预结算" in r.text  # no confirmation key: nothing settles


def test_a_hospital_visit_settled_at_the_counter_and_reversed_opens_again(app: FastAPI) -> None:
    db: Database = app.state.db
    certno = assisted(app)
    his = TestClient(app)
    token = his.post("/api/auth/token", data={"username": "his", "password": "his-demo-2022"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def call(infno: str, msgid: str, inp: dict[str, object]) -> dict[str, object]:
        env = {"infno": infno, "msgid": msgid, "fixmedins_code": DEMO_HOSPITAL, "input": inp}
        out: dict[str, object] = his.post("/api/hsa", json=env, headers=headers).json()
        assert out["infcode"] == "0", out
        return out

    reg = call("2201", "WEB-T-1", {"data": {"psn_no": certno, "begntime": "2022-08-01 09:00:00", "med_type": "11"}})
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]  # type: ignore[index]
    line = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "med_list_codg": "X1", "chrgitm_lv": "01", "det_item_fee_sumamt": "120.00"}
    call("2204", "WEB-T-2", {"feedetail": [line]})

    clerk = signed_in(app, "clerk")
    page = clerk.get(f"/counter?person={certno}")
    assert f"mdtrt_id={mdtrt_id}" in page.text
    chosen = clerk.get(f"/counter?person={certno}&mdtrt_id={mdtrt_id}").text
    psn_no = re.search(r'name="person" value="(\w+)"', chosen)
    assert psn_no
    data = {"csrf": csrf_of(chosen), "person": psn_no.group(1), "mdtrt_id": mdtrt_id}
    preview = clerk.post("/counter/preview", data=data)
    assert preview.status_code == 200 and "120.00" in preview.text
    idem = re.search(r'name="idem" value="([0-9a-f]+)"', preview.text)
    assert idem
    done = clerk.post("/counter/settle", data=data | {"idem": idem.group(1)}, follow_redirects=False)
    setl_id = done.headers["location"].split("/")[-1].split("?")[0]
    with db.unit_of_work() as s:
        visit = s.get(Visit, mdtrt_id)
        assert visit is not None and visit.status == "settled"
    page = clerk.get(f"/settlements/{setl_id}")
    idem2 = re.search(r'name="idem" value="([0-9a-f]+)"', page.text)
    assert idem2
    r = clerk.post(
        f"/settlements/{setl_id}/reverse", data={"csrf": csrf_of(page.text), "idem": idem2.group(1), "reason": "机构重新上传费用"}
    )
    assert r.status_code == 200 and "已撤销" in r.text
    with db.unit_of_work() as s:
        visit = s.get(Visit, mdtrt_id)
        assert visit is not None and visit.status == "registered"


def test_html_pages_stay_out_of_the_api_schema(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert not [p for p in paths if p in ("/", "/login", "/counter") or p.startswith(("/persons", "/settlements", "/lang"))]


def test_slip_for_a_signed_in_window_and_missing_things(app: FastAPI) -> None:
    clerk = signed_in(app, "clerk")
    setl_id = settle_by_hand(clerk, assisted(app), setl_date="2022-09-01")
    slip = clerk.get(f"/settlements/{setl_id}/slip")
    assert slip.status_code == 200 and "结算单" in slip.text
    pdf = clerk.get(f"/settlements/{setl_id}/slip.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert clerk.get("/settlements/NOPE").status_code == 404
    assert clerk.get("/settlements/NOPE/slip").status_code == 404
    assert clerk.get("/persons/NOBODY").status_code == 404


def test_a_bill_typed_as_fee_lines(app: FastAPI) -> None:
    clerk = signed_in(app, "clerk")
    token = csrf_of(clerk.get("/").text)
    base = {k: v for k, v in BILL.items() if k != "medfee_sumamt"} | {"person": assisted(app), "csrf": token}
    lines = {"fl0_code": "XA01", "fl0_name": "阿莫西林", "fl0_lv": "01", "fl0_amt": "100.50"}
    lines |= {"fl1_code": "XB02", "fl1_lv": "02", "fl1_amt": "200", "fl2_code": "XC03", "fl2_lv": "03", "fl2_amt": "50"}
    r = clerk.post("/counter/preview", data=base | lines)
    assert r.status_code == 200
    assert re.search(r'data-field="medfee_sumamt">.*?350\.50', r.text, re.S)
    assert re.search(r'data-field="fulamt_ownpay_amt">.*?50\.00', r.text, re.S)  # 丙类: fully self-paid
    r = clerk.post("/counter/preview", data=base | {"fl3_amt": "10"})  # an amount without a code
    assert r.status_code == 422 and "请填写目录编码" in r.text and 'value="10"' in r.text
    r = clerk.post("/counter/preview", data=base | lines | {"medfee_sumamt": "350.50"})  # both ways at once
    assert r.status_code == 422 and "请只填写汇总金额或费用明细之一" in r.text
