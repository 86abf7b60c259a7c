"""ledger: the hospital level and place each settlement was settled at

Revision ID: 0202
Revises: 0201
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0202"
down_revision = "0201"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("hosp_lv", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("place", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("place")
        batch.drop_column("hosp_lv")
