"""Which identity decides, in the database: the rule of :func:`yibao.policy.deciding.deciding_on` as one query.

Of the identities held on the day (both ends inclusive, a null ``valid_to`` open), each within the pack's
``identity_validity`` — recognised on or after :func:`yibao.policy.deciding.earliest_recognised` — the category the
pack's ``identity_priority`` ranks highest decides; people holding none of the ranked categories are absent
(ordinary). ``tests/db/test_people_cube.py`` holds the query equal to the frame rule on random registries (month
ends, validity cuts, open and closed identities) on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from yibao.policy.deciding import earliest_recognised, identity_ranks
from yibao.store.tables import Identity


def deciding_ranks(day: date, priority: Sequence[str], validity: Mapping[str, int] | None = None) -> sa.Select[int, Any]:
    """``(person_id, rank)``: per person holding a ranked identity on ``day``, the rank of the deciding one (0 is
    ``priority[0]``; :func:`yibao.policy.deciding.identity_ranks`)."""
    ranks = identity_ranks(priority)
    if not ranks:
        return sa.select(Identity.person_id, sa.literal(0).label("rank")).where(sa.false())
    validity = validity or {}
    ranked = [
        sa.and_(Identity.category == c, Identity.valid_from >= earliest_recognised(day, validity[c]))
        if c in validity
        else Identity.category == c
        for c in ranks
    ]
    rank = sa.case({c: r for c, r in ranks.items()}, value=Identity.category)
    return (
        sa.select(Identity.person_id, sa.func.min(rank).label("rank"))
        .where(
            Identity.valid_from <= day,
            sa.or_(Identity.valid_to.is_(None), Identity.valid_to >= day),
            sa.or_(*ranked),
        )
        .group_by(Identity.person_id)
    )


def category_of(rank: sa.ColumnElement[Any], priority: Sequence[str], otherwise: str) -> sa.ColumnElement[str]:
    """The category of a :func:`deciding_ranks` rank (``otherwise`` where there is none: ordinary)."""
    if not priority:
        return sa.literal(otherwise, sa.String)
    return sa.case({r: c for c, r in identity_ranks(priority).items()}, value=rank, else_=otherwise)
