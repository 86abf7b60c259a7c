"""People of the county: households, villages, ages, sexes, names, ID numbers, income, employees."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from yibao.core.identities import ORDINARY
from yibao.synth.draws import Arr, cumulative, epoch_day, gather, normalised, numbered, to_dates, year_start
from yibao.synth.identities import CAT_INDEX, CATS, START_SHARES
from yibao.synth.places import COUNTY, TOWNSHIPS, VILLAGES

# household size 1..6 (ordinary and most categories; 特困 live mostly alone)
HH_SIZE = np.array([0.12, 0.20, 0.22, 0.24, 0.14, 0.08])
_HH_SIZE_TEKUN = np.array([0.75, 0.20, 0.05, 0.0, 0.0, 0.0])
_DEVIATE = 0.05  # share of people whose own category differs from their household's (redrawn at random)

# age bins [lo, hi) and shares: everyone / household heads / 特困
AGE_EDGES = np.array([0, 5, 15, 30, 45, 60, 75, 95])
AGE_ALL = np.array([0.06, 0.12, 0.20, 0.21, 0.23, 0.13, 0.05])
AGE_HEAD = np.array([0.0, 0.0, 0.08, 0.25, 0.32, 0.24, 0.11])
AGE_TEKUN = np.array([0.0, 0.03, 0.05, 0.08, 0.19, 0.35, 0.30])

# per-capita disposable income, median yuan by category (Yunnan rural mean ≈ 15,000)
_INCOME_MEDIAN = {"tekun": 4_500, "dibao": 5_500, "dibao_edge": 8_000, "fanpin": 5_500, "jiance": 7_000, "tuopin": 10_500}
_INCOME_MEDIAN_ORDINARY = 13_000
_INCOME_MEDIAN_EMPLOYEE = 42_000

# birthplace region codes in ID numbers: mostly Linxiang, some neighbouring counties
_REGIONS = np.array([530902, 530921, 530922, 530923, 530924, 530925, 530926, 530927, 530102], dtype=np.int64)
_REGION_P = np.array([0.85, 0.03, 0.03, 0.02, 0.015, 0.015, 0.015, 0.01, 0.015])

SURNAMES = "李杨张王刘陈赵罗周字鲁段杜黄吴何胡郭马高施俸罕番朱徐孙董苏尹毛鲍穆左邓余彭蒋"
SURNAME_WEIGHTS = np.array(
    [
        *(12, 9, 8, 6, 5, 5, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1.5, 2),
        *(1.5, 1.5, 1, 1, 1, 1.5, 1.5, 1.5, 1.5, 1, 1.5, 1, 1, 1, 1, 1.5, 1.5, 1, 1),
    ],
    dtype=np.float64,
)
GIVEN_MALE = "国建志明文华军平勇强伟德福荣海林兴春成学忠发云光祥永宏贵才金正有家保"
GIVEN_FEMALE = "秀英兰芳琼美丽玉梅珍红艳娟霞燕萍翠芬桂凤琴香仙花敏静慧婷莲"

GB11643_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
GB11643_CHECK = "10X98765432"


def age_bin(age: Arr) -> Arr:
    bins: Arr = np.searchsorted(AGE_EDGES, age, side="right") - 1
    return bins.clip(0, len(AGE_EDGES) - 2)


def draw_age(rng: np.random.Generator, n: int, p: Arr) -> Arr:
    b = rng.choice(len(p), size=n, p=normalised(p))
    lo, hi = AGE_EDGES[b], AGE_EDGES[b + 1]
    age: Arr = (lo + np.floor(rng.random(n) * (hi - lo))).astype(np.int64)
    return age


def gb11643_check(body17: Arr) -> Arr:
    """Check characters (index into ``"10X98765432"``) for 17-digit ID bodies given as int64."""
    acc = np.zeros(len(body17), dtype=np.int64)
    rest = body17.astype(np.int64)
    for w in GB11643_WEIGHTS[::-1]:  # 17 whole-column steps, last digit first
        acc += (rest % 10) * w
        rest = rest // 10
    return acc % 11


def draw_people(rng: np.random.Generator, n: int, year: int) -> dict[str, Arr]:
    k = len(CATS)
    start = np.array([START_SHARES[c] for c in CATS])
    size_tables = np.array([_HH_SIZE_TEKUN if c == "tekun" else HH_SIZE for c in CATS])
    mean_size = (size_tables * np.arange(1, 7)).sum(axis=1)
    hh_p = normalised(start / mean_size)

    # households: n is an upper bound on how many are needed
    hh_cat = rng.choice(k, size=n, p=hh_p)
    u = rng.random(n)
    size_cum = cumulative(size_tables)
    sizes = 1 + np.where(
        hh_cat == CAT_INDEX["tekun"],
        np.searchsorted(size_cum[CAT_INDEX["tekun"]], u, side="right"),
        np.searchsorted(size_cum[CAT_INDEX[ORDINARY]], u, side="right"),
    )
    n_hh = int(np.searchsorted(np.cumsum(sizes), n) + 1)
    hh_cat, sizes = hh_cat[:n_hh], sizes[:n_hh]
    village_w = normalised(rng.gamma(4.0, size=len(VILLAGES)))
    hh_village = rng.choice(len(VILLAGES), size=n_hh, p=village_w)
    hh_surname = draw_surnames(rng, n_hh)
    hh_income_z = rng.standard_normal(n_hh)

    hh = np.repeat(np.arange(n_hh), sizes)[:n]
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    member = np.arange(n) - first[hh]

    cat = hh_cat[hh].copy()
    deviate = rng.random(n) < _DEVIATE
    cat[deviate] = rng.choice(k, size=int(deviate.sum()), p=start)

    is_tekun = cat == CAT_INDEX["tekun"]
    age = np.where(
        is_tekun,
        draw_age(rng, n, AGE_TEKUN),
        np.where(member == 0, draw_age(rng, n, AGE_HEAD), draw_age(rng, n, AGE_ALL)),
    )
    male = rng.random(n) < np.where(is_tekun, 0.60, 0.51)
    brdy = year_start(year - age) - rng.integers(1, 366, size=n)

    # employees (职工): ordinary working-age or retired adults
    ordinary = cat == CAT_INDEX[ORDINARY]
    emp_p = np.where((age >= 18) & (age < 60), 0.157, np.where((age >= 60) & (age < 85), 0.094, 0.0))
    employee = ordinary & (rng.random(n) < emp_p)
    retired = employee & (age >= np.where(male, 60, 55))
    emp_tier = rng.choice(3, size=n, p=[0.75, 0.10, 0.15])

    # income: household-level noise, category median; employees their own
    medians = np.array([_INCOME_MEDIAN.get(c, _INCOME_MEDIAN_ORDINARY) for c in CATS], dtype=np.float64)
    income = medians[cat] * np.exp(0.5 * hh_income_z[hh])
    income = np.where(employee, _INCOME_MEDIAN_EMPLOYEE * np.exp(0.45 * rng.standard_normal(n)), income)
    income_fen = np.round(income * 100).astype(np.int64)

    surname, given1, given2 = draw_names(rng, hh_surname[hh], male)
    body, check = draw_id_numbers(rng, brdy, male, _REGIONS, _REGION_P)

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


def draw_names(rng: np.random.Generator, hh_surname: Arr, male: Arr) -> tuple[Arr, Arr, Arr]:
    """Surname and one or two given characters (indexes, see :func:`names`); most take their household's surname."""
    n = len(male)
    surname = np.where(rng.random(n) < 0.85, hh_surname, rng.choice(len(SURNAMES), size=n, p=normalised(SURNAME_WEIGHTS)))
    g_off = np.where(male, 0, len(GIVEN_MALE))
    g_len = np.where(male, len(GIVEN_MALE), len(GIVEN_FEMALE))
    given1 = g_off + rng.integers(0, 1 << 30, size=n) % g_len
    given2 = np.where(rng.random(n) < 0.7, g_off + rng.integers(0, 1 << 30, size=n) % g_len, -1)
    return surname, given1, given2


def draw_surnames(rng: np.random.Generator, n: int) -> Arr:
    """``n`` household surnames (indexes into :data:`SURNAMES`)."""
    drawn: Arr = rng.choice(len(SURNAMES), size=n, p=normalised(SURNAME_WEIGHTS))
    return drawn


def draw_id_numbers(rng: np.random.Generator, brdy: Arr, male: Arr, regions: Arr, region_p: Arr) -> tuple[Arr, Arr]:
    """GB 11643 ID numbers (17-digit body as int64, check index): a birthplace region of ``regions`` (drawn with
    ``region_p``) + birth date + 3-digit sequence (odd = male) + check; unique among those drawn together."""
    n = len(brdy)
    region = rng.choice(len(regions), size=n, p=normalised(region_p))
    group_key = (region << 40) | ((brdy - epoch_day(date(1800, 1, 1))) << 1) | male.astype(np.int64)
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
    body = regions[region] * 10**11 + (yyyy * 10_000 + mm * 100 + dd) * 1_000 + seq
    return body, gb11643_check(body)


def certnos(body: Arr, check: Arr) -> pl.Series:
    """The 18-character ID numbers of :func:`draw_id_numbers`."""
    return pl.Series(body).cast(pl.String).str.zfill(17) + gather(GB11643_CHECK, check)


def names(surname: Arr, given1: Arr, given2: Arr) -> pl.Series:
    """The names of :func:`draw_names`."""
    given = GIVEN_MALE + GIVEN_FEMALE
    return gather(SURNAMES, surname) + gather(given, given1) + gather(("", *given), given2 + 1)


def people_frame(p: dict[str, Arr]) -> pl.DataFrame:
    n = int(p["n"])
    width = max(7, len(str(n)))
    employee = p["employee"]
    certno = certnos(p["body"], p["check"])
    name = names(p["surname"], p["given1"], p["given2"])
    n_hh = int(p["hh"].max()) + 1 if n else 0
    hh_no = numbered("HH", n_hh, width).gather(pl.Series(p["hh"]))
    emp_status = pl.select(
        pl.when(pl.Series(employee)).then(gather(("in_service", "retired"), p["retired"].astype(np.int64))).otherwise(None)
    ).to_series()
    emp_tier = pl.select(
        pl.when(pl.Series(employee)).then(gather(("unit", "individual_1", "individual_2"), p["emp_tier"])).otherwise(None)
    ).to_series()
    return pl.DataFrame(
        {
            "psn_no": numbered("P", n, width),
            "certno": certno,
            "psn_name": name,
            "gend": gather(("2", "1"), p["male"].astype(np.int64)),
            "brdy": to_dates(p["brdy"]),
            "hh_no": hh_no,
            "county": gather((COUNTY,), np.zeros(n, dtype=np.int64)),
            "township": gather(TOWNSHIPS, p["village"] // 10),
            "village": gather(VILLAGES, p["village"]),
            "insutype": gather(("390", "310"), employee.astype(np.int64)),
            "emp_status": emp_status,
            "emp_tier": emp_tier,
            "income_fen": pl.Series(p["income_fen"], dtype=pl.Int64),
        }
    )
