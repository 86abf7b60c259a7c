"""The people cube: what the enrolment, premium and fund reports need from the people of a place, and nothing per person.

The reports of enrolment rates, subsidised premiums, assistance and the fund's income count people and add up their
premiums by place, deciding category, enrolment status and subsidy category; only the count of distinct assisted people
needs names, and only of the people whose premium the assistance fund subsidised. The cube holds exactly that, so a
province's registry is reported from a few rows per village the database aggregated
(:func:`yibao.store.people_cube.people_cube_from_registry`) and a simulation from its people frame
(:data:`yibao.reports.tables.PEOPLE_SCHEMA`, :func:`people_cube_of`) by the same table functions. A differential test
holds the two equal on random registries.

- ``cells``: one row per (:data:`PEOPLE_KEYS`) with ``persons``, ``subsidised`` (of them, people whose premium the
  assistance fund subsidised: ``assistance_subsidy`` above 0) and the sums of the four premium amounts
  (:data:`PREMIUM_COLUMNS`). ``priced``: the person has an enrolled resident row of the year (``resident_rows`` above
  0); ``subsidy_category`` is that row's (null without one).
- ``subsidised``: the ``psn_no`` of every subsidised person (one row each).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

PLACE_KEYS = ("county", "township", "village")
PEOPLE_KEYS = (*PLACE_KEYS, "category", "enrolled", "exempt", "priced", "subsidy_category")
PREMIUM_COLUMNS = ("individual", "assistance_subsidy", "fiscal_subsidy", "premium")
_INT = pl.Int64
CELLS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **{k: pl.Utf8 for k in PLACE_KEYS},
    "category": pl.Utf8,
    "enrolled": pl.Boolean,
    "exempt": pl.Boolean,
    "priced": pl.Boolean,
    "subsidy_category": pl.Utf8,
    "persons": _INT,
    "subsidised": _INT,
    **{c: _INT for c in PREMIUM_COLUMNS},
}
SUBSIDISED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {"psn_no": pl.Utf8}


def subsidised(amount: pl.Expr) -> pl.Expr:
    """Whether the assistance fund subsidised a person's premium (their ``assistance_subsidy`` above 0)."""
    return amount > 0


@dataclass(frozen=True)
class PeopleCube:
    """The people of one place and year, aggregated for the reports (see the module's note)."""

    cells: pl.DataFrame
    subsidised: pl.DataFrame

    @classmethod
    def of(cls, cells: pl.DataFrame, subsidised: pl.DataFrame) -> PeopleCube:
        """The cube from its two frames, each cut to its schema's columns and types."""
        return cls(
            cells.select([pl.col(c).cast(t) for c, t in CELLS_SCHEMA.items()]),
            subsidised.select([pl.col(c).cast(t) for c, t in SUBSIDISED_SCHEMA.items()]),
        )

    def canonical(self) -> PeopleCube:
        """The same cube with its rows in one order (to compare two cubes)."""
        return PeopleCube(*(df.sort(df.columns, nulls_last=True) for df in (self.cells, self.subsidised)))

    def equals(self, other: PeopleCube) -> bool:
        a, b = self.canonical(), other.canonical()
        return a.cells.equals(b.cells) and a.subsidised.equals(b.subsidised)


def people_cube_of(people: pl.DataFrame) -> PeopleCube:
    """The cube of a people frame (:data:`yibao.reports.tables.PEOPLE_SCHEMA`: one row per person of the place)."""
    helped = subsidised(pl.col("assistance_subsidy"))
    cells = (
        people.with_columns((pl.col("resident_rows") > 0).alias("priced"))
        .group_by(PEOPLE_KEYS)
        .agg(pl.len().alias("persons"), helped.sum().alias("subsidised"), *(pl.col(c).sum() for c in PREMIUM_COLUMNS))
    )
    return PeopleCube.of(cells, people.filter(helped).select("psn_no"))


def as_people(people: PeopleCube | pl.DataFrame) -> PeopleCube:
    """``people`` as a cube: a cube as it is, a people frame aggregated (:func:`people_cube_of`)."""
    return people if isinstance(people, PeopleCube) else people_cube_of(people)
