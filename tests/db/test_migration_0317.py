"""Migration 0317: the ledger's ids 64-bit on PostgreSQL (the partitioned parent, every partition, the sequence), an
id past the 32-bit range written and read back; ``ix_person_hh_no`` on both databases; downgrade reverses both."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import DB_KINDS, unmigrated_engine
from tests.db.test_ledger_partitions import _insert, _person, _row
from yibao.store.db import Database, alembic_config

PAST_32_BITS = 3_000_000_000


def _id_types(conn: sa.Connection) -> dict[str, str]:
    """``id``'s type in the ledger, its default partition and the 2022 partition, and the type of ``ledger_id_seq``."""
    types = dict(
        conn.exec_driver_sql(
            "SELECT table_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND column_name = 'id' AND table_name IN ('ledger', 'ledger_default', 'ledger_y2022')"
        ).all()
    )
    sequence = conn.exec_driver_sql(
        "SELECT data_type FROM information_schema.sequences WHERE sequence_schema = current_schema() "
        "AND sequence_name = 'ledger_id_seq'"
    ).scalar_one()
    return types | {"ledger_id_seq": sequence}


def _has_hh_no_index(conn: sa.Connection) -> bool:
    return "ix_person_hh_no" in {ix["name"] for ix in sa.inspect(conn).get_indexes("person")}


@pytest.mark.twin
def test_ledger_ids_are_64_bit_on_postgresql_and_downgrade_makes_them_32_bit_again(tmp_path: Path) -> None:
    with unmigrated_engine("postgresql", tmp_path) as engine:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            assert _id_types(conn) == dict.fromkeys(("ledger", "ledger_default", "ledger_y2022", "ledger_id_seq"), "bigint")
            assert _has_hh_no_index(conn)
        db = Database(engine)
        pid = _person(db)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT setval('ledger_id_seq', {PAST_32_BITS})")
        _insert(db, _row(pid, "S1", date(2022, 3, 1)), _row(pid, "S2", date(2040, 1, 1)))
        with engine.connect() as conn:
            ids = dict(conn.exec_driver_sql("SELECT setl_id, id FROM ledger").all())
        assert ids == {"S1": PAST_32_BITS + 1, "S2": PAST_32_BITS + 2}
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM ledger")
            conn.exec_driver_sql("SELECT setval('ledger_id_seq', 1)")
        command.downgrade(cfg, "0316")
        with engine.connect() as conn:
            assert _id_types(conn) == dict.fromkeys(("ledger", "ledger_default", "ledger_y2022", "ledger_id_seq"), "integer")
            assert not _has_hh_no_index(conn)


@pytest.mark.parametrize("kind", DB_KINDS)
def test_the_household_index_comes_and_goes(kind: str, tmp_path: Path) -> None:
    with unmigrated_engine(kind, tmp_path) as engine:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "0316")
        with engine.connect() as conn:
            assert not _has_hh_no_index(conn)
        command.upgrade(cfg, "0317")
        with engine.connect() as conn:
            assert _has_hh_no_index(conn)
        command.downgrade(cfg, "0316")
        with engine.connect() as conn:
            assert not _has_hh_no_index(conn)


def _ledger_sql(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ledger'").scalar_one())


def test_0317_leaves_sqlites_ledger_as_it_was(tmp_path: Path) -> None:
    """SQLite's ``INTEGER PRIMARY KEY`` is 64-bit already: 0317 changes only ``person``'s indexes there."""
    with unmigrated_engine("sqlite", tmp_path) as engine:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "0316")
        before = _ledger_sql(engine)
        command.upgrade(cfg, "0317")
        assert _ledger_sql(engine) == before
        db = Database(engine)
        pid = _person(db)
        _insert(db, _row(pid, "S1", date(2022, 3, 1), id=PAST_32_BITS), _row(pid, "S2", date(2022, 3, 2)))
        with engine.connect() as conn:
            ids = dict(conn.exec_driver_sql("SELECT setl_id, id FROM ledger").all())
        assert ids == {"S1": PAST_32_BITS, "S2": PAST_32_BITS + 1}
