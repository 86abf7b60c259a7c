"""Identity categories (身份类别) and which of a person's identities decides benefits.

Categories are short ASCII codes so they survive CSV, YAML and URLs; every code has a
Chinese and an English label, and the Chinese names bureaus write in their
spreadsheets are accepted as aliases on input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ORDINARY = "ordinary"


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    bureau: str  # the bureau that recognises it (source of the identity)
    aliases: tuple[str, ...] = ()


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("tekun", "特困人员", "extreme-poverty support", "民政", ("特困", "特困供养人员")),
        Category("dibao", "低保对象", "minimum living allowance", "民政", ("低保", "农村低保", "城市低保")),
        Category("dibao_edge", "低保边缘家庭成员", "near minimum-allowance household", "民政", ("低保边缘",)),
        Category("fanpin", "返贫致贫人口", "returned to / fallen into poverty", "乡村振兴", ("返贫致贫",)),
        Category(
            "jiance",
            "监测人口",
            "monitored (unstable / marginal / sudden hardship)",
            "乡村振兴",
            ("监测", "三类人员", "脱贫不稳定", "边缘易致贫", "突发严重困难", "农村低收入监测人口"),
        ),
        Category("tuopin", "稳定脱贫人口", "stably out of poverty", "乡村振兴", ("脱贫", "脱贫人口", "稳定脱贫")),
        Category("pinkun", "建档立卡贫困人口", "registered poor (before 2021)", "扶贫", ("贫困", "建档立卡", "贫困人口")),
        Category("youfu", "重点优抚对象", "key entitled veterans", "退役军人", ("优抚", "优抚对象")),
        Category("disabled", "重度残疾人", "severely disabled", "残联", ("重度残疾", "残疾人")),
        Category(
            "jisheng",
            "计划生育特殊困难家庭成员",
            "family-planning hardship family",
            "卫健",
            ("计生特殊家庭", "计划生育特殊困难家庭"),
        ),
        Category("orphan", "孤儿和事实无人抚养儿童", "orphan / unsupported child", "民政", ("孤儿",)),
        Category(ORDINARY, "普通参保居民", "ordinary insured", "医保", ("普通", "普通居民")),
    )
}

_ALIASES: dict[str, str] = {}
for _c in CATEGORIES.values():
    for _name in (_c.code, _c.zh, _c.en, *_c.aliases):
        _ALIASES[_name.strip().lower()] = _c.code


def normalise_category(name: str) -> str:
    """Map a code, Chinese name or alias to the category code; ``ValueError`` otherwise."""
    code = _ALIASES.get(name.strip().lower())
    if code is None:
        known = "、".join(f"{c.code}({c.zh})" for c in CATEGORIES.values())
        raise ValueError(f"unknown identity category {name!r}; expected one of {known}")
    return code


def label(code: str, lang: str = "zh", short: bool = False) -> str:
    cat = CATEGORIES.get(code)
    if cat is None:
        return code
    if lang == "zh":
        return cat.aliases[0] if short and cat.aliases else cat.zh
    return cat.en


@dataclass(frozen=True)
class IdentityPeriod:
    """One identity held from ``valid_from`` to ``valid_to`` (inclusive; ``None`` = open)."""

    category: str
    valid_from: date
    valid_to: date | None = None
    source: str = ""

    def holds_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def deciding_identity(identities: tuple[IdentityPeriod, ...], day: date, priority: tuple[str, ...]) -> str:
    """The highest-ranking category valid on ``day`` (``priority`` lists highest first).

    Categories the pack does not rank bring no benefit and are ignored; a person with
    none of the ranked categories is :data:`ORDINARY`.
    """
    held = {i.category for i in identities if i.holds_on(day)}
    for code in priority:
        if code in held:
            return code
    return ORDINARY
