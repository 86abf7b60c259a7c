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
from yibao.core.identities import label as identity_label
from yibao.policy.pack import LeafValue, PolicyPack, load_pack, shipped_packs

SECTIONS: dict[str, tuple[str, str]] = {
    "fee": ("费用规则", "fee rules"),
    "lines": ("基本医保待遇", "basic insurance lines"),
    "critical_illness": ("大病保险", "critical illness"),
    "assistance": ("医疗救助", "medical assistance"),
    "tilted_assistance": ("倾斜救助", "tilted assistance"),
    "premium": ("参保缴费", "premium"),
    "monitoring": ("监测预警", "monitoring"),
}
KEYS: dict[str, tuple[str, str]] = {
    "in_county": ("县域内", "in county"),
    "out_of_county": ("县域外", "out of county"),
    "cross_filed": ("异地已备案", "cross-region, filed"),
    "cross_unfiled": ("异地未备案", "cross-region, not filed"),
    "1": ("一级", "level 1"),
    "2": ("二级", "level 2"),
    "3": ("三级", "level 3"),
    "start": ("起", "from"),
    "ratio": ("比例", "ratio"),
    "deductible": ("起付线", "deductible"),
    "deductible_2nd": ("第二次住院起付线", "deductible, 2nd admission"),
    "deductible_3rd": ("第三次起住院起付线", "deductible, 3rd admission on"),
    "cap": ("封顶线", "cap"),
    "limit": ("年度限额", "annual limit"),
    "threshold": ("起付标准", "threshold"),
    "bands": ("分段比例", "bands"),
    "tilt": ("倾斜支付", "tilt"),
    "share": ("资助比例", "share"),
    "amount": ("定额资助", "fixed amount"),
    "individual": ("个人缴费", "individual"),
    "fiscal": ("财政补助", "fiscal"),
}


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
    return pack.title_zh if lang == "zh" else pack.title_en


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
    pair = KEYS.get(k)
    if pair:
        return pair[0] if lang == "zh" else pair[1]
    return identity_label(k, lang)


def value_text(value: Any, lang: str) -> str:
    """A leaf's value in one line: tables as ``key: value; …``, lists comma-separated."""
    if isinstance(value, dict):
        return "; ".join(f"{key_text(k, lang)} {value_text(v, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(v, lang) for v in value)
    if isinstance(value, bool):
        return "是" if value and lang == "zh" else "否" if lang == "zh" else str(value).lower()
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def path_label(pack: PolicyPack, path: tuple[str, ...], lang: str) -> str:
    """``lines.inpatient.ratio`` -> ``基本医保待遇 · 普通住院 · ratio``."""
    parts = list(path)
    section = SECTIONS.get(parts[0])
    head = [section[0] if lang == "zh" else section[1]] if section else [parts[0]]
    if parts[0] == "lines" and len(parts) > 2:
        line = pack.at(pack.valid_from).lines.get(parts[1])
        head.append((line.label_zh if lang == "zh" else line.label_en) if line else parts[1])
        parts = parts[1:]
    return " · ".join([*head, *(key_text(p, lang) for p in parts[1:])])


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
