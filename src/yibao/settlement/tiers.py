"""The four payers, each a small pure function: base in, payment and trace out.

Order: basic insurance (基本医保) -> critical illness insurance (大病保险) -> medical
assistance (医疗救助) -> tilted assistance (倾斜救助). Each works on the policy-range
self-pay the earlier ones left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from yibao.core.money import apply_ratio, half_up
from yibao.policy.schema import (
    LEVELS,
    Assistance,
    BenefitLine,
    Capitation,
    CombinedCap,
    CriticalIllness,
    Policy,
    Terms,
    TierName,
    TiltedAssistance,
    level_key,
    period_index,
    period_key,
)
from yibao.settlement.arith import Segment, above_threshold, cap_pay, clamp_bp, pay_segments, split_bands
from yibao.settlement.capitation import head_part
from yibao.settlement.model import TraceStep, YearToDate


@dataclass
class TierResult:
    pay: int = 0
    base: int = 0
    remaining: int | None = None
    applied: bool = False
    trace: list[TraceStep] = field(default_factory=list)
    consumed: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def step(self, tier: str, key: str, **args: Any) -> None:
        self.trace.append(TraceStep(tier, key, args))


def _segments_trace(r: TierResult, tier: str, segments: list[Segment]) -> None:
    for s in segments:
        r.step(tier, "segment", lo_fen=s.lo, hi_fen=s.hi, ratio_bp=s.ratio_bp, amount_fen=s.amount)


def _cap_trace(r: TierResult, tier: str, cap: int | None, paid_before: int, raw: int, reason: str = "", **period: Any) -> None:
    if cap is None:
        r.step(tier, "no_cap", raw_fen=raw, reason=reason)
    else:
        r.step(tier, "cap", cap_fen=cap, paid_before_fen=paid_before, raw_fen=raw, pay_fen=r.pay, **period)


@dataclass(frozen=True)
class BasicInput:
    key: str
    line: BenefitLine
    identity: str
    scp: int
    full_pay_scp: int
    hosp_lv: int
    place: str
    emp_tier: str | None
    day: date
    ytd: YearToDate
    """The accumulators before the claim."""
    waived: bool = False
    """The deductible is waived (a filed special disease, ``deductible_waived_for``)."""
    combined: tuple[str, CombinedCap] | None = None
    """The combined-cap block of the line (its payments count there too)."""
    qualifies: bool = False
    """The person's filings cover two or more of the block's diseases: its cap replaces the line's."""
    fixed_share_scp: int = 0
    """The part of ``scp`` on the line's fixed-share items."""
    class_b_scp: int = 0
    """The 乙类 part of the rest, for a line with ``class_b_ratio``."""
    acct_left: int = 0
    """The personal account's balance left for the year before the claim (paid first on an
    ``account_first`` line)."""
    capitation: Capitation | None = None
    """The capitation block when the claim draws on a township's pot (its cap replaces the line's)."""
    township: str = ""
    """That township (:func:`yibao.settlement.capitation.capitation_township`)."""

    @property
    def normal(self) -> int:
        """The policy-range amount the deductible and the ratio work on, before the place's self-pay first:
        without the items paid in full or at a fixed share."""
        return self.scp - self.full_pay_scp - self.fixed_share_scp

    @property
    def first(self) -> int:
        """The place's self-pay-first share of :attr:`normal` (异地未备案先自付 …), rounded half up."""
        return apply_ratio(self.normal, self.line.place_selfpay_first_for(self.place))

    @property
    def account(self) -> int:
        """What the personal account pays first on an ``account_first`` line (当年账户先支付), of
        :attr:`normal` less the place's self-pay first (:meth:`BenefitLine.account_first_pays`)."""
        return self.line.account_first_pays(self.normal - self.first, self.acct_left)

    @property
    def base(self) -> int:
        """What the deductible and the ratio work on: :attr:`normal` less the place's self-pay first and
        what the personal account paid first."""
        return self.normal - self.first - self.account


def _apart(r: TierResult, t: str, i: BasicInput) -> int:
    """What basic insurance pays apart from the deductible and the ratio: listed 甲类 items in full,
    the fixed share of the fixed-share items."""
    if i.full_pay_scp:
        r.step(t, "full_pay" if i.line.full_pay_in_cap else "full_pay_outside_cap", amount_fen=i.full_pay_scp)
    fixed = 0
    if i.fixed_share_scp and i.line.fixed_share is not None:
        fixed = apply_ratio(i.fixed_share_scp, i.line.fixed_share)
        r.step(t, "fixed_share", amount_fen=i.fixed_share_scp, ratio_bp=i.line.fixed_share, pay_fen=fixed)
    return i.full_pay_scp + fixed


def _class_b_part(r: TierResult, t: str, i: BasicInput, above: int) -> tuple[int, int]:
    """The 乙类 part of the amount paid at the ratio (its share of :attr:`BasicInput.normal`, rounded half
    up) and its payment at the 乙类 ratio; (0, 0) on a line paying 乙类 at the line's ratio."""
    ratio = i.line.class_b_ratio_for(i.identity, i.place, i.hosp_lv)
    if ratio is None:
        return 0, 0
    part = half_up(above * i.class_b_scp, i.normal) if i.normal > 0 else 0
    pay = apply_ratio(part, clamp_bp(ratio))
    r.step(t, "class_b", class_b_fen=i.class_b_scp, part_fen=part, ratio_bp=clamp_bp(ratio), pay_fen=pay)
    return part, pay


MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
"""English month names, whatever the process's locale."""


def period_label(period: str, day: date) -> tuple[str, str]:
    """The calendar period containing ``day``, in Chinese and English: 2022年第2季度 / Q2 2022."""
    if period == "month":
        return f"{day.year}年{day.month}月", f"{MONTHS_EN[day.month - 1]} {day.year}"
    if period == "quarter":
        q = period_index("quarter", day.month) + 1
        return f"{day.year}年第{q}季度", f"Q{q} {day.year}"
    return f"{day.year}年", str(day.year)


@dataclass
class _Deductible:
    """What the deductible rule decided before the ratio: the deductible in force for the claim
    (what is left of it in the period), and the base's lower end."""

    remaining: int = 0
    base_dedc: int = 0


def _deductible(r: TierResult, i: BasicInput) -> _Deductible:
    """起付线: charged per claim, per admission or per period; on the base it is taken now, on the
    payment it is taken after the ratio (:func:`_deductible_off_pay`)."""
    t, line, ov = "basic", i.line, i.line.override_for(i.identity)
    normal = i.base
    kind, on_base = line.deductible_kind, line.deductible_on == "base"
    if kind == "none":
        r.step(t, "deductible_none")
        return _Deductible()
    ordinal = i.ytd.admissions + 1 if kind == "admission" else 1
    if i.waived:
        if kind == "admission":
            r.consumed["admissions"] = 1
        r.step(t, "deductible_waived")
        return _Deductible()
    if line.deductible_level == "highest":
        return _deductible_highest(r, i)
    full = line.deductible_full(i.hosp_lv, ordinal, i.place)
    ded = line.deductible_for(i.identity, i.hosp_lv, ordinal, i.place)
    shown: dict[str, Any] = {"full_fen": full, "pct_bp": ov.deductible_pct, "deductible_fen": ded}
    if kind == "admission":
        r.consumed["admissions"] = 1
        shown |= {"ordinal": ordinal, "level": i.hosp_lv}
    period = line.deductible_period
    if period is None:  # per claim or per admission
        d = _Deductible(ded, min(normal, ded) if on_base else 0)
        if on_base:
            r.step(t, "deductible_" + kind, **shown, dedc_fen=d.base_dedc)
        return d
    slot = line.deductible_slot(i.key, i.day)
    if period != "year":
        shown["period"] = period_label(period, i.day)
    step = "deductible_year" if period == "year" else "deductible_period"
    if not on_base:
        taken = i.ytd.deductible_taken.get(slot, 0)
        return _Deductible(max(0, ded - taken))
    before = i.ytd.deductible_base.get(slot, 0)
    dedc = normal - above_threshold(before, normal, ded)
    r.consumed["deductible_base"] = {slot: normal}
    r.step(t, step, **shown, before_fen=before, dedc_fen=dedc)
    return _Deductible(ded, dedc)


def _deductible_highest(r: TierResult, i: BasicInput) -> _Deductible:
    """``deductible_level: highest``: the deductible of the highest level attended in the period (this
    claim's included), less what the period's claims already paid of it."""
    line, normal = i.line, i.base
    slot = line.deductible_slot(i.key, i.day)
    attended = [lv for lv in LEVELS if i.ytd.deductible_levels.get(level_key(slot, lv), 0) > 0]
    top = max([*attended, i.hosp_lv])
    ded = line.deductible_for(i.identity, top, place=i.place)
    before = i.ytd.deductible_taken.get(slot, 0)
    remaining = max(0, ded - before)
    r.consumed["deductible_levels"] = {level_key(slot, i.hosp_lv): 1}
    if line.deductible_on == "payment":
        return _Deductible(remaining)
    dedc = min(normal, remaining)
    r.consumed["deductible_taken"] = {slot: dedc}
    period = line.deductible_period
    assert period is not None
    shown = period_label(period, i.day)
    r.step("basic", "deductible_highest", period=shown, level=top, deductible_fen=ded, before_fen=before, dedc_fen=dedc)
    return _Deductible(remaining, dedc)


def _ceiling(r: TierResult, i: BasicInput, lo: int) -> int:
    """最高支付限额 on covered cost: the upper end of the base the ratio is paid on, the part of the
    claim's cost still under the yearly ceiling (counted from ``lo``, the deductible, or gross)."""
    line, normal = i.line, i.base
    if line.cost_ceiling is None:
        return normal
    group = line.ceiling_key(i.key)
    before = i.ytd.covered_cost.get(group, 0)
    room = max(0, line.cost_ceiling - before)
    if line.cost_ceiling_basis == "gross" or line.deductible_on == "payment":
        counted = min(normal, room)
        hi = max(lo, counted)
    else:
        counted = min(normal - lo, room)
        hi = lo + counted
    r.consumed["covered_cost"] = {group: counted}
    basis = "gross" if line.deductible_on == "payment" else line.cost_ceiling_basis
    r.step(
        "basic",
        "cost_ceiling_" + basis,
        ceiling_fen=line.cost_ceiling,
        before_fen=before,
        counted_fen=counted,
        above_fen=normal - hi,
    )
    return hi


def _deductible_off_pay(r: TierResult, i: BasicInput, d: _Deductible, raw: int) -> int:
    """``deductible_on: payment``: what is taken off the payment, ``min(raw, the period's remaining deductible)``."""
    line = i.line
    taken = min(raw, d.remaining)
    args: dict[str, Any] = {"remaining_fen": d.remaining, "raw_fen": raw, "dedc_fen": taken}
    period = line.deductible_period
    if period is not None:
        r.consumed["deductible_taken"] = {line.deductible_slot(i.key, i.day): taken}
        args["scope"] = period_label(period, i.day)
    else:
        args["scope"] = ("本次住院", "this admission") if line.deductible_kind == "admission" else ("本次就诊", "this claim")
    r.step("basic", "deductible_off_pay", **args)
    return taken


def basic(i: BasicInput) -> TierResult:
    t = "basic"
    r = TierResult(applied=True, base=i.scp)
    line, ov = i.line, i.line.override_for(i.identity)
    apart = _apart(r, t, i)
    if i.first:  # self-pay first at the place: off the base before the deductible
        share = line.place_selfpay_first_for(i.place)
        r.step(t, "place_selfpay_first", place=i.place, share_bp=share, base_fen=i.normal, amount_fen=i.first)
    if line.account_first:  # 当年账户 first: only the rest reaches the deductible (自负段) and the ratio
        left, before = max(0, i.acct_left), i.normal - i.first
        r.step(t, "account_first", balance_fen=left, base_fen=before, acct_fen=i.account, rest_fen=i.base)
    if line.deductible_at_place(i.place):  # the deductible the line sets for the place
        r.step(t, "deductible_place", place=i.place)
    d = _deductible(r, i)
    # ratio (报销比例), by place and level, identity points, bands on the admission's amount
    ratio = line.ratio_for(i.identity, i.place, i.hosp_lv)
    r.step(
        t,
        "ratio",
        place=i.place,
        level=i.hosp_lv,
        base_bp=line.ratio[i.place][i.hosp_lv],
        add_bp=ov.ratio_add,
        ratio_bp=clamp_bp(ratio),
    )
    hi = _ceiling(r, i, d.base_dedc)
    b_part, b_pay = _class_b_part(r, t, i, hi - d.base_dedc)
    segments = split_bands(d.base_dedc, hi - b_part, line.ratio_bands_for(i.identity, i.place, i.hosp_lv))
    if line.ratio_bands:
        _segments_trace(r, t, segments)
    raw = pay_segments(segments) + b_pay
    dedc = d.base_dedc
    if line.deductible_on == "payment" and not i.waived:
        dedc = _deductible_off_pay(r, i, d, raw)
        raw -= dedc
    outside = 0 if line.full_pay_in_cap else i.full_pay_scp  # paid in full, neither limited by the cap nor counted in it
    raw += apart - outside
    # cap (封顶线), per year, quarter or month
    cap = line.cap_for(i.identity, i.emp_tier)
    slot = line.cap_slot(i.key, i.day)
    paid_before = i.ytd.basic_paid.get(slot, 0)
    extra: dict[str, Any] = {} if line.cap_period == "year" else {"period": period_label(line.cap_period, i.day)}
    combined = None if i.combined is None else period_key(i.combined[0], line.cap_period, i.day)
    if i.capitation is not None:  # 门诊统筹人头定额: the pot's limit, or an over-limit category's cap, replaces the line's
        cap = i.capitation.cap_for(i.identity)
    elif i.combined is not None and combined is not None and i.qualifies and cap is not None:
        cap, paid_before = i.combined[1].cap, i.ytd.basic_paid.get(combined, 0)  # 合并限额 replaces the line's cap
        extra["combined"] = True
    r.pay, r.remaining = cap_pay(raw, cap, paid_before)
    _cap_trace(r, t, cap, paid_before, raw, "identity" if ov.no_cap else "over_limit" if cap is None else "", **extra)
    if i.capitation is not None:
        _capitation_split(r, i, i.capitation, paid_before)
    r.consumed["basic_paid"] = {slot: r.pay} | ({combined: r.pay} if combined is not None else {})
    r.pay += outside
    r.summary["dedc"] = dedc
    r.step(t, "result", pay_fen=r.pay)
    return r


def _capitation_split(r: TierResult, i: BasicInput, cap: Capitation, paid_before: int) -> None:
    """How the capped payment splits: within the person's limit of the township's pot by head, the rest (an
    over-limit category's) item by item (seed 004)."""
    limit = cap.limit_for(i.identity)
    head = head_part(r.pay, limit, paid_before)
    r.summary["captn_pay"] = head
    r.step(
        "basic",
        "capitation",
        township=i.township,
        item_by_item=cap.item_by_item(i.identity),
        limit_fen=limit,
        paid_before_fen=paid_before,
        head_fen=head,
        item_fen=r.pay - head,
    )


def critical_illness(ci: CriticalIllness, identity: str, base: int, before: int, paid_before: int, major: str = "") -> TierResult:
    t = "critical_illness"
    r = TierResult(applied=True, base=base)
    tilt = ci.tilt_for(identity)
    ded = ci.deductible_for(identity)
    r.step(t, "cumulative", base_fen=base, before_fen=before, after_fen=before + base)
    if tilt:
        r.step(t, "tilt", identity=identity, pct_bp=tilt.deductible_pct, add_bp=tilt.ratio_add, no_cap=tilt.no_cap)
    r.step(t, "threshold_" + ci.band_basis, deductible_fen=ded)
    lo, hi = max(before, ded), max(before + base, ded)
    if ci.band_basis == "above_deductible":
        lo, hi = lo - ded, hi - ded
    segments = split_bands(lo, hi, ci.bands_for(identity))
    _segments_trace(r, t, segments)
    raw = pay_segments(segments)
    cap = ci.cap_for(identity)
    r.pay, r.remaining = cap_pay(raw, cap, paid_before)
    _cap_trace(r, t, cap, paid_before, raw, "tilt" if tilt and tilt.no_cap else "")
    r.consumed.update(ci_base=base, ci_paid=r.pay)
    r.step(t, "result", pay_fen=r.pay)
    return r


def _threshold_ratio_cap(t: str, base: int, before: int, terms: Terms, paid_before: int, prefix: str) -> TierResult:
    r = TierResult(applied=True, base=base)
    r.step(t, "cumulative", base_fen=base, before_fen=before, after_fen=before + base)
    above = above_threshold(before, base, terms.threshold)
    if terms.income_share is not None:
        r.step(t, "threshold_income", income_fen=terms.income, share_bp=terms.income_share, deductible_fen=terms.threshold)
    else:
        r.step(t, "threshold", deductible_fen=terms.threshold, above_fen=above)
    raw = apply_ratio(above, terms.ratio)
    r.step(t, "flat_ratio", amount_fen=above, ratio_bp=terms.ratio, raw_fen=raw)
    r.pay, r.remaining = cap_pay(raw, terms.cap, paid_before)
    _cap_trace(r, t, terms.cap, paid_before, raw)
    r.consumed.update({f"{prefix}_base": base, f"{prefix}_paid": r.pay})
    r.step(t, "result", pay_fen=r.pay)
    return r


def _by_category(
    t: str, block: Assistance | TiltedAssistance, identity: str, base: int, before: int, paid_before: int, major: str, acc: str
) -> TierResult:
    """The deciding category's terms (its 重特大疾病 ones for a designated disease or a flagged claim, ``major``
    ``disease`` / ``flag``) on the person's one yearly base and total."""
    r = _threshold_ratio_cap(t, base, before, block.terms_for(identity, bool(major)), paid_before, acc)
    head = [TraceStep(t, "category", {"identity": identity})]
    if major:
        head.append(TraceStep(t, "major" if major == "disease" else "major_flag", {}))
    r.trace[:0] = head
    return r


def assistance(ma: Assistance, identity: str, base: int, before: int, paid_before: int, major: str = "") -> TierResult:
    return _by_category("assistance", ma, identity, base, before, paid_before, major, "maf")


def tilted(ta: TiltedAssistance, identity: str, base: int, before: int, paid_before: int, major: str = "") -> TierResult:
    return _by_category("tilted", ta, identity, base, before, paid_before, major, "tilt")


def not_applicable(tier: str, reason: str) -> TierResult:
    r = TierResult()
    r.step(tier, "not_applicable", reason=reason)
    return r


@dataclass(frozen=True)
class LaterTier:
    """A payer after basic insurance: its policy block, its names in traces and settlements, its accumulators."""

    name: TierName
    trace: str
    payer: str
    acc: str
    """Accumulator prefix: ``{acc}_base`` and ``{acc}_paid`` of :class:`YearToDate`."""
    pay: Callable[[Any, str, int, int, int, str], TierResult]
    """``pay(block, identity, base, base before, paid before, major)``: ``major`` is why the claim takes the
    重特大疾病 terms (:func:`major_reason`), ``""`` when it does not."""

    def before(self, ytd: YearToDate) -> tuple[int, int]:
        """The in-year base and the payments counted against the cap before a claim."""
        base: int = getattr(ytd, f"{self.acc}_base")
        paid: int = getattr(ytd, f"{self.acc}_paid")
        return base, paid


def major_reason(policy: Policy, name: TierName, dise_codg: str, flagged: bool) -> str:
    """Why a claim takes the tier's 重特大疾病 terms (:meth:`Policy.is_major`): ``disease`` (one of its
    ``major_diseases``), ``flag`` (the claim's ``major_dise_flag``), or ``""`` (it does not)."""
    return "disease" if policy.is_major(name, dise_codg) else "flag" if policy.is_major(name, dise_codg, flagged) else ""


def later_base(in_catalogue: bool, after_basic: int, preselfpay: int, paid_later: int) -> int:
    """A later tier's base (:data:`yibao.policy.schema.TierBase`): the policy-range self-pay left after
    basic (``after_basic``) less what the earlier later tiers paid, never below 0; ``in_catalogue``
    adds the 乙类 self-pay-first part (earlier payments count against the policy-range part first)."""
    if in_catalogue:
        return after_basic + preselfpay - paid_later
    return max(0, after_basic - paid_later)


LATER_TIERS = (
    LaterTier("critical_illness", "critical_illness", "hifmi_pay", "ci", critical_illness),
    LaterTier("assistance", "assistance", "maf_pay", "maf", assistance),
    LaterTier("tilted_assistance", "tilted", "oth_pay", "tilt", tilted),
)
"""In the order they pay, each on what the earlier ones left."""
