"""Build the leaflet of a pack on a day, for one identity or for every identity the pack names."""

from __future__ import annotations

from datetime import date

from yibao.core.errors import InputError
from yibao.core.i18n import t
from yibao.core.identities import ORDINARY
from yibao.leaflet import questions as q
from yibao.leaflet.examples import examples_for
from yibao.leaflet.model import Answer, Contact, Leaflet
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Policy


def identities(policy: Policy) -> list[str]:
    """The identities a pack names (ordinary residents first, then ``identity_priority``)."""
    return [ORDINARY, *(c for c in policy.identity_priority if c != ORDINARY)]


def identity_code(policy: Policy, text: str) -> str:
    """An identity given by code or name (``dibao``, ``低保对象``) as the pack's code; refused when the pack names no
    such identity."""
    named = {c: policy.category_label(c, "zh") for c in identities(policy)}
    named_en = {c: policy.category_label(c, "en") for c in identities(policy)}
    wanted = text.strip()
    for code in named:
        if wanted in (code, named[code], named_en[code]):
            return code
    choices = ", ".join(named)
    raise InputError("leaflet", "identity", text, f"an identity the pack names: {choices}")


def build_leaflet(pack: PolicyPack, on: date, identity: str | None = None, lang: str = "zh") -> Leaflet:
    """The leaflet of ``pack`` as in force on ``on``: for ``identity`` (a code or name) or, ``None``, for all."""
    policy = pack.at(on)
    codes = [identity_code(policy, identity)] if identity is not None else identities(policy)
    who = [(c, policy.category_label(c, lang)) for c in codes]
    region = pack.region if lang == "zh" else pack.title_en
    answers: list[Answer | None] = [
        q.who_answer(policy, region, who, lang),
        q.premium_answer(policy, who, lang),
        q.inpatient_answer(policy, who, lang),
        q.outpatient_answer(policy, lang),
        q.capitation_answer(policy, who, lang),
        q.critical_answer(policy, who, lang),
        q.assistance_answer(policy, who, lang),
        q.filing_answer(policy, lang),
        q.cross_region_answer(policy, who, lang),
        q.contacts_answer(policy, lang),
    ]
    title = t(lang, f"{pack.region}城乡居民医保政策大白话问答", "Residents' medical insurance in plain words")
    for_whom = t(lang, f"{who[0][1]}版 · ", f"for {who[0][1]} · ") if identity is not None else ""
    in_force = t(lang, f"{on.year}年政策（{on.month}月{on.day}日有效）", f"{region}: the rules in force on {on.isoformat()}")
    subtitle = for_whom + in_force
    footnote = t(
        lang,
        f"本问答由医保政策包 {pack.pack_id} 自动生成，举例的金额都按结算系统同样的规则算出，与窗口结算结果一致。"
        "举例假设费用都在医保报销范围内、是当年第一次住院；实际报销以结算单为准。",
        f"Made from the policy pack {pack.pack_id}: every example is settled by the same rules as the counter. "
        "Examples assume the whole bill is covered and is the year's first stay; your settlement slip is what counts.",
    )
    return Leaflet(
        pack_id=pack.pack_id,
        title=title,
        subtitle=subtitle,
        day=on,
        lang=lang,
        identity=codes[0] if identity is not None else None,
        identities=tuple(who),
        answers=tuple(a for a in answers if a is not None),
        examples=tuple(examples_for(policy, who, on, lang)),
        contacts=tuple(Contact(t(lang, c.label_zh, c.label_en), c.phone) for c in policy.contacts.values()),
        footnote=footnote,
    )
