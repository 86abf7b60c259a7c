"""门诊统筹人头定额 at settlement: which claims draw on a township's shared pot, and how a payment splits
into what is paid by head and what item by item (seed 004). Pure; the policy block is
:class:`yibao.policy.schema.Capitation`."""

from __future__ import annotations

from yibao.policy.schema import Policy
from yibao.settlement.model import Claim, Person


def capitation_township(policy: Policy, line_key: str, person: Person, claim: Claim) -> str:
    """The township whose pot the claim draws on, ``""`` when it is not under capitation: the pack has a
    capitation block naming the claim's line, the claim's institution belongs to a township, and that
    township counts the person (:meth:`Capitation.township_of`)."""
    cap = policy.capitation
    if cap is None or line_key not in cap.lines or not claim.township:
        return ""
    counted_by = cap.township_of(person.township, person.signed_township)
    return claim.township if counted_by == claim.township else ""


def head_part(pay: int, limit: int, paid_before: int) -> int:
    """Of a capitation claim's basic payment ``pay``, the part within the person's yearly ``limit`` left after
    ``paid_before`` (按人头付费); the rest is settled item by item. Batch twin: the kernel's capitation step."""
    return min(pay, max(0, limit - paid_before))
