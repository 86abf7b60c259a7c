"""Worked examples: a synthetic person of each identity and a bill, settled with the pack, told in plain words.

Nothing here is written by hand: the amounts are what :func:`yibao.settlement.settle.settle` pays, the sentences
are :func:`yibao.settlement.plain.explain` of that settlement. A test settles each example's inputs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yibao.core.i18n import t
from yibao.leaflet.model import Example, ExampleInput, Payment
from yibao.policy.schema import Policy
from yibao.settlement.model import Place
from yibao.settlement.plain import explain
from yibao.settlement.settle import settle


@dataclass(frozen=True)
class Scenario:
    """A bill every identity's examples tell: where, at which level, how much (yuan)."""

    med_type: str
    hosp_lv: int
    place: Place
    yuan: int
    where: tuple[str, str]
    """Where it happened, in words: ``在县级医院住院`` / ``stay in a county hospital``."""
    amount: tuple[str, str]
    """The amount in words: ``1万元`` / ``10,000 yuan``."""


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("21", 2, "in_county", 10_000, ("在县级医院住院", "stay in a county hospital"), ("1万元", "10,000 yuan")),
    Scenario("21", 3, "out_of_county", 100_000, ("在市级大医院住院", "stay in a city hospital"), ("10万元", "100,000 yuan")),
)
"""A common stay and a costly one (the costly one reaches critical illness insurance)."""

PAYERS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("hifp_pay", ("基本医保报销", "basic insurance pays")),
    ("hifmi_pay", ("大病保险报销", "critical illness insurance pays")),
    ("maf_pay", ("医疗救助", "medical assistance pays")),
    ("oth_pay", ("倾斜救助", "tilted assistance pays")),
)
"""The payers an example's bill lists (those that paid), under their national names."""


def _has_line(policy: Policy, med_type: str) -> bool:
    return any(ln.insutype == "390" and med_type in ln.med_types and not ln.requires_filing for ln in policy.lines.values())


def worked_example(policy: Policy, inputs: ExampleInput, number: int, who: str, scenario: Scenario, lang: str) -> Example:
    """Settle ``inputs`` with ``policy`` and tell it."""
    s = settle(policy, inputs.person(), None, inputs.claim())
    where, amount = (t(lang, *scenario.where), t(lang, *scenario.amount))
    title = t(lang, f"如果您是{who}，{where}，花了{amount}……", f"If you are {who} and {where}, spending {amount}…")
    rows = [Payment("medfee_sumamt", t(lang, "医疗费用", "the bill"), s.medfee_sumamt)]
    rows += [Payment(code, t(lang, *name), getattr(s, code)) for code, name in PAYERS if getattr(s, code)]
    rows.append(Payment("psn_part_amt", t(lang, "您自己负担", "you pay"), s.psn_part_amt))
    return Example(number, title, inputs, who, tuple(rows), tuple(explain(s, lang)))


def examples_for(policy: Policy, identities: list[tuple[str, str]], day: date, lang: str) -> list[Example]:
    """Each identity's examples (the scenarios the pack has a resident line for), numbered from 1."""
    out: list[Example] = []
    for code, who in identities:
        for sc in SCENARIOS:
            if not _has_line(policy, sc.med_type):
                continue
            inputs = ExampleInput(code, sc.med_type, sc.hosp_lv, sc.place, sc.yuan * 100, day)
            out.append(worked_example(policy, inputs, len(out) + 1, who, sc, lang))
    return out
