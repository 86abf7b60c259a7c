"""A person's position on a day: what each payer has paid this year against the cap the next
settlement would apply. Pure: the caller reads the person and the accumulators.

The caps are the policy's own (:meth:`yibao.policy.schema.BenefitLine.cap_for` and the tiers'
``cap_for``, for the identity that decides on the day), the same ones ``settle`` applies, so
what is shown as remaining is what the next settlement may still pay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from yibao.policy.schema import INSTITUTION_CLASSES, Facts, Policy, period_key
from yibao.settlement.model import Person, YearToDate
from yibao.settlement.tiers import LATER_TIERS


@dataclass(frozen=True)
class PayerPosition:
    payer: str
    """``hifp_pay``, ``hifmi_pay``, ``maf_pay`` or ``oth_pay``."""
    paid: int
    cap: int | None
    """``None``: no cap for this person."""
    group: str | None = None
    """Basic insurance: the cap group whose payments count."""
    slot: str | None = None
    """Basic insurance: the ``basic_paid`` key counted on the day (the cap group, with its month or
    quarter when the cap is per period: ``pool@M03``)."""
    cost_ceiling: int | None = None
    """Basic insurance: the yearly ceiling on covered cost of these lines (``None``: none)."""
    covered: int = 0
    """Basic insurance: the cost counted under that ceiling so far (``covered_cost``)."""
    lines: tuple[str, ...] = ()
    """Basic insurance: the person's benefit lines that settle against this cap."""
    base: int | None = None
    """Later tiers: the cumulative in-year base their thresholds are measured on."""
    major: bool = False
    """Assistance tiers: the row of 重特大疾病 claims (designated diseases or flagged), whose terms give another
    limit (one paid total)."""
    institutions: tuple[str, ...] = ()
    """Basic insurance: the classes of the claim's institution (:data:`INSTITUTION_CLASSES`: designated, linked,
    other) the row's cap holds at, when the line's ``person_terms`` give the person another cap by class
    (``()``: wherever the person may claim)."""

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.paid)

    @property
    def cost_left(self) -> int | None:
        """Cost the ratio may still be paid on before the ceiling (``None``: no ceiling)."""
        return None if self.cost_ceiling is None else max(0, self.cost_ceiling - self.covered)


@dataclass(frozen=True)
class Position:
    identity: str
    payers: tuple[PayerPosition, ...]


def reachable_classes(person: Person, day: date) -> tuple[str, ...]:
    """The classes of institution (:data:`INSTITUTION_CLASSES`) a claim of the person on ``day`` may be made at:
    ``other`` always, ``designated`` / ``linked`` where the person holds such a choice on the day."""
    held = {person.institution_class(c.fixmedins_code, day) for c in person.institutions if c.holds_on(day)} | {"other"}
    return tuple(c for c in INSTITUTION_CLASSES if c in held)


def payer_positions(policy: Policy, person: Person, ytd: YearToDate, day: date) -> Position:
    """Per payer that can pay for this person, paid so far and the cap, for the identity deciding on ``day``.

    Basic insurance: one row per cap group of the lines serving the person (one per distinct cap,
    or cost ceiling, when lines sharing a group give this person different ones), its payments
    counted in the day's period (month or quarter for such caps); the later tiers: a row when the
    tier covers the person's scheme and identity, and a second one for designated 重特大疾病 claims
    when their terms give the identity another limit. Lines go by the person's age, resident tier and
    family-doctor contract on ``day`` (:meth:`BenefitLine.for_person`); a line for an age band is left
    out when the age is unknown. Terms by the claim's institution: where they give another cap at the
    institutions the person may claim at on the day (:func:`reachable_classes`), the group has a row per
    cap, naming the classes it holds at (``institutions``); otherwise one row for them all.
    """
    identity = policy.deciding_identity(person.identities, day)
    facts = Facts(person.age_on(day), person.resident_tier_on(day), family_doctor=person.family_doctor_on(day))
    classes = reachable_classes(person, day)
    basic: dict[tuple[str, str, int | None, str | None, int | None, tuple[str, ...]], list[str]] = {}
    for key, own in policy.lines.items():
        if own.serves(person.insutype, person.emp_status) and own.serves_age(facts.age):
            by_class: dict[tuple[str, str, int | None, str | None, int | None], list[str]] = {}
            for klass in classes:
                line = own.for_person(replace(facts, institution=klass))
                ceiling = None if line.cost_ceiling is None else line.ceiling_key(key)
                group, slot, cap = line.cap_key(key), line.cap_slot(key, day), line.cap_for(identity, person.emp_tier)
                combined = policy.combined_for(key)
                if combined is not None and cap is not None and combined[1].qualifies(lambda d: person.filed_for(d, day)):
                    group, slot, cap = combined[0], period_key(combined[0], line.cap_period, day), combined[1].cap  # 合并限额
                by_class.setdefault((group, slot, cap, ceiling, line.cost_ceiling), []).append(klass)
            for row_key, held in by_class.items():
                basic.setdefault((*row_key, () if len(by_class) == 1 else tuple(held)), []).append(key)
    rows = [
        PayerPosition(
            "hifp_pay",
            ytd.basic_paid.get(slot, 0),
            cap,
            group=group,
            lines=tuple(keys),
            slot=slot,
            cost_ceiling=ceiling,
            covered=ytd.covered_cost.get(ceiling_group, 0) if ceiling_group else 0,
            institutions=held,
        )
        for (group, slot, cap, ceiling_group, ceiling, held), keys in basic.items()
    ]
    for tier in LATER_TIERS:
        block = policy.tier(tier.name, person.insutype)
        if block is not None and block.covers(person.insutype, identity):
            base, paid = tier.before(ytd)
            rows.append(PayerPosition(tier.payer, paid, block.cap_for(identity), base=base))
            major_cap = block.cap_for(identity, major=True)
            if major_cap != block.cap_for(identity):  # 重特大疾病 terms (by disease or the claim's flag) give another
                rows.append(PayerPosition(tier.payer, paid, major_cap, base=base, major=True))
    return Position(identity, tuple(rows))
