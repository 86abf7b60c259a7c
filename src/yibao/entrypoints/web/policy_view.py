"""Policy parameters for the window: each leaf's value as text with its source, and two policies side by side.

Values are as the pack writes them (yuan, percent); a leaf's source is a seed file or public document,
or ``assumed`` with the reason. The parameters' names are :mod:`yibao.policy.labels` (shared with ``yibao
policy show``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from yibao.core.errors import InputError
from yibao.core.i18n import t
from yibao.policy.labels import Row, row
from yibao.policy.labels import parameters as parameters  # the rows live beside their labels, shared with `policy show`
from yibao.policy.pack import PolicyPack, load_pack, shipped_packs


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
        ra = row(a, path, va, lang) if va else None
        rb = row(b, path, vb, lang) if vb else None
        known = ra or rb
        out.append(Pair(".".join(path), known.label if known else ".".join(path), ra, rb))
    return out
