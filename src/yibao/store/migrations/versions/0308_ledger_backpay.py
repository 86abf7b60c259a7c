"""Back-pay after a late identity (补差): a correcting ledger entry (``kind`` ``backpay``) names the settlement it
corrects (``ledger.corrects``)

Revision ID: 0308
Revises: 0312
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0308"
down_revision = "0312"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corrects", sa.String(40), nullable=True))
        batch_op.create_index("ix_ledger_corrects", ["corrects"])


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_corrects")
        batch_op.drop_column("corrects")
