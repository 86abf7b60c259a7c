"""Worked cases under the shipped Anhui/Huaibei 2022 pack, computed by hand.

The pack's numbers used below (yuan):
  basic inpatient: deductible per admission 200 / 500 / 1000 (level 1/2/3), 2nd admission
    100 / 250 / 500, 3rd+ 0; in-county ratio 100% / 91.8% / 79.56% (calibrated); cap 300,000 a year.
  乙类 self-pay first 10%.
  critical illness: deductible 15,000 a year; bands on the cumulative amount above the deductible:
    0-50,000 60.2%, 50,000-100,000 65.22%, 100,000+ 70.23% (calibrated); cap 400,000.
    Tilt for 特困/低保/返贫致贫 (seed 003): deductible -50% (7,500), every band +5 points
    (65.2% / 70.22% / 75.23%), no cap.
  assistance (seed 003): 特困 0 / 80%, 低保 0 / 75%, 返贫致贫 1,500 / 70%, 监测 3,000 / 60%;
    limit 50,000 a year.
  tilted assistance: above 10,000 a year of policy-range self-pay left, 50%, cap 20,000.

Every bill is at a hospital in the county; 甲 items are in the policy range, 乙 items pay
10% first, 丙 items are fully self-paid.

The same claims, summarised (total, 丙 as fully self-paid, 10% of 乙 as self-pay first), are the
sample in ``examples/anhui-sample/`` (people.csv, claims.csv); the last test settles that sample
and checks it gives the same amounts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from yibao.core.identities import IdentityPeriod
from yibao.interfaces.claim_csv import read_claims, read_people
from yibao.policy import load_pack
from yibao.settlement import Claim, FeeLine, Person, Settlement, YearToDate, reverse, settle_sequence

PACK = load_pack("anhui-huaibei-2022")
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "anhui-sample"


def bill(claim_id: str, psn_no: str, day: date, hosp_lv: int, jia: int, yi: int = 0, bing: int = 0) -> Claim:
    """An inpatient bill of 甲 / 乙 / 丙 amounts in fen."""
    lines = [FeeLine(f"{claim_id}-1", "JIA", jia, "01")]
    if yi:
        lines.append(FeeLine(f"{claim_id}-2", "YI", yi, "02"))
    if bing:
        lines.append(FeeLine(f"{claim_id}-3", "BING", bing, "03"))
    return Claim(claim_id, psn_no, day, "21", hosp_lv, "in_county", fee_lines=tuple(lines))


def resident(psn_no: str, *codes: str) -> Person:
    return Person(psn_no, identities=tuple(IdentityPeriod(c, date(2021, 1, 1)) for c in codes))


FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "psn_part_amt",
)


def amounts(s: Settlement) -> dict[str, int]:
    return {f: getattr(s, f) for f in FIELDS}


def expect(*values: int) -> dict[str, int]:
    return dict(zip(FIELDS, values, strict=True))


# ---------------------------------------------------------------------------------------------------
# 特困 (tekun): level-3 hospital, 甲 400,000 + 乙 100,000 + 丙 20,000 = 520,000.00
#   self-pay first 100,000 x 10% = 10,000; policy range 400,000 + 90,000 = 490,000
#   basic: (490,000 - 1,000) x 79.56% = 389,048.40 -> cap 300,000 binds: 300,000.00; left 190,000
#   critical illness (tilt): deductible 7,500; 190,000 - 7,500 = 182,500 above it:
#     50,000 x 65.2% + 50,000 x 70.22% + 82,500 x 75.23% = 32,600 + 35,110 + 62,064.75 = 129,774.75; left 60,225.25
#   assistance 特困: 60,225.25 x 80% = 48,180.20 (limit 50,000 leaves 1,819.80); left 12,045.05
#   tilted: 12,045.05 - 10,000 = 2,045.05 x 50% = 1,022.525 -> 1,022.53 (half up); left 11,022.52
#   patient: 20,000 + 10,000 + 11,022.52 = 41,022.52
TK1 = expect(52_000_000, 2_000_000, 1_000_000, 49_000_000, 100_000, 30_000_000, 12_977_475, 4_818_020, 102_253, 4_102_252)
# 特困, 2nd admission of the year, level 2, 甲 30,000.00 — everything carried from TK1:
#   basic: 2nd-admission deductible 250; (30,000 - 250) x 91.8% = 27,310.50, but the 300,000 cap is used up: 0
#   critical illness: cumulative 190,000 -> 220,000, i.e. 182,500 -> 212,500 above the deductible,
#     all in the 100,000+ band: 30,000 x 75.23% = 22,569.00 (no cap for the tilt); left 7,431
#   assistance: 7,431 x 80% = 5,944.80, limit leaves 50,000 - 48,180.20 = 1,819.80; left 5,611.20
#   tilted: cumulative 12,045.05 already past 10,000: 5,611.20 x 50% = 2,805.60 (cap leaves 18,977.47); left 2,805.60
#   patient: 2,805.60
TK2 = expect(3_000_000, 0, 0, 3_000_000, 25_000, 0, 2_256_900, 181_980, 280_560, 280_560)

# 低保 (dibao, also holds 脱贫: 低保 ranks higher): level 2, 甲 120,000 + 乙 30,000 + 丙 5,000 = 155,000.00
#   self-pay first 3,000; policy range 147,000
#   basic: (147,000 - 500) x 91.8% = 134,487.00; left 12,513
#   critical illness (tilt): (12,513 - 7,500) x 65.2% = 5,013 x 65.2% = 3,268.476 -> 3,268.48 (half up); left 9,244.52
#   assistance 低保: 9,244.52 x 75% = 6,933.39; left 2,311.13
#   tilted: 2,311.13 < 10,000: 0
#   patient: 5,000 + 3,000 + 2,311.13 = 10,311.13
DB1 = expect(15_500_000, 500_000, 300_000, 14_700_000, 50_000, 13_448_700, 326_848, 693_339, 0, 1_031_113)

# 返贫致贫 (fanpin): level 3, 甲 90,000 + 乙 20,000 + 丙 3,000 = 113,000.00
#   self-pay first 2,000; policy range 108,000
#   basic: (108,000 - 1,000) x 79.56% = 85,129.20; left 22,870.80
#   critical illness (tilt): (22,870.80 - 7,500) x 65.2% = 15,370.80 x 65.2% = 10,021.7616 -> 10,021.76; left 12,849.04
#   assistance 返贫致贫: (12,849.04 - 1,500) x 70% = 11,349.04 x 70% = 7,944.328 -> 7,944.33; left 4,904.71
#   tilted: below 10,000: 0
#   patient: 3,000 + 2,000 + 4,904.71 = 9,904.71
FP1 = expect(11_300_000, 300_000, 200_000, 10_800_000, 100_000, 8_512_920, 1_002_176, 794_433, 0, 990_471)

# 监测 (jiance, no critical-illness tilt): level 3, 甲 200,000 + 乙 40,000 + 丙 8,000 = 248,000.00
#   self-pay first 4,000; policy range 236,000
#   basic: (236,000 - 1,000) x 79.56% = 186,966.00; left 49,034
#   critical illness (ordinary): 49,034 - 15,000 = 34,034 above the deductible, all in the first band:
#     34,034 x 60.2% = 20,488.468 -> 20,488.47; left 28,545.53
#   assistance 监测: (28,545.53 - 3,000) x 60% = 25,545.53 x 60% = 15,327.318 -> 15,327.32; left 13,218.21
#   tilted: (13,218.21 - 10,000) x 50% = 1,609.105 -> 1,609.11; left 11,609.10
#   patient: 8,000 + 4,000 + 11,609.10 = 23,609.10
JC1 = expect(24_800_000, 800_000, 400_000, 23_600_000, 100_000, 18_696_600, 2_048_847, 1_532_732, 160_911, 2_360_910)

# ordinary resident: level 3, 甲 150,000 + 乙 50,000 + 丙 10,000 = 210,000.00
#   self-pay first 5,000; policy range 195,000
#   basic: (195,000 - 1,000) x 79.56% = 154,346.40; left 40,653.60
#   critical illness: 40,653.60 - 15,000 = 25,653.60, first band: x 60.2% = 15,443.4672 -> 15,443.47
#   no assistance, no tilted assistance for ordinary residents
#   patient: 210,000 - 154,346.40 - 15,443.47 = 40,210.13
PT1 = expect(21_000_000, 1_000_000, 500_000, 19_500_000, 100_000, 15_434_640, 1_544_347, 0, 0, 4_021_013)

# 返贫致贫, two admissions in a year (deductibles carried):
# FS1 level 2, 甲 20,000.00: policy range 20,000
#   basic: (20,000 - 500) x 91.8% = 17,901.00; left 2,099
#   critical illness (tilt deductible 7,500): cumulative 2,099, below it: 0
#   assistance: (2,099 - 1,500) x 70% = 599 x 70% = 419.30; left 1,679.70
#   tilted: below 10,000: 0; patient 1,679.70
FS1 = expect(2_000_000, 0, 0, 2_000_000, 50_000, 1_790_100, 0, 41_930, 0, 167_970)
# FS2 level 3, 2nd admission, 甲 60,000 + 乙 10,000 + 丙 2,000 = 72,000.00: self-pay first 1,000; range 69,000
#   basic: 2nd-admission deductible 500 (not 1,000): (69,000 - 500) x 79.56% = 54,498.60; left 14,501.40
#   critical illness: cumulative 2,099 -> 16,600.40; 0 -> 9,100.40 above the 7,500 deductible:
#     x 65.2% = 5,933.4608 -> 5,933.46 (the part of the deductible FS1 already filled is not charged again)
#     left 8,567.94
#   assistance: the 1,500 deductible was used up by FS1: 8,567.94 x 70% = 5,997.558 -> 5,997.56; left 2,570.38
#   tilted: cumulative 1,679.70 + 2,570.38 = 4,250.08 < 10,000: 0
#   patient: 2,000 + 1,000 + 2,570.38 = 5,570.38
FS2 = expect(7_200_000, 200_000, 100_000, 6_900_000, 50_000, 5_449_860, 593_346, 599_756, 0, 557_038)

EXPECTED = {"TK1": TK1, "TK2": TK2, "DB1": DB1, "FP1": FP1, "JC1": JC1, "PT1": PT1, "FS1": FS1, "FS2": FS2}

CASES = {
    # identity, person, claims (amounts in fen)
    "tekun": (resident("AH01", "tekun"), [bill("TK1", "AH01", date(2022, 2, 15), 3, 40_000_000, 10_000_000, 2_000_000)]),
    "dibao": (resident("AH02", "dibao", "tuopin"), [bill("DB1", "AH02", date(2022, 4, 12), 2, 12_000_000, 3_000_000, 500_000)]),
    "fanpin": (resident("AH03", "fanpin"), [bill("FP1", "AH03", date(2022, 5, 8), 3, 9_000_000, 2_000_000, 300_000)]),
    "jiance": (resident("AH04", "jiance"), [bill("JC1", "AH04", date(2022, 7, 19), 3, 20_000_000, 4_000_000, 800_000)]),
    "ordinary": (resident("AH05"), [bill("PT1", "AH05", date(2022, 8, 23), 3, 15_000_000, 5_000_000, 1_000_000)]),
}


@pytest.mark.parametrize("identity", list(CASES))
def test_large_inpatient_bill(identity):
    p, claims = CASES[identity]
    (s,) = settle_sequence(PACK, p, claims)
    assert s.identity == identity
    assert amounts(s) == EXPECTED[s.claim_id]
    assert s.fund_pay_sumamt + s.psn_part_amt == s.medfee_sumamt


def test_ordinary_resident_gets_no_assistance_rows():
    p, claims = CASES["ordinary"]
    (s,) = settle_sequence(PACK, p, claims)
    assert [d.fund_pay_type for d in s.setldetail] == ["390100", "390200"]


def test_tekun_two_admissions_carry_caps_and_limits():
    p = resident("AH01", "tekun")
    claims = [
        bill("TK2", "AH01", date(2022, 9, 1), 2, 3_000_000),  # given out of order: settled by date
        bill("TK1", "AH01", date(2022, 2, 15), 3, 40_000_000, 10_000_000, 2_000_000),
    ]
    s1, s2 = settle_sequence(PACK, p, claims)
    assert (s1.claim_id, s2.claim_id) == ("TK1", "TK2")
    assert amounts(s1) == TK1
    assert amounts(s2) == TK2
    # after TK1: basic 300,000 (cap reached), ci base 190,000, assistance 48,180.20 of 50,000, tilted 1,022.53
    y = s1.ytd_after
    assert (y.admissions, y.basic_paid, y.ci_base, y.ci_paid) == (1, {"basic_pool": 30_000_000}, 19_000_000, 12_977_475)
    assert (y.maf_base, y.maf_paid, y.tilt_base, y.tilt_paid) == (6_022_525, 4_818_020, 1_204_505, 102_253)
    rows = {d.fund_pay_type: d.crt_payb_lmt_amt for d in s1.setldetail}
    # left this year: basic 0; critical illness no cap (tilt); assistance 1,819.80; tilted 20,000 - 1,022.53
    assert rows == {"390100": 0, "390200": None, "610100": 181_980, "610200": 1_897_747}
    # after TK2 the assistance limit is used up
    assert s2.ytd_after.maf_paid == 5_000_000
    assert s2.ytd_after.tilt_paid == 382_813  # 1,022.53 + 2,805.60


def test_fanpin_two_admissions_carry_deductibles():
    p = resident("AH06", "fanpin")
    claims = [
        bill("FS1", "AH06", date(2022, 3, 10), 2, 2_000_000),
        bill("FS2", "AH06", date(2022, 6, 20), 3, 6_000_000, 1_000_000, 200_000),
    ]
    s1, s2 = settle_sequence(PACK, p, claims)
    assert amounts(s1) == FS1
    assert amounts(s2) == FS2
    # FS1 filled 2,099 of the 7,500 critical-illness deductible and all of the 1,500 assistance deductible
    assert (s1.ytd_after.ci_base, s1.ytd_after.maf_base) == (209_900, 209_900)
    assert s2.ytd_after.admissions == 2
    # reversing FS2 gives back exactly the accumulators after FS1
    assert reverse(s2, s2.ytd_after) == s1.ytd_after
    assert reverse(s1, s1.ytd_after) == YearToDate(2022)


def test_second_claim_settled_alone_would_differ():
    # the same FS2 bill as the year's first claim: full 1,000 level-3 deductible and the
    # critical-illness and assistance deductibles charged in full — shows the carry matters
    #   basic: (69,000 - 1,000) x 79.56% = 54,100.80; left 14,899.20
    #   critical illness: (14,899.20 - 7,500) x 65.2% = 7,399.20 x 65.2% = 4,824.2784 -> 4,824.28; left 10,074.92
    #   assistance: (10,074.92 - 1,500) x 70% = 8,574.92 x 70% = 6,002.444 -> 6,002.44; left 4,072.48
    #   tilted: below 10,000: 0; patient 2,000 + 1,000 + 4,072.48 = 7,072.48
    p = resident("AH06", "fanpin")
    (s,) = settle_sequence(PACK, p, [bill("FS2", "AH06", date(2022, 6, 20), 3, 6_000_000, 1_000_000, 200_000)])
    assert amounts(s) == expect(7_200_000, 200_000, 100_000, 6_900_000, 100_000, 5_410_080, 482_428, 600_244, 0, 707_248)


def test_sample_csv_gives_the_same_amounts():
    people = read_people(SAMPLE / "people.csv")
    claims = read_claims(SAMPLE / "claims.csv", people)
    assert {c.claim_id for c in claims} == set(EXPECTED)
    got: dict[str, Settlement] = {}
    for psn_no, p in people.items():
        for s in settle_sequence(PACK, p, [c for c in claims if c.psn_no == psn_no]):
            got[s.claim_id] = s
    assert {k: amounts(v) for k, v in got.items()} == EXPECTED
    identities = {got[k].identity for k in ("TK1", "DB1", "FP1", "JC1", "PT1")}
    assert identities == {"tekun", "dibao", "fanpin", "jiance", "ordinary"}


@pytest.mark.slow  # runs the CLI in a subprocess (the real one of ``yibao settle``, which the README does not run)
def test_cli_settle_on_the_sample_gives_the_hand_computed_amounts(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "settlements.json"
    proc = subprocess.run(
        [sys.executable, "-m", "yibao", "settle", str(SAMPLE / "claims.csv"), "-p", "anhui-huaibei-2022",
         "--people", str(SAMPLE / "people.csv"), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = {item["setlinfo"]["setl_id"]: {f: item["setlinfo"][f] for f in FIELDS} for item in json.loads(out.read_text("utf-8"))}
    assert got == EXPECTED


@pytest.mark.slow  # the whole command line imported into the process: the quick command leaves it out
def test_cli_settle_bad_row_names_file_row_field_and_writes_nothing(tmp_path):
    """In-process (tests/cli.py): the test above runs ``yibao settle`` in a subprocess."""
    from tests.cli import Ran, yibao

    claims = tmp_path / "claims.csv"
    lines = (SAMPLE / "claims.csv").read_text("utf-8").splitlines()
    lines[3] = lines[3].replace(",21,", ",21,", 1).replace(",in_county,", ",moon,", 1)
    claims.write_text("\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "out.csv"

    def run(*lang: str) -> Ran:
        people = str(SAMPLE / "people.csv")
        return yibao("settle", str(claims), "-p", "anhui-huaibei-2022", "--people", people, "-o", str(out), *lang)

    # English on request says it in English (the assertion this test always made) ...
    proc = run("--lang", "en")
    assert proc.returncode == 2
    assert "claims.csv row 4" in proc.stderr and "place" in proc.stderr and "moon" in proc.stderr
    assert not out.exists()
    # ... and the default, Chinese, says the same in Chinese (no English word in a Chinese sentence).
    proc = run()
    assert proc.returncode == 2
    assert "claims.csv 第 4 行" in proc.stderr and "place" in proc.stderr and "moon" in proc.stderr
    assert not out.exists()
