"""What the app holds for every request: its database, its policy pack and its limits."""

from __future__ import annotations

from fastapi import Request

from yibao.core.settings import Limits
from yibao.interfaces.workbooks.sheets import SheetLimits
from yibao.policy.pack import PolicyPack
from yibao.store.db import Database


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def pack_of(request: Request) -> PolicyPack:
    pack: PolicyPack = request.app.state.pack
    return pack


def limits_of(request: Request) -> Limits:
    """How much one request may ask (:class:`yibao.core.settings.Limits`): the app's, else the environment's."""
    limits: Limits | None = getattr(request.app.state, "limits", None)
    if limits is None:
        limits = request.app.state.limits = Limits.from_env()
    return limits


def sheet_limits(request: Request) -> SheetLimits:
    """The most one sheet of an uploaded workbook may hold (:func:`limits_of`)."""
    limits = limits_of(request)
    return SheetLimits(rows=limits.upload_rows, cells=limits.upload_cells)
