# ruff: noqa: E501  (a table of labels and messages: one rule type per line reads best)
"""The audit rule types yibao implements: labels, parameters, tables they read, and their messages.

A rule in a pack (:mod:`yibao.audit.pack`) names one of these types and sets its parameters. Each
type is implemented twice — :mod:`yibao.audit.scalar` (one claim) and :mod:`yibao.audit.columnar`
(a whole ledger) — and a differential test proves the two equal. Messages are filled from a
finding's ``args``; amounts in ``*_fen`` args are shown in yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yibao.core.i18n import Said


@dataclass(frozen=True)
class RuleType:
    key: str
    label: Said
    message: Said
    """Filled from the finding's ``args`` with ``str.format``."""
    params: dict[str, object] = field(default_factory=dict)
    """Parameter name → default (None: the pack must give it)."""
    tables: tuple[str, ...] = ()
    """Knowledge tables the rule reads (a rule whose tables are empty finds nothing)."""
    stages: tuple[str, ...] = ("pre", "during", "post")
    """Stages it can run at: a rule that compares a person with the whole population runs after settlement only."""


def _t(key: str, zh: str, en: str, msg_zh: str, msg_en: str, **kw: object) -> RuleType:
    return RuleType(key, (zh, en), (msg_zh, msg_en), **kw)  # type: ignore[arg-type]


RULE_TYPES: dict[str, RuleType] = {
    t.key: t
    for t in (
        # 超支付范围 (payment scope): one line against the item's restrictions
        _t("gender_limit", "超限定性别", "restricted to the other gender",
           "{item} 限定{gend_label}使用，参保人性别不符", "{item} is restricted to {gend_label_en} patients", tables=("item_limits",)),
        _t("age_limit", "超限定年龄", "outside the age restriction",
           "{item} 限定年龄 {age_min}–{age_max} 岁，参保人 {age} 岁", "{item} is restricted to ages {age_min}-{age_max}; the patient is {age}",
           tables=("item_limits",)),
        _t("med_type_limit", "超就医方式", "outside the allowed kind of care",
           "{item} 限定就医方式 {allowed}，本次为 {med_type}", "{item} is restricted to med_type {allowed}; this is {med_type}",
           tables=("item_limits",)),
        _t("hosp_lv_limit", "超机构等级", "below the required institution level",
           "{item} 限 {min_hosp_lv} 级及以上机构使用，本机构 {hosp_lv} 级", "{item} needs a level {min_hosp_lv}+ institution; this one is level {hosp_lv}",
           tables=("item_limits",)),
        _t("insutype_limit", "超险种", "outside the allowed insurance type",
           "{item} 限定险种 {allowed}，参保险种 {insutype}", "{item} is restricted to insutype {allowed}; the patient has {insutype}",
           tables=("item_limits",)),
        _t("unknown_item", "目录外项目", "item not in the catalogue",
           "{item} 不在医保目录中", "{item} is not in the catalogue", tables=("catalogue",)),
        # 超支付标准 (payment standard)
        _t("price_standard", "超标准收费", "price above the payment standard",
           "{item} 单价 {pric_fen} 高于支付标准 {std_fen}", "{item} unit price {pric_fen} is above the standard {std_fen}",
           tables=("catalogue",)),
        _t("price_ceiling", "超限价", "price above the ceiling",
           "{item} 单价 {pric_fen} 高于限价 {ceiling_fen}，超出部分自费", "{item} unit price {pric_fen} is above the ceiling {ceiling_fen}; the excess is self-paid"),
        _t("quantity_limit", "超数量", "quantity above the limit per line",
           "{item} 单次数量 {cnt} 超过上限 {limit}", "{item} quantity {cnt} is above the limit {limit} per line", tables=("quantity_limits",)),
        _t("dose_limit", "超剂量", "daily quantity above the limit",
           "{item} {day} 当日累计 {cnt} 超过单日上限 {limit}", "{item} on {day}: {cnt} in the day, above the daily limit {limit}",
           tables=("quantity_limits",)),
        _t("frequency_limit", "超频次", "charged more often than allowed",
           "{item} 在{window_label}内累计 {cnt} 次，超过上限 {limit} 次", "{item}: {cnt} times in the {window_label_en}, above the limit {limit}",
           tables=("frequency_limits",)),
        _t("course_limit", "超疗程", "longer than the allowed course",
           "{item} 本次就诊使用 {days} 天，超过疗程上限 {limit} 天", "{item} used on {days} days in this stay, above the course limit {limit}",
           tables=("course_limits",)),
        # 重复收费、分解收费、关联、适应症
        _t("duplicate_pair", "重复收费", "charged together with an item that includes it",
           "{item} 与 {main} 同日收取，属重复收费", "{item} charged the same day as {main}, which includes it", tables=("duplicate_pairs",)),
        _t("bundle_split", "组合项目拆分", "a bundle charged as its parts",
           "组合项目 {bundle} 的 {parts} 项组成项目于 {day} 分别收取（分解收费）", "{parts} parts of bundle {bundle} charged separately on {day}",
           params={"min_parts": 2}, tables=("bundles",)),
        _t("missing_required", "关联缺失", "without the item or diagnosis it requires",
           "{item} 须有 {required}，本次就诊没有", "{item} requires {required}, missing from this claim", tables=("requirements",)),
        _t("diagnosis_mismatch", "药品与诊断不符", "drug not indicated for the diagnosis",
           "{item} 的适应症为 {indications}，本次诊断 {dise_codg}", "{item} is indicated for {indications}; the diagnosis is {dise_codg}",
           tables=("indications",)),
        # 就医行为 (episodes across claims)
        _t("split_admission", "分解住院", "re-admission soon after discharge",
           "出院 {gap} 天后再次入院（{days} 天内，同病种 {group}），前次住院 {prev}", "re-admitted {gap} days after discharge (within {days}, same disease group {group}); previous stay {prev}",
           params={"days": 15, "prefix": 3}),
        _t("bed_hanging", "挂床住院", "inpatient seen elsewhere during the stay",
           "住院期间 {n} 天在其他机构门诊或购药（{dates}）", "during the stay, outpatient care or purchases elsewhere on {n} days ({dates})",
           params={"min_days": 1}),
        _t("outpatient_during_stay", "住院期间门诊结算", "outpatient settlement during a stay",
           "本次门诊日期 {day} 在住院期间（{stay}）", "this outpatient visit on {day} falls within a stay ({stay})"),
        _t("after_death", "死亡后就医", "care after the recorded death",
           "就医日期 {day} 晚于死亡日期 {death}", "care on {day}, after the recorded death on {death}"),
        _t("same_day_visits", "同日多次就诊", "several visits the same day",
           "当日第 {n} 次门诊结算（同日已有 {others}）", "visit number {n} of the day (already: {others})", params={"max_visits": 1}),
        _t("high_frequency", "异常高频", "unusually many visits",
           "{month} 门诊 {visits} 次，高于全体参保人第 {percentile} 百分位（{threshold} 次）",
           "{visits} outpatient visits in {month}, above the {percentile}th percentile of everyone ({threshold})",
           params={"percentile": 99, "min_visits": 4}, stages=("post",)),
    )
}  # fmt: skip
