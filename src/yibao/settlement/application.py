"""依申请救助: medical assistance a person applies for, over a look-back window of earlier bills. Pure.

Unlike the four payers settled at the counter, this is paid on an application: the policy-range
self-pay every payer left on the person's bills settled in the window (``window_months`` up to the
application day) and not counted by an earlier application is summed; the part above the
deductible is paid at the ratio, within the limit per application
(:class:`yibao.policy.schema.OnApplication`). The counter's accumulators are not touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from yibao.core.errors import InputError
from yibao.core.money import apply_ratio
from yibao.policy.schema import Policy, months_later
from yibao.settlement.arith import above_threshold, cap_pay
from yibao.settlement.model import Person, Settlement, TraceStep, scp_self_pay

TIER = "assistance"


@dataclass(frozen=True)
class ApplicationResult:
    psn_no: str
    applied_on: date
    identity: str
    window_from: date
    claims: tuple[str, ...]
    """The bills counted (not to be counted again by a later application)."""
    base: int
    pay: int
    trace: tuple[TraceStep, ...]


def window_from(applied_on: date, months: int) -> date:
    """The first day of the look-back window: ``months`` before the application day, plus one day."""
    return months_later(applied_on, -months) + timedelta(days=1)


def assist_on_application(
    policy: Policy,
    person: Person,
    settlements: Iterable[Settlement],
    applied_on: date,
    earlier: Iterable[ApplicationResult] = (),
) -> ApplicationResult:
    """What the assistance fund pays on ``person``'s application of ``applied_on`` (see the module)."""
    ma = policy.assistance
    if ma is None or ma.on_application is None:
        raise InputError(
            f"person {person.psn_no}", "policy", None, "a pack whose assistance block has on_application (依申请救助)"
        )
    app = ma.on_application
    identity = policy.deciding_identity(person.identities, applied_on)
    start = window_from(applied_on, app.window_months)
    counted = {c for e in earlier for c in e.claims}
    bills = [
        s for s in settlements if s.psn_no == person.psn_no and start <= s.setl_date <= applied_on and s.claim_id not in counted
    ]
    base = sum(scp_self_pay(s.inscp_scp_amt, s.fund_pay_sumamt) for s in bills)
    args = {"identity": identity, "from_date": start.isoformat(), "to_date": applied_on.isoformat(), "bills": len(bills)}
    trace = [TraceStep(TIER, "application", args | {"base_fen": base})]
    claims = tuple(s.claim_id for s in bills)
    if identity not in app.categories:
        trace.append(TraceStep(TIER, "not_applicable", {"reason": "identity"}))
        return ApplicationResult(person.psn_no, applied_on, identity, start, (), base, 0, tuple(trace))
    terms = ma.application_terms()
    above = above_threshold(0, base, terms.threshold)
    if terms.income_share is not None:
        trace.append(
            TraceStep(
                TIER,
                "threshold_income",
                {"income_fen": terms.income, "share_bp": terms.income_share, "deductible_fen": terms.threshold},
            )
        )
    else:
        trace.append(TraceStep(TIER, "threshold", {"deductible_fen": terms.threshold, "above_fen": above}))
    raw = apply_ratio(above, terms.ratio)
    trace.append(TraceStep(TIER, "flat_ratio", {"amount_fen": above, "ratio_bp": terms.ratio, "raw_fen": raw}))
    pay, _ = cap_pay(raw, terms.cap, 0)
    trace.append(TraceStep(TIER, "cap", {"cap_fen": terms.cap, "paid_before_fen": 0, "raw_fen": raw, "pay_fen": pay}))
    trace.append(TraceStep(TIER, "result", {"pay_fen": pay}))
    return ApplicationResult(person.psn_no, applied_on, identity, start, claims, base, pay, tuple(trace))
