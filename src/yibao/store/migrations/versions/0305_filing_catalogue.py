"""门诊慢特病 filings with the pack's disease lists: a filing's list (``chronic_filing.kind``), the reason it was
back-dated and the day its signed institutions last changed; the signed institutions chosen on a filing
(``institution_choice.filing_id``); the screening record (病情信息表, ``screening_record``) of people examined who
do not qualify. Existing filings keep ``kind`` '' (filed before the lists), no reason and no change.

Revision ID: 0305
Revises: 0304
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0305"
down_revision = "0304"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chronic_filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("backdate_reason", sa.String(255), nullable=True))
        batch_op.add_column(sa.Column("signed_changed_on", sa.Date(), nullable=True))
    with op.batch_alter_table("institution_choice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filing_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_institution_choice_filing_id", "chronic_filing", ["filing_id"], ["id"])
    op.create_table(
        "screening_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("hh_no", sa.String(32), nullable=True),
        sa.Column("dise_codg", sa.String(32), nullable=True),
        sa.Column("dise_name", sa.String(128), nullable=True),
        sa.Column("condition", sa.String(500), nullable=False),
        sa.Column("fixmedins_code", sa.String(32), nullable=False),
        sa.Column("doctor", sa.String(64), nullable=False),
        sa.Column("examined_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_screening_record_person_id", "screening_record", ["person_id"])
    op.create_index("ix_screening_record_hh_no", "screening_record", ["hh_no"])


def downgrade() -> None:
    op.drop_index("ix_screening_record_hh_no", table_name="screening_record")
    op.drop_index("ix_screening_record_person_id", table_name="screening_record")
    op.drop_table("screening_record")
    with op.batch_alter_table("institution_choice", schema=None) as batch_op:
        batch_op.drop_constraint("fk_institution_choice_filing_id", type_="foreignkey")
        batch_op.drop_column("filing_id")
    with op.batch_alter_table("chronic_filing", schema=None) as batch_op:
        batch_op.drop_column("signed_changed_on")
        batch_op.drop_column("backdate_reason")
        batch_op.drop_column("kind")
