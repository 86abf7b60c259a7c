"""How a county compares with its targets: people per deciding category, shares in seed 000's groups."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.core.identities import ORDINARY
from yibao.policy.deciding import deciding_identities, held_on
from yibao.synth.county import SynthCounty
from yibao.synth.identities import IDENTITY_PRIORITY, MIX_GROUPS


def identity_mix(county: SynthCounty, day: date | None = None) -> pl.DataFrame:
    """People per deciding category on ``day`` (default 1 January), with their share of everyone."""
    day = day or date(county.year, 1, 1)
    held = deciding_identities(county.identities.filter(held_on(day)), "psn_no", IDENTITY_PRIORITY)
    counts = held.group_by("category").agg(pl.len().alias("persons"))
    ordinary = pl.DataFrame({"category": [ORDINARY], "persons": [county.persons - held.height]}, schema=counts.schema)
    order = {c: i for i, c in enumerate((*IDENTITY_PRIORITY, ORDINARY))}
    return (
        pl.concat([counts, ordinary])
        .with_columns((pl.col("persons") / county.persons).alias("share"))
        .sort(pl.col("category").replace_strict(order, default=len(order)))
    )


def lincang_mix(county: SynthCounty, day: date | None = None) -> dict[str, float]:
    """Shares in seed 000's groups: ``monitored`` of everyone, then each group of the monitored."""
    mix = dict(identity_mix(county, day).select("category", "persons").iter_rows())
    groups = {g: sum(int(mix.get(c, 0)) for c in cats) for g, cats in MIX_GROUPS.items()}
    monitored = sum(groups.values())
    out = {"monitored": monitored / county.persons}
    out.update({g: (v / monitored if monitored else 0.0) for g, v in groups.items()})
    out["tekun_of_dibao"] = int(mix.get("tekun", 0)) / groups["dibao"] if groups["dibao"] else 0.0
    return out
