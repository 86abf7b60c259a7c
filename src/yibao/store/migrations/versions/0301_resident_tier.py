"""Residents' contribution tier (居民医保缴费档次 一档/二档) with its dates: ``resident_tier``

Revision ID: 0301
Revises: 0214
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0301"
down_revision = "0214"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_tier",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("begin", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_resident_tier_person_id", "resident_tier", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_resident_tier_person_id", table_name="resident_tier")
    op.drop_table("resident_tier")
