"""Institution anomalies (机构异常监测): indicators, peer bands, fences, trend, ranking, townships.

Every expected figure below is worked out by hand in the comments beside it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.audit.indicators import INDICATORS
from yibao.audit.institutions import (
    DEFAULT_PARAMS,
    INDICATOR_LABELS,
    INDICATOR_NOTES,
    Params,
    analyse,
    band,
    compare,
    half_up,
    indicators,
    quantile,
    served_townships,
    settlement_fees,
    shown,
    summary,
)
from yibao.audit.knowledge import ITEM_KINDS

CLAIM_COLUMNS = ("setl_id", "psn_no", "month", "med_type", "fixmedins_code", "medfee_sumamt", "psn_part_amt", "township")


def claim(setl_id: str, psn_no: str, code: str, month: str = "2022-06", *, inpatient: bool = False, cost: int = 10_000,
          part: int = 3_000, township: str = "博尚镇") -> dict[str, Any]:  # fmt: skip
    return {
        "setl_id": setl_id, "psn_no": psn_no, "month": month, "med_type": "21" if inpatient else "11",
        "fixmedins_code": code, "medfee_sumamt": cost, "psn_part_amt": part, "township": township,
    }  # fmt: skip


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {c: (pl.Int64 if c in ("medfee_sumamt", "psn_part_amt") else pl.Utf8) for c in CLAIM_COLUMNS}
    return pl.DataFrame(rows, schema=schema, orient="row")


def value(ind: pl.DataFrame, code: str, indicator: str, month: str = "2022-06") -> tuple[int, int, int]:
    row = ind.filter((pl.col("code") == code) & (pl.col("indicator") == indicator) & (pl.col("month") == month))
    assert row.height == 1, (code, indicator, month)
    return row["num"][0], row["den"][0], row["value"][0]


def ind_frame(values: dict[str, int], indicator: str = "selfpay_share", month: str = "2022-06", n: int = 10) -> pl.DataFrame:
    """An indicators frame with one value per institution (num = value, den = 10000 for basis points)."""
    return pl.DataFrame(
        [
            {"code": c, "month": month, "indicator": indicator, "num": v, "den": 10_000, "n": n, "value": v}
            for c, v in values.items()
        ],
        schema={"code": pl.Utf8, "month": pl.Utf8, "indicator": pl.Utf8, "num": pl.Int64, "den": pl.Int64, "n": pl.Int64,
                "value": pl.Int64},
        orient="row",
    )  # fmt: skip


# --- quartiles and fences, by hand ---------------------------------------------------------------------------


def test_quartiles_interpolate_between_order_statistics() -> None:
    # five values: positions (n-1)·p = 1, 2, 3 fall on order statistics 20, 30, 40
    assert [quantile([10, 20, 30, 40, 100], Fraction(p, 4)) for p in (1, 2, 3)] == [20, 30, 40]
    # four values: positions 0.75, 1.5, 2.25 → 1 + 0.75·1 = 1.75, 2.5, 3 + 0.25·1 = 3.25
    assert [quantile([1, 2, 3, 4], Fraction(p, 4)) for p in (1, 2, 3)] == [Fraction(7, 4), Fraction(5, 2), Fraction(13, 4)]
    assert quantile([7], Fraction(1, 2)) == 7


def test_tukey_fences_and_far_fences() -> None:
    # 1000 2000 3000 4000 10000 bp: Q1 2000, median 3000, Q3 4000, IQR 2000 (above the 100 bp floor)
    b = band([1000, 2000, 3000, 4000, 10000], "bp")
    assert (b.q1, b.median, b.q3, b.spread) == tuple(map(Fraction, (2000, 3000, 4000, 2000)))
    assert b.upper == 4000 + Fraction(3, 2) * 2000 == 7000
    assert b.upper_far == 4000 + 3 * 2000 == 10000
    assert b.lower == 0  # 2000 − 3000 < 0: no indicator is negative
    assert b.lower_far == 0
    # 6000 6500 7000 7500 8000: Q1 6500, Q3 7500, IQR 1000; fences 5000 and 9000, far 3500 and 10500
    b = band([8000, 6000, 7000, 6500, 7500], "bp")
    assert (b.lower, b.upper, b.lower_far, b.upper_far) == tuple(map(Fraction, (5000, 9000, 3500, 10500)))
    assert b.shown() == {
        "q1": 6500,
        "median": 7000,
        "q3": 7500,
        "lower": 5000,
        "upper": 9000,
        "lower_far": 3500,
        "upper_far": 10500,
    }


def test_the_spread_has_a_floor_when_peers_are_equal() -> None:
    # all peers at 0 bp: IQR 0, the spread is the 100 bp floor → upper fence 150, far 300
    b = band([0, 0, 0, 0, 0], "bp")
    assert (b.spread, b.upper, b.upper_far) == tuple(map(Fraction, (100, 150, 300)))
    # money: 10,000 fen floor (100 yuan)
    assert band([50_000] * 5, "fen").upper == 50_000 + 15_000
    assert band([50_000] * 5, "fen", Params(min_spread_fen=0)).upper == 50_000


def test_half_up_rounds_halves_away_from_zero() -> None:
    assert [half_up(Fraction(x, 2)) for x in (1, 3, 5, -1, -3)] == [1, 2, 3, -1, -2]
    assert half_up(Fraction(13, 4)) == 3


# --- indicators, by hand -------------------------------------------------------------------------------------------


def test_claim_indicators_keep_numerator_and_denominator() -> None:
    rows = [
        # A in June: 4 settlements by 3 persons, 2 admissions costing 60,000 and 40,001 fen
        claim("a1", "p1", "A", inpatient=True, cost=60_000, part=20_000),
        claim("a2", "p2", "A", inpatient=True, cost=40_001, part=10_000),
        claim("a3", "p1", "A", cost=10_000, part=5_000),
        claim("a4", "p3", "A", cost=9_999, part=0),
        # A in July: one more person (p4): A's catchment is 4 persons
        claim("a5", "p4", "A", month="2022-07"),
    ]
    ind = indicators(frame(rows))
    assert value(ind, "A", "admission_rate") == (2, 4, 5000)  # 2 admissions / 4 persons = 50.00%
    assert value(ind, "A", "cost_per_admission") == (100_001, 2, 50_001)  # 50,000.5 rounds half up
    assert value(ind, "A", "selfpay_share") == (35_000, 120_000, 2917)  # 0.291666… → 2917 bp
    assert value(ind, "A", "persons_per_visit") == (3, 4, 7500)
    # no admissions in July: no cost per admission that month, an admission rate of 0
    assert ind.filter((pl.col("month") == "2022-07") & (pl.col("indicator") == "cost_per_admission")).height == 0
    assert value(ind, "A", "admission_rate", "2022-07") == (0, 4, 0)
    # catchment given by the caller instead
    assert value(indicators(frame(rows), catchment={"A": 1000}), "A", "admission_rate") == (2, 1000, 20)


def test_length_of_stay_and_15_day_readmissions() -> None:
    d = date(2022, 6, 1)
    rows = [
        claim("s1", "p1", "A", inpatient=True),  # 1..5 June: 4 days
        claim("s2", "p1", "A", inpatient=True),  # 20..20 June (15 days after discharge): a readmission, 1 day (at least 1)
        claim("s3", "p1", "A", month="2022-07", inpatient=True),  # 6..9 July: 16 days after 20 June: not
        claim("s4", "p2", "A", inpatient=True),  # 2..9 June: 7 days
        claim("s5", "p2", "B", inpatient=True),  # 12 June at B: another institution, not A's readmission
    ]
    stays = pl.DataFrame({
        "setl_id": ["s1", "s2", "s3", "s4", "s5"],
        "begndate": [d, d + timedelta(19), date(2022, 7, 6), d + timedelta(1), d + timedelta(11)],
        "enddate": [d + timedelta(4), d + timedelta(19), date(2022, 7, 9), d + timedelta(8), d + timedelta(13)],
    })  # fmt: skip
    ind = indicators(frame(rows), stays=stays)
    assert value(ind, "A", "avg_los") == (4 + 1 + 7, 3, 4000)  # 12 days / 3 admissions = 4.000 days
    assert value(ind, "A", "readmit_15d") == (1, 3, 3333)
    assert value(ind, "A", "readmit_15d", "2022-07") == (0, 1, 0)
    assert value(ind, "A", "avg_los", "2022-07") == (3, 1, 3000)
    assert value(ind, "B", "readmit_15d") == (0, 1, 0)


def test_fee_shares_by_catalogue_kind() -> None:
    assert "exam" in ITEM_KINDS
    rows = [claim("c1", "p1", "A"), claim("c2", "p2", "A")]
    lines = pl.DataFrame({
        "setl_id": ["c1", "c1", "c1", "c2", "c2", "gone"],
        "med_list_codg": ["D1", "E1", "M1", "D1", "X9", "D1"],  # X9 not in the catalogue; "gone" not settled
        "det_item_fee_sumamt": [3_000, 2_000, 1_000, 1_000, 3_000, 99_999],
    })  # fmt: skip
    kinds = {"D1": "drug", "E1": "exam", "M1": "material"}
    fees = settlement_fees(lines, kinds)
    assert fees.rows() == [("c1", 6_000, 3_000, 2_000, 1_000), ("c2", 4_000, 1_000, 0, 0), ("gone", 99_999, 99_999, 0, 0)]
    ind = indicators(frame(rows), fees=fees)
    assert value(ind, "A", "drug_share") == (4_000, 10_000, 4000)
    assert value(ind, "A", "exam_share") == (2_000, 10_000, 2000)
    assert value(ind, "A", "material_share") == (1_000, 10_000, 1000)


def test_every_indicator_has_words_in_both_languages() -> None:
    for i in INDICATORS:
        assert all(INDICATOR_LABELS[i.code]) and all(INDICATOR_NOTES[i.code])
    assert shown(1234, "bp") == "12.34%"
    assert shown(123456, "fen") == "1,234.56元"
    assert shown(123456, "fen", "en") == "1,234.56 yuan"
    assert shown(4500, "milli_day") == "4.50天"


# --- comparison and ranking -----------------------------------------------------------------------------------------


def test_an_institution_far_above_its_peers_ranks_first() -> None:
    # level 1 peers at 3000..3400 bp, one at 9000; level 2 peers (a separate group) with a milder outlier
    lv1 = {"A": 3000, "B": 3100, "C": 3200, "D": 3300, "E": 3400, "F": 9000}
    lv2 = {"G": 5000, "H": 5000, "I": 5000, "J": 5000, "K": 5000, "L": 5400}
    groups = {c: "1" for c in lv1} | {c: "2" for c in lv2}
    result = compare(ind_frame(lv1 | lv2), groups)
    top = result.ranked.row(0, named=True)
    assert (top["code"], top["direction"], top["kind"], top["group"]) == ("F", "high", "far", "1")
    # level 1: 6 values 3000 3100 3200 3300 3400 9000; Q1 at 1.25 → 3125, Q3 at 3.75 → 3375, IQR 250
    # upper fence 3375 + 375 = 3750; far 3375 + 750 = 4125; score (9000 − 3750) / 250 = 21
    assert (top["q1"], top["median"], top["q3"], top["upper"], top["upper_far"]) == (3125, 3250, 3375, 3750, 4125)
    assert top["score_milli"] == 21_000
    # level 2: Q1 = Q3 = 5000, spread the 100 bp floor, upper 5150, far 5300: L (5400) far, score 2.5
    second = result.ranked.row(1, named=True)
    assert (second["code"], second["score_milli"], second["kind"]) == ("L", 2500, "far")
    assert result.ranked["rank"].to_list() == [1, 2]
    assert result.ranked.height == 2


def test_low_values_are_flagged_low() -> None:
    values = {"A": 6000, "B": 6500, "C": 7000, "D": 7500, "E": 8000, "F": 4000}
    # 4000 4000? no: 4000 6000 6500 7000 7500 8000 → Q1 at 1.25 = 6125, Q3 at 3.75 = 7375, IQR 1250
    # lower fence 6125 − 1875 = 4250 → F low, (4250 − 4000) / 1250 = 0.2; far fence 6125 − 3750 = 2375: not far
    ranked = compare(ind_frame(values), dict.fromkeys(values, "1")).ranked
    assert ranked.height == 1
    row = ranked.row(0, named=True)
    assert (row["code"], row["direction"], row["kind"], row["score_milli"], row["lower"]) == ("F", "low", "out", 200, 4250)


def test_too_few_peers_or_cases_are_not_compared() -> None:
    four = {"A": 1000, "B": 1000, "C": 1000, "D": 9000}
    assert compare(ind_frame(four), dict.fromkeys(four, "1")).ranked.height == 0  # 4 < 5 peers
    five = four | {"E": 1000}
    assert compare(ind_frame(five), dict.fromkeys(five, "1")).ranked["code"].to_list() == ["D"]
    assert compare(ind_frame(five, n=4), dict.fromkeys(five, "1")).ranked.height == 0  # each on 4 < 5 cases
    assert compare(ind_frame(five), dict.fromkeys(five, "1"), params=Params(min_peers=6)).ranked.height == 0


def test_a_rise_on_its_own_past_is_flagged() -> None:
    # one institution (no peer band): 6 months at 3000, 3000, 3000, 3200, 2800, 3000 → median 3000;
    # July 4600 > 3000 × 1.5 = 4500: flagged, rise (4600 − 3000) / 3000 = 5333 bp; August 4400: not
    months = ["2022-01", "2022-02", "2022-03", "2022-04", "2022-05", "2022-06", "2022-07", "2022-08"]
    values = [3000, 3000, 3000, 3200, 2800, 3000, 4600, 4400]
    ind = pl.concat([ind_frame({"A": v}, month=m) for m, v in zip(months, values, strict=True)])
    ranked = compare(ind, {"A": "1"}).ranked
    assert ranked["month"].to_list() == ["2022-07"]
    row = ranked.row(0, named=True)
    assert (row["kind"], row["trend"], row["trend_base"], row["trend_rise_bp"], row["score_milli"]) == (
        "trend",
        True,
        3000,
        5333,
        None,
    )
    # two months of past are not a baseline (at least 3)
    assert compare(ind.filter(pl.col("month") >= "2022-05"), {"A": "1"}).ranked.height == 0
    # only the months asked for are flagged
    assert compare(ind, {"A": "1"}, months=["2022-08"]).ranked.height == 0


def test_fence_flags_rank_before_trend_flags_and_ties_by_code() -> None:
    base = {"A": 3000, "B": 3000, "C": 3000, "D": 3000, "E": 3000}
    june = ind_frame(base | {"X": 9000, "W": 9000}, month="2022-06")
    past = pl.concat([ind_frame(base | {"X": 3000, "W": 3000, "T": 1000}, month=f"2022-0{m}") for m in (1, 2, 3)])
    june_t = ind_frame({"T": 2000}, month="2022-06")
    ranked = compare(pl.concat([past, june, june_t]), dict.fromkeys([*base, "X", "W", "T"], "1"), months=["2022-06"]).ranked
    # June: 2000 3000×5 9000 9000 (8 values). Q1 at 1.75 = 3000, Q3 at 5.25 = 3000 + 0.25·6000 = 4500, IQR 1500:
    # fences 750 and 6750, far 0 and 9000. W and X (9000, not above the far fence): out, score (9000 − 6750)/1500
    # = 1.5, tied: W before X by code. T (2000) lies within the fences but rose 2000/1000 − 1 = 100% on its past.
    assert ranked["code"].to_list() == ["W", "X", "T"]
    assert ranked["kind"].to_list() == ["out", "out", "trend"]
    assert ranked["score_milli"].to_list() == [1500, 1500, None]
    assert ranked["trend_rise_bp"].to_list() == [20_000, 20_000, 10_000]  # W and X also tripled on their past


# --- townships ------------------------------------------------------------------------------------------------------


def test_served_township_is_where_most_patients_live() -> None:
    rows = [
        claim("1", "p1", "A", township="博尚镇"), claim("2", "p2", "A", township="博尚镇"),
        claim("3", "p3", "A", township="邦东乡"),
        claim("4", "p4", "B", township="博尚镇"), claim("5", "p5", "B", township="邦东乡"),
    ]  # fmt: skip
    served = served_townships(frame(rows))
    a = served.filter(pl.col("fixmedins_code") == "A").row(0, named=True)
    assert (a["township"], a["from_township"], a["persons"], a["share_bp"], a["served"]) == ("博尚镇", 2, 3, 6667, True)
    b = served.filter(pl.col("fixmedins_code") == "B").row(0, named=True)
    assert (b["township"], b["share_bp"], b["served"]) == ("博尚镇", 5000, True)  # a tie: the first name (code points)


def test_township_view_uses_the_enrolled_persons() -> None:
    rows = [claim(f"{t}{i}", f"{t}p{i}", "A", township=t, inpatient=i < 2) for t in "ABCDEF" for i in range(6)]
    a = analyse(frame(rows), {"A": 1}, township_enrolled=dict.fromkeys("ABCDEF", 100))
    # each township: 2 admissions of 100 enrolled = 200 bp
    assert set(a.township_indicators.filter(pl.col("indicator") == "admission_rate")["value"].to_list()) == {200}


# --- invariants (Hypothesis) ----------------------------------------------------------------------------------------

peer_values = st.lists(st.integers(0, 20_000), min_size=5, max_size=30)


@given(peer_values)
@settings(max_examples=300, deadline=None)
def test_adding_an_institution_at_the_median_never_moves_fences_outward(values: list[int]) -> None:
    before = band(values, "bp")
    if before.median.denominator != 1:
        values = [*values, max(values)]  # an odd count: the median is one of the values
        before = band(values, "bp")
    after = band([*values, int(before.median)], "bp")
    assert after.upper <= before.upper and after.upper_far <= before.upper_far
    assert after.lower >= before.lower and after.lower_far >= before.lower_far
    assert after.median == before.median


@given(peer_values, st.integers(0, 50_000), st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)
def test_ranking_is_deterministic_and_ordered_by_score(values: list[int], planted: int, rnd: random.Random) -> None:
    named = {f"I{i:03d}": v for i, v in enumerate([*values, planted])}
    ind = ind_frame(named)
    shuffled = ind.sample(fraction=1.0, shuffle=True, seed=rnd.randrange(1 << 30))
    groups = dict.fromkeys(named, "1")
    first, second = compare(ind, groups).ranked, compare(shuffled, groups).ranked
    assert first.equals(second)
    scores = first["score_milli"].to_list()
    assert scores == sorted(scores, reverse=True)
    b = band(named.values(), "bp", DEFAULT_PARAMS)
    flagged = {c for c, v in named.items() if v > b.upper or v < b.lower}
    assert set(first["code"].to_list()) == flagged


def test_from_claims_a_planted_institution_ranks_first() -> None:
    # six township centres, each 10 admissions a month at 5,000 yuan (+ a few fen apart); P bills ten times as much
    rows = [
        claim(f"{code}{i}", f"{code}p{i}", code, inpatient=True, cost=(5_000_000 if code == "P" else 500_000) + k)
        for k, code in enumerate("ABCDEP")
        for i in range(10)
    ]
    a = analyse(frame(rows), dict.fromkeys("ABCDEP", 1), months=["2022-06"])
    top = a.institutions.ranked.row(0, named=True)
    assert (top["code"], top["indicator"], top["direction"], top["kind"]) == ("P", "cost_per_admission", "high", "far")
    # peers 500000 500001 500002 500003 500004 5000005: Q1 at 1.25 = 500001.25, Q3 at 3.75 = 500003.75, IQR 2.5
    # → the spread is the 10,000 fen floor: upper fence 500003.75 + 15000 → shown 515004
    assert (top["median"], top["upper"]) == (500_003, 515_004)  # median 500002.5 rounds half up
    assert a.summary["code"].to_list()[0] == "P"


def test_an_empty_ledger_flags_nothing() -> None:
    none = frame([])
    stays = pl.DataFrame(schema={"setl_id": pl.Utf8, "begndate": pl.Date, "enddate": pl.Date})
    lines = pl.DataFrame(schema={"setl_id": pl.Utf8, "med_list_codg": pl.Utf8, "det_item_fee_sumamt": pl.Int64})
    fees = settlement_fees(lines, {"D1": "drug"})
    a = analyse(none, {}, months=["2022-06"], stays=stays, fees=fees, township_enrolled={"博尚镇": 10})
    assert (a.indicators.height, a.institutions.ranked.height, a.summary.height, a.served.height) == (0, 0, 0, 0)
    assert a.townships.ranked.height == 0


def test_summary_per_institution() -> None:
    values = {"A": 3000, "B": 3100, "C": 3200, "D": 3300, "E": 3400, "F": 9000}
    ind = pl.concat([ind_frame(values, month=m) for m in ("2022-05", "2022-06")])
    ranked = compare(ind, dict.fromkeys(values, "1")).ranked
    row = summary(ranked).row(0, named=True)
    assert (row["code"], row["flags"], row["far"], row["months"], row["month_list"]) == ("F", 2, 2, 2, ["2022-05", "2022-06"])
    assert row["worst_milli"] == 21_000 and row["best_rank"] == 1
