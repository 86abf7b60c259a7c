"""依申请救助: medical assistance a person applies for, over a look-back window of earlier bills. Pure.

Unlike the four payers settled at the counter, this is paid on an application: the policy-range
self-pay every payer left on the person's bills settled in the window (``window_months`` up to the
application day) and not counted by an earlier application is summed; the part above the
deductible is paid at the ratio, within the limit per application
(:class:`yibao.policy.schema.OnApplication`), and within what is left of the yearly assistance limit
of the deciding category (:meth:`yibao.policy.schema.Assistance.cap_for`, the limit the counter's
``maf_pay`` counts against): the yearly paid total ``maf_paid`` is shared with the counter, so an
application uses the limit the counter's later settlements see, and the counter's earlier payments
leave the application less. An application consumes only ``maf_paid`` (:attr:`ApplicationResult.consumed`):
its base is self-pay of bills the counter already counted in ``maf_base``, so it is not counted again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from yibao.core.errors import InputError
from yibao.core.money import apply_ratio
from yibao.policy.schema import Policy, months_later
from yibao.settlement.arith import above_threshold, cap_pay
from yibao.settlement.model import Person, TraceStep, YearToDate, scp_self_pay

TIER = "assistance"


class Bill(Protocol):
    """What an application reads of a settled bill (a :class:`yibao.settlement.model.Settlement` is one)."""

    @property
    def claim_id(self) -> str: ...
    @property
    def psn_no(self) -> str: ...
    @property
    def setl_date(self) -> date: ...
    @property
    def inscp_scp_amt(self) -> int: ...
    @property
    def fund_pay_sumamt(self) -> int: ...


@dataclass(frozen=True)
class SettledBill:
    """A bill as read back from a ledger (the fields :class:`Bill` names)."""

    claim_id: str
    psn_no: str
    setl_date: date
    inscp_scp_amt: int
    fund_pay_sumamt: int


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
    yearly_limit: int | None = None
    """The deciding category's yearly assistance limit (``None``: none), shared with the counter."""
    paid_before: int = 0
    """Assistance paid this year before the application (``maf_paid``: the counter's and earlier applications')."""

    @property
    def yearly_left(self) -> int | None:
        """What is left of the yearly limit after the application (``None``: no yearly limit)."""
        return None if self.yearly_limit is None else max(0, self.yearly_limit - self.paid_before - self.pay)

    @property
    def consumed(self) -> YearToDate:
        """What the application takes from the year's accumulators: its pay, in ``maf_paid`` only."""
        return YearToDate(self.applied_on.year, maf_paid=self.pay)


def window_from(applied_on: date, months: int) -> date:
    """The first day of the look-back window: ``months`` before the application day, plus one day."""
    return months_later(applied_on, -months) + timedelta(days=1)


def assist_on_application(
    policy: Policy,
    person: Person,
    settlements: Iterable[Bill],
    applied_on: date,
    earlier: Iterable[ApplicationResult] = (),
    ytd: YearToDate | None = None,
) -> ApplicationResult:
    """What the assistance fund pays on ``person``'s application of ``applied_on`` (see the module).

    ``ytd``: the person's accumulators of the application's year (``None``: nothing paid yet)."""
    ma = policy.assistance
    if ma is None or ma.on_application is None:
        raise InputError(
            f"person {person.psn_no}", "policy", None, "a pack whose assistance block has on_application (依申请救助)"
        )
    ytd = ytd if ytd is not None else YearToDate(applied_on.year)
    if ytd.year != applied_on.year:
        expected = f"a date in {ytd.year}, the year of the accumulators given"
        raise InputError(f"person {person.psn_no}", "applied_on", applied_on.isoformat(), expected)
    app = ma.on_application
    identity = policy.deciding_identity(person.identities, applied_on)
    start = window_from(applied_on, app.window_months)
    counted = {c for e in earlier for c in e.claims}
    bills = [
        s for s in settlements if s.psn_no == person.psn_no and start <= s.setl_date <= applied_on and s.claim_id not in counted
    ]
    base = sum(scp_self_pay(s.inscp_scp_amt, s.fund_pay_sumamt) for s in bills)
    said = policy.category_said(identity)
    args = {"identity": said, "from_date": start.isoformat(), "to_date": applied_on.isoformat(), "bills": len(bills)}
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
    within, _ = cap_pay(raw, terms.cap, 0)
    trace.append(TraceStep(TIER, "application_limit", {"cap_fen": terms.cap, "raw_fen": raw, "pay_fen": within}))
    yearly, paid_before = ma.cap_for(identity), ytd.maf_paid
    pay, left = cap_pay(within, yearly, paid_before)
    if yearly is not None:
        yearly_args = {"limit_fen": yearly, "paid_before_fen": paid_before, "raw_fen": within, "pay_fen": pay}
        trace.append(TraceStep(TIER, "application_yearly", yearly_args | {"left_fen": left}))
    trace.append(TraceStep(TIER, "result", {"pay_fen": pay}))
    return ApplicationResult(person.psn_no, applied_on, identity, start, claims, base, pay, tuple(trace), yearly, paid_before)
