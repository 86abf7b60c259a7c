"""The batch engine's line tables hold, cell by cell, what the policy's own rules answer: the tables ask
each rule once per distinct identity override and share rows between variants and periods, and that
sharing must not change a value."""

from __future__ import annotations

import itertools

import pytest

from yibao.policy import load_pack
from yibao.policy.schema import LEVELS, PLACES, TIER_NAMES
from yibao.settlement.batch.engine import pack_tables
from yibao.settlement.batch.tables import INF, INSUTYPES, TIERS, categories


@pytest.mark.parametrize("name", ["shandong-zibo-2020", "chongqing-jiangjin-2023"])
def test_line_tables_hold_every_rule_answer(name: str) -> None:
    """zibo names identity overrides (建档立卡 deductible and ratio), jiangjin person terms."""
    pt = pack_tables(load_pack(name))
    t, cats = pt.tables, categories(pt.policies)
    L, V = len(pt.line_keys), t.variants.size
    checked = 0
    for (p, pol), (l_i, key), v in itertools.product(enumerate(pt.policies), enumerate(pt.line_keys), range(V)):
        own = pol.lines.get(key)
        if own is None:
            continue
        k, line = (p * L + l_i) * V + v, own.for_person(t.variants.of(v))
        for (c, cat), (pl_i, place), lv in itertools.product(enumerate(cats), enumerate(PLACES), LEVELS):
            assert [t.ded[k, c, pl_i, o - 1, lv - 1] for o in (1, 2, 3)] == [
                line.deductible_for(cat, lv, o, place) for o in (1, 2, 3)
            ], (k, cat, place, lv)
            ratios = [r for _, r in line.ratio_bands_for(cat, place, lv)]
            assert list(t.band_ratio[k, c, pl_i, lv - 1, : len(ratios)]) == ratios
            assert t.class_b_ratio[k, c, pl_i, lv - 1] == (line.class_b_ratio_for(cat, place, lv) or 0)
            checked += 1
        for (c, cat), (t_i, tier) in itertools.product(enumerate(cats), enumerate(TIERS)):
            cap = line.cap_for(cat, tier)
            assert t.cap[k, c, t_i] == (INF if cap is None else cap)
        for (n, tier_name), (i, ins), (c, cat) in itertools.product(enumerate(TIER_NAMES), enumerate(INSUTYPES), enumerate(cats)):
            assert t.applies[n, k, i, c] == pol.tier_applies(tier_name, key, ins, cat)
    assert checked > 0
