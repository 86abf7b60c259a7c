"""What the synthetic fee lines may bill: the audit pack's catalogue, sorted by the restrictions on each item.

Every catalogue item gets *tags* naming the knowledge rows about it (``gend``, ``age``,
``med_types``, ``hosp_lv``, ``insutype``, ``per_line``, ``per_day``, ``frequency``, ``course``,
``dup_main``, ``dup_sub``, ``bundle``, ``part``, ``requires_item``, ``requires_dise``,
``required``, ``indication``, ``ceiling``). Clean lines only bill items without tags (or with
``med_types`` allowing the claim's kind), at the payment standard, so no rule can find them; a
planted violation bills an item whose only tag is the one its rule reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from yibao.audit.knowledge import Knowledge
from yibao.synth.draws import Arr

MED_TYPES = ("11", "14", "21")
BEDS = {1: "001201000030000", 2: "001201000020000", 3: "001201000010000"}
"""The bed-day item billed for each day of a stay, by institution level (when the catalogue has it)."""
OUTPATIENT_MAX_STD = 30_000
"""Outpatient visits bill items of at most 300 yuan (no operations at a clinic)."""


def item_tags(kb: Knowledge) -> dict[str, set[str]]:
    """Each catalogue item's tags (see the module); items without knowledge rows have none."""
    tags: dict[str, set[str]] = defaultdict(set)
    for code, lim in kb.item_limits.items():
        for tag, value in (
            ("gend", lim.gend), ("age", lim.age_min if lim.age_min is not None else lim.age_max), ("med_types", lim.med_types),
            ("hosp_lv", lim.min_hosp_lv), ("insutype", lim.insutypes),
        ):  # fmt: skip
            if value is not None:
                tags[code].add(tag)
    for tag, codes in (
        ("per_line", kb.per_line), ("per_day", kb.per_day), ("frequency", kb.frequency), ("course", kb.course_days),
        ("dup_main", kb.duplicate_subs), ("bundle", kb.bundles), ("requires_item", kb.requires_items),
        ("requires_dise", kb.requires_dise), ("indication", kb.indications), ("ceiling", kb.price_ceilings),
    ):  # fmt: skip
        for code in codes:
            tags[code].add(tag)
    for tag, groups in (
        ("dup_sub", kb.duplicate_subs.values()),
        ("part", kb.bundles.values()),
        ("required", kb.requires_items.values()),
    ):
        for group in groups:
            for code in group:
                tags[code].add(tag)
    return {code: set(tags.get(code, ())) for code in kb.catalogue}


@dataclass(frozen=True)
class Catalogue:
    """The catalogue as arrays, with the pools clean lines draw from."""

    codes: tuple[str, ...]
    std: Arr
    """Payment standard per item, fen (0: none, the price is free)."""
    pools: dict[str, Arr]
    """``med_type`` → indices of the items a clean line of that kind may bill."""
    residual: Arr
    """Drugs without a standard or tags: the last line of a claim, priced to make the claim's total."""
    beds: dict[int, int]
    """Level → index of the bed-day item."""
    tags: dict[str, set[str]]
    kb: Knowledge

    def index(self, code: str) -> int:
        return self.codes.index(code)

    def single(self, tag: str, extra: Iterable[str] = ()) -> list[str]:
        """Items whose only tags are ``tag`` (and ``extra``), cheapest first."""
        allowed = {tag, *extra}
        found = [c for c, t in self.tags.items() if tag in t and t <= allowed]
        return sorted(found, key=lambda c: (int(self.std[self.index(c)]), c))


def catalogue_of(kb: Knowledge) -> Catalogue:
    tags = item_tags(kb)
    codes = tuple(kb.catalogue)
    std = np.array([int(kb.catalogue[c].get("std_pric") or 0) for c in codes], dtype=np.int64)
    kinds = [str(kb.catalogue[c].get("kind")) for c in codes]
    bed_codes = set(BEDS.values())
    pools: dict[str, Arr] = {}
    for med in MED_TYPES:
        ok = []
        for i, c in enumerate(codes):
            t = tags[c]
            if c in bed_codes or t - {"med_types"}:
                continue
            lim = kb.item_limits.get(c)
            if "med_types" in t and (lim is None or lim.med_types is None or med not in lim.med_types):
                continue
            if med != "21" and (std[i] > OUTPATIENT_MAX_STD or kinds[i] == "material"):
                continue
            ok.append(i)
        pools[med] = np.array(ok, dtype=np.int64)
    residual = np.array([i for i, c in enumerate(codes) if not tags[c] and std[i] == 0 and kinds[i] == "drug"], dtype=np.int64)
    if not len(residual) or any(not len(p) for p in pools.values()):
        raise ValueError("the audit pack's catalogue has no unrestricted drugs or items to draw clean fee lines from")
    beds = {lv: codes.index(c) for lv, c in BEDS.items() if c in codes and tags[c] <= {"med_types"}}
    return Catalogue(codes, std, pools, residual, beds, tags, kb)
