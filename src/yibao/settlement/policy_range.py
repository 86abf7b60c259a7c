"""Fee lines -> policy range (政策范围内费用).

For each line: items the pack marks fully self-paid, and 丙类 (``chrgitm_lv`` 03) unless the pack
covers 丙类 after a self-pay-first share (``class_c_selfpay_first`` below 100%), go to
``fulamt_ownpay_amt``; for the rest, a unit price above the pack's ceiling gives
over-limit self-pay (``overlmt_selfpay``); of what remains, 乙类 lines (02) and covered 丙类 lines
first pay their self-pay-first share (``preselfpay_amt``); the rest is ``inscp_scp_amt``.
Of ``inscp_scp_amt``, the claim's line decides three parts basic insurance pays apart: listed 甲类
items paid in full, items paid at a fixed share, and (for a line with its own 乙类 ratio) the 乙类 rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, overload

from yibao.core.errors import InputError
from yibao.core.money import apply_ratio, half_up
from yibao.core.vocab import CHRGITM_LV
from yibao.policy.schema import BenefitLine, FeeRules
from yibao.settlement.model import Claim, FeeLineResult, PolicyRangeSummary

if TYPE_CHECKING:  # the same arithmetic on frame expressions; settlement itself does not import polars
    import polars as pl


@dataclass(frozen=True)
class PolicyRange:
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    full_pay_scp: int
    """Part of ``inscp_scp_amt`` basic insurance pays in full (listed 甲类 items)."""
    fixed_share_scp: int
    """Part of ``inscp_scp_amt`` basic insurance pays a fixed share of (the line's ``fixed_share_items``)."""
    class_b_scp: int
    """The 乙类 part of the rest, for a line paying 乙类 at its own ratio (0 on other lines)."""
    lines: tuple[FeeLineResult, ...]


@overload
def price_excess(pric: int, ceiling: int, cnt_num: int, cnt_den: int) -> int: ...
@overload
def price_excess(pric: pl.Expr, ceiling: pl.Expr, cnt_num: pl.Expr, cnt_den: int) -> pl.Expr: ...
def price_excess(pric: Any, ceiling: Any, cnt_num: Any, cnt_den: int) -> Any:
    """(unit price - ceiling) x count, the count being exactly ``cnt_num / cnt_den``, rounded half up
    to the fen (for a price above the ceiling and a count >= 0).

    The one definition of the excess: :func:`over_limit` uses it on a fee line's ints, and the audit
    (``price_ceiling``, ``price_standard`` over a ledger) on polars expressions.
    """
    return half_up((pric - ceiling) * cnt_num, cnt_den)


def over_limit(pric: int | None, ceiling: int | None, cnt: Decimal, total: int) -> int:
    """Excess over the price ceiling: (unit price - ceiling) x count, or, with no unit price
    uploaded, the line total above ceiling x count; never more than the line total."""
    if ceiling is None:
        return 0
    if pric is None:
        allowed = (Decimal(ceiling) * cnt).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return max(0, total - int(allowed))
    if pric <= ceiling:
        return 0
    num, den = cnt.as_integer_ratio()
    return min(total, price_excess(pric, ceiling, num, den))


def policy_range(rules: FeeRules, line: BenefitLine, claim: Claim) -> PolicyRange:
    if claim.summary is not None:
        s = claim.summary
        scp = s.inscp_scp_amt
        if scp is None:
            scp = s.medfee_sumamt - s.fulamt_ownpay_amt - s.overlmt_selfpay - s.preselfpay_amt
        parts = s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + scp
        if parts != s.medfee_sumamt or scp < 0:
            raise InputError(
                f"claim {claim.claim_id}",
                "inscp_scp_amt",
                scp,
                f"fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt = medfee_sumamt "
                f"({s.medfee_sumamt}); they add to {parts}",
            )
        check_scp_parts(claim.claim_id, s, scp)
        full = s.full_pay_scp_amt if line.full_pay_items else 0
        fixed = s.fixed_share_scp_amt if line.fixed_share_items else 0
        class_b = s.class_b_scp_amt if line.class_b_ratio is not None else 0
        return PolicyRange(
            s.medfee_sumamt, s.fulamt_ownpay_amt, s.overlmt_selfpay, s.preselfpay_amt, scp, full, fixed, class_b, ()
        )
    results = []
    full_pay_items, fixed_items = set(line.full_pay_items), set(line.fixed_share_items)
    for fl in claim.fee_lines:
        total = fl.det_item_fee_sumamt
        full_own = over = pre = 0
        prop = 0
        if (fl.chrgitm_lv == "03" and not rules.class_c_covered) or fl.med_list_codg in rules.fully_selfpaid_items:
            full_own = total
            prop = 10_000
        else:
            over = over_limit(fl.pric, rules.price_ceilings.get(fl.med_list_codg), fl.cnt, total)
            if fl.chrgitm_lv == "02":
                prop = rules.item_selfpay_first.get(fl.med_list_codg, rules.class_b_selfpay_first)
            elif fl.chrgitm_lv == "03":
                prop = rules.class_c_selfpay_first
            pre = apply_ratio(total - over, prop)
        scp = total - full_own - over - pre
        full_pay = fl.chrgitm_lv == "01" and fl.med_list_codg in full_pay_items and scp > 0
        fixed = fl.med_list_codg in fixed_items and scp > 0
        results.append(
            FeeLineResult(fl.feedetl_sn, fl.med_list_codg, fl.chrgitm_lv, total, full_own, over, pre, scp, prop, full_pay, fixed)
        )
    return summed(tuple(results), line)


def scp_parts(results: tuple[FeeLineResult, ...]) -> dict[str, int]:
    """The summary's parts of ``inscp_scp_amt`` (:data:`SCP_PARTS`) from a claim's line splits: on items paid
    in full, on items paid at a fixed share, and the 乙类 rest; a summary with them settles as the lines do."""
    return {
        "full_pay_scp_amt": sum(r.inscp_scp_amt for r in results if r.full_pay),
        "fixed_share_scp_amt": sum(r.inscp_scp_amt for r in results if r.fixed_share),
        "class_b_scp_amt": sum(r.inscp_scp_amt for r in results if r.chrgitm_lv == "02" and not (r.full_pay or r.fixed_share)),
    }


def summed(results: tuple[FeeLineResult, ...], line: BenefitLine) -> PolicyRange:
    """A claim's policy range from its lines' splits; the parts basic insurance pays apart as ``line`` says."""
    parts = scp_parts(results)
    return PolicyRange(
        medfee_sumamt=sum(r.det_item_fee_sumamt for r in results),
        fulamt_ownpay_amt=sum(r.fulamt_ownpay_amt for r in results),
        overlmt_selfpay=sum(r.overlmt_selfpay for r in results),
        preselfpay_amt=sum(r.preselfpay_amt for r in results),
        inscp_scp_amt=sum(r.inscp_scp_amt for r in results),
        full_pay_scp=parts["full_pay_scp_amt"],
        fixed_share_scp=parts["fixed_share_scp_amt"],
        class_b_scp=parts["class_b_scp_amt"] if line.class_b_ratio is not None else 0,
        lines=results,
    )


def check_scp_parts(claim_id: str, s: PolicyRangeSummary, scp: int) -> None:
    """A summary's parts of ``inscp_scp_amt`` (paid in full, at a fixed share, 乙类) are each >= 0 and
    together within it."""
    for name in SCP_PARTS:
        if getattr(s, name) < 0:
            raise InputError(f"claim {claim_id}", name, getattr(s, name), f"between 0 and inscp_scp_amt ({scp})")
    parts = sum(getattr(s, name) for name in SCP_PARTS)
    if parts > scp:
        raise InputError(
            f"claim {claim_id}",
            "full_pay_scp_amt",
            s.full_pay_scp_amt,
            f"full_pay_scp_amt + fixed_share_scp_amt + class_b_scp_amt within inscp_scp_amt ({scp}); they add to {parts}",
        )


SCP_PARTS = ("full_pay_scp_amt", "fixed_share_scp_amt", "class_b_scp_amt")
"""A summary's parts of ``inscp_scp_amt`` that basic insurance pays apart from the rest."""


def check_fee_line_levels(claim: Claim) -> None:
    for fl in claim.fee_lines:
        if fl.chrgitm_lv not in CHRGITM_LV:
            raise InputError(
                f"claim {claim.claim_id} fee line {fl.feedetl_sn}",
                "chrgitm_lv",
                fl.chrgitm_lv,
                "01 (甲类), 02 (乙类) or 03 (丙类)",
            )
        if fl.det_item_fee_sumamt < 0:
            raise InputError(
                f"claim {claim.claim_id} fee line {fl.feedetl_sn}",
                "det_item_fee_sumamt",
                fl.det_item_fee_sumamt,
                "an amount >= 0",
            )
        if fl.cnt < 0:
            raise InputError(f"claim {claim.claim_id} fee line {fl.feedetl_sn}", "cnt", str(fl.cnt), "a count >= 0")
