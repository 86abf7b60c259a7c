"""Identity categories (身份类别) and which of a person's identities decides benefits.

Categories are short ASCII codes so they survive CSV, YAML and URLs; every code has a
Chinese and an English label (in :mod:`yibao.core.vocab`), and the Chinese names bureaus
write in their spreadsheets are accepted as aliases on input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from yibao.core.vocab import IDENTITIES, IDENTITY_SHORT, identity_label

ORDINARY = "ordinary"


@dataclass(frozen=True)
class Category:
    code: str
    bureau: str  # the bureau that recognises it (source of the identity)
    aliases: tuple[str, ...] = ()
    """Other names bureaus write for it (the short name first)."""

    @property
    def zh(self) -> str:
        return IDENTITIES[self.code][0]

    @property
    def en(self) -> str:
        return IDENTITIES[self.code][1]


def _category(code: str, bureau: str, *more: str) -> Category:
    return Category(code, bureau, (IDENTITY_SHORT[code], *more))


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        _category("tekun", "民政", "特困供养人员"),
        _category("dibao", "民政", "农村低保", "城市低保"),
        _category("dibao_edge", "民政"),
        _category("fanpin", "乡村振兴"),
        _category("jiance", "乡村振兴", "三类人员", "脱贫不稳定", "边缘易致贫", "突发严重困难", "农村低收入监测人口"),
        _category("tuopin", "乡村振兴", "脱贫人口", "稳定脱贫"),
        _category("pinkun", "扶贫", "建档立卡", "贫困人口"),
        _category("youfu", "退役军人", "优抚对象"),
        _category("disabled", "残联", "残疾人"),
        _category("jisheng", "卫健", "计划生育特殊困难家庭"),
        _category("orphan", "民政"),
        _category("yinbing", "民政"),
        _category("gangxing", "民政", "刚性支出困难家庭", "支出型困难家庭"),
        _category(ORDINARY, "医保", "普通居民"),
    )
}


def _key(name: str) -> str:
    return name.strip().lower()


_ALIASES: dict[str, str] = {}
for _c in CATEGORIES.values():
    for _name in (_c.code, _c.zh, _c.en, *_c.aliases):
        _ALIASES[_key(_name)] = _c.code


class AmbiguousCategory(ValueError):
    """A name two declared categories share."""


def normalise_category(name: str, declared: Mapping[str, Sequence[str]] | None = None) -> str:
    """Map a code, Chinese or English name or alias to the category code; ``ValueError`` otherwise.

    ``declared``: categories declared beside the built-in ones (a policy pack's ``categories``), each
    code with its other names (Chinese, English, aliases); they are looked up after the built-in
    names, and a name two of them share is refused (:class:`AmbiguousCategory`). This is the one
    resolver of category names: packs, worked cases and bureau workbooks all go through it."""
    key = _key(name)
    code = _ALIASES.get(key)
    if code is not None:
        return code
    found = [c for c, names in (declared or {}).items() if key in {_key(n) for n in (c, *names)}]
    if len(found) > 1:
        raise AmbiguousCategory(f"identity category {name!r} is a name of several declared categories: {', '.join(found)}")
    if found:
        return found[0]
    known = ", ".join([*CATEGORIES, *(declared or {})])
    raise ValueError(f"unknown identity category {name!r}; expected one of {known}")


def label(code: str, lang: str = "zh", short: bool = False) -> str:
    """The category's name (see :func:`yibao.core.vocab.identity_label`)."""
    return identity_label(code, lang, short)


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
