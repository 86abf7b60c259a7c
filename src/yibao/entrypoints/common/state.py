"""What the app holds for every request: its database and its policy pack."""

from __future__ import annotations

from fastapi import Request

from yibao.policy.pack import PolicyPack
from yibao.store.db import Database


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def pack_of(request: Request) -> PolicyPack:
    pack: PolicyPack = request.app.state.pack
    return pack
