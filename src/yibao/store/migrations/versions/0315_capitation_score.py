"""门诊统筹人头定额 year-end: a township's performance score for a year (``capitation_score``; the latest row per
township and year counts, earlier ones are kept as the record)

Revision ID: 0315
Revises: 0314
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0315"
down_revision = "0314"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capitation_score",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("township", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_capitation_score_township_year", "capitation_score", ["township", "year"])


def downgrade() -> None:
    op.drop_index("ix_capitation_score_township_year", table_name="capitation_score")
    op.drop_table("capitation_score")
