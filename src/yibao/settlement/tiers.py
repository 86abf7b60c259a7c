"""The four payers, each a small pure function: base in, payment and trace out.

Order: basic insurance (基本医保) -> critical illness insurance (大病保险) -> medical
assistance (医疗救助) -> tilted assistance (倾斜救助). Each works on the policy-range
self-pay the earlier ones left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yibao.core.money import apply_ratio
from yibao.policy.schema import Assistance, BenefitLine, CriticalIllness, Terms, TierName, TiltedAssistance
from yibao.settlement.arith import Segment, above_threshold, cap_pay, clamp_bp, pay_segments, split_bands
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


def _cap_trace(r: TierResult, tier: str, cap: int | None, paid_before: int, raw: int, reason: str = "") -> None:
    if cap is None:
        r.step(tier, "no_cap", raw_fen=raw, reason=reason)
    else:
        r.step(tier, "cap", cap_fen=cap, paid_before_fen=paid_before, raw_fen=raw, pay_fen=r.pay)


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
    admissions_before: int
    deductible_before: int
    paid_before: int


def basic(i: BasicInput) -> TierResult:
    t = "basic"
    r = TierResult(applied=True, base=i.scp)
    line, ov = i.line, i.line.override_for(i.identity)
    normal = i.scp - i.full_pay_scp
    if i.full_pay_scp:
        r.step(t, "full_pay", amount_fen=i.full_pay_scp)
    # deductible (起付线)
    dedc = 0
    if line.deductible_kind == "admission":
        ordinal = i.admissions_before + 1
        full = line.deductible_full(i.hosp_lv, ordinal)
        ded = line.deductible_for(i.identity, i.hosp_lv, ordinal)
        dedc = min(normal, ded)
        r.consumed["admissions"] = 1
        r.step(
            t,
            "deductible_admission",
            ordinal=ordinal,
            level=i.hosp_lv,
            full_fen=full,
            pct_bp=ov.deductible_pct,
            deductible_fen=ded,
            dedc_fen=dedc,
        )
    elif line.deductible_kind == "year":
        group = line.deductible_key(i.key)
        full = line.deductible_full(i.hosp_lv)
        ded = line.deductible_for(i.identity, i.hosp_lv)
        dedc = normal - above_threshold(i.deductible_before, normal, ded)
        r.consumed["deductible_base"] = {group: normal}
        r.step(
            t,
            "deductible_year",
            full_fen=full,
            pct_bp=ov.deductible_pct,
            deductible_fen=ded,
            before_fen=i.deductible_before,
            dedc_fen=dedc,
        )
    else:
        r.step(t, "deductible_none")
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
    segments = split_bands(dedc, normal, line.ratio_bands_for(i.identity, i.place, i.hosp_lv))
    if line.ratio_bands:
        _segments_trace(r, t, segments)
    raw = pay_segments(segments) + i.full_pay_scp
    # cap (封顶线)
    cap = line.cap_for(i.identity, i.emp_tier)
    r.pay, r.remaining = cap_pay(raw, cap, i.paid_before)
    _cap_trace(r, t, cap, i.paid_before, raw, "identity" if ov.no_cap else "")
    r.consumed["basic_paid"] = {line.cap_key(i.key): r.pay}
    r.summary = {"dedc": dedc}
    r.step(t, "result", pay_fen=r.pay)
    return r


def critical_illness(
    ci: CriticalIllness, identity: str, base: int, before: int, paid_before: int, major: bool = False
) -> TierResult:
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
    t: str, block: Assistance | TiltedAssistance, identity: str, base: int, before: int, paid_before: int, major: bool, acc: str
) -> TierResult:
    """The deciding category's terms (its 重特大疾病 ones for a designated disease) on the person's one yearly base and total."""
    r = _threshold_ratio_cap(t, base, before, block.terms_for(identity, major), paid_before, acc)
    head = [TraceStep(t, "category", {"identity": identity})]
    if major:
        head.append(TraceStep(t, "major", {}))
    r.trace[:0] = head
    return r


def assistance(ma: Assistance, identity: str, base: int, before: int, paid_before: int, major: bool = False) -> TierResult:
    return _by_category("assistance", ma, identity, base, before, paid_before, major, "maf")


def tilted(ta: TiltedAssistance, identity: str, base: int, before: int, paid_before: int, major: bool = False) -> TierResult:
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
    pay: Callable[[Any, str, int, int, int, bool], TierResult]
    """``pay(block, identity, base, base before, paid before, designated major disease)``."""

    def before(self, ytd: YearToDate) -> tuple[int, int]:
        """The in-year base and the payments counted against the cap before a claim."""
        base: int = getattr(ytd, f"{self.acc}_base")
        paid: int = getattr(ytd, f"{self.acc}_paid")
        return base, paid


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
