"""ledger: a visit's settlements numbered, one number once (no visit settled twice at the same time)

Each settlement of a visit gets ``visit_seq`` (its number among the visit's settlements, in the order
they were written); ``(mdtrt_id, visit_seq)`` is unique. Settlements already in the ledger are numbered
as written, so the index is built even on a ledger that holds a visit settled twice (``yibao verify``
reports such a visit).

Revision ID: 0211
Revises: 0203
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0211"
down_revision = "0203"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("visit_seq", sa.Integer(), nullable=True))
    op.execute(
        """
        UPDATE ledger SET visit_seq = (
            SELECT COUNT(*) FROM ledger AS earlier
            WHERE earlier.mdtrt_id = ledger.mdtrt_id AND earlier.kind = 'settle' AND earlier.id <= ledger.id
        )
        WHERE kind = 'settle' AND mdtrt_id IS NOT NULL
        """
    )
    op.create_index("ux_ledger_visit_seq", "ledger", ["mdtrt_id", "visit_seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_ledger_visit_seq", table_name="ledger")
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("visit_seq")
