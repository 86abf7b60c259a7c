"""Identity conflicts reviewed (``conflict_decision``; ``person.merged_into``) and the named change report of an
identity import (``import_change``)

Revision ID: 0307
Revises: 0310
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0307"
down_revision = "0310"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("merged_into", sa.Integer(), nullable=True))
    op.create_table(
        "conflict_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conflict_id", sa.Integer(), sa.ForeignKey("conflict.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("survivor_certno", sa.String(18), nullable=True),
        sa.Column("absorbed_certno", sa.String(18), nullable=True),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_conflict_decision_conflict_id", "conflict_decision", ["conflict_id"])
    op.create_table(
        "import_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("import_batch.id"), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("certno", sa.String(18), nullable=False),
        sa.Column("psn_name", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("before", sa.String(255), nullable=True),
        sa.Column("after", sa.String(255), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
    )
    op.create_index("ix_import_change_import_id", "import_change", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_import_change_import_id", table_name="import_change")
    op.drop_table("import_change")
    op.drop_index("ix_conflict_decision_conflict_id", table_name="conflict_decision")
    op.drop_table("conflict_decision")
    op.drop_column("person", "merged_into")  # SQLite 3.35+ drops a column in place
