from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from tests.conftest import DB_KINDS, unmigrated_engine
from yibao.app.ledger import verify as ledger_verify
from yibao.core.idcard import check_digit, mask, parse_certno
from yibao.settlement.model import YearToDate
from yibao.store import claims_cube_tables, monitoring_tables, service_tables  # noqa: F401  (register every table)
from yibao.store.db import Database, alembic_config
from yibao.store.ledger_partitions import include_object
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Base, Identity, Person


def test_migrations_create_every_table(db: Database) -> None:
    names = set(sa.inspect(db.engine).get_table_names())
    assert {
        "person",
        "identity",
        "import_batch",
        "conflict",
        "chronic_filing",
        "cross_filing",
        "enrolment",
        "personal_account",
    } <= names


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


def _compare(conn: sa.Connection) -> list[object]:
    """What autogenerate would add or drop; on PostgreSQL, not the partitioned ledger's own objects (checked in
    ``test_ledger_partitions``)."""
    opts = {"compare_type": True, "include_object": include_object(conn.dialect.name)}
    return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


def test_migrations_match_the_models(db: Database) -> None:
    """Alembic's autogenerate finds nothing to add: the migrations build exactly the tables the models declare."""
    with db.engine.connect() as conn:
        assert _compare(conn) == []


@pytest.mark.parametrize("kind", DB_KINDS)
def test_migration_0302_gives_older_ledger_rows_no_account_payment(kind: str, tmp_path: Path) -> None:
    """A ledger written before 0302 keeps its rows: each has ``acct_pay`` 0 after it, and still verifies; down and up
    again leaves the schema as the models declare."""
    with unmigrated_engine(kind, tmp_path) as engine:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "0301")
        now = datetime.now(UTC)
        later = ("acct_pay", "corrects", "dise_codg", "dise_name", "major_dise_flag", "captn_pay", "captn_town")  # later columns
        ledger = {c.name: c for c in LedgerEntry.__table__.c if c.name not in ("id", *later)}
        row: dict[str, object] = {
            name: 0 if isinstance(c.type, sa.BigInteger) else "[]" if isinstance(c.type, sa.Text) else None
            for name, c in ledger.items()
        }
        row |= {"setl_id": "S1", "kind": "settle", "person_id": 1, "psn_no": "P1", "year": 2022, "setl_date": date(2022, 3, 1),
                "insutype": "390", "med_type": "21", "line": "inpatient", "identity": "ordinary", "pack_id": "p",
                "medfee_sumamt": 100_000, "psn_part_amt": 100_000, "consumed": json.dumps({"year": 2022, "admissions": 1}),
                "recorded_at": now, "recorded_by": "old"}  # fmt: skip
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO person (id, psn_no, certno, psn_name, gend, brdy, insutype, recorded_at, recorded_by) "
                        "VALUES (1, 'P1', '530902196207040026', '杨桂芳', '2', :brdy, '390', :now, 'old')"),
                {"brdy": date(1962, 7, 4), "now": now},
            )  # fmt: skip
            conn.execute(sa.text(f"INSERT INTO ledger ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)
            conn.execute(
                sa.text("INSERT INTO year_to_date (person_id, year, data, version) VALUES (1, 2022, :data, 1)"),
                {"data": json.dumps(YearToDate(2022, admissions=1).to_dict())},
            )
        command.upgrade(cfg, "heads")
        with Session(engine) as s:
            assert s.scalar(sa.select(LedgerEntry.acct_pay).where(LedgerEntry.setl_id == "S1")) == 0
            assert ledger_verify(s) == []
        command.downgrade(cfg, "0301")
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            assert _compare(conn) == []
