"""The settlement ledger partitioned by settlement year on PostgreSQL (migration 0316); SQLite keeps one plain table.

On PostgreSQL ``ledger`` is ``PARTITION BY RANGE (year)``: one partition per year (``ledger_y2022`` holds the rows
whose ``year`` is 2022), created by the migration for :data:`FIRST_YEAR` .. :data:`LAST_YEAR`, and a default
partition (``ledger_default``) that takes any other year, so that no settlement is ever refused for its year.
:func:`add_partitions` (``yibao db partitions --through 2040``) adds later years, moving any rows of those years out
of the default partition.

What a partitioned table cannot hold (a unique key without the year) is kept in ``ledger_key``, a plain table one
row per ledger row, written by a trigger in the same statement as the row: ``setl_id`` unique (and referred to by
``assistance_application``), ``reverses`` unique, ``(mdtrt_id, visit_seq)`` unique (``ux_ledger_visit_seq``).
``ledger.year`` is the year of ``setl_date`` (a CHECK), and a reversal or a back-pay has the year of the entry it
refers to (foreign keys ``(reverses, year)`` and ``(corrects, year)`` to ``ledger_key``), so a read of a period may
name its years (:func:`in_years`) and touch only their partitions without losing a reversal or a correction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import InstrumentedAttribute

FIRST_YEAR = 2015
"""The first year the migration gives a partition of its own."""
LAST_YEAR = 2035
"""The last year the migration gives a partition of its own (later years: :func:`add_partitions`)."""
DEFAULT_PARTITION = "ledger_default"
KEY_TABLE = "ledger_key"
MAX_YEAR = 2200
"""The latest year :func:`add_partitions` accepts (a typo such as 20400 is refused, not 18,000 tables made)."""

_PARTITION = re.compile(r"^ledger_y(\d{4})$")


def partition_name(year: int) -> str:
    return f"ledger_y{year}"


def create_partition_sql(year: int, parent: str = "ledger") -> str:
    """The statement that creates the partition of ``year`` (of a ledger whose default partition holds none of it)."""
    return f"CREATE TABLE {partition_name(year)} PARTITION OF {parent} FOR VALUES FROM ({year:d}) TO ({year + 1:d})"


def in_years(column: sa.ColumnElement[int] | InstrumentedAttribute[int], start: date, end: date) -> sa.ColumnElement[bool]:
    """``column`` (a ledger ``year``) within the years of ``start`` .. ``end``: added to a read of settlements dated in
    that period, it lets PostgreSQL read only those years' partitions (the rows are the same: ``year`` is the year of
    ``setl_date``, and a reversal or back-pay has the year of what it refers to)."""
    return column.between(start.year, end.year)


def dated(entry: Any, start: date, end: date) -> sa.ColumnElement[bool]:
    """Ledger rows of ``entry`` (the ``LedgerEntry`` class or an alias of it) dated ``start`` .. ``end`` (inclusive),
    with the year filter of :func:`in_years` that prunes the partitions: every read of the ledger by date says so."""
    return sa.and_(in_years(entry.year, start, end), entry.setl_date >= start, entry.setl_date <= end)


def partitioned(conn: Connection) -> bool:
    """The ledger is partitioned here (PostgreSQL after migration 0316)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('ledger')").scalar_one_or_none()
    return kind == "p"


def partition_years(conn: Connection) -> list[int]:
    """The years that have a partition of their own, in order."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('ledger')"
    ).scalars()
    return sorted(int(m.group(1)) for name in names if (m := _PARTITION.match(name)))


def default_rows(conn: Connection) -> dict[int, int]:
    """The rows the default partition holds, per year (years without a partition of their own)."""
    rows = conn.exec_driver_sql(f"SELECT year, count(*) FROM {DEFAULT_PARTITION} GROUP BY year ORDER BY year")
    return {int(year): int(n) for year, n in rows}


@dataclass(frozen=True)
class Added:
    """A partition added: its year and the rows moved into it from the default partition."""

    year: int
    moved: int


def add_partition(conn: Connection, year: int) -> Added:
    """Give ``year`` a partition of its own (in the caller's transaction), moving its rows out of the default partition.

    The default partition is locked first (a settlement of that year written meanwhile waits, then lands in the new
    partition). Its rows of ``year`` are copied into a new table, deleted from the default partition, and the table
    is attached: PostgreSQL builds the parent's indexes on it and checks the foreign keys. The moved rows keep their
    ``ledger_key`` rows (only ledger rows move; nothing is written to the ledger through the parent)."""
    name = partition_name(year)
    conn.exec_driver_sql(f"LOCK TABLE {DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE")
    moved = conn.exec_driver_sql(f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE year = {year:d}").scalar_one()
    if not moved:
        conn.exec_driver_sql(create_partition_sql(year))
        return Added(year, 0)
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE ledger INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    conn.exec_driver_sql(f"INSERT INTO {name} SELECT * FROM {DEFAULT_PARTITION} WHERE year = {year:d}")
    conn.exec_driver_sql("SET LOCAL yibao.moving_rows = 'on'")  # the rows live on: their keys stay (migration 0316)
    conn.exec_driver_sql(f"DELETE FROM {DEFAULT_PARTITION} WHERE year = {year:d}")
    conn.exec_driver_sql("SET LOCAL yibao.moving_rows = 'off'")
    # the partition's bound as a constraint beforehand: ATTACH then skips scanning the new table for it
    conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {name}_bound CHECK (year >= {year:d} AND year < {year + 1:d})")
    conn.exec_driver_sql(f"ALTER TABLE ledger ATTACH PARTITION {name} FOR VALUES FROM ({year:d}) TO ({year + 1:d})")
    conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bound")
    return Added(year, int(moved))


def add_partitions(conn: Connection, through: int) -> list[Added]:
    """Give every year after the last partitioned one, through ``through``, a partition of its own (in the caller's
    transaction; nothing when the partitions reach ``through`` already)."""
    years = partition_years(conn)
    start = (max(years) + 1) if years else FIRST_YEAR
    return [add_partition(conn, year) for year in range(start, through + 1)]


_PARTITIONED_ONLY = frozenset({"ix_ledger_setl_id", "ix_ledger_reverses", "ix_ledger_institution_date", "ix_ledger_line_date"})
"""Indexes only the partitioned ledger has (migration 0316)."""
_PLAIN_ONLY = frozenset({"ix_ledger_fixmedins_code", "ix_ledger_person_id"})
"""The models' indexes the partitioned ledger does without (the first column of a wider index there)."""


def _moved_unique(obj: Any, name: str | None, type_: str) -> bool:
    if type_ == "index":
        return name == "ux_ledger_visit_seq"
    if type_ == "unique_constraint":
        columns = [c.name for c in obj.columns]
        return columns in (["setl_id"], ["reverses"])
    return False


def include_object(dialect: str) -> Any:
    """Alembic's ``include_object`` for comparing the models with a database of ``dialect``: on PostgreSQL it leaves out
    what the partitioned ledger has in place of the models' plain table (the partitions, ``ledger_key`` and the
    foreign keys to it, the PostgreSQL-only indexes, and the models' unique keys of ``ledger`` that ``ledger_key``
    enforces); everything else is compared as it is (on SQLite, everything)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if dialect != "postgresql":
            return True
        if type_ == "table":
            return not (name in (DEFAULT_PARTITION, KEY_TABLE) or (name and _PARTITION.match(name)))
        table = getattr(getattr(obj, "table", None), "name", None) or getattr(getattr(obj, "parent", None), "name", None)
        if type_ == "foreign_key_constraint":
            referred = obj.referred_table.name
            return not (referred == KEY_TABLE or (referred == "ledger" and table == "assistance_application"))
        if table == "ledger" and type_ == "index" and name in (_PARTITIONED_ONLY if reflected else _PLAIN_ONLY):
            return False
        return not (table == "ledger" and not reflected and _moved_unique(obj, name, type_))

    return include
