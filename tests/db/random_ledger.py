"""Seeded random ledgers written straight into the tables (no settlement engine): people in households and
places, settlements on several lines and identities over a year and the one before, some reversed, some
corrected by back-pays (补差, some of those then reversed), each with a random ``consumed``; the year-to-date
rows their sums, with differences planted on request. Reversals and back-pays carry their settlement's
``year`` and ``setl_date``, as :mod:`yibao.app.ledger` and :mod:`yibao.app.backpay` write them.

Used by the differential tests of the monitoring prefilter and of ``verify``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from yibao.app.ledger import AMOUNTS
from yibao.settlement.model import YearToDate
from yibao.store.service_tables import LedgerEntry, YearToDateRow
from yibao.store.tables import Person

LINES = ("inpatient", "chronic", "outpatient", "two_diseases")
IDENTITIES = ("ordinary", "tuopin", "dibao", "tekun")
MAP_KEYS = {
    "deductible_base": ("inp", "opd@M03", "opd@M07"),
    "basic_paid": ("inp", "opd@Q2", "chronic"),
    "deductible_taken": ("opd@M03",),
    "deductible_levels": ("opd#L1", "opd#L3"),
    "covered_cost": ("inp",),
}
SCALARS = ("admissions", "ci_base", "ci_paid", "maf_base", "maf_paid", "tilt_base", "tilt_paid", "acct_paid")
STAMP = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass
class Ledger:
    """What was written: the rows, and the planted differences (for the tests' expectations)."""

    persons: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    years: dict[tuple[int, int], YearToDate] = field(default_factory=dict)


def _consumed(rng: random.Random, year: int) -> YearToDate:
    maps = {name: {k: rng.randint(-5_000, 90_000) for k in keys if rng.random() < 0.4} for name, keys in MAP_KEYS.items()}
    scalars = {n: rng.choice((0, 0, rng.randint(0, 50_000))) for n in SCALARS}
    scalars["admissions"] = rng.randint(0, 1)
    return YearToDate(year, **scalars, **maps)


def people(rng: random.Random, n: int, first_id: int = 1) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    hh = 0
    while len(out) < n:
        hh += 1
        size = rng.choice((1, 1, 2, 3, 4))
        hh_no = None if rng.random() < 0.1 else f"H{first_id + hh:07d}"
        for _ in range(size):
            i = first_id + len(out)
            out.append(
                dict(
                    id=i, psn_no=f"P{i:07d}", certno=f"34{i:016d}",
                    psn_name=f"人{i}", gend=rng.choice("12"), brdy=date(1950 + i % 60, 1 + i % 12, 1 + i % 28), hh_no=hh_no,
                    county="濉溪县", township=rng.choice(("临涣镇", "韩村镇", "")), village=rng.choice(("一村", "二村", None)),
                    insutype="390", recorded_at=STAMP, recorded_by="random",
                )
            )  # fmt: skip
    return out[:n]


def entries(
    rng: random.Random, persons: list[dict[str, Any]], per_person: float, year: int, first_id: int = 1
) -> Iterator[dict[str, Any]]:
    """Ledger rows: settlements (a few in December of the year before), reversals, back-pays (some reversed)."""
    n = first_id
    for p in persons:
        for _ in range(rng.choice((0, 1, 2, 3)) if per_person < 0 else max(0, round(rng.gauss(per_person, 1.5)))):
            y = year - 1 if rng.random() < 0.05 else year
            day = date(y, 1, 1) + timedelta(days=rng.randint(0, 364))
            medfee = rng.randint(0, 4_000_000) if rng.random() < 0.3 else rng.randint(0, 200_000)
            inscp = rng.randint(0, medfee)
            fund = rng.randint(0, medfee)  # may pay past the policy range (then the policy-range self-pay is 0)
            part = medfee - fund
            c = _consumed(rng, y)
            acct = c.acct_paid if rng.random() < 0.98 else c.acct_paid + 1  # a few disagree: verify names them
            amounts = {a: rng.randint(0, 10_000) for a in AMOUNTS} | dict(
                medfee_sumamt=medfee, inscp_scp_amt=inscp, fund_pay_sumamt=fund, psn_part_amt=part, acct_pay=acct
            )
            settle = _row(n, f"S{n:09d}", "settle", p, y, day, rng.choice(LINES), rng.choice(IDENTITIES), amounts, c)
            n += 1
            yield settle
            total, spent = dict(amounts), c
            for _ in range(rng.choice((0, 0, 0, 0, 1, 2))):  # back-pays: differences, under a new identity
                delta = {a: rng.randint(-30_000, 30_000) for a in AMOUNTS}
                dc = _consumed(rng, y)
                delta["acct_pay"] = dc.acct_paid
                fix = _row(n, f"B{n:09d}", "backpay", p, y, day, settle["line"], rng.choice(IDENTITIES), delta, dc)
                fix["corrects"] = settle["setl_id"]
                n += 1
                yield fix
                total = {a: total[a] + delta[a] for a in AMOUNTS}
                spent = spent.plus(dc)
            if rng.random() < 0.12:
                undo = _row(n, f"R{n:09d}", "reverse", p, y, day, settle["line"], settle["identity"],
                            {a: -v for a, v in total.items()}, YearToDate(y).minus(spent))  # fmt: skip
                undo["reverses"] = settle["setl_id"]
                n += 1
                yield undo


def _row(
    n: int, setl_id: str, kind: str, p: dict[str, Any], year: int, day: date, line: str, identity: str,
    amounts: dict[str, int], consumed: YearToDate,
) -> dict[str, Any]:  # fmt: skip
    return dict(
        id=n, setl_id=setl_id, kind=kind, reverses=None, reason=None, corrects=None, mdtrt_id=None, person_id=p["id"],
        psn_no=p["psn_no"], fixmedins_code=f"H{n % 7}", year=year, setl_date=day, insutype="390",
        med_type="21" if line == "inpatient" else "14", line=line, identity=identity, dise_codg=None, dise_name=None,
        major_dise_flag=False, hosp_lv=1 + n % 3, place="in_county", captn_town=None, pack_id="random", **amounts,
        consumed=json.dumps(consumed.to_dict()), setldetail="[]", fee_results="[]", trace="[]", msgid=None,
        recorded_at=STAMP, recorded_by="random", visit_seq=None,
    )  # fmt: skip


def year_rows(rows: list[dict[str, Any]]) -> dict[tuple[int, int], YearToDate]:
    """Each person-year's accumulators as the sum of its rows' ``consumed``."""
    out: dict[tuple[int, int], YearToDate] = {}
    for r in rows:
        key = (r["person_id"], r["year"])
        out[key] = out.get(key, YearToDate(key[1])).plus(YearToDate.from_dict(json.loads(r["consumed"])))
    return out


def write(conn: sa.Connection, led: Ledger) -> None:
    """Insert the people, the ledger rows and the year-to-date rows (as ``led.years`` has them)."""
    conn.execute(sa.insert(Person.__table__), led.persons)
    for lo in range(0, len(led.entries), 2_000):
        conn.execute(sa.insert(LedgerEntry.__table__), led.entries[lo : lo + 2_000])
    years = [{"person_id": p, "year": y, "data": json.dumps(v.to_dict()), "version": 1} for (p, y), v in led.years.items()]
    if years:
        conn.execute(sa.insert(YearToDateRow.__table__), years)
    if conn.dialect.name == "postgresql":  # ids were given: the sequences move past them
        for table in ("person", "ledger"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def random_ledger(seed: int, persons: int = 60, per_person: float = -1, year: int = 2022) -> Ledger:
    rng = random.Random(seed)
    led = Ledger(people(rng, persons))
    led.entries = list(entries(rng, led.persons, per_person, year))
    led.years = year_rows(led.entries)
    return led
