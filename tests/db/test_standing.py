"""The settlements that count (:func:`yibao.store.claims.standing`, in SQL) against the rule written out over the rows
in Python, on SQLite and PostgreSQL.

Seeded random ledgers (:mod:`tests.db.random_ledger`: settlements over a year and the December before, reversals,
back-pays — several per settlement, under new identities, some reversed with their settlement) are read for periods
inside a year and across two. The rule: a settlement dated in the period stands unless a reversal names it; its
amounts are its own plus its back-pays'; its identity is that of the latest row correcting it (the highest id), else
its own. The other differential tests compare two readers of the same SQL; this one holds the SQL itself.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import seeds
from tests.db.random_ledger import random_ledger, write
from yibao.rules.claims import AMOUNTS
from yibao.store.claims import standing
from yibao.store.db import Database

PERIODS = (
    (date(2022, 1, 1), date(2022, 12, 31)),
    (date(2022, 3, 1), date(2022, 5, 31)),
    (date(2021, 12, 1), date(2022, 2, 28)),
)


def by_rule(entries: list[dict[str, Any]], start: date, end: date) -> dict[int, tuple[Any, ...]]:
    """Per standing settlement's id: its identity and amounts, by the rule (see the module's note)."""
    undone = {r["reverses"] for r in entries if r["kind"] == "reverse"}
    fixes: dict[str, list[dict[str, Any]]] = {}
    for r in entries:
        if r["corrects"] is not None:
            fixes.setdefault(r["corrects"], []).append(r)
    out: dict[int, tuple[Any, ...]] = {}
    for r in entries:
        if r["kind"] != "settle" or not start <= r["setl_date"] <= end or r["setl_id"] in undone:
            continue
        mine = fixes.get(r["setl_id"], [])
        identity = max(mine, key=lambda f: f["id"])["identity"] if mine else r["identity"]
        backpays = [f for f in mine if f["kind"] == "backpay"]
        out[r["id"]] = (identity, *(r[a] + sum(f[a] for f in backpays) for a in AMOUNTS))
    return out


def in_sql(db: Database, start: date, end: date) -> dict[int, tuple[Any, ...]]:
    rows = standing(start, end).subquery("standing")
    with db.engine.connect() as conn:
        found = conn.execute(sa.select(rows.c.id, rows.c.identity, *(rows.c[a] for a in AMOUNTS)))
        return {r[0]: tuple(r[1:]) for r in found}


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_the_standing_settlements_in_sql_are_the_rules(db: Database, seed: int) -> None:
    led = random_ledger(seed, persons=80)
    with db.engine.begin() as conn:
        write(conn, led)
    kinds = {r["kind"] for r in led.entries}
    corrected = {r["corrects"] for r in led.entries if r["corrects"]}
    undone = {r["reverses"] for r in led.entries if r["reverses"]}
    assert kinds == {"settle", "reverse", "backpay"} and corrected & undone and corrected - undone  # the cases are there
    for start, end in PERIODS:
        expected = by_rule(led.entries, start, end)
        assert expected, (start, end)
        assert in_sql(db, start, end) == expected, (start, end)
