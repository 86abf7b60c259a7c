"""The compiled pass: every payer of every claim, and the personal account, one claim after another,
per person-year (the account's balance left is an accumulator: an ``account_first`` line pays from it
before the deductible).

This is :mod:`yibao.settlement.tiers` and :mod:`yibao.settlement.arith` written once more, for
numba: the claims come sorted by person and date, each tagged with its person-year, and row
``s`` of the ``ytd`` table is person-year ``s``'s :class:`~yibao.settlement.model.YearToDate`:
each claim reads its accumulators there before it is settled and adds what it consumed, as
``settle`` does with ``ytd`` and ``ytd_after``. Each step names the rule it mirrors; the
Hypothesis differential test (tests/integration/test_batch_differential.py) proves the two
equal to the fen on random packs and people.

Every policy choice (deductible, ratio bands, cap, whether a tier applies) was made by the
policy's own methods when the parameter tables were filled (:mod:`yibao.settlement.batch.tables`);
the kernel only looks them up and does the arithmetic. Money is int64 fen; rounding is
:func:`half_up`, the integer rule of :func:`yibao.core.money.half_up`.

This module imports numba: the engine imports it on first use, so ``yibao`` starts without it.
The functions compile on their first call (never at import) and are cached next to this file
(``cache=True``; numba falls back to its user-wide cache directory where the package directory
is read-only): only the first run on a machine pays for compiling. Compile time grows with the
number of statements and argument types, so the kernel takes int64 arrays only, allocates
nothing and has its steps inlined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from yibao.core.money import BP
from yibao.policy.schema import PLACES
from yibao.settlement.batch.tables import INF, Tables

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
F = TypeVar("F", bound=Callable[..., Any])

PAID = ("act_pay_dedc", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "acct_pay", "captn_pay")
"""The per-claim payments the kernel writes: the rows of :attr:`Paid.paid`."""
YTD_SCALARS = ("admissions", "ci_base", "ci_paid", "maf_base", "maf_paid", "tilt_base", "tilt_paid", "acct_paid")
"""A person-year's scalar accumulators (:class:`yibao.settlement.model.YearToDate`): the first
columns of :attr:`Paid.ytd`; then one column per slot of ``Tables.slots`` (a key of one of its
maps, with its period: ``basic_paid.pool@M03``)."""
ADMISSIONS, CI_BASE, CI_PAID, MAF_BASE, MAF_PAID, TILT_BASE, TILT_PAID, ACCT_PAID = range(len(YTD_SCALARS))
SLOTS = len(YTD_SCALARS)


def _jit(fn: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def _inline(fn: F) -> F:
    """A step of the kernel: inlined into it when it compiles (no function of its own to compile)."""
    return cast(F, numba.njit(inline="always", cache=True)(fn))


@dataclass
class Claims:
    """The prepared claims, one int64 per claim, sorted by person then date."""

    person_year: I64  # 0, 1, 2 …: which person-year the claim belongs to (rising)
    k: I64  # (period, benefit line) combination: the row of the line tables
    period: I64  # policy period (each dated parameter change starts one)
    cat: I64  # deciding identity (index of tables.CATS)
    place: I64  # index of yibao.policy.schema.PLACES (in county, out of county, cross-region filed, unfiled, finer kinds)
    level: I64  # hospital level - 1
    insutype: I64  # 0 residents (390), 1 employees (310)
    emp_tier: I64  # 0 unit, 1 individual_1, 2 individual_2, 3 none
    scp: I64  # inscp_scp_amt: the policy-range amount
    full_pay_scp: I64  # full_pay_scp_amt: the part of it the line pays in full (if the line has full-pay items)
    month: I64  # the settlement date's month - 1 (0..11): which period of the year monthly / quarterly slots count in
    waived: I64  # 1: the line's deductible is waived (a filed special disease, deductible_waived_for)
    pre: I64  # preselfpay_amt: the 乙类 self-pay-first part (in the base of tiers with base in_catalogue)
    major: I64  # designated 重特大疾病 (Policy.is_major): 1 for assistance, 2 for tilted assistance, or both
    combined: I64  # 1: the person's filings qualify for the line's combined cap (two listed diseases or more)
    fixed_share_scp: I64  # fixed_share_scp_amt: the part on fixed-share items (if the line has them)
    class_b_scp: I64  # class_b_scp_amt: the 乙类 part of the rest (if the line pays 乙类 at its own ratio)
    medfee: I64  # medfee_sumamt: the total (the person's share is it less the funds)
    self_paid: I64  # fulamt_ownpay_amt + overlmt_selfpay: outside the share an in_catalogue account pays
    balance: I64  # the person's acct_balance: the personal account's balance before the year's claims
    captn: I64  # 1: the claim draws on a capitation township's pot (prepare.capitation_towns)


@dataclass
class Paid:
    paid: I64
    """(len(PAID), claims): each claim's payments, rows in the order of :data:`PAID`."""
    ytd: I64
    """(person-years, len(YTD_SCALARS) + slots): each person-year's accumulators after its last claim."""

    def ytd_columns(self, t: Tables) -> dict[str, I64]:
        """The accumulators by name (YearToDate's): the scalars, then every slot of the pack's maps
        (``basic_paid.pool``, ``deductible_base.opd@M03`` …)."""
        out = {name: self.ytd[:, i] for i, name in enumerate(YTD_SCALARS)}
        out.update({name: self.ytd[:, SLOTS + i] for i, name in enumerate(t.slots)})
        return out


def settle_claims(t: Tables, c: Claims) -> Paid:
    """Every claim's payments and every person-year's accumulators, in one compiled pass."""
    paid = np.empty((len(PAID), c.k.size), np.int64)  # the kernel writes every claim's payments
    ytd = np.zeros((int(c.person_year[-1]) + 1 if c.k.size else 0, SLOTS + len(t.slots)), np.int64)
    # every argument an int64 array and every band table two-dimensional (one row per band list):
    # fewer types and views make the kernel compile faster
    i64 = np.int64
    _settle(
        c.person_year, c.k, c.period, c.cat, c.place, c.level, c.insutype, c.emp_tier, c.scp, c.full_pay_scp, c.month,
        c.waived, c.combined, c.pre, c.major, c.fixed_share_scp, c.class_b_scp, c.medfee, c.self_paid, c.balance, c.captn,
        t.kind, t.on_pay.astype(i64), t.ded, t.band_start, t.band_ratio.reshape(-1, t.band_start.shape[1]),
        t.first_share, t.fixed_share, t.class_b_on, t.class_b_ratio, t.cap,
        t.cap_slot, t.cap_per, t.comb_slot, t.comb_cap, t.ded_slot, t.ded_per, t.ded_high.astype(i64), t.lvl_slot,
        t.ceiling, t.ceil_slot, t.ceil_gross.astype(i64), t.full_pay, t.acct_mode, t.acct_first,
        t.applies.astype(i64), t.ci_ded, t.ci_cap, t.ci_band_start,
        t.ci_band_ratio.reshape(-1, t.ci_band_start.shape[1]), t.ci_above.astype(i64), t.ma_ded, t.ma_ratio, t.ma_cap,
        t.ta_thr, t.ta_ratio, t.ta_cap, t.in_catalogue.astype(i64), t.captn_cap, t.captn_limit, paid, ytd,
    )  # fmt: skip
    return Paid(paid, ytd)


# ---------------------------------------------------------------- arith, once more


@_inline
def half_up(numerator: int, denominator: int) -> int:
    """yibao.core.money.half_up: ``numerator / denominator`` rounded half up, in integers."""
    return (2 * numerator + denominator) // (2 * denominator)


@_inline
def above_threshold(before: int, base: int, threshold: int) -> int:
    """arith.above_threshold: the part of ``base`` above ``threshold`` on the cumulative scale from ``before``."""
    return max(before + base, threshold) - max(before, threshold)


@_inline
def cap_pay(raw: int, cap: int, paid_before: int) -> int:
    """arith.cap_pay: pay ``raw`` within what ``cap`` leaves after ``paid_before`` (``INF``: no cap)."""
    if cap >= INF:
        return raw
    return min(raw, max(0, cap - paid_before))


@_inline
def head_part(pay: int, limit: int, paid_before: int) -> int:
    """capitation.head_part: of a capitation claim's capped basic payment, the part within the person's yearly
    ``limit`` left after ``paid_before`` (paid by head)."""
    return min(pay, max(0, limit - paid_before))


@_inline
def later_base(in_catalogue: int, after_basic: int, pre: int, paid_later: int) -> int:
    """tiers.later_base: policy-range self-pay left after basic and the earlier later tiers (never below
    0), or with ``in_catalogue`` that plus the 乙类 self-pay-first part."""
    if in_catalogue:
        return after_basic + pre - paid_later
    return max(0, after_basic - paid_later)


@_inline
def banded(lo: int, hi: int, starts: I64, start_row: int, ratios: I64, ratio_row: int) -> int:
    """arith.split_bands + pay_segments: ``[lo, hi)`` cut by the marginal bands starting at
    ``starts[start_row]``, each part times its ratio ``ratios[ratio_row]`` clamped to 0..100%,
    summed exactly and rounded half up once (unused bands start at INF)."""
    total = 0
    n = starts.shape[1]
    for b in range(n):
        start = starts[start_row, b]
        if start >= INF:
            break
        end = starts[start_row, b + 1] if b + 1 < n else INF
        a, e = max(lo, start), min(hi, end)
        if e > a:
            total += (e - a) * max(0, min(BP, ratios[ratio_row, b]))
    return half_up(total, BP)


# ---------------------------------------------------------------- settle, once more


@_jit
def _settle(  # the scalar rules in one loop, on purpose
    person_year: I64, k_: I64, period_: I64, cat_: I64, place_: I64, level_: I64, ins_: I64, tier_: I64, scp_: I64,
    full_pay_scp_: I64, month_: I64, waived_: I64, combined_: I64, pre_: I64, major_: I64, fixed_scp_: I64,
    class_b_scp_: I64, medfee_: I64, self_paid_: I64, balance_: I64, captn_: I64,
    kind: I64, on_pay: I64, ded: I64, band_start: I64, band_ratio: I64, first_share: I64, fixed_share: I64,
    class_b_on: I64, class_b_ratio: I64, cap: I64, cap_slot: I64, cap_per: I64,
    comb_slot: I64, comb_cap: I64, ded_slot: I64, ded_per: I64, ded_high: I64, lvl_slot: I64, ceiling: I64,
    ceil_slot: I64, ceil_gross: I64, full_pay: I64, acct_mode: I64, acct_first: I64,
    applies: I64, ci_ded: I64, ci_cap: I64, ci_band_start: I64, ci_band_ratio: I64, ci_above: I64, ma_ded: I64,
    ma_ratio: I64, ma_cap: I64, ta_thr: I64, ta_ratio: I64, ta_cap: I64, in_cat: I64, captn_cap: I64, captn_limit: I64,
    paid: I64, ytd: I64,
) -> None:  # fmt: skip
    """``ytd[s]`` is person-year ``s``'s YearToDate: each claim reads its accumulators before the
    claim there and adds what it consumed, as ``settle`` does with ``ytd`` and ``ytd_after``."""
    n_cats, n_places, n_levels = cap.shape[1], len(PLACES), ded.shape[4]
    for i in range(k_.size):
        s, k, p, c, lv, ins, at = person_year[i], k_[i], period_[i], cat_[i], level_[i], ins_[i], place_[i]
        scp, month, account = scp_[i], month_[i], acct_mode[k]
        left = max(0, balance_[i] - ytd[s, ACCT_PAID]) if account else 0  # the account's balance left this year

        # ---- tiers.basic
        full = full_pay_scp_[i] if full_pay[k] else 0  # full_pay_items: paid in full, outside deductible and ratio
        fixed = fixed_scp_[i] if fixed_share[k] >= 0 else 0  # fixed_share_items: the fixed share, outside them too
        apart = full + (half_up(fixed * fixed_share[k], BP) if fixed_share[k] >= 0 else 0)
        whole = scp - full - fixed  # BasicInput.normal
        normal = whole - half_up(whole * first_share[k, at], BP)  # BasicInput.base: the place's self-pay first off
        if acct_first[k]:  # BasicInput.account: the personal account pays first, only the rest goes on
            normal -= min(max(0, normal), left)
        # tiers._deductible: the deductible in force (what the period has left of it) and the base's lower end
        d = 0
        lo = 0
        period_of_year = month * ded_per[k] // 12
        g = SLOTS + ded_slot[k] + period_of_year  # a periodic deductible's slot: its group, this period
        if waived_[i]:  # a filed special disease: no deductible, nothing counted (an admission still counts)
            if kind[k] == 1:
                ytd[s, ADMISSIONS] += 1
        elif kind[k] == 1:  # deductible_kind admission: the year's 1st, 2nd, 3rd-and-later admission
            d = ded[k, c, at, min(ytd[s, ADMISSIONS], 2), lv]
            ytd[s, ADMISSIONS] += 1
        elif kind[k] == 3:  # claim
            d = ded[k, c, at, 0, lv]
        elif kind[k] == 2 and ded_high[k]:  # the highest level attended in the period, less what was paid of it
            gl = SLOTS + lvl_slot[k] + 3 * period_of_year
            top = lv
            for other in range(3):
                if ytd[s, gl + other] > 0 and other > top:
                    top = other
            d = max(0, ded[k, c, at, 0, top] - ytd[s, g])
            ytd[s, gl + lv] += 1
            if not on_pay[k]:
                lo = min(normal, d)
                ytd[s, g] += lo
        elif kind[k] == 2:  # month / quarter / year
            d = ded[k, c, at, 0, lv]
            if on_pay[k]:  # deductible_taken: what the period's payments gave up already
                d = max(0, d - ytd[s, g])
            else:  # deductible_base: the group's deductible measured on its in-period base
                lo = normal - above_threshold(ytd[s, g], normal, d)
                ytd[s, g] += normal
        if (kind[k] == 1 or kind[k] == 3) and not on_pay[k]:
            lo = min(normal, d)
        # tiers._ceiling: the cost still under the yearly ceiling
        hi = normal
        if ceiling[k] < INF:
            room = max(0, ceiling[k] - ytd[s, SLOTS + ceil_slot[k]])
            if ceil_gross[k]:
                counted = min(normal, room)
                hi = max(lo, counted)
            else:
                counted = min(normal - lo, room)
                hi = lo + counted
            ytd[s, SLOTS + ceil_slot[k]] += counted
        # class_b_ratio_for: the 乙类 share of what the ratio is paid on, at its own ratio
        b_part = 0
        b_pay = 0
        if class_b_on[k]:
            if whole > 0:
                b_part = half_up((hi - lo) * class_b_scp_[i], whole)
            b_pay = half_up(b_part * max(0, min(BP, class_b_ratio[k, c, at, lv])), BP)
        # ratio_bands_for(identity, place, level) over [lo, hi - 乙类 part)
        bands = ((k * n_cats + c) * n_places + at) * n_levels + lv
        raw = banded(lo, hi - b_part, band_start, k, band_ratio, bands) + b_pay
        dedc = lo
        if on_pay[k]:  # tiers._deductible_off_pay
            dedc = min(raw, d)
            raw -= dedc
            if kind[k] == 2:
                ytd[s, g] += dedc
        outside = full if full_pay[k] == 2 else 0  # full_pay_in_cap false: paid in full, outside the cap
        raw += apart - outside
        # cap_for(identity, emp_tier), counted in the line's cap group and period
        g = SLOTS + cap_slot[k] + month * cap_per[k] // 12
        gc = SLOTS + comb_slot[k] + month * cap_per[k] // 12  # the combined-cap block's slot (comb_slot -1: none)
        line_cap = cap[k, c, tier_[i]]
        head = 0
        if captn_[i]:  # 门诊统筹人头定额: the pot's limit, or an over-limit category's cap, replaces the line's
            hifp = cap_pay(raw, captn_cap[p, c], ytd[s, g])
            head = head_part(hifp, captn_limit[p, c], ytd[s, g])  # tiers._capitation_split: paid by head
        elif comb_slot[k] >= 0 and combined_[i] and line_cap < INF:  # 合并限额 replaces the line's cap
            hifp = cap_pay(raw, comb_cap[k], ytd[s, gc])
        else:
            hifp = cap_pay(raw, line_cap, ytd[s, g])
        ytd[s, g] += hifp
        if comb_slot[k] >= 0:
            ytd[s, gc] += hifp
        hifp += outside
        after = scp - hifp  # policy-range self-pay left after basic
        pre = pre_[i]

        # ---- tiers.critical_illness: bands on the cumulative base, of the block serving the scheme
        hifmi = 0
        if applies[0, k, ins, c]:
            base = later_base(in_cat[p, 0, ins], after, pre, 0)
            d, before = ci_ded[p, ins, c], ytd[s, CI_BASE]
            lo, hi = max(before, d), max(before + base, d)
            if ci_above[p, ins]:  # band_basis above_deductible: band starts counted from the deductible
                lo, hi = lo - d, hi - d
            pi = p * 2 + ins
            hifmi = cap_pay(banded(lo, hi, ci_band_start, pi, ci_band_ratio, pi * n_cats + c), ci_cap[p, ins, c], ytd[s, CI_PAID])
            ytd[s, CI_BASE] += base
            ytd[s, CI_PAID] += hifmi

        # ---- tiers.assistance: the category's terms (major-disease ones if designated) on the one yearly base and total
        maf = 0
        if applies[1, k, ins, c]:
            base = later_base(in_cat[p, 1, ins], after, pre, hifmi)
            m = major_[i] & 1
            above = above_threshold(ytd[s, MAF_BASE], base, ma_ded[p, c, m])
            maf = cap_pay(half_up(above * ma_ratio[p, c, m], BP), ma_cap[p, c, m], ytd[s, MAF_PAID])
            ytd[s, MAF_BASE] += base
            ytd[s, MAF_PAID] += maf

        # ---- tiers.tilted: the category's threshold, ratio and cap on the one yearly base and total
        oth = 0
        if applies[2, k, ins, c]:
            base = later_base(in_cat[p, 2, ins], after, pre, hifmi + maf)
            m = (major_[i] >> 1) & 1
            above = above_threshold(ytd[s, TILT_BASE], base, ta_thr[p, c, m])
            oth = cap_pay(half_up(above * ta_ratio[p, c, m], BP), ta_cap[p, c, m], ytd[s, TILT_PAID])
            ytd[s, TILT_BASE] += base
            ytd[s, TILT_PAID] += oth

        # ---- settle._account: the line's payable share (BenefitLine.account_payable), up to the balance left
        acct = 0
        if account:
            share = medfee_[i] - hifp - hifmi - maf - oth
            acct = min(max(0, share if account == 1 else share - self_paid_[i]), left)
            ytd[s, ACCT_PAID] += acct

        paid[0, i] = dedc
        paid[1, i] = hifp
        paid[2, i] = hifmi
        paid[3, i] = maf
        paid[4, i] = oth
        paid[5, i] = acct
        paid[6, i] = head
