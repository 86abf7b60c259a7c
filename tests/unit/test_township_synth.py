"""The demo township's generator (:mod:`yibao.synth.township`): deterministic by seed, and its parts consistent —
every claim's person and institution exist, every resident is enrolled, amounts are integer fen that add up, ID
numbers valid, the identity mix and the visits the capitation demo needs are there."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.app.institutions import TOWNSHIP_MAX, checked_townships, institution_township
from yibao.core.errors import InputError, InputErrors
from yibao.synth import CLAIM_COLUMNS, gb11643_check
from yibao.synth.township import (
    CLINICS,
    COUNTY_HOSPITAL,
    DEMO_TOWNSHIP,
    HOSPITAL,
    OTHER_TOWNSHIP,
    TOWNSHIP_YEAR,
    VISITORS,
    generate_township,
)

TOWN = {HOSPITAL.code, *(c.code for c in CLINICS)}


def test_same_seed_same_township_other_seed_other_people() -> None:
    a, b, c = generate_township(seed=1), generate_township(seed=1), generate_township(seed=2)
    for name, frame in a.frames().items():
        assert frame.equals(b.frames()[name]), name
    assert not a.people["certno"].equals(c.people["certno"])


def _check_consistent(persons: int, seed: int) -> None:
    t = generate_township(persons, seed)
    people, claims = t.people, t.claims
    assert people.height == persons + VISITORS
    assert people["psn_no"].is_unique().all() and people["certno"].is_unique().all()
    assert people["psn_no"].str.starts_with("ZB").all()  # apart from the demo county's P…
    assert people.filter(pl.col("township") == DEMO_TOWNSHIP).height == persons
    assert people.filter(pl.col("township") == OTHER_TOWNSHIP).height == VISITORS
    # ID numbers: valid check character, the birth date inside is brdy, odd sequence = male
    body = people["certno"].str.slice(0, 17).cast(pl.Int64).to_numpy()
    check = people["certno"].str.slice(17, 1).to_list()
    assert check == ["10X98765432"[i] for i in gb11643_check(body)]
    born = people["certno"].str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d")
    assert born.equals(people["brdy"], check_names=False)
    male = people["certno"].str.slice(16, 1).cast(pl.Int64) % 2 == 1
    assert (male == (people["gend"] == "1")).all()
    # everyone enrolled for the year
    e = t.enrolments
    assert e.height == people.height and set(e["psn_no"]) == set(people["psn_no"])
    assert (e["year"] == TOWNSHIP_YEAR).all() and (e["psn_insu_stas"] == "1").all()
    # identities: known people, valid before the 2020 premium's cutoff and open
    assert set(t.identities["psn_no"]) <= set(people["psn_no"])
    assert (t.identities["valid_from"] <= date(2019, 8, 31)).all() and t.identities["valid_to"].is_null().all()
    # claims: known people and institutions, the institution's level and place, integer fen adding up
    assert tuple(claims.columns) == CLAIM_COLUMNS
    assert claims["claim_id"].is_unique().all()
    inst = t.institutions.select("fixmedins_code", pl.col("hosp_lv").alias("lv"), pl.col("place").alias("pl"))
    joined = claims.join(inst, on="fixmedins_code", how="left")
    assert joined["lv"].null_count() == 0, "every claim's institution exists"
    assert (joined["lv"] == joined["hosp_lv"]).all() and (joined["pl"] == joined["place"]).all()
    assert set(claims["psn_no"]) <= set(people["psn_no"])
    for col in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
        assert claims[col].dtype == pl.Int64 and (claims[col] >= 0).all(), col
    parts = claims["fulamt_ownpay_amt"] + claims["overlmt_selfpay"] + claims["preselfpay_amt"] + claims["inscp_scp_amt"]
    assert (parts == claims["medfee_sumamt"]).all()
    assert (claims["setl_date"].dt.year() == TOWNSHIP_YEAR).all()
    out = claims.filter(pl.col("med_type") == "11")
    assert out["medfee_sumamt"].is_between(2_000, 30_000).all()  # 20-300 yuan
    assert claims.sort("psn_no", "setl_date", "claim_id")["claim_id"].equals(claims["claim_id"])


def test_parts_consistent_for_the_default_township() -> None:
    _check_consistent(300, 1)


@settings(max_examples=15, deadline=None)
@given(persons=st.integers(50, 600), seed=st.integers(0, 2**32))
def test_parts_consistent_for_any_size_and_seed(persons: int, seed: int) -> None:
    _check_consistent(persons, seed)


def test_the_township_has_what_the_capitation_demo_needs() -> None:
    t = generate_township()
    inst = {r["fixmedins_code"]: r for r in t.institutions.iter_rows(named=True)}
    assert {c for c, r in inst.items() if r["township"] == DEMO_TOWNSHIP} == TOWN
    assert inst[HOSPITAL.code]["hosp_lv"] == 1 and all(inst[c.code]["hosp_lv"] == 1 for c in CLINICS)
    assert HOSPITAL.name.endswith("镇卫生院") and all(c.name.endswith("村卫生室") for c in CLINICS)
    assert inst[COUNTY_HOSPITAL.code]["township"] is None and inst[COUNTY_HOSPITAL.code]["hosp_lv"] == 2
    residents = t.people.filter(pl.col("township") == DEMO_TOWNSHIP)
    cats = t.identities.group_by("category").len()
    mix = dict(zip(cats["category"], cats["len"], strict=True))
    assert round(0.08 * residents.height) <= mix["pinkun"] <= round(0.08 * residents.height) + 6  # households fill the quota
    assert mix["tekun"] == 3 and mix["dibao"] >= 9
    assert residents["village"].n_unique() == 5
    claims = t.claims.join(t.people.select("psn_no", "township"), on="psn_no")
    out = claims.filter(pl.col("med_type") == "11")
    at_town = out.filter(pl.col("fixmedins_code").is_in(sorted(TOWN)))
    assert set(at_town["fixmedins_code"]) == TOWN, "visits at the township hospital and every clinic"
    assert out.filter(pl.col("fixmedins_code") == COUNTY_HOSPITAL.code).height > 20
    assert at_town.filter(pl.col("township") == OTHER_TOWNSHIP).height >= VISITORS * 2
    assert claims.filter(pl.col("med_type") == "21").height == 6
    # heavy users: some residents' outpatient policy range at 50% passes the 200-yuan limit, some of them 建档立卡
    scp = at_town.filter(pl.col("township") == DEMO_TOWNSHIP).group_by("psn_no").agg(pl.col("inscp_scp_amt").sum())
    over = scp.filter(pl.col("inscp_scp_amt") > 40_000)
    assert over.height >= 8
    poor = set(t.identities.filter(pl.col("category") == "pinkun")["psn_no"])
    assert len(poor & set(over["psn_no"])) >= 3


def test_generator_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="persons must be at least 50"):
        generate_township(10)
    with pytest.raises(ValueError, match="seed must be 0 or more"):
        generate_township(seed=-1)


def test_institution_township_is_checked() -> None:
    assert institution_township(None, "f") is None
    assert institution_township("  ", "f") is None
    assert institution_township(" 青檀镇 ", "f") == "青檀镇"
    assert institution_township("镇" * TOWNSHIP_MAX, "f") == "镇" * TOWNSHIP_MAX
    for bad in ("镇" * (TOWNSHIP_MAX + 1), "青檀\n镇", 5):
        with pytest.raises(InputError) as e:
            institution_township(bad, "institutions.xlsx row 3")
        said = e.value.render("zh")
        assert "institutions.xlsx" in said and "township" in said and "不超过 64 个字" in said
        assert "at most 64 characters" in e.value.render("en")
    frame = pl.DataFrame({"fixmedins_code": ["A", "B", "C"], "township": ["青檀镇", "镇" * 65, None]})
    with pytest.raises(InputErrors) as many:
        checked_townships(frame, "institutions.parquet")
    assert [x.where for x in many.value.errors] == ["institutions.parquet row 2"]
    assert checked_townships(frame[[0, 2]], "f")["township"].to_list() == ["青檀镇", None]
