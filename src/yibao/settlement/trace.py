"""Turn trace steps into sentences a clerk can follow (Simplified Chinese; English on request)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yibao.core.i18n import Said, pick, t
from yibao.core.money import fmt_percent, fmt_yuan
from yibao.core.vocab import (
    CI_BLOCKS,
    HOSP_LEVELS,
    INSTITUTION_CLASSES,
    RATIO_PLACES,
    RESIDENT_TIERS,
    TIERS,
    identity_label,
    label,
)
from yibao.settlement.model import TraceStep

REASONS: dict[str, Said] = {
    "line": ("本待遇类别不享受此项", "this benefit line is not covered by this payer"),
    "identity": ("身份类别不在救助范围", "identity category not covered"),
    "tilt": ("倾斜支付取消封顶线", "tilt removes the cap"),
    "over_limit": ("超人头定额部分按项目据实结算，不设封顶线", "above the capitation limit item by item, no cap"),
    "": ("不设封顶线", "no cap"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    "fallback": ("无“{from_line}”病种备案，按“{to_line}”结算", "no filing for “{from_line}”: settled as “{to_line}”"),
    "fallback_unsigned": (
        "非本人签约机构就诊，不享受“{from_line}”，按“{to_line}”结算",
        "not at an institution the person signed for “{from_line}”: settled as “{to_line}”",
    ),
    "line": (
        "待遇类别：{line_name}（医疗类别 {med_type}），身份：{identity}",
        "benefit line: {line_name} (med type {med_type}), identity: {identity}",
    ),
    "person_terms": (
        "按参保人条件执行待遇：{terms}（年龄 {age}，缴费档次 {resident_tier}，就诊于{institution}，家庭医生{family_doctor}）",
        "terms for the person applied: {terms} (age {age}, contribution tier {resident_tier}, at {institution}, "
        "family doctor {family_doctor})",
    ),
    "policy_range": (
        "医疗总费用 {medfee_fen}，全自费 {fulamt_fen}，超限价 {overlmt_fen}，先行自付 {preselfpay_fen}，政策范围内 {scp_fen}",
        "total {medfee_fen}, fully self-paid {fulamt_fen}, over price limit {overlmt_fen}, "
        "self-pay-first {preselfpay_fen}, policy range {scp_fen}",
    ),
    "audit_self_pay": (
        "明细 {sn}（{item}）经审核规则 {rule}「{rule_name}」判定违规，{amount_fen}转全自费",
        "line {sn} ({item}) refused by audit rule {rule} “{rule_name}”: {amount_fen} fully self-paid",
    ),
    "full_pay": ("目录内甲类药品全额支付 {amount_fen}", "listed class-A drugs paid in full: {amount_fen}"),
    "fixed_share": (
        "按固定比例支付项目 {amount_fen} × {ratio_bp} = {pay_fen}",
        "fixed-share items {amount_fen} × {ratio_bp} = {pay_fen}",
    ),
    "account_first": (
        "当年个人账户余额 {balance_fen}，先支付政策范围内费用 {base_fen} 中的 {acct_fen}，"
        "其余 {rest_fen} 进入起付线（自负段）和比例",
        "the current-year personal account (balance {balance_fen}) first pays {acct_fen} of the policy-range cost "
        "{base_fen}; the rest {rest_fen} goes to the deductible (self-pay segment) and the ratio",
    ),
    "deductible_place": ("{place}执行该地起付线", "{place}: the deductible set for this place"),
    "place_selfpay_first": (
        "{place}先行自付 {base_fen} × {share_bp} = {amount_fen}",
        "{place}: self-pay first {base_fen} × {share_bp} = {amount_fen}",
    ),
    "class_b": (
        "乙类部分 {class_b_fen}，起付线以上按比例分摊 {part_fen}，乙类比例 {ratio_bp}，支付 {pay_fen}",
        "class B part {class_b_fen}, its share above the deductible {part_fen}, class B ratio {ratio_bp}, pays {pay_fen}",
    ),
    "full_pay_outside_cap": (
        "目录内甲类药品全额支付 {amount_fen}，不受封顶线限制、不计入封顶线",
        "listed class-A drugs paid in full: {amount_fen}, outside the cap and not counted in it",
    ),
    "deductible_admission": (
        "本年第 {ordinal} 次住院，{level}起付线 {full_fen}，按 {pct_bp} 计 {deductible_fen}，本次支付起付线 {dedc_fen}",
        "admission no. {ordinal} this year, {level} deductible {full_fen}, at {pct_bp}: {deductible_fen}; "
        "deductible paid now {dedc_fen}",
    ),
    "deductible_year": (
        "年度起付线 {full_fen}，按 {pct_bp} 计 {deductible_fen}，此前已累计 {before_fen}，本次支付起付线 {dedc_fen}",
        "yearly deductible {full_fen}, at {pct_bp}: {deductible_fen}; accumulated before {before_fen}; "
        "deductible paid now {dedc_fen}",
    ),
    "deductible_admission/plain": (
        "本年第 {ordinal} 次住院，{level}起付线 {deductible_fen}，本次支付起付线 {dedc_fen}",
        "admission no. {ordinal} this year, {level} deductible {deductible_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_year/plain": (
        "年度起付线 {deductible_fen}，此前已累计 {before_fen}，本次支付起付线 {dedc_fen}",
        "yearly deductible {deductible_fen}; accumulated before {before_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_claim": (
        "每次就诊起付线 {full_fen}，按 {pct_bp} 计 {deductible_fen}，本次支付起付线 {dedc_fen}",
        "deductible per claim {full_fen}, at {pct_bp}: {deductible_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_claim/plain": (
        "每次就诊起付线 {deductible_fen}，本次支付起付线 {dedc_fen}",
        "deductible per claim {deductible_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_period": (
        "{period}起付线 {full_fen}，按 {pct_bp} 计 {deductible_fen}，本期此前已累计 {before_fen}，本次支付起付线 {dedc_fen}",
        "deductible for {period} {full_fen}, at {pct_bp}: {deductible_fen}; accumulated before in the period "
        "{before_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_period/plain": (
        "{period}起付线 {deductible_fen}，本期此前已累计 {before_fen}，本次支付起付线 {dedc_fen}",
        "deductible for {period} {deductible_fen}; accumulated before in the period {before_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_waived": ("特殊病种已备案，本次免起付线", "filed special disease: no deductible on this claim"),
    "deductible_highest": (
        "{period}起付线按本期就诊最高级别（{level}）计 {deductible_fen}，本期此前已付 {before_fen}，本次支付起付线 {dedc_fen}",
        "deductible for {period} at the highest level attended ({level}) {deductible_fen}; paid before in the period "
        "{before_fen}; deductible paid now {dedc_fen}",
    ),
    "deductible_off_pay": (
        "起付线从基金应付额中扣除：{scope}尚余起付线 {remaining_fen}，应付 {raw_fen}，扣除 {dedc_fen}",
        "deductible taken off the payment: deductible left for {scope} {remaining_fen}, computed {raw_fen}, taken off {dedc_fen}",
    ),
    "cost_ceiling_above_deductible": (
        "年度最高支付限额（起付线以上政策范围内费用）{ceiling_fen}，此前已计入 {before_fen}，本次计入 {counted_fen}，"
        "超出部分 {above_fen} 由个人负担",
        "yearly ceiling on covered cost above the deductible {ceiling_fen}, counted before {before_fen}, "
        "counted now {counted_fen}; {above_fen} above it is left to the patient",
    ),
    "cost_ceiling_gross": (
        "年度最高支付限额（政策范围内费用，含起付线）{ceiling_fen}，此前已计入 {before_fen}，本次计入 {counted_fen}，"
        "超出部分 {above_fen} 由个人负担",
        "yearly ceiling on covered cost from the first yuan {ceiling_fen}, counted before {before_fen}, "
        "counted now {counted_fen}; {above_fen} above it is left to the patient",
    ),
    "cap/combined": (
        "两种及以上备案病种合并限额 {cap_fen}，此前已支付 {paid_before_fen}，应付 {raw_fen}，实付 {pay_fen}",
        "combined cap for two or more filed diseases {cap_fen}, paid before {paid_before_fen}, computed {raw_fen}, "
        "paid {pay_fen}",
    ),
    "cap/period": (
        "{period}封顶线 {cap_fen}，本期此前已支付 {paid_before_fen}，应付 {raw_fen}，实付 {pay_fen}",
        "cap for {period} {cap_fen}, paid before in the period {paid_before_fen}, computed {raw_fen}, paid {pay_fen}",
    ),
    "ratio/plain": ("{place}{level}：报销比例 {ratio_bp}", "{place}, {level}: ratio {ratio_bp}"),
    "limit": (
        "年度救助限额 {cap_fen}，此前已救助 {paid_before_fen}，应付 {raw_fen}，实付 {pay_fen}",
        "annual limit {cap_fen}, paid before {paid_before_fen}, computed {raw_fen}, paid {pay_fen}",
    ),
    "deductible_none": ("不设起付线", "no deductible"),
    "ratio": (
        "{place}{level}：报销比例 {base_bp}，身份加减 {add_bp}，执行 {ratio_bp}",
        "{place}, {level}: ratio {base_bp}, identity adjustment {add_bp}, applied {ratio_bp}",
    ),
    "segment": ("分段 {lo_fen}–{hi_fen}：{amount_fen} × {ratio_bp}", "band {lo_fen}–{hi_fen}: {amount_fen} × {ratio_bp}"),
    "cap": (
        "年度封顶线 {cap_fen}，此前已支付 {paid_before_fen}，应付 {raw_fen}，实付 {pay_fen}",
        "annual cap {cap_fen}, paid before {paid_before_fen}, computed {raw_fen}, paid {pay_fen}",
    ),
    "no_cap": ("{reason}，应付 {raw_fen}", "{reason}; computed {raw_fen}"),
    "capitation": (
        "门诊统筹人头定额（{township}，镇村共用）：年度限额 {limit_fen}，此前已支付 {paid_before_fen}；"
        "本次按人头付费 {head_fen}，超限额部分按项目据实结算 {item_fen}",
        "outpatient capitation (the pot the township hospital and its village clinics share): yearly limit {limit_fen}, "
        "paid before {paid_before_fen}; paid by head {head_fen}, above the limit settled item by item {item_fen}",
    ),
    "capitation/limit": (
        "门诊统筹人头定额（{township}，镇村共用）：年度限额 {limit_fen}，此前已支付 {paid_before_fen}；本次按人头付费 {head_fen}",
        "outpatient capitation (the pot the township hospital and its village clinics share): yearly limit {limit_fen}, "
        "paid before {paid_before_fen}; paid by head {head_fen}",
    ),
    "result": ("支付 {pay_fen}", "pays {pay_fen}"),
    "cumulative": (
        "本次计入 {base_fen}，年度累计 {before_fen} → {after_fen}",
        "base now {base_fen}, year total {before_fen} → {after_fen}",
    ),
    "tilt": (
        "{identity}倾斜支付：起付线按 {pct_bp}，比例调整 {add_bp}{no_cap}",
        "tilt for {identity}: deductible at {pct_bp}, ratios {add_bp}{no_cap}",
    ),
    "threshold_gross": (
        "起付线 {deductible_fen}（分段按年度累计额计）",
        "deductible {deductible_fen} (bands on the cumulative amount)",
    ),
    "threshold_above_deductible": (
        "起付线 {deductible_fen}（分段按超过起付线的累计额计）",
        "deductible {deductible_fen} (bands on the cumulative amount above it)",
    ),
    "threshold": ("起付线 {deductible_fen}", "deductible {deductible_fen}"),
    "threshold_income": (
        "起付线为人均可支配收入 {income_fen} 的 {share_bp}：{deductible_fen}",
        "deductible {share_bp} of the per-capita disposable income {income_fen}: {deductible_fen}",
    ),
    "flat_ratio": (
        "超过起付线部分 {amount_fen} × {ratio_bp} = {raw_fen}",
        "above the deductible {amount_fen} × {ratio_bp} = {raw_fen}",
    ),
    "category": ("救助类别：{identity}", "assistance category: {identity}"),
    "major": ("重特大疾病，按该类别重特大疾病救助标准", "designated major disease: the category's major-disease terms apply"),
    "major_flag": (
        "结算标记为重特大疾病，按该类别重特大疾病救助标准",
        "flagged as a major disease (major_dise_flag): the category's major-disease terms apply",
    ),
    "base_in_catalogue": (
        "计算基数为目录内个人自付：政策范围内个人自付 {scp_left_fen} + 乙类先行自付 {pre_fen} = {base_fen}",
        "base is in-catalogue self-pay: policy-range self-pay {scp_left_fen} + class-B self-pay-first {pre_fen} = {base_fen}",
    ),
    "block": ("按{block}结算", "paid by the {block} block"),
    "application": (
        "依申请救助：身份 {identity}，{from_date} 至 {to_date} 结算 {bills} 笔，"
        "未计入此前申请的政策范围内个人自付合计 {base_fen}",
        "assistance on application: identity {identity}, {bills} bills settled {from_date} to {to_date}, "
        "policy-range self-pay not counted by an earlier application {base_fen}",
    ),
    "application_limit": (
        "每次申请救助限额 {cap_fen}，应付 {raw_fen}，实付 {pay_fen}",
        "limit per application {cap_fen}, computed {raw_fen}, paid {pay_fen}",
    ),
    "application_yearly": (
        "年度救助限额 {limit_fen}（与结算时的医疗救助共用），本年此前已救助 {paid_before_fen}，"
        "应付 {raw_fen}，实付 {pay_fen}，尚余 {left_fen}",
        "yearly assistance limit {limit_fen} (shared with assistance paid at the counter), paid earlier this year "
        "{paid_before_fen}, computed {raw_fen}, paid {pay_fen}, left {left_fen}",
    ),
    "not_applicable": ("不适用：{reason}", "not applicable: {reason}"),
    "total": (
        "医疗总费用 {medfee_fen} = 基金支付 {funds_fen} + 个人负担 {psn_part_fen}",
        "total {medfee_fen} = funds {funds_fen} + patient {psn_part_fen}",
    ),
    "account_all": (
        "个人账户可支付个人负担 {payable_fen}，账户本年余额 {balance_fen}，个人账户支付 {acct_fen}，现金支付 {cash_fen}",
        "the personal account may pay the patient's share {payable_fen}, balance left this year {balance_fen}: "
        "account pays {acct_fen}, cash {cash_fen}",
    ),
    "account_in_catalogue": (
        "个人账户可支付目录内个人负担 {payable_fen}，账户本年余额 {balance_fen}，个人账户支付 {acct_fen}，现金支付 {cash_fen}",
        "the personal account may pay the in-catalogue share {payable_fen}, balance left this year {balance_fen}: "
        "account pays {acct_fen}, cash {cash_fen}",
    ),
}


def _format_arg(name: str, value: Any, lang: str) -> str:
    """An argument in ``lang``: amounts, ratios, codes by their labels, ``(zh, en)`` pairs by language."""
    if isinstance(value, tuple):
        return pick(value, lang)
    if name.endswith("_fen"):
        return fmt_yuan(int(value)) + t(lang, "元", "")
    if name == "add_bp":
        return ("+" if int(value) >= 0 else "") + fmt_percent(int(value))
    if name.endswith("_bp"):
        return fmt_percent(int(value))
    if name == "identity":
        return identity_label(str(value), lang)
    if name == "place":
        return label(RATIO_PLACES, value, lang)
    if name == "level":
        return label(HOSP_LEVELS, value, lang)
    if name == "reason":
        return label(REASONS, value, lang)
    if name == "age":
        return t(lang, "不详", "unknown") if value is None else t(lang, f"{value} 岁", str(value))
    if name == "resident_tier":
        return label(RESIDENT_TIERS, value, lang)
    if name == "institution":
        return label(INSTITUTION_CLASSES, value, lang)
    if name == "family_doctor":
        return t(lang, "已签约", "contracted") if value else t(lang, "未签约", "none")
    if name == "block":
        return label(CI_BLOCKS, value, lang)
    if name == "no_cap":
        return t(lang, "，取消封顶线", ", no cap") if value else ""
    return str(value)


IDENTITY_SHARED_DEDUCTIBLES = ("deductible_admission", "deductible_year", "deductible_claim", "deductible_period")
"""Deductible steps that show the identity's share (and say it plainly when it is 100 %)."""


def _variant(step: TraceStep) -> str:
    """Shorter wording when an identity adjustment is neutral; limits for assistance tiers."""
    a = step.args
    if step.key in IDENTITY_SHARED_DEDUCTIBLES and a.get("pct_bp") == 10_000:
        return step.key + "/plain"
    if step.key == "cap" and "combined" in a:
        return "cap/combined"
    if step.key == "cap" and "period" in a:
        return "cap/period"
    if step.key == "capitation" and not a.get("item_by_item"):
        return "capitation/limit"
    if step.key == "ratio" and a.get("add_bp") == 0:
        return "ratio/plain"
    if step.key == "cap" and step.tier in ("assistance", "tilted"):
        return "limit"
    return step.key


def render_step(step: TraceStep, lang: str = "zh") -> str:
    template = pick(MESSAGES[_variant(step)], lang)
    return template.format(**{k: _format_arg(k, v, lang) for k, v in step.args.items()})


def tier_name(tier: str, lang: str = "zh") -> str:
    return label(TIERS, tier, lang)


def render(trace: Iterable[TraceStep], lang: str = "zh") -> list[tuple[str, str]]:
    """(tier name, sentence) pairs."""
    return [(tier_name(s.tier, lang), render_step(s, lang)) for s in trace]


def proc_info(tier: str, trace: Iterable[TraceStep]) -> str:
    """The ``setl_proc_info`` text of one fund: its steps, in Chinese, joined."""
    return "；".join(render_step(s, "zh") for s in trace if s.tier == tier and s.key not in ("result",))
