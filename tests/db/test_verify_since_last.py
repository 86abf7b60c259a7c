"""``yibao verify --since-last`` (:func:`yibao.app.ledger.verify_since_last`), on SQLite and PostgreSQL: the check of
what the ledger rows written since the last clean check touch equals the whole ledger's check cut to those
person-years and bills, on seeded random ledgers with planted differences; the mark moves only past a clean check."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cli import yibao
from tests.conftest import seeds
from tests.db.random_ledger import random_ledger, write
from tests.db.test_verify_sql import plant
from tests.db.test_warnings import settle, settled_file
from yibao.app import ledger
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, YearToDateRow


def _touched(rows: list[dict[str, Any]], since: int) -> tuple[set[tuple[int, int]], set[str]]:
    new = [r for r in rows if r["id"] > since]
    return {(r["person_id"], r["year"]) for r in new}, {r["corrects"] or r["setl_id"] for r in new}


@pytest.mark.parametrize("seed", seeds(0, 1, 2))
def test_the_check_since_a_row_is_the_whole_check_cut_to_what_the_rows_after_it_touch(db: Database, seed: int) -> None:
    led = random_ledger(seed, persons=50)
    planted = plant(random.Random(seed), led.years, len(led.persons))
    led.persons += [dict(led.persons[0], id=len(led.persons) + n, psn_no=f"Q{n}", certno=f"99{n:016d}") for n in (5, 6)]
    with db.engine.begin() as conn:
        write(conn, led)
    rng = random.Random(seed)
    sizes: list[int] = []
    with db.unit_of_work() as s:
        whole = ledger.verify(s)
        for since in sorted(rng.sample(range(1, len(led.entries)), 4)):
            years, bills = _touched(led.entries, since)
            cut = [d for d in whole if "person_id" in d and (d["person_id"], d["year"]) in years] + [
                d for d in whole if "acct_pay" in d and d["setl_id"] in bills
            ]
            assert ledger.verify(s, since) == cut, since
            sizes.append(len(cut))
    assert any(0 < n < len(whole) for n in sizes)  # some checks found a part of the differences
    found = {(d["person_id"], d["year"]) for d in whole if "person_id" in d}
    assert found == planted and any("acct_pay" in d for d in whole)  # the whole check saw every kind of difference


def test_the_mark_moves_only_past_a_clean_check(db: Database) -> None:
    led = random_ledger(3, persons=30)
    for r in led.entries:  # every personal-account payment what was consumed, and the person's whole share
        r["acct_pay"] = r["psn_part_amt"] = json.loads(r["consumed"])["acct_paid"]
    with db.engine.begin() as conn:
        write(conn, led)
    first = ledger.verify_since_last(db.engine)
    assert (first.rows, first.differences) == (len(led.entries), [])
    assert ledger.verify_since_last(db.engine).rows == 0  # nothing new
    settled = next(r for r in led.entries if r["kind"] == "settle")
    with db.engine.begin() as conn:  # one stored row changed with no ledger row, one ledger row its stored row lacks
        other = next(k for k in led.years if k != (settled["person_id"], settled["year"]))
        bumped = json.dumps(led.years[other].to_dict() | {"admissions": led.years[other].admissions + 1})
        yt = YearToDateRow.__table__
        conn.execute(sa.update(yt).where(yt.c.person_id == other[0], yt.c.year == other[1]).values(data=bumped))
        extra = dict(
            settled, id=len(led.entries) + 1, setl_id="S-late", consumed=json.dumps({"year": settled["year"], "admissions": 1})
        )
        conn.execute(sa.insert(LedgerEntry.__table__), [extra])
    late = (settled["person_id"], settled["year"])
    for _ in range(2):  # found again: the mark stayed
        checked = ledger.verify_since_last(db.engine)
        assert checked.rows == 1 and {(d["person_id"], d["year"]) for d in checked.differences if "person_id" in d} == {late}
    with db.unit_of_work() as s:
        assert {(d["person_id"], d["year"]) for d in ledger.verify(s) if "person_id" in d} == {late, other}
    with db.engine.begin() as conn:  # the stored row put right
        row = conn.execute(sa.select(yt.c.data).where(yt.c.person_id == late[0], yt.c.year == late[1])).scalar_one()
        data = json.loads(row)
        data["admissions"] = data.get("admissions", 0) + 1
        conn.execute(sa.update(yt).where(yt.c.person_id == late[0], yt.c.year == late[1]).values(data=json.dumps(data)))
    assert ledger.verify_since_last(db.engine) == ledger.Checked(1, [])
    assert ledger.verify_since_last(db.engine).rows == 0


def test_the_command_says_what_it_checked(tmp_path: Path) -> None:
    """In-process (tests/cli.py): a clean check, then a stored row that lacks a new ledger row's consumption."""
    db, env = settled_file(tmp_path)
    first = yibao("verify", "--since-last", env=env)
    assert first.returncode == 0 and "新写入 1 笔台账记录" in first.stdout, first.stdout + first.stderr
    again = yibao("verify", "--since-last", "--lang", "en", env=env)
    assert again.returncode == 0 and "0 ledger rows written since the last check" in again.stdout
    with db.engine.begin() as conn:  # the stored row changed behind the ledger's back; the next settlement carries it on
        yt = YearToDateRow.__table__
        person, data = conn.execute(sa.select(yt.c.person_id, yt.c.data)).one()
        wrong = json.loads(data) | {"admissions": json.loads(data).get("admissions", 0) + 5}
        conn.execute(sa.update(yt).where(yt.c.person_id == person).values(data=json.dumps(wrong)))
    settle(db, 30_000, "2022-03-14")
    bad = yibao("verify", "--since-last", env=env)
    assert bad.returncode == 1 and "差异" in bad.stderr, bad.stdout + bad.stderr
