"""基金预算: a yearly budget per fund and month (``fund_budget``) and every change of it (``fund_budget_change``)

Revision ID: 0310
Revises: 0308
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0310"
down_revision = "0308"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fund_budget",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("fund", sa.String(16), primary_key=True),
        sa.Column("month", sa.Integer(), primary_key=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "fund_budget_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("fund", sa.String(16), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("before", sa.BigInteger(), nullable=True),
        sa.Column("after", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_fund_budget_change_year", "fund_budget_change", ["year", "fund", "month"])


def downgrade() -> None:
    op.drop_index("ix_fund_budget_change_year", table_name="fund_budget_change")
    op.drop_table("fund_budget_change")
    op.drop_table("fund_budget")
