"""Lines the audit refused at the counter (违规, 转自费): settled fully self-paid, the rule in the trace.

:func:`refuse_lines` takes the policy range of a claim and moves each refused line wholly to
``fulamt_ownpay_amt`` (as a 丙类 line), the claim's parts still adding up to its total; with no
refusals it returns the range unchanged.
"""

from __future__ import annotations

from dataclasses import replace

from yibao.policy.schema import BenefitLine
from yibao.settlement.model import Claim, FeeLineResult, TraceStep
from yibao.settlement.policy_range import PolicyRange, summed


def _refused(r: FeeLineResult) -> FeeLineResult:
    return replace(
        r,
        fulamt_ownpay_amt=r.det_item_fee_sumamt,
        overlmt_selfpay=0,
        preselfpay_amt=0,
        inscp_scp_amt=0,
        selfpay_prop=10_000,
        full_pay=False,
        fixed_share=False,
    )


def refuse_lines(pr: PolicyRange, claim: Claim, line: BenefitLine) -> PolicyRange:
    """``pr`` with the lines of ``claim.audit_refused`` fully self-paid (a summary claim has no lines to refuse);
    ``line``: the claim's benefit line (which parts it pays apart)."""
    refused = {r.feedetl_sn for r in claim.audit_refused}
    if not refused or not pr.lines:
        return pr
    return summed(tuple(_refused(r) if r.feedetl_sn in refused else r for r in pr.lines), line)


def audit_steps(claim: Claim) -> list[TraceStep]:
    """One trace step per refused line: the line, its item, the amount made self-paid and the rule."""
    if not claim.audit_refused or claim.summary is not None:
        return []
    lines = {fl.feedetl_sn: fl for fl in claim.fee_lines}
    return [
        TraceStep(
            "range",
            "audit_self_pay",
            {
                "sn": r.feedetl_sn,
                "item": lines[r.feedetl_sn].med_list_codg,
                "amount_fen": lines[r.feedetl_sn].det_item_fee_sumamt,
                "rule": r.rule_code,
                "rule_name": r.rule_name,
            },
        )
        for r in claim.audit_refused
        if r.feedetl_sn in lines
    ]
