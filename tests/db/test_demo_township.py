"""The demo township loaded into a database (SQLite and PostgreSQL) and settled under the Zibo 2020 pack's
capitation: institutions with their township, residents enrolled and priced, the ledger's by-head part on the
township's visits by its residents and nowhere else, one 建档立卡 resident's year equal to a hand computation,
the township shown on the institution pages, and bad townships in an institutions file refused."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.accounts import PASSWORD, signed_in
from yibao import synth
from yibao.app.auth import create_account
from yibao.app.bulk_load import load_synth
from yibao.app.demo import load_institutions
from yibao.app.demo_township import load_township
from yibao.core.errors import InputErrors
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import Institution, LedgerEntry
from yibao.store.tables import Enrolment, Identity, Person
from yibao.synth.township import (
    CLINICS,
    COUNTY_HOSPITAL,
    DEMO_TOWNSHIP,
    HOSPITAL,
    OTHER_TOWNSHIP,
    TOWNSHIP_PACK,
    generate_township,
)

TOWN = {HOSPITAL.code, *(c.code for c in CLINICS)}

# The Zibo 2020 pack's numbers (src/yibao/policy/packs/shandong-zibo-2020.yaml), in fen and percent:
OUTPATIENT_RATIO = {1: 50, 2: 40}  # lines.outpatient.ratio, in county, by level
LIMIT = 20_000  # capitation.limit: 200 yuan a person-year, the pot the township hospital and its clinics share
PINKUN_CAP = 100_000  # capitation.over_limit.cap: 建档立卡 go on item by item up to 1,000 yuan a year
LINE_CAP = 20_000  # lines.outpatient.cap: 200 yuan, the line's own cap outside capitation


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def hand_year(claims: list[dict[str, object]]) -> dict[str, tuple[int, int]]:
    """A 建档立卡 resident's outpatient year by hand: each visit pays the policy range at the level's ratio (rounded
    half up), within what the year's cap leaves after what the line paid before (the township's visits: 1,000
    yuan, over-limit cap; the county hospital's: the line's 200 yuan); of a township visit the part within the
    200-yuan limit left is paid by head, the rest item by item. (claim -> (hifp_pay, captn_pay))."""
    paid = 0
    out: dict[str, tuple[int, int]] = {}
    for c in claims:
        raw = half_up(int(c["inscp_scp_amt"]) * OUTPATIENT_RATIO[int(c["hosp_lv"])], 100)  # type: ignore[call-overload]
        town = c["fixmedins_code"] in TOWN
        pay = min(raw, max(0, (PINKUN_CAP if town else LINE_CAP) - paid))
        head = min(pay, max(0, LIMIT - paid)) if town else 0
        out[str(c["claim_id"])] = (pay, head)
        paid += pay
    return out


@pytest.fixture
def loaded(db: Database) -> Database:
    info = load_township(db)
    assert info.settled.settled == info.claims and not info.settled.refused and info.settled.not_enrolled == 0
    return db


def _ledger(db: Database) -> pl.DataFrame:
    cols = (
        LedgerEntry.setl_id, LedgerEntry.psn_no, LedgerEntry.fixmedins_code, LedgerEntry.med_type, LedgerEntry.hifp_pay,
        LedgerEntry.captn_pay, LedgerEntry.captn_town, LedgerEntry.pack_id, LedgerEntry.medfee_sumamt,
        LedgerEntry.psn_part_amt, LedgerEntry.hifmi_pay, LedgerEntry.maf_pay,
    )  # fmt: skip
    with db.unit_of_work() as s:
        rows = s.execute(sa.select(*cols).order_by(LedgerEntry.setl_id)).all()
    names = [c.key for c in cols]
    return pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row").with_columns(
        pl.col("setl_id").str.slice(1).alias("claim_id")
    )


def test_registry_has_the_township_its_institutions_and_enrolled_residents(loaded: Database) -> None:
    t = generate_township()
    with loaded.unit_of_work() as s:
        towns = dict(s.execute(sa.select(Institution.fixmedins_code, Institution.township)).all())
        people = s.execute(sa.select(Person.psn_no, Person.township, Person.village, Person.id)).all()
        enrolled = s.execute(
            sa.select(Person.psn_no, Enrolment.individual, Enrolment.premium)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.year == 2020, Enrolment.psn_insu_stas == "1")
        ).all()
        pinkun = set(
            s.scalars(
                sa.select(Person.psn_no).join(Identity, Identity.person_id == Person.id).where(Identity.category == "pinkun")
            )
        )
    assert {c: town for c, town in towns.items() if town} == dict.fromkeys(TOWN, DEMO_TOWNSHIP)
    assert towns[COUNTY_HOSPITAL.code] is None
    assert len(people) == t.people.height
    assert sum(1 for p in people if p.township == DEMO_TOWNSHIP) == 300
    assert {p.township for p in people} == {DEMO_TOWNSHIP, OTHER_TOWNSHIP}
    assert len(enrolled) == len(people), "every resident (and visitor) enrolled for 2020"
    premium = {psn: (individual, total) for psn, individual, total in enrolled}
    assert all(total == 83_000 for _i, total in premium.values())  # 280 + 550 yuan
    assert all(premium[p][0] == 0 for p in pinkun), "建档立卡 contributions paid in full by the subsidy"


def test_capitation_on_the_townships_visits_by_its_residents_only(loaded: Database) -> None:
    ledger = _ledger(loaded)
    t = generate_township()
    people = t.people.select("psn_no", "township")
    ledger = ledger.join(people, on="psn_no")
    assert set(ledger["pack_id"]) == {TOWNSHIP_PACK}
    assert ledger.height == t.claims.height
    parts = ledger["hifp_pay"] + ledger["hifmi_pay"] + ledger["maf_pay"] + ledger["psn_part_amt"]
    assert (parts == ledger["medfee_sumamt"]).all()
    assert ((ledger["captn_pay"] >= 0) & (ledger["captn_pay"] <= ledger["hifp_pay"])).all()
    counted = ledger.filter(
        (pl.col("med_type") == "11") & pl.col("fixmedins_code").is_in(sorted(TOWN)) & (pl.col("township") == DEMO_TOWNSHIP)
    )
    assert counted.height > 500
    assert (counted["captn_town"] == DEMO_TOWNSHIP).all()
    assert counted["captn_pay"].sum() > 0
    for clinic in CLINICS:  # every village clinic's visits by residents are paid by head
        assert counted.filter(pl.col("fixmedins_code") == clinic.code)["captn_pay"].sum() > 0, clinic.name
    # every resident's by-head payments stay within the 200-yuan limit of the shared pot
    assert counted.group_by("psn_no").agg(pl.col("captn_pay").sum())["captn_pay"].max() == LIMIT
    visitors = ledger.filter(pl.col("fixmedins_code").is_in(sorted(TOWN)) & (pl.col("township") == OTHER_TOWNSHIP))
    county = ledger.filter(pl.col("fixmedins_code") == COUNTY_HOSPITAL.code)
    stays = ledger.filter(pl.col("med_type") == "21")
    for part, what in ((visitors, "another township's residents"), (county, "the county hospital"), (stays, "inpatient")):
        assert part.height > 0, what
        assert part["captn_pay"].sum() == 0 and part["captn_town"].is_null().all(), what
    assert visitors["hifp_pay"].sum() > 0, "the visitors are settled item by item on the line"
    assert county["hifp_pay"].sum() > 0


def test_one_pinkun_residents_year_equals_a_hand_computation(loaded: Database) -> None:
    t = generate_township()
    poor = t.identities.filter(pl.col("category") == "pinkun")["psn_no"]
    residents = t.people.filter(pl.col("township") == DEMO_TOWNSHIP)["psn_no"]
    out = t.claims.filter(
        (pl.col("med_type") == "11") & pl.col("psn_no").is_in(poor.implode()) & pl.col("psn_no").is_in(residents.implode())
    )
    # the 建档立卡 resident with the largest outpatient policy range: passes the limit and goes on item by item
    psn = (
        out.group_by("psn_no")
        .agg(pl.col("inscp_scp_amt").sum())
        .sort("inscp_scp_amt", "psn_no", descending=[True, False])["psn_no"][0]
    )
    claims = out.filter(pl.col("psn_no") == psn).sort("setl_date", "claim_id").to_dicts()
    expected = hand_year(claims)
    ledger = _ledger(loaded).filter(pl.col("psn_no") == psn)
    got = {r["claim_id"]: (r["hifp_pay"], r["captn_pay"]) for r in ledger.iter_rows(named=True)}
    assert got == expected
    head = sum(h for _p, h in expected.values())
    item = sum(p - h for p, h in expected.values())
    assert head == LIMIT and item > 0, "the limit reached by head, the rest item by item"
    assert head + item <= PINKUN_CAP


def test_the_township_is_shown_on_the_institution_pages(loaded: Database) -> None:
    with loaded.unit_of_work() as s:
        create_account(s, "auditor", PASSWORD, "auditor", "test")
        s.commit()
    app = create_app(loaded)
    client = signed_in(app, "auditor", PASSWORD)
    page = client.get(f"/audit/institutions/{HOSPITAL.code}", params={"year": 2020})
    assert page.status_code == 200, page.text
    assert "人头定额乡镇组" in page.text and DEMO_TOWNSHIP in page.text
    county = client.get(f"/audit/institutions/{COUNTY_HOSPITAL.code}", params={"year": 2020})
    assert county.status_code == 200 and "人头定额乡镇组" not in county.text
    token = TestClient(app).post("/api/auth/token", data={"username": "auditor", "password": PASSWORD}).json()["access_token"]
    api = TestClient(app).get(
        f"/api/audit/institutions/{CLINICS[0].code}", params={"year": 2020}, headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200, api.text
    assert api.json()["township"] == DEMO_TOWNSHIP


def test_a_bad_township_in_an_institutions_file_is_refused_and_nothing_written(db: Database, tmp_path: Path) -> None:
    t = generate_township()
    bad = t.institutions.with_columns(
        pl.when(pl.col("fixmedins_code") == CLINICS[1].code)
        .then(pl.lit("镇" * 65))
        .otherwise(pl.col("township"))
        .alias("township")
    )
    synth.write(t, tmp_path)
    bad.write_parquet(tmp_path / "institutions.parquet")
    with pytest.raises(InputErrors) as e:
        load_synth(db, tmp_path, user="test")
    said = e.value.render("zh")
    assert "institutions.parquet 第 3 行" in said and "township" in said and "不超过 64 个字" in said
    assert "institutions.parquet row 3" in e.value.render("en")
    with pytest.raises(InputErrors):
        load_institutions(db, bad)
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Institution)) == 0
