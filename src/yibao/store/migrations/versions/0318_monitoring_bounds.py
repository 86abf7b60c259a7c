"""the monitoring run's per person-year bounds, folded from the ledger as it grows (both databases)

``ledger_fold``: per job, the highest ledger id folded into the job's tables. ``person_year_measure``: per year and
person, upper bounds of the two monitoring measures (:mod:`yibao.store.monitoring_bounds`), so that a monthly run
reads only the people whose bound is over a line. Both start empty: a reader adds the ledger rows past the fold
(here: all of them) until the first fold, which the first monitoring run makes.

Revision ID: 0318
Revises: 0317
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0318"
down_revision = "0317"
branch_labels = None
depends_on = None

MEASURES = ("self_pay", "policy_range_self_pay")


def upgrade() -> None:
    op.create_table(
        "ledger_fold",
        sa.Column("job", sa.String(32), primary_key=True),
        sa.Column("ledger_id", sa.BigInteger(), nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "person_year_measure",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), primary_key=True),
        *(sa.Column(f"{m}_{part}", sa.BigInteger(), nullable=False) for m in MEASURES for part in ("sum", "max", "fixes")),
    )


def downgrade() -> None:
    op.drop_table("person_year_measure")
    op.drop_table("ledger_fold")
