"""The personal account (个人账户, issue 15 feature 13): the ledger's ``acct_pay`` (0 on older rows) and the
employees' yearly balances (``personal_account``)

Revision ID: 0302
Revises: 0301
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0302"
down_revision = "0301"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("acct_pay", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "personal_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_personal_account_person_year", "personal_account", ["person_id", "year"])


def downgrade() -> None:
    op.drop_index("ix_personal_account_person_year", table_name="personal_account")
    op.drop_table("personal_account")
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("acct_pay")
