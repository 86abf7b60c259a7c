"""A year of claims: general and two-disease outpatient (11), chronic outpatient (14), inpatient (21).

Inpatient costs are heavy-tailed around Lincang's 359.77m yuan / 63,400 admissions ≈ 5,675 yuan
each; chronic outpatient visits around its 115.91m / 253,400 ≈ 457 yuan. Claims are drawn for
blocks of :data:`CHUNK_PERSONS` people, each block with its own random stream, on a few threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.synth.draws import NO_DATE, Arr, cumulative, days_between, gather, normalised, numbered, to_dates
from yibao.synth.filings import CHRONIC_DISEASES
from yibao.synth.people import age_bin
from yibao.synth.places import INSTITUTIONS, PLACES, TOWNSHIP_CENTRE0

MED_TYPES: tuple[str, ...] = ("11", "14", "21")

# claim kinds: 0 general outpatient (11), 1 two-disease drugs (11 + I10/E11), 2 chronic (14), 3 inpatient (21)
_KIND_MED = np.array([0, 0, 1, 2], dtype=np.int8)
# place probabilities by kind (in_county, out_of_county, cross_region) when not inside a cross-region filing
_PLACE_P = np.array([[0.85, 0.10, 0.05], [0.93, 0.05, 0.02], [0.92, 0.06, 0.02], [0.83, 0.12, 0.05]])
_PLACE_P_FILED = np.array([0.33, 0.07, 0.60])
# hospital level probabilities (1, 2, 3) by kind and place
_LEVEL_P = np.array(
    [
        [[0.78, 0.20, 0.02], [0.0, 0.5, 0.5], [0.0, 0.6, 0.4]],
        [[0.85, 0.14, 0.01], [0.0, 0.6, 0.4], [0.0, 0.6, 0.4]],
        [[0.30, 0.65, 0.05], [0.0, 0.4, 0.6], [0.0, 0.3, 0.7]],
        [[0.25, 0.63, 0.12], [0.0, 0.3, 0.7], [0.0, 0.25, 0.75]],
    ]
)

# inpatient cost: lognormal body by level (median yuan, sigma) plus a Pareto tail
_INPATIENT_MEDIAN = np.array([2_000.0, 3_500.0, 6_600.0])
_INPATIENT_SIGMA = np.array([0.55, 0.70, 0.80])
_TAIL_P, _TAIL_XM, _TAIL_ALPHA, _TAIL_MAX = 0.010, 30_000.0, 1.8, 1_500_000.0
_OUTPATIENT_MEDIAN = np.array([50.0, 110.0, 180.0])

# policy-range split by kind: fully self-paid share Beta(a, b), over-limit (probability, Beta), 乙类 self-pay-first Beta
_FUL_AB = np.array([[1.0, 12.0], [1.0, 40.0], [1.0, 25.0], [1.5, 23.5]])
_OVER_P = np.array([0.02, 0.0, 0.05, 0.20])
_OVER_AB = (1.0, 50.0)
_PRE_AB = np.array([[1.0, 30.0], [1.0, 40.0], [1.5, 30.0], [2.0, 38.0]])
_FULL_PAY_P = 0.7  # two-disease claims with listed 甲类 drugs paid in full

# diagnoses
INPATIENT_DISE = (
    ("J18.9", 10),
    ("I63.9", 8),
    ("J44.1", 7),
    ("I25.1", 5),
    ("K80.1", 4),
    ("O80.0", 5),
    ("S72.0", 2),
    ("K35.8", 3),
    ("N18.5", 2),
    ("E11.9", 3),
    ("I10", 3),
    ("J20.9", 5),
    ("K29.7", 4),
    ("A09", 3),
    ("N39.0", 3),
    ("M51.2", 4),
    ("I50.9", 4),
    ("C34.9", 2),
    ("C16.9", 1.5),
    ("C22.0", 1.5),
    ("Z51.1", 3),
    ("R50.9", 3),
)
_TAIL_DISE = (("C34.9", 3), ("C16.9", 2), ("C22.0", 2), ("C50.9", 1), ("S06.5", 2), ("I61.9", 2), ("I21.9", 2), ("N18.5", 1))
OUTPATIENT_DISE = ("J06.9", "J20.9", "K29.7", "M54.5", "R51", "L30.9", "H10.9", "N39.0", "K52.9", "J02.9", "M17.9", "R10.4")
_OUTPATIENT_NO_DISE = 0.4

_CHRONIC_MEDIAN = 250.0

_TWO_DISEASE_P_BY_AGE = np.array([0.0, 0.0, 0.0, 0.03, 0.07, 0.15, 0.15])

# utilisation
INPATIENT_RATE = 0.18
_INPATIENT_AGE_MULT = np.array([1.2, 0.4, 0.6, 0.7, 1.0, 1.8, 2.6])
_INPATIENT_CAT_MULT = np.array([1.8, 1.5, 1.2, 1.6, 1.4, 1.15, 1.0])  # in CATS order
_INPATIENT_K = 0.6  # gamma heterogeneity: some people are admitted 2-5 times
_OUTPATIENT_RATE = 3.2
_OUTPATIENT_AGE_MULT = np.array([1.3, 0.8, 0.7, 0.8, 1.0, 1.4, 1.5])
_OUTPATIENT_K = 1.2


@dataclass
class _Block:
    """Claims of one kind before place, level and amounts are drawn."""

    kind: int
    person: Arr
    day: Arr
    dise: Arr
    cost_mult: Arr | None = None
    tail: Arr | None = None


DISE_CODES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            "",
            *OUTPATIENT_DISE,
            "I10",
            "E11",
            *(d for d, _, _ in CHRONIC_DISEASES),
            *(c for c, _ in INPATIENT_DISE),
            *(c for c, _ in _TAIL_DISE),
        ]
    )
)
"""Every diagnosis code a claim can carry ("" = none); claims hold an index while generating."""
_DISE = {c: i for i, c in enumerate(DISE_CODES)}


def _codes(codes: Sequence[str]) -> Arr:
    return np.array([_DISE[c] for c in codes], dtype=np.int16)


CHUNK_PERSONS = 1 << 17
"""Claims are drawn for this many people at a time, each chunk with its own random stream (so
the result does not depend on how many threads run them) and already in person order."""


@dataclass(frozen=True)
class _ClaimInputs:
    """Per-person arrays the claim chunks read (never written)."""

    enrolled: Arr
    abin: Arr
    inpatient_rate: Arr
    outpatient_rate: Arr
    has_filing: Arr
    township: Arr
    cross_begin: Arr
    cross_end: Arr
    chronic: dict[str, Arr]
    y0: int
    y1: int
    ndays: int


def draw_claims(
    seq: np.random.SeedSequence,
    p: dict[str, Arr],
    enrolled: Arr,
    chronic: dict[str, Arr],
    cross: dict[str, Arr],
    y0: int,
    y1: int,
    ndays: int,
) -> dict[str, Arr]:
    n = int(p["n"])
    abin = age_bin(p["age"])
    in_mult = _INPATIENT_AGE_MULT[abin] * _INPATIENT_CAT_MULT[p["cat"]]
    out_mult = _OUTPATIENT_AGE_MULT[abin]
    has_filing = np.zeros(n, dtype=bool)
    has_filing[chronic["person"]] = True
    cross_begin = np.full(n, NO_DATE, dtype=np.int64)
    cross_end = np.full(n, -1, dtype=np.int64)
    cross_begin[cross["person"]] = cross["begin"]
    cross_end[cross["person"]] = cross["end"]
    inputs = _ClaimInputs(
        enrolled=enrolled,
        abin=abin,
        inpatient_rate=INPATIENT_RATE * in_mult / (in_mult[enrolled].mean() if enrolled.any() else 1.0),
        outpatient_rate=_OUTPATIENT_RATE * out_mult / (out_mult[enrolled].mean() if enrolled.any() else 1.0),
        has_filing=has_filing,
        township=p["village"] // 10,
        cross_begin=cross_begin,
        cross_end=cross_end,
        chronic=chronic,
        y0=y0,
        y1=y1,
        ndays=ndays,
    )
    bounds = [(lo, min(lo + CHUNK_PERSONS, n)) for lo in range(0, n, CHUNK_PERSONS)]
    seqs = seq.spawn(len(bounds))
    workers = max(1, min(len(bounds), os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(max_workers=workers) as pool:  # numpy releases the GIL on whole columns
        parts = list(pool.map(lambda i: _claims_chunk(np.random.default_rng(seqs[i]), inputs, *bounds[i]), range(len(bounds))))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _claims_chunk(rng: np.random.Generator, c: _ClaimInputs, lo: int, hi: int) -> dict[str, Arr]:
    """Claims of people ``lo .. hi-1``, sorted by person, date and a random tie-break."""
    n = hi - lo
    enrolled = c.enrolled[lo:hi]
    abin = c.abin[lo:hi]
    y0, y1, ndays = c.y0, c.y1, c.ndays

    def nbinom(mean: Arr, k: float, cap: int) -> Arr:
        mean = np.maximum(mean, 1e-9)
        return np.minimum(rng.negative_binomial(k, k / (k + mean)), cap).astype(np.int64)

    def people_of(counts: Arr) -> Arr:
        return np.repeat(np.arange(lo, hi, dtype=np.int64), counts)

    blocks: list[_Block] = []

    # general outpatient (11)
    out_p = people_of(np.where(enrolled, nbinom(c.outpatient_rate[lo:hi], _OUTPATIENT_K, 40), 0))
    out_codes = _codes(OUTPATIENT_DISE)
    no_dise = rng.random(len(out_p)) < _OUTPATIENT_NO_DISE
    out_dise = np.where(no_dise, 0, out_codes[rng.integers(0, len(out_codes), size=len(out_p))])
    blocks.append(_Block(0, out_p, y0 + rng.integers(0, ndays, size=len(out_p)), out_dise))

    # two-disease drugs (11 with I10/E11): people not filed for a chronic disease
    td = enrolled & ~c.has_filing[lo:hi] & (rng.random(n) < _TWO_DISEASE_P_BY_AGE[abin])
    td_dise = np.where(rng.random(n) < 0.65, _DISE["I10"], _DISE["E11"])
    td_p = people_of(np.where(td, rng.poisson(8.0, size=n), 0))
    blocks.append(_Block(1, td_p, y0 + rng.integers(0, ndays, size=len(td_p)), td_dise[td_p - lo]))

    # chronic outpatient (14): monthly-ish while the filing is in force, with the filing's disease
    f_lo, f_hi = np.searchsorted(c.chronic["person"], [lo, hi])
    f_person = c.chronic["person"][f_lo:f_hi]
    f_first = np.maximum(c.chronic["begin"][f_lo:f_hi], y0)
    f_last = np.minimum(c.chronic["end"][f_lo:f_hi], y1)
    f_days = np.maximum(f_last - f_first + 1, 0)
    f_ok = c.enrolled[f_person] & (f_days > 0)
    f_idx = np.repeat(np.arange(len(f_days)), np.where(f_ok, rng.poisson(0.9 * f_days / 30.4), 0))
    f_dise = c.chronic["dise"][f_lo:f_hi][f_idx]
    blocks.append(
        _Block(
            2,
            f_person[f_idx],
            days_between(rng, f_first[f_idx], f_last[f_idx], len(f_idx)),
            _codes([d for d, _, _ in CHRONIC_DISEASES])[f_dise],
            cost_mult=np.array([m for _, _, m in CHRONIC_DISEASES])[f_dise],
        )
    )

    # inpatient (21): more for old and low-income people; a few people 2-6 times
    in_p = people_of(np.where(enrolled, nbinom(c.inpatient_rate[lo:hi], _INPATIENT_K, 6), 0))
    mi = len(in_p)
    tail = rng.random(mi) < _TAIL_P
    tail_codes = _codes([c for c, _ in _TAIL_DISE])
    in_codes = _codes([c for c, _ in INPATIENT_DISE])
    in_dise = np.where(
        tail,
        tail_codes[rng.choice(len(tail_codes), size=mi, p=normalised([w for _, w in _TAIL_DISE]))],
        in_codes[rng.choice(len(in_codes), size=mi, p=normalised([w for _, w in INPATIENT_DISE]))],
    )
    blocks.append(_Block(3, in_p, y0 + rng.integers(0, ndays, size=mi), in_dise, tail=tail))

    parts = [_block_columns(rng, b, c, y0) for b in blocks]
    key = np.concatenate([part.pop("_key") for part in parts])
    order = np.argsort(key, kind="stable")
    return {name: np.concatenate([part[name] for part in parts])[order] for name in parts[0]}


def _draw(u: Arr, c0: Arr | float, c1: Arr | float) -> Arr:
    """Index 0, 1 or 2 from uniforms ``u`` and the first two cumulative probabilities."""
    return (u >= c0).astype(np.int8) + (u >= c1).astype(np.int8)


_INST_PLACE = np.array([PLACES.index(i.place) for i in INSTITUTIONS])
_INST_LV = np.array([i.hosp_lv for i in INSTITUTIONS])
_INST_GROUP = _INST_PLACE * 3 + _INST_LV - 1
_INST_GROUPS = [np.flatnonzero(np.equal(_INST_GROUP, g)) for g in range(9)]
_INST_COUNT = np.array([len(g) for g in _INST_GROUPS])
_INST_START = np.concatenate(([0], np.cumsum(_INST_COUNT)[:-1]))
_INST_FLAT = np.concatenate(_INST_GROUPS)


def _block_columns(rng: np.random.Generator, b: _Block, c: _ClaimInputs, y0: int) -> dict[str, Arr]:
    """Place, level, institution and amounts for one kind of claim; scalar parameters throughout."""
    m, k = len(b.person), b.kind
    person, day = b.person, b.day

    # place: inside a cross-region filing most care is cross-region
    filed = (day >= c.cross_begin[person]) & (day <= c.cross_end[person])
    u = rng.random(m)
    base, fil = cumulative(_PLACE_P[k]), cumulative(_PLACE_P_FILED)
    place = np.where(filed, _draw(u, fil[0], fil[1]), _draw(u, base[0], base[1]))

    # level by place, then an institution of that place and level (own township's centre at level 1 in the county)
    lv_cum = cumulative(_LEVEL_P[k])
    lvi = _draw(rng.random(m), lv_cum[place, 0], lv_cum[place, 1])
    group = place * 3 + lvi
    count = _INST_COUNT[group]
    pick = _INST_START[group] + np.minimum(np.floor(rng.random(m) * count).astype(np.int64), np.maximum(count - 1, 0))
    other = _INST_FLAT[np.minimum(pick, len(_INST_FLAT) - 1)]
    inst = np.where((place == 0) & (lvi == 0), TOWNSHIP_CENTRE0 + c.township[person], other)

    # total cost in yuan: heavy-tailed inpatient, cheap outpatient, chronic by disease
    z = rng.standard_normal(m)
    if k == 0:
        yuan = np.clip(_OUTPATIENT_MEDIAN[lvi] * np.exp(0.65 * z), 15.0, 2_000.0)
    elif k == 1:
        yuan = np.clip(70.0 * np.exp(0.5 * z), 20.0, 400.0)
    elif k == 2:
        mult = b.cost_mult if b.cost_mult is not None else np.ones(m)
        yuan = np.clip(_CHRONIC_MEDIAN * mult * np.exp(0.6 * z), 100.0, 2_000.0 * mult)
    else:
        body = np.clip(_INPATIENT_MEDIAN[lvi] * np.exp(_INPATIENT_SIGMA[lvi] * z), 200.0, 400_000.0)
        pareto = np.minimum(_TAIL_XM * (1.0 - rng.random(m)) ** (-1.0 / _TAIL_ALPHA), _TAIL_MAX)
        yuan = np.where(b.tail if b.tail is not None else False, pareto, body)
    total = np.round(yuan * 100.0).astype(np.int64)  # at most 1.5m yuan: fits int32 below

    # policy-range split: floors of shares, the policy range takes the rest so the parts add up exactly
    ful = np.floor(total * np.minimum(rng.beta(float(_FUL_AB[k, 0]), float(_FUL_AB[k, 1]), size=m), 0.6)).astype(np.int64)
    if _OVER_P[k] > 0:
        over_share = np.where(rng.random(m) < _OVER_P[k], np.minimum(rng.beta(*_OVER_AB, size=m), 0.3), 0.0)
        over = np.floor(total * over_share).astype(np.int64)
    else:
        over = np.zeros(m, dtype=np.int64)
    pre = np.floor((total - ful - over) * rng.beta(float(_PRE_AB[k, 0]), float(_PRE_AB[k, 1]), size=m)).astype(np.int64)
    if k == 1:
        scp = total - ful - over - pre
        full_pay = np.where(rng.random(m) < _FULL_PAY_P, np.floor(scp * rng.uniform(0.5, 1.0, size=m)), 0).astype(np.int64)
    else:
        full_pay = np.zeros(m, dtype=np.int64)

    # sort key: person, date, then a random tie-break (claim ids follow this order)
    key = (person.astype(np.int64) << 32) | ((day - y0).astype(np.int64) << 22) | rng.integers(0, 1 << 22, size=m)
    return {
        "_key": key,
        "person": person.astype(np.int32),
        "day": day.astype(np.int32),
        "med": np.full(m, _KIND_MED[k], dtype=np.int8),
        "lv": (lvi + 1).astype(np.int8),
        "place": place.astype(np.int8),
        "dise": b.dise.astype(np.int16),
        "inst": inst.astype(np.int8),
        "total": total.astype(np.int32),
        "ful": ful.astype(np.int32),
        "over": over.astype(np.int32),
        "pre": pre.astype(np.int32),
        "full_pay": full_pay.astype(np.int32),
    }


CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "psn_no",
    "setl_date",
    "med_type",
    "hosp_lv",
    "place",
    "dise_codg",
    "fixmedins_code",
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "full_pay_scp_amt",
)


def claims_frame(c: dict[str, Arr], psn_no: pl.Series) -> pl.DataFrame:
    m = len(c["person"])
    amounts = {
        "medfee_sumamt": "total",
        "fulamt_ownpay_amt": "ful",
        "overlmt_selfpay": "over",
        "preselfpay_amt": "pre",
        "full_pay_scp_amt": "full_pay",
    }
    df = pl.DataFrame(
        {
            "claim_id": numbered("C", m, max(9, len(str(m)))),
            "psn_no": psn_no.gather(pl.Series(c["person"])),
            "setl_date": to_dates(c["day"]),
            "med_type": gather(MED_TYPES, c["med"]),
            "hosp_lv": pl.Series(c["lv"], dtype=pl.Int8),
            "place": gather(PLACES, c["place"]),
            "dise_codg": gather(DISE_CODES, c["dise"]),
            "fixmedins_code": gather([i.code for i in INSTITUTIONS], c["inst"]),
            **{name: pl.Series(c[src]) for name, src in amounts.items()},
        }
    )
    parts = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
    return (
        df.with_columns(pl.col(*amounts).cast(pl.Int64))
        .with_columns((pl.col(parts[0]) - pl.col(parts[1]) - pl.col(parts[2]) - pl.col(parts[3])).alias("inscp_scp_amt"))
        .select(CLAIM_COLUMNS)
    )
