"""warning: the household's own payments beside the person's warning

Revision ID: 0203
Revises: 0202
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0203"
down_revision = "0202"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("warning") as batch:
        batch.add_column(sa.Column("hh_self_pay", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("hh_persons", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warning") as batch:
        batch.drop_column("hh_persons")
        batch.drop_column("hh_self_pay")
