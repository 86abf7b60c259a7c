"""The policy's parameters as small int64 tables for the compiled pass.

Arrays indexed by (period, benefit line) combination ``k``, deciding identity, place, hospital
level, enrolment tier …, filled once per batch from the policy's own rules
(:meth:`BenefitLine.deductible_for`, :meth:`BenefitLine.ratio_bands_for`,
:meth:`BenefitLine.place_selfpay_first_for`, :meth:`BenefitLine.class_b_ratio_for`,
:meth:`BenefitLine.cap_for`, :meth:`Policy.tier_applies`, the critical-illness and assistance
blocks' ``*_for`` methods): the kernel looks parameters up, it never decides one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.core.identities import CATEGORIES, ORDINARY
from yibao.policy.schema import (
    INSTITUTION_CLASSES,
    LEVELS,
    PERIODS,
    PLACES,
    RESIDENT_TIERS,
    TIER_NAMES,
    BenefitLine,
    CriticalIllness,
    Facts,
    IdentityOverride,
    Policy,
    level_key,
    period_suffix,
)

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
INF = 1 << 60
"""No cap; a band start no amount reaches."""
CATS: tuple[str, ...] = tuple(CATEGORIES)
"""The built-in categories, the first indices of every run's category space (:func:`categories`)."""
ORD = CATS.index(ORDINARY)
TIERS: tuple[str | None, ...] = ("unit", "individual_1", "individual_2", None)
INSUTYPES = ("390", "310")
ACCOUNT_MODES = ("none", "all", "in_catalogue")
"""``BenefitLine.personal_account``, coded by position (``Tables.acct_mode``)."""


def categories(policies: list[Policy]) -> tuple[str, ...]:
    """The run's identity-category index space: the built-in categories, then those the packs' periods
    declare (``categories``), in code order."""
    return CATS + tuple(sorted({code for pol in policies for code in pol.categories}))


@dataclass(frozen=True)
class Variants:
    """The facts about a person benefit lines go by (:class:`yibao.policy.schema.Facts`): age band, resident
    contribution tier, the claim's institution class, a family-doctor contract, a signed institution; each
    with only the values the pack tells apart. Each line-table row ``k`` is one (period, line, variant);
    variant ``v`` is a mixed-radix number over the dimensions, in this order. An age band's representative
    age is its lowest (``None``: unknown)."""

    cuts: list[int]
    """Ages where some line's band or terms change, ascending (band ``b >= 1`` is ``[cuts[b-2], cuts[b-1])``)."""
    ages: list[int | None]
    tiers: list[int | None]
    institutions: list[str]
    family: list[bool]
    signed: list[bool]

    @property
    def dims(self) -> list[list[Any]]:
        return [self.ages, self.tiers, self.institutions, self.family, self.signed]

    @property
    def size(self) -> int:
        return int(np.prod([len(d) for d in self.dims]))

    def of(self, v: int) -> Facts:
        """The facts variant ``v`` stands for."""
        values = []
        for dim in reversed(self.dims):
            values.append(dim[v % len(dim)])
            v //= len(dim)
        age, tier, institution, family, signed = reversed(values)
        return Facts(age, tier, institution, family, signed)

    def code(self, parts: list[I64]) -> I64:
        """Each claim's variant from its index in every dimension (same order as :attr:`dims`)."""
        out = np.zeros(parts[0].size, np.int64)
        for dim, idx in zip(self.dims, parts, strict=True):
            out = out * len(dim) + idx
        return out


def variants(policies: list[Policy]) -> Variants:
    cuts = sorted({a for pol in policies for a in pol.age_cuts()})
    ages: list[int | None] = [None, 0, *cuts] if cuts else [None]
    tiers: list[int | None] = [None, *RESIDENT_TIERS] if any(pol.uses_resident_tier for pol in policies) else [None]
    institutions = list(INSTITUTION_CLASSES) if any(pol.uses_institution for pol in policies) else ["other"]
    family = [False, True] if any(pol.uses_family_doctor for pol in policies) else [False]
    signed = [False, True] if any(pol.uses_signed for pol in policies) else [False]
    return Variants(cuts, ages, tiers, institutions, family, signed)


@dataclass
class Tables:
    """Small arrays indexed by (period, line) combination ``k``, identity, level, place …, filled
    from the policy's own rules (``deductible_for``, ``ratio_bands_for``, ``cap_for``, ``tier_applies``)."""

    line_keys: list[str]
    variants: Variants
    kind: I64  # [k] 0 none, 1 admission, 2 month / quarter / year, 3 claim
    on_pay: BOOL  # [k] deductible_on payment
    ded: I64  # [k, cat, place, ordinal 0..2, level 0..2]: the identity's deductible at the place
    band_start: I64  # [k, B]
    band_ratio: I64  # [k, cat, place, level 0..2, B] (unclamped: base + identity points + band points)
    first_share: I64  # [k, place]: the share of the base the patient pays first there (place_selfpay_first_for)
    fixed_share: I64  # [k]: the fund's share of the fixed-share items (-1: the line names none)
    class_b_on: I64  # [k]: 1 if the line pays 乙类 at its own ratio
    class_b_ratio: I64  # [k, cat, place, level 0..2]: that ratio with the identity's points (unclamped)
    cap: I64  # [k, cat, tier 0..3] (INF: no cap)
    cap_slot: I64  # [k] first accumulator slot of the line's cap group (one slot per period of the year)
    cap_per: I64  # [k] periods a year of the cap: 1 year, 4 quarter, 12 month
    ded_slot: I64  # [k] first slot of the periodic deductible's group (deductible_base or deductible_taken)
    ded_per: I64  # [k] periods a year of the deductible
    ded_high: BOOL  # [k] deductible_level highest: the highest level attended in the period decides
    lvl_slot: I64  # [k] first slot of the deductible group's claims per level (3 per period: L1, L2, L3)
    comb_slot: I64  # [k] first slot of the line's combined-cap block in basic_paid (-1: none; periods as the cap's)
    comb_cap: I64  # [k] the block's combined cap
    ceiling: I64  # [k] cost_ceiling (INF: none)
    ceil_slot: I64  # [k] slot of the ceiling group's covered cost
    ceil_gross: BOOL  # [k] the ceiling counts from the first fen
    full_pay: I64  # [k] 0 no full-pay items, 1 paid in full within the cap, 2 outside it (BenefitLine.full_pay_kind)
    acct_mode: I64  # [k] the line's personal_account, an index of ACCOUNT_MODES (0: no account)
    acct_first: I64  # [k] 1: account_first, the account pays the basic base first
    applies: BOOL  # [payer tier 0 ci / 1 ma / 2 ta, k, insutype 0 res / 1 emp, cat]
    ci_ded: I64  # [p, insutype, cat]: of the critical-illness block serving the scheme
    ci_cap: I64  # [p, insutype, cat]
    ci_band_start: I64  # [p * 2 + insutype, B]
    ci_band_ratio: I64  # [p, insutype, cat, B]
    ci_above: BOOL  # [p, insutype]
    ma_ded: I64  # [p, cat, major 0 ordinary / 1 designated major disease]
    ma_ratio: I64  # [p, cat, major]
    ma_cap: I64  # [p, cat, major]
    ta_thr: I64  # [p, cat, major]
    ta_ratio: I64  # [p, cat, major]
    ta_cap: I64  # [p, cat, major]
    in_catalogue: BOOL  # [p, payer tier 0 ci / 1 ma / 2 ta, insutype]: base includes preselfpay_amt
    captn_cap: I64  # [p, cat]: a capitation claim's cap in place of the line's (Capitation.cap_for; INF: none)
    captn_limit: I64  # [p, cat]: the person's yearly limit of the township's pot (Capitation.limit_for)
    slots: list[str]
    """The accumulator map keys after YearToDate's scalars, one per slot: ``basic_paid.pool``,
    ``deductible_base.opd@M03`` … (see :func:`yibao.policy.schema.period_key`)."""


def _pad_bands(rows: list[list[int]]) -> I64:
    width = max(len(r) for r in rows)
    starts = np.full((len(rows), width), INF, dtype=np.int64)
    for i, r in enumerate(rows):
        starts[i, : len(r)] = r
    return starts


def _copy_rows(t: dict[str, Any], src: list[int], dst: list[int]) -> None:
    """Rows ``dst`` of every line table made rows ``src`` (``applies`` is indexed by payer first)."""
    if not dst:
        return
    for name, arr in t.items():
        if name == "applies":
            arr[:, dst] = arr[:, src]
        else:
            arr[dst] = arr[src]


def _fen(cap: int | None) -> int:
    return int(INF) if cap is None else cap


KINDS = {"none": 0, "admission": 1, "month": 2, "quarter": 2, "year": 2, "claim": 3}


def _applies(pol: Policy, key: str, cats: tuple[str, ...]) -> BOOL:
    """``applies`` of the period's line (the same for every person variant): [payer tier, insutype, cat]."""
    out = np.zeros((len(TIER_NAMES), len(INSUTYPES), len(cats)), bool)
    for (n, name), (i, ins), (c, cat) in itertools.product(enumerate(TIER_NAMES), enumerate(INSUTYPES), enumerate(cats)):
        out[n, i, c] = pol.tier_applies(name, key, ins, cat)
    return out


def _line_row(t: dict[str, Any], k: int, pol: Policy, key: str, line: BenefitLine, slot: Callable[..., int]) -> None:
    """Row ``k``'s scalar terms of the line (with the variant's person terms applied) and its accumulator slots."""
    t["kind"][k] = KINDS[line.deductible_kind]
    t["on_pay"][k] = line.deductible_on == "payment"
    t["cap_slot"][k], t["cap_per"][k] = slot("basic_paid", line.cap_key(key), line.cap_period), PERIODS[line.cap_period]
    combined = pol.combined_for(key)
    if combined is not None:
        t["comb_slot"][k] = slot("basic_paid", combined[0], line.cap_period)
        t["comb_cap"][k] = combined[1].cap
    period = line.deductible_period
    if period is not None:
        name = "deductible_taken" if line.counts_deductible_paid else "deductible_base"
        t["ded_slot"][k], t["ded_per"][k] = slot(name, line.deductible_key(key), period), PERIODS[period]
        if line.deductible_level == "highest":
            t["ded_high"][k] = True
            t["lvl_slot"][k] = slot("deductible_levels", line.deductible_key(key), period, per_level=True)
    if line.cost_ceiling is not None:
        t["ceiling"][k], t["ceil_slot"][k] = line.cost_ceiling, slot("covered_cost", line.ceiling_key(key))
        t["ceil_gross"][k] = line.cost_ceiling_basis == "gross" or line.deductible_on == "payment"
    t["full_pay"][k] = line.full_pay_kind
    t["acct_mode"][k], t["acct_first"][k] = ACCOUNT_MODES.index(line.personal_account), line.account_first
    t["fixed_share"][k] = -1 if line.fixed_share is None else line.fixed_share
    t["class_b_on"][k] = line.class_b_ratio is not None
    t["first_share"][k] = [line.place_selfpay_first_for(place) for place in PLACES]


def _person_cells(t: dict[str, Any], k: int, line: BenefitLine, cats: tuple[str, ...]) -> None:
    """Row ``k``'s terms by identity, place, level and tier. The line's ``*_for(identity, …)`` rules see the
    identity only through its override (:meth:`BenefitLine.override_for`), so they are asked once per distinct
    override, for its first identity, and the answers stand for every identity sharing it."""
    groups: dict[IdentityOverride, list[int]] = {}
    for c, cat in enumerate(cats):
        groups.setdefault(line.override_for(cat), []).append(c)
    width = t["band_ratio"].shape[-1]
    for members in groups.values():
        cat = cats[members[0]]
        ded = [[[line.deductible_for(cat, lv, o, place) for lv in LEVELS] for o in (1, 2, 3)] for place in PLACES]
        t["ded"][k, members] = ded
        bands = [[[r for _, r in line.ratio_bands_for(cat, place, lv)] for lv in LEVELS] for place in PLACES]
        t["band_ratio"][k, members] = [[r + [0] * (width - len(r)) for r in by_level] for by_level in bands]
        t["class_b_ratio"][k, members] = [[line.class_b_ratio_for(cat, place, lv) or 0 for lv in LEVELS] for place in PLACES]
        t["cap"][k, members] = [_fen(line.cap_for(cat, tier)) for tier in TIERS]


CELLS = ("ded", "band_ratio", "class_b_ratio", "cap")
"""The tables :func:`_person_cells` fills: they depend on the line (with the person terms applied) alone."""


def _line_tables(policies: list[Policy], line_keys: list[str], slots: list[str], var: Variants) -> dict[str, Any]:
    """The basic-insurance tables per (period, line, person variant), identity, place, level and tier:
    ``k = (period * lines + line) * variants + variant``, the line with the variant's person terms applied."""
    cats = categories(policies)
    P, L, C, V, NP = len(policies), len(line_keys), len(cats), var.size, len(PLACES)
    K = P * L * V
    width = max(max((len(ln.ratio_bands) for ln in pol.lines.values()), default=1) for pol in policies) or 1

    def slot(name: str, group: str, period: str = "year", per_level: bool = False) -> int:
        """The first of the group's slots in map ``name``, one per period of the year (and per hospital
        level, ``per_level``), added when new."""
        names = [f"{name}.{group}{period_suffix(period, i)}" for i in range(PERIODS[period])]
        if per_level:
            names = [level_key(n, lv) for n in names for lv in LEVELS]
        if names[0] not in slots:
            slots.extend(names)
        return slots.index(names[0])

    t: dict[str, Any] = {
        "kind": np.zeros(K, np.int64),
        "on_pay": np.zeros(K, bool),
        "ded": np.zeros((K, C, NP, 3, 3), np.int64),
        "band_ratio": np.zeros((K, C, NP, 3, width), np.int64),
        "first_share": np.zeros((K, NP), np.int64),
        "fixed_share": np.full(K, -1, np.int64),
        "class_b_on": np.zeros(K, np.int64),
        "class_b_ratio": np.zeros((K, C, NP, 3), np.int64),
        "cap": np.full((K, C, 4), INF, np.int64),
        "cap_slot": np.zeros(K, np.int64),
        "cap_per": np.ones(K, np.int64),
        "ded_slot": np.zeros(K, np.int64),
        "ded_per": np.ones(K, np.int64),
        "ded_high": np.zeros(K, bool),
        "lvl_slot": np.zeros(K, np.int64),
        "comb_slot": np.full(K, -1, np.int64),
        "comb_cap": np.full(K, INF, np.int64),
        "ceiling": np.full(K, INF, np.int64),
        "ceil_slot": np.zeros(K, np.int64),
        "ceil_gross": np.zeros(K, bool),
        "full_pay": np.zeros(K, np.int64),
        "acct_mode": np.zeros(K, np.int64),
        "acct_first": np.zeros(K, np.int64),
        "applies": np.zeros((len(TIER_NAMES), K, len(INSUTYPES), C), bool),
    }
    starts: list[list[int]] = [[0] for _ in range(K)]
    filled: dict[tuple[int, int, tuple[str, ...]], int] = {}  # (period, line, person terms held) -> its first row
    copies: tuple[list[int], list[int]] = ([], [])  # rows made the same as a filled row, at the end
    cells: dict[int, tuple[BenefitLine, int]] = {}  # id(line) -> the line (kept alive) and the row holding its cells
    facts = [var.of(v) for v in range(V)]
    for p, pol in enumerate(policies):
        for l_i, key in enumerate(line_keys):
            own = pol.lines.get(key)
            if own is None:
                continue
            applies = _applies(pol, key, cats)
            for v in range(V):
                k = (p * L + l_i) * V + v
                held = (p, l_i, tuple(own.terms_held(facts[v])))
                if held in filled:  # the same terms as a variant already filled: the same rows
                    copies[0].append(filled[held])
                    copies[1].append(k)
                    starts[k] = starts[filled[held]]
                    continue
                filled[held] = k
                line = own.for_person(facts[v])
                _line_row(t, k, pol, key, line, slot)
                t["applies"][:, k] = applies
                starts[k] = [b.start for b in line.ratio_bands] or [0]
                if id(line) in cells:  # the same line object in another period: the same cells
                    for name in CELLS:
                        t[name][k] = t[name][cells[id(line)][1]]
                else:
                    cells[id(line)] = (line, k)
                    _person_cells(t, k, line, cats)
    _copy_rows(t, *copies)
    t["band_start"] = _pad_bands(starts)
    return t


def _tier_tables(policies: list[Policy]) -> dict[str, Any]:
    """Critical illness (the block serving each scheme), assistance and tilted assistance per period,
    identity and (assistance tiers) ordinary / designated-major-disease terms."""
    cats = categories(policies)
    P, C, N = len(policies), len(cats), len(INSUTYPES)
    blocks = [[pol.tier("critical_illness", ins) for ins in INSUTYPES] for pol in policies]
    width = max((len(ci.bands) for row in blocks for ci in row if isinstance(ci, CriticalIllness)), default=1)
    t: dict[str, Any] = {
        "ci_ded": np.zeros((P, N, C), np.int64),
        "ci_cap": np.full((P, N, C), INF, np.int64),
        "ci_band_ratio": np.zeros((P, N, C, width), np.int64),
        "ci_above": np.zeros((P, N), bool),
        "ma_ded": np.zeros((P, C, 2), np.int64),
        "ma_ratio": np.zeros((P, C, 2), np.int64),
        "ma_cap": np.full((P, C, 2), INF, np.int64),
        "ta_thr": np.zeros((P, C, 2), np.int64),
        "ta_ratio": np.zeros((P, C, 2), np.int64),
        "ta_cap": np.full((P, C, 2), INF, np.int64),
        "in_catalogue": np.zeros((P, len(TIER_NAMES), N), bool),
    }
    starts: list[list[int]] = []
    for p, pol in enumerate(policies):
        for n, ins in ((n, ins) for n in range(len(TIER_NAMES)) for ins in INSUTYPES):
            t["in_catalogue"][p, n, INSUTYPES.index(ins)] = pol.tier_base_in_catalogue(TIER_NAMES[n], ins)
        for i, ci in enumerate(blocks[p]):
            assert ci is None or isinstance(ci, CriticalIllness)
            starts.append([b.start for b in ci.bands] if ci else [0])
            t["ci_above"][p, i] = ci is not None and ci.band_basis == "above_deductible"
            for c, cat in enumerate(cats):
                if ci is not None:
                    t["ci_ded"][p, i, c] = ci.deductible_for(cat)
                    t["ci_cap"][p, i, c] = _fen(ci.cap_for(cat))
                    ratios = [r for _, r in ci.bands_for(cat)]
                    t["ci_band_ratio"][p, i, c, : len(ratios)] = ratios
        for prefix, block in (("ma", pol.assistance), ("ta", pol.tilted_assistance)):
            for (c, cat), major in ((a, m) for a in enumerate(cats) for m in (0, 1)):
                if block is not None and cat in block.categories:
                    terms = block.terms_for(cat, bool(major))
                    threshold = "ded" if prefix == "ma" else "thr"
                    t[f"{prefix}_{threshold}"][p, c, major] = terms.threshold
                    t[f"{prefix}_ratio"][p, c, major] = terms.ratio
                    t[f"{prefix}_cap"][p, c, major] = terms.cap
    t["ci_band_start"] = _pad_bands(starts)  # row p * 2 + scheme
    return t


def _capitation_tables(policies: list[Policy]) -> dict[str, Any]:
    """门诊统筹人头定额 per period and identity: the cap a capitation claim is paid within (the pot's limit, or an
    over-limit category's cap) and the limit paid by head (:meth:`Capitation.cap_for`, :meth:`Capitation.limit_for`)."""
    cats = categories(policies)
    cap = np.full((len(policies), len(cats)), INF, np.int64)
    limit = np.zeros((len(policies), len(cats)), np.int64)
    for p, pol in enumerate(policies):
        if pol.capitation is not None:
            cap[p] = [_fen(pol.capitation.cap_for(cat)) for cat in cats]
            limit[p] = [pol.capitation.limit_for(cat) for cat in cats]
    return {"captn_cap": cap, "captn_limit": limit}


def build_tables(policies: list[Policy], line_keys: list[str]) -> Tables:
    slots: list[str] = []
    var = variants(policies)
    return Tables(
        line_keys=line_keys,
        variants=var,
        slots=slots,
        **_line_tables(policies, line_keys, slots, var),
        **_tier_tables(policies),
        **_capitation_tables(policies),
    )
