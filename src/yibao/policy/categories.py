"""The identity categories of this installation: the built-in ones and those its packs declare.

A pack may declare categories of its own (``categories`` of :class:`yibao.policy.schema.Policy`). The
registry stores an identity's category as its code whatever pack is in force, so a declared code
must be known wherever people and settlements are shown or identities are imported, not only while
that pack settles. The installation's categories are the built-in ones
(:data:`yibao.core.identities.CATEGORIES`), then those declared by the configured pack
(``YIBAO_POLICY``, a shipped name or the bureau's own pack file), the shipped packs and any other
pack file this process has loaded (:func:`yibao.policy.pack.load_pack`); the first declaration of a
code wins. The packs are read once per process and configured pack.

:func:`identity_label` is the label every page, slip, list, export and CLI output gives an identity;
:func:`known` gives every category with all its names, which bureaus' workbooks are read by; worked cases
resolve names with :func:`yibao.core.identities.normalise_category` given the :func:`declared` ones, the
resolver packs use.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from functools import cache

from yibao.core import vocab
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.identities import CATEGORIES
from yibao.core.settings import policy_name
from yibao.policy.pack import load_pack, loaded_categories, shipped_packs
from yibao.policy.schema import DeclaredCategory


@cache
def _read_packs(configured: str) -> None:
    """Load the configured pack and the shipped ones once (loading records what they declare)."""
    for name in dict.fromkeys([configured, *shipped_packs()]):
        with suppress(InputError, InputErrors, OSError):
            load_pack(name)


def declared() -> dict[str, DeclaredCategory]:
    """The categories the installation's packs declare, by code."""
    _read_packs(policy_name())
    return loaded_categories()


@dataclass(frozen=True)
class Known:
    """A category as imports and lists need it: code, names, the bureau that recognises it."""

    code: str
    zh: str
    en: str
    bureau: str
    names: tuple[str, ...]
    """Every name it may be written by: code, Chinese and English names, aliases."""


def known() -> dict[str, Known]:
    """Every category of the installation, built-in first, by code."""
    out = {c.code: Known(c.code, c.zh, c.en, c.bureau, (c.code, c.zh, c.en, *c.aliases)) for c in CATEGORIES.values()}
    for code, cat in declared().items():
        out.setdefault(
            code, Known(code, cat.label_zh, cat.label_en, cat.bureau, (code, cat.label_zh, cat.label_en, *cat.aliases))
        )
    return out


def identity_label(code: str, lang: str = "zh", short: bool = False) -> str:
    """A category's name in ``lang``: a built-in one's from :mod:`yibao.core.vocab`, a declared one's from its pack
    (``label_zh``, also as the short name), an unknown code as it is."""
    if code in vocab.IDENTITIES or not code:
        return vocab.identity_label(code, lang, short)
    cat = declared().get(code)
    return code if cat is None else pick((cat.label_zh, cat.label_en), lang)


def group_label(code: str, lang: str = "zh") -> str:
    """A group row (everyone, the low-income target group) or an identity category (:func:`vocab.group_label`)."""
    return vocab.label(vocab.GROUPS, code, lang) if code in vocab.GROUPS else identity_label(code, lang)


def lapsed_text(code: str, valid_from: str, months: int, held_to: str, lang: str = "zh") -> str:
    """Why an identity recorded as valid is not held: its recognition is older than the pack's ``identity_validity``."""
    name = identity_label(code, lang)
    if lang == "en":
        return (
            f"{name}: recognised on {valid_from}, valid for {months} months from recognition; "
            f"lapsed after {held_to}, so it brings no benefits"
        )
    return f"{name}：{valid_from} 认定，认定后有效期 {months} 个月，已于 {held_to} 到期，不再按此身份享受待遇"
