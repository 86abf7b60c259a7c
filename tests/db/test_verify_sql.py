"""``verify`` in SQL against the Python sums it replaced, on SQLite and PostgreSQL: seeded random ledgers
(settlements, back-pays, reversals, each with a random ``consumed``) whose year-to-date rows are the sums, with
differences planted in them (a scalar, a map entry changed, added as 0, left out, a row missing, a row with no
entries, another year in the JSON) and personal-account payments that disagree. The person-years found are exactly
the planted ones, and the whole answer equals the old all-in-Python verification's."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import seeds
from tests.db.random_ledger import Ledger, random_ledger, write
from yibao.app import ledger
from yibao.settlement.model import YearToDate
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, YearToDateRow


def python_verify(session: Session) -> list[dict[str, Any]]:
    """The verification as it was (every entry summed in Python): the oracle."""
    derived: dict[tuple[int, int], YearToDate] = {}
    account: list[dict[str, Any]] = []
    bills: dict[str, list[int]] = {}
    rows = session.execute(
        sa.select(LedgerEntry.person_id, LedgerEntry.year, LedgerEntry.consumed, LedgerEntry.setl_id, LedgerEntry.acct_pay,
                  LedgerEntry.psn_part_amt, LedgerEntry.corrects).order_by(LedgerEntry.id)
    )  # fmt: skip
    for person_id, year, consumed, setl_id, acct_pay, psn_part_amt, corrects in rows:
        key = (person_id, year)
        delta = YearToDate.from_dict(json.loads(consumed))
        derived[key] = derived.get(key, YearToDate(year)).plus(delta)
        bill = bills.setdefault(corrects or setl_id, [0, 0, 0])
        bill[0], bill[1], bill[2] = bill[0] + acct_pay, bill[1] + delta.acct_paid, bill[2] + psn_part_amt
    for setl_id, (acct_pay, acct_paid, psn_part_amt) in bills.items():
        if acct_pay != acct_paid or abs(acct_pay) > abs(psn_part_amt) or acct_pay * psn_part_amt < 0:
            account.append({"setl_id": setl_id, "acct_pay": acct_pay, "consumed_acct_paid": acct_paid,
                            "psn_part_amt": psn_part_amt})  # fmt: skip
    stored = {(r.person_id, r.year): YearToDate.from_dict(json.loads(r.data)) for r in session.scalars(sa.select(YearToDateRow))}
    diffs: list[dict[str, Any]] = []
    for key in sorted(set(derived) | set(stored)):
        a, b = derived.get(key, YearToDate(key[1])), stored.get(key, YearToDate(key[1]))
        if a != b:
            diffs.append({"person_id": key[0], "year": key[1], "ledger": a.to_dict(), "stored": b.to_dict()})
    return diffs + account + ledger.paid_twice(session)


def plant(rng: random.Random, years: dict[tuple[int, int], YearToDate], persons: int) -> set[tuple[int, int]]:
    """Change some stored rows; the person-years that now differ."""
    keys = sorted(years)
    rng.shuffle(keys)
    with_map = [k for k in keys if years[k].basic_paid]
    planted: set[tuple[int, int]] = set()
    k = keys.pop()
    years[k] = replace(years[k], ci_paid=years[k].ci_paid + 1)  # a scalar
    planted.add(k)
    k = with_map.pop()
    first = next(iter(years[k].basic_paid))
    years[k] = replace(years[k], basic_paid=years[k].basic_paid | {first: years[k].basic_paid[first] - 7})  # a map entry
    planted.add(k)
    k = with_map.pop()
    years[k] = replace(years[k], covered_cost=years[k].covered_cost | {"new@M01": 0})  # an entry of 0 the ledger has not
    planted.add(k)
    k = with_map.pop()
    years[k] = replace(years[k], basic_paid={})  # entries left out
    planted.add(k)
    k = next(k for k in keys if years[k] != YearToDate(k[1]) and k not in planted)
    del years[k]  # a row missing
    planted.add(k)
    years[(persons + 5, 2022)] = YearToDate(2022, admissions=2)  # a row without entries
    planted.add((persons + 5, 2022))
    years[(persons + 6, 2022)] = YearToDate(2022)  # all zero without entries: no difference
    k = next(k for k in keys if k in years and k not in planted)
    years[k] = replace(years[k], year=k[1] + 1)  # another year in the JSON
    planted.add(k)
    return planted


def verified(db: Database, led: Ledger) -> list[dict[str, Any]]:
    """``led`` written, then verified in SQL; the answer, checked equal to the Python verification's."""
    with db.engine.begin() as conn:
        write(conn, led)
    with db.unit_of_work() as s:
        got = ledger.verify(s)
        assert got == python_verify(s)
    return got


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_verify_in_sql_finds_the_planted_differences_as_python_did(db: Database, seed: int) -> None:
    led = random_ledger(seed, persons=50)
    planted = plant(random.Random(seed), led.years, len(led.persons))
    extra = [dict(led.persons[0], id=len(led.persons) + n, psn_no=f"Q{n}", certno=f"99{n:016d}") for n in (5, 6)]
    led.persons += extra  # the rows without entries belong to people who exist
    got = verified(db, led)
    years = {(d["person_id"], d["year"]) for d in got if "person_id" in d}
    assert years == planted
    bills = [d for d in got if "acct_pay" in d]
    assert bills  # the generator's disagreeing personal-account payments are named


def test_a_clean_random_ledger_verifies(db: Database) -> None:
    led = random_ledger(11, persons=40)
    for r in led.entries:
        r["acct_pay"] = json.loads(r["consumed"])["acct_paid"]
    got = verified(db, led)
    assert [d for d in got if "person_id" in d] == []
