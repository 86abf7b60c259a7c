"""Accounts for every role, and signing in over HTTP."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

from yibao.app.auth import create_account
from yibao.store.db import Database
from yibao.store.service_tables import Institution

PASSWORD = "correct horse 8"
ROLES = ("clerk", "auditor", "monitoring", "analyst", "admin")
HOSPITAL = "H53090200001"
OTHER_HOSPITAL = "H53090200002"


def seed_accounts(db: Database, institutions: bool = True) -> None:
    """An account per role and two hospitals' accounts; the two hospitals too unless the database has them already
    (``institutions=False``)."""
    with db.unit_of_work() as s:
        if institutions:
            s.add_all(
                [
                    Institution(
                        fixmedins_code=HOSPITAL, fixmedins_name="临翔区人民医院", hosp_lv=2, place="in_county", admdvs="530902"
                    ),
                    Institution(
                        fixmedins_code=OTHER_HOSPITAL, fixmedins_name="忙畔卫生院", hosp_lv=1, place="in_county", admdvs="530902"
                    ),
                ]
            )
            s.flush()
        for role in ROLES:
            create_account(s, role, PASSWORD, role, "test")
        create_account(s, "his", PASSWORD, "institution", "test", fixmedins_code=HOSPITAL)
        create_account(s, "his2", PASSWORD, "institution", "test", fixmedins_code=OTHER_HOSPITAL)
        s.commit()


def login(url: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = httpx.post(f"{url}/api/auth/token", data={"username": username, "password": password}, timeout=60)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def csrf_of(html: str) -> str:
    """The CSRF token of a window page's form."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def signed_in(app: ASGIApp, user: str, password: str = PASSWORD) -> TestClient:
    """A window session of ``user``: a fresh client of ``app`` signed in through the login form."""
    client = TestClient(app)
    form = client.get("/login").text
    r = client.post("/login", data={"username": user, "password": password, "csrf": csrf_of(form)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client
