"""Accounts: a temporary password to be changed at next sign-in (``account.must_change_password``), every change to
an account recorded (``account_event``); a 3202 reconciliation done in the window kept with its differences
(``reconcile_run``)

Revision ID: 0312
Revises: 0304
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0312"
down_revision = "0304"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "account_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("account.username"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(255), nullable=False, server_default=""),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_account_event_username", "account_event", ["username"])
    op.create_table(
        "reconcile_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fixmedins_code", sa.String(32), nullable=False),
        sa.Column("begin", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("insutype", sa.String(8), nullable=True),
        sa.Column("clr_type", sa.String(8), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_reconcile_run_fixmedins_code", "reconcile_run", ["fixmedins_code"])


def downgrade() -> None:
    op.drop_index("ix_reconcile_run_fixmedins_code", table_name="reconcile_run")
    op.drop_table("reconcile_run")
    op.drop_index("ix_account_event_username", table_name="account_event")
    op.drop_table("account_event")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
