"""Money: integer fen, basis points, one half-up rounding rule, exact parsing and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.core.money import (
    BP,
    apply_ratio,
    fen_to_yuan_str,
    fmt_percent,
    fmt_yuan,
    percent_to_bp,
    round_half_up_div,
    yuan_to_fen,
)

# --- the rounding rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        (1, 2, 1),  # 0.5 -> 1 (half up; banker's rounding would give 0)
        (5, 2, 3),  # 2.5 -> 3 (banker's rounding would give 2)
        (7, 2, 4),  # 3.5 -> 4
        (4, 10, 0),  # 0.4 -> 0
        (5, 10, 1),  # 0.5 -> 1
        (6, 10, 1),  # 0.6 -> 1
        (14_999, 10_000, 1),  # 1.4999 -> 1
        (15_000, 10_000, 2),  # 1.5 -> 2
        (0, 7, 0),
        (21, 7, 3),  # exact division untouched
    ],
)
def test_round_half_up_div(num, den, expected):
    assert round_half_up_div(num, den) == expected


def test_round_half_up_div_refuses_negative_numerator_and_bad_denominator():
    with pytest.raises(ValueError):
        round_half_up_div(-1, 2)
    with pytest.raises(ValueError):
        round_half_up_div(1, 0)
    with pytest.raises(ValueError):
        round_half_up_div(1, -2)


@pytest.mark.parametrize(
    ("fen", "bp", "expected"),
    [
        (1, 5000, 1),  # 1 fen x 50% = 0.5 fen -> 1 fen (exactly .5: up)
        (3, 5000, 2),  # 1.5 fen -> 2
        (1, 4999, 0),  # 0.4999 fen -> 0
        (1, 5001, 1),  # 0.5001 fen -> 1
        (12_345, 7000, 8642),  # 123.45 x 70% = 86.415 yuan = 8641.5 fen -> 8642
        (12_343, 7000, 8640),  # 8640.1 fen -> 8640
        (1_786_875, 7500, 1_340_156),  # 17868.75 x 75% = 13401.5625 yuan -> 13401.56
        (100_000, 10_000, 100_000),  # 100 % is the amount itself
        (100_000, 0, 0),
    ],
)
def test_apply_ratio_half_up_to_the_fen(fen, bp, expected):
    assert apply_ratio(fen, bp) == expected


def test_apply_ratio_is_exact_integer_arithmetic_never_float():
    # 10**17 + 1 fen at 50% is 5 x 10**16 + 0.5 fen -> 50000000000000001 fen; a float cannot hold it
    big = 10**17 + 1
    got = apply_ratio(big, 5000)
    assert isinstance(got, int)
    assert got == 50_000_000_000_000_001
    assert int(big * 0.5 + 0.5) != got  # the float path gets this wrong
    # Python's round() is banker's rounding: round(0.5) == 0; our rule gives 1
    assert round(0.5) == 0
    assert apply_ratio(1, BP // 2) == 1


# --- parsing: exact, at most two decimals (yuan) / two decimals (percent) -----------------------


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        (1500, 150_000),
        ("1500", 150_000),
        ("12.50", 1250),
        ("12.5", 1250),
        (12.5, 1250),  # YAML gives floats for 12.5: exact with two decimals
        (0.1, 10),
        ("0.01", 1),
        (Decimal("1234.56"), 123_456),
        ("1,234.56", 123_456),
        (" 7 ", 700),
        (0, 0),
        ("-1.50", -150),
    ],
)
def test_yuan_to_fen_exact(value, fen):
    got = yuan_to_fen(value)
    assert got == fen
    assert isinstance(got, int)


@pytest.mark.parametrize("value", ["1.234", 1.234, "0.001", Decimal("12.345"), 0.1 + 0.2])
def test_yuan_to_fen_refuses_more_than_two_decimals(value):
    with pytest.raises(ValueError, match="two decimals"):
        yuan_to_fen(value)


@pytest.mark.parametrize("value", ["abc", "", "12元x", True, False, None, "nan", "inf", float("inf")])
def test_yuan_to_fen_refuses_non_amounts(value):
    with pytest.raises(ValueError):
        yuan_to_fen(value)


@pytest.mark.parametrize(
    ("value", "bp"),
    [
        (70, 7000),
        ("70", 7000),
        ("72.5", 7250),
        (72.5, 7250),
        ("60%", 6000),
        (" 60 % ".strip(), 6000),
        ("72.55", 7255),
        (0, 0),
        (100, 10_000),
        (-5, -500),  # percentage points taken off a ratio
    ],
)
def test_percent_to_bp_exact(value, bp):
    assert percent_to_bp(value) == bp


@pytest.mark.parametrize("value", ["72.555", 72.555, "0.001"])
def test_percent_to_bp_refuses_more_than_two_decimals(value):
    with pytest.raises(ValueError, match="two decimals"):
        percent_to_bp(value)


@pytest.mark.parametrize("value", ["abc", "", True, "nan", "seventy%"])
def test_percent_to_bp_refuses_non_percentages(value):
    with pytest.raises(ValueError):
        percent_to_bp(value)


# --- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text"),
    [(123_456, "1234.56"), (5, "0.05"), (0, "0.00"), (100, "1.00"), (-5, "-0.05"), (-123_456, "-1234.56")],
)
def test_fen_to_yuan_str(fen, text):
    assert fen_to_yuan_str(fen) == text
    assert yuan_to_fen(text) == fen  # round trip is exact


@pytest.mark.parametrize(
    ("fen", "text"),
    [(123_456_789, "1,234,567.89"), (123_456, "1,234.56"), (99, "0.99"), (-100, "-1.00"), (-123_456_789, "-1,234,567.89")],
)
def test_fmt_yuan(fen, text):
    assert fmt_yuan(fen) == text


@pytest.mark.parametrize(
    ("bp", "text"),
    [(7000, "70%"), (7250, "72.5%"), (7255, "72.55%"), (50, "0.5%"), (5, "0.05%"), (0, "0%"), (10_000, "100%")],
)
def test_fmt_percent(bp, text):
    assert fmt_percent(bp) == text


@pytest.mark.parametrize(("bp", "text"), [(-500, "-5%"), (-250, "-2.5%"), (-50, "-0.5%"), (-5, "-0.05%")])
def test_fmt_percent_negative_points(bp, text):
    # identity adjustments may take points off a ratio: -2.5 points must read "-2.5%", not "-3.5%"
    assert fmt_percent(bp) == text


# --- a comma in an amount: a thousands separator in groups of three, or refused --------------------


@pytest.mark.parametrize("value", ["1,25", "12,5", "1,2345", ",125", "1,,250", "1,250,", "1,25.00", "1.250,00", "12,34,567"])
def test_a_comma_that_is_no_thousands_separator_is_refused(value):
    """``"1,25"`` is not 125 yuan: a comma that could be a decimal comma is refused, never dropped."""
    with pytest.raises(ValueError, match="comma"):
        yuan_to_fen(value)


@pytest.mark.parametrize("value", ["1,25", "1,234.56", "1,250"])
def test_no_comma_at_all_where_machines_send_amounts(value):
    with pytest.raises(ValueError, match="comma"):
        yuan_to_fen(value, thousands=False)


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_every_amount_as_people_read_it_parses_back(fen):
    """What :func:`fmt_yuan` shows (``1,234.56``) is read back exactly; without commas too."""
    assert yuan_to_fen(fmt_yuan(fen)) == fen
    assert yuan_to_fen(fen_to_yuan_str(fen), thousands=False) == fen


@given(st.from_regex(r"[0-9]{1,6}(,[0-9]{1,6})+(\.[0-9]{1,2})?", fullmatch=True))
def test_a_comma_is_read_only_between_groups_of_three(text):
    grouped = all(len(g) == 3 for g in text.split(".")[0].split(",")[1:]) and len(text.split(",")[0]) <= 3
    if grouped and Decimal(text.replace(",", "")) >= 10**12:  # read as grouped, then refused as too large
        for written in (text, text.replace(",", "")):
            with pytest.raises(ValueError, match="below"):
                yuan_to_fen(written)
    elif grouped:
        assert yuan_to_fen(text) == yuan_to_fen(text.replace(",", ""))
    else:
        with pytest.raises(ValueError, match="comma"):
            yuan_to_fen(text)
