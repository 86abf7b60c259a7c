"""The leaflet's questions and their answers, every figure read from the policy (residents' lines, ``390``).

Each ``*_answer`` function answers one question for the identities the leaflet speaks to (one, or every one the
pack names); a function returns ``None`` when the pack has nothing to say on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from yibao.core.i18n import t
from yibao.core.identities import ORDINARY
from yibao.leaflet.model import Answer, Table
from yibao.leaflet.words import LEVELS, PLACES, cap_text, listed, money, rate
from yibao.policy.premium import premium_split
from yibao.policy.schema import LEVELS as LEVEL_CODES
from yibao.policy.schema import BenefitLine, CriticalIllness, Policy
from yibao.settlement.plain import points

Who = Sequence[tuple[str, str]]
"""The identities spoken to: (code, name)."""


def resident_lines(policy: Policy, med_type: str, filed: bool = False) -> list[tuple[str, BenefitLine]]:
    """The residents' lines of a med_type, those needing a chronic filing or those not."""
    return [
        (k, ln)
        for k, ln in policy.lines.items()
        if ln.insutype == "390" and med_type in ln.med_types and ln.requires_filing == filed
    ]


def _sep(lang: str) -> str:
    return t(lang, "；", "; ")


def who_answer(policy: Policy, region: str, who: Who, lang: str) -> Answer:
    special = [name for code, name in who if code != ORDINARY]
    paragraphs = [
        t(
            lang,
            f"{region}除参加职工医保的人以外，城乡居民都可以参加城乡居民基本医疗保险，按年缴费，次年享受待遇。",
            "Every resident who is not in the employees' scheme may join the residents' basic medical insurance: "
            "you pay once a year, for the following year.",
        ),
        t(
            lang,
            "看病时，基本医保先报销，大病保险再报销，符合条件的还有医疗救助，出院时一次结清，只付自己那一份。",
            "When you are treated, basic insurance pays first, then critical illness insurance, then medical assistance "
            "if you qualify: all settled at once when you leave, and you pay only your own share.",
        ),
    ]
    if special:
        paragraphs.append(
            t(
                lang,
                "以下人员还能享受资助参保、倾斜报销或医疗救助：" + "、".join(special) + "。",
                "These people get more help (premium paid for them, better terms, medical assistance): "
                + ", ".join(special) + ".",
            )
        )  # fmt: skip
    return Answer("who", t(lang, "哪些人能参加城乡居民医保？", "Who can join the residents' insurance?"), tuple(paragraphs))


def premium_answer(policy: Policy, who: Who, lang: str) -> Answer | None:
    premium = policy.premium
    if premium is None:
        return None
    rows = []
    for code, name in who:
        split = premium_split(premium, code)
        rows.append((name, money(premium.individual, lang), money(split.assistance, lang), money(split.individual, lang)))
    head = (t(lang, "身份", "who"), t(lang, "个人缴费标准", "contribution"), t(lang, "医疗救助帮您交", "assistance pays"),
            t(lang, "您自己交", "you pay"))  # fmt: skip
    month, day = (int(x) for x in premium.cutoff.split("-"))
    paragraphs = (
        t(
            lang,
            f"每人每年个人缴费 {money(premium.individual, lang)}，财政再为每人补助 {money(premium.fiscal, lang)}。",
            f"Each person pays {money(premium.individual, lang)} a year; the government adds "
            f"{money(premium.fiscal, lang)} for each person.",
        ),
        t(
            lang,
            f"困难人员的个人缴费由医疗救助资助，按上一年{month}月{day}日的身份确定。",
            f"For people in hardship medical assistance pays some or all of it, by the identity held on {month}/{day} "
            "of the year before.",
        ),
    )
    question = t(lang, "参保一年要交多少钱？", "How much do I pay to join for a year?")
    return Answer("premium", question, paragraphs, Table(head, tuple(rows)))


def _level_rows(line: BenefitLine, identity: str, lang: str) -> tuple[tuple[str, ...], ...]:
    rows = []
    for lv in LEVEL_CODES:
        deductible = line.deductible_for(identity, lv)
        ratios = [rate(line.ratio_for(identity, place, lv)) for place in PLACES]
        rows.append((t(lang, *LEVELS[lv]), money(deductible, lang), *ratios))
    return tuple(rows)


def _override_text(line: BenefitLine, code: str, name: str, lang: str) -> str | None:
    ov = line.override_for(code)
    zh: list[str] = []
    en: list[str] = []
    if ov.deductible_pct != 10_000:
        zh.append("起付线减半" if ov.deductible_pct == 5_000 else f"起付线按 {rate(ov.deductible_pct)} 计")
        en.append("the deductible halved" if ov.deductible_pct == 5_000 else f"the deductible at {rate(ov.deductible_pct)}")
    if ov.ratio_add:
        zh.append(f"报销比例提高 {points(ov.ratio_add, 'zh')}")
        en.append(f"ratios {points(ov.ratio_add, 'en')} higher")
    if ov.no_cap:
        zh.append("不设封顶线")
        en.append("no yearly maximum")
    if not zh:
        return None
    return t(lang, f"{name}：" + "、".join(zh) + "。", f"{name}: " + ", ".join(en) + ".")


def inpatient_answer(policy: Policy, who: Who, lang: str) -> Answer | None:
    lines = resident_lines(policy, "21")
    if not lines:
        return None
    _key, line = lines[0]
    head = (t(lang, "医院", "hospital"), t(lang, "起付线", "deductible"), *(t(lang, *p) for p in PLACES.values()))
    code = who[0][0] if len(who) == 1 else ORDINARY
    paragraphs = [
        t(
            lang,
            "住院费用中医保报销范围内的部分，先扣除起付线，剩下的按比例报销。医院级别越低，起付线越低、报销比例越高。",
            "Of the covered cost of a hospital stay, the deductible comes off first and the rest is paid at the ratio. "
            "The lower the hospital level, the lower the deductible and the higher the ratio.",
        ),
        t(
            lang,
            f"基本医保一年最多报销 {cap_text(line.cap_for(code, None), lang)}。",
            f"Basic insurance pays at most {cap_text(line.cap_for(code, None), lang)} a year.",
        ),
    ]
    if line.deductible_2nd is not None:
        second = listed([money(line.deductible_full(lv, 2), lang) for lv in LEVEL_CODES], lang)
        paragraphs.append(t(lang, f"一年内第二次及以后住院，起付线分别为 {second}。",
                            f"From the second stay in a year the deductibles are {second}."))  # fmt: skip
    points_ = tuple(p for c, n in who if (p := _override_text(line, c, n, lang)) is not None)
    if len(who) == 1 and points_:
        paragraphs.append(t(lang, "表中已按您的身份计算：", "The table is for your identity: ") + points_[0])
        points_ = ()
    question = t(lang, "住院能报销多少？", "How much of a hospital stay is paid?")
    return Answer("inpatient", question, tuple(paragraphs), Table(head, _level_rows(line, code, lang)), points_)


def outpatient_answer(policy: Policy, lang: str) -> Answer | None:
    lines = resident_lines(policy, "11")
    if not lines:
        return None
    said = []
    for _key, line in lines:
        ratios = "、".join(f"{t(lang, *LEVELS[lv])} {rate(line.ratio['in_county'][lv])}" for lv in LEVEL_CODES
                          if line.ratio["in_county"][lv])  # fmt: skip
        deductible = line.deductible[1] if line.deductible_kind != "none" else 0
        start = t(lang, f"起付线 {money(deductible, lang)}，", f"deductible {money(deductible, lang)}, ") if deductible else ""
        said.append(
            t(
                lang,
                f"{line.label_zh}：{start}在本县{ratios}，一年最多报销 {cap_text(line.cap, lang)}。",
                f"{line.label_en}: {start}in the county {ratios.replace('、', ', ')}; at most {cap_text(line.cap, lang)} a year.",
            )
        )
    question = t(lang, "平时在门诊看病能报销吗？", "Is outpatient care paid?")
    lead = t(lang, "能。在定点医疗机构看门诊，按下面的标准报销：", "Yes. At a designated clinic or hospital:")
    return Answer("outpatient", question, (lead,), None, tuple(said))


def _ci_block(policy: Policy) -> CriticalIllness | None:
    key = policy.critical_illness_block("390")
    block: CriticalIllness | None = None if key is None else getattr(policy, key)
    return block


def critical_answer(policy: Policy, who: Who, lang: str) -> Answer | None:
    ci = _ci_block(policy)
    if ci is None:
        return None
    rows = []
    for code, name in who:
        bands = listed([rate(r) for _start, r in ci.bands_for(code)], lang)
        rows.append((name, money(ci.deductible_for(code), lang), bands, cap_text(ci.cap_for(code), lang)))
    head = (t(lang, "身份", "who"), t(lang, "起付线（一年累计）", "deductible (yearly)"),
            t(lang, "报销比例（分段）", "ratios (bands)"), t(lang, "一年最多", "yearly maximum"))  # fmt: skip
    starts = [b.start for b in ci.bands]
    band_text = ""
    if len(starts) > 1:
        cuts = listed([money(s, lang) for s in starts[1:]], lang)
        band_text = t(lang, f"花得越多，比例越高（分段点：超过起付线后累计 {cuts}）。",
                      f"The more you spend, the higher the ratio (bands start at {cuts} above the deductible).")  # fmt: skip
    paragraphs = [
        t(
            lang,
            "基本医保报销后，一年内自己负担的报销范围内费用累计超过大病保险起付线的部分，大病保险再按比例报销。不用另外缴费，也不用另外申请。",
            "After basic insurance, critical illness insurance pays a share of your own covered costs in the year above "
            "its deductible. There is nothing more to pay and nothing to apply for.",
        ),
    ]
    if band_text:
        paragraphs.append(band_text)
    question = t(lang, "得了大病，花费很高怎么办？", "What if an illness costs a lot?")
    return Answer("critical_illness", question, tuple(paragraphs), Table(head, tuple(rows)))


def assistance_answer(policy: Policy, who: Who, lang: str) -> Answer | None:
    ma, ta = policy.assistance, policy.tilted_assistance
    if ma is None and ta is None:
        return None
    rows = []
    for code, name in who:
        for block, tier in ((ma, t(lang, "医疗救助", "medical assistance")), (ta, t(lang, "倾斜救助", "tilted assistance"))):
            if block is None or code not in block.categories:
                continue
            terms = block.terms_for(code)
            rows.append((name, tier, money(terms.threshold, lang), rate(terms.ratio), cap_text(terms.cap, lang)))
    paragraphs = [
        t(
            lang,
            "基本医保和大病保险报销后，救助对象自己还要负担的报销范围内费用，由医疗救助按比例再帮一把，在医院结算时直接减掉。",
            "After basic and critical illness insurance, medical assistance pays a share of what those it helps still "
            "owe of the covered cost, taken off the bill at the hospital.",
        )
    ]
    if not rows:
        paragraphs.append(t(lang, "普通参保居民不在医疗救助对象范围内；因病自付费用很高、生活困难的，可以向当地医保部门申请。",
                            "Ordinary residents are not among those it helps; if your own costs are very high, ask the "
                            "local medical security office."))  # fmt: skip
    head = (t(lang, "身份", "who"), t(lang, "救助", "help"), t(lang, "起付线（一年）", "deductible (yearly)"),
            t(lang, "救助比例", "ratio"), t(lang, "一年最多", "yearly limit"))  # fmt: skip
    question = t(lang, "困难群众还有什么帮助？", "What more help is there for people in hardship?")
    return Answer("assistance", question, tuple(paragraphs), Table(head, tuple(rows)) if rows else None)


def filing_answer(policy: Policy, lang: str) -> Answer | None:
    lines = resident_lines(policy, "14", filed=True)
    diseases = policy.filing_diseases
    if not lines:
        return None
    said = []
    for _key, line in lines:
        r = rate(line.ratio["in_county"][1])
        said.append(t(lang, f"{line.label_zh}：门诊费用按 {r} 报销，一年最多 {cap_text(line.cap, lang)}。",
                      f"{line.label_en}: outpatient costs paid at {r}, at most {cap_text(line.cap, lang)} a year."))  # fmt: skip
    paragraphs = [
        t(
            lang,
            "得了下面这些病，需要长期在门诊看病拿药的，带上医院的诊断证明和病历，到医保经办机构或定点医院申请门诊慢特病备案（认定）。",
            "If you have one of the diseases below and need outpatient care for a long time, take the hospital's "
            "diagnosis and records to the medical security office or a designated hospital and ask for a chronic or "
            "special disease filing.",
        ),
        t(lang, "备案以后，看这个病的门诊费用按下面的标准报销；没有备案的，按普通门诊报销。",
          "Once filed, outpatient costs for that disease are paid as below; without a filing, as ordinary outpatient care."),
    ]  # fmt: skip
    if diseases is not None:
        for kind, (zh, en) in (("chronic", ("门诊慢性病", "chronic diseases")), ("special", ("门诊特殊病", "special diseases"))):
            names = [d.name_zh if lang == "zh" else d.name_en for d in getattr(diseases, kind)]
            if names:
                paragraphs.append(t(lang, f"{zh}：" + "、".join(names) + "。", f"{en.capitalize()}: " + ", ".join(names) + "."))
    question = t(lang, "得了慢性病、特殊病，要办什么手续？", "What do I do for a chronic or special disease?")
    return Answer("filing", question, tuple(paragraphs), None, tuple(said))


def cross_region_answer(policy: Policy, who: Who, lang: str) -> Answer | None:
    lines = resident_lines(policy, "21")
    if not lines:
        return None
    line = lines[0][1]
    code = who[0][0] if len(who) == 1 else ORDINARY
    pairs = "；".join(
        f"{t(lang, *LEVELS[lv])} {rate(line.ratio_for(code, p, lv))} / {rate(line.ratio_for(code, u, lv))}"
        for lv in LEVEL_CODES
        for p, u in [("cross_filed", "cross_unfiled")]
    )
    paragraphs = [
        t(
            lang,
            "到外地住院，出发前先办理异地就医备案（可以在国家医保服务平台APP上办，或打下面的咨询电话问怎么办）。备案了，在外地定点医院出院时直接结算。",
            "Before a hospital stay away from home, file it first (on the national medical insurance app, or ask on the "
            "number below). Filed, the bill is settled directly when you leave a designated hospital there.",
        ),
        t(lang, f"外地住院报销比例（已备案 / 未备案）：{pairs}。",
          f"Ratios away from home (filed / not filed): {pairs.replace('；', '; ')}."),
        t(lang, "没有备案的，报销比例要低很多，请一定先备案。", "Without a filing the ratios are much lower: please file first."),
    ]  # fmt: skip
    first = line.place_selfpay_first_for("cross_unfiled")
    if first:
        paragraphs.append(t(lang, f"未备案的，还要先自付费用的 {rate(first)}。",
                            f"Without a filing you also pay {rate(first)} of the cost first."))  # fmt: skip
    question = t(lang, "到外地看病怎么报销？", "What if I am treated away from home?")
    return Answer("cross_region", question, tuple(paragraphs))


def contacts_answer(policy: Policy, lang: str) -> Answer | None:
    if not policy.contacts:
        return None
    said = tuple(f"{t(lang, c.label_zh, c.label_en)}{t(lang, '：', ': ')}{c.phone}" for c in policy.contacts.values())
    lead = t(lang, "拿不准的，请打电话问，或到村委会、乡镇医保经办窗口咨询：",
             "If you are unsure, call, or ask at the village committee or the township medical security counter:")  # fmt: skip
    return Answer("contacts", t(lang, "有问题问谁？", "Who do I ask?"), (lead,), None, said)


def capitation_answer(policy: Policy, who: Who, lang: str) -> Answer | None:
    """门诊统筹人头定额: the township hospital and its village clinics share one yearly outpatient limit."""
    cap = policy.capitation
    if cap is None or not cap.lines or cap.lines[0] not in policy.lines:
        return None
    line = policy.lines[cap.lines[0]]
    r = rate(line.ratio["in_county"][1])
    said = []
    for code, name in who:
        limit = money(cap.limit_for(code), lang)
        zh = f"{name}：两处合起来每人每年最多报销 {limit}"
        en = f"{name}: at most {limit} a year at the two together"
        if cap.item_by_item(code):
            more = cap_text(cap.cap_for(code), lang)
            zh += f"；超过以后，按实际费用继续报销，一年最多 {more}"
            en += f"; above it, the actual cost is still paid, up to {more} a year"
        said.append(t(lang, zh + "。", en + "."))
    signed = cap.counted == "signed"
    paragraphs = (
        t(
            lang,
            f"在{'签约家庭医生所在' if signed else '本'}镇的镇卫生院和村卫生室看门诊，按 {r} 报销。"
            "镇卫生院和村卫生室共用一个报销额度，合在一起计算，不是各算各的。",
            f"At the township health centre and the village clinics of your {'family doctor' if signed else 'own'} "
            f"township, outpatient care is paid at {r}. The centre and the clinics share one limit: it is counted "
            "for the two together, not for each.",
        ),
    )
    question = t(lang, "在镇卫生院、村卫生室看门诊怎么报销？", "Outpatient care at the township health centre or village clinic?")
    return Answer("capitation", question, paragraphs, None, tuple(said))
