"""Which pack is in force: the one place that answers it (pure).

* :func:`configured_pack` — the pack the configuration names (``YIBAO_POLICY``, see
  :mod:`yibao.core.settings`): what a new settlement is priced with.
* :func:`pack_in_force` — for records already priced: the pack the database recorded (the
  enrolments' or ledger's ``pack_id``, most used first) when it can be loaded, else the configured
  pack given, else none.
* :func:`policy_or_first` — a pack's policy on a day, or on its first day (for identity orders and
  labels of a period the pack may not cover).
* :func:`covered_day` — a day, or the nearest day a pack covers (the demo pack is for 2022; the
  window works on it today).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import date

from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, InputErrors
from yibao.core.settings import policy_name
from yibao.policy.pack import PolicyPack, load_pack
from yibao.policy.schema import Policy


def configured_pack(name: str | None = None) -> PolicyPack:
    """The pack named ``name``, else the configured one; ``InputErrors`` naming the pack when there is none such."""
    return load_pack(name or policy_name())


def pack_in_force(recorded: Iterable[str | None], configured: PolicyPack | None = None) -> PolicyPack | None:
    """The first of the ``recorded`` pack ids that loads (``configured`` itself when it has that id), else ``configured``."""
    for pack_id in recorded:
        if not pack_id:
            continue
        if configured is not None and pack_id == configured.pack_id:
            return configured
        with suppress(InputError, InputErrors):
            return load_pack(pack_id)
    return configured


def covered_day(pack: PolicyPack, day: date | None = None) -> date:
    """``day`` (default today) when the pack covers it, else the nearest day it covers."""
    day = day or beijing_today()
    if day < pack.valid_from:
        return pack.valid_from
    if pack.valid_to is not None and day > pack.valid_to:
        return pack.valid_to
    return day


def policy_or_first(pack: PolicyPack, day: date) -> Policy:
    """The pack's policy on ``day``, or on its first day when it does not cover ``day`` (labels and orders only)."""
    return pack.at(day if pack.covers(day) else pack.valid_from)
