"""the claims cube folded from the ledger as it grows (both databases)

Four tables (:mod:`yibao.store.claims_cube_tables`, kept by :mod:`yibao.store.claims_cube_fold` under the job
``claims_cube`` of ``ledger_fold``): the cube's cells per year, each person's settlements per year and visit keys,
the persons per year and visit set, and each assisted person's flagged settlements per year and identity. They start
empty: a reader adds the ledger rows past the fold (here: all of them) until the first fold, which the first report
of a year makes.

Revision ID: 0319
Revises: 0318
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0319"
down_revision = "0318"
branch_labels = None
depends_on = None

AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt",
)  # fmt: skip
VISIT = (("med_type", 8), ("line", 32), ("identity", 32))
FLAGS = ("maf", "oth", "helped")


def _year() -> sa.Column[int]:
    return sa.Column("year", sa.Integer(), primary_key=True)


def _person() -> sa.Column[int]:
    return sa.Column("person_id", sa.Integer(), primary_key=True)


def _keys(*keys: tuple[str, int]) -> list[sa.Column[str]]:
    return [sa.Column(k, sa.String(n), primary_key=True) for k, n in keys]


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(c, sa.BigInteger(), nullable=False) for c in names]


def upgrade() -> None:
    cells = ("claims", *(f"{f}_claims" for f in FLAGS), *AMOUNTS, "maf_paid", "oth_paid")
    op.create_table("claims_cube_cell", _year(), *_keys(("month", 7), *VISIT, ("fixmedins_code", 32)), *_counts(*cells))
    op.create_table("claims_cube_visit", _year(), _person(), *_keys(*VISIT), *_counts("claims"))
    op.create_table("claims_cube_persons", _year(), *_keys(*VISIT), *_counts("persons"))
    op.create_table("claims_cube_helped", _year(), _person(), *_keys(("identity", 32)), *_counts(*FLAGS))


def downgrade() -> None:
    for table in ("claims_cube_helped", "claims_cube_persons", "claims_cube_visit", "claims_cube_cell"):
        op.drop_table(table)
