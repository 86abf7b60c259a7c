"""超支付范围 and 超支付标准, one line at a time against the item's restrictions (scalar form)."""

from __future__ import annotations

from collections.abc import Callable

from yibao.audit.knowledge import Knowledge
from yibao.audit.model import AuditClaim, AuditLine, Finding, History, PersonFacts
from yibao.audit.pack import RuleSpec
from yibao.core.vocab import GENDERS

Args = dict[str, str | int]


def line_finding(
    rule: RuleSpec, claim: AuditClaim, line: AuditLine, amount: int, args: Args, evidence: tuple[str, ...] = ()
) -> Finding:
    """A finding on one line of ``claim`` with the rule's result; ``args`` gain ``item`` (the line's code)."""
    return Finding(
        rule.code, rule.type, rule.result,  # type: ignore[arg-type]
        claim.claim_id, (line.feedetl_sn,), amount, tuple(sorted({f"item:{line.med_list_codg}", *evidence})),
        {"item": line.med_list_codg, **args},
    )  # fmt: skip


def _per_line(check: Callable[[RuleSpec, Knowledge, AuditClaim, PersonFacts, AuditLine], Finding | None]):  # type: ignore[no-untyped-def]
    def run(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
        return [f for line in claim.lines if (f := check(rule, kb, claim, person, line)) is not None]

    return run


@_per_line
def gender_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, line: AuditLine) -> Finding | None:
    lim = kb.item_limits.get(line.med_list_codg)
    if lim is None or lim.gend is None or lim.gend == person.gend:
        return None
    return line_finding(
        rule, claim, line, line.det_item_fee_sumamt,
        {"gend_label": GENDERS[lim.gend][0], "gend_label_en": GENDERS[lim.gend][1], "gend": person.gend},
    )  # fmt: skip


RULES = {"gender_limit": gender_limit}
