"""ledger ids 64-bit on PostgreSQL (SQLite: already); ``person.hh_no`` indexed (both)

A province's ledger outgrows a 32-bit id (2,147,483,647 rows): on PostgreSQL ``ledger.id`` and its sequence
``ledger_id_seq`` become ``bigint``. The ledger is partitioned (0316): the parent's column is altered and the change
reaches every partition (each is rewritten, and the primary key ``(id, year)`` rebuilt). No other column holds a
ledger id (``ledger_key`` and ``assistance_application`` refer to ``setl_id``). On SQLite an ``INTEGER PRIMARY KEY``
is the 64-bit rowid already: nothing to do there.

``ix_person_hh_no``: a household's members (户编号 ``hh_no``) found by the index rather than by reading the whole
``person`` table.

Revision ID: 0317
Revises: 0316
Create Date: 2026-12-04
"""

from alembic import op

revision = "0317"
down_revision = "0316"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _ledger_id(sql_type: str) -> None:
    op.execute(f"ALTER TABLE ledger ALTER COLUMN id TYPE {sql_type}")
    op.execute(f"ALTER SEQUENCE ledger_id_seq AS {sql_type}")


def upgrade() -> None:
    op.create_index("ix_person_hh_no", "person", ["hh_no"])
    if _postgresql():
        _ledger_id("bigint")


def downgrade() -> None:
    if _postgresql():
        _ledger_id("integer")  # refused once an id is past the 32-bit range (the rows would not fit)
    op.drop_index("ix_person_hh_no", table_name="person")
