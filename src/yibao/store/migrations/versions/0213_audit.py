"""fund supervision: audit runs and findings, 疑点 cases, steps and files, rule changes, knowledge imports;
fee lines keep their day (``fee_ocur_date``), people their day of death (``death_date``)

Revision ID: 0213
Revises: 0212
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0213"
down_revision = "0212"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("fee_line") as batch:
        batch.add_column(sa.Column("fee_ocur_date", sa.Date(), nullable=True))
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("death_date", sa.Date(), nullable=True))
    op.create_table(
        "audit_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("pack_name", sa.String(64), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_finding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("finding_key", sa.String(255), nullable=False, unique=True),
        sa.Column("setl_id", sa.String(40), nullable=False, index=True),
        sa.Column("mdtrt_id", sa.String(40), nullable=True),
        sa.Column("psn_no", sa.String(32), nullable=False, index=True),
        sa.Column("fixmedins_code", sa.String(32), nullable=True, index=True),
        sa.Column("setl_date", sa.Date(), nullable=False),
        sa.Column("rule_code", sa.String(16), nullable=False, index=True),
        sa.Column("rule_type", sa.String(32), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("feedetl_sns", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("pack_name", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("audit_run.id"), nullable=True),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_finding_date", "audit_finding", ["setl_date"])
    op.create_table(
        "suspect_case",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_no", sa.String(32), nullable=False, unique=True),
        sa.Column("finding_id", sa.Integer(), sa.ForeignKey("audit_finding.id"), nullable=False, unique=True),
        sa.Column("setl_id", sa.String(40), nullable=False, index=True),
        sa.Column("fixmedins_code", sa.String(32), nullable=True, index=True),
        sa.Column("psn_no", sa.String(32), nullable=False),
        sa.Column("rule_code", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("recovered_amt", sa.BigInteger(), nullable=False),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "suspect_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("suspect_case.id"), nullable=False, index=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "suspect_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("suspect_case.id"), nullable=False, index=True),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("attachment_id", sa.Integer(), sa.ForeignKey("suspect_attachment.id"), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_rule_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule_code", sa.String(16), nullable=False, index=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "knowledge_import",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("table_name", sa.String(32), nullable=False, index=True),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("knowledge_import", "audit_rule_change", "suspect_event", "suspect_attachment", "suspect_case"):
        op.drop_table(table)
    op.drop_index("ix_audit_finding_date", table_name="audit_finding")
    op.drop_table("audit_finding")
    op.drop_table("audit_run")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("death_date")
    with op.batch_alter_table("fee_line") as batch:
        batch.drop_column("fee_ocur_date")
