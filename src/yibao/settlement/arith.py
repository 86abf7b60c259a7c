"""The three shapes every tier is built from: thresholds on a cumulative base,
marginal bands over a segment, and caps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yibao.core.money import BP, round_half_up_div


@dataclass(frozen=True)
class Segment:
    lo: int
    hi: int
    ratio_bp: int

    @property
    def amount(self) -> int:
        return self.hi - self.lo


def clamp_bp(ratio: int) -> int:
    return max(0, min(BP, ratio))


def split_bands(lo: int, hi: int, bands: Sequence[tuple[int, int]]) -> list[Segment]:
    """Cut ``[lo, hi)`` by marginal bands ``(start, ratio_bp)`` (starts rising, first 0)."""
    out = []
    for i, (start, ratio) in enumerate(bands):
        end = bands[i + 1][0] if i + 1 < len(bands) else None
        a = max(lo, start)
        b = hi if end is None else min(hi, end)
        if b > a:
            out.append(Segment(a, b, clamp_bp(ratio)))
    return out


def pay_segments(segments: Sequence[Segment]) -> int:
    """Sum of ``amount x ratio`` over segments, exact, rounded half up once (the rounding rule)."""
    return round_half_up_div(sum(s.amount * s.ratio_bp for s in segments), BP)


def above_threshold(before: int, base: int, threshold: int) -> int:
    """The part of ``base`` that lies above ``threshold`` on the cumulative scale
    starting at ``before``: a yearly deductible measured on the in-year cumulative base."""
    return max(before + base, threshold) - max(before, threshold)


def cap_pay(raw: int, cap: int | None, paid_before: int) -> tuple[int, int | None]:
    """Pay ``raw`` within what ``cap`` leaves after ``paid_before``; returns (pay, remaining after)."""
    if cap is None:
        return raw, None
    pay = min(raw, max(0, cap - paid_before))
    return pay, max(0, cap - paid_before - pay)
