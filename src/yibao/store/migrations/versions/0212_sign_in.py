"""accounts: failed sign-ins counted per user name and per address; token revocation; who changed an account

``sign_in_failures`` holds the count and the lock every server process sees; ``account.token_generation``
is raised when a password changes or an account is disabled (a process that trusts a token it checked
earlier compares it); ``changed_at``/``changed_by`` record the last such change.

Revision ID: 0212
Revises: 0211
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0212"
down_revision = "0211"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("changed_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("changed_by")
        batch.drop_column("changed_at")
        batch.drop_column("token_generation")
    op.drop_table("sign_in_failures")
