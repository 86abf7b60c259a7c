"""monitoring: runs, warnings and their follow-up (joins the registry and service branches)

Revision ID: 0201
Revises: 0002, 0101
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0201"
down_revision = ("0002", "0101")
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the token's primary key already makes it unique: drop the redundant constraint 0101 made
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE token DROP CONSTRAINT IF EXISTS uq_token")
    else:
        with op.batch_alter_table("token") as batch:
            batch.drop_constraint("uq_token", type_="unique")
    op.create_table(
        "monitoring_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_monitoring_run_period", "monitoring_run", ["period"])
    op.create_table(
        "warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("psn_no", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("first_period", sa.String(length=8), nullable=False),
        sa.Column("last_period", sa.String(length=8), nullable=False),
        sa.Column("measure_amt", sa.BigInteger(), nullable=False),
        sa.Column("threshold_amt", sa.BigInteger(), nullable=False),
        sa.Column("excess_amt", sa.BigInteger(), nullable=False),
        sa.Column("crossing_setl_id", sa.String(length=40), nullable=True),
        sa.Column("crossing_date", sa.Date(), nullable=True),
        sa.Column("setl_ids", sa.Text(), nullable=False),
        sa.Column("medfee_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("fund_pay_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("psn_part_amt", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bureau", sa.String(length=64), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at_risk", sa.Boolean(), nullable=True),
        sa.Column("assisted_amt", sa.BigInteger(), nullable=True),
        sa.Column("assisted_setl_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "person_id", "key", name="uq_warning_rule_person_key"),
    )
    op.create_index("ix_warning_person_id", "warning", ["person_id"])
    op.create_index("ix_warning_first_period", "warning", ["first_period"])
    op.create_index("ix_warning_status", "warning", ["status"])
    op.create_table(
        "warning_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), sa.ForeignKey("warning.id"), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("bureau", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("setl_id", sa.String(length=40), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_warning_event_warning_id", "warning_event", ["warning_id"])


def downgrade() -> None:
    op.drop_table("warning_event")
    op.drop_table("warning")
    op.drop_table("monitoring_run")
    with op.batch_alter_table("token") as batch:
        batch.create_unique_constraint("uq_token", ["token_sha256"])
