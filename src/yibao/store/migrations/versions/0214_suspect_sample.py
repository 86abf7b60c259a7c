"""疑点 sampling: a draw of an institution's settlements for manual review (who, which period, what share,
which seed), and the cases it opened (``suspect_case.sample_id``)

Revision ID: 0214
Revises: 0213
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0214"
down_revision = "0213"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suspect_sample",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fixmedins_code", sa.String(32), nullable=False, index=True),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("population_amt", sa.BigInteger(), nullable=False),
        sa.Column("drawn", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("suspect_case") as batch:
        batch.add_column(sa.Column("sample_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_suspect_case_sample", "suspect_sample", ["sample_id"], ["id"])
        batch.create_index("ix_suspect_case_sample_id", ["sample_id"])


def downgrade() -> None:
    with op.batch_alter_table("suspect_case") as batch:
        batch.drop_index("ix_suspect_case_sample_id")
        batch.drop_constraint("fk_suspect_case_sample", type_="foreignkey")
        batch.drop_column("sample_id")
    op.drop_table("suspect_sample")
