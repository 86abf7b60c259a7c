"""The app's database and policy pack for page handlers, and the day the window works on."""

from __future__ import annotations

from datetime import date

from fastapi import Request

from yibao.policy.pack import PolicyPack
from yibao.store.db import Database


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def pack_of(request: Request) -> PolicyPack:
    pack: PolicyPack = request.app.state.pack
    return pack


def policy_day(pack: PolicyPack, today: date | None = None) -> date:
    """Today when the pack covers it, else the nearest day it covers (the demo pack is for 2022)."""
    day = today or date.today()
    if day < pack.valid_from:
        return pack.valid_from
    if pack.valid_to is not None and day > pack.valid_to:
        return pack.valid_to
    return day
