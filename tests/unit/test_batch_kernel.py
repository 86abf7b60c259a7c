"""The compiled kernel's arithmetic is the scalar rules' (money.half_up, arith) on every value the
engine can give it; the differential test (tests/integration/test_batch_differential.py) proves
the whole pass against ``settle``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.core.money import BP, half_up
from yibao.settlement.arith import above_threshold, cap_pay, pay_segments, split_bands
from yibao.settlement.batch import kernel
from yibao.settlement.batch.tables import INF

# amounts: fen up to a trillion yuan (money.MAX_YUAN) and cumulative sums of them; products with
# basis points stay far inside int64
FEN = st.integers(0, 10**14)
NUMERATOR = st.integers(-(2**61), 2**61)
COMPILED = settings(deadline=None)  # the first example compiles the function


@COMPILED
@given(NUMERATOR, st.one_of(st.just(BP), st.integers(1, 2**30)))
def test_half_up_is_the_rounding_rule(numerator: int, denominator: int) -> None:
    assert kernel.half_up(numerator, denominator) == half_up(numerator, denominator)


@COMPILED
@given(FEN, FEN, FEN)
def test_above_threshold(before: int, base: int, threshold: int) -> None:
    assert kernel.above_threshold(before, base, threshold) == above_threshold(before, base, threshold)


@COMPILED
@given(FEN, st.none() | FEN, FEN)
def test_cap_pay(raw: int, cap: int | None, paid_before: int) -> None:
    assert kernel.cap_pay(raw, INF if cap is None else cap, paid_before) == cap_pay(raw, cap, paid_before)[0]


@COMPILED
@given(
    st.lists(st.integers(1, 10**10), max_size=4, unique=True).map(lambda s: [0, *sorted(s)]),
    st.lists(st.integers(-20_000, 20_000), min_size=5, max_size=5),
    FEN,
    FEN,
    st.integers(0, 3),
)
def test_banded(starts: list[int], ratios: list[int], a: int, b: int, padding: int) -> None:
    lo, hi = min(a, b), max(a, b)
    bands = list(zip(starts, ratios, strict=False))
    padded = np.array([[*starts, *[INF] * padding]], np.int64)  # the tables pad a shorter band list with INF
    ratio_row = np.array([[*ratios[: len(starts)], *[0] * padding]], np.int64)
    assert kernel.banded(lo, hi, padded, 0, ratio_row, 0) == pay_segments(split_bands(lo, hi, bands))
