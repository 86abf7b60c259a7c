"""Planted 就医行为 violations: claims added to a clean county (:func:`yibao.synth.stays.clean_episodes`).

Each planting is blatant and touches its own person (no person carries two episode plantings), so
it makes exactly the findings recorded for it (:data:`PLANTED_SCHEMA`), whatever the rest of the
county holds:

- 分解住院: a second admission of the person 1–7 days after a discharge, same diagnosis, 1–5 days long;
- 挂床住院: an outpatient visit at another institution strictly inside a stay (it is also 住院期间门诊结算);
- 住院期间门诊结算: an outpatient visit at the same institution strictly inside a stay;
- 同日多次就诊: a second visit on the day of a visit, at another institution;
- 异常高频: eight visits in one month for a person with no other care that year (the 5th-8th are found);
- 死亡后就医: a day of death the day before the person's last claim begins.

Added claims get ids ``Q000000001`` … (after every ``C…`` id, so a same-day added visit is settled
second) and copy their amounts from a claim of the same kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from yibao.synth.draws import Arr
from yibao.synth.places import INSTITUTIONS

PLANTED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "rule_type": pl.Utf8,
    "claim_id": pl.Utf8,
    "psn_no": pl.Utf8,
    "feedetl_sns": pl.List(pl.Utf8),
    "what": pl.Utf8,
}
"""One row per finding a planting must make: the rule type, the claim and lines it lands on, and what was planted."""

_OTHER_INST = [i for i in INSTITUTIONS if i.place == "in_county" and i.hosp_lv == 2]
HF_VISITS = 8
"""Visits planted in one month for 异常高频 (the rule flags those beyond max(threshold, 4))."""
HF_FLAGGED_FROM = 5
ADDED_ORD = 10**12
"""``ord`` of added claims: after every claim of the county on the same day."""


@dataclass
class Episodes:
    """What episode planting adds: claims, days of death, and the records of the findings to expect."""

    claims: list[pl.DataFrame] = field(default_factory=list)
    deaths: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"psn_no": pl.Utf8, "death_date": pl.Date}))
    records: list[pl.DataFrame] = field(default_factory=list)
    used: list[int] = field(default_factory=list)
    """Persons (``pid``) already carrying a planting."""
    touched: list[str] = field(default_factory=list)
    """Existing claims a planting refers to (kept free of line plantings, for clarity)."""
    next_id: int = 1

    def ids(self, n: int) -> tuple[pl.Series, pl.Series]:
        """``n`` new claim ids (``Q000000001`` …) and their ``ord`` (after every existing claim's)."""
        numbers = pl.int_range(self.next_id, self.next_id + n, dtype=pl.Int64, eager=True)
        self.next_id += n
        ids = pl.select(pl.lit("Q") + (numbers + 10**9).cast(pl.Utf8).str.slice(1)).to_series().alias("claim_id")
        return ids, (numbers + ADDED_ORD).alias("ord")

    def record(self, rule_type: str, claim_id: pl.Series, psn_no: pl.Series, what: pl.Series | str) -> None:
        n = len(claim_id)
        self.records.append(
            pl.DataFrame({"claim_id": claim_id, "psn_no": psn_no}).select(
                pl.lit(rule_type).alias("rule_type"),
                "claim_id",
                "psn_no",
                pl.Series("feedetl_sns", [[]], dtype=pl.List(pl.Utf8)).new_from_index(0, n),
                (what if isinstance(what, pl.Series) else pl.Series([what]).new_from_index(0, n)).alias("what"),
            )
        )


def count(rate: float, base: int) -> int:
    """How many to plant: ``rate`` of ``base``, at least one when ``rate`` > 0."""
    return 0 if rate <= 0 or base <= 0 else max(1, round(rate * base))


def _pick(rng: np.random.Generator, df: pl.DataFrame, n: int, used: Sequence[int]) -> pl.DataFrame:
    """``n`` rows of ``df`` of distinct persons not in ``used``, at random."""
    if n <= 0 or df.height == 0:
        return df.head(0)
    pid = df["pid"]
    free = ~np.isin(pid.to_numpy(), np.asarray(used, dtype=np.int64))
    order = rng.permutation(np.flatnonzero(free))
    first = pid.gather(order).is_first_distinct().to_numpy()
    return df[np.sort(order[first][:n])]


def _other_inst(inst: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """An in-county level-2 institution other than ``inst`` (code, level, place)."""
    a, b = _OTHER_INST[0], _OTHER_INST[1]
    code = pl.when(inst == a.code).then(pl.lit(b.code)).otherwise(pl.lit(a.code))
    return code, pl.lit(2, dtype=pl.Int8), pl.lit("in_county")


def _days(expr: pl.Expr, n: pl.Expr | int) -> pl.Expr:
    return expr + pl.duration(days=n)


def _month_slots(rng: np.random.Generator, claims: pl.DataFrame, year: int, percentile: int) -> Arr:
    """Months for 异常高频 plantings, at random, at most ``(100 - percentile)%`` of a month's visitors each,
    so that the planted persons stay above the month's percentile (it is taken over the persons with visits)."""
    visitors = (
        claims.filter((pl.col("med_type") != "21") & (pl.col("setl_date").dt.year() == year))
        .group_by(pl.col("setl_date").dt.month().alias("m"))
        .agg(pl.col("pid").n_unique().alias("n"))
        .sort("m")
    )
    caps = visitors["n"].to_numpy() * (100 - percentile) // 100
    slots: Arr = rng.permutation(np.repeat(visitors["m"].to_numpy(), caps))
    return slots


def plant_episodes(
    rng: np.random.Generator, claims: pl.DataFrame, people: pl.DataFrame, rate: float, year: int, percentile: int = 99
) -> Episodes:
    """Plant every episode type at ``rate`` (of admissions, visits or persons) into the clean ``claims``.

    ``claims`` and ``people`` carry ``pid`` (:func:`yibao.synth.stays.with_stays`); added claims get an ``ord``.
    ``percentile`` is 异常高频's (the pack's rule)."""
    ep = Episodes()
    if rate <= 0:
        return ep
    cols = claims.columns
    last_day = pl.lit(date(year, 12, 31))
    adm = claims.filter(pl.col("med_type") == "21")
    visits = claims.filter(pl.col("med_type") != "21")
    donors = visits.filter(pl.col("med_type") == "11")

    def add(df: pl.DataFrame) -> pl.DataFrame:
        df = df.select(cols)
        ep.claims.append(df)
        return df

    # 分解住院
    a = _pick(rng, adm.filter(_days(pl.col("enddate"), 12) <= last_day), count(rate, adm.height), ep.used)
    b = add(
        a.with_columns(pl.Series("gap", rng.integers(1, 8, size=a.height)), pl.Series("los", rng.integers(1, 6, size=a.height)))
        .with_columns(
            *ep.ids(a.height),
            _days(pl.col("enddate"), pl.col("gap")).alias("begndate"),
            _days(pl.col("enddate"), pl.col("gap") + pl.col("los")).alias("enddate"),
        )
        .with_columns(pl.col("enddate").alias("setl_date"))
    )
    ep.record("split_admission", b["claim_id"], b["psn_no"], "re-admission after " + a["claim_id"])
    ep.used += a["pid"].to_list()
    ep.touched += a["claim_id"].to_list()

    # 挂床住院 (another institution) and 住院期间门诊结算 (the same one)
    long = adm.filter((pl.col("enddate") - pl.col("begndate")).dt.total_days() >= 2)
    for kind in ("bed_hanging", "outpatient_during_stay"):
        a = _pick(rng, long, count(rate, adm.height), ep.used)
        inside = (a["enddate"] - a["begndate"]).dt.total_days().to_numpy() - 1
        offset = pl.Series("offset", 1 + np.floor(rng.random(a.height) * inside).astype(np.int64))
        donor = donors.sample(a.height, with_replacement=True, seed=int(rng.integers(0, 2**63)))
        code, lv, place = (
            _other_inst(pl.col("a_inst")) if kind == "bed_hanging" else (pl.col("a_inst"), pl.col("a_lv"), pl.col("a_place"))
        )
        day = _days(pl.col("a_beg"), pl.col("offset"))
        o = add(
            donor.with_columns(
                *ep.ids(a.height),
                a["psn_no"].alias("psn_no"),
                a["pid"].alias("pid"),
                a["fixmedins_code"].alias("a_inst"),
                a["hosp_lv"].alias("a_lv"),
                a["place"].alias("a_place"),
                a["begndate"].alias("a_beg"),
                offset,
            ).with_columns(
                day.alias("setl_date"),
                day.alias("begndate"),
                day.alias("enddate"),
                code.alias("fixmedins_code"),
                lv.cast(claims.schema["hosp_lv"]).alias("hosp_lv"),
                place.alias("place"),
            )
        )
        if kind == "bed_hanging":
            ep.record("bed_hanging", a["claim_id"], a["psn_no"], "outpatient visit elsewhere during the stay: " + o["claim_id"])
        ep.record("outpatient_during_stay", o["claim_id"], o["psn_no"], "outpatient visit during the stay " + a["claim_id"])
        ep.used += a["pid"].to_list()
        ep.touched += a["claim_id"].to_list()

    # 同日多次就诊
    v = _pick(rng, visits.filter(pl.col("med_type") == "11"), count(rate, visits.height), ep.used)
    code, lv, place = _other_inst(pl.col("fixmedins_code"))
    o = add(
        v.with_columns(
            *ep.ids(v.height),
            code.alias("fixmedins_code"),
            lv.cast(claims.schema["hosp_lv"]).alias("hosp_lv"),
            place.alias("place"),
        )
    )
    ep.record("same_day_visits", o["claim_id"], o["psn_no"], "a second visit the day of " + v["claim_id"])
    ep.used += v["pid"].to_list()
    ep.touched += v["claim_id"].to_list()

    # 异常高频: persons without any claim
    idle = people.select("psn_no", "pid").join(claims.select("pid").unique(), on="pid", how="anti")
    months = _month_slots(rng, claims, year, percentile)
    hf = _pick(rng, idle, min(count(rate, claims["pid"].n_unique()), len(months)), ep.used)
    if hf.height:
        month = months[: hf.height]
        who = np.repeat(np.arange(hf.height), HF_VISITS)
        k = np.tile(np.arange(HF_VISITS), hf.height)
        first = pl.Series("first", [f"{year}-{m:02d}-01" for m in month[who]]).str.to_date()
        donor = donors.sample(hf.height * HF_VISITS, with_replacement=True, seed=int(rng.integers(0, 2**63)))
        code, lv, place = _other_inst(pl.lit(""))
        o = add(
            donor.with_columns(first, pl.Series("k", k * 3))
            .with_columns(
                *ep.ids(donor.height),
                hf["psn_no"].gather(who).alias("psn_no"),
                hf["pid"].gather(who).alias("pid"),
                _days(pl.col("first"), pl.col("k")).alias("setl_date"),
                code.alias("fixmedins_code"),
                lv.cast(claims.schema["hosp_lv"]).alias("hosp_lv"),
                place.alias("place"),
            )
            .with_columns(pl.col("setl_date").alias("begndate"), pl.col("setl_date").alias("enddate"))
        )
        flagged = o.filter(pl.Series(k + 1 >= HF_FLAGGED_FROM))
        ep.record("high_frequency", flagged["claim_id"], flagged["psn_no"], f"{HF_VISITS} visits in one month")
        ep.used += hf["pid"].to_list()

    # 死亡后就医: death the day before the last claim, which begins 2+ days after the one before
    last = (
        claims.sort(["pid", "enddate", "ord"])
        .with_columns(pl.when(pl.col("pid") == pl.col("pid").shift(1)).then(pl.col("enddate").shift(1)).alias("prev_end"))
        .filter(pl.col("pid") != pl.col("pid").shift(-1).fill_null(-1))
        .filter(pl.col("prev_end").is_null() | ((pl.col("begndate") - pl.col("prev_end")).dt.total_days() >= 2))
    )
    d = _pick(rng, last, count(rate, claims["pid"].n_unique()), ep.used)
    ep.deaths = d.select("psn_no", _days(pl.col("begndate"), -1).alias("death_date"))
    ep.record("after_death", d["claim_id"], d["psn_no"], "care after the recorded death")
    ep.used += d["pid"].to_list()
    ep.touched += d["claim_id"].to_list()
    return ep
