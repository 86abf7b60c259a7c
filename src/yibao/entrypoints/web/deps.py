"""The app's database, policy pack and limits for page handlers (from
:mod:`yibao.entrypoints.common.state`), and the day the window works on
(:func:`yibao.policy.in_force.covered_day`: today, or the nearest day the pack covers)."""

from __future__ import annotations

from yibao.entrypoints.common.state import db_of, limits_of, pack_of, sheet_limits
from yibao.policy.in_force import covered_day as policy_day

__all__ = ["db_of", "limits_of", "pack_of", "policy_day", "sheet_limits"]
