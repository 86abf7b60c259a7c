"""依申请救助: an application's window and the bills it counted (``assistance_application``); its pay, trace, who
and when are its ledger row (kind ``apply``)

Revision ID: 0303
Revises: 0302
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0303"
down_revision = "0302"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistance_application",
        sa.Column("setl_id", sa.String(40), sa.ForeignKey("ledger.setl_id"), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("window_from", sa.Date(), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("yearly_limit", sa.BigInteger(), nullable=True),
        sa.Column("paid_before", sa.BigInteger(), nullable=False),
        sa.Column("claims", sa.Text(), nullable=False),
    )
    op.create_index("ix_assistance_application_person_id", "assistance_application", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_assistance_application_person_id", table_name="assistance_application")
    op.drop_table("assistance_application")
