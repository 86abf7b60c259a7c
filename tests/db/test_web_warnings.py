"""The monitoring, imports and what-if pages without a browser: every POST needs a session and the form's CSRF
token, each is refused to roles without its permission, and an import's preview is a dry run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.browser.conftest import DEMO_PERSONS
from tests.browser.test_access import csrf_of, signed_in
from yibao.app.demo import ensure_demo
from yibao.app.imports import import_identities
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.tables import Identity, ImportBatch, Person

BAD = Path(__file__).resolve().parents[2] / "examples" / "workbooks" / "minzheng-bad.xlsx"
POSTS = {
    "/warnings/run": ("warnings.work", {"run_period": "2022-06"}),
    "/warnings/push": ("warnings.work", {"ids": "1", "bureau": "civil_affairs"}),
    "/warnings/import": ("warnings.work", {}),
    "/warnings/1/step": ("warnings.work", {"to": "closed", "close_note": "x"}),
    "/imports/preview": ("imports", {"source": "民政"}),
    "/imports/0123456789abcdef0123456789abcdef/confirm": ("imports", {}),
    "/whatif/run": ("policy.whatif", {"persons": "10", "seed": "1", "ci_deductible": "1"}),
}
HOLDERS = {"warnings.work": "monitor", "imports": "clerk", "policy.whatif": "analyst"}
USERS = ("clerk", "auditor", "monitor", "analyst", "admin")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path = tmp_path_factory.mktemp("web-warnings") / "web.db"
    db = Database.open(f"sqlite:///{path}")
    ensure_demo(db, persons=DEMO_PERSONS)
    yield create_app(db)
    db.engine.dispose()


@pytest.fixture(scope="module")
def clients(app: FastAPI) -> dict[str, tuple[TestClient, str]]:
    """Each demo user signed in once: (client, the session's CSRF token)."""
    out = {}
    for user in USERS:
        client = signed_in(app, user)
        out[user] = (client, csrf_of(client.get("/").text))
    return out


def test_strangers_are_sent_to_sign_in(app: FastAPI) -> None:
    client = TestClient(app)
    for path, (_, form) in POSTS.items():
        r = client.post(path, data={"csrf": "x", **form}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    for path in ("/warnings", "/warnings/1", "/imports", "/policy", "/whatif"):
        assert client.get(path, follow_redirects=False).status_code == 303, path


@pytest.mark.parametrize("path", list(POSTS))
def test_posts_need_the_permission_and_the_csrf_token(clients: dict[str, tuple[TestClient, str]], path: str) -> None:
    permission, form = POSTS[path]
    holder, _ = clients[HOLDERS[permission]]
    for bad in ({}, {"csrf": "0" * 64}):
        r = holder.post(path, data={**form, **bad})
        assert r.status_code == 403 and "表单已失效" in r.text, (path, bad)
    for user in USERS:
        client, token = clients[user]
        r = client.post(path, data={"csrf": token, **form}, follow_redirects=False)
        allowed = user == HOLDERS[permission] or (user == "admin" and permission in ("imports", "policy.whatif"))
        assert (r.status_code != 403) if allowed else (r.status_code == 403 and "无权" in r.text), (path, user)


def test_an_import_preview_writes_nothing(app: FastAPI, tmp_path: Path) -> None:
    db: Database = app.state.db

    def counts() -> list[int]:
        with db.unit_of_work() as s:
            return [int(s.scalar(sa.select(sa.func.count()).select_from(t)) or 0) for t in (Person, Identity, ImportBatch)]

    before = counts()
    path = Path(shutil.copy(BAD, tmp_path / BAD.name))
    report = import_identities(db, path, "民政", skip_bad=True, dry_run=True, out_dir=tmp_path)
    assert report.status == "dry_run" and report.batch_id is None and report.identities_added > 0
    assert counts() == before
    assert (tmp_path / "minzheng-bad.rejects.xlsx").is_file()
    done = import_identities(db, path, "民政", skip_bad=True, out_dir=tmp_path)
    assert done.status == "imported" and done.identities_added == report.identities_added
    assert counts() == [before[0] + report.people_new, before[1] + report.identities_added, before[2] + 1]
