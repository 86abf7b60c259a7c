"""Which identity decides, for frames: the rule of :meth:`yibao.policy.schema.Policy.deciding_identity`
(:func:`yibao.core.identities.deciding_identity` for one person) applied to many people, or many
claims, at once.

Of the identities held on the day that matters (each within the pack's ``identity_validity``), the
category the pack's ``identity_priority`` ranks highest decides; categories it does not rank bring no
benefit and are ignored; someone with none of the ranked categories is ``ordinary``. The batch engine,
the registry's views (coverage, premium subsidies) and the reports all cut identities at their
validity with :func:`within_validity`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from yibao.policy.schema import months_later


def held_on(day: date | pl.Expr, valid_from: str = "valid_from", valid_to: str = "valid_to") -> pl.Expr:
    """Identity rows held on ``day`` (both ends inclusive; a null ``valid_to`` is open)."""
    return (pl.col(valid_from) <= day) & (pl.col(valid_to).is_null() | (pl.col(valid_to) >= day))


def identity_ranks(priority: Sequence[str]) -> dict[str, int]:
    """Each ranked category's rank, 0 the highest: the lowest rank held decides."""
    return {c: i for i, c in enumerate(priority)}


def deciding_identities(held: pl.DataFrame, by: str, priority: Sequence[str], category: str = "category") -> pl.DataFrame:
    """Per value of ``by``, the deciding category of the rows of ``held`` (identities already held
    on the day that matters), in columns ``by`` and ``category``. Values whose rows hold no
    ranked category are absent: they are ``ordinary``."""
    rank = identity_ranks(priority)
    ranked = pl.col(category).cast(pl.Utf8).replace_strict(rank, default=None, return_dtype=pl.Int32)
    return (
        held.lazy()
        .select(by, ranked.alias("_rank"))
        .drop_nulls("_rank")
        .group_by(by)
        .agg(pl.col("_rank").min())
        .select(by, pl.col("_rank").replace_strict(dict(enumerate(priority)), return_dtype=pl.Utf8).alias(category))
        .collect()
    )


def within_validity(identities: pl.DataFrame, validity: Mapping[str, int]) -> pl.DataFrame:
    """Identity rows with ``valid_to`` cut at the end of their category's validity from recognition
    (:meth:`yibao.policy.schema.Policy.identity_end`: ``valid_from`` + months − 1 day, the month's last day
    where shorter); ``validity`` is the pack's ``identity_validity`` (category -> months)."""
    if not validity:
        return identities
    end = pl.col("valid_to")
    for category, months in validity.items():
        cut = pl.col("valid_from").dt.offset_by(f"{months}mo") - pl.duration(days=1)
        end = pl.when(pl.col("category").cast(pl.Utf8) == category).then(pl.min_horizontal("valid_to", cut)).otherwise(end)
    return identities.with_columns(end.alias("valid_to"))


def earliest_recognised(day: date, months: int) -> date:
    """The earliest recognition day (``valid_from``) of an identity valid for ``months`` that still holds on ``day``
    (:func:`within_validity`: it holds to ``valid_from`` + ``months`` − 1 day, the month's last day where shorter).

    The end moves on with the recognition day, so "within validity on ``day``" is "recognised on or after this
    day": the one comparison a database makes for the rule (:mod:`yibao.store.identity_reads`)."""
    first = months_later(day, -months) - timedelta(days=4)  # months_later(first, months) <= day: not yet valid
    while months_later(first, months) <= day:
        first += timedelta(days=1)
    return first


def deciding_on(
    identities: pl.DataFrame, day: date, by: str, priority: Sequence[str], validity: Mapping[str, int] | None = None
) -> dict[Any, str]:
    """Per value of ``by``, the category deciding on ``day`` of ``identities`` (rows with ``category``,
    ``valid_from``, ``valid_to``), each cut at its ``validity`` (:func:`within_validity`); values deciding
    nothing are absent (ordinary). The rule of :meth:`yibao.policy.schema.Policy.deciding_identity` for frames."""
    held = within_validity(identities, validity or {}).filter(held_on(day))
    return dict(deciding_identities(held, by, priority).iter_rows())
