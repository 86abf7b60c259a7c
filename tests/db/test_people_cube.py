"""The people cube and the deciding identity computed in the database equal the frame rules, on SQLite and PostgreSQL.

Seeded random registries — people in two counties, three townships and four villages; identities of ranked and
unranked categories recognised on month ends (31 January, 29 February, 31 August …) and other days, open or closed,
some cut by the pack's validity; enrolment rows of two years in both schemes with every status, special statuses,
subsidy categories and premiums — are read both ways:

- :func:`yibao.app.enrolment.categories_on` (the SQL of :mod:`yibao.store.identity_reads`) against
  :func:`yibao.policy.deciding.deciding_on` (the frame rule of the batch engine) over every identity row, for days
  around month ends;
- :func:`yibao.store.people_cube.people_cube_from_registry` against the cube of the people frame built person by
  person (:func:`yibao.app.report_sources.people_frame` from the frame rule, :func:`yibao.app.enrolment.year_status`
  and the priced rows), for years and places; and every people report built from either.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import DB_KINDS, seeded_databases, seeds
from yibao.app import enrolment as svc
from yibao.app.report_sources import people_frame
from yibao.policy.deciding import deciding_on, earliest_recognised
from yibao.policy.schema import months_later
from yibao.reports.catalogue import build_reports
from yibao.reports.cube import cube_of
from yibao.reports.people import PREMIUM_COLUMNS, people_cube_of
from yibao.reports.tables import INSTITUTION_SCHEMA, Context, ReportMeta
from yibao.rules.claims import Place, empty
from yibao.store.db import Database
from yibao.store.people_cube import people_cube_from_registry
from yibao.store.tables import Enrolment, Identity, Person

CTX = Context(priority=("tekun", "dibao", "jiance", "tuopin"), validity={"jiance": 6, "dibao": 12, "tekun": 1})
CATEGORIES = (*CTX.priority, "disabled", "veteran")  # two the pack does not rank
PLACES = [
    ("临翔区", "博尚镇", "那招村"),
    ("临翔区", "博尚镇", "勐准村"),
    ("临翔区", "章驮乡", "邦骂村"),
    ("双江县", "勐勐镇", None),
]
MONTH_ENDS = [date(2021, 1, 31), date(2021, 8, 31), date(2021, 12, 31), date(2022, 1, 31), date(2022, 2, 28),
              date(2022, 6, 30), date(2022, 7, 31), date(2023, 1, 31), date(2020, 2, 29), date(2021, 3, 31)]  # fmt: skip
DAYS = [date(2022, 1, 1), date(2023, 1, 1), date(2022, 2, 28), date(2022, 3, 30), date(2022, 3, 31), date(2022, 8, 30),
        date(2022, 12, 31), date(2021, 7, 31), date(2024, 2, 29)]  # fmt: skip
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SEEDS = (11, 12)
PEOPLE = 90


def _day(rng: random.Random) -> date:
    return rng.choice(MONTH_ENDS) if rng.random() < 0.5 else date(2020, 6, 1) + timedelta(days=rng.randint(0, 1100))


def seed_registry(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    with db.unit_of_work() as s:
        people = []
        for i in range(PEOPLE):
            county, township, village = PLACES[i % len(PLACES)]
            people.append(Person(psn_no=f"Q{seed}{i:03d}", certno=f"5309021960{seed:02d}01{i:04d}", psn_name=f"人{i}",
                                 gend="1", brdy=date(1960, 1, 1), county=county, township=township, village=village,
                                 recorded_at=NOW, recorded_by="t"))  # fmt: skip
        s.add_all(people)
        s.flush()
        for p in people:
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                start = _day(rng)
                end = None if rng.random() < 0.4 else start + timedelta(days=rng.randint(0, 700))
                s.add(Identity(person_id=p.id, category=rng.choice(CATEGORIES), valid_from=start, valid_to=end,
                               source_bureau="民政", recorded_at=NOW, recorded_by="t"))  # fmt: skip
            for year in (2022, 2023):
                for insutype in rng.sample(("390", "310"), rng.choice((0, 1, 1, 1, 2))):
                    stas = rng.choice(("1", "1", "1", "0", "2", "4"))
                    aid = rng.choice((0, 0, 0, 18_000, 32_000)) if insutype == "390" else 0
                    individual = rng.choice((0, 38_000, 40_000))
                    s.add(Enrolment(person_id=p.id, year=year, insutype=insutype, psn_insu_stas=stas,
                                    special_status=rng.choice((None, None, None, "deceased", "military")),
                                    individual=individual, assistance_subsidy=aid, fiscal_subsidy=64_000,
                                    premium=individual + aid + 64_000,
                                    subsidy_category=rng.choice((None, "dibao", "tekun")) if aid else None,
                                    recorded_at=NOW, recorded_by="t"))  # fmt: skip
        s.commit()


@pytest.fixture(scope="module", params=DB_KINDS)
def registries(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapping[int, Database]]:
    with seeded_databases(request, tmp_path_factory, SEEDS, seed_registry) as dbs:
        yield dbs


def _identities(db: Database) -> pl.DataFrame:
    with db.reading() as s:
        rows = s.execute(sa.select(Identity.person_id, Identity.category, Identity.valid_from, Identity.valid_to)).all()
    schema = {"person_id": pl.Int64, "category": pl.Utf8, "valid_from": pl.Date, "valid_to": pl.Date}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


@pytest.mark.parametrize("seed", seeds(*SEEDS))
def test_the_deciding_category_in_sql_is_the_frame_rule(registries: Mapping[int, Database], seed: int) -> None:
    db = registries[seed]
    identities = _identities(db)
    decided = 0
    with db.reading() as s:
        for day in DAYS:
            for validity in (CTX.validity, {}):
                expected = deciding_on(identities, day, "person_id", CTX.priority, validity)
                assert svc.categories_on(s, day, CTX.priority, validity=validity) == expected, (day, validity)
                some = sorted(expected)[::2]
                assert svc.categories_on(s, day, CTX.priority, some, validity) == {p: expected[p] for p in some}
                decided += len(expected)
        assert svc.categories_on(s, DAYS[0], ()) == {}
    assert decided > 200


def reference_frame(db: Database, year: int, place: Place) -> pl.DataFrame:
    """The people frame built person by person: the frame rule's categories, ``year_status``, the priced rows."""
    identities = _identities(db)
    with db.reading() as s:
        q = sa.select(Person.id, Person.psn_no, Person.county, Person.township, Person.village)
        persons = [r for r in s.execute(q) if all(getattr(place, f) in (None, v) for f, v in zip(PLACES_OF, r[2:], strict=True))]
        enrolled, exempt, _ = svc.year_status(s, year)
        rows = s.scalars(sa.select(Enrolment).where(Enrolment.year == year, Enrolment.insutype == "390",
                                                    Enrolment.psn_insu_stas == "1")).all()  # fmt: skip
    psn = {int(r[0]): str(r[1]) for r in persons}
    cats = deciding_on(identities, date(year, 1, 1), "person_id", CTX.priority, CTX.validity)
    schema = {"psn_no": pl.Utf8, "subsidy_category": pl.Utf8, **dict.fromkeys(PREMIUM_COLUMNS, pl.Int64)}
    resident = pl.DataFrame([(psn[e.person_id], e.subsidy_category, *(getattr(e, c) for c in PREMIUM_COLUMNS))
                             for e in rows if e.person_id in psn], schema=schema, orient="row")  # fmt: skip
    premiums = resident.group_by("psn_no").agg(
        pl.len().cast(pl.Int64).alias("resident_rows"),
        pl.col("subsidy_category").max(),
        *(pl.col(c).sum() for c in PREMIUM_COLUMNS),
    )
    frame = pl.DataFrame([tuple(r)[1:] for r in persons], schema={"psn_no": pl.Utf8, **dict.fromkeys(PLACES_OF, pl.Utf8)},
                         orient="row")  # fmt: skip
    return people_frame(frame, {psn[p]: c for p, c in cats.items() if p in psn}, [psn[p] for p in enrolled if p in psn],
                        [psn[p] for p in exempt if p in psn], premiums)  # fmt: skip


PLACES_OF = ("county", "township", "village")
WHERE = [Place(), Place(county="临翔区"), Place(township="博尚镇"), Place(village="邦骂村"), Place(village="无此村")]


@pytest.mark.parametrize("seed", seeds(*SEEDS))
def test_the_database_people_cube_equals_the_cube_of_the_people_frame(registries: Mapping[int, Database], seed: int) -> None:
    db = registries[seed]
    names = pl.DataFrame(schema=INSTITUTION_SCHEMA)
    seen = pl.DataFrame()
    for year in (2022, 2023, 2024):
        for place in WHERE:
            frame = reference_frame(db, year, place)
            with db.reading() as s:
                in_db = people_cube_from_registry(s, year, place, CTX)
            assert in_db.equals(people_cube_of(frame)), (year, place)
            meta = ReportMeta(date(year, 1, 1), date(year, 12, 31), place, "ledger", None)
            one = build_reports(cube_of(empty()), in_db, names, meta, CTX)
            other = build_reports(cube_of(empty()), frame, names, meta, CTX)
            for name in ("enrolment", "premium_subsidy", "assistance", "fund_balance"):
                assert one[name].equals(other[name]), (name, year, place)
            seen = pl.concat([seen, frame], how="diagonal_relaxed")
    # the registries hold what the cube must get right
    assert seen["category"].n_unique() >= 4 and seen["exempt"].any() and (~seen["enrolled"]).any()
    assert seen.filter(pl.col("assistance_subsidy") > 0).height > 10 and seen["subsidy_category"].null_count() > 0


@given(st.dates(date(2000, 1, 1), date(2040, 12, 31)), st.integers(1, 60))
def test_the_earliest_recognition_day_is_the_first_whose_validity_reaches_the_day(day: date, months: int) -> None:
    first = earliest_recognised(day, months)
    assert months_later(first, months) - timedelta(days=1) >= day  # valid through the day
    assert months_later(first - timedelta(days=1), months) - timedelta(days=1) < day  # the day before: lapsed
