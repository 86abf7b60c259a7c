"""门诊统筹人头定额: the township group an institution belongs to (``institution.township``: a township hospital and
its village clinics share one capitation pot), and what a settlement drew on it (``ledger.captn_pay``, the part of
``hifp_pay`` paid by head, 0 on older rows; ``ledger.captn_town``, the township, NULL when not under capitation)

Revision ID: 0314
Revises: 0313
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0314"
down_revision = "0313"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("township", sa.String(length=64), nullable=True))
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("captn_pay", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("captn_town", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_ledger_captn_town", ["captn_town", "setl_date"])


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_captn_town")
        batch_op.drop_column("captn_town")
        batch_op.drop_column("captn_pay")
    with op.batch_alter_table("institution", schema=None) as batch_op:
        batch_op.drop_column("township")
