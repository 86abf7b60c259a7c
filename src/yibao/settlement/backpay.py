"""Back-pay (补差) after a late identity: re-settle a person's bills in date order and state the differences.

An identity that arrives after bills it covers were settled (a 低保 identity from 2021-12-01 imported after a bill
of 2022-01-04 was settled as ordinary) changes what those bills should have paid. :func:`resettle` settles every
bill of the person again, in date order, with the one core (:func:`yibao.settlement.settle.settle`) and the
accumulators it carries from the start of each year, under the person as now known (the identity in force on each
bill's date); each bill's difference is what it should have paid less what it paid (its correcting entries
included). Paying every difference leaves the year's accumulators as if the identity had been known at the time.

Bills are settled again as the summary of their policy range (:func:`summary_claim`: the total, the self-paid parts
and the policy range with its parts, as the first settlement split the fee lines), which settles as the lines did.
Entries that are not bills (an application for assistance on application, :mod:`yibao.settlement.application`)
are carried with what they consumed, in their place in the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from yibao.core.vocab import AMOUNT_FIELDS
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Policy
from yibao.settlement.model import Claim, FeeLineResult, Person, PolicyRangeSummary, Settlement, YearToDate
from yibao.settlement.policy_range import scp_parts
from yibao.settlement.settle import settle

AMOUNTS: tuple[str, ...] = (*AMOUNT_FIELDS, "acct_pay", "captn_pay")
"""The amounts a difference is stated in (the ledger's amounts; ``acct_pay`` the personal account's part, ``captn_pay``
the part of ``hifp_pay`` paid by head)."""
FUNDS: tuple[str, ...] = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay")
"""The amounts a back-pay moves (the policy-range split of a bill does not change with the identity)."""


def summary_claim(claim: Claim, amounts: Mapping[str, int], results: Iterable[FeeLineResult]) -> Claim:
    """``claim`` as the summary of its policy range as settled (``amounts``: ``medfee_sumamt``, the three
    self-paid parts and ``inscp_scp_amt``; ``results``: its fee lines' splits), which settles as its lines did."""
    summary = PolicyRangeSummary(
        amounts["medfee_sumamt"],
        amounts["fulamt_ownpay_amt"],
        amounts["overlmt_selfpay"],
        amounts["preselfpay_amt"],
        amounts["inscp_scp_amt"],
        **scp_parts(tuple(results)),
    )
    return replace(claim, fee_lines=(), summary=summary, audit_refused=())


def amounts_of(s: Settlement) -> dict[str, int]:
    return {a: getattr(s, a) for a in AMOUNTS}


@dataclass(frozen=True)
class Booked:
    """A ledger entry of the person's year as it stands: what it paid and consumed, its corrections included."""

    ref: str
    """The entry's ``setl_id``."""
    setl_date: date
    claim: Claim | None
    """The bill to settle again (:func:`summary_claim`); ``None``: not a bill, carried with what it consumed."""
    amounts: Mapping[str, int]
    identity: str
    line: str
    consumed: YearToDate


@dataclass(frozen=True)
class Difference:
    """One bill settled again: as it stands (``before``) and as it should be (``after``)."""

    before: Booked
    after: Settlement

    @property
    def delta(self) -> dict[str, int]:
        """Per amount, what should have been paid less what was (a fund's back-pay; ``psn_part_amt``: negative when
        the person paid too much)."""
        return {a: getattr(self.after, a) - self.before.amounts.get(a, 0) for a in AMOUNTS}

    @property
    def consumed(self) -> YearToDate:
        """The accumulators the correction consumes (what the bill should have consumed less what it did)."""
        return self.after.consumed.minus(self.before.consumed)

    @property
    def changed(self) -> bool:
        """Does the bill need a correcting entry (an amount, the accumulators or the deciding identity differ)?"""
        zero = YearToDate(self.after.setl_date.year)
        return any(self.delta.values()) or self.consumed != zero or self.after.identity != self.before.identity

    @property
    def refund(self) -> int:
        """Cash to pay back to the person (negative: the person owes it): what they paid in cash less what they
        should have."""
        d = self.delta
        return -(d["psn_part_amt"] - d["acct_pay"])


class LineChanged(ValueError):
    """A bill settled again fell on another benefit line than it was settled on (its diagnosis or flag is not on
    record): it cannot be re-settled safely, and nothing is paid for it."""

    def __init__(self, ref: str, was: str, now: str) -> None:
        super().__init__(f"{ref}: settled on line {was}, now on {now}")
        self.ref, self.was, self.now = ref, was, now


def resettle(policy: Policy | PolicyPack, person: Person, booked: Iterable[Booked]) -> list[Difference]:
    """Every bill of ``booked`` settled again in date order (ties keep the given order) from empty accumulators of
    each year, under ``person`` as now known; one :class:`Difference` per bill (changed or not)."""
    years: dict[int, YearToDate] = {}
    out: list[Difference] = []
    for b in sorted(booked, key=lambda b: b.setl_date):
        year = b.setl_date.year
        ytd = years.get(year, YearToDate(year))
        if b.claim is None:
            years[year] = ytd.plus(b.consumed)
            continue
        s = settle(policy, person, ytd, b.claim)
        if s.line != b.line:
            raise LineChanged(b.ref, b.line, s.line)
        years[year] = s.ytd_after
        out.append(Difference(b, s))
    return out
