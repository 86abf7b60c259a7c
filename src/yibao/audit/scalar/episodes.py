"""episodes rules (scalar form): filled in by the family's author."""

from __future__ import annotations

from typing import Any

RULES: dict[str, Any] = {}
