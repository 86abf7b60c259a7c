"""Coverage (参保) definitions that need no database.

The low-income and 脱贫 target group (应保尽保), the identity order used when no pack gives one,
the order categories are listed in, and one row of a coverage table with its rates (basis points,
rounded half up). :mod:`yibao.app.coverage` counts the registry with them; :mod:`yibao.reports.tables`
the people frame of a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yibao.core.identities import ORDINARY
from yibao.core.money import BP, round_half_up_div

TARGET_CATEGORIES: tuple[str, ...] = ("tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin")
"""Rural low-income and 脱贫 people, whose enrolment must be 100% (应保尽保; seed 001: 农村低收入人口和脱贫人口参保率达100%)."""

DEFAULT_PRIORITY: tuple[str, ...] = (
    *TARGET_CATEGORIES,
    "pinkun",
    "orphan",
    "youfu",
    "disabled",
    "jisheng",
    "yinbing",
    "gangxing",
)
"""Which category a person is counted under when no pack says (the shipped packs' order, then the rest)."""


@dataclass(frozen=True)
class CoverageRow:
    category: str
    """An identity category code, ``ordinary``, ``all`` or ``low_income`` (the target group)."""
    persons: int
    enrolled: int
    exempt: int

    @property
    def gap(self) -> int:
        return self.persons - self.enrolled - self.exempt

    @property
    def covered(self) -> int:
        return self.enrolled + self.exempt

    @property
    def enrolled_rate_bp(self) -> int | None:
        """参保率: enrolled of all, basis points."""
        return _rate(self.enrolled, self.persons)

    @property
    def covered_rate_bp(self) -> int | None:
        """参保率（含视同参保）: enrolled or exempt, of all, basis points."""
        return _rate(self.covered, self.persons)


def _rate(part: int, whole: int) -> int | None:
    return None if whole == 0 else round_half_up_div(part * BP, whole)


def cat_order(category: str, priority: Sequence[str]) -> tuple[int, str]:
    """Sort key of a category in tables: the priority's order, then the unranked ones, ``ordinary`` last."""
    if category in priority:
        return (list(priority).index(category), category)
    return (len(priority) + (1 if category == ORDINARY else 0), category)


def target_met(row: CoverageRow, target_bp: int) -> bool:
    """Whether ``row`` reaches an enrolment-rate target (``premium.targets``): its coverage rate, people
    enrolled or 视同参保 of everyone, at least ``target_bp``. An empty group meets any target."""
    rate = row.covered_rate_bp
    return rate is None or rate >= target_bp
