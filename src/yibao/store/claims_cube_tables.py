"""The claims cube folded from the ledger (migration 0319; :mod:`yibao.store.claims_cube_fold` says how each table
is kept). Every count and sum is over the settlements that stand as of the fold's ledger id; a key whose settlements
were all reversed stays, with 0."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from yibao.reports.cube import CELL_KEYS, CELLS_SCHEMA, FLAGS, VISIT_KEYS
from yibao.store.tables import Base

LENGTHS = {"month": 7, "med_type": 8, "line": 32, "identity": 32, "fixmedins_code": 32}
"""The key columns' lengths (the ledger's)."""
NO_INSTITUTION = ""
"""``fixmedins_code`` of a cell whose settlements have none (a key column cannot be NULL)."""


def _keys(*names: str) -> list[Column[str]]:
    return [Column(k, String(LENGTHS[k]), primary_key=True) for k in names]


def _counts(*names: str) -> list[Column[int]]:
    return [Column(c, BigInteger, nullable=False) for c in names]


def _year() -> Column[int]:
    return Column("year", Integer, primary_key=True)


CUBE_CELL = Table(
    "claims_cube_cell", Base.metadata, _year(), *_keys(*CELL_KEYS),
    *_counts(*(c for c in CELLS_SCHEMA if c not in CELL_KEYS)),
)  # fmt: skip
"""Per year and cell (:data:`yibao.reports.cube.CELL_KEYS`): the cube's cell columns."""
CUBE_VISIT = Table(
    "claims_cube_visit", Base.metadata, _year(), Column("person_id", Integer, primary_key=True), *_keys(*VISIT_KEYS),
    *_counts("claims"),
)  # fmt: skip
"""Per year, person and visit keys (:data:`yibao.reports.cube.VISIT_KEYS`): the person's settlements."""
CUBE_PERSONS = Table("claims_cube_persons", Base.metadata, _year(), *_keys(*VISIT_KEYS), *_counts("persons"))
"""Per year and visit set (keys left out: :data:`yibao.reports.grouping.ALL`): the persons with a settlement."""
CUBE_HELPED = Table(
    "claims_cube_helped", Base.metadata, _year(), Column("person_id", Integer, primary_key=True), *_keys("identity"),
    *_counts(*FLAGS),
)  # fmt: skip
"""Per year, person and identity: the person's settlements meeting each flag (:data:`yibao.reports.cube.FLAGS`)."""
