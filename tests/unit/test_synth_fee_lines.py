"""Synthetic fee lines: they add up exactly to the claims, the clean county is clean, every planting is found.

The audit here is the real engine with the shipped pack (and the default policy's price ceilings);
the expected findings are the plantings the generator recorded, never the engine's own output.
"""

from __future__ import annotations

import functools

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao import synth
from yibao.audit.engine import audit_frames
from yibao.audit.pack import AuditPack, load_audit_pack
from yibao.audit.types import RULE_TYPES
from yibao.core.settings import DEFAULT_AUDIT_PACK
from yibao.interfaces.audit_files import frames_from_tables
from yibao.synth.fee_lines import AuditCounty, with_fee_lines
from yibao.synth.stays import MAX_MONTH_VISITS, QUIET_DAYS
from yibao.synth.truth import missed, score, unplanted

CEILINGS = {"002303000010000": 2_000_000}
"""The default policy pack's (anhui-huaibei-2022) unit-price ceiling, 20,000 yuan, in fen."""


@functools.cache
def pack() -> AuditPack:
    return load_audit_pack(DEFAULT_AUDIT_PACK, CEILINGS)


@functools.cache
def county(persons: int, seed: int, rate: float) -> AuditCounty:
    return with_fee_lines(synth.generate(persons, 2022, seed), pack(), rate)


def findings(ac: AuditCounty) -> pl.DataFrame:
    return audit_frames(pack(), frames_from_tables(ac.claims, ac.fee_lines, ac.people), "post")


def check_lines(ac: AuditCounty) -> None:
    """Lines add up to each claim's total exactly, lie within the stay, and count whole units at their price."""
    sums = ac.fee_lines.group_by("claim_id").agg(pl.col("det_item_fee_sumamt").sum().alias("lines"), pl.len().alias("n"))
    joined = ac.claims.join(sums, on="claim_id", how="left")
    assert joined["lines"].null_count() == 0
    assert (joined["lines"] == joined["medfee_sumamt"]).all()
    days = ac.fee_lines.join(ac.claims.select("claim_id", "begndate", "enddate"), on="claim_id")
    assert days.filter(~pl.col("fee_ocur_date").is_between(pl.col("begndate"), pl.col("enddate"))).height == 0
    assert (ac.fee_lines["cnt_milli"] > 0).all() and (ac.fee_lines["pric"] > 0).all()
    assert (ac.fee_lines["cnt_milli"] * ac.fee_lines["pric"] == ac.fee_lines["det_item_fee_sumamt"] * 1000).all()
    numbered = ac.fee_lines.group_by("claim_id").agg(pl.col("line_no").sort().alias("nos"), pl.len().alias("n"))
    assert all(nos == list(range(n)) for nos, n in numbered.select("nos", "n").iter_rows())
    assert (ac.claims["enddate"] >= ac.claims["begndate"]).all()


def test_lines_add_up_and_the_clean_county_makes_no_finding() -> None:
    ac = county(2500, 3, 0.0)
    check_lines(ac)
    assert ac.planted.height == 0
    assert ac.fee_lines.height > 10 * ac.claims.filter(pl.col("med_type") == "21").height
    known = set(pack().knowledge.catalogue)
    assert set(ac.fee_lines["med_list_codg"].unique().to_list()) <= known
    assert findings(ac).height == 0


def test_the_clean_county_keeps_its_distance() -> None:
    """What clean_episodes promises, checked on the result: no person has two claims on a day, at most
    MAX_MONTH_VISITS visits in a month, no visit near a stay, no admission soon after another."""
    c = county(2500, 3, 0.0).claims
    assert c.select(pl.struct("psn_no", "setl_date").is_duplicated().any()).item() is False
    visits = c.filter(pl.col("med_type") != "21")
    per_month = visits.group_by("psn_no", pl.col("setl_date").dt.month()).len()
    assert per_month.select((pl.col("len") <= MAX_MONTH_VISITS).all()).item()
    adm = c.filter(pl.col("med_type") == "21").select(
        "psn_no", pl.col("begndate").alias("a_beg"), pl.col("enddate").alias("a_end")
    )
    quiet = pl.duration(days=QUIET_DAYS)
    near = visits.join(adm, on="psn_no").filter(pl.col("setl_date").is_between(pl.col("a_beg") - quiet, pl.col("a_end") + quiet))
    assert near.height == 0
    pairs = adm.join(adm, on="psn_no").filter(pl.col("a_end") < pl.col("a_end_right"))
    assert pairs.filter((pl.col("a_beg_right") - pl.col("a_end")).dt.total_days() <= QUIET_DAYS).height == 0


def test_every_rule_type_planted_is_found_and_nothing_else() -> None:
    ac = county(4000, 11, 0.02)
    check_lines(ac)
    assert set(ac.planted["rule_type"].unique().to_list()) == set(RULE_TYPES)
    found = findings(ac)
    assert missed(ac.planted, found).height == 0
    assert unplanted(ac.planted, found).height == 0
    table = score(ac.planted, found)
    assert table["recall"].min() == 1.0 and table["precision"].min() == 1.0


def test_same_arguments_same_lines() -> None:
    a = with_fee_lines(synth.generate(600, 2022, 5), pack(), 0.02)
    b = with_fee_lines(synth.generate(600, 2022, 5), pack(), 0.02)
    assert a.fee_lines.equals(b.fee_lines) and a.planted.equals(b.planted) and a.claims.equals(b.claims)


def test_the_county_itself_is_unchanged_by_drawing_lines() -> None:
    c = synth.generate(600, 2022, 5)
    before = c.claims.clone()
    ac = with_fee_lines(c, pack(), 0.02)
    assert c.claims.equals(before)
    kept = ac.claims.filter(~pl.col("claim_id").str.starts_with("Q")).drop("begndate", "enddate")
    assert kept.join(before, on=list(before.columns), how="anti").height == 0


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(persons=st.integers(200, 900), seed=st.integers(0, 10_000), rate=st.sampled_from([0.0, 0.01, 0.03]))
def test_any_small_county_adds_up_and_is_found_exactly(persons: int, seed: int, rate: float) -> None:
    ac = with_fee_lines(synth.generate(persons, 2022, seed), pack(), rate)
    check_lines(ac)
    found = findings(ac)
    assert missed(ac.planted, found).height == 0
    assert unplanted(ac.planted, found).height == 0


def test_plant_rate_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="plant_rate"):
        with_fee_lines(synth.generate(50, 2022, 0), pack(), 0.5)
