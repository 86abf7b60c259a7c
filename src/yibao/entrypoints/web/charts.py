"""Rows for the inline SVG bar chart (``bars`` in ``templates/web/_macros.html.j2``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    fraction: float
    """Share of the bar drawn, 0..1 (drawing geometry only; amounts stay integer fen)."""
    text: str
    track: bool = False
    """Draw the full-width track behind the bar (a cap)."""
    cls: str = ""


def share(part: int, whole: int) -> float:
    """``part / whole`` clipped to 0..1, 0 when ``whole`` is 0."""
    return 0.0 if whole <= 0 else min(1.0, max(0.0, part / whole))


def relative_bars(items: list[tuple[str, int, str, str]]) -> list[Bar]:
    """Bars scaled to the largest value: (label, value, text, css class)."""
    peak = max((value for _, value, _, _ in items), default=0)
    return [Bar(label, share(value, peak), text, cls=cls) for label, value, text, cls in items]
