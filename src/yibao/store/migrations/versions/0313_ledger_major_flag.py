"""Whether a settlement was made for a 重特大疾病 (``ledger.major_dise_flag``, the claim's flag the assistance tiers'
``major`` terms go by), kept so that a re-settlement (back-pay) and a reversal see the claim as it was; false on older rows

Revision ID: 0313
Revises: 0311
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0313"
down_revision = "0311"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("major_dise_flag", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_column("major_dise_flag")
