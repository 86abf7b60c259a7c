"""The names of a policy's parameters in Chinese and English, written once for every place that shows them.

``yibao policy show`` and the window's policy page both print a parameter as its path in the pack
(``lines.inpatient.ratio``) and as words (``基本医保待遇 · 普通住院 · 比例``). Every field of the pack
schema (:mod:`yibao.policy.schema`) has a label here; a test walks the schema and fails on a field
without one, so a new pack parameter comes with its Chinese name. Codes inside paths and values
(places, hospital levels, identity categories) take their labels from :mod:`yibao.core.vocab`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.core.i18n import Said, paren, pick, t
from yibao.core.vocab import (
    CI_BLOCKS,
    HOSP_LEVELS,
    INSTITUTION_CLASSES,
    RATIO_PLACES,
    RESIDENT_TIERS,
    TIERS,
    label,
)
from yibao.policy.categories import identity_label
from yibao.policy.pack import LeafValue, PolicyPack
from yibao.policy.schema import BenefitLine, PersonTerms

SECTIONS: dict[str, Said] = {
    "identity_priority": ("身份类别优先顺序", "identity priority"),
    "fee": ("费用规则", "fee rules"),
    "lines": ("基本医保待遇", "basic insurance lines"),
    "critical_illness": TIERS["critical_illness"],
    "large_amount": CI_BLOCKS["large_amount"],
    "assistance": TIERS["assistance"],
    "tilted_assistance": TIERS["tilted"],
    "premium": ("参保缴费", "premium"),
    "monitoring": ("监测预警", "monitoring"),
    "budget": ("基金预算", "fund budget"),
    "capitation": ("门诊统筹人头定额（镇村共用）", "outpatient capitation shared by township and village"),
    "combined_caps": ("多病种合并限额", "combined caps for several filed diseases"),
    "identity_validity": ("身份认定有效期（月）", "identity valid from recognition (months)"),
    "categories": ("本地声明的身份类别", "identity categories the pack declares"),
    "filing_diseases": ("门诊慢特病病种目录", "diseases that may be filed (chronic and special lists)"),
    "contacts": ("咨询电话", "who to call"),
}
"""The policy's sections (the fields of :class:`yibao.policy.schema.Policy`)."""

KEYS: dict[str, Said] = {
    **RATIO_PLACES,
    **HOSP_LEVELS,
    # fee rules
    "class_b_selfpay_first": ("乙类先行自付比例", "class B self-pay first"),
    "item_selfpay_first": ("按项目的先行自付比例", "self-pay first by item"),
    "fully_selfpaid_items": ("全自费项目", "fully self-paid items"),
    "price_ceilings": ("限价", "price ceilings"),
    "class_c_selfpay_first": ("丙类先行自付比例", "class C self-pay first"),
    # a benefit line
    "label_zh": ("中文名称", "Chinese name"),
    "label_en": ("英文名称", "English name"),
    "insutype": ("险种", "insurance type"),
    "insutypes": ("适用险种", "insurance types"),
    "med_types": ("医疗类别", "medical types"),
    "diseases": ("病种", "diseases"),
    "requires_filing": ("须慢特病备案", "needs a chronic filing"),
    "fallback": ("无备案时改按", "without a filing, settled as"),
    "filing_list": ("备案病种目录", "filing list"),
    # the filing diseases (filing_diseases)
    "chronic": ("门诊慢性病", "chronic diseases (outpatient)"),
    "special": ("门诊特殊病", "special diseases (outpatient)"),
    "code": ("ICD-10编码", "ICD-10 code"),
    "name_zh": ("中文病名", "Chinese name"),
    "name_en": ("英文病名", "English name"),
    "emp_status": ("在职或退休", "in service or retired"),
    "deductible_kind": ("起付线计算周期", "deductible period"),
    "deductible_on": ("起付线扣除方式", "deductible taken off"),
    "deductible_level": ("起付线按就诊级别", "deductible by level attended"),
    "deductible_waived_for": ("免起付线特殊病种", "special diseases without deductible"),
    "deductible": ("起付线", "deductible"),
    "deductible_2nd": ("第二次住院起付线", "deductible, 2nd admission"),
    "deductible_3rd": ("第三次起住院起付线", "deductible, 3rd admission on"),
    "deductible_group": ("共用起付线的组", "deductible group"),
    "ratio": ("比例", "ratio"),
    "ratio_bands": ("分段比例调整", "ratio bands"),
    "start": ("起", "from"),
    "add": ("增加百分点", "points added"),
    "cap": ("封顶线", "cap"),
    "cap_period": ("封顶线计算周期", "cap period"),
    "cap_by_tier": ("按缴费档次的封顶线", "cap by contribution tier"),
    "cap_group": ("共用封顶线的组", "cap group"),
    "cost_ceiling": ("最高支付限额（政策范围内费用）", "ceiling on covered cost"),
    "cost_ceiling_basis": ("最高支付限额计算口径", "cost ceiling basis"),
    "cost_ceiling_group": ("最高支付限额共用组", "cost ceiling group"),
    "unit": ("单位缴费", "unit contribution"),
    "individual_1": ("个人缴费一档", "individual tier 1"),
    "individual_2": ("个人缴费二档", "individual tier 2"),
    "deductible_by_place": ("按就医地的起付线", "deductible by place"),
    "place_selfpay_first": ("按就医地的先行自付比例", "self-pay first by place"),
    "class_b_ratio": ("乙类报销比例", "class B ratio"),
    "fixed_share_items": ("按固定比例支付项目", "fixed-share items"),
    "fixed_share": ("固定支付比例", "fixed fund share"),
    "person_terms": (
        "按参保人条件调整（年龄段、缴费档次、就诊机构、家庭医生签约）",
        "by the person's age, tier, institution, family doctor",
    ),
    "age_from": ("适用年龄起（周岁）", "from age"),
    "age_below": ("适用年龄止（不满周岁）", "below age"),
    "resident_tier": ("居民缴费档次", "resident contribution tier"),
    "institution": ("就诊机构类别", "institution class"),
    "family_doctor": ("家庭医生签约", "family-doctor contract"),
    "signed_only": ("仅限签约机构", "signed institutions only"),
    "full_pay_items": ("全额支付项目", "items paid in full"),
    "full_pay_in_cap": ("全额支付计入封顶线", "full payment counted in the cap"),
    "personal_account": ("个人账户支付范围", "personal account pays"),
    "all": ("个人负担全部", "the whole personal share"),
    "account_first": ("当年账户先支付（自负段在账户用完后起算）", "personal account first (self-pay segment after it)"),
    "identity_overrides": ("按身份调整", "by identity"),
    "deductible_pct": ("起付线按比例", "deductible share"),
    "ratio_add": ("比例调整", "ratio adjustment"),
    "no_cap": ("取消封顶线", "no cap"),
    # the later tiers
    "bands": ("分段比例", "bands"),
    "band_basis": ("分段起算", "band basis"),
    "tilt": ("倾斜支付", "tilt"),
    "categories": ("身份类别", "identity categories"),
    "lines": ("适用待遇类别", "benefit lines it pays on"),
    "limit": ("年度限额", "annual limit"),
    "threshold": ("起付标准", "threshold"),
    "base": ("计算基数", "base"),
    "policy_range": ("政策范围内个人自付", "policy-range self-pay"),
    "in_catalogue": ("目录内个人自付", "in-catalogue self-pay"),
    "deductible_income_share": ("起付线占人均可支配收入比例", "deductible as a share of income"),
    "major": ("重特大疾病", "designated major disease"),
    "major_diseases": ("重特大疾病病种", "designated major diseases"),
    "on_application": ("依申请救助", "assistance on application"),
    "window_months": ("追溯月数", "look-back window (months)"),
    # premium
    "individual": ("个人缴费", "individual"),
    "fiscal": ("财政补助", "fiscal"),
    "cutoff": ("身份认定日", "identity cut-off day"),
    "subsidies": ("资助参保", "premium subsidies"),
    "targets": ("参保率目标", "enrolment-rate targets"),
    "overall": ("全体人员", "everyone"),
    "low_income": ("农村低收入人口和脱贫人口", "rural low-income and formerly poor people"),
    "share": ("资助比例", "share"),
    "amount": ("定额资助", "fixed amount"),
    # monitoring
    "per_capita_income": ("人均可支配收入", "per-capita disposable income"),
    "rules": ("预警规则", "warning rules"),
    "kind": ("规则类型", "rule kind"),
    "measure": ("监测金额口径", "measure"),
    "scope": ("累计范围", "scope"),
    "threshold_income_share": ("预警线占人均收入比例", "threshold as a share of income"),
    "period": ("监测周期", "period"),
    "push_to": ("推送部门", "pushed to"),
    "confirmed_identity": ("认定存在风险后登记的身份", "identity recorded when confirmed at risk"),
    # fund budget
    "spending_growth": ("预算支出增长率（较上年实际）", "spending growth over last year"),
    "reserve": ("预留结余比例（略有结余）", "share of income kept as surplus"),
    "ahead_margin": ("支出超进度预警幅度", "spending-ahead warning margin"),
    "balance_floor": ("结余率预警线", "balance-rate warning line"),
    # outpatient capitation (门诊统筹人头定额)
    "counted": ("计入人头的人员", "persons counted"),
    "standard": ("人头定额标准", "per-head standard"),
    "per_head": ("每人每年定额", "per head per year"),
    "derive": ("定额测算", "derivation"),
    "funding": ("门诊统筹基金筹资总额", "outpatient pooling funding"),
    "risk_reserve": ("风险基金", "risk reserve"),
    "critical_reserve": ("大病保险预留", "critical-illness reserve"),
    "balance": ("上年结转结余", "balance carried over"),
    "adjustment": ("调整额", "adjustment"),
    "persons": ("测算人数", "persons the funding is for"),
    "category_limits": ("分身份年度限额", "yearly limit by identity"),
    "over_limit": ("超限额按项目据实结算", "item by item above the limit"),
    "prepay_share": ("按月预拨比例", "share prepaid monthly"),
    "clinic_due_day": ("镇卫生院拨付村卫生室截止日（每月）", "day of the month the township pays its clinics by"),
    "withhold": ("年终考核返还", "year-end release by score"),
    "score": ("考核得分不低于", "score at least"),
    "release": ("返还比例", "share released"),
    "weights": ("分配权重", "weights"),
    # a declared identity category
    "aliases": ("其他写法", "other names"),
    "bureau": ("认定部门", "recognising bureau"),
    # who to call
    "phone": ("电话号码", "telephone number"),
}
"""Names of the keys in a policy's parameter paths and value tables: every schema field below the sections
(codes keep their vocabulary labels)."""


def key_text(key: object, lang: str) -> str:
    """A key of a path or a value table: a schema field's label, else a code's (identity categories), else as it is."""
    k = str(key)
    return label(KEYS, k, lang) if k in KEYS else identity_label(k, lang)


def value_text(value: Any, lang: str) -> str:
    """A leaf's value in one line: tables as ``key: value; …``, lists comma-separated, codes by their labels, a named
    code (a listed disease: ``code``, ``name_zh``, ``name_en``) as its code and its name in ``lang``."""
    if isinstance(value, dict) and {"code", "name_zh", "name_en"} <= set(value):
        return f"{value['code']} {value['name_zh'] if lang == 'zh' else value['name_en']}"
    if isinstance(value, dict):
        return "; ".join(f"{key_text(k, lang)} {value_text(v, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(v, lang) for v in value)
    if isinstance(value, bool):
        return t(lang, "是", "yes") if value else t(lang, "否", "no")
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, str):
        return identity_label(value, lang)
    return str(value)


def path_label(pack: PolicyPack, path: tuple[str, ...], lang: str) -> str:
    """``lines.inpatient.ratio`` -> ``基本医保待遇 · 普通住院 · 比例`` (lines and warning rules by their names)."""
    parts = list(path)
    head = [label(SECTIONS, parts[0], lang)]
    policy = pack.at(pack.valid_from)
    named: dict[str, Said] = {k: (c.label_zh, c.label_en) for k, c in policy.categories.items()}
    if parts[0] == "lines":
        named |= {k: (line.label_zh, line.label_en) for k, line in policy.lines.items()}
        terms_of = policy.lines.get(parts[1]) if len(parts) > 3 and parts[2] == "person_terms" else None
        if terms_of is not None and parts[3] in terms_of.person_terms:
            named[parts[3]] = terms_label(terms_of.person_terms[parts[3]])
    elif parts[:2] == ["monitoring", "rules"] and policy.monitoring is not None:
        named |= {k: (rule.label_zh, rule.label_en) for k, rule in policy.monitoring.rules.items()}
    elif parts[0] == "contacts":
        named |= {k: (c.label_zh, c.label_en) for k, c in policy.contacts.items()}
    words = [label(named, p, lang) if p in named else key_text(p, lang) for p in parts[1:]]
    if parts[0] == "lines" and len(parts) == 3 and parts[1] in policy.lines:
        how = line_terms(policy.lines[parts[1]], parts[2])
        if how:
            words[-1] += paren(t(lang, "，", ", ").join(pick(h, lang) for h in how), lang)
    return " · ".join([*head, *words])


TERMS: dict[str, Said] = {
    "claim": ("每次就诊", "per claim"),
    "month": ("按自然月", "per calendar month"),
    "quarter": ("按自然季度", "per calendar quarter"),
    "payment": ("从基金应付额中扣除", "taken off the payment"),
    "highest": ("按本期就诊最高级别，升级补差", "at the highest level attended, moving up pays the difference"),
    "waived": ("已备案特殊病种免起付线", "waived for filed special diseases"),
    "above_deductible": ("起付线以上费用累计", "cost above the deductible"),
    "gross": ("含起付线费用累计", "cost from the first yuan"),
}
"""How a line counts a parameter, where it differs from the usual (per admission or year, on the base)."""


def line_terms(line: BenefitLine, key: str) -> list[Said]:
    """The qualifiers shown beside a line's deductible, cap or cost ceiling (issue 15: periods and ceilings)."""
    out: list[str] = []
    if key.startswith("deductible") and key != "deductible_pct":
        out += [line.deductible_kind] if line.deductible_kind in ("claim", "month", "quarter") else []
        out += ["payment"] if line.deductible_on == "payment" else []
        out += ["highest"] if line.deductible_level == "highest" else []
        out += ["waived"] if line.deductible_waived_for else []
    elif key in ("cap", "cap_by_tier") and line.cap_period != "year":
        out.append(line.cap_period)
    elif key == "cost_ceiling":
        out.append("gross" if line.deductible_on == "payment" else line.cost_ceiling_basis)
    return [TERMS[o] for o in out]


def terms_label(terms: PersonTerms) -> Said:
    """A ``person_terms`` entry by its conditions: ``二档、70 周岁及以上`` / ``tier 2, aged 70 and over``."""
    zh: list[str] = []
    en: list[str] = []
    if terms.resident_tier is not None:
        tier = RESIDENT_TIERS[str(terms.resident_tier)]
        zh.append(tier[0])
        en.append(tier[1])
    lo, hi = terms.age_from, terms.age_below
    if lo is not None and hi is not None:
        zh.append(f"{lo} 周岁至不满 {hi} 周岁")
        en.append(f"aged {lo} to under {hi}")
    elif lo is not None:
        zh.append(f"{lo} 周岁及以上")
        en.append(f"aged {lo} and over")
    elif hi is not None:
        zh.append(f"不满 {hi} 周岁")
        en.append(f"under {hi}")
    if terms.institution is not None:
        where = INSTITUTION_CLASSES[terms.institution]
        zh.append(f"在{where[0]}就诊")
        en.append(f"at {where[1]}")
    if terms.family_doctor is not None:
        zh.append("已签约家庭医生" if terms.family_doctor else "未签约家庭医生")
        en.append("with a family-doctor contract" if terms.family_doctor else "without a family-doctor contract")
    return "、".join(zh), ", ".join(en)


@dataclass(frozen=True)
class Row:
    path: str
    label: str
    start: str
    value: str
    source: str | None
    assumed: str | None


def row(pack: PolicyPack, path: tuple[str, ...], v: LeafValue, lang: str) -> Row:
    """One dated value of a parameter: its path, name, start, value as text and source."""
    return Row(".".join(path), path_label(pack, path, lang), v.start.isoformat(), value_text(v.value, lang), v.source, v.assumed)


def parameters(pack: PolicyPack, day: date | None, lang: str) -> list[Row]:
    """Every parameter with its value(s) and source: all dated values, or those in force on ``day``."""
    rows: list[Row] = []
    for path, leaf in pack.leaves.items():
        values = [leaf.at(day)] if day else list(leaf.values)
        rows.extend(row(pack, path, v, lang) for v in values if v is not None)
    return rows
