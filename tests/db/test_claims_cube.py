"""The claims cube aggregated in the database equals the cube of the claims frame, on SQLite and PostgreSQL.

Seeded random ledgers — settlements over three years, reversals, back-pays (several per settlement, some taking
assistance away, some reversed with their settlement), applications, people in two counties, three townships and
four villages, institutions with and without a code — are read for periods and places both ways:
``cube_from_ledger(...)`` against ``cube_of(from_ledger(...))``, and every report built from either.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from tests.conftest import DB_KINDS, seeded_databases, seeds
from yibao.reports.budget import fund_actuals
from yibao.reports.catalogue import build_reports
from yibao.reports.cube import cube_of
from yibao.reports.tables import APPLIED_SCHEMA, INSTITUTION_SCHEMA, PEOPLE_SCHEMA, Context, LineInfo, ReportMeta
from yibao.rules.claims import AMOUNTS, Place
from yibao.store.claims import from_ledger
from yibao.store.claims_cube import cube_from_ledger
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

CTX = Context(
    priority=("tekun", "dibao", "jiance"),
    lines={
        "inpatient": LineInfo("普通住院", "inpatient", "390", ("21",)),
        "chronic": LineInfo("门诊慢特病", "chronic", "390", ("14",)),
        "general": LineInfo("普通门诊", "general", "390", ("11",)),
        "employee_inpatient": LineInfo("职工住院", "employee inpatient", "310", ("21",)),
    },
)
LINES = (*CTX.lines, "two_diseases")  # one line the pack does not know
IDENTITIES = (*CTX.priority, "ordinary")
PLACES = [
    ("临翔区", "博尚镇", "那招村"),
    ("临翔区", "博尚镇", "勐准村"),
    ("临翔区", "章驮乡", "邦骂村"),
    ("双江县", "勐勐镇", "忙糯村"),
]
CODES = ("H1", "H2", "H3", None)
SEEDS = (1, 2, 3)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
BLANK = {"consumed": "{}", "setldetail": "[]", "fee_results": "[]", "trace": "[]", "recorded_at": NOW, "recorded_by": "t"}


def _amounts(rng: random.Random) -> dict[str, int]:
    total = rng.randint(0, 2_000_000)
    inscp = rng.randint(0, total)
    pays = []
    left = inscp
    for share in (0.7, 0.3, 0.6, 0.5):
        pay = rng.randint(0, int(left * share)) if rng.random() < 0.6 else 0
        pays.append(pay)
        left -= pay
    hifp, hifmi, maf, oth = pays
    funds = hifp + hifmi + maf + oth
    return dict(medfee_sumamt=total, fulamt_ownpay_amt=total - inscp, overlmt_selfpay=rng.randint(0, 500),
                preselfpay_amt=rng.randint(0, 500), inscp_scp_amt=inscp, hifp_pay=hifp, hifmi_pay=hifmi, maf_pay=maf,
                oth_pay=oth, fund_pay_sumamt=funds, psn_part_amt=total - funds)  # fmt: skip


def _entry(n: int, kind: str, person: tuple[int, str], day: date, **values: Any) -> dict[str, Any]:
    pid, psn_no = person
    return {
        "setl_id": f"{kind[0].upper()}{n:05d}", "kind": kind, "reverses": None, "corrects": None, "person_id": pid,
        "psn_no": psn_no, "fixmedins_code": None, "year": day.year, "setl_date": day, "insutype": "390", "med_type": "21",
        "line": "inpatient", "identity": "ordinary", "pack_id": "test", "act_pay_dedc": 0, "pool_prop_selfpay": 0,
        **dict.fromkeys(AMOUNTS, 0), **BLANK, **values,
    }  # fmt: skip


def seed_ledger(db: Database, seed: int, settlements: int = 220) -> None:
    """A random ledger: settlements of 2021..2023 (most in 2022), a tenth reversed, a sixth corrected by back-pay."""
    rng = random.Random(seed)
    with db.unit_of_work() as s:
        people = []
        for i in range(24):
            county, township, village = PLACES[i % len(PLACES)]
            p = Person(psn_no=f"P{i:03d}", certno=f"53090219600101{i:04d}", psn_name=f"人{i}", gend="1",
                       brdy=date(1960, 1, 1), county=county, township=township, village=village, recorded_at=NOW,
                       recorded_by="t")  # fmt: skip
            s.add(p)
            people.append(p)
        s.flush()
        persons = [(p.id, p.psn_no) for p in people]
        rows: list[dict[str, Any]] = []
        n = 0
        for _ in range(settlements):
            n += 1
            year = rng.choice((2021, 2022, 2022, 2022, 2023))
            day = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            med_type = rng.choice(("21", "14", "11"))
            who = rng.choice(persons)
            settle = _entry(n, "settle", who, day, med_type=med_type, line=rng.choice(LINES),
                            identity=rng.choice(IDENTITIES), fixmedins_code=rng.choice(CODES), **_amounts(rng))  # fmt: skip
            rows.append(settle)
            same = {k: settle[k] for k in ("fixmedins_code", "med_type", "line")}
            for _fix in range(rng.choice((0, 0, 0, 0, 0, 1, 1, 2, 3))):
                n += 1
                delta = {a: rng.randint(-3_000, 6_000) for a in ("maf_pay", "oth_pay", "hifmi_pay", "psn_part_amt")}
                if rng.random() < 0.3:  # the assistance taken away again
                    delta["maf_pay"] = -settle["maf_pay"]
                rows.append(_entry(n, "backpay", who, day, corrects=settle["setl_id"], identity=rng.choice(IDENTITIES),
                                   **same, **delta))  # fmt: skip
            if rng.random() < 0.1:
                n += 1
                rows.append(_entry(n, "reverse", who, day, reverses=settle["setl_id"], identity=settle["identity"],
                                   **same, **{a: -settle[a] for a in AMOUNTS}))  # fmt: skip
            if rng.random() < 0.05:
                n += 1
                rows.append(_entry(n, "apply", who, day, line="assistance_application", maf_pay=rng.randint(1, 9_000)))
        s.execute(sa.insert(LedgerEntry), rows)
        s.commit()


@pytest.fixture(scope="module", params=DB_KINDS)
def ledgers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapping[int, Database]]:
    """One database per seed, per database kind."""
    with seeded_databases(request, tmp_path_factory, SEEDS, seed_ledger) as dbs:
        yield dbs


PERIODS = [
    (date(2022, 1, 1), date(2022, 12, 31)),
    (date(2022, 5, 1), date(2022, 5, 31)),
    (date(2022, 4, 1), date(2022, 6, 30)),
    (date(2021, 12, 1), date(2022, 1, 31)),  # across a year: no year filter
    (date(2024, 1, 1), date(2024, 12, 31)),  # nothing settled
]
WHERE = [
    Place(),
    Place(county="临翔区"),
    Place(township="博尚镇"),
    Place(village="忙糯村"),
    Place(fixmedins_code="H2"),
    Place(township="章驮乡", fixmedins_code="H1"),
    Place(village="无此村"),
]


def people_of(seed: int) -> pl.DataFrame:
    """A people frame with some premium subsidies (the assistance summary's union of persons)."""
    rng = random.Random(seed)
    rows = []
    for i in range(24):
        aid = rng.choice((0, 0, 27_200, 32_000))
        rows.append((f"P{i:03d}", None, None, None, "dibao" if aid else "ordinary", True, False, 1, None, 0, aid, 0, aid))
    return pl.DataFrame(rows, schema=PEOPLE_SCHEMA, orient="row")


@pytest.mark.parametrize("seed", seeds(*SEEDS))
def test_the_database_cube_equals_the_cube_of_the_claims_frame(ledgers: Mapping[int, Database], seed: int) -> None:
    db = ledgers[seed]
    names = pl.DataFrame([("H1", "一院"), ("H2", "二院")], schema=INSTITUTION_SCHEMA, orient="row")
    applied = pl.DataFrame([("2022-05", 7_000)], schema=APPLIED_SCHEMA, orient="row")
    counted = 0
    with db.reading() as s:
        for start, end in PERIODS:
            for place in WHERE:
                frame = from_ledger(s, start, end, place)
                counted += frame.height
                in_db, in_polars = cube_from_ledger(s, start, end, place), cube_of(frame)
                assert in_db.equals(in_polars), (start, end, place)
                assert fund_actuals(in_db, CTX, applied) == fund_actuals(frame, CTX, applied)
                meta = ReportMeta(start, end, place, "ledger", None)
                people = people_of(seed)
                one = build_reports(in_db, people, names, meta, CTX, applied=applied)
                other = build_reports(frame, people, names, meta, CTX, applied=applied)
                for name, table in one.items():
                    assert table.equals(other[name]), (name, start, end, place)
    assert counted > 300  # the periods and places did hold settlements


def test_the_random_ledgers_hold_what_the_cube_must_get_right(ledgers: Mapping[int, Database]) -> None:
    """Reversed and corrected settlements, identity changes, negative assistance after back-pay, null institutions."""
    with ledgers[SEEDS[0]].reading() as s:
        kinds = dict(s.execute(sa.select(LedgerEntry.kind, sa.func.count()).group_by(LedgerEntry.kind)).all())
        frame = from_ledger(s, date(2022, 1, 1), date(2022, 12, 31))
    assert {"settle", "reverse", "backpay", "apply"} <= set(kinds) and kinds["reverse"] >= 5 and kinds["backpay"] >= 20
    assert frame["fixmedins_code"].null_count() > 0 and frame["line"].is_in(["two_diseases"]).any()
    cube = cube_of(frame)
    helped = cube.helped
    assert helped.height > 0 and not helped["maf"].all()
    assert (frame["maf_pay"] < 0).any() or (frame["oth_pay"] < 0).any()
