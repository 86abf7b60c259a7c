"""Sampling for manual review (pure): which settlements a seeded draw picks, and the estimate the reviewed ones
give for the rest (openIMIS-style: the approved/claimed ratio of the reviewed claims applied to the others).

Money in fen, the ratio exact (a fraction), the estimate rounded half up to the fen.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

FULL_BP = 10_000


def drawn_count(population: int, rate_bp: int) -> int:
    """How many of ``population`` a draw of ``rate_bp`` basis points picks: rounded up, at least one of a non-empty one."""
    if population <= 0:
        return 0
    return min(population, max(1, -(-population * rate_bp // FULL_BP)))


def draw(population: Sequence[str], rate_bp: int, seed: int) -> list[str]:
    """The settlements a draw picks from ``population`` (in the order given: the same order, rate and seed give
    the same draw on any machine), sorted."""
    return sorted(random.Random(seed).sample(list(population), drawn_count(len(population), rate_bp)))


def half_up(value: Fraction) -> int:
    """``value`` rounded half up (away from zero for a negative one) to a whole fen."""
    sign = -1 if value < 0 else 1
    v = abs(value)
    return sign * ((2 * v.numerator + v.denominator) // (2 * v.denominator))


@dataclass(frozen=True)
class Estimate:
    """What the reviewed part of a draw says about the whole: amounts in fen."""

    population_amt: int
    """Claimed (the fund's payment) by every settlement drawn from."""
    reviewed: int
    claimed_reviewed: int
    approved_reviewed: int
    unreviewed_amt: int
    """Claimed by the settlements not reviewed (not drawn, or drawn and still open)."""
    ratio: Fraction | None
    """approved / claimed of the reviewed ones (``None`` before any is reviewed)."""
    approved_unreviewed: int | None
    """The estimate: ``ratio`` × ``unreviewed_amt``."""

    @property
    def ratio_bp(self) -> int | None:
        return None if self.ratio is None else half_up(self.ratio * FULL_BP)

    @property
    def approved_total(self) -> int | None:
        """Approved of the whole: the reviewed as reviewed, the rest as estimated."""
        return None if self.approved_unreviewed is None else self.approved_reviewed + self.approved_unreviewed

    @property
    def overclaimed(self) -> int | None:
        """Claimed beyond what is (reviewed or estimated) approved."""
        total = self.approved_total
        return None if total is None else self.population_amt - total


def extrapolate(population_amt: int, reviewed: Iterable[tuple[int, int]]) -> Estimate:
    """The estimate from the (claimed, approved) amounts of the reviewed settlements."""
    pairs = list(reviewed)
    claimed = sum(c for c, _ in pairs)
    approved = sum(a for _, a in pairs)
    rest = population_amt - claimed
    ratio = Fraction(approved, claimed) if claimed > 0 else (Fraction(1) if pairs else None)
    est = None if ratio is None else half_up(ratio * rest)
    return Estimate(population_amt, len(pairs), claimed, approved, rest, ratio, est)
