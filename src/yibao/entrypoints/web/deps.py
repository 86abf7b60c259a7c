"""The app's database and policy pack for page handlers (from
:mod:`yibao.entrypoints.common.state`), and the day the window works on."""

from __future__ import annotations

from datetime import date

from yibao.entrypoints.common.state import db_of, pack_of
from yibao.policy.pack import PolicyPack

__all__ = ["db_of", "pack_of", "policy_day"]


def policy_day(pack: PolicyPack, today: date | None = None) -> date:
    """Today when the pack covers it, else the nearest day it covers (the demo pack is for 2022)."""
    day = today or date.today()
    if day < pack.valid_from:
        return pack.valid_from
    if pack.valid_to is not None and day > pack.valid_to:
        return pack.valid_to
    return day
