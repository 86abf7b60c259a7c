"""The one translation helper: Simplified Chinese by default, English on request, never mixed.

Every text a person reads is written in both languages where it is made, as ``t(lang, zh, en)``, or
as a :data:`Said` pair ``(zh, en)`` in a table (the code labels live in :mod:`yibao.core.vocab`).
"""

from __future__ import annotations

from typing import Literal, TypeGuard

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT: Lang = "zh"

Said = tuple[str, str]
"""A text in both languages: (Chinese, English)."""


def is_lang(text: object) -> TypeGuard[Lang]:
    return text in LANGS


def lang_of(text: str | None) -> Lang:
    """``"en"`` -> ``"en"``; anything else (``None``, unknown) -> Chinese."""
    return text if is_lang(text) else DEFAULT


def t(lang: str, zh: str, en: str) -> str:
    """``zh`` for Chinese, ``en`` for English."""
    return zh if lang == "zh" else en


def pick(said: Said, lang: str) -> str:
    """One language of a ``(zh, en)`` pair."""
    return t(lang, *said)


def paren(text: object, lang: str) -> str:
    """``text`` in brackets after a word: ``（text）`` in Chinese, `` (text)`` in English."""
    return t(lang, f"（{text}）", f" ({text})")
