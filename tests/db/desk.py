"""Shared by the auditor desk's tests: the small audit pack they run (``audit_desk_pack.yaml``), a workbook built
cell by cell, and signing in to the window."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.accounts import PASSWORD
from yibao.app.audit_pack import AUDIT_PACK_ENV

DESK_PACK = Path(__file__).parent / "audit_desk_pack.yaml"


@pytest.fixture
def desk_pack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The audit pack in force is the desk's test pack."""
    monkeypatch.setenv(AUDIT_PACK_ENV, str(DESK_PACK))
    yield DESK_PACK


def workbook(path: Path, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> Path:
    """A workbook with one sheet per entry, its rows as given (the first is usually the header)."""
    wb = Workbook()
    first = True
    for title, rows in sheets.items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = title
        first = False
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


def bearer(app: FastAPI, user: str) -> dict[str, str]:
    r = TestClient(app).post("/api/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
