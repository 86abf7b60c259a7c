"""Synthetic county generator: people, identities, enrolments, filings and a year of claims.

The county looks like Lincang's Linxiang district (临沧市临翔区, 530902): ten townships of
about ten villages each, households of one to six people who mostly share a village and an
identity. The identity mix follows seed 000 (of 556,100 monitored people 367,300 脱贫,
38,300 "三类人员" and 150,500 农村低保/特困, about a quarter of Lincang's ~2.2 million people);
about 4% of people change identity during the year (for instance 监测 -> 低保 on some date:
the old period ends the day before, the new one starts that day). Inpatient costs are
heavy-tailed around Lincang's 359.77m yuan / 63,400 admissions ≈ 5,675 yuan each; chronic
outpatient visits around its 115.91m / 253,400 ≈ 457 yuan.

Everything is drawn in whole columns with numpy (``np.random.Generator``) and assembled with
Polars: no loop over people or claims (claims are drawn for blocks of 131,072 people, each
block with its own random stream, on a few threads). The same ``(persons, year, seed)``
gives the same frames and byte-identical files, whatever the number of cores.

Files (:func:`write`, zstd Parquet; amounts int64 fen, dates ``pl.Date``):

- ``people``: psn_no, certno (GB 11643, birth date and sex inside agree with brdy and gend),
  psn_name, gend ("1" male, "2" female), brdy, hh_no, county, township, village, insutype
  ("390"/"310"), emp_status, emp_tier (employees only), income_fen (per-capita disposable).
- ``identities``: psn_no, category, valid_from, valid_to (null = open), source_bureau.
- ``enrolments``: psn_no, year, insutype, psn_insu_stas ("1" normal, "0" not enrolled,
  "4" special), special_status (deceased, military, prison, other_province or null).
- ``chronic_filings``: psn_no, dise_codg, begin, end.  ``cross_filings``: psn_no, begin, end.
- ``claims`` sorted by (psn_no, setl_date, claim_id): see :data:`CLAIM_COLUMNS`.
  ``fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt == medfee_sumamt``
  exactly; ``full_pay_scp_amt`` (<= inscp_scp_amt) only on two-disease (11 + I10/E11) claims;
  a 14 claim always has a filing for its dise_codg in force on its date.
- ``institutions``: fixmedins_code, fixmedins_name, hosp_lv, place, admdvs (extra: the ~30
  institutions the claims use, each with one level).
- ``manifest.json``: persons, year, seed, row counts, yibao version (no timestamp).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao import __version__
from yibao.core.identities import CATEGORIES, ORDINARY, IdentityPeriod
from yibao.settlement.model import ChronicFiling, Claim, Period, Person, Place, PolicyRangeSummary

Arr = npt.NDArray[Any]
Progress = Callable[[str], None]

# ---------------------------------------------------------------------------------------------
# Targets and tables
# ---------------------------------------------------------------------------------------------

LINCANG_POPULATION = 2_200_000
"""Lincang's population, about (seed 000 gives the monitored counts below)."""
LINCANG_MONITORED = {"tuopin": 367_300, "jiance": 38_300, "dibao": 150_500}
"""Seed 000: 脱贫人口 36.73万, “三类人员” 3.83万 (here 监测 plus a few 返贫致贫), 农村低保/特困 15.05万."""
LINCANG_INPATIENT_MEAN_YUAN = 359_772_300 / 63_400
"""Seed 000: 6.34万人次 住院, 35977.23万元 → ≈ 5,675 yuan per admission."""

MIX_GROUPS: dict[str, tuple[str, ...]] = {"tuopin": ("tuopin",), "jiance": ("jiance", "fanpin"), "dibao": ("dibao", "tekun")}
"""How yibao's categories map to seed 000's three groups."""

CATS: tuple[str, ...] = ("tekun", "dibao", "dibao_edge", "fanpin", "jiance", "tuopin", ORDINARY)
"""Category index order used inside the generator (highest benefit first)."""
_CI = {c: i for i, c in enumerate(CATS)}
IDENTITY_PRIORITY: tuple[str, ...] = ("tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin")
"""Which category a person is counted under when several hold on one day (as the Anhui pack)."""

_monitored = sum(LINCANG_MONITORED.values()) / LINCANG_POPULATION  # ≈ 25.3%
_TEKUN_SHARE = 0.12  # of 农村低保/特困
_FANPIN_SHARE = 0.10  # of “三类人员”
START_SHARES: dict[str, float] = {
    "tekun": LINCANG_MONITORED["dibao"] / LINCANG_POPULATION * _TEKUN_SHARE,
    "dibao": LINCANG_MONITORED["dibao"] / LINCANG_POPULATION * (1 - _TEKUN_SHARE),
    "dibao_edge": 0.004,  # 低保边缘 (民政): not in seed 000's monitored count; a small extra group
    "fanpin": LINCANG_MONITORED["jiance"] / LINCANG_POPULATION * _FANPIN_SHARE,
    "jiance": LINCANG_MONITORED["jiance"] / LINCANG_POPULATION * (1 - _FANPIN_SHARE),
    "tuopin": LINCANG_MONITORED["tuopin"] / LINCANG_POPULATION,
}
START_SHARES[ORDINARY] = 1.0 - sum(START_SHARES.values())
"""Share of all people holding each category on 1 January (one category each on that day)."""

# (from, to, share of the whole population making this change during the year, old period stays open)
# "ordinary" as `to` means the identity just ends; as `from`, that a new identity starts.
TRANSITIONS: tuple[tuple[str, str, float, bool], ...] = (
    (ORDINARY, "jiance", 0.0056, False),  # newly identified for monitoring (sudden hardship)
    (ORDINARY, "dibao", 0.0022, False),
    (ORDINARY, "dibao_edge", 0.0028, False),
    (ORDINARY, "fanpin", 0.0006, False),  # 致贫
    ("tuopin", "jiance", 0.0056, True),  # 脱贫不稳定: monitored, stays 脱贫
    ("tuopin", "dibao", 0.0039, True),  # 脱贫 household enters 低保, stays 脱贫
    ("tuopin", "fanpin", 0.0017, True),  # 返贫
    ("jiance", "dibao", 0.0034, False),
    ("jiance", "fanpin", 0.0011, False),
    ("jiance", ORDINARY, 0.0039, False),  # 风险消除: monitoring ends
    ("dibao", ORDINARY, 0.0062, False),  # leaves 低保
    ("dibao", "tekun", 0.0022, False),
    ("dibao", "dibao_edge", 0.0022, False),
    ("dibao_edge", "dibao", 0.0006, False),
    ("fanpin", "dibao", 0.0003, False),
)
"""Identity changes during the year: about 4% of people (employees never change). A change is drawn
per household, so households mostly change together on one date."""

# household size 1..6 (ordinary and most categories; 特困 live mostly alone)
_HH_SIZE = np.array([0.12, 0.20, 0.22, 0.24, 0.14, 0.08])
_HH_SIZE_TEKUN = np.array([0.75, 0.20, 0.05, 0.0, 0.0, 0.0])
_DEVIATE = 0.05  # share of people whose own category differs from their household's (redrawn at random)

# age bins [lo, hi) and shares: everyone / household heads / 特困
_AGE_EDGES = np.array([0, 5, 15, 30, 45, 60, 75, 95])
_AGE_ALL = np.array([0.06, 0.12, 0.20, 0.21, 0.23, 0.13, 0.05])
_AGE_HEAD = np.array([0.0, 0.0, 0.08, 0.25, 0.32, 0.24, 0.11])
_AGE_TEKUN = np.array([0.0, 0.03, 0.05, 0.08, 0.19, 0.35, 0.30])

# per-capita disposable income, median yuan by category (Yunnan rural mean ≈ 15,000)
_INCOME_MEDIAN = {"tekun": 4_500, "dibao": 5_500, "dibao_edge": 8_000, "fanpin": 5_500, "jiance": 7_000, "tuopin": 10_500}
_INCOME_MEDIAN_ORDINARY = 13_000
_INCOME_MEDIAN_EMPLOYEE = 42_000

COUNTY = "临翔区"
COUNTY_ADMDVS = "530902"
TOWNSHIPS: tuple[str, ...] = (
    "凤翔街道",
    "忙畔街道",
    "博尚镇",
    "南美拉祜族乡",
    "蚂蚁堆乡",
    "章驮乡",
    "圈内乡",
    "马台乡",
    "邦东乡",
    "平村彝族傣族乡",
)
_VILLAGE_A = "忙邦南大小新章博那勐"
_VILLAGE_B = "弄卡东糯海河坡寨箐山"
VILLAGES: tuple[str, ...] = tuple(
    _VILLAGE_A[j] + _VILLAGE_B[(j + t) % 10] + "村" for t in range(len(TOWNSHIPS)) for j in range(10)
)
"""Village ``v`` lies in township ``v // 10``; all 100 names differ."""

# birthplace region codes in ID numbers: mostly Linxiang, some neighbouring counties
_REGIONS = np.array([530902, 530921, 530922, 530923, 530924, 530925, 530926, 530927, 530102], dtype=np.int64)
_REGION_P = np.array([0.85, 0.03, 0.03, 0.02, 0.015, 0.015, 0.015, 0.01, 0.015])

_SURNAMES = "李杨张王刘陈赵罗周字鲁段杜黄吴何胡郭马高施俸罕番朱徐孙董苏尹毛鲍穆左邓余彭蒋"
_SURNAME_W = np.array(
    [
        *(12, 9, 8, 6, 5, 5, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1.5, 2),
        *(1.5, 1.5, 1, 1, 1, 1.5, 1.5, 1.5, 1.5, 1, 1.5, 1, 1, 1, 1, 1.5, 1.5, 1, 1),
    ],
    dtype=np.float64,
)
_GIVEN_MALE = "国建志明文华军平勇强伟德福荣海林兴春成学忠发云光祥永宏贵才金正有家保"
_GIVEN_FEMALE = "秀英兰芳琼美丽玉梅珍红艳娟霞燕萍翠芬桂凤琴香仙花敏静慧婷莲"

GB11643_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
GB11643_CHECK = "10X98765432"


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    hosp_lv: int
    place: str


INSTITUTIONS: tuple[Institution, ...] = (
    Institution("H53090200001", "临翔区人民医院", 2, "in_county"),
    Institution("H53090200002", "临翔区中医医院", 2, "in_county"),
    Institution("H53090200003", "临翔区妇幼保健院", 2, "in_county"),
    Institution("H53090000001", "临沧市人民医院", 3, "in_county"),
    Institution("H53090000002", "临沧市中医医院", 3, "in_county"),
    *(
        Institution(
            f"H530902{101 + i:05d}",
            t + ("社区卫生服务中心" if t.endswith("街道") else "中心卫生院" if t.endswith("镇") else "卫生院"),
            1,
            "in_county",
        )
        for i, t in enumerate(TOWNSHIPS)
    ),
    Institution("H53010200001", "云南省第一人民医院", 3, "out_of_county"),
    Institution("H53010200002", "昆明医科大学第一附属医院", 3, "out_of_county"),
    Institution("H53011200001", "云南省肿瘤医院", 3, "out_of_county"),
    Institution("H53290100001", "大理州人民医院", 3, "out_of_county"),
    Institution("H53092200001", "云县人民医院", 2, "out_of_county"),
    Institution("H53092500001", "双江县人民医院", 2, "out_of_county"),
    Institution("H53092600001", "耿马县人民医院", 2, "out_of_county"),
    Institution("H44010400001", "中山大学附属第一医院", 3, "cross_region"),
    Institution("H44010600001", "广东省人民医院", 3, "cross_region"),
    Institution("H44030600001", "深圳市宝安区人民医院", 2, "cross_region"),
    Institution("H44190000001", "东莞市人民医院", 3, "cross_region"),
    Institution("H33010200001", "浙江大学医学院附属第一医院", 3, "cross_region"),
    Institution("H31010400001", "复旦大学附属中山医院", 3, "cross_region"),
    Institution("H35058200001", "晋江市医院", 2, "cross_region"),
    Institution("H51010700001", "四川大学华西医院", 3, "cross_region"),
)
"""About 30 institutions, each with a fixed level; township health centres are level 1."""
_TOWNSHIP_CENTRE0 = 5  # index of the first township health centre above

PLACES: tuple[str, ...] = ("in_county", "out_of_county", "cross_region")
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
_INPATIENT_DISE = (
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
_OUTPATIENT_DISE = ("J06.9", "J20.9", "K29.7", "M54.5", "R51", "L30.9", "H10.9", "N39.0", "K52.9", "J02.9", "M17.9", "R10.4")
_OUTPATIENT_NO_DISE = 0.4
# chronic filings: (dise_codg, weight, cost multiplier)
CHRONIC_DISEASES: tuple[tuple[str, float, float], ...] = (
    ("I10", 40, 1.0),
    ("E11", 20, 1.3),
    ("J44", 7, 1.4),
    ("I63", 6, 1.2),
    ("I25", 5, 1.2),
    ("I50", 4, 1.6),
    ("N18", 5, 4.0),
    ("C34", 1.5, 6.0),
    ("C16", 1.2, 6.0),
    ("C22", 1.2, 6.0),
    ("C50", 1.1, 5.0),
    ("F20", 3, 1.0),
    ("M05", 2, 1.2),
    ("K74", 1.5, 2.0),
)
_CHRONIC_MEDIAN = 250.0
# filing prevalence by age bin (adults only), times 1.3 for low-income identities
_CHRONIC_P_BY_AGE = np.array([0.0, 0.0, 0.012, 0.03, 0.09, 0.22, 0.30])
_TWO_DISEASE_P_BY_AGE = np.array([0.0, 0.0, 0.0, 0.03, 0.07, 0.15, 0.15])

# utilisation
INPATIENT_RATE = 0.18
_INPATIENT_AGE_MULT = np.array([1.2, 0.4, 0.6, 0.7, 1.0, 1.8, 2.6])
_INPATIENT_CAT_MULT = np.array([1.8, 1.5, 1.2, 1.6, 1.4, 1.15, 1.0])  # in CATS order
_INPATIENT_K = 0.6  # gamma heterogeneity: some people are admitted 2-5 times
_OUTPATIENT_RATE = 3.2
_OUTPATIENT_AGE_MULT = np.array([1.3, 0.8, 0.7, 0.8, 1.0, 1.4, 1.5])
_OUTPATIENT_K = 1.2

FILES: tuple[str, ...] = ("people", "identities", "enrolments", "chronic_filings", "cross_filings", "claims", "institutions")


@dataclass(frozen=True)
class SynthCounty:
    """A synthetic county: one Polars frame per file (see the module doc for the columns)."""

    persons: int
    year: int
    seed: int
    people: pl.DataFrame
    identities: pl.DataFrame
    enrolments: pl.DataFrame
    chronic_filings: pl.DataFrame
    cross_filings: pl.DataFrame
    claims: pl.DataFrame
    institutions: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: cast(pl.DataFrame, getattr(self, name)) for name in FILES}


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------------

_EPOCH = date(1970, 1, 1)


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _to_date(days: Arr) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def _cum(probs: Arr) -> Arr:
    """Cumulative probabilities along the last axis, the last one exactly 1."""
    c: Arr = np.cumsum(probs, axis=-1)
    return c / c[..., -1:]


def _gather(values: Sequence[str], idx: Arr) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(idx.astype(np.int64)))


def _ids(prefix: str, n: int, width: int) -> pl.Series:
    """``prefix`` + 1..n zero-padded to ``width`` digits ("P0000001")."""
    numbers = (pl.int_range(1, n + 1, dtype=pl.Int64) + 10**width).cast(pl.String)
    return pl.select(numbers.str.replace("1", prefix, literal=True, n=1).alias("id")).to_series()


def _weights(w: Sequence[float] | Arr) -> Arr:
    a: Arr = np.asarray(w, dtype=np.float64)
    out: Arr = a / a.sum()
    return out


def _age_bin(age: Arr) -> Arr:
    bins: Arr = np.searchsorted(_AGE_EDGES, age, side="right") - 1
    return bins.clip(0, len(_AGE_EDGES) - 2)


def _draw_age(rng: np.random.Generator, n: int, p: Arr) -> Arr:
    b = rng.choice(len(p), size=n, p=_weights(p))
    lo, hi = _AGE_EDGES[b], _AGE_EDGES[b + 1]
    age: Arr = (lo + np.floor(rng.random(n) * (hi - lo))).astype(np.int64)
    return age


def _year_start(years: Arr) -> Arr:
    """Days since the epoch of 1 January of each year."""
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def _days_between(rng: np.random.Generator, first: Arr | int, last: Arr | int, n: int) -> Arr:
    """Uniform day in ``[first, last]`` (inclusive), element-wise."""
    first_a = np.broadcast_to(np.asarray(first, dtype=np.int64), (n,))
    last_a = np.broadcast_to(np.asarray(last, dtype=np.int64), (n,))
    return first_a + np.floor(rng.random(n) * (last_a - first_a + 1)).astype(np.int64)


def gb11643_check(body17: Arr) -> Arr:
    """Check characters (index into ``"10X98765432"``) for 17-digit ID bodies given as int64."""
    acc = np.zeros(len(body17), dtype=np.int64)
    rest = body17.astype(np.int64)
    for w in GB11643_WEIGHTS[::-1]:  # 17 whole-column steps, last digit first
        acc += (rest % 10) * w
        rest = rest // 10
    return acc % 11


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def generate(persons: int, year: int, seed: int, *, progress: Progress | None = None) -> SynthCounty:
    """A county of ``persons`` people with a year of claims; same arguments, same county."""
    if persons < 1:
        raise ValueError(f"persons must be at least 1, got {persons}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    if not 1990 <= year <= 2100:
        raise ValueError(f"year must be between 1990 and 2100, got {year}")
    say = progress or (lambda _stage: None)
    streams = np.random.SeedSequence([seed, persons, year]).spawn(5)
    rng_people, rng_ident, rng_enrol, rng_filing = (np.random.default_rng(s) for s in streams[:4])

    y0 = _day(date(year, 1, 1))
    y1 = _day(date(year, 12, 31))
    ndays = y1 - y0 + 1

    say("people")
    p = _people(rng_people, persons, year)
    say("identities")
    identities = _identities(rng_ident, p, year, y0, ndays)
    say("enrolments")
    enrolments, enrolled = _enrolments(rng_enrol, p)
    say("filings")
    chronic, cross = _filings(rng_filing, p, year, y0, y1)
    say("claims")
    claims = _claims(streams[4], p, enrolled, chronic, cross, y0, y1, ndays)
    say("frames")
    people_df = _people_frame(p)
    psn_no = people_df["psn_no"]
    county = SynthCounty(
        persons=persons,
        year=year,
        seed=seed,
        people=people_df,
        identities=_identities_frame(identities, psn_no),
        enrolments=pl.DataFrame(
            {
                "psn_no": psn_no,
                "year": pl.Series(np.full(persons, year, dtype=np.int32)),
                "insutype": _gather(("390", "310"), p["employee"].astype(np.int64)),
                "psn_insu_stas": _gather(("0", "1", "2", "3", "4"), enrolments["stas"]),
                "special_status": _gather(("", *_SPECIAL), enrolments["special"]).replace("", None),
            }
        ),
        chronic_filings=pl.DataFrame(
            {
                "psn_no": psn_no.gather(pl.Series(chronic["person"])),
                "dise_codg": _gather([d for d, _, _ in CHRONIC_DISEASES], chronic["dise"]),
                "begin": _to_date(chronic["begin"]),
                "end": _nullable_date(chronic["end"]),
            }
        ),
        cross_filings=pl.DataFrame(
            {
                "psn_no": psn_no.gather(pl.Series(cross["person"])),
                "begin": _to_date(cross["begin"]),
                "end": _nullable_date(cross["end"]),
            }
        ),
        claims=_claims_frame(claims, psn_no),
        institutions=institutions_frame(),
    )
    return county


_NO_DATE = np.iinfo(np.int32).max


def _nullable_date(days: Arr) -> pl.Series:
    s = _to_date(np.where(days == _NO_DATE, 0, days))
    return pl.select(pl.when(pl.Series(days == _NO_DATE)).then(None).otherwise(s)).to_series()


def _people(rng: np.random.Generator, n: int, year: int) -> dict[str, Arr]:
    k = len(CATS)
    start = np.array([START_SHARES[c] for c in CATS])
    size_tables = np.array([_HH_SIZE_TEKUN if c == "tekun" else _HH_SIZE for c in CATS])
    mean_size = (size_tables * np.arange(1, 7)).sum(axis=1)
    hh_p = _weights(start / mean_size)

    # households: n is an upper bound on how many are needed
    hh_cat = rng.choice(k, size=n, p=hh_p)
    u = rng.random(n)
    size_cum = _cum(size_tables)
    sizes = 1 + np.where(
        hh_cat == _CI["tekun"],
        np.searchsorted(size_cum[_CI["tekun"]], u, side="right"),
        np.searchsorted(size_cum[_CI[ORDINARY]], u, side="right"),
    )
    n_hh = int(np.searchsorted(np.cumsum(sizes), n) + 1)
    hh_cat, sizes = hh_cat[:n_hh], sizes[:n_hh]
    village_w = _weights(rng.gamma(4.0, size=len(VILLAGES)))
    hh_village = rng.choice(len(VILLAGES), size=n_hh, p=village_w)
    hh_surname = rng.choice(len(_SURNAMES), size=n_hh, p=_weights(_SURNAME_W))
    hh_income_z = rng.standard_normal(n_hh)

    hh = np.repeat(np.arange(n_hh), sizes)[:n]
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    member = np.arange(n) - first[hh]

    cat = hh_cat[hh].copy()
    deviate = rng.random(n) < _DEVIATE
    cat[deviate] = rng.choice(k, size=int(deviate.sum()), p=start)

    is_tekun = cat == _CI["tekun"]
    age = np.where(
        is_tekun,
        _draw_age(rng, n, _AGE_TEKUN),
        np.where(member == 0, _draw_age(rng, n, _AGE_HEAD), _draw_age(rng, n, _AGE_ALL)),
    )
    male = rng.random(n) < np.where(is_tekun, 0.60, 0.51)
    brdy = _year_start(year - age) - rng.integers(1, 366, size=n)

    # employees (职工): ordinary working-age or retired adults
    ordinary = cat == _CI[ORDINARY]
    emp_p = np.where((age >= 18) & (age < 60), 0.157, np.where((age >= 60) & (age < 85), 0.094, 0.0))
    employee = ordinary & (rng.random(n) < emp_p)
    retired = employee & (age >= np.where(male, 60, 55))
    emp_tier = rng.choice(3, size=n, p=[0.75, 0.10, 0.15])

    # income: household-level noise, category median; employees their own
    medians = np.array([_INCOME_MEDIAN.get(c, _INCOME_MEDIAN_ORDINARY) for c in CATS], dtype=np.float64)
    income = medians[cat] * np.exp(0.5 * hh_income_z[hh])
    income = np.where(employee, _INCOME_MEDIAN_EMPLOYEE * np.exp(0.45 * rng.standard_normal(n)), income)
    income_fen = np.round(income * 100).astype(np.int64)

    # names: most members take the household surname
    surname = np.where(rng.random(n) < 0.85, hh_surname[hh], rng.choice(len(_SURNAMES), size=n, p=_weights(_SURNAME_W)))
    g_off = np.where(male, 0, len(_GIVEN_MALE))
    g_len = np.where(male, len(_GIVEN_MALE), len(_GIVEN_FEMALE))
    given1 = g_off + rng.integers(0, 1 << 30, size=n) % g_len
    given2 = np.where(rng.random(n) < 0.7, g_off + rng.integers(0, 1 << 30, size=n) % g_len, -1)

    # ID numbers: region + birth date + 3-digit sequence (odd = male) + check; unique per county
    region = rng.choice(len(_REGIONS), size=n, p=_weights(_REGION_P))
    group_key = (region << 40) | ((brdy - _day(date(1800, 1, 1))) << 1) | male.astype(np.int64)
    order = np.argsort(group_key, kind="stable")
    key_sorted = group_key[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = key_sorted[1:] != key_sorted[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank_sorted = np.arange(n) - group_start
    if n and rank_sorted.max() >= 500:
        raise ValueError("too many people born on one day in one region for unique ID numbers; use fewer persons")
    offset_sorted = rng.integers(0, 500, size=n)[group_start]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = (rank_sorted + offset_sorted) % 500
    seq = 2 * rank + male.astype(np.int64)
    bd = brdy.astype("datetime64[D]")
    yyyy = bd.astype("datetime64[Y]").astype(np.int64) + 1970
    mm = bd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (bd - bd.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    body = _REGIONS[region] * 10**11 + (yyyy * 10_000 + mm * 100 + dd) * 1_000 + seq
    check = gb11643_check(body)

    return {
        "n": np.array(n),
        "hh": hh,
        "cat": cat,
        "age": age,
        "male": male,
        "brdy": brdy,
        "village": hh_village[hh],
        "employee": employee,
        "retired": retired,
        "emp_tier": emp_tier,
        "income_fen": income_fen,
        "surname": surname,
        "given1": given1,
        "given2": given2,
        "body": body,
        "check": check,
    }


def _people_frame(p: dict[str, Arr]) -> pl.DataFrame:
    n = int(p["n"])
    width = max(7, len(str(n)))
    given = _GIVEN_MALE + _GIVEN_FEMALE
    employee = p["employee"]
    certno = pl.Series(p["body"]).cast(pl.String).str.zfill(17) + _gather(GB11643_CHECK, p["check"])
    name = _gather(_SURNAMES, p["surname"]) + _gather(given, p["given1"]) + _gather(("", *given), p["given2"] + 1)
    n_hh = int(p["hh"].max()) + 1 if n else 0
    hh_no = _ids("HH", n_hh, width).gather(pl.Series(p["hh"]))
    emp_status = pl.select(
        pl.when(pl.Series(employee)).then(_gather(("in_service", "retired"), p["retired"].astype(np.int64))).otherwise(None)
    ).to_series()
    emp_tier = pl.select(
        pl.when(pl.Series(employee)).then(_gather(("unit", "individual_1", "individual_2"), p["emp_tier"])).otherwise(None)
    ).to_series()
    return pl.DataFrame(
        {
            "psn_no": _ids("P", n, width),
            "certno": certno,
            "psn_name": name,
            "gend": _gather(("2", "1"), p["male"].astype(np.int64)),
            "brdy": _to_date(p["brdy"]),
            "hh_no": hh_no,
            "county": _gather((COUNTY,), np.zeros(n, dtype=np.int64)),
            "township": _gather(TOWNSHIPS, p["village"] // 10),
            "village": _gather(VILLAGES, p["village"]),
            "insutype": _gather(("390", "310"), employee.astype(np.int64)),
            "emp_status": emp_status,
            "emp_tier": emp_tier,
            "income_fen": pl.Series(p["income_fen"], dtype=pl.Int64),
        }
    )


def _identities(rng: np.random.Generator, p: dict[str, Arr], year: int, y0: int, ndays: int) -> dict[str, Arr]:
    n = int(p["n"])
    cat = p["cat"]
    k = len(CATS)
    n_hh = int(p["hh"].max()) + 1
    # one change draw and date per household, so households mostly change together
    u = rng.random(n_hh)[p["hh"]]
    u = np.where(p["employee"], 2.0, u)
    change_day = (y0 + rng.integers(30, ndays - 30, size=n_hh))[p["hh"]]

    start = np.array([START_SHARES[c] for c in CATS])
    per_cat: list[list[tuple[int, float, bool]]] = [[] for _ in range(k)]
    for frm, to, share, keep in TRANSITIONS:
        per_cat[_CI[frm]].append((_CI[to], share / start[_CI[frm]], keep))
    width = max(len(t) for t in per_cat)
    cum = np.full((k, width), 2.0)
    to_m = np.full((k, width), -1, dtype=np.int64)
    keep_m = np.zeros((k, width), dtype=bool)
    for c, ts in enumerate(per_cat):
        acc = 0.0
        for j, (to_i, prob, keep_i) in enumerate(ts):
            acc += prob
            cum[c, j], to_m[c, j], keep_m[c, j] = acc, to_i, keep_i
    j = (u[:, None] >= cum[cat]).sum(axis=1)
    j_safe = np.minimum(j, width - 1)
    changes = to_m[cat, j_safe]
    changes = np.where(j < width, changes, -1)
    changes = np.where(cum[cat, j_safe] <= 1.0, changes, -1)
    keep_old = keep_m[cat, j_safe] & (changes >= 0)

    ordinary = _CI[ORDINARY]
    # start periods
    has_start = cat != ordinary
    window = {  # years before `year` the start date falls in: (earliest, latest)
        "tuopin": (8, 2),
        "jiance": (2, 1),
        "fanpin": (2, 1),
        "dibao": (8, 1),
        "tekun": (10, 1),
        "dibao_edge": (4, 1),
        ORDINARY: (1, 1),
    }
    lo = np.array([window[c][0] for c in CATS])[cat]
    hi = np.array([window[c][1] for c in CATS])[cat]
    first = _year_start(year - lo)
    last = _year_start(year - hi + 1) - 1
    start_from = _days_between(rng, first, last, n)
    start_to = np.where((changes >= 0) & ~keep_old, change_day - 1, _NO_DATE)

    has_new = (changes >= 0) & (changes != ordinary)
    s_idx = np.flatnonzero(has_start)
    n_idx = np.flatnonzero(has_new)
    person = np.concatenate([s_idx, n_idx])
    out = {
        "person": person,
        "cat": np.concatenate([cat[s_idx], changes[n_idx]]),
        "valid_from": np.concatenate([start_from[s_idx], change_day[n_idx]]),
        "valid_to": np.concatenate([start_to[s_idx], np.full(len(n_idx), _NO_DATE)]),
    }
    order = np.lexsort((out["valid_from"], person))
    return {key: v[order] for key, v in out.items()}


def _identities_frame(ident: dict[str, Arr], psn_no: pl.Series) -> pl.DataFrame:
    bureaus = tuple(CATEGORIES[c].bureau for c in CATS)
    return pl.DataFrame(
        {
            "psn_no": psn_no.gather(pl.Series(ident["person"])),
            "category": _gather(CATS, ident["cat"]),
            "valid_from": _to_date(ident["valid_from"]),
            "valid_to": _nullable_date(ident["valid_to"]),
            "source_bureau": _gather(bureaus, ident["cat"]),
        }
    )


_SPECIAL: tuple[str, ...] = ("deceased", "military", "prison", "other_province")
_SPECIAL_P = np.array([0.35, 0.10, 0.05, 0.50])


def _enrolments(rng: np.random.Generator, p: dict[str, Arr]) -> tuple[dict[str, Arr], Arr]:
    n = int(p["n"])
    ordinary_resident = (p["cat"] == _CI[ORDINARY]) & ~p["employee"]
    u = rng.random(n)
    special_p = np.where(p["employee"], 0.0, np.where(ordinary_resident, 0.006, 0.005))
    not_enrolled_p = np.where(ordinary_resident, 0.025, 0.0)
    special = u < special_p
    not_enrolled = ~special & (u < special_p + not_enrolled_p)
    stas = np.where(special, 4, np.where(not_enrolled, 0, 1)).astype(np.int64)
    kind = np.where(special, 1 + rng.choice(len(_SPECIAL), size=n, p=_SPECIAL_P), 0)
    return {"stas": stas, "special": kind}, stas == 1


def _filings(rng: np.random.Generator, p: dict[str, Arr], year: int, y0: int, y1: int) -> tuple[dict[str, Arr], dict[str, Arr]]:
    n = int(p["n"])
    age, cat = p["age"], p["cat"]
    low_income = (cat != _CI[ORDINARY]) & (cat != _CI["tuopin"])
    prob = _CHRONIC_P_BY_AGE[_age_bin(age)] * np.where(age >= 18, 1.0, 0.0) * np.where(low_income, 1.3, 1.0)
    filed = np.flatnonzero(rng.random(n) < prob)
    two = rng.random(len(filed)) < 0.2
    persons = np.concatenate([filed, filed[two]])
    k = len(CHRONIC_DISEASES)
    w = _weights([d[1] for d in CHRONIC_DISEASES])
    d1 = rng.choice(k, size=len(filed), p=w)
    d2 = rng.choice(k, size=len(filed), p=w)[two]
    d2 = np.where(d2 == d1[two], (d2 + 1) % k, d2)
    dise = np.concatenate([d1, d2])
    m = len(persons)
    in_year = rng.random(m) < 0.15
    begin = np.where(in_year, y0 + rng.integers(0, 300, size=m), _days_between(rng, _day(date(year - 8, 1, 1)), y0 - 1, m))
    ends = rng.random(m) < 0.03
    end_lo = np.maximum(begin, y0) + 30
    end = np.where(ends, _days_between(rng, end_lo, y1, m), _NO_DATE)
    order = np.lexsort((dise, begin, persons))
    chronic = {"person": persons[order], "dise": dise[order], "begin": begin[order], "end": end[order]}

    migrant = (age >= 18) & (age <= 55) & ~p["employee"]
    cp = np.flatnonzero(migrant & (rng.random(n) < 0.045))
    mc = len(cp)
    c_in_year = rng.random(mc) < 0.4
    c_begin = np.where(c_in_year, y0 + rng.integers(0, 300, size=mc), _days_between(rng, _day(date(year - 2, 1, 1)), y0 - 1, mc))
    c_ends = rng.random(mc) < 0.3
    c_end = np.where(c_ends, _days_between(rng, np.maximum(c_begin, y0) + 30, y1, mc), _NO_DATE)
    cross = {"person": cp, "begin": c_begin, "end": c_end}
    return chronic, cross


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
            *_OUTPATIENT_DISE,
            "I10",
            "E11",
            *(d for d, _, _ in CHRONIC_DISEASES),
            *(c for c, _ in _INPATIENT_DISE),
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


def _claims(
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
    abin = _age_bin(p["age"])
    in_mult = _INPATIENT_AGE_MULT[abin] * _INPATIENT_CAT_MULT[p["cat"]]
    out_mult = _OUTPATIENT_AGE_MULT[abin]
    has_filing = np.zeros(n, dtype=bool)
    has_filing[chronic["person"]] = True
    cross_begin = np.full(n, _NO_DATE, dtype=np.int64)
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
    out_codes = _codes(_OUTPATIENT_DISE)
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
            _days_between(rng, f_first[f_idx], f_last[f_idx], len(f_idx)),
            _codes([d for d, _, _ in CHRONIC_DISEASES])[f_dise],
            cost_mult=np.array([m for _, _, m in CHRONIC_DISEASES])[f_dise],
        )
    )

    # inpatient (21): more for old and low-income people; a few people 2-6 times
    in_p = people_of(np.where(enrolled, nbinom(c.inpatient_rate[lo:hi], _INPATIENT_K, 6), 0))
    mi = len(in_p)
    tail = rng.random(mi) < _TAIL_P
    tail_codes = _codes([c for c, _ in _TAIL_DISE])
    in_codes = _codes([c for c, _ in _INPATIENT_DISE])
    in_dise = np.where(
        tail,
        tail_codes[rng.choice(len(tail_codes), size=mi, p=_weights([w for _, w in _TAIL_DISE]))],
        in_codes[rng.choice(len(in_codes), size=mi, p=_weights([w for _, w in _INPATIENT_DISE]))],
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
    base, fil = _cum(_PLACE_P[k]), _cum(_PLACE_P_FILED)
    place = np.where(filed, _draw(u, fil[0], fil[1]), _draw(u, base[0], base[1]))

    # level by place, then an institution of that place and level (own township's centre at level 1 in the county)
    lv_cum = _cum(_LEVEL_P[k])
    lvi = _draw(rng.random(m), lv_cum[place, 0], lv_cum[place, 1])
    group = place * 3 + lvi
    count = _INST_COUNT[group]
    pick = _INST_START[group] + np.minimum(np.floor(rng.random(m) * count).astype(np.int64), np.maximum(count - 1, 0))
    other = _INST_FLAT[np.minimum(pick, len(_INST_FLAT) - 1)]
    inst = np.where((place == 0) & (lvi == 0), _TOWNSHIP_CENTRE0 + c.township[person], other)

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


def _claims_frame(c: dict[str, Arr], psn_no: pl.Series) -> pl.DataFrame:
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
            "claim_id": _ids("C", m, max(9, len(str(m)))),
            "psn_no": psn_no.gather(pl.Series(c["person"])),
            "setl_date": _to_date(c["day"]),
            "med_type": _gather(MED_TYPES, c["med"]),
            "hosp_lv": pl.Series(c["lv"], dtype=pl.Int8),
            "place": _gather(PLACES, c["place"]),
            "dise_codg": _gather(DISE_CODES, c["dise"]),
            "fixmedins_code": _gather([i.code for i in INSTITUTIONS], c["inst"]),
            **{name: pl.Series(c[src]) for name, src in amounts.items()},
        }
    )
    parts = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
    return (
        df.with_columns(pl.col(*amounts).cast(pl.Int64))
        .with_columns((pl.col(parts[0]) - pl.col(parts[1]) - pl.col(parts[2]) - pl.col(parts[3])).alias("inscp_scp_amt"))
        .select(CLAIM_COLUMNS)
    )


def institutions_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "fixmedins_code": [i.code for i in INSTITUTIONS],
            "fixmedins_name": [i.name for i in INSTITUTIONS],
            "hosp_lv": pl.Series([i.hosp_lv for i in INSTITUTIONS], dtype=pl.Int8),
            "place": [i.place for i in INSTITUTIONS],
            "admdvs": [i.code[1:7] for i in INSTITUTIONS],
        }
    )


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

ROW_GROUP_SIZE = 1 << 18


def manifest(county: SynthCounty) -> dict[str, Any]:
    return {
        "generator": "yibao.synth",
        "yibao_version": __version__,
        "persons": county.persons,
        "year": county.year,
        "seed": county.seed,
        "rows": {name: df.height for name, df in county.frames().items()},
    }


CODED = ("med_type", "place", "dise_codg", "fixmedins_code", "category", "source_bureau")
"""Small-vocabulary text columns written as Enum (dictionary-encoded in Parquet): readers get
integer codes for free, and the files stay plain Parquet strings for any other tool."""


def _coded(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col(c).cast(pl.Enum(sorted(df[c].cast(pl.Utf8).unique().drop_nulls().to_list()))) for c in CODED if c in df.columns
    )


def write(county: SynthCounty, out_dir: Path, *, progress: Progress | None = None) -> None:
    """Write one zstd Parquet file per frame and ``manifest.json`` (no timestamps: same seed, same bytes)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in county.frames().items():
        if progress:
            progress(f"write {name}")
        path = out_dir / f"{name}.parquet"
        tmp = out_dir / f".{name}.parquet.tmp"
        _coded(df).rechunk().write_parquet(tmp, compression="zstd", statistics=True, row_group_size=ROW_GROUP_SIZE)
        tmp.replace(path)
    text = json.dumps(manifest(county), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")


def read(dir: Path) -> SynthCounty:
    """Read a county written by :func:`write`."""
    dir = Path(dir)
    meta = json.loads((dir / "manifest.json").read_text(encoding="utf-8"))
    frames = {name: pl.read_parquet(dir / f"{name}.parquet") for name in FILES}
    return SynthCounty(persons=int(meta["persons"]), year=int(meta["year"]), seed=int(meta["seed"]), **frames)


# ---------------------------------------------------------------------------------------------
# Summaries and the bridge to the settlement model
# ---------------------------------------------------------------------------------------------


def identity_mix(county: SynthCounty, day: date | None = None) -> pl.DataFrame:
    """People per deciding category on ``day`` (default 1 January), with their share of everyone."""
    day = day or date(county.year, 1, 1)
    rank = {c: i for i, c in enumerate(IDENTITY_PRIORITY)}
    held = (
        county.identities.filter((pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day)))
        .with_columns(pl.col("category").cast(pl.Utf8))  # a county read back from Parquet has it as Enum
        .with_columns(pl.col("category").replace_strict(rank, default=len(rank)).alias("_rank"))
        .sort("psn_no", "_rank")
        .unique("psn_no", keep="first", maintain_order=True)
    )
    counts = held.group_by("category").agg(pl.len().alias("persons"))
    ordinary = pl.DataFrame({"category": [ORDINARY], "persons": [county.persons - held.height]}, schema=counts.schema)
    order = {c: i for i, c in enumerate((*IDENTITY_PRIORITY, ORDINARY))}
    return (
        pl.concat([counts, ordinary])
        .with_columns((pl.col("persons") / county.persons).alias("share"))
        .sort(pl.col("category").replace_strict(order, default=len(order)))
    )


def lincang_mix(county: SynthCounty, day: date | None = None) -> dict[str, float]:
    """Shares in seed 000's groups: ``monitored`` of everyone, then each group of the monitored."""
    mix = dict(identity_mix(county, day).select("category", "persons").iter_rows())
    groups = {g: sum(int(mix.get(c, 0)) for c in cats) for g, cats in MIX_GROUPS.items()}
    monitored = sum(groups.values())
    out = {"monitored": monitored / county.persons}
    out.update({g: (v / monitored if monitored else 0.0) for g, v in groups.items()})
    out["tekun_of_dibao"] = int(mix.get("tekun", 0)) / groups["dibao"] if groups["dibao"] else 0.0
    return out


def _opt_date(v: Any) -> date | None:
    return cast(date | None, v)


def to_people_and_claims(county: SynthCounty) -> tuple[dict[str, Person], list[Claim]]:
    """Build settlement-model people and claims (for cross-checks on a small county; loops in Python)."""
    idents: dict[str, list[IdentityPeriod]] = defaultdict(list)
    for psn, cat, vf, vt, src in county.identities.iter_rows():
        idents[psn].append(IdentityPeriod(cat, vf, _opt_date(vt), src))
    filings: dict[str, list[ChronicFiling]] = defaultdict(list)
    for psn, dise, begin, end in county.chronic_filings.iter_rows():
        filings[psn].append(ChronicFiling(dise, begin, _opt_date(end)))
    crosses: dict[str, list[Period]] = defaultdict(list)
    for psn, begin, end in county.cross_filings.iter_rows():
        crosses[psn].append(Period(begin, _opt_date(end)))
    people: dict[str, Person] = {}
    for row in county.people.select("psn_no", "insutype", "emp_status", "emp_tier", "psn_name").iter_rows():
        psn, insutype, emp_status, emp_tier, name = row
        people[psn] = Person(
            psn_no=psn,
            insutype=cast(Literal["390", "310"], insutype),
            identities=tuple(idents.get(psn, ())),
            chronic_filings=tuple(filings.get(psn, ())),
            cross_region_filings=tuple(crosses.get(psn, ())),
            emp_status=cast(Literal["in_service", "retired"] | None, emp_status),
            emp_tier=cast(Literal["unit", "individual_1", "individual_2"] | None, emp_tier),
            psn_name=name,
        )
    claims = [
        Claim(
            claim_id=r[0],
            psn_no=r[1],
            setl_date=r[2],
            med_type=r[3],
            hosp_lv=int(r[4]),
            place=cast(Place, r[5]),
            dise_codg=r[6],
            fixmedins_code=r[7],
            summary=PolicyRangeSummary(
                medfee_sumamt=r[8],
                fulamt_ownpay_amt=r[9],
                overlmt_selfpay=r[10],
                preselfpay_amt=r[11],
                inscp_scp_amt=r[12],
                full_pay_scp_amt=r[13],
            ),
        )
        for r in county.claims.iter_rows()
    ]
    return people, claims
