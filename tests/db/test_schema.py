from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from yibao.core.idcard import check_digit, mask, parse_certno
from yibao.store.db import Database
from yibao.store.tables import Identity, Person


def test_migrations_create_every_table(db: Database) -> None:
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"person", "identity", "import_batch", "conflict", "chronic_filing", "cross_filing", "enrolment"} <= names


def test_unit_of_work_rolls_back_everything_on_error(db: Database) -> None:
    now = datetime.now(UTC)
    base = "53090219900101123"
    certno = base + check_digit(base)
    try:
        with db.unit_of_work() as s:
            p = Person(
                psn_no="P1", certno=certno, psn_name="张三", gend="1", brdy=date(1990, 1, 1), recorded_at=now, recorded_by="t"
            )
            s.add(p)
            s.flush()
            s.add(
                Identity(
                    person_id=p.id,
                    category="dibao",
                    valid_from=date(2022, 1, 1),
                    source_bureau="民政",
                    recorded_at=now,
                    recorded_by="t",
                )
            )
            s.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Identity)) == 0


def test_id_number_check_digit_and_mask() -> None:
    base = "11010519491231002"
    ok = base + check_digit(base)
    assert ok == "11010519491231002X"  # the GB 11643 example number
    parsed = parse_certno(ok.lower())
    assert (parsed.brdy, parsed.gend) == (date(1949, 12, 31), "2")
    assert mask(ok) == "110105********002X"


def test_migrations_match_the_models(db: Database) -> None:
    """Alembic's autogenerate finds nothing to add: the migrations build exactly the tables the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from yibao.store import monitoring_tables, service_tables  # noqa: F401  (register every table)
    from yibao.store.tables import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
