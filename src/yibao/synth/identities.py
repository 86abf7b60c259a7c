"""Identities of the county's people: the Lincang mix on 1 January and the changes during the year.

The identity mix follows seed 000 (of 556,100 monitored people 367,300 脱贫, 38,300 "三类人员"
and 150,500 农村低保/特困, about a quarter of Lincang's ~2.2 million people); about 4% of people
change identity during the year (the old period ends the day before, the new one starts that day).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.core.identities import CATEGORIES, ORDINARY
from yibao.synth.draws import NO_DATE, Arr, days_between, gather, nullable_dates, to_dates, year_start

LINCANG_POPULATION = 2_200_000
"""Lincang's population, about (seed 000 gives the monitored counts below)."""
LINCANG_MONITORED = {"tuopin": 367_300, "jiance": 38_300, "dibao": 150_500}
"""Seed 000: 脱贫人口 36.73万, “三类人员” 3.83万 (here 监测 plus a few 返贫致贫), 农村低保/特困 15.05万."""
LINCANG_INPATIENT_MEAN_YUAN = 359_772_300 / 63_400
"""Seed 000: 6.34万人次 住院, 35977.23万元 → ≈ 5,675 yuan per admission."""

MIX_GROUPS: dict[str, tuple[str, ...]] = {"tuopin": ("tuopin",), "jiance": ("jiance", "fanpin"), "dibao": ("dibao", "tekun")}
"""How yibao's categories map to seed 000's three groups."""

CATS: tuple[str, ...] = ("tekun", "dibao", "dibao_edge", "fanpin", "jiance", "tuopin", ORDINARY)
"""Category index order used inside the generator (highest benefit first)."""
CAT_INDEX = {c: i for i, c in enumerate(CATS)}
IDENTITY_PRIORITY: tuple[str, ...] = ("tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin")
"""Which category a person is counted under when several hold on one day (as the Anhui pack)."""

_TEKUN_SHARE = 0.12  # of 农村低保/特困
_FANPIN_SHARE = 0.10  # of “三类人员”
START_SHARES: dict[str, float] = {
    "tekun": LINCANG_MONITORED["dibao"] / LINCANG_POPULATION * _TEKUN_SHARE,
    "dibao": LINCANG_MONITORED["dibao"] / LINCANG_POPULATION * (1 - _TEKUN_SHARE),
    "dibao_edge": 0.004,  # 低保边缘 (民政): not in seed 000's monitored count; a small extra group
    "fanpin": LINCANG_MONITORED["jiance"] / LINCANG_POPULATION * _FANPIN_SHARE,
    "jiance": LINCANG_MONITORED["jiance"] / LINCANG_POPULATION * (1 - _FANPIN_SHARE),
    "tuopin": LINCANG_MONITORED["tuopin"] / LINCANG_POPULATION,
}
START_SHARES[ORDINARY] = 1.0 - sum(START_SHARES.values())
"""Share of all people holding each category on 1 January (one category each on that day)."""

# (from, to, share of the whole population making this change during the year, old period stays open)
# "ordinary" as `to` means the identity just ends; as `from`, that a new identity starts.
TRANSITIONS: tuple[tuple[str, str, float, bool], ...] = (
    (ORDINARY, "jiance", 0.0056, False),  # newly identified for monitoring (sudden hardship)
    (ORDINARY, "dibao", 0.0022, False),
    (ORDINARY, "dibao_edge", 0.0028, False),
    (ORDINARY, "fanpin", 0.0006, False),  # 致贫
    ("tuopin", "jiance", 0.0056, True),  # 脱贫不稳定: monitored, stays 脱贫
    ("tuopin", "dibao", 0.0039, True),  # 脱贫 household enters 低保, stays 脱贫
    ("tuopin", "fanpin", 0.0017, True),  # 返贫
    ("jiance", "dibao", 0.0034, False),
    ("jiance", "fanpin", 0.0011, False),
    ("jiance", ORDINARY, 0.0039, False),  # 风险消除: monitoring ends
    ("dibao", ORDINARY, 0.0062, False),  # leaves 低保
    ("dibao", "tekun", 0.0022, False),
    ("dibao", "dibao_edge", 0.0022, False),
    ("dibao_edge", "dibao", 0.0006, False),
    ("fanpin", "dibao", 0.0003, False),
)
"""Identity changes during the year: about 4% of people (employees never change). A change is drawn
per household, so households mostly change together on one date."""


def draw_identities(rng: np.random.Generator, p: dict[str, Arr], year: int, y0: int, ndays: int) -> dict[str, Arr]:
    n = int(p["n"])
    cat = p["cat"]
    k = len(CATS)
    n_hh = int(p["hh"].max()) + 1
    # one change draw and date per household, so households mostly change together
    u = rng.random(n_hh)[p["hh"]]
    u = np.where(p["employee"], 2.0, u)
    change_day = (y0 + rng.integers(30, ndays - 30, size=n_hh))[p["hh"]]

    start = np.array([START_SHARES[c] for c in CATS])
    per_cat: list[list[tuple[int, float, bool]]] = [[] for _ in range(k)]
    for frm, to, share, keep in TRANSITIONS:
        per_cat[CAT_INDEX[frm]].append((CAT_INDEX[to], share / start[CAT_INDEX[frm]], keep))
    width = max(len(t) for t in per_cat)
    cum = np.full((k, width), 2.0)
    to_m = np.full((k, width), -1, dtype=np.int64)
    keep_m = np.zeros((k, width), dtype=bool)
    for c, ts in enumerate(per_cat):
        acc = 0.0
        for j, (to_i, prob, keep_i) in enumerate(ts):
            acc += prob
            cum[c, j], to_m[c, j], keep_m[c, j] = acc, to_i, keep_i
    j = (u[:, None] >= cum[cat]).sum(axis=1)
    j_safe = np.minimum(j, width - 1)
    changes = to_m[cat, j_safe]
    changes = np.where(j < width, changes, -1)
    changes = np.where(cum[cat, j_safe] <= 1.0, changes, -1)
    keep_old = keep_m[cat, j_safe] & (changes >= 0)

    ordinary = CAT_INDEX[ORDINARY]
    # start periods
    has_start = cat != ordinary
    window = {  # years before `year` the start date falls in: (earliest, latest)
        "tuopin": (8, 2),
        "jiance": (2, 1),
        "fanpin": (2, 1),
        "dibao": (8, 1),
        "tekun": (10, 1),
        "dibao_edge": (4, 1),
        ORDINARY: (1, 1),
    }
    lo = np.array([window[c][0] for c in CATS])[cat]
    hi = np.array([window[c][1] for c in CATS])[cat]
    first = year_start(year - lo)
    last = year_start(year - hi + 1) - 1
    start_from = days_between(rng, first, last, n)
    start_to = np.where((changes >= 0) & ~keep_old, change_day - 1, NO_DATE)

    has_new = (changes >= 0) & (changes != ordinary)
    s_idx = np.flatnonzero(has_start)
    n_idx = np.flatnonzero(has_new)
    person = np.concatenate([s_idx, n_idx])
    out = {
        "person": person,
        "cat": np.concatenate([cat[s_idx], changes[n_idx]]),
        "valid_from": np.concatenate([start_from[s_idx], change_day[n_idx]]),
        "valid_to": np.concatenate([start_to[s_idx], np.full(len(n_idx), NO_DATE)]),
    }
    order = np.lexsort((out["valid_from"], person))
    return {key: v[order] for key, v in out.items()}


def identities_frame(ident: dict[str, Arr], psn_no: pl.Series) -> pl.DataFrame:
    bureaus = tuple(CATEGORIES[c].bureau for c in CATS)
    return pl.DataFrame(
        {
            "psn_no": psn_no.gather(pl.Series(ident["person"])),
            "category": gather(CATS, ident["cat"]),
            "valid_from": to_dates(ident["valid_from"]),
            "valid_to": nullable_dates(ident["valid_to"]),
            "source_bureau": gather(bureaus, ident["cat"]),
        }
    )
