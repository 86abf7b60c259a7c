"""The compiled kernel's arithmetic is the scalar rules' (money.half_up, arith) on every value the
engine can give it; the differential test (tests/integration/test_batch_differential.py) proves
the whole pass against ``settle``."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.core.identities import IdentityPeriod
from yibao.core.money import BP, half_up
from yibao.policy.pack import load_pack
from yibao.settlement import capitation
from yibao.settlement.arith import above_threshold, cap_pay, pay_segments, split_bands
from yibao.settlement.batch import kernel
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.batch.tables import INF
from yibao.settlement.model import Claim, Person, PolicyRangeSummary

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


@COMPILED
@given(FEN, FEN, FEN)
def test_head_part(pay: int, limit: int, paid_before: int) -> None:
    assert kernel.head_part(pay, limit, paid_before) == capitation.head_part(pay, limit, paid_before)


def _visits(psn_no: str, n: int, township: str) -> list[Claim]:
    """``n`` 300-yuan general outpatient visits (all in the policy range) at a level-1 clinic of ``township``."""
    return [
        Claim(f"{psn_no}-{i}", psn_no, date(2020, 3, 1 + i), "11", 1, township=township, summary=PolicyRangeSummary(30_000))
        for i in range(n)
    ]


def test_zibo_capitation_by_hand() -> None:
    """Zibo: the outpatient line pays 50% at level 1 with no deductible, so a 300-yuan visit is 150 yuan of basic
    insurance. In the person's own township (Zibo counts the enrolled) the 200-yuan limit replaces the line's cap
    and is paid by head: 150, then the 50 left, then nothing. An ordinary person stops there; a poor person
    (建档立卡) goes on item by item up to the 1,000-yuan cap: 150 a visit until 900, then the 100 left.
    At another township's clinic the claim is not under capitation: the line's own 200-yuan cap, nothing by head."""
    pack = load_pack("shandong-zibo-2020")
    poor = Person("POOR", identities=(IdentityPeriod("pinkun", date(2019, 1, 1), None),), township="T1", signed_township="T2")
    plain = Person("PLAIN", township="T1")
    away = Person("AWAY", township="T1")
    claims = [*_visits("POOR", 8, "T1"), *_visits("PLAIN", 4, "T1"), *_visits("AWAY", 4, "T2")]
    got = settle_batch(pack, to_frames([poor, plain, away], claims)).claims
    rows = {r["claim_id"]: r for r in got.iter_rows(named=True)}

    def column(psn_no: str, name: str) -> list[object]:
        return [rows[c.claim_id][name] for c in claims if c.psn_no == psn_no]

    assert column("POOR", "hifp_pay") == [15_000] * 6 + [10_000, 0]
    assert column("POOR", "captn_pay") == [15_000, 5_000, 0, 0, 0, 0, 0, 0]
    assert column("POOR", "captn_town") == ["T1"] * 8
    assert column("PLAIN", "hifp_pay") == column("PLAIN", "captn_pay") == [15_000, 5_000, 0, 0]
    assert column("PLAIN", "captn_town") == ["T1"] * 4
    assert column("AWAY", "hifp_pay") == [15_000, 5_000, 0, 0]
    assert column("AWAY", "captn_pay") == [0] * 4
    assert column("AWAY", "captn_town") == [""] * 4
