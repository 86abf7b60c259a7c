"""``/docs`` and ``/redoc`` work without the internet: their pages name no other host, every file they load is
served here (200, the right type), and their security policy allows nothing from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from yibao.entrypoints.http import create_app
from yibao.store.db import Database

TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('docs') / 'docs.db'}")
    yield TestClient(create_app(db))
    db.engine.dispose()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_loads_nothing_from_another_host(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200
    assert not re.search(r"https?://", r.text), re.findall(r"https?://\S+", r.text)
    assert "http" not in r.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 1000, asset
        assert TYPES[Path(asset).suffix] in got.headers["content-type"], asset
    assert client.get("/openapi.json").json()["info"]["title"] == "yibao 医保"
