"""A demo township under outpatient capitation (门诊统筹人头定额, seed 004), for the Zibo 2020 pack.

One fictional township, :data:`DEMO_TOWNSHIP`, of a Zibo county (沂源县, 370323): its township hospital
(镇卫生院, level 1) and four village clinics (村卫生室, level 1), all of the township's capitation group, and
the county hospital (level 2, no township). About 300 residents live in the township's five villages, in
households; about 8% are registered poor (建档立卡, ``pinkun``), a few 低保 and 特困 (single-person
households), each identity with its own valid dates from before the 2020 premium's cutoff. Their
outpatient visits of 2020 (``med_type`` 11, 20-300 yuan) are mostly at their village's clinic or the
township hospital, some at the county hospital; a dozen heavy users, several of them poor, pass the
pot's 200-yuan limit so that the poor go on item by item. A few residents of :data:`OTHER_TOWNSHIP` visit
the township's institutions (not counted there), and a few residents have an inpatient stay.

The frames are those of :class:`~yibao.synth.county.SynthCounty` (the same columns, so the county's
loader and bridges take them), the institutions with a ``township`` column. People are numbered
``ZB0000001`` …, claims ``ZC0000001`` …, apart from the demo county's ``P…``/``C…``. Pure and
deterministic: the same ``(persons, seed)`` gives the same frames.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from yibao.core.identities import CATEGORIES, ORDINARY
from yibao.synth.claims import CLAIM_COLUMNS, INPATIENT_DISE, OUTPATIENT_DISE
from yibao.synth.county import SynthCounty
from yibao.synth.draws import Arr, days_between, epoch_day, gather, normalised, numbered, to_dates, year_start
from yibao.synth.people import (
    AGE_ALL,
    AGE_HEAD,
    AGE_TEKUN,
    HH_SIZE,
    certnos,
    draw_age,
    draw_id_numbers,
    draw_names,
    draw_surnames,
    names,
)
from yibao.synth.places import Institution
from yibao.synth.places import institutions_frame as county_institutions

DEMO_TOWNSHIP = "青檀镇"
"""The demo township (fictional), as ``person.township`` and ``institution.township`` name it."""
OTHER_TOWNSHIP = "松岭镇"
"""A neighbouring township (fictional) whose residents visit the demo township's institutions now and then."""
TOWNSHIP_COUNTY = "沂源县"
TOWNSHIP_ADMDVS = "370323"
TOWNSHIP_YEAR = 2020
TOWNSHIP_PACK = "shandong-zibo-2020"
"""The pack the township's year is settled with (it has the ``capitation`` block)."""
VILLAGES: tuple[str, ...] = ("青檀村", "东庄村", "西峪村", "南岭村", "北坡村")
"""The township's villages: the first is the township seat (served by the township hospital), village ``v``
(1-4) has the clinic ``CLINICS[v - 1]``."""
OTHER_VILLAGE = "松岭村"

HOSPITAL = Institution("H37032300101", DEMO_TOWNSHIP + "卫生院", 1, "in_county")
CLINICS: tuple[Institution, ...] = tuple(
    Institution(f"H370323001{2 + i:02d}", f"{DEMO_TOWNSHIP}{v}卫生室", 1, "in_county") for i, v in enumerate(VILLAGES[1:])
)
COUNTY_HOSPITAL = Institution("H37032300001", TOWNSHIP_COUNTY + "人民医院", 2, "in_county")
TOWNSHIP_INSTITUTIONS: tuple[Institution, ...] = (HOSPITAL, *CLINICS)
"""The capitation group: the township hospital and its village clinics."""
INSTITUTIONS: tuple[Institution, ...] = (*TOWNSHIP_INSTITUTIONS, COUNTY_HOSPITAL)

PINKUN_SHARE = 0.08
DIBAO_SHARE = 0.03
TEKUN_PEOPLE = 3
"""特困 people, each living alone."""
HEAVY_USERS = {"pinkun": 4, "tekun": 1, "dibao": 1, ORDINARY: 6}
"""Residents with many visits (18-30 a year), by identity: they pass the pot's limit."""
VISITORS = 6
"""Residents of :data:`OTHER_TOWNSHIP` visiting (the first of them 建档立卡)."""
INPATIENT_STAYS = 6

_CATS = (ORDINARY, "pinkun", "dibao", "tekun")
_REGIONS = np.array([370323, 370302, 370303, 370304, 370305], dtype=np.int64)
_REGION_P = np.array([0.88, 0.03, 0.03, 0.03, 0.03])
_VISITS_MEAN = 2.5  # ordinary residents' outpatient visits a year (gamma-Poisson, shape 0.8)
_HEAVY_VISITS = (18, 31)
# where a visit goes: own village clinic (the seat: the township hospital), the township hospital, the county hospital
_WHERE_P = np.array([0.70, 0.20, 0.10])
_OUTPATIENT_MEDIAN = (70.0, 130.0)  # yuan: township institutions, county hospital
_OUTPATIENT_YUAN = (20.0, 300.0)
_INPATIENT_MEDIAN, _INPATIENT_YUAN = 4_000.0, (1_500.0, 15_000.0)


def generate_township(persons: int = 300, seed: int = 1) -> SynthCounty:
    """The demo township's year: ``persons`` residents (at least 50) plus :data:`VISITORS`; same arguments,
    same frames."""
    if persons < 50:
        raise ValueError(f"persons must be at least 50 (the township's heavy users and identities), got {persons}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, persons, TOWNSHIP_YEAR, 370323]))
    people, cat = _people(rng, persons)
    identities = _identities(rng, people["psn_no"], cat)
    claims = _claims(rng, people, cat, persons)
    n = people.height
    enrolments = pl.DataFrame(
        {
            "psn_no": people["psn_no"],
            "year": pl.Series(np.full(n, TOWNSHIP_YEAR, dtype=np.int32)),
            "insutype": ["390"] * n,
            "psn_insu_stas": ["1"] * n,
            "special_status": pl.Series([None] * n, dtype=pl.String),
        }
    )
    chronic = pl.DataFrame(schema={"psn_no": pl.String, "dise_codg": pl.String, "begin": pl.Date, "end": pl.Date})
    cross = pl.DataFrame(schema={"psn_no": pl.String, "begin": pl.Date, "end": pl.Date})
    return SynthCounty(n, TOWNSHIP_YEAR, seed, people, identities, enrolments, chronic, cross, claims, institutions_frame())


def institutions_frame() -> pl.DataFrame:
    """The township's institutions and the county hospital, with their ``township`` (NULL: none)."""
    towns = pl.Series("township", [DEMO_TOWNSHIP if i in TOWNSHIP_INSTITUTIONS else None for i in INSTITUTIONS], pl.String)
    return county_institutions(INSTITUTIONS, TOWNSHIP_ADMDVS).with_columns(towns)


def _households(rng: np.random.Generator, persons: int) -> tuple[Arr, Arr]:
    """Household sizes and categories (index into ``_CATS``): :data:`TEKUN_PEOPLE` single 特困 households
    first, then households in a random order 建档立卡 until their share is reached, then 低保."""
    sizes = 1 + rng.choice(len(HH_SIZE), size=persons, p=normalised(HH_SIZE))
    sizes[:TEKUN_PEOPLE] = 1
    n_hh = int(np.searchsorted(np.cumsum(sizes), persons) + 1)
    sizes = sizes[:n_hh]
    sizes[-1] -= int(sizes.sum()) - persons  # the last household takes whoever is left
    cat = np.zeros(n_hh, dtype=np.int64)
    cat[:TEKUN_PEOPLE] = _CATS.index("tekun")
    quota = {"pinkun": round(PINKUN_SHARE * persons), "dibao": round(DIBAO_SHARE * persons)}
    order = TEKUN_PEOPLE + rng.permutation(n_hh - TEKUN_PEOPLE)
    filled = dict.fromkeys(quota, 0)
    for hh in order:
        c = next((c for c in quota if filled[c] < quota[c]), None)
        if c is None:
            break
        cat[hh] = _CATS.index(c)
        filled[c] += int(sizes[hh])
    return sizes, cat


def _people(rng: np.random.Generator, persons: int) -> tuple[pl.DataFrame, Arr]:
    """Residents (households in villages of :data:`VILLAGES`) then :data:`VISITORS` (one household each in
    :data:`OTHER_VILLAGE`); their categories (index into ``_CATS``)."""
    sizes, hh_cat = _households(rng, persons)
    n_hh = len(sizes)
    hh_village = rng.choice(len(VILLAGES), size=n_hh, p=normalised(rng.gamma(6.0, size=len(VILLAGES))))
    hh_cat = np.concatenate([hh_cat, np.zeros(VISITORS, dtype=np.int64)])
    hh_cat[n_hh] = _CATS.index("pinkun")
    hh_village = np.concatenate([hh_village, np.full(VISITORS, len(VILLAGES))])
    hh = np.concatenate([np.repeat(np.arange(n_hh), sizes), n_hh + np.arange(VISITORS)])
    n = len(hh)
    head = np.ones(n, dtype=bool)
    head[1:] = hh[1:] != hh[:-1]
    cat = hh_cat[hh]
    tekun = cat == _CATS.index("tekun")
    age = np.where(tekun, draw_age(rng, n, AGE_TEKUN), np.where(head, draw_age(rng, n, AGE_HEAD), draw_age(rng, n, AGE_ALL)))
    male = rng.random(n) < 0.51
    brdy = year_start(TOWNSHIP_YEAR - age) - rng.integers(1, 366, size=n)
    surname, given1, given2 = draw_names(rng, draw_surnames(rng, len(hh_cat))[hh], male)
    body, check = draw_id_numbers(rng, brdy, male, _REGIONS, _REGION_P)
    visitor = hh >= n_hh
    frame = pl.DataFrame(
        {
            "psn_no": numbered("ZB", n, 7),
            "certno": certnos(body, check),
            "psn_name": names(surname, given1, given2),
            "gend": gather(("2", "1"), male.astype(np.int64)),
            "brdy": to_dates(brdy),
            "hh_no": numbered("ZBH", len(hh_cat), 5).gather(pl.Series(hh)),
            "county": [TOWNSHIP_COUNTY] * n,
            "township": gather((DEMO_TOWNSHIP, OTHER_TOWNSHIP), visitor.astype(np.int64)),
            "village": gather((*VILLAGES, OTHER_VILLAGE), hh_village[hh]),
            "insutype": ["390"] * n,
            "emp_status": pl.Series([None] * n, dtype=pl.String),
            "emp_tier": pl.Series([None] * n, dtype=pl.String),
        }
    )
    return frame, cat


def _identities(rng: np.random.Generator, psn_no: pl.Series, cat: Arr) -> pl.DataFrame:
    """One open identity per person not ordinary, valid from a day of 2015-2019 before the 2020 premium's
    cutoff (1 September 2019), recorded by its category's bureau."""
    who = np.flatnonzero(cat != _CATS.index(ORDINARY))
    start = days_between(rng, epoch_day(date(2015, 1, 1)), epoch_day(date(2019, 8, 31)), len(who))
    return pl.DataFrame(
        {
            "psn_no": psn_no.gather(pl.Series(who)),
            "category": gather(_CATS, cat[who]),
            "valid_from": to_dates(start),
            "valid_to": pl.Series([None] * len(who), dtype=pl.Date),
            "source_bureau": gather(tuple(CATEGORIES[c].bureau for c in _CATS), cat[who]),
        }
    )


def _heavy_users(rng: np.random.Generator, cat: Arr, residents: int) -> Arr:
    """Residents with many visits: :data:`HEAVY_USERS` of each identity, drawn."""
    picked = [
        rng.choice(pool, size=min(k, len(pool)), replace=False)
        for c, k in HEAVY_USERS.items()
        if len(pool := np.flatnonzero(cat[:residents] == _CATS.index(c)))
    ]
    return np.sort(np.concatenate(picked))


def _amounts(rng: np.random.Generator, median: Arr, bounds: tuple[float, float]) -> tuple[Arr, Arr]:
    """Bills in fen (lognormal around ``median`` yuan within ``bounds``) and their fully self-paid part (a few %)."""
    yuan = np.clip(median * np.exp(0.6 * rng.standard_normal(len(median))), *bounds)
    total = np.round(yuan * 100).astype(np.int64)
    ful = np.floor(total * rng.beta(1.0, 15.0, size=len(total))).astype(np.int64)
    return total, ful


def _claims(rng: np.random.Generator, people: pl.DataFrame, cat: Arr, residents: int) -> pl.DataFrame:
    """Outpatient visits of the year (residents' and visitors') and :data:`INPATIENT_STAYS` stays."""
    n = people.height
    visits = rng.poisson(rng.gamma(0.8, _VISITS_MEAN / 0.8, size=n))
    heavy = _heavy_users(rng, cat, residents)
    visits[heavy] = rng.integers(*_HEAVY_VISITS, size=len(heavy))
    visits[residents:] = rng.integers(2, 5, size=n - residents)
    person = np.repeat(np.arange(n), visits)
    m = len(person)
    village = pl.Series(people["village"]).replace_strict({v: i for i, v in enumerate((*VILLAGES, OTHER_VILLAGE))}).to_numpy()
    where = rng.choice(3, size=m, p=_WHERE_P)
    own = village[person]
    seat = (own == 0) & (where == 0)
    visitor = person >= residents
    where = np.where(visitor, rng.integers(0, 2, size=m), np.where(seat, 1, where))  # visitors: a clinic or the hospital
    clinic = np.where(visitor, rng.integers(0, len(CLINICS), size=m), own - 1)
    inst = np.where(where == 0, 1 + clinic, np.where(where == 1, 0, len(INSTITUTIONS) - 1))
    county = inst == len(INSTITUTIONS) - 1
    total, ful = _amounts(rng, np.where(county, _OUTPATIENT_MEDIAN[1], _OUTPATIENT_MEDIAN[0]), _OUTPATIENT_YUAN)
    y0, y1 = epoch_day(date(TOWNSHIP_YEAR, 1, 1)), epoch_day(date(TOWNSHIP_YEAR, 12, 31))
    day = days_between(rng, y0, y1, m)
    dise = rng.integers(0, len(OUTPATIENT_DISE), size=m)
    stays = rng.choice(residents, size=INPATIENT_STAYS, replace=False)
    s_inst = np.where(rng.random(INPATIENT_STAYS) < 0.3, 0, len(INSTITUTIONS) - 1)
    s_total, s_ful = _amounts(rng, np.full(INPATIENT_STAYS, _INPATIENT_MEDIAN), _INPATIENT_YUAN)
    s_day = days_between(rng, y0, y1 - 14, INPATIENT_STAYS)
    s_dise = rng.choice(len(INPATIENT_DISE), size=INPATIENT_STAYS)
    inst_all = np.concatenate([inst, s_inst])
    total_all = np.concatenate([total, s_total])
    ful_all = np.concatenate([ful, s_ful])
    frame = pl.DataFrame(
        {
            "psn_no": people["psn_no"].gather(pl.Series(np.concatenate([person, stays]))),
            "setl_date": to_dates(np.concatenate([day, s_day])),
            "med_type": ["11"] * m + ["21"] * INPATIENT_STAYS,
            "hosp_lv": pl.Series([INSTITUTIONS[i].hosp_lv for i in inst_all], dtype=pl.Int8),
            "place": [INSTITUTIONS[i].place for i in inst_all],
            "dise_codg": [OUTPATIENT_DISE[d] for d in dise] + [INPATIENT_DISE[d][0] for d in s_dise],
            "fixmedins_code": [INSTITUTIONS[i].code for i in inst_all],
            "medfee_sumamt": pl.Series(total_all, dtype=pl.Int64),
            "fulamt_ownpay_amt": pl.Series(ful_all, dtype=pl.Int64),
            "overlmt_selfpay": pl.Series(np.zeros(len(inst_all), dtype=np.int64)),
            "preselfpay_amt": pl.Series(np.zeros(len(inst_all), dtype=np.int64)),
            "full_pay_scp_amt": pl.Series(np.zeros(len(inst_all), dtype=np.int64)),
        }
    )
    return (
        frame.with_columns((pl.col("medfee_sumamt") - pl.col("fulamt_ownpay_amt")).alias("inscp_scp_amt"))
        .sort("psn_no", "setl_date", "med_type", "fixmedins_code", "medfee_sumamt")
        .with_columns(numbered("ZC", len(inst_all), 7).alias("claim_id"))
        .select(CLAIM_COLUMNS)
    )
