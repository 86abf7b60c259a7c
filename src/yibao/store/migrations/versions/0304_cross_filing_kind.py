"""A cross-region filing's kind (``cross_filing.kind``: long_term 异地长期居住, referral 转诊, temporary 临时外出就医,
'' none stated), which a pack's places for cross-region care go by

Revision ID: 0304
Revises: 0303
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0304"
down_revision = "0303"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cross_filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("cross_filing", schema=None) as batch_op:
        batch_op.drop_column("kind")
