"""The claims cube: what every claims-based report needs from the settled claims, and nothing per claim.

The reports (:mod:`yibao.reports.tables`, :mod:`yibao.reports.outcomes`, :mod:`yibao.reports.budget`) need sums and
counts by month, medical type, benefit line, identity and institution, and a few counts of distinct persons. The cube
holds exactly that, so a province's ledger is reported from a few thousand rows the database aggregated
(:func:`yibao.store.claims_cube.cube_from_ledger`) and a simulation from its claims frame (:func:`cube_of`, over the
:mod:`yibao.rules.claims` columns) by the same table functions. A differential test holds the two equal on random
ledgers with reversals and back-pays.

- ``cells``: one row per (:data:`CELL_KEYS`) with ``claims`` (settlements), ``<flag>_claims`` (settlements of each
  :data:`FLAGS` condition), the sums of the eleven amounts (:data:`yibao.rules.claims.AMOUNTS`) and ``<flag>_paid``
  (the flag's amount summed over its flagged settlements only, :data:`PAID`).
- ``visit_persons``: distinct persons per grouping set of (med_type, line, identity) (:data:`VISIT_SETS`; the keys
  left out are :data:`yibao.reports.grouping.ALL`).
- ``helped``: one row per person and identity with a settlement of any :data:`FLAGS` condition (assistance recipients
  are a minority), with a boolean per flag: whether any of their settlements under that identity met it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from yibao.reports.grouping import grouping_sets
from yibao.rules.claims import AMOUNTS

CELL_KEYS = ("month", "med_type", "line", "identity", "fixmedins_code")
FLAGS: dict[str, tuple[str, ...]] = {"maf": ("maf_pay",), "oth": ("oth_pay",), "helped": ("maf_pay", "oth_pay")}
"""A settlement meets a flag when the sum of its amounts is above 0: medical assistance paid, tilted assistance paid,
either paid (their sum)."""
PAID: dict[str, str] = {"maf": "maf_pay", "oth": "oth_pay"}
"""``<flag>_paid``: this amount summed over the flag's settlements only."""
VISIT_KEYS = ("med_type", "line", "identity")
VISIT_SETS: tuple[tuple[str, ...], ...] = (VISIT_KEYS, VISIT_KEYS[:2], VISIT_KEYS[:1], ())

_INT = pl.Int64
CELLS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **{k: pl.Utf8 for k in CELL_KEYS},
    "claims": _INT,
    **{f"{f}_claims": _INT for f in FLAGS},
    **{a: _INT for a in AMOUNTS},
    **{f"{f}_paid": _INT for f in PAID},
}
VISIT_PERSONS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {**{k: pl.Utf8 for k in VISIT_KEYS}, "persons": _INT}
HELPED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "psn_no": pl.Utf8,
    "identity": pl.Utf8,
    **{f: pl.Boolean for f in FLAGS},
}


def _conform(df: pl.DataFrame, schema: dict[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t) for c, t in schema.items()])


@dataclass(frozen=True)
class ClaimsCube:
    """The settled claims of one period and place, aggregated for the reports (see the module's note)."""

    cells: pl.DataFrame
    visit_persons: pl.DataFrame
    helped: pl.DataFrame

    @classmethod
    def of(cls, cells: pl.DataFrame, visit_persons: pl.DataFrame, helped: pl.DataFrame) -> ClaimsCube:
        """The cube from its three frames, each cut to its schema's columns and types."""
        return cls(_conform(cells, CELLS_SCHEMA), _conform(visit_persons, VISIT_PERSONS_SCHEMA), _conform(helped, HELPED_SCHEMA))

    def canonical(self) -> ClaimsCube:
        """The same cube with every frame's rows in one order (to compare two cubes)."""
        frames = (self.cells, self.visit_persons, self.helped)
        return ClaimsCube(*(df.sort(df.columns, nulls_last=True) for df in frames))

    def equals(self, other: ClaimsCube) -> bool:
        a, b = self.canonical(), other.canonical()
        return a.cells.equals(b.cells) and a.visit_persons.equals(b.visit_persons) and a.helped.equals(b.helped)


def flag(name: str) -> pl.Expr:
    """Whether a settlement meets the flag ``name`` (:data:`FLAGS`)."""
    return pl.sum_horizontal(*(pl.col(a) for a in FLAGS[name])) > 0


def cube_of(claims: pl.DataFrame) -> ClaimsCube:
    """The cube of a claims frame (:mod:`yibao.rules.claims` columns, already cut to the period and place)."""
    df = claims.with_columns(flag(f).alias(f"_{f}") for f in FLAGS)
    cells = df.group_by(CELL_KEYS).agg(
        pl.len().alias("claims"),
        *(pl.col(f"_{f}").sum().alias(f"{f}_claims") for f in FLAGS),
        *(pl.col(a).sum() for a in AMOUNTS),
        *(pl.col(a).filter(pl.col(f"_{f}")).sum().alias(f"{f}_paid") for f, a in PAID.items()),
    )
    persons = grouping_sets(df, VISIT_KEYS, VISIT_SETS, [pl.col("psn_no").n_unique().alias("persons")])
    helped = (
        df.filter(pl.any_horizontal(pl.col(f"_{f}") for f in FLAGS))
        .group_by("psn_no", "identity")
        .agg(pl.col(f"_{f}").any().alias(f) for f in FLAGS)
    )
    return ClaimsCube.of(cells, persons, helped)


def as_cube(claims: ClaimsCube | pl.DataFrame) -> ClaimsCube:
    """``claims`` as a cube: a cube as it is, a claims frame aggregated (:func:`cube_of`)."""
    return claims if isinstance(claims, ClaimsCube) else cube_of(claims)
