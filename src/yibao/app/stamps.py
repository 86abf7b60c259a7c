"""Every registry write stamped with who recorded it and when (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from yibao.store.tables import (
    ChronicFiling,
    CrossFiling,
    FamilyDoctorContract,
    InstitutionChoice,
    Person,
    PersonalAccount,
    ResidentTier,
    ScreeningRecord,
)


def now() -> datetime:
    return datetime.now(UTC)


Recorded = TypeVar(
    "Recorded",
    Person,
    ChronicFiling,
    CrossFiling,
    ResidentTier,
    InstitutionChoice,
    FamilyDoctorContract,
    PersonalAccount,
    ScreeningRecord,
)
"""Rows :func:`recorded` stamps."""


def recorded(session: Session, row: Recorded, user: str) -> Recorded:
    """``row`` stamped with who recorded it and when, added and flushed (so it has its id)."""
    row.recorded_at, row.recorded_by = now(), user
    session.add(row)
    session.flush()
    return row
