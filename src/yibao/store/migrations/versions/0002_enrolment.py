"""enrolment: which policy pack and which cut-off day priced the premium split

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_pack", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cutoff_date", sa.Date(), nullable=True))
        batch_op.create_index("ix_enrolment_year_insutype", ["year", "insutype"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolment_year_insutype")
        batch_op.drop_column("cutoff_date")
        batch_op.drop_column("policy_pack")
