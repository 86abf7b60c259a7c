"""The diagnosis a settlement was made for, kept in the ledger (``ledger.dise_codg`` 病种/诊断编码 and
``ledger.dise_name`` its name, as typed at the counter or sent by the hospital; NULL on older rows)

Revision ID: 0311
Revises: 0305
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0311"
down_revision = "0305"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dise_codg", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("dise_name", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_column("dise_name")
        batch_op.drop_column("dise_codg")
