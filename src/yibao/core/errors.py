"""Errors people can act on: where, which field, which value, what was expected."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from yibao.core.error_texts import EXPECTED_EN, EXPECTED_ZH, WHERE_EN, WHERE_ZH
from yibao.core.phrasebook import Phrasebook

_BOTH = re.compile(r"(?P<zh>.*[\u3400-\u9fff].*?)\s*/ (?P<en>[^\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+)", re.S)
_GLOSS = re.compile(r"\s*[(（][^()（）]*[\u3400-\u9fff][^()（）]*[)）]")


def _said(text: str, lang: str, phrases: Phrasebook) -> str:
    """``text`` (as the code wrote it) in ``lang``.

    ``"中文 / English"`` gives one side; a known phrase is said in ``lang``; an English text that keeps a
    Chinese term in brackets for the Chinese reader (``a reason (撤销原因)``) drops it in English.
    """
    both = _BOTH.fullmatch(text)
    if both:
        return both.group(lang)
    said = phrases.say(text)
    if said is not None:
        return said
    return _GLOSS.sub("", text) if lang == "en" else text


def expected_in(text: str, lang: str) -> str:
    """What was expected, said in ``lang`` where a phrase is known (:mod:`yibao.core.error_texts`)."""
    return _said(text, lang, EXPECTED_ZH if lang == "zh" else EXPECTED_EN)


def where_in(text: str, lang: str) -> str:
    """Where the value came from, in ``lang`` (file names and codes as they are)."""
    return _said(text, lang, WHERE_ZH if lang == "zh" else WHERE_EN)


@dataclass
class InputError(Exception):
    """Bad input (a pack, a CSV row, a claim): nothing is written when one is raised."""

    where: str
    """File (and row) or object the value came from."""
    field: str
    value: object
    expected: str
    """What was expected, as the code writes it (English; Chinese in a few Chinese-only workflows)."""
    expected_zh: str = ""
    """What was expected in Chinese, when the code says it itself (else from the phrasebook)."""
    expected_en: str = ""
    """What was expected in English, when ``expected`` is Chinese."""

    def __post_init__(self) -> None:
        super().__init__(self.render("en"))

    def expected_in(self, lang: str) -> str:
        own = self.expected_zh if lang == "zh" else self.expected_en
        return own or expected_in(self.expected, lang)

    def render(self, lang: str = "zh") -> str:
        # a date as a clerk writes it ('2022-05-16'), not as Python spells the object
        value = repr(self.value.isoformat() if isinstance(self.value, date) else self.value)
        if len(value) > 80:
            value = value[:77] + "..."
        where, expected = where_in(self.where, lang), self.expected_in(lang)
        if lang == "zh":
            if self.value is None:  # a field left out: said without Python's None
                return f"{where}：字段 {self.field} 未填写，应为：{expected}"
            return f"{where}：字段 {self.field} 的值 {value} 不正确，应为：{expected}"
        return f"{where}: field {self.field} has value {value}; expected {expected}"

    def __str__(self) -> str:
        return self.render("en")


class InputErrors(Exception):
    """Several input errors at once (a file with more than one bad row)."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        super().__init__("\n".join(e.render("en") for e in errors))

    def render(self, lang: str = "zh") -> str:
        return "\n".join(e.render(lang) for e in self.errors)


class NotFound(InputError):
    """The thing asked for does not exist (HTTP 404)."""


def error_body(e: InputError) -> dict[str, str]:
    """An error as the API returns it: the field, the value, what was expected, in both languages."""
    return {
        "field": e.field,
        "value": str(e.value),
        "expected": e.expected_in("en"),
        "expected_zh": e.expected_in("zh"),
        "message": e.render("zh"),
        "message_en": e.render("en"),
    }
