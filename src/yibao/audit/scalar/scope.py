"""超支付范围 and 超支付标准, one line at a time against the item's restrictions (scalar form).

Every rule here looks at each line of the claim on its own and finds at most one thing per line:
``result`` is the rule's, ``feedetl_sns`` the line, ``evidence`` ``item:<code>``, and ``args`` the
line's code (``item``) plus what the rule type's message (:mod:`yibao.audit.types`) needs.

- ``gender_limit`` (超限定性别): the item is restricted to one gender (``item_limits.gend``) and the
  person is of the other. Amount: the line total.
- ``age_limit`` (超限定年龄): the person's age on the line's day (:meth:`PersonFacts.age_on` of
  ``fee_ocur_date``) is below ``age_min`` or above ``age_max`` (both inclusive; either may be absent,
  shown as ``""`` in the message). Amount: the line total.
- ``med_type_limit`` (超就医方式): the claim's ``med_type`` is not one of the item's ``med_types``.
- ``hosp_lv_limit`` (超机构等级): the claim's ``hosp_lv`` is below the item's ``min_hosp_lv``.
- ``insutype_limit`` (超险种): the claim's ``insutype`` is not one of the item's ``insutypes``.
  These three: amount the line total; ``allowed`` is the item's codes, sorted, joined by commas.
- ``unknown_item`` (目录外项目): the pack has a catalogue and the line's code is not in it (a pack
  without a catalogue finds nothing). Amount: the line total.
- ``price_standard`` (超标准收费): the catalogue gives the item a payment standard ``std_pric`` and the
  line's unit price is above it. Amount: (price - standard) x count, rounded half up to the fen,
  at most the line total.
- ``price_ceiling`` (超限价): the policy pack gives the item a unit-price ceiling
  (:attr:`Knowledge.price_ceilings`) and the line's unit price is above it. Amount: exactly the
  over-limit self-pay the settlement core makes of the line
  (:func:`yibao.settlement.policy_range.over_limit`; the same excess as ``price_standard``). The audit
  does not see the line's 甲/乙/丙 level: for a 丙类 line, which settlement self-pays in full, the
  amount is what it would be over-limit otherwise.
  Known limitation: the knowledge holds one ceiling per item for the whole pack
  (:func:`yibao.app.audit_pack.price_ceilings` takes the policy pack's first table and lays each
  later change on top, the latest winning), while settlement uses the table in force on the claim's
  day. When a policy pack changes a ceiling within the year, a line before the change is audited
  against the later ceiling: 超限价 may then miss or invent an excess the settlement did not make.
  Dated ceilings (the table by ``fee_ocur_date``) would need the knowledge to carry dates.
- ``quantity_limit`` (超数量): the line's count is above the item's ``per_line`` limit
  (``quantity_limits``). Amount: the line total's share for the units over the limit,
  total x (count - limit) / count, rounded half up to the fen. ``cnt`` and ``limit`` are shown in
  units (``2.5``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from yibao.audit.knowledge import ItemLimit, Knowledge
from yibao.audit.model import MILLI, AuditClaim, AuditLine, Finding, History, PersonFacts
from yibao.audit.pack import RuleSpec
from yibao.core.money import half_up
from yibao.core.vocab import GENDERS
from yibao.settlement.policy_range import over_limit

Args = dict[str, str | int]
LineCheck = Callable[[RuleSpec, Knowledge, AuditClaim, PersonFacts, AuditLine], "Finding | None"]
ClaimRule = Callable[[RuleSpec, Knowledge, AuditClaim, PersonFacts, History], list[Finding]]

NO_LIMIT = ItemLimit()


def line_finding(
    rule: RuleSpec, claim: AuditClaim, line: AuditLine, amount: int, args: Args, evidence: tuple[str, ...] = ()
) -> Finding:
    """A finding on one line of ``claim`` with the rule's result; ``args`` gain ``item`` (the line's code)."""
    return Finding(
        rule.code, rule.type, rule.result,  # type: ignore[arg-type]
        claim.claim_id, (line.feedetl_sn,), amount, tuple(sorted({f"item:{line.med_list_codg}", *evidence})),
        {"item": line.med_list_codg, **args},
    )  # fmt: skip


def per_line(check: LineCheck) -> ClaimRule:
    """A claim rule from a check of one line: the findings of its lines, in the claim's order."""

    def run(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
        return [f for line in claim.lines if (f := check(rule, kb, claim, person, line)) is not None]

    run.__name__ = check.__name__
    run.__doc__ = check.__doc__
    return run


def cnt_text(cnt_milli: int) -> str:
    """A count held in thousandths as people write it: 1500 → ``1.5``, 2000 → ``2``, -250 → ``-0.25``."""
    sign = "-" if cnt_milli < 0 else ""
    whole, frac = divmod(abs(cnt_milli), MILLI)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:03d}".rstrip("0")


def bound_arg(value: int | None) -> str | int:
    """An optional bound in a message: the number, or ``""`` when there is none."""
    return "" if value is None else value


def _limit(kb: Knowledge, line: AuditLine) -> ItemLimit:
    return kb.item_limits.get(line.med_list_codg, NO_LIMIT)


def _whole_line(rule: RuleSpec, claim: AuditClaim, line: AuditLine, args: Args) -> Finding:
    return line_finding(rule, claim, line, line.det_item_fee_sumamt, args)


@per_line
def gender_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    gend = _limit(kb, line).gend
    if gend is None or gend == person.gend:
        return None
    return _whole_line(
        rule, claim, line, {"gend_label": GENDERS[gend][0], "gend_label_en": GENDERS[gend][1], "gend": person.gend}
    )


@per_line
def age_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    lim = _limit(kb, line)
    age = person.age_on(line.fee_ocur_date)
    if (lim.age_min is None or age >= lim.age_min) and (lim.age_max is None or age <= lim.age_max):
        return None
    return _whole_line(rule, claim, line, {"age_min": bound_arg(lim.age_min), "age_max": bound_arg(lim.age_max), "age": age})


def _allowed_codes(
    rule: RuleSpec, claim: AuditClaim, line: AuditLine, allowed: frozenset[str] | None, key: str, value: str
) -> Finding | None:
    """A finding when ``value`` (the claim's ``key``) is not among the item's ``allowed`` codes."""
    if allowed is None or value in allowed:
        return None
    return _whole_line(rule, claim, line, {"allowed": ",".join(sorted(allowed)), key: value})


@per_line
def med_type_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    return _allowed_codes(rule, claim, line, _limit(kb, line).med_types, "med_type", claim.med_type)


@per_line
def insutype_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    return _allowed_codes(rule, claim, line, _limit(kb, line).insutypes, "insutype", claim.insutype)


@per_line
def hosp_lv_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    min_lv = _limit(kb, line).min_hosp_lv
    if min_lv is None or claim.hosp_lv >= min_lv:
        return None
    return _whole_line(rule, claim, line, {"min_hosp_lv": min_lv, "hosp_lv": claim.hosp_lv})


@per_line
def unknown_item(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    if not kb.catalogue or line.med_list_codg in kb.catalogue:
        return None
    return _whole_line(rule, claim, line, {})


def _above_price(rule: RuleSpec, claim: AuditClaim, line: AuditLine, ref: int | None, key: str) -> Finding | None:
    """A finding when the line's unit price is above ``ref`` (shown as ``key``): the excess for its count."""
    if ref is None or line.pric <= ref:
        return None
    amount = over_limit(line.pric, ref, Decimal(line.cnt_milli) / MILLI, line.det_item_fee_sumamt)
    return line_finding(rule, claim, line, amount, {"pric_fen": line.pric, key: ref})


@per_line
def price_standard(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    std = kb.catalogue.get(line.med_list_codg, {}).get("std_pric")
    return _above_price(rule, claim, line, std, "std_fen")


@per_line
def price_ceiling(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    return _above_price(rule, claim, line, kb.price_ceilings.get(line.med_list_codg), "ceiling_fen")


@per_line
def quantity_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    limit = kb.per_line.get(line.med_list_codg)
    if limit is None or line.cnt_milli <= limit:
        return None
    amount = half_up(line.det_item_fee_sumamt * (line.cnt_milli - limit), line.cnt_milli)
    return line_finding(rule, claim, line, amount, {"cnt": cnt_text(line.cnt_milli), "limit": cnt_text(limit)})


RULES: dict[str, ClaimRule] = {
    "gender_limit": gender_limit,
    "age_limit": age_limit,
    "med_type_limit": med_type_limit,
    "hosp_lv_limit": hosp_lv_limit,
    "insutype_limit": insutype_limit,
    "unknown_item": unknown_item,
    "price_standard": price_standard,
    "price_ceiling": price_ceiling,
    "quantity_limit": quantity_limit,
}
