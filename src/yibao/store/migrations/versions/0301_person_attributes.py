"""What benefit lines go by about a person, with dates: the residents' contribution tier (居民医保缴费档次
一档/二档, ``resident_tier``), institutions chosen (``institution_choice``: designated / linked / signed) and
family-doctor contracts (``family_doctor_contract``)

Revision ID: 0301
Revises: 0214
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0301"
down_revision = "0214"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_tier",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("begin", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_resident_tier_person_id", "resident_tier", ["person_id"])
    op.create_table(
        "institution_choice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("fixmedins_code", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("begin", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_institution_choice_person_id", "institution_choice", ["person_id"])
    op.create_table(
        "family_doctor_contract",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("fixmedins_code", sa.String(32), nullable=True),
        sa.Column("begin", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_family_doctor_contract_person_id", "family_doctor_contract", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_family_doctor_contract_person_id", table_name="family_doctor_contract")
    op.drop_table("family_doctor_contract")
    op.drop_index("ix_institution_choice_person_id", table_name="institution_choice")
    op.drop_table("institution_choice")
    op.drop_index("ix_resident_tier_person_id", table_name="resident_tier")
    op.drop_table("resident_tier")
