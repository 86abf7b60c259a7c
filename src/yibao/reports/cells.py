"""A report's column (its header in Chinese and English, its kind) and the words of its cells.

Codes stay codes in the tables (``identity``, ``line``, ``med_type``, ``item``); :data:`ALL` marks a
subtotal or total row. A column's kind says how a cell is read: yuan with two decimals for an
amount (fen in the data), a percentage for basis points, a count, or the words for a code (from
:mod:`yibao.core.vocab`, the pack's benefit lines, or the column's own ``words`` for row items).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from yibao.core.i18n import Said, pick, t
from yibao.core.money import fmt_yuan
from yibao.core.vocab import GROUPS, MED_TYPES, TIERS, label
from yibao.policy.categories import identity_label
from yibao.reports.tables import ALL, LOW_INCOME, Context
from yibao.rules.claims import Place

Kind = Literal["amount", "bp", "count", "identity", "line", "med_type", "month", "item", "code", "text"]
CODE_KINDS: Collection[Kind] = ("identity", "line", "med_type", "month", "item", "code")
"""Kinds whose cells are codes (the API gives their words beside them as ``<column>_label``)."""
NUMERIC_KINDS: Collection[Kind] = ("amount", "bp", "count")
SPECIAL_ROWS: dict[str, Said] = {ALL: TIERS["total"], LOW_INCOME: GROUPS[LOW_INCOME]}


def fmt_bp(bp: int) -> str:
    """``8491`` -> ``"84.91%"`` (always two decimals, exact)."""
    sign = "-" if bp < 0 else ""
    whole, part = divmod(abs(bp), 100)
    return f"{sign}{whole}.{part:02d}%"


FORMATS: dict[str, Callable[[Any], str]] = {
    "amount": lambda v: fmt_yuan(int(v)),
    "bp": lambda v: fmt_bp(int(v)),
    "count": lambda v: f"{int(v):,}",
}


@dataclass(frozen=True)
class Column:
    """One column of a report: its name in the table, its header, its kind, and for row items their words."""

    name: str
    zh: str
    en: str
    kind: Kind
    words: Mapping[str, Said] = field(default_factory=dict)
    """The words of the codes in an ``item`` column (the rows of that report)."""

    def header(self, lang: str = "zh") -> str:
        return t(lang, self.zh, self.en)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def code_label(self, code: str, lang: str, ctx: Context) -> str:
        """The words for a code cell (identity, line, med_type, item; other codes as they are)."""
        if code in SPECIAL_ROWS:
            return pick(SPECIAL_ROWS[code], lang)
        if self.kind == "identity":
            return identity_label(code, lang)
        if self.kind == "line":
            info = ctx.lines.get(code)
            return code if info is None else t(lang, info.zh, info.en)
        if self.kind == "med_type":
            return label(MED_TYPES, code, lang)
        if self.kind == "item":
            return label(self.words, code, lang)
        return code

    def text(self, value: Any, lang: str, ctx: Context) -> str:
        """A cell for people to read: yuan with two decimals, percentages, counts, labels."""
        if value is None:
            return "—" if self.kind == "bp" else ""
        if self.kind in FORMATS:
            return FORMATS[self.kind](value)
        if self.kind in CODE_KINDS:
            return self.code_label(str(value), lang, ctx)
        return str(value)


def text_column(name: str) -> Column:
    """A column no report describes: its name as header, its cells as they are."""
    return Column(name, name, name, "text")


def is_total(row: Mapping[str, Any]) -> bool:
    """A subtotal or total row (some key is :data:`ALL`)."""
    return any(v == ALL for v in row.values())


def place_label(place: Place, lang: str = "zh") -> str:
    where = place.label()
    return where if where != "全部" or lang == "zh" else "all"
