"""Texts written in one language, said in the other: templates matched whole, holes carried over.

A phrase is ``(source, target)``: ``source`` is a text as the code writes it, with holes ``{}`` for the
parts that vary; ``target`` says the same in the other language, filling its holes in order (``{}``) or
by number (``{0}``, ``{1}``). A hole may be named: ``{date}`` matches a date only; ``{text}`` is itself
looked up in the phrasebook (a message inside a message; as it is when no phrase knows it); a table name
from :data:`yibao.core.vocab.TABLES` (``{visit_status}``) gives the code's label in the target language.
The first phrase that matches wins, so specific phrases come before general ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from yibao.core.vocab import TABLES, label

_HOLE = re.compile(r"\{(\w*)\}")
_PATTERNS = {"date": r"(\d{4}-\d{2}-\d{2})", "text": r"(.+?)"}


@dataclass(frozen=True)
class _Phrase:
    pattern: re.Pattern[str]
    holes: tuple[str, ...]
    target: str


def _compile(source: str, target: str) -> _Phrase:
    parts = _HOLE.split(source)
    holes = tuple(parts[1::2])
    regex = "".join(re.escape(p) if i % 2 == 0 else _PATTERNS.get(p, r"(.*?)") for i, p in enumerate(parts))
    return _Phrase(re.compile(regex + r"\Z", re.S), holes, target)


class Phrasebook:
    """Phrases from one language into the other (``lang`` is the target language)."""

    def __init__(self, lang: str, phrases: Iterable[tuple[str, str]]) -> None:
        self.lang = lang
        self.phrases = tuple(_compile(source, target) for source, target in phrases)

    def say(self, text: str) -> str | None:
        """``text`` in the target language, or ``None`` when no phrase matches it whole."""
        for phrase in self.phrases:
            m = phrase.pattern.match(text)
            if m is None:
                continue
            values = [self._fill(hole, value) for hole, value in zip(phrase.holes, m.groups(), strict=True)]
            if any(v is None for v in values):
                continue
            return _put(phrase.target, [v for v in values if v is not None])
        return None

    def _fill(self, hole: str, value: str) -> str | None:
        if hole == "text":
            return self.say(value) or value
        if hole in TABLES:
            return label(TABLES[hole], value, self.lang)
        return value


def _put(target: str, values: list[str]) -> str:
    counter = iter(range(len(values)))

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.isdigit():
            return values[int(key)]
        if key:
            return m.group(0)  # literal braces in the text, such as {value: ..., source: ...}
        return values[next(counter)]

    return _HOLE.sub(one, target)
