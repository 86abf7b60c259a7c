"""Errors people can act on: where, which field, which value, what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """Bad input (a pack, a CSV row, a claim): nothing is written when one is raised."""

    where: str
    """File (and row) or object the value came from."""
    field: str
    value: object
    expected: str

    def __post_init__(self) -> None:
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        value = repr(self.value)
        if len(value) > 80:
            value = value[:77] + "..."
        if lang == "zh":
            return f"{self.where}：字段 {self.field} 的值 {value} 不正确，应为：{self.expected}"
        return f"{self.where}: field {self.field} has value {value}; expected {self.expected}"

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
        "expected": e.expected,
        "message": e.render("zh"),
        "message_en": e.render("en"),
    }
