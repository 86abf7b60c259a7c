"""The unit of work writes only what is committed explicitly (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.core.idcard import check_digit
from yibao.store.db import Database
from yibao.store.service_tables import Institution
from yibao.store.tables import Person

NOW = datetime.now(UTC)


def _person(n: int) -> Person:
    base = f"530902199001{n:05d}"
    return Person(
        psn_no=f"P{n}",
        certno=base + check_digit(base),
        psn_name="张三",
        gend="1",
        brdy=date(1990, 1, 1),
        recorded_at=NOW,
        recorded_by="t",
    )


def _people(db: Database) -> list[str]:
    with db.unit_of_work() as s:
        return list(s.scalars(sa.select(Person.psn_no).order_by(Person.psn_no)))


def test_without_a_commit_nothing_is_written(db: Database) -> None:
    with db.unit_of_work() as s:
        s.add_all([_person(1), _person(2)])
        s.flush()
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 2  # visible inside, until the block ends
    assert _people(db) == []


def test_a_commit_writes_what_came_before_it_only(db: Database) -> None:
    with db.unit_of_work() as s:
        s.add(_person(1))
        s.commit()
        s.add(_person(2))
        s.flush()
    assert _people(db) == ["P1"]


def test_an_exception_after_a_commit_keeps_the_committed_part_only(db: Database) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        s.add(_person(1))
        s.commit()
        s.add(_person(2))
        s.flush()
        raise RuntimeError("boom")
    assert _people(db) == ["P1"]


def test_what_was_read_stays_readable_after_the_block(db: Database) -> None:
    with db.unit_of_work() as s:
        s.add(Institution(fixmedins_code="H1", fixmedins_name="临翔区人民医院", hosp_lv=2, place="in_county", admdvs="530902"))
        s.commit()
    with db.unit_of_work() as s:
        inst = s.get(Institution, "H1")
    assert inst is not None and (inst.fixmedins_name, inst.hosp_lv) == ("临翔区人民医院", 2)  # no rollback expired it


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_only_committed_units_are_kept(db: Database, plan: list[tuple[bool, bool]]) -> None:
    """Units that commit (and do not fail before committing) are kept, whatever the others did."""
    with db.unit_of_work() as s:
        s.execute(sa.delete(Person))
        s.commit()
    kept = []
    for n, (commit, fail) in enumerate(plan, start=1):
        try:
            with db.unit_of_work() as s:
                s.add(_person(n))
                s.flush()
                if fail:
                    raise RuntimeError("boom")
                if commit:
                    s.commit()
                    kept.append(f"P{n}")
        except RuntimeError:
            pass
    assert _people(db) == sorted(kept)
