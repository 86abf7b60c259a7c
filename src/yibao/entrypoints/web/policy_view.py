"""Policy parameters for the window: each leaf's value as text with its source, and two policies side by side.

Values are as the pack writes them (yuan, percent); a leaf's source is a seed file or public document,
or ``assumed`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from yibao.core.errors import InputError
from yibao.core.i18n import Said, paren, pick, t
from yibao.core.vocab import HOSP_LEVELS, RATIO_PLACES, TIERS, identity_label, label
from yibao.policy.pack import LeafValue, PolicyPack, load_pack, shipped_packs
from yibao.policy.schema import BenefitLine

SECTIONS: dict[str, Said] = {
    "fee": ("费用规则", "fee rules"),
    "lines": ("基本医保待遇", "basic insurance lines"),
    "critical_illness": TIERS["critical_illness"],
    "assistance": TIERS["assistance"],
    "tilted_assistance": TIERS["tilted"],
    "premium": ("参保缴费", "premium"),
    "monitoring": ("监测预警", "monitoring"),
    "combined_caps": ("多病种合并限额", "combined caps for several filed diseases"),
}
KEYS: dict[str, Said] = {
    **RATIO_PLACES,
    **HOSP_LEVELS,
    "start": ("起", "from"),
    "ratio": ("比例", "ratio"),
    "deductible": ("起付线", "deductible"),
    "deductible_2nd": ("第二次住院起付线", "deductible, 2nd admission"),
    "deductible_3rd": ("第三次起住院起付线", "deductible, 3rd admission on"),
    "deductible_pct": ("起付线按比例", "deductible share"),
    "ratio_add": ("比例调整", "ratio adjustment"),
    "cap": ("封顶线", "cap"),
    "cost_ceiling": ("最高支付限额（政策范围内费用）", "ceiling on covered cost"),
    "cost_ceiling_basis": ("最高支付限额计算口径", "cost ceiling basis"),
    "cost_ceiling_group": ("最高支付限额共用组", "cost ceiling group"),
    "deductible_kind": ("起付线计算周期", "deductible period"),
    "deductible_on": ("起付线扣除方式", "deductible taken off"),
    "deductible_level": ("起付线按就诊级别", "deductible by level attended"),
    "deductible_waived_for": ("免起付线特殊病种", "special diseases without deductible"),
    "cap_period": ("封顶线计算周期", "cap period"),
    "cap_by_tier": ("按缴费档次的封顶线", "cap by contribution tier"),
    "unit": ("单位缴费", "unit contribution"),
    "individual_1": ("个人缴费一档", "individual tier 1"),
    "individual_2": ("个人缴费二档", "individual tier 2"),
    "limit": ("年度限额", "annual limit"),
    "threshold": ("起付标准", "threshold"),
    "threshold_income_share": ("预警线占人均收入比例", "threshold as a share of income"),
    "per_capita_income": ("人均可支配收入", "per-capita disposable income"),
    "bands": ("分段比例", "bands"),
    "tilt": ("倾斜支付", "tilt"),
    "categories": ("分类救助", "by category"),
    "identity_overrides": ("按身份调整", "by identity"),
    "share": ("资助比例", "share"),
    "amount": ("定额资助", "fixed amount"),
    "subsidies": ("资助参保", "premium subsidies"),
    "individual": ("个人缴费", "individual"),
    "fiscal": ("财政补助", "fiscal"),
    "cutoff": ("身份认定日", "identity cut-off day"),
    "class_b_selfpay_first": ("乙类先行自付比例", "class B self-pay first"),
    "price_ceilings": ("限价", "price ceilings"),
    "full_pay_items": ("全额支付项目", "items paid in full"),
    "rules": ("预警规则", "warning rules"),
}
"""Names of the keys in a policy's parameter paths and value tables (codes keep their vocabulary labels)."""


@cache
def shipped(name: str) -> PolicyPack:
    """A shipped pack, loaded once per process (packs are read-only files)."""
    return load_pack(name)


def pack_named(name: str, current: PolicyPack) -> PolicyPack:
    """``current`` (the app's pack) by its id, or a shipped pack; ``InputError`` naming ``pack`` otherwise."""
    if name == current.pack_id:
        return current
    if name not in shipped_packs():
        raise InputError("policy", "pack", name, f"one of {', '.join(shipped_packs())}")
    return shipped(name)


def pack_choices(current: PolicyPack, lang: str) -> list[tuple[str, str]]:
    names = dict.fromkeys([current.pack_id, *shipped_packs()])
    return [(n, f"{n} · {title(pack_named(n, current), lang)}") for n in names]


def title(pack: PolicyPack, lang: str) -> str:
    return t(lang, pack.title_zh, pack.title_en)


def day_in(pack: PolicyPack, text: str, field: str) -> date:
    """A date the pack covers, typed YYYY-MM-DD; ``InputError`` naming ``field`` otherwise."""
    end = pack.valid_to.isoformat() if pack.valid_to else "…"
    expected = f"a date YYYY-MM-DD the pack covers ({pack.valid_from.isoformat()} – {end})"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError("policy", field, text, expected) from None
    if not pack.covers(day):
        raise InputError("policy", field, text, expected)
    return day


def key_text(key: object, lang: str) -> str:
    k = str(key)
    return label(KEYS, k, lang) if k in KEYS else identity_label(k, lang)


def value_text(value: Any, lang: str) -> str:
    """A leaf's value in one line: tables as ``key: value; …``, lists comma-separated."""
    if isinstance(value, dict):
        return "; ".join(f"{key_text(k, lang)} {value_text(v, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(v, lang) for v in value)
    if isinstance(value, bool):
        return t(lang, "是", "yes") if value else t(lang, "否", "no")
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def path_label(pack: PolicyPack, path: tuple[str, ...], lang: str) -> str:
    """``lines.inpatient.ratio`` -> ``基本医保待遇 · 普通住院 · 比例`` (lines and warning rules by their names)."""
    parts = list(path)
    head = [label(SECTIONS, parts[0], lang)]
    policy = pack.at(pack.valid_from)
    named: dict[str, Said] = {}
    if parts[0] == "lines":
        named = {k: (line.label_zh, line.label_en) for k, line in policy.lines.items()}
    elif parts[:2] == ["monitoring", "rules"] and policy.monitoring is not None:
        named = {k: (rule.label_zh, rule.label_en) for k, rule in policy.monitoring.rules.items()}
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


@dataclass(frozen=True)
class Row:
    path: str
    label: str
    start: str
    value: str
    source: str | None
    assumed: str | None


def _row(pack: PolicyPack, path: tuple[str, ...], v: LeafValue, lang: str) -> Row:
    return Row(".".join(path), path_label(pack, path, lang), v.start.isoformat(), value_text(v.value, lang), v.source, v.assumed)


def parameters(pack: PolicyPack, day: date | None, lang: str) -> list[Row]:
    """Every parameter with its value(s) and source: all dated values, or those in force on ``day``."""
    rows: list[Row] = []
    for path, leaf in pack.leaves.items():
        values = [leaf.at(day)] if day else list(leaf.values)
        rows.extend(_row(pack, path, v, lang) for v in values if v is not None)
    return rows


@dataclass(frozen=True)
class Pair:
    path: str
    label: str
    a: Row | None
    b: Row | None

    @property
    def differs(self) -> bool:
        return (self.a.value if self.a else None) != (self.b.value if self.b else None)


def side_by_side(a: PolicyPack, a_day: date, b: PolicyPack, b_day: date, lang: str) -> list[Pair]:
    """Every parameter of either policy on its day, paired by path (``a``'s order first)."""
    paths = list(dict.fromkeys([*a.leaves, *b.leaves]))
    out = []
    for path in paths:
        va = a.provenance(path, a_day)
        vb = b.provenance(path, b_day)
        ra = _row(a, path, va, lang) if va else None
        rb = _row(b, path, vb, lang) if vb else None
        known = ra or rb
        out.append(Pair(".".join(path), known.label if known else ".".join(path), ra, rb))
    return out
