"""The shipped policy packs: they load, carry the seeds' figures, say where every number
comes from, and settle a representative claim to amounts worked out by hand.

Expected amounts below are computed by hand from the pack's numbers (the arithmetic is in
the comments), never copied from the code's output. Amounts are fen, ratios basis points.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from yibao.core.identities import IdentityPeriod
from yibao.policy import load_pack, shipped_packs
from yibao.settlement import Claim, FeeLine, Person, PolicyRangeSummary, settle, settle_sequence
from yibao.settlement.model import ChronicFiling

SHIPPED = shipped_packs()
"""Every pack file on disk (no list of names here: a pack added is checked like the others)."""
SEED_FILES = {
    "000_59df2c253f8c491e.txt",
    "001_3cab4d9ab5dc7be3.txt",
    "002_3ab2c641ca26771d.txt",
    "003_b5d4c3d7e49b1282.txt",
    "004_60fae79f9870452a.txt",
}
SEED_NAME = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


def yuan(text: str) -> int:
    """'271.40' -> 27140 fen (exact, for readable expectations)."""
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int((part + "00")[:2])


def fee(sn: str, lv: str, amount: str, code: str = "") -> FeeLine:
    return FeeLine(feedetl_sn=sn, med_list_codg=code or f"ITEM{sn}", det_item_fee_sumamt=yuan(amount), chrgitm_lv=lv)


def who(psn_no: str, *categories: str, **kw: object) -> Person:
    ids = tuple(IdentityPeriod(c, date(2019, 1, 1)) for c in categories)
    return Person(psn_no=psn_no, identities=ids, **kw)  # type: ignore[arg-type]


def parts(s: object) -> tuple[int, int, int, int, int]:
    return (s.hifp_pay, s.hifmi_pay, s.maf_pay, s.oth_pay, s.psn_part_amt)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- loading


def test_every_shipped_pack_loads() -> None:
    assert SHIPPED
    for name in SHIPPED:
        pack = load_pack(name)
        assert pack.pack_id == name
        assert pack.at(pack.valid_from) is not None


@pytest.mark.parametrize("name", SHIPPED)
def test_every_leaf_says_where_it_comes_from(name: str) -> None:
    pack = load_pack(name)
    assert pack.leaves
    for path, leaf in pack.leaves.items():
        for v in leaf.values:
            assert (v.source is None) != (v.assumed is None), path
            text = v.source if v.source is not None else v.assumed
            assert isinstance(text, str) and text.strip(), path
            for seed in SEED_NAME.findall(text):
                assert seed in SEED_FILES, (path, seed)
            if pack.valid_to is not None:
                assert v.start <= pack.valid_to, path


@pytest.mark.parametrize("name", SHIPPED)
def test_packs_cite_their_seed(name: str) -> None:
    pack = load_pack(name)
    sourced = [v.source for leaf in pack.leaves.values() for v in leaf.values if v.source]
    cited = {seed for text in sourced for seed in SEED_NAME.findall(text)}
    if not sourced:
        # a seed that gives no benefit figure (seed 004, Zibo): every number is assumed, and the notes say so
        assert "gives no benefit figures" in pack.notes.lower()
    else:
        assert cited and cited <= SEED_FILES, cited


def test_the_seeds_packs_cite_their_own_seed() -> None:
    seeds = {
        "yunnan-lincang-2023": "000_59df2c253f8c491e.txt",
        "hainan-2023": "001_3cab4d9ab5dc7be3.txt",
        "chongqing-jiangjin-2023": "002_3ab2c641ca26771d.txt",
        "anhui-huaibei-2022": "003_b5d4c3d7e49b1282.txt",
    }
    for name, seed in seeds.items():
        pack = load_pack(name)
        assert any(seed in (v.source or "") for leaf in pack.leaves.values() for v in leaf.values), name


# --------------------------------------------------------------------------- seed figures


def test_lincang_monitoring_from_seed_000() -> None:
    policy = load_pack("yunnan-lincang-2023").at(date(2023, 6, 1))
    assert policy.monitoring is not None
    rule = policy.monitoring.rules["lincang_7000"]
    assert policy.monitoring.threshold("lincang_7000") == 700_000  # 7000 yuan
    assert (rule.kind, rule.measure, rule.scope, rule.lines) == ("warning", "policy_range_self_pay", "year", ("inpatient",))
    # 农村低收入人口 (特困, 低保, 低保边缘, 监测, 返贫致贫) and 稳定脱贫人口
    assert set(rule.categories) == {"tekun", "dibao", "dibao_edge", "jiance", "tuopin", "fanpin"}
    assert set(rule.push_to) == {"rural_revitalisation", "civil_affairs"}
    # the candidate line is half of the (assumed) 15000-yuan per-capita income
    assert policy.monitoring.threshold("catastrophic_ordinary") == 750_000
    assert policy.lines["chronic"].requires_filing
    assert policy.lines["chronic_two_diseases"].fallback == "two_diseases"


@pytest.mark.parametrize(
    ("name", "rule", "seed", "quote", "threshold"),
    [
        # seed 001 gives no line: half of the assumed 19,000-yuan income = 9,500 yuan
        ("hainan-2023", "hainan_high_cost", "001_3cab4d9ab5dc7be3.txt", "高額醫療費用負擔患者預警監測", 950_000),
        # seed 002 gives no line: the assumed 10,000 yuan (the tilted-assistance threshold)
        ("chongqing-jiangjin-2023", "jiangjin_return_risk", "002_3ab2c641ca26771d.txt", "防范化解因病返贫致贫长效机制", 10**6),
    ],
)
def test_hainan_and_jiangjin_warn_as_their_seeds_ask(name: str, rule: str, seed: str, quote: str, threshold: int) -> None:
    pack = load_pack(name)
    day = date(2023, 6, 1)
    mon = pack.at(day).monitoring
    assert mon is not None
    r = mon.rules[rule]
    assert (r.kind, r.measure, r.scope, r.period) == ("warning", "policy_range_self_pay", "year", "month")
    # rural low-income people and 脱贫人口, pushed to the bureaus that confirm the risk
    assert set(r.categories) == {"tekun", "dibao", "dibao_edge", "jiance", "fanpin", "tuopin"}
    assert set(r.push_to) == {"rural_revitalisation", "civil_affairs"}
    assert mon.threshold(rule) == threshold
    who = pack.provenance(("monitoring", "rules", rule, "categories"), day)
    assert who is not None and who.source is not None and seed in who.source and quote in who.source
    line = "threshold_income_share" if r.threshold is None else "threshold"
    assumed = pack.provenance(("monitoring", "rules", rule, line), day)
    assert assumed is not None and assumed.assumed is not None


def test_hainan_premium_from_seed_001_and_dated_2024() -> None:
    pack = load_pack("hainan-2023")
    p2023 = pack.at(date(2023, 6, 1)).premium
    assert p2023 is not None
    assert (p2023.individual, p2023.fiscal) == (38_000, 64_000)
    assert p2023.individual + p2023.fiscal == 102_000  # 1020 yuan
    p2024 = pack.at(date(2024, 6, 1)).premium
    assert p2024 is not None
    assert (p2024.individual, p2024.fiscal) == (40_000, 67_000)
    assert pack.change_dates() == [date(2023, 1, 1), date(2024, 1, 1)]
    v2023 = pack.provenance(("premium", "individual"), date(2023, 6, 1))
    v2024 = pack.provenance(("premium", "individual"), date(2024, 6, 1))
    assert v2023 is not None and (v2023.source or "").startswith("001_3cab4d9ab5dc7be3.txt")
    assert v2024 is not None and v2024.assumed


def test_jiangjin_employee_outpatient_from_seed_002() -> None:
    policy = load_pack("chongqing-jiangjin-2023").at(date(2023, 6, 1))
    on = policy.lines["emp_outpatient_in_service"]
    off = policy.lines["emp_outpatient_retired"]
    assert (on.insutype, on.emp_status, on.deductible_kind) == ("310", "in_service", "year")
    assert (off.insutype, off.emp_status, off.deductible_kind) == ("310", "retired", "year")
    assert on.deductible == {1: 20_000, 2: 20_000, 3: 20_000}
    assert off.deductible == {1: 10_000, 2: 10_000, 3: 10_000}
    for place in ("in_county", "out_of_county", "cross_filed", "cross_unfiled"):
        assert on.ratio[place] == {1: 6_000, 2: 6_000, 3: 5_000}
        assert off.ratio[place] == {1: 7_000, 2: 7_000, 3: 6_000}
    assert on.cap_by_tier == {"unit": 300_000, "individual_2": 300_000, "individual_1": 80_000}
    assert off.cap_by_tier == {"unit": 400_000, "individual_2": 400_000, "individual_1": 120_000}
    # one person, two states: one yearly deductible and one yearly limit
    assert on.deductible_group == off.deductible_group
    assert on.cap_group == off.cap_group
    assert policy.lines["two_diseases"].full_pay_items
    assert policy.lines["emp_inpatient"].med_types == ("21",)


def test_zibo_poverty_rules_are_expressed() -> None:
    policy = load_pack("shandong-zibo-2020").at(date(2020, 6, 1))
    assert "pinkun" in policy.identity_priority
    ov = policy.lines["inpatient"].identity_overrides["pinkun"]
    assert (ov.deductible_pct, ov.ratio_add) == (5_000, 500)
    assert policy.critical_illness is not None and policy.critical_illness.tilt is not None
    tilt = policy.critical_illness.tilt
    assert tilt.categories == ("pinkun",)
    assert (tilt.deductible_pct, tilt.ratio_add, tilt.no_cap) == (5_000, 500, True)
    assert policy.assistance is not None and "pinkun" in policy.assistance.categories
    pack = load_pack("shandong-zibo-2020")
    for gap in ("人头定额", "医疗机构减免", "扶贫特惠保险"):
        assert gap in pack.notes


# --------------------------------------------------------------------------- settlement


def test_lincang_dibao_inpatient_three_tiers() -> None:
    pack = load_pack("yunnan-lincang-2023")
    person = who("LC1", "dibao")
    claim = Claim(
        "LC-1",
        "LC1",
        date(2023, 4, 10),
        "21",
        2,
        "in_county",
        "K35.800",
        fee_lines=(fee("1", "01", "110000.00"), fee("2", "02", "30000.00"), fee("3", "03", "2000.00")),
    )
    s = settle(pack, person, None, claim)
    # total 142000; 丙类 2000 fully self-paid; 乙类 10% first: 3000; policy range 110000 + 27000 = 137000
    assert (s.medfee_sumamt, s.fulamt_ownpay_amt, s.preselfpay_amt, s.inscp_scp_amt) == (
        yuan("142000"),
        yuan("2000"),
        yuan("3000"),
        yuan("137000"),
    )
    # basic: level-2 deductible 400, 95% in county (calibrated): (137000 - 400) x 95% = 129770.00
    # left 137000 - 129770.00 = 7230.00
    # critical illness, 低保 tilt: deductible 10000 x 50% = 5000, 60% + 5 = 65%:
    # (7230.00 - 5000) x 65% = 1449.50; left 7230.00 - 1449.50 = 5780.50
    # assistance 低保: no deductible, 70%: 5780.50 x 70% = 4046.35; left 1734.15
    # tilted assistance: 1734.15 is below the 7000 threshold: 0
    # patient: 142000 - 129770.00 - 1449.50 - 4046.35 = 6734.15 (= 2000 + 3000 + 1734.15)
    assert parts(s) == (yuan("129770.00"), yuan("1449.50"), yuan("4046.35"), 0, yuan("6734.15"))
    assert s.act_pay_dedc == yuan("400")


def test_lincang_two_disease_chronic_without_filing_falls_back_to_two_disease_line() -> None:
    pack = load_pack("yunnan-lincang-2023")
    claim = Claim("LC-2", "LC2", date(2023, 4, 10), "14", 1, dise_codg="I10.x00", fee_lines=(fee("1", "01", "100.00"),))
    s = settle(pack, who("LC2", "tuopin"), None, claim)
    # no filing for I10: the seed sends these people to the 两病 drug line: 100 x 50% = 50
    assert s.line == "two_diseases"
    assert parts(s) == (yuan("50"), 0, 0, 0, yuan("50"))
    filed = who("LC2", "tuopin", chronic_filings=(ChronicFiling("I10", date(2023, 1, 1)),))
    s = settle(pack, filed, None, claim)
    # with a filing: the chronic line, level 1 in county 95% (calibrated): 100 x 95% = 95; the patient 5
    assert s.line == "chronic_two_diseases"
    assert parts(s) == (yuan("95"), 0, 0, 0, yuan("5"))


def test_hainan_ordinary_inpatient_gross_bands() -> None:
    pack = load_pack("hainan-2023")
    claim = Claim(
        "HN-1",
        "HN1",
        date(2023, 8, 1),
        "21",
        3,
        "in_county",
        "C34.900",
        summary=PolicyRangeSummary(yuan("150000"), fulamt_ownpay_amt=yuan("10000"), preselfpay_amt=yuan("5000")),
    )
    s = settle(pack, who("HN1"), None, claim)
    # policy range 150000 - 10000 - 5000 = 135000
    # basic: level-3 deductible 800, 70%: (135000 - 800) x 70% = 93940; left 41060
    # critical illness (gross bands): deductible 12000, 60% up to 10万 cumulative: (41060 - 12000) x 60% = 17436
    # ordinary resident: no assistance; patient 150000 - 93940 - 17436 = 38624 (= 10000 + 5000 + 23624)
    assert s.inscp_scp_amt == yuan("135000")
    assert parts(s) == (yuan("93940"), yuan("17436"), 0, 0, yuan("38624"))


def test_hainan_pack_settles_in_2024_too() -> None:
    pack = load_pack("hainan-2023")
    claim = Claim("HN-2", "HN2", date(2024, 3, 1), "11", 1, fee_lines=(fee("1", "01", "100.00"),))
    s = settle(pack, who("HN2"), None, claim)
    # general outpatient, level 1: no deductible, 50%: 100 x 50% = 50
    assert parts(s) == (yuan("50"), 0, 0, 0, yuan("50"))


# Seed 002's worked example: an employee spent 464.9 yuan at the district TCM hospital and
# got 271.4 back, paying 193.5. Which rule makes that true?
#   - at 50% (in service, level 3) even the whole bill gives only 464.90 x 50% = 232.45 < 271.4;
#   - with the yearly deductible still due: (x - 200) x 60% = 271.4 needs x = 652.33 > 464.9,
#     (x - 100) x 70% = 271.4 needs x = 487.71 > 464.9; impossible;
#   - with the deductible already met this year at 60%: x x 60% = 271.4 gives x = 452.33
#     (45233 x 0.6 = 27139.8 -> 27140 fen); the other 12.57 yuan is outside the policy range.
# So the slip is reproduced by an in-service employee at a level-2 hospital (or a retired one at
# level 3, also 60%) who met the deductible earlier in the year, with 452.33 of policy-range
# cost and 12.57 of fully self-paid items. Reproduced exactly under those assumptions.
@pytest.mark.parametrize(("status", "level", "first_visit"), [("in_service", 2, "200.00"), ("retired", 3, "100.00")])
def test_jiangjin_seed_worked_example(status: str, level: int, first_visit: str) -> None:
    pack = load_pack("chongqing-jiangjin-2023")
    person = Person("JJ1", insutype="310", emp_status=status, emp_tier="unit")  # type: ignore[arg-type]
    earlier = Claim("JJ-0", "JJ1", date(2023, 3, 1), "11", level, fee_lines=(fee("1", "01", first_visit),))
    example = Claim(
        "JJ-1",
        "JJ1",
        date(2023, 5, 10),
        "11",
        level,
        dise_codg="M51.202",
        fee_lines=(fee("1", "01", "452.33"), fee("2", "03", "12.57")),
    )
    first, second = settle_sequence(pack, person, [earlier, example])
    # earlier visit: exactly the yearly deductible, nothing paid
    assert first.hifp_pay == 0 and first.act_pay_dedc == yuan(first_visit)
    # example: 464.90 total, 452.33 policy range, deductible met, 60%: 452.33 x 60% = 271.398 -> 271.40
    assert second.medfee_sumamt == yuan("464.90")
    assert second.act_pay_dedc == 0
    assert second.hifp_pay == yuan("271.40")
    assert second.psn_part_amt == yuan("193.50")  # 464.90 - 271.40, as the seed says
    assert second.setldetail[0].fund_pay_type == "310100"


def test_jiangjin_retiring_mid_year_shares_deductible_and_limit() -> None:
    pack = load_pack("chongqing-jiangjin-2023")
    working = Person("JJ2", insutype="310", emp_status="in_service", emp_tier="individual_1")
    a = settle(pack, working, None, Claim("JJ-2a", "JJ2", date(2023, 2, 1), "11", 1, fee_lines=(fee("1", "01", "2000.00"),)))
    # in service, tier 1: (2000 - 200) x 60% = 1080, limited to 800
    assert a.hifp_pay == yuan("800") and a.act_pay_dedc == yuan("200")
    retired = Person("JJ2", insutype="310", emp_status="retired", emp_tier="individual_1")
    later = Claim("JJ-2b", "JJ2", date(2023, 9, 1), "11", 1, fee_lines=(fee("1", "01", "1000.00"),))
    b = settle(pack, retired, a.ytd_after, later)
    # retired: deductible group already holds 2000 >= 100, so no deductible; 1000 x 70% = 700,
    # but the shared yearly limit leaves 1200 - 800 = 400
    assert b.act_pay_dedc == 0
    assert b.hifp_pay == yuan("400")
    assert b.psn_part_amt == yuan("600")


def test_jiangjin_two_disease_listed_class_a_drug_paid_in_full() -> None:
    pack = load_pack("chongqing-jiangjin-2023")
    listed = pack.at(date(2023, 12, 20)).lines["two_diseases"].full_pay_items[0]
    claim = Claim(
        "JJ-3",
        "JJ3",
        date(2023, 12, 20),
        "11",
        1,
        dise_codg="I10.x00",
        fee_lines=(fee("1", "01", "35.00", listed), fee("2", "02", "20.00", "XC09CAX999A001010100001")),
    )
    s = settle(pack, who("JJ3", insutype="390"), None, claim)
    # listed 甲类 drug 35.00 paid in full; unlisted 乙类 20.00: 10% first (2.00), 18.00 at 50% = 9.00
    # basic 35 + 9 = 44; patient 55 - 44 = 11 (= 2 + 9)
    assert s.line == "two_diseases"
    assert s.preselfpay_amt == yuan("2")
    assert parts(s) == (yuan("44"), 0, 0, 0, yuan("11"))


def test_jiangjin_dibao_inpatient_reaches_tilted_assistance() -> None:
    pack = load_pack("chongqing-jiangjin-2023")
    claim = Claim(
        "JJ-4",
        "JJ4",
        date(2023, 7, 1),
        "21",
        3,
        "in_county",
        "C16.900",
        summary=PolicyRangeSummary(yuan("300000"), fulamt_ownpay_amt=yuan("10000"), preselfpay_amt=yuan("10000")),
    )
    s = settle(pack, who("JJ4", "dibao"), None, claim)
    # policy range 300000 - 10000 - 10000 = 280000
    # basic: level-3 deductible 800, 50%: (280000 - 800) x 50% = 139600, capped at 120000; left 160000
    # critical illness, 低保 tilt: deductible 15000 x 50% = 7500; 152500 above it;
    #   0-10万 at 60+5 = 65%: 65000; 10万-15.25万 at 65+5 = 70%: 52500 x 70% = 36750; total 101750, no cap
    # left 160000 - 101750 = 58250; assistance 低保 70%: 40775; left 17475
    # tilted assistance: (17475 - 10000) x 50% = 3737.50 (cap 20000)
    # patient 300000 - 120000 - 101750 - 40775 - 3737.50 = 33737.50 (= 10000 + 10000 + 13737.50)
    assert parts(s) == (yuan("120000"), yuan("101750"), yuan("40775"), yuan("3737.50"), yuan("33737.50"))


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        # pinkun: deductible 500 x 50% = 250, ratio 75 + 5 = 80%: (78000 - 250) x 80% = 62200; left 15800
        #   critical illness tilt: deductible 12000 x 50% = 6000, 60 + 5 = 65%: (15800 - 6000) x 65% = 6370; left 9430
        #   assistance 建档立卡: no deductible, 70%: 6601; patient 83000 - 62200 - 6370 - 6601 = 7829
        ("pinkun", ("62200", "6370", "6601", "0", "7829")),
        # ordinary: deductible 500, 75%: (78000 - 500) x 75% = 58125; left 19875
        #   critical illness: (19875 - 12000) x 60% = 4725; no assistance; patient 83000 - 58125 - 4725 = 20150
        ("ordinary", ("58125", "4725", "0", "0", "20150")),
    ],
)
def test_zibo_poverty_inpatient(identity: str, expected: tuple[str, ...]) -> None:
    pack = load_pack("shandong-zibo-2020")
    person = who("ZB1", identity) if identity != "ordinary" else who("ZB1")
    claim = Claim(
        "ZB-1",
        "ZB1",
        date(2020, 6, 15),
        "21",
        2,
        "in_county",
        "I63.900",
        fee_lines=(fee("1", "01", "60000.00"), fee("2", "02", "20000.00"), fee("3", "03", "3000.00")),
    )
    s = settle(pack, person, None, claim)
    # total 83000; 丙类 3000; 乙类 10% first: 2000; policy range 60000 + 18000 = 78000
    assert (s.medfee_sumamt, s.fulamt_ownpay_amt, s.preselfpay_amt, s.inscp_scp_amt) == (
        yuan("83000"),
        yuan("3000"),
        yuan("2000"),
        yuan("78000"),
    )
    assert s.identity == identity
    assert parts(s) == tuple(yuan(x) for x in expected)
