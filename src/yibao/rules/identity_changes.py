"""The identity-import change rule: what one row of a bureau's file does to the records already held.

Identities are never overwritten. For one row (a person, a category, the importing bureau, the
row's period ``valid_from .. valid_to``) and the records the registry holds for the same person,
category and bureau (void records, ending before they start, left out):

=========================================================  ==============================================
what is held                                               :func:`classify` says
=========================================================  ==============================================
a record with the row's start and the row's end            ``unchanged``: nothing to do
an open record with the row's start, the row has an end    ``ended``: that record ends on the row's end
records overlapping the row's period, other dates          ``changed``: each ends the day before the row's
                                                           start (one starting on or after it becomes void),
                                                           and a new record with the row's dates
nothing overlapping the row's period                       ``added``: a new record with the row's dates
=========================================================  ==============================================

A re-certification (the same category from a new start date) is a ``changed``; a change of
category is an ``added`` of the new category (the old one ends when a complete roster leaves it
out). Applying a change and classifying the same row again gives ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

ChangeKind = Literal["unchanged", "ended", "changed", "added"]
KINDS: tuple[ChangeKind, ...] = ("unchanged", "ended", "changed", "added")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Held:
    """A record the registry holds for the row's person, category and bureau."""

    id: int
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class Change:
    """What a row does: its kind, the held records to end (id, new ``valid_to``), and whether a record is added."""

    kind: ChangeKind
    ends: tuple[tuple[int, date], ...] = ()
    insert: bool = False


def overlaps(held: Held, valid_from: date, valid_to: date | None) -> bool:
    """Whether a held record and the period ``valid_from .. valid_to`` (``None``: open) share a day."""
    return (valid_to is None or held.valid_from <= valid_to) and (held.valid_to is None or held.valid_to >= valid_from)


def classify(held: Sequence[Held], valid_from: date, valid_to: date | None) -> Change:
    """The change one row makes to ``held`` (non-void records, in the order they were recorded); see the module doc."""
    same_start = next((h for h in held if h.valid_from == valid_from), None)
    if same_start is not None and same_start.valid_to == valid_to:
        return Change("unchanged")
    if same_start is not None and same_start.valid_to is None and valid_to is not None:
        return Change("ended", ((same_start.id, valid_to),))
    hit = [h for h in held if overlaps(h, valid_from, valid_to)]
    if hit:
        return Change("changed", tuple((h.id, valid_from - ONE_DAY) for h in hit), insert=True)
    return Change("added", insert=True)
