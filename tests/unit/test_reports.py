"""The bureau's report tables on small hand-built frames, with the arithmetic written out."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from yibao.app.report_sources import check_period, month_period
from yibao.core.errors import InputError
from yibao.core.money import round_half_up_div
from yibao.reports.catalogue import CATALOGUE, TABLES, Report, build_reports, cell_text, column_index, title
from yibao.reports.cells import Column, fmt_bp
from yibao.reports.html import render_html, sections
from yibao.reports.people import PeopleCube
from yibao.reports.tables import (
    ALL,
    APPLIED_SCHEMA,
    INSTITUTION_SCHEMA,
    LOW_INCOME,
    PEOPLE_SCHEMA,
    Context,
    LineInfo,
    ReportMeta,
    assistance_summary,
    enrolment_rates,
    fund_balance,
    grouping_sets,
    institutions,
    monthly_spending,
    premium_subsidies,
    reimbursement_ratios,
    treatment_assistance,
    visits,
)
from yibao.reports.workbook import workbook_bytes
from yibao.rules.claims import SCHEMA, Place

CTX = Context(
    priority=("tekun", "dibao", "jiance"),
    lines={
        "inpatient": LineInfo("普通住院", "inpatient", "390"),
        "chronic": LineInfo("门诊慢特病", "chronic", "390"),
        "employee_inpatient": LineInfo("职工住院", "employee inpatient", "310"),
    },
)
AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
)


def claim(
    setl_id: str,
    psn_no: str,
    line: str,
    identity: str,
    inscp: int,
    hifp: int = 0,
    hifmi: int = 0,
    maf: int = 0,
    oth: int = 0,
    *,
    med_type: str = "21",
    day: date = date(2022, 3, 10),
    medfee: int | None = None,
    fixmedins_code: str = "H1",
) -> dict[str, Any]:
    """One settled claim; the total is the policy-range cost unless given, the patient pays the rest."""
    total = inscp if medfee is None else medfee
    funds = hifp + hifmi + maf + oth
    row: dict[str, Any] = {**dict.fromkeys(SCHEMA), **dict.fromkeys(AMOUNTS, 0)}
    row.update(
        setl_id=setl_id,
        psn_no=psn_no,
        setl_date=day,
        year=day.year,
        month=day.strftime("%Y-%m"),
        med_type=med_type,
        line=line,
        identity=identity,
        fixmedins_code=fixmedins_code,
        medfee_sumamt=total,
        fulamt_ownpay_amt=total - inscp,
        inscp_scp_amt=inscp,
        hifp_pay=hifp,
        hifmi_pay=hifmi,
        maf_pay=maf,
        oth_pay=oth,
        fund_pay_sumamt=funds,
        psn_part_amt=total - funds,
    )
    return row


def claims_frame(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA)


def person(
    psn_no: str,
    category: str,
    enrolled: bool = True,
    exempt: bool = False,
    *,
    subsidy: str | None = None,
    individual: int = 0,
    assistance: int = 0,
    fiscal: int = 0,
    township: str = "博尚镇",
) -> dict[str, Any]:
    priced = individual + assistance + fiscal
    return {
        "psn_no": psn_no,
        "county": "临翔区",
        "township": township,
        "village": "那招村",
        "category": category,
        "enrolled": enrolled,
        "exempt": exempt,
        "resident_rows": 1 if priced else 0,
        "subsidy_category": (subsidy or category) if priced else None,
        "individual": individual,
        "assistance_subsidy": assistance,
        "fiscal_subsidy": fiscal,
        "premium": priced,
    }


def people_frame(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PEOPLE_SCHEMA)


def row(df: pl.DataFrame, **keys: str) -> dict[str, Any]:
    hit = df.filter(pl.all_horizontal(pl.col(k) == v for k, v in keys.items()))
    assert hit.height == 1, (keys, hit)
    return hit.row(0, named=True)


# ---------------------------------------------------------------------------------------------
# 1. Reimbursement ratios
# ---------------------------------------------------------------------------------------------

RATIO_CLAIMS = claims_frame(
    claim("A", "P1", "inpatient", "dibao", 10_000, hifp=6_000, hifmi=1_000, maf=2_000),
    claim("B", "P2", "inpatient", "ordinary", 30_000, hifp=20_000),
    claim("C", "P1", "chronic", "dibao", 3, hifp=1, maf=1, med_type="14"),
    claim("D", "P3", "chronic", "ordinary", 20_000, hifp=1, med_type="14"),
)


def test_ratios_after_each_tier_per_line_and_identity() -> None:
    df = reimbursement_ratios(RATIO_CLAIMS, CTX)
    a = row(df, line="inpatient", identity="dibao")
    # 6000/10000 = 60.00%; (6000+1000)/10000 = 70.00%; (6000+1000+2000)/10000 = 90.00%
    assert (a["inscp_scp_amt"], a["basic_pay"], a["ci_pay"], a["assist_pay"]) == (10_000, 6_000, 7_000, 9_000)
    assert (a["basic_bp"], a["ci_bp"], a["assist_bp"]) == (6000, 7000, 9000)
    b = row(df, line="inpatient", identity="ordinary")
    # 20000/30000 = 6666.67 bp -> 6667 (half up)
    assert (b["basic_bp"], b["ci_bp"], b["assist_bp"]) == (6667, 6667, 6667)
    c = row(df, line="chronic", identity="dibao")
    # 1/3 = 3333.33 bp -> 3333; (1+0+1)/3 = 6666.67 -> 6667
    assert (c["basic_bp"], c["ci_bp"], c["assist_bp"]) == (3333, 3333, 6667)
    d = row(df, line="chronic", identity="ordinary")
    # 1/20000 = 0.5 bp exactly -> 1 (half up, not to even)
    assert d["basic_bp"] == 1
    inpatient = row(df, line="inpatient", identity=ALL)
    # 26000/40000 = 65.00%; 27000/40000 = 67.50%; 29000/40000 = 72.50%
    assert (inpatient["claims"], inpatient["inscp_scp_amt"]) == (2, 40_000)
    assert (inpatient["basic_bp"], inpatient["ci_bp"], inpatient["assist_bp"]) == (6500, 6750, 7250)
    dibao = row(df, line=ALL, identity="dibao")
    # 6001/10003 = 5999.20 -> 5999; 7001/10003 = 6999.10 -> 6999; 9002/10003 = 8999.30 -> 8999
    assert (dibao["basic_bp"], dibao["ci_bp"], dibao["assist_bp"]) == (5999, 6999, 8999)
    total = row(df, line=ALL, identity=ALL)
    # inscp 10000+30000+3+20000 = 60003; basic 26002 -> 4333.45 bp -> 4333; +hifmi 27002 -> 4500.11 -> 4500;
    # +maf 29003 -> 4833.59 -> 4834
    assert (total["claims"], total["inscp_scp_amt"], total["basic_pay"], total["ci_pay"], total["assist_pay"]) == (
        4,
        60_003,
        26_002,
        27_002,
        29_003,
    )
    assert (total["basic_bp"], total["ci_bp"], total["assist_bp"]) == (4333, 4500, 4834)
    # rows: lines in the pack's order, identities in priority order, subtotals after, the total last
    assert df.select("line", "identity").rows() == [
        ("inpatient", "dibao"),
        ("inpatient", "ordinary"),
        ("inpatient", ALL),
        ("chronic", "dibao"),
        ("chronic", "ordinary"),
        ("chronic", ALL),
        (ALL, "dibao"),
        (ALL, "ordinary"),
        (ALL, ALL),
    ]


def test_lincang_form_of_the_inpatient_ratio() -> None:
    # seed 000: 282.27m yuan reimbursed within the policy range, 84.91%; a policy-range cost of
    # 332.43m yuan gives 28,227,000,000 / 33,243,000,000 = 84.911% -> 8491 bp -> "84.91%"
    df = reimbursement_ratios(
        claims_frame(
            claim("L1", "P1", "inpatient", "ordinary", 20_000_000_000, hifp=16_000_000_000),
            claim("L2", "P2", "inpatient", "dibao", 13_243_000_000, hifp=10_000_000_000, hifmi=1_000_000_000, maf=1_227_000_000),
        ),
        CTX,
    )
    total = row(df, line="inpatient", identity=ALL)
    assert total["assist_bp"] == round_half_up_div(28_227_000_000 * 10_000, 33_243_000_000) == 8491
    assert cell_text("assist_bp", total["assist_bp"], "zh", CTX) == "84.91%"


def test_empty_period_still_has_a_total_row() -> None:
    df = reimbursement_ratios(claims_frame(), CTX)
    assert df.rows(named=True) == [
        {
            "line": ALL,
            "identity": ALL,
            "claims": 0,
            "medfee_sumamt": 0,
            "inscp_scp_amt": 0,
            "basic_pay": 0,
            "ci_pay": 0,
            "assist_pay": 0,
            "basic_bp": None,
            "ci_bp": None,
            "assist_bp": None,
        }
    ]


# ---------------------------------------------------------------------------------------------
# 2. Visits
# ---------------------------------------------------------------------------------------------


def test_admissions_visits_and_cost_per_admission() -> None:
    df = visits(
        claims_frame(
            claim("A", "P1", "inpatient", "dibao", 500_000, hifp=300_000),
            claim("B", "P1", "inpatient", "dibao", 300_001, hifp=200_000),
            claim("C", "P2", "inpatient", "ordinary", 100_000, hifp=50_000, medfee=120_000),
            claim("D", "P2", "chronic", "ordinary", 4_000, hifp=2_800, med_type="14"),
        ),
        CTX,
    )
    dibao = row(df, med_type="21", line="inpatient", identity="dibao")
    # two admissions of one person: (500000 + 300001) / 2 = 400000.5 fen -> 400001 (half up)
    assert (dibao["visits"], dibao["persons"], dibao["medfee_sumamt"], dibao["avg_cost"]) == (2, 1, 800_001, 400_001)
    inpatient = row(df, med_type="21", line=ALL, identity=ALL)
    # 3 admissions, 2 people; (500000 + 300001 + 120000) / 3 = 306667 fen; funds 550000; patients 920001 - 550000
    assert (inpatient["visits"], inpatient["persons"], inpatient["medfee_sumamt"], inpatient["avg_cost"]) == (
        3,
        2,
        920_001,
        306_667,
    )
    assert (inpatient["fund_pay_sumamt"], inpatient["psn_part_amt"]) == (550_000, 370_001)
    chronic = row(df, med_type="14", line=ALL, identity=ALL)
    assert (chronic["visits"], chronic["avg_cost"]) == (1, 4_000)
    total = row(df, med_type=ALL, line=ALL, identity=ALL)
    # persons are counted once over all types (P1, P2), not summed
    assert (total["visits"], total["persons"], total["medfee_sumamt"]) == (4, 2, 924_001)
    assert df["med_type"].to_list()[-1] == ALL and df["med_type"].to_list()[0] == "21"


# ---------------------------------------------------------------------------------------------
# 3. Enrolment
# ---------------------------------------------------------------------------------------------


def test_enrolment_rates_per_category_target_group_and_all() -> None:
    df = enrolment_rates(
        people_frame(
            person("P1", "dibao"),
            person("P2", "dibao", enrolled=False, exempt=True),
            person("P3", "ordinary"),
            person("P4", "ordinary", enrolled=False),
            person("P5", "tekun", enrolled=True, exempt=True),  # enrolled wins: not counted as exempt too
        ),
        CTX,
    )
    assert df.rows() == [
        # category, persons, enrolled, exempt, gap, enrolled 1/1, covered
        ("tekun", 1, 1, 0, 0, 10_000, 10_000),
        ("dibao", 2, 1, 1, 0, 5_000, 10_000),  # 1/2 enrolled; (1+1)/2 covered
        ("ordinary", 2, 1, 0, 1, 5_000, 5_000),
        (LOW_INCOME, 3, 2, 1, 0, 6_667, 10_000),  # tekun + dibao: 2/3 = 6666.67 -> 6667
        (ALL, 5, 3, 1, 1, 6_000, 8_000),  # 3/5; (3+1)/5
    ]


# ---------------------------------------------------------------------------------------------
# 4. Assistance
# ---------------------------------------------------------------------------------------------

# Anhui 2022: premium 320 + 580 yuan; 低保 subsidy 272 yuan of the 320, 特困 all of it
PEOPLE = people_frame(
    person("P1", "dibao", individual=4_800, assistance=27_200, fiscal=58_000),
    person("P2", "tekun", individual=0, assistance=32_000, fiscal=58_000),
    person("P3", "ordinary", individual=32_000, fiscal=58_000),
    person("P4", "ordinary", individual=32_000, fiscal=58_000),
    person("P5", "ordinary", enrolled=False),
)
ASSIST_CLAIMS = claims_frame(
    claim("A", "P1", "inpatient", "dibao", 100_000, hifp=60_000, maf=30_000),
    claim("B", "P1", "inpatient", "dibao", 50_000, hifp=30_000, maf=15_000, oth=2_000),
    claim("C", "P2", "inpatient", "tekun", 10_000, hifp=6_000, maf=3_200),
    claim("D", "P3", "inpatient", "ordinary", 10_000, hifp=6_000),
    claim("E", "P9", "employee_inpatient", "ordinary", 10_000, hifp=8_000, hifmi=500),
)


def test_premium_subsidies_by_category() -> None:
    df = premium_subsidies(PEOPLE, CTX)
    assert df.rows() == [
        # category, persons, subsidised, individual, assistance, fiscal, premium
        ("tekun", 1, 1, 0, 32_000, 58_000, 90_000),
        ("dibao", 1, 1, 4_800, 27_200, 58_000, 90_000),
        ("ordinary", 2, 0, 64_000, 0, 116_000, 180_000),
        # 4 priced (P5 is not enrolled): individual 0 + 4800 + 64000; assistance 32000 + 27200; fiscal 4 x 58000
        (ALL, 4, 2, 68_800, 59_200, 232_000, 360_000),
    ]


def test_treatment_assistance_persons_settlements_amounts() -> None:
    df = treatment_assistance(ASSIST_CLAIMS, CTX)
    dibao = row(df, identity="dibao")
    # P1: maf 30000 + 15000 on two settlements, oth 2000 on one
    assert (dibao["maf_persons"], dibao["maf_claims"], dibao["maf_pay"]) == (1, 2, 45_000)
    assert (dibao["oth_persons"], dibao["oth_claims"], dibao["oth_pay"]) == (1, 1, 2_000)
    assert (dibao["persons"], dibao["claims"], dibao["assistance_pay"]) == (1, 2, 47_000)
    total = row(df, identity=ALL)
    # P1 and P2 helped; 3 settlements with assistance; 45000 + 3200 + 2000
    assert (total["maf_persons"], total["maf_pay"], total["persons"], total["claims"], total["assistance_pay"]) == (
        2,
        48_200,
        2,
        3,
        50_200,
    )


def test_assistance_summary_counts_each_person_once() -> None:
    df = assistance_summary(ASSIST_CLAIMS, PEOPLE)
    assert df.rows() == [
        ("premium_subsidy", 2, 2, 59_200),  # P1, P2
        ("medical_assistance", 2, 3, 48_200),  # P1 twice, P2
        ("tilted_assistance", 1, 1, 2_000),  # P1
        (ALL, 2, 6, 109_400),  # P1 and P2; 2 + 3 + 1 times; 59200 + 48200 + 2000
    ]


# ---------------------------------------------------------------------------------------------
# 5. Funds and months
# ---------------------------------------------------------------------------------------------


def test_fund_income_against_spending() -> None:
    df = fund_balance(ASSIST_CLAIMS, PEOPLE, CTX)
    got = {item: (amount, ratio) for item, amount, ratio in df.rows()}
    # income: 4 premiums of 90000 = 360000 (individual 68800 + assistance 59200 + fiscal 232000)
    assert got["income_total"] == (360_000, 10_000)
    assert got["income_individual"] == (68_800, 1_911)  # 68800/360000 = 1911.1 bp
    assert got["income_assistance"] == (59_200, 1_644)  # 1644.4 bp
    assert got["income_fiscal"] == (232_000, 6_444)  # 6444.4 bp
    # resident lines only: basic 60000 + 30000 + 6000 + 6000 = 102000, critical 0 (the employee's 500 is apart)
    assert got["spend_basic"] == (102_000, 2_833)  # 2833.3 bp
    assert got["spend_critical"] == (0, 0)
    assert got["spend_pool"] == (102_000, 2_833)
    assert got["balance"] == (258_000, 7_167)  # 360000 - 102000; 7166.7 bp
    # assistance fund: premium subsidies 59200 + maf 48200 + oth 2000
    assert got["assist_total"] == (109_400, None)
    assert got["employee_pool"] == (8_500, None)


def test_assistance_on_application_is_the_assistance_fund_s_spending() -> None:
    applied = pl.DataFrame([("2022-04", 73_575), ("2022-06", -3_575)], schema=APPLIED_SCHEMA, orient="row")
    got = {item: amount for item, amount, _ in fund_balance(ASSIST_CLAIMS, PEOPLE, CTX, applied=applied).rows()}
    # 73575 paid in April, 3575 of it reversed in June: 70000; the fund in all 109400 + 70000
    assert (got["assist_application"], got["assist_total"]) == (70_000, 179_400)
    assert fund_balance(ASSIST_CLAIMS, PEOPLE, CTX).row(by_predicate=pl.col("item") == "assist_application")[1] == 0


def test_a_deficit_has_a_negative_balance_rate() -> None:
    df = fund_balance(claims_frame(claim("A", "P1", "inpatient", "ordinary", 200_000, hifp=100_001)), PEOPLE, CTX)
    got = {item: (amount, ratio) for item, amount, ratio in df.rows()}
    # 360000 - 100001 = 259999 (7222.2 bp); a deficit when spending exceeds income is shown as negative
    assert got["balance"] == (259_999, 7_222)
    df = fund_balance(claims_frame(claim("A", "P1", "inpatient", "ordinary", 500_000, hifp=400_001)), PEOPLE, CTX)
    got = {item: (amount, ratio) for item, amount, ratio in df.rows()}
    # 360000 - 400001 = -40001; -40001/360000 = -1111.1 bp -> -1111
    assert got["balance"] == (-40_001, -1_111)


def test_monthly_spending_has_every_month_of_the_period() -> None:
    df = monthly_spending(
        claims_frame(
            claim("A", "P1", "inpatient", "dibao", 10_000, hifp=6_000, maf=2_000, day=date(2022, 3, 31)),
            claim("B", "P2", "inpatient", "ordinary", 8_000, hifp=5_000, hifmi=100, oth=50, day=date(2022, 5, 1)),
        ),
        date(2022, 3, 15),
        date(2022, 5, 20),
    )
    assert df.select("month", "claims", "hifp_pay", "hifmi_pay", "assistance_pay", "fund_pay").rows() == [
        ("2022-03", 1, 6_000, 0, 2_000, 8_000),
        ("2022-04", 0, 0, 0, 0, 0),
        ("2022-05", 1, 5_000, 100, 50, 5_150),
        (ALL, 2, 11_000, 100, 2_050, 13_150),
    ]


# ---------------------------------------------------------------------------------------------
# 6. Institutions
# ---------------------------------------------------------------------------------------------


def test_institutions_admissions_cost_and_fund_share() -> None:
    names = pl.DataFrame({"fixmedins_code": ["H1", "H2"], "fixmedins_name": ["临翔区人民医院", "博尚镇中心卫生院"]})
    df = institutions(
        claims_frame(
            claim("A", "P1", "inpatient", "dibao", 100_000, hifp=70_000, fixmedins_code="H1"),
            claim("B", "P2", "inpatient", "ordinary", 50_001, hifp=30_000, fixmedins_code="H1"),
            claim("C", "P2", "chronic", "ordinary", 3_000, hifp=2_100, med_type="14", fixmedins_code="H2"),
            claim("D", "P3", "chronic", "ordinary", 1_000, hifp=700, med_type="11", fixmedins_code="H9"),
        ),
        names,
    )
    h1 = row(df, fixmedins_code="H1")
    # (100000 + 50001) / 2 = 75000.5 -> 75001 per admission; funds 100000 of 150001 = 6666.6 bp -> 6667
    assert h1["fixmedins_name"] == "临翔区人民医院"
    assert (h1["admissions"], h1["avg_admission_cost"], h1["outpatient_visits"], h1["fund_share_bp"]) == (2, 75_001, 0, 6_667)
    h2 = row(df, fixmedins_code="H2")
    assert (h2["admissions"], h2["avg_admission_cost"], h2["outpatient_visits"], h2["fund_share_bp"]) == (0, None, 1, 7_000)
    assert row(df, fixmedins_code="H9")["fixmedins_name"] is None  # not in the institution table
    total = row(df, fixmedins_code=ALL)
    # funds 70000 + 30000 + 2100 + 700 = 102800 of 100000 + 50001 + 3000 + 1000 = 154001: 6675.28 bp -> 6675
    assert (total["admissions"], total["medfee_sumamt"], total["fund_pay_sumamt"], total["fund_share_bp"]) == (
        2,
        154_001,
        102_800,
        6_675,
    )
    assert df["fixmedins_code"].to_list() == ["H1", "H2", "H9", ALL]  # most admissions first, then cost


# ---------------------------------------------------------------------------------------------
# The set, words, periods
# ---------------------------------------------------------------------------------------------


def test_build_reports_makes_every_table() -> None:
    meta = ReportMeta(date(2022, 1, 1), date(2022, 12, 31), Place(), "batch", "anhui-huaibei-2022")
    rs = build_reports(
        ASSIST_CLAIMS, PEOPLE, pl.DataFrame(schema={"fixmedins_code": pl.Utf8, "fixmedins_name": pl.Utf8}), meta, CTX
    )
    assert tuple(rs.tables()) == TABLES
    assert rs.monthly.height == 13
    with pytest.raises(KeyError):
        rs.table("nothing")


def test_cells_for_people() -> None:
    assert fmt_bp(8491) == "84.91%" and fmt_bp(10_000) == "100.00%" and fmt_bp(-1111) == "-11.11%" and fmt_bp(5) == "0.05%"
    assert cell_text("hifp_pay", 123_456_789, "zh", CTX) == "1,234,567.89"
    assert cell_text("basic_bp", None, "zh", CTX) == "—"
    assert cell_text("claims", 12345, "en", CTX) == "12,345"
    assert cell_text("identity", "dibao", "zh", CTX) == "低保对象"
    assert cell_text("identity", "dibao", "en", CTX) == "minimum living allowance"
    assert cell_text("identity", ALL, "zh", CTX) == "合计"
    assert cell_text("category", LOW_INCOME, "zh", CTX) == "农村低收入和脱贫人口"
    assert cell_text("line", "inpatient", "zh", CTX) == "普通住院"
    assert cell_text("med_type", "14", "zh", CTX) == "门诊慢特病"
    assert cell_text("item", "balance", "en", CTX) == "resident pool balance"


def test_periods() -> None:
    assert month_period("2022-05") == (date(2022, 5, 1), date(2022, 5, 31))
    assert month_period("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    with pytest.raises(InputError) as e:
        month_period("2022-13", field="--month")
    assert e.value.field == "--month"
    with pytest.raises(InputError) as e:
        check_period(date(2022, 5, 1), date(2022, 4, 30))
    assert e.value.field == "end"
    with pytest.raises(InputError) as e:
        check_period(date(2022, 5, 1), date(2023, 1, 31))
    assert e.value.field == "end" and "one year" in e.value.expected
    with pytest.raises(InputError) as e:
        check_period(date(1, 1, 1), date(1, 1, 2), "report", ("--from", "--to"))
    assert e.value.field == "--from"
    check_period(date(2022, 5, 1), date(2022, 5, 1))


# ---------------------------------------------------------------------------------------------
# Property: the parts add up to the totals, and every ratio is a share
# ---------------------------------------------------------------------------------------------


@st.composite
def settled_claims(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 40))
    rows = []
    for i in range(n):
        inscp = draw(st.integers(0, 10**9))
        left = inscp
        pays = []
        for _ in range(4):  # each payer pays part of what the earlier ones left
            pay = draw(st.integers(0, left))
            pays.append(pay)
            left -= pay
        line = draw(st.sampled_from(["inpatient", "chronic", "employee_inpatient", "two_diseases"]))
        identity = draw(st.sampled_from(["tekun", "dibao", "jiance", "ordinary", "youfu"]))
        rows.append(claim(f"C{i}", f"P{draw(st.integers(0, 9))}", line, identity, inscp, *pays))
    return claims_frame(*rows)


@pytest.mark.slow  # 150 random claim frames: in CI, not the quick command
@settings(max_examples=150, deadline=None)
@given(settled_claims())
def test_parts_sum_to_totals_and_ratios_are_shares(claims: pl.DataFrame) -> None:
    df = reimbursement_ratios(claims, CTX)
    sums = ("claims", "medfee_sumamt", "inscp_scp_amt", "basic_pay", "ci_pay", "assist_pay")
    grand = row(df, line=ALL, identity=ALL)
    for r in df.iter_rows(named=True):
        for num, bp in (("basic_pay", "basic_bp"), ("ci_pay", "ci_bp"), ("assist_pay", "assist_bp")):
            if r["inscp_scp_amt"] == 0:
                assert r[bp] is None
            else:
                assert 0 <= r[bp] <= 10_000
                assert r[bp] == round_half_up_div(r[num] * 10_000, r["inscp_scp_amt"])
        assert r["basic_bp"] is None or r["basic_bp"] <= r["ci_bp"] <= r["assist_bp"]
    for key, margin in (("line", "identity"), ("identity", "line")):
        # each line's (identity's) detail rows add up to its subtotal, and the subtotals to the total
        detail = df.filter((pl.col(key) != ALL) & (pl.col(margin) != ALL))
        subtotal = df.filter((pl.col(key) != ALL) & (pl.col(margin) == ALL))
        by_key = detail.group_by(key).agg(pl.col(sums).sum()).sort(key)
        assert by_key.equals(subtotal.select(key, *sums).sort(key))
        assert subtotal.select(pl.col(sums).sum()).row(0) == tuple(grand[s] for s in sums)
    assert grand["inscp_scp_amt"] == claims["inscp_scp_amt"].sum()
    assert grand["assist_pay"] == claims.select(pl.sum_horizontal("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay").sum()).item()


# ---------------------------------------------------------------------------------------------
# The catalogue: a report is one entry
# ---------------------------------------------------------------------------------------------


def premium_by_township(people: PeopleCube) -> pl.DataFrame:
    """A report the catalogue does not have: enrolled persons and premiums per township, and the total."""
    enrolled = people.cells.filter(pl.col("enrolled"))
    aggs = [pl.col("persons").sum(), pl.col("premium").sum()]
    df = grouping_sets(enrolled, ("township",), [("township",), ()], aggs)
    return df.sort(pl.col("township") == ALL, "township")


EXTRA = Report(
    name="premium_by_township",
    title=("各乡镇筹资", "Premiums per township"),
    note=("只计已参保人员。", "Enrolled persons only."),
    inputs=("people",),
    table=premium_by_township,
    columns=(
        Column("township", "乡镇", "township", "code"),
        Column("persons", "人数", "persons", "count"),
        Column("premium", "筹资合计（元）", "premiums (yuan)", "amount"),
    ),
)
TOWNSHIPS = people_frame(
    person("P1", "dibao", individual=4_800, assistance=27_200, fiscal=58_000, township="博尚镇"),
    person("P2", "ordinary", individual=32_000, fiscal=58_001, township="章驮乡"),
    person("P3", "ordinary", individual=32_000, fiscal=58_000, township="博尚镇"),
    person("P4", "ordinary", enrolled=False, township="章驮乡"),
)
NO_NAMES = pl.DataFrame(schema=INSTITUTION_SCHEMA)


def test_one_catalogue_entry_adds_a_report_to_the_set_the_workbook_and_the_page() -> None:
    meta = ReportMeta(date(2022, 1, 1), date(2022, 12, 31), Place(), "batch", "anhui-huaibei-2022")
    rs = build_reports(claims_frame(), TOWNSHIPS, NO_NAMES, meta, CTX, (*CATALOGUE, EXTRA))
    # the set: every catalogue report, then the new one, by name and by attribute
    assert tuple(rs) == (*TABLES, "premium_by_township")
    # 博尚镇: P1 90000 + P3 90000; 章驮乡: P2 90001 (P4 not enrolled); in all 3 persons, 270001 fen
    expected = [("博尚镇", 2, 180_000), ("章驮乡", 1, 90_001), (ALL, 3, 270_001)]
    assert rs["premium_by_township"].rows() == expected
    assert rs.premium_by_township.rows() == expected and rs.report("premium_by_township") is EXTRA

    # the workbook: its own sheet after the catalogue's, with the entry's headers, yuan and note
    book = load_workbook(io.BytesIO(workbook_bytes(rs, "zh")))
    assert book.sheetnames == ["说明", *(title(n) for n in TABLES), "各乡镇筹资"]
    sheet = [[c.value for c in r] for r in book["各乡镇筹资"].iter_rows()]
    assert sheet[0] == ["乡镇", "人数", "筹资合计（元）"]
    # Excel keeps numbers as doubles: the yuan read back exactly to their decimals
    got = [(township, persons, Decimal(str(yuan))) for township, persons, yuan in sheet[1:4]]
    assert got == [("博尚镇", 2, Decimal("1800")), ("章驮乡", 1, Decimal("900.01")), ("合计", 3, Decimal("2700.01"))]
    assert sheet[5][0] == "只计已参保人员。"
    assert book["各乡镇筹资"]["C3"].number_format == "#,##0.00"
    english = load_workbook(io.BytesIO(workbook_bytes(rs, "en")))
    assert english.sheetnames[-1] == "Premiums per township"
    assert [c.value for c in english["Premiums per township"][1]] == ["township", "persons", "premiums (yuan)"]

    # the HTML report (and the web page's sections): its title, headers, cells and note
    page = sections(rs, "zh", {})[-1]
    assert (page["name"], page["title"], page["headers"], page["note"]) == (
        "premium_by_township",
        "各乡镇筹资",
        ["乡镇", "人数", "筹资合计（元）"],
        "只计已参保人员。",
    )
    assert [[c.text for c in r["cells"]] for r in page["rows"]] == [
        ["博尚镇", "2", "1,800.00"],
        ["章驮乡", "1", "900.01"],
        ["合计", "3", "2,700.01"],
    ]
    assert '<h2 id="premium_by_township">各乡镇筹资</h2>' in render_html(rs, {}, "zh")

    # the catalogue itself is untouched: the shipped set has no such report
    shipped = build_reports(claims_frame(), TOWNSHIPS, NO_NAMES, meta, CTX)
    assert "premium_by_township" not in shipped and tuple(shipped) == TABLES
    with pytest.raises(KeyError):
        shipped.report("premium_by_township")


def test_an_entry_must_say_what_its_function_takes_and_gives() -> None:
    with pytest.raises(ValueError, match="inputs"):
        replace(EXTRA, inputs=("claims",))
    with pytest.raises(ValueError, match="terminal"):
        replace(EXTRA, terminal=("village",))
    wrong = replace(EXTRA, columns=EXTRA.columns[:2])
    meta = ReportMeta(date(2022, 1, 1), date(2022, 12, 31), Place(), "batch", None)
    with pytest.raises(ValueError, match="gave columns"):
        build_reports(claims_frame(), TOWNSHIPS, NO_NAMES, meta, CTX, (wrong,))
    # one column name, one header, whichever report has it
    other = replace(EXTRA, name="other", columns=(*EXTRA.columns[:2], Column("premium", "保费", "premium", "amount")))
    with pytest.raises(ValueError, match="premium"):
        column_index((EXTRA, other))


def test_every_catalogue_entry_builds_its_columns_in_order() -> None:
    meta = ReportMeta(date(2022, 1, 1), date(2022, 12, 31), Place(), "batch", "anhui-huaibei-2022")
    rs = build_reports(ASSIST_CLAIMS, PEOPLE, NO_NAMES, meta, CTX)
    assert tuple(r.name for r in CATALOGUE) == TABLES == tuple(rs)
    for entry in CATALOGUE:
        assert tuple(rs[entry.name].columns) == entry.names
        assert entry.title_in("zh") != entry.title_in("en") and entry.note_in("zh") and entry.note_in("en")
