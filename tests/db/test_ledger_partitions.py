"""The ledger partitioned by settlement year on PostgreSQL (migration 0316), SQLite's plain ledger unchanged.

On PostgreSQL: the partitions after upgrade, where rows land, ``yibao db partitions`` adding years and moving rows
out of the default partition, the unique keys still refused by the database across years, the year rules, reads of a
month and of a year's report touching one partition (from EXPLAIN), and downgrade and upgrade again keeping the rows.
On both: the three unique keys refused. On SQLite: 0316 changes nothing. The PostgreSQL-only tests are marked
``twin`` with the PostgreSQL runs of the other database tests (the quick command leaves them out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import DB_KINDS, PG_URL, migrated_database, unmigrated_engine
from yibao.app.ledger import verify
from yibao.app.report_sources import ledger_reports
from yibao.entrypoints.cli.main import app as cli_app
from yibao.policy import load_pack
from yibao.settlement.model import YearToDate
from yibao.store import claims
from yibao.store import ledger_partitions as parts
from yibao.store.claims import from_ledger
from yibao.store.db import Database, alembic_config, make_engine
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
PARTITION = re.compile(r" on (ledger_(?:y\d{4}|default))\b")


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated PostgreSQL schema of this test's own."""
    with migrated_database("postgresql", tmp_path, request) as database:
        yield database


def _person(db: Database) -> int:
    with db.unit_of_work() as s:
        p = Person(psn_no="P1", certno="530902196207040026", psn_name="杨桂芳", gend="2", brdy=date(1962, 7, 4),
                   recorded_at=NOW, recorded_by="t")  # fmt: skip
        s.add(p)
        s.commit()
        return p.id


def _row(person_id: int, setl_id: str, day: date, **kw: Any) -> dict[str, Any]:
    """A ledger row of 100 yuan paid by the person (the figures matter to no test here)."""
    row: dict[str, Any] = {
        c.name: 0 if isinstance(c.type, sa.BigInteger) else None for c in LedgerEntry.__table__.c if c.name != "id"
    }
    row |= {"setl_id": setl_id, "kind": "settle", "person_id": person_id, "psn_no": "P1", "year": day.year,
            "setl_date": day, "insutype": "390", "med_type": "11", "line": "outpatient", "identity": "ordinary",
            "pack_id": "anhui-huaibei-2022", "medfee_sumamt": 10_000, "psn_part_amt": 10_000, "major_dise_flag": False,
            "consumed": json.dumps({"year": day.year}), "setldetail": "[]", "fee_results": "[]", "trace": "[]",
            "recorded_at": NOW, "recorded_by": "t"}  # fmt: skip
    return row | kw


def _insert(db: Database, *rows: dict[str, Any]) -> None:
    with db.engine.begin() as conn:
        for row in rows:
            conn.execute(sa.insert(LedgerEntry.__table__), row)


def _where(db: Database) -> dict[str, str]:
    """Each ledger row's partition, by setl_id."""
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT setl_id, tableoid::regclass::text FROM ledger").all()
    return {setl_id: table for setl_id, table in rows}


def _refused(db: Database, row: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError):
        _insert(db, row)


@pytest.mark.twin
def test_upgrade_partitions_the_ledger_by_year(pg: Database) -> None:
    with pg.engine.connect() as conn:
        assert parts.partitioned(conn)
        assert parts.partition_years(conn) == list(range(2015, 2036))
        kinds = dict(
            conn.exec_driver_sql(
                "SELECT relname, relkind FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                "AND relname IN ('ledger', 'ledger_default', 'ledger_y2022', 'ledger_key')"
            ).all()
        )
        indexes = set(
            conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'ledger_y2022'"
            ).scalars()
        )
        key_indexes = set(
            conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'ledger_key'"
            ).scalars()
        )
    assert kinds == {"ledger": "p", "ledger_default": "r", "ledger_y2022": "r", "ledger_key": "r"}
    # every index of the parent is on each partition (PostgreSQL names a partition's copy after its columns)
    columns = {re.sub(r".*USING btree \((.*)\)", r"\1", d) for d in indexes}
    assert columns == {"id, year", "captn_town, setl_date", "corrects", "setl_date", "mdtrt_id", "person_id, year",
                       "setl_id", "reverses", "fixmedins_code, setl_date", "line, setl_date"}  # fmt: skip
    assert key_indexes == {"ledger_key_pkey", "ledger_key_setl_id_year_key", "ux_ledger_reverses", "ux_ledger_visit_seq"}


@pytest.mark.twin
def test_a_row_lands_in_its_years_partition_and_other_years_in_default(pg: Database) -> None:
    pid = _person(pg)
    days = {"S2015": date(2015, 1, 1), "S2022": date(2022, 6, 30), "S2035": date(2035, 12, 31),
            "S2014": date(2014, 12, 31), "S2040": date(2040, 3, 1)}  # fmt: skip
    _insert(pg, *(_row(pid, setl_id, day) for setl_id, day in days.items()))
    assert _where(pg) == {"S2015": "ledger_y2015", "S2022": "ledger_y2022", "S2035": "ledger_y2035",
                          "S2014": "ledger_default", "S2040": "ledger_default"}  # fmt: skip
    with pg.engine.connect() as conn:
        assert parts.default_rows(conn) == {2014: 1, 2040: 1}
        keys = dict(conn.exec_driver_sql("SELECT setl_id, year FROM ledger_key").all())
    assert keys == {setl_id: day.year for setl_id, day in days.items()}  # every row's key, written by the trigger


@pytest.mark.twin
def test_the_command_adds_later_years_and_moves_their_rows_out_of_default(pg: Database) -> None:
    pid = _person(pg)
    _insert(pg, _row(pid, "S2036", date(2036, 2, 1)), _row(pid, "S2037", date(2037, 5, 1)),
            _row(pid, "R2037", date(2037, 5, 1), kind="reverse", reverses="S2037"),
            _row(pid, "S2041", date(2041, 1, 1)))  # fmt: skip
    with pg.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT * FROM ledger ORDER BY id").all()
    env = {"YIBAO_DATABASE_URL": f"{PG_URL}?options=-csearch_path%3D{pg.pg_schema}"}  # type: ignore[attr-defined]
    run = CliRunner().invoke(cli_app, ["db", "partitions", "--through", "2038"], env=env)
    assert run.exit_code == 0, run.output
    assert "已添加 2036 年分区 ledger_y2036（从默认分区移入 1 条记录）" in run.output
    assert "已添加 2037 年分区 ledger_y2037（从默认分区移入 2 条记录）" in run.output
    assert "已添加 2038 年分区 ledger_y2038（从默认分区移入 0 条记录）" in run.output
    assert "默认分区中的记录：2041 年 1 条" in run.output
    assert _where(pg) == {"S2036": "ledger_y2036", "S2037": "ledger_y2037", "R2037": "ledger_y2037",
                          "S2041": "ledger_default"}  # fmt: skip
    with pg.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT * FROM ledger ORDER BY id").all() == before  # the same rows, unchanged
        assert parts.partition_years(conn) == list(range(2015, 2039))
        moved = set(
            conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'ledger_y2037'"
            ).scalars()
        )
        assert len(moved) == 10  # the parent's indexes, built on the attached partition
    # the moved rows' keys still hold: the same setl_id, a second reversal, refused
    _refused(pg, _row(pid, "S2037", date(2022, 1, 1)))
    _refused(pg, _row(pid, "R2", date(2037, 6, 1), kind="reverse", reverses="S2037"))
    _insert(pg, _row(pid, "S2038", date(2038, 1, 1)))
    assert _where(pg)["S2038"] == "ledger_y2038"
    again = CliRunner().invoke(cli_app, ["db", "partitions", "--through", "2038", "--lang", "en"], env=env)
    assert again.exit_code == 0 and "The partitions reach 2038 already; none added." in again.output
    bad = CliRunner().invoke(cli_app, ["db", "partitions", "--through", "20400"], env=env)
    assert bad.exit_code == 2 and "--through" in bad.output and "20400" in bad.output


def test_the_command_on_sqlite_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'y.db'}"
    run = CliRunner().invoke(cli_app, ["db", "partitions", "--through", "2040"], env={"YIBAO_DATABASE_URL": url})
    assert run.exit_code == 0 and "本数据库的结算台账不分区（SQLite），无需操作。" in run.output


@pytest.mark.parametrize("kind", DB_KINDS)
def test_unique_keys_are_refused_by_the_database_across_years(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """setl_id, reverses and (mdtrt_id, visit_seq) stay unique over the whole ledger, not per year's partition."""
    with migrated_database(kind, tmp_path, request) as db:
        pid = _person(db)
        visit = {"mdtrt_id": "M1", "visit_seq": 1}
        _insert(db, _row(pid, "S1", date(2022, 12, 30), **visit), _row(pid, "R1", date(2022, 12, 30), kind="reverse",
                reverses="S1", mdtrt_id="M1"), _row(pid, "S9", date(2023, 1, 2)))  # fmt: skip
        _refused(db, _row(pid, "S1", date(2023, 1, 5)))  # the same setl_id in another year
        _refused(db, _row(pid, "S1", date(2022, 1, 5)))  # and in the same year
        _refused(db, _row(pid, "R2", date(2022, 12, 30), kind="reverse", reverses="S1"))  # reversed twice
        _refused(db, _row(pid, "S2", date(2023, 1, 3), **visit))  # a second "first" settlement of the visit, next year
        _refused(db, _row(pid, "S3", date(2022, 12, 31), **visit))  # and the same year
        _insert(db, _row(pid, "S4", date(2023, 1, 3), mdtrt_id="M1", visit_seq=2))  # its second settlement stands
        with db.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(LedgerEntry.__table__)).scalar_one() == 4


@pytest.mark.twin
def test_the_year_rules_are_the_databases(pg: Database) -> None:
    """The year is the date's; a reversal and a back-pay have the year of what they refer to; keys never change."""
    pid = _person(pg)
    _insert(pg, _row(pid, "S1", date(2022, 12, 30)))
    _refused(pg, _row(pid, "S2", date(2022, 12, 30), year=2023))
    _refused(pg, _row(pid, "R1", date(2023, 1, 2), kind="reverse", reverses="S1"))  # reversal dated in another year
    _refused(pg, _row(pid, "B1", date(2023, 1, 2), kind="backpay", corrects="S1"))
    _refused(pg, _row(pid, "R1", date(2022, 12, 30), kind="reverse", reverses="S-none"))  # reverses nothing
    _insert(pg, _row(pid, "B1", date(2022, 12, 30), kind="backpay", corrects="S1"))
    with pg.engine.begin() as conn:  # a deleted row's keys are free again, as on a plain table
        conn.execute(sa.delete(LedgerEntry).where(LedgerEntry.setl_id == "B1"))
    _insert(pg, _row(pid, "B1", date(2022, 12, 30), kind="backpay", corrects="S1"))
    with pg.engine.begin() as conn:  # a figure may be planted, as tests do
        conn.execute(sa.update(LedgerEntry).where(LedgerEntry.setl_id == "S1").values(recorded_by="planted"))
    for change in ({"setl_id": "S9"}, {"visit_seq": 3}, {"year": 2023, "setl_date": date(2023, 1, 1)}):
        with pytest.raises(DBAPIError, match="append-only"), pg.engine.begin() as conn:
            conn.execute(sa.update(LedgerEntry).where(LedgerEntry.setl_id == "S1").values(**change))


def _ledger_partitions_read(db: Database, work: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The ledger partitions PostgreSQL's plans read for every statement ``work`` sends that reads the ledger
    (EXPLAIN of the statement as sent, with its parameters): through SQLAlchemy, and the query
    :func:`~yibao.store.claims.from_ledger` sends by COPY (recorded on its way, then read as ever)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    read_frame = claims._read

    def read_recorded(session: Session, q: sa.Select[Any]) -> object:
        compiled = q.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
        sent.append((str(compiled), compiled.params))
        return read_frame(session, q)

    monkeypatch.setattr(claims, "_read", read_recorded)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        monkeypatch.undo()
    read: set[str] = set()
    ledger_reads = [(q, p) for q, p in sent if re.search(r"\bledger\b", q) and q.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert ledger_reads
    with db.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for statement, params in ledger_reads:
            cursor.execute("EXPLAIN " + statement, params or None)
            read |= {m.group(1) for (line,) in cursor.fetchall() if (m := PARTITION.search(line))}
    return read


@pytest.mark.twin
def test_a_months_monitoring_read_and_a_years_report_read_one_partition(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = _person(pg)
    _insert(pg, *(_row(pid, f"S{y}", date(y, 6, 15)) for y in (2021, 2022, 2023)),
            _row(pid, "R2022", date(2022, 6, 15), kind="reverse", reverses="S2022"),
            _row(pid, "S2022b", date(2022, 6, 20)),
            _row(pid, "B2022", date(2022, 6, 20), kind="backpay", corrects="S2022b", medfee_sumamt=10_000))  # fmt: skip
    with pg.reading() as s:
        june = from_ledger(s, date(2022, 6, 1), date(2022, 6, 30))
    assert june["setl_id"].to_list() == ["S2022b"]  # S2022 was reversed
    assert june["medfee_sumamt"].to_list() == [20_000]  # with its back-pay's 100 yuan added
    with pg.reading() as s:
        june_read = _ledger_partitions_read(pg, lambda: from_ledger(s, date(2022, 6, 1), date(2022, 6, 30)), monkeypatch)
    assert june_read == {"ledger_y2022"}
    pack = load_pack("anhui-huaibei-2022")
    whole_year = _ledger_partitions_read(
        pg, lambda: ledger_reports(pg, date(2022, 1, 1), date(2022, 12, 31), pack=pack), monkeypatch
    )
    assert whole_year == {"ledger_y2022"}


@pytest.mark.twin
def test_downgrade_restores_the_plain_ledger_and_upgrade_partitions_it_again(tmp_path: Path) -> None:
    with unmigrated_engine("postgresql", tmp_path) as engine:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "heads")
        db = Database(engine)
        pid = _person(db)
        rows = [_row(pid, "S1", date(2022, 3, 1), mdtrt_id="M1", visit_seq=1), _row(pid, "S2", date(2040, 1, 1)),
                _row(pid, "R1", date(2022, 3, 1), kind="reverse", reverses="S1", mdtrt_id="M1")]  # fmt: skip
        _insert(db, *rows)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO year_to_date (person_id, year, data, version) VALUES (:p, 2040, :d, 1)"),
                         {"p": pid, "d": json.dumps(YearToDate(2040).to_dict())})  # fmt: skip
            before = conn.exec_driver_sql("SELECT * FROM ledger ORDER BY id").all()
        command.downgrade(cfg, "0315")
        with engine.connect() as conn:
            assert not parts.partitioned(conn)
            assert conn.exec_driver_sql("SELECT * FROM ledger ORDER BY id").all() == before
            uniques = set(conn.exec_driver_sql("SELECT conname FROM pg_constraint WHERE conrelid = 'ledger'::regclass "
                                               "AND contype IN ('u', 'p')").scalars())  # fmt: skip
            assert uniques == {"ledger_pkey", "ledger_setl_id_key", "ledger_reverses_key"}
            assert conn.exec_driver_sql("SELECT to_regclass('ledger_key'), to_regclass('ledger_y2022')").one() == (None, None)
        _refused(db, _row(pid, "S3", date(2022, 3, 2), mdtrt_id="M1", visit_seq=1))
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            assert parts.partitioned(conn)
            assert conn.exec_driver_sql("SELECT * FROM ledger ORDER BY id").all() == before
        assert _where(db) == {"S1": "ledger_y2022", "S2": "ledger_default", "R1": "ledger_y2022"}
        _insert(db, _row(pid, "S4", date(2022, 3, 3)))  # the id sequence goes on after the copied rows
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT id FROM ledger WHERE setl_id = 'S4'").scalar_one() == 5  # 4: the refused S3
        with db.unit_of_work() as s:
            assert verify(s) == []


def test_0316_changes_nothing_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'y.db'}")
    cfg = alembic_config(engine)

    def schema() -> list[tuple[str, str]]:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE name <> 'alembic_version' ORDER BY name").all()  # type: ignore[return-value]

    try:
        command.upgrade(cfg, "0315")
        before = schema()
        command.upgrade(cfg, "0316")
        assert schema() == before
        command.downgrade(cfg, "0315")
        assert schema() == before
    finally:
        engine.dispose()
