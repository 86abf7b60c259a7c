"""Every code's Chinese and English label, each written once.

National interface field names (``hifp_pay`` …), medical types, hospital levels, places of care, fee
classes, insurance types, identity categories, fund payment types, the payers of a settlement, visit,
enrolment and warning statuses, and the bureaus warnings go to. Slips, pages, reports, workbooks,
traces and errors take their words from here; a code without a label is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from yibao.core.i18n import Said, pick

Labels = Mapping[str, Said]

FIELDS: dict[str, Said] = {
    "claim_id": ("结算单号", "claim"),
    "setl_id": ("结算ID", "settlement id"),
    "psn_no": ("人员编号", "person"),
    "psn_name": ("姓名", "name"),
    "setl_date": ("结算日期", "date"),
    "insutype": ("险种", "insurance type"),
    "med_type": ("医疗类别", "med type"),
    "line": ("待遇类别", "benefit line"),
    "identity": ("身份类别", "identity"),
    "hosp_lv": ("医院等级", "hospital level"),
    "dise_codg": ("病种编码", "diagnosis code"),
    "dise_name": ("病种名称", "diagnosis"),
    "medfee_sumamt": ("医疗总费用", "total cost"),
    "fulamt_ownpay_amt": ("全自费金额", "fully self-paid"),
    "overlmt_selfpay": ("超限价自费", "over price limit"),
    "preselfpay_amt": ("先行自付金额", "self-pay first"),
    "inscp_scp_amt": ("政策范围内费用", "policy-range cost"),
    "act_pay_dedc": ("实际支付起付线", "deductible paid"),
    "hifp_pay": ("基本医保统筹支付", "basic insurance"),
    "pool_prop_selfpay": ("统筹基金支付比例自付", "basic co-payment"),
    "hifmi_pay": ("大病保险支付", "critical illness"),
    "maf_pay": ("医疗救助支付", "medical assistance"),
    "oth_pay": ("倾斜救助支付", "tilted assistance"),
    "fund_pay_sumamt": ("基金支付总额", "funds total"),
    "psn_part_amt": ("个人负担总额", "patient pays"),
    "acct_pay": ("个人账户支出", "personal account"),
    "psn_cash_pay": ("个人现金支出", "patient cash"),
    "captn_pay": ("其中按人头付费", "of which paid by head (capitation)"),
    "captn_town": ("人头定额乡镇", "capitation township"),
}
"""National interface field names."""

AMOUNT_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
)

MED_TYPES: dict[str, Said] = {
    "11": ("普通门诊", "general outpatient"),
    "14": ("门诊慢特病", "chronic/special-disease outpatient"),
    "21": ("普通住院", "inpatient"),
}
"""``med_type`` (医疗类别)."""

HOSP_LEVELS: dict[str, Said] = {
    "1": ("一级/乡镇", "level 1 / township"),
    "2": ("二级/县级", "level 2 / county"),
    "3": ("三级/市级", "level 3 / city"),
}
"""``hosp_lv`` (医院等级), with the tier of care it stands for."""

PLACES: dict[str, Said] = {
    "in_county": ("县域内", "in the county"),
    "out_of_county": ("县域外", "out of the county"),
    "cross_region": ("异地就医", "cross-region"),
    "cross_emergency": ("异地急诊抢救", "cross-region emergency"),
}
"""Where care was given (a claim's ``place``)."""

RATIO_PLACES: dict[str, Said] = {
    "in_county": PLACES["in_county"],
    "out_of_county": PLACES["out_of_county"],
    "cross_filed": ("异地已备案", "cross-region, filed"),
    "cross_unfiled": ("异地未备案", "cross-region, not filed"),
    "cross_long_term": ("异地长期居住备案", "cross-region, long-term residence filed"),
    "cross_temporary": ("异地临时外出就医备案", "cross-region, temporary filing"),
    "cross_referral": ("转诊备案", "referral filed"),
    "cross_emergency": PLACES["cross_emergency"],
}
"""The places a policy gives ratios and deductibles for: cross-region care splits by whether it was filed
(异地就医备案) and how (:data:`yibao.policy.schema.PLACES`)."""

FILING_KINDS: dict[str, Said] = {
    "long_term": ("异地长期居住", "long-term residence"),
    "referral": ("转诊", "referral"),
    "temporary": ("临时外出就医", "temporary"),
    "": ("备案", "filed"),
}
"""A cross-region filing's kind (``kind`` of a person's cross-region filing)."""

CHRGITM_LV: dict[str, Said] = {"01": ("甲类", "class A"), "02": ("乙类", "class B"), "03": ("丙类", "class C")}
"""``chrgitm_lv`` (收费项目等级)."""

INSUTYPES: dict[str, Said] = {
    "390": ("城乡居民基本医疗保险", "resident basic medical insurance"),
    "310": ("职工基本医疗保险", "employee basic medical insurance"),
    "392": ("城乡居民大病保险", "resident critical illness insurance"),
}
"""``insutype`` (险种)."""

FIELDS_PERSON: dict[str, Said] = {
    "resident_tier": ("居民医保缴费档次", "contribution tier"),
    "family_doctor": ("家庭医生签约", "family-doctor contract"),
}
"""Person attributes benefit lines go by (the person page)."""

RESIDENT_TIERS: dict[str, Said] = {
    "1": ("一档", "tier 1"),
    "2": ("二档", "tier 2"),
    "None": ("未登记档次", "no tier on record"),
}
"""Resident contribution tier (居民医保缴费档次, Chongqing 一档 / 二档)."""

INSTITUTION_CLASSES: dict[str, Said] = {
    "designated": ("选定的基层医疗机构", "the selected institution"),
    "linked": ("与选定机构关联的机构", "an institution linked with the selected one"),
    "other": ("非选定机构", "an institution not selected"),
}
"""A claim's institution against the person's selection for general outpatient."""

INSTITUTION_ROLES: dict[str, Said] = {
    "designated": ("门诊统筹选定机构", "selected for general outpatient"),
    "linked": ("关联机构", "linked institution"),
    "signed": ("门诊慢性病签约机构", "signed for chronic outpatient"),
}
"""How a person chose an institution (``institutions`` of a person)."""

GENDERS: dict[str, Said] = {"1": ("男", "male"), "2": ("女", "female")}
"""``gend``."""

INSU_STATUSES: dict[str, Said] = {
    "0": ("未参保", "not enrolled"),
    "1": ("正常参保", "enrolled"),
    "2": ("暂停参保", "suspended"),
    "4": ("终止参保", "terminated"),
}
"""``psn_insu_stas`` (参保状态)."""
ENROLLED = "1"
"""The ``psn_insu_stas`` of an enrolled row (正常参保)."""

IDENTITIES: dict[str, Said] = {
    "tekun": ("特困人员", "extreme-poverty support"),
    "dibao": ("低保对象", "minimum living allowance"),
    "dibao_edge": ("低保边缘家庭成员", "near minimum-allowance household"),
    "fanpin": ("返贫致贫人口", "returned to / fallen into poverty"),
    "jiance": ("监测人口", "monitored (unstable / marginal / sudden hardship)"),
    "tuopin": ("稳定脱贫人口", "stably out of poverty"),
    "pinkun": ("建档立卡贫困人口", "registered poor (before 2021)"),
    "youfu": ("重点优抚对象", "key entitled veterans"),
    "disabled": ("重度残疾人", "severely disabled"),
    "jisheng": ("计划生育特殊困难家庭成员", "family-planning hardship family"),
    "orphan": ("孤儿和事实无人抚养儿童", "orphan / unsupported child"),
    "yinbing": ("因病致贫重病患者", "impoverished by serious illness"),
    "gangxing": ("刚性支出困难家庭成员", "household in hardship from unavoidable expenses"),
    "ordinary": ("普通参保居民", "ordinary insured"),
}
"""Identity categories (身份类别), by their ASCII code."""

IDENTITY_SHORT: dict[str, str] = {
    "tekun": "特困",
    "dibao": "低保",
    "dibao_edge": "低保边缘",
    "fanpin": "返贫致贫",
    "jiance": "监测",
    "tuopin": "脱贫",
    "pinkun": "贫困",
    "youfu": "优抚",
    "disabled": "重度残疾",
    "jisheng": "计生特殊家庭",
    "orphan": "孤儿",
    "yinbing": "因病致贫",
    "gangxing": "刚性支出困难",
    "ordinary": "普通",
}
"""The short Chinese names (charts, narrow columns); English has no shorter names."""

GROUPS: dict[str, Said] = {
    "all": ("全部人员", "everyone"),
    "low_income": ("农村低收入和脱贫人口", "rural low-income and formerly poor people"),
}
"""Rows that group people: everyone, and the rural low-income target group (农村低收入和脱贫人口)."""

TIERS: dict[str, Said] = {
    "line": ("待遇类别", "benefit line"),
    "range": ("政策范围", "policy range"),
    "basic": ("基本医保", "basic insurance"),
    "critical_illness": ("大病保险", "critical illness"),
    "assistance": ("医疗救助", "medical assistance"),
    "tilted": ("倾斜救助", "tilted assistance"),
    "total": ("合计", "total"),
    "account": ("个人账户", "personal account"),
}
"""The steps of a settlement: the benefit line, the policy range, the four payers (三重制度) and the total."""

CI_BLOCKS: dict[str, Said] = {
    "critical_illness": ("大病保险", "critical illness insurance"),
    "large_amount": ("职工大额医疗费用补助", "employees' large-amount medical subsidy"),
}
"""A pack's critical-illness blocks (``critical_illness`` and the second one, ``large_amount``)."""

FUND_PAY_TYPES: dict[str, Said] = {
    "390100": ("城乡居民基本医疗保险基金", "resident basic medical insurance fund"),
    "310100": ("职工基本医疗保险统筹基金", "employee basic medical insurance pooling fund"),
    "390200": ("城乡居民大病保险基金", "resident critical illness insurance fund"),
    "310200": ("职工大额医疗费用补助", "employee large medical expense subsidy"),
    "610100": ("医疗救助基金", "medical assistance fund"),
    "610200": ("倾斜救助（医疗救助基金）", "tilted assistance (medical assistance fund)"),
}
"""``fund_pay_type`` (基金支付类型)."""

LEDGER_MARKS: dict[str, Said] = {
    "settle": ("结算", "settlement"),
    "reverse": ("冲正", "reversal"),
    "reversed": ("已冲正", "reversed"),
    "apply": ("依申请救助", "assistance on application"),
}
"""How a ledger entry is marked in lists and files: its ``kind`` (a reversal: 冲正), and ``reversed`` for a settlement a
reversal undid (已冲正)."""

BUDGET_FUNDS: dict[str, Said] = {
    "basic": ("基本医保统筹基金", "basic insurance pooling fund"),
    "critical": ("大病保险", "critical illness insurance"),
    "assistance": ("医疗救助基金", "medical assistance fund"),
    "pool": ("城乡居民医保基金（基本医保与大病保险）", "resident pool (basic and critical illness)"),
}
"""The funds a yearly budget is kept for (基金预算), and the resident pool whose balance rate is watched."""

BUDGET_SOURCES: dict[str, Said] = {
    "entered": ("窗口录入", "entered"),
    "imported": ("模板导入", "imported"),
    "derived": ("按上年支出和本年筹资测算", "derived"),
}
"""How a budget amount came to be (each change is recorded with it)."""

BUDGET_WARNINGS: dict[str, Said] = {
    "ahead": ("支出超进度", "spending ahead of the year"),
    "balance": ("结余率低于预警线", "balance rate below the line"),
}
"""The fund budget's risk warnings (seed 001: 开展有针对性的风险预警分析)."""

VISIT_STATUSES: dict[str, Said] = {
    "registered": ("已挂号", "registered"),
    "admitted": ("在院", "admitted"),
    "discharged": ("已出院", "discharged"),
    "settled": ("已结算", "settled"),
    "cancelled": ("已撤销", "cancelled"),
}
"""A visit (就诊) registered through the national interface."""

WARNING_STATUSES: dict[str, Said] = {
    "new": ("新预警", "new"),
    "pushed": ("已推送", "pushed"),
    "at_risk": ("经核实存在返贫致贫风险", "confirmed at risk"),
    "not_at_risk": ("经核实无返贫致贫风险", "confirmed not at risk"),
    "assisted": ("已落实救助", "assisted"),
    "closed": ("已办结", "closed"),
}
"""The follow-up of a warning, in workflow order."""

WARNING_KINDS: dict[str, Said] = {"warning": ("预警对象", "warning"), "candidate": ("依申请救助候选", "candidate")}

BUREAUS: dict[str, Said] = {
    "rural_revitalisation": ("乡村振兴部门", "rural-revitalisation bureau"),
    "civil_affairs": ("民政部门", "civil-affairs bureau"),
    "health": ("卫生健康部门", "health commission"),
}
"""Where warnings are pushed (seed 000: 同级乡村振兴、民政部门)."""

SOURCES: dict[str, Said] = {
    "民政": ("民政", "civil affairs"),
    "乡村振兴": ("乡村振兴", "rural revitalisation"),
    "扶贫": ("扶贫", "poverty alleviation"),
    "退役军人": ("退役军人", "veterans affairs"),
    "残联": ("残联", "disabled persons' federation"),
    "卫健": ("卫健", "health commission"),
    "医保": ("医保", "medical insurance"),
    "监测预警": ("监测预警", "monitoring"),
}
"""The bureaus identities come from (an identity's ``source_bureau``), by the short Chinese names bureaus use."""

CHANNELS: dict[str, Said] = {
    "schedule": ("定时任务", "schedule"),
    "api": ("接口", "API"),
    "cli": ("命令行", "command line"),
    "web": ("经办窗口", "window"),
}
"""How a step was taken (a monitoring run's trigger, a warning event's source)."""

AUDIT_RESULTS: dict[str, Said] = {
    "violation": ("违规", "violation"),
    "suspicious": ("可疑", "suspicious"),
    "unevaluable": ("无法判断", "cannot evaluate"),
}
"""An audit finding's result: 违规 is refused at settlement, 可疑 settles and opens a 疑点."""

AUDIT_ACTIONS: dict[str, Said] = {
    "self_pay": ("违规明细转自费", "the line becomes self-paid"),
    "refuse": ("拒绝结算", "the settlement is refused"),
    "flag": ("仅提示", "flagged only"),
}
"""What a 违规 finding does at settlement (an audit rule's ``action``)."""

AUDIT_STAGES: dict[str, Said] = {
    "pre": ("事前", "before care"),
    "during": ("事中", "at settlement"),
    "post": ("事后", "after settlement"),
}
"""When an audit rule runs (national rule base: 事前 / 事中 / 事后)."""

AUDIT_FAMILIES: dict[str, Said] = {
    "policy": ("政策类", "policy"),
    "management": ("管理类", "management"),
    "medical": ("医疗类", "medical"),
}
"""The national rule base's three kinds of rules (框架体系 1.0: 30 policy, 28 management, 21 medical)."""

AUDIT_WINDOWS: dict[str, Said] = {
    "visit": ("当次门诊", "one outpatient visit"),
    "admission": ("当次住院", "one admission"),
    "day": ("单日", "one day"),
    "week": ("自然周", "a calendar week"),
    "month": ("自然月", "a calendar month"),
    "quarter": ("季度", "a quarter"),
    "year": ("自然年", "a calendar year"),
    "insu_year": ("医保年度", "an insurance year"),
}
"""An audit rule's time window."""

AUDIT_SCENARIOS: dict[str, Said] = {
    "inpatient": ("住院", "inpatient"),
    "outpatient": ("门(急)诊", "outpatient"),
    "pharmacy": ("购药", "pharmacy"),
    "cross_region": ("异地就医", "cross-region"),
}
"""Where an audit rule applies."""

SUSPECT_STATUSES: dict[str, Said] = {
    "first_review": ("初审", "first review"),
    "second_review": ("复审", "second review"),
    "appeal": ("机构申诉", "institution's appeal"),
    "investigation": ("调查核实", "investigation"),
    "decision": ("处理", "decision"),
    "deducted": ("扣款", "deducted"),
    "no_action": ("不予处理", "no action"),
}
"""A 疑点's status: 初审 → 复审 → 机构申诉 → 调查核实 → 处理, closed as 扣款 or 不予处理."""

SUSPECT_ACTIONS: dict[str, Said] = {
    "open": ("立案", "opened"),
    "sample": ("抽查立案", "opened by sampling"),
    "confirm": ("初审确认疑点", "confirmed at first review"),
    "notify": ("复审确认，通知机构申诉", "confirmed at second review; the institution may appeal"),
    "dismiss": ("审核排除，不予处理", "cleared at review, no action"),
    "appeal": ("机构申诉", "the institution appealed"),
    "accept": ("机构认可，不申诉", "the institution accepted without appeal"),
    "lapse": ("申诉期满未申诉", "no appeal within the time limit"),
    "investigate": ("调查核实完毕", "investigated"),
    "deduct": ("扣款", "deducted"),
    "no_action": ("不予处理", "no action"),
}
"""What was done to a 疑点 (an event's ``action``)."""

IMPORT_CHANGES: dict[str, Said] = {
    "person_added": ("新增人员", "person added"),
    "person_updated": ("补全人员信息", "person's place filled in"),
    "added": ("身份新增", "identity added"),
    "ended": ("身份结束", "identity ended"),
    "changed": ("身份变更", "identity changed"),
    "conflict": ("疑似同人异号", "same person, other ID?"),
}
"""One named line of an identity import's change report (``import_change.change``)."""

CONFLICT_STATUSES: dict[str, Said] = {
    "open": ("待核查", "to review"),
    "kept": ("已核实为不同人员", "kept apart"),
    "merged": ("已合并", "merged"),
}
"""A flagged 同人异号 pair's review (``conflict.status``)."""

CONFLICT_ACTIONS: dict[str, Said] = {
    "keep": ("确认为不同人员", "kept apart"),
    "merge": ("合并", "merged"),
    "undo": ("撤销上次决定", "earlier decision undone"),
}
"""A decision on a flagged pair (``conflict_decision.action``)."""

TABLES: dict[str, Labels] = {
    "field": FIELDS,
    "med_type": MED_TYPES,
    "hosp_lv": HOSP_LEVELS,
    "place": PLACES,
    "ratio_place": RATIO_PLACES,
    "chrgitm_lv": CHRGITM_LV,
    "insutype": INSUTYPES,
    "gend": GENDERS,
    "resident_tier": RESIDENT_TIERS,
    "institution_class": INSTITUTION_CLASSES,
    "institution_role": INSTITUTION_ROLES,
    "psn_insu_stas": INSU_STATUSES,
    "identity": IDENTITIES,
    "group": GROUPS,
    "tier": TIERS,
    "fund_pay_type": FUND_PAY_TYPES,
    "budget_fund": BUDGET_FUNDS,
    "budget_source": BUDGET_SOURCES,
    "budget_warning": BUDGET_WARNINGS,
    "visit_status": VISIT_STATUSES,
    "warning_status": WARNING_STATUSES,
    "warning_kind": WARNING_KINDS,
    "bureau": BUREAUS,
    "source": SOURCES,
    "channel": CHANNELS,
    "audit_result": AUDIT_RESULTS,
    "audit_action": AUDIT_ACTIONS,
    "audit_stage": AUDIT_STAGES,
    "audit_family": AUDIT_FAMILIES,
    "audit_window": AUDIT_WINDOWS,
    "audit_scenario": AUDIT_SCENARIOS,
    "suspect_status": SUSPECT_STATUSES,
    "suspect_action": SUSPECT_ACTIONS,
    "import_change": IMPORT_CHANGES,
    "conflict_status": CONFLICT_STATUSES,
    "conflict_action": CONFLICT_ACTIONS,
}
"""Every code table by name (for lists and for the languages test)."""


def label(table: Labels, code: object, lang: str = "zh") -> str:
    """A code's label in ``lang``; an unknown code as it is."""
    said = table.get(str(code))
    return str(code) if said is None else pick(said, lang)


def field_label(name: str, lang: str = "zh") -> str:
    return label(FIELDS, name, lang)


def med_type_label(code: str, lang: str = "zh") -> str:
    """``21`` -> ``21 普通住院``."""
    return code if code not in MED_TYPES else f"{code} {label(MED_TYPES, code, lang)}"


def identity_label(code: str, lang: str = "zh", short: bool = False) -> str:
    if short and lang == "zh" and code in IDENTITY_SHORT:
        return IDENTITY_SHORT[code]
    return label(IDENTITIES, code, lang)


def group_label(code: str, lang: str = "zh") -> str:
    """A group row (everyone, the low-income target group) or an identity category."""
    return label(GROUPS, code, lang) if code in GROUPS else identity_label(code, lang)


def channel_label(code: str, lang: str = "zh") -> str:
    """``schedule`` -> 定时任务; ``monitoring:schedule`` -> 监测预警·定时任务; a file name as it is."""
    head, _, channel = code.rpartition(":")
    if head == "monitoring":
        return pick(("监测预警·", "monitoring: "), lang) + label(CHANNELS, channel, lang)
    return label(CHANNELS, code, lang)


def bureau_label(codes: str | None, lang: str = "zh") -> str:
    """``civil_affairs,health`` -> ``民政部门、卫生健康部门``."""
    if not codes:
        return ""
    return ("、" if lang == "zh" else ", ").join(label(BUREAUS, c, lang) for c in codes.split(","))
