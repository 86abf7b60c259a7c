"""The plain words a leaflet says policy figures with: whole yuan without decimals, levels and places as a
household names them (the clerk's labels are in :mod:`yibao.core.vocab`)."""

from __future__ import annotations

from yibao.core.i18n import Said, t
from yibao.core.money import fmt_percent, fmt_yuan
from yibao.settlement.arith import clamp_bp

LEVELS: dict[int, Said] = {
    1: ("乡镇卫生院（一级）", "township health centre (level 1)"),
    2: ("县级医院（二级）", "county hospital (level 2)"),
    3: ("市级及以上医院（三级）", "city hospital (level 3)"),
}
PLACES: dict[str, Said] = {
    "in_county": ("在本县", "in the county"),
    "out_of_county": ("县外（本市、本省）", "outside the county"),
    "cross_filed": ("外地，已备案", "away, filed"),
    "cross_unfiled": ("外地，未备案", "away, not filed"),
}
"""The places a leaflet's tables show (the finer cross-region kinds take these, as settlement does)."""


def money(fen: int, lang: str) -> str:
    """A policy figure: ``500 元``, ``1,234.50 元`` / ``500 yuan``."""
    text = f"{fen // 100:,}" if fen % 100 == 0 else fmt_yuan(fen)
    return text + t(lang, " 元", " yuan")


def rate(bp: int) -> str:
    """A ratio as paid (clamped to 0..100 %): ``75%``."""
    return fmt_percent(clamp_bp(bp))


def listed(items: list[str], lang: str) -> str:
    """Items in a row: ``60%、65%`` / ``60%, 65%``."""
    return t(lang, "、", ", ").join(items)


def cap_text(fen: int | None, lang: str) -> str:
    return t(lang, "不设封顶线", "no yearly maximum") if fen is None else money(fen, lang)
