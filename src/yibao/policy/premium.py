"""The premium split: who pays what of one resident's premium for one year (pure, no I/O).

The premium is ``individual + fiscal`` (seed 001, Hainan 2023: 1020 = 380 + 640). Fiscal money
pays its part for everyone enrolled. The assistance fund pays the classified subsidy of the
individual part for the category that decided on the pack's cut-off day (seed 003: 特困 in full,
低保 and 返贫致贫 a fixed amount, 监测 50%, stable 脱贫 nothing); the person pays the rest.

Rounding: a ``share`` subsidy is ``individual x share`` rounded half up to the fen
(:func:`yibao.core.money.apply_ratio`, the one rounding rule); an ``amount`` subsidy is never more
than the individual part. The person's part is never rounded, it is what is left, so
``individual + assistance + fiscal == total`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.core.identities import ORDINARY
from yibao.core.money import apply_ratio
from yibao.policy.schema import Premium


@dataclass(frozen=True)
class PremiumPayers:
    """Premium money in fen by payer (one person-year, or summed over people)."""

    individual: int
    """What the person pays (个人缴费)."""
    assistance: int
    """The assistance fund's subsidy of the individual contribution (医疗救助资助参保)."""
    fiscal: int
    """The fiscal subsidy (财政补助)."""

    @property
    def total(self) -> int:
        """The premium (筹资标准) = individual + assistance + fiscal."""
        return self.individual + self.assistance + self.fiscal


@dataclass(frozen=True)
class Split(PremiumPayers):
    """One person-year's premium in fen, by payer."""

    category: str
    """The identity category that decided (``ordinary`` when none did)."""

    @property
    def subsidised(self) -> bool:
        return self.assistance > 0


def subsidy_fen(premium: Premium, category: str) -> int:
    """The assistance fund's part of the individual contribution for ``category``."""
    sub = premium.subsidies.get(category)
    if sub is None:
        return 0
    paid = apply_ratio(premium.individual, sub.share) if sub.share is not None else (sub.amount or 0)
    return max(0, min(paid, premium.individual))


def premium_split(premium: Premium, identity_on_cutoff: str | None) -> Split:
    """Split the premium for a person whose deciding identity on the cut-off day is ``identity_on_cutoff``.

    ``None`` or a category the pack does not subsidise gives no subsidy.
    """
    category = identity_on_cutoff or ORDINARY
    assistance = subsidy_fen(premium, category)
    return Split(
        individual=premium.individual - assistance,
        assistance=assistance,
        fiscal=premium.fiscal,
        category=category,
    )


def unranked_subsidies(premium: Premium, identity_priority: tuple[str, ...]) -> list[str]:
    """Subsidised categories that the pack's ``identity_priority`` does not rank (they could never decide)."""
    return [c for c in premium.subsidies if c not in identity_priority]
