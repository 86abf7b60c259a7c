"""The premium split (分类资助参保): who pays what of a resident's premium.

Expected amounts are worked out by hand from the pack numbers (arithmetic in the comments),
never copied from the code's output. Amounts are fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from yibao.core.errors import InputErrors
from yibao.core.money import fen_to_yuan_str
from yibao.policy import load_pack, shipped_packs
from yibao.policy.pack import PACKS_DIR, pack_from_mapping
from yibao.policy.premium import Split, premium_split, unranked_subsidies
from yibao.policy.schema import Premium

SEED_003 = "003_b5d4c3d7e49b1282.txt"


def anhui() -> Premium:
    premium = load_pack("anhui-huaibei-2022").at(date(2022, 1, 1)).premium
    assert premium is not None
    return premium


def hainan(day: date) -> Premium:
    premium = load_pack("hainan-2023").at(day).premium
    assert premium is not None
    return premium


def parts(s: Split) -> tuple[int, int, int, int]:
    return (s.individual, s.assistance, s.fiscal, s.total)


# --------------------------------------------------------------------------- Anhui 2022 (seed 003)


def test_tekun_contribution_paid_in_full_by_assistance() -> None:
    # 特困 100%: individual 320 -> assistance 320, person 0; fiscal 580; premium 320 + 580 = 900
    assert parts(premium_split(anhui(), "tekun")) == (0, 32_000, 58_000, 90_000)


def test_dibao_fixed_amount() -> None:
    # 低保 fixed 272 (85% of 320, assumed inside the seed's 80-90%): person 320 - 272 = 48
    assert parts(premium_split(anhui(), "dibao")) == (4_800, 27_200, 58_000, 90_000)


def test_fanpin_fixed_amount() -> None:
    # 返贫致贫 fixed 240 (75% of 320, assumed inside 70-80%): person 320 - 240 = 80
    assert parts(premium_split(anhui(), "fanpin")) == (8_000, 24_000, 58_000, 90_000)


def test_jiance_half_of_the_contribution() -> None:
    # 监测 50%: 320 x 50% = 160 from assistance, 160 from the person
    assert parts(premium_split(anhui(), "jiance")) == (16_000, 16_000, 58_000, 90_000)


@pytest.mark.parametrize("category", ["tuopin", "dibao_edge", "ordinary", None])
def test_stable_tuopin_and_ordinary_residents_get_no_subsidy(category: str | None) -> None:
    # stable 脱贫 leave the subsidy (seed 003); the person pays all 320, fiscal 580 as for everyone
    split = premium_split(anhui(), category)
    assert parts(split) == (32_000, 0, 58_000, 90_000)
    assert split.category == (category or "ordinary")
    assert not split.subsidised


def test_anhui_subsidies_carry_the_seed_and_assumed_amounts_stay_in_its_ranges() -> None:
    pack = load_pack("anhui-huaibei-2022")
    day = date(2022, 1, 1)
    for cat in ("tekun", "jiance"):
        prov = pack.provenance(("premium", "subsidies", cat, "share"), day)
        assert prov is not None and prov.source is not None and SEED_003 in prov.source
    premium = anhui()
    dibao, fanpin = premium.subsidies["dibao"].amount, premium.subsidies["fanpin"].amount
    assert dibao is not None and fanpin is not None
    # 80%-90% of 320 = 256..288; 70%-80% of 320 = 224..256
    assert 25_600 <= dibao <= 28_800
    assert 22_400 <= fanpin <= 25_600
    for cat in ("dibao", "fanpin"):
        prov = pack.provenance(("premium", "subsidies", cat, "amount"), day)
        assert prov is not None and prov.assumed is not None
    assert "tuopin" not in premium.subsidies


def test_cutoff_is_in_the_year_before_the_covered_year() -> None:
    # 当年缴费，次年享受: identities on 1 September 2021 decide the 2022 premium
    assert anhui().cutoff_date(2022) == date(2021, 9, 1)


# --------------------------------------------------------------------------- Hainan (seed 001)


def test_hainan_2023_premium_1020_is_380_plus_640() -> None:
    split = premium_split(hainan(date(2023, 1, 1)), "ordinary")
    assert parts(split) == (38_000, 0, 64_000, 102_000)


def test_hainan_shares_follow_the_dated_contribution() -> None:
    # 2023: 低保 85% of 380 = 323 -> person 57; 返贫致贫 75% of 380 = 285 -> person 95
    assert parts(premium_split(hainan(date(2023, 1, 1)), "dibao")) == (5_700, 32_300, 64_000, 102_000)
    assert parts(premium_split(hainan(date(2023, 1, 1)), "fanpin")) == (9_500, 28_500, 64_000, 102_000)
    # 2024 (assumed national standard 400 + 670): 低保 85% of 400 = 340 -> person 60
    assert parts(premium_split(hainan(date(2024, 1, 1)), "dibao")) == (6_000, 34_000, 67_000, 107_000)


# --------------------------------------------------------------------------- Lincang (seed 000)


def lincang() -> Premium:
    premium = load_pack("yunnan-lincang-2023").at(date(2023, 1, 1)).premium
    assert premium is not None
    return premium


def test_lincang_subsidises_tuopin_as_seed_000_says() -> None:
    # seed 000: 脱贫人口 get 个人缴费补助; the pack's assumed fixed 60 of the 380 contribution: person 320
    split = premium_split(lincang(), "tuopin")
    assert parts(split) == (32_000, 6_000, 64_000, 102_000)
    assert split.subsidised
    assert parts(premium_split(lincang(), "ordinary")) == (38_000, 0, 64_000, 102_000)


def test_lincang_average_subsidy_near_the_seeds_142_yuan() -> None:
    # seed 000: 6129.83万 yuan for 43.06万 people = 142.35 yuan a head. Its monitored people: 36.73万 脱贫,
    # 3.83万 三类人员 (监测), 15.05万 低保 and 特困 (counted here at the lower 低保 amount, 85% of 380 = 323).
    # (15.05 x 323 + 3.83 x 190 + 36.73 x 60) / 55.61 = (4861.15 + 727.70 + 2203.80) / 55.61 = 140.13 yuan
    people = {"dibao": 1505, "jiance": 383, "tuopin": 3673}  # hundreds of people
    paid = {cat: premium_split(lincang(), cat).assistance for cat in people}
    assert paid == {"dibao": 32_300, "jiance": 19_000, "tuopin": 6_000}
    average = sum(paid[c] * n for c, n in people.items()) / sum(people.values())
    assert abs(average - 14_235) < 0.02 * 14_235  # within 2% of 142.35 yuan
    prov = load_pack("yunnan-lincang-2023").provenance(("premium", "subsidies", "tuopin", "amount"), date(2023, 1, 1))
    assert prov is not None and prov.assumed is not None and "142" in prov.assumed


# --------------------------------------------------------------------------- rules of the model


def premium(individual: str, fiscal: str = "580", **subsidies: dict[str, str]) -> Premium:
    return Premium.model_validate({"individual": individual, "fiscal": fiscal, "cutoff": "09-01", "subsidies": subsidies})


def test_share_is_rounded_half_up_to_the_fen() -> None:
    # 1.01 yuan x 50% = 50.5 fen -> 51 fen (half up); the person pays the rest, 50 fen
    assert parts(premium_split(premium("1.01", "0", jiance={"share": "50"}), "jiance")) == (50, 51, 0, 101)
    # 320 x 33.33% = 106.656 yuan = 10665.6 fen -> 10666; person 32000 - 10666 = 21334
    assert premium_split(premium("320", jiance={"share": "33.33"}), "jiance").assistance == 10_666


def test_subsidy_names_accept_chinese_category_names() -> None:
    p = premium("320", 特困={"share": "100"}, 低保={"amount": "272"})
    assert set(p.subsidies) == {"tekun", "dibao"}


def test_a_subsidy_gives_exactly_one_of_share_or_amount() -> None:
    with pytest.raises(ValidationError, match="exactly one of share"):
        premium("320", dibao={"share": "85", "amount": "272"})
    with pytest.raises(ValidationError, match="exactly one of share"):
        premium("320", dibao={})


def test_a_fixed_subsidy_cannot_exceed_the_individual_contribution() -> None:
    with pytest.raises(ValidationError, match="more than the individual contribution"):
        premium("320", dibao={"amount": "320.01"})


@pytest.mark.parametrize("bad", ["02-29", "13-01", "9/1", "", "0901"])
def test_cutoff_must_be_a_month_day_of_every_year(bad: str) -> None:
    with pytest.raises(ValidationError, match="MM-DD"):
        Premium.model_validate({"individual": "320", "fiscal": "580", "cutoff": bad})


def test_cutoff_is_normalised() -> None:
    assert Premium.model_validate({"individual": "320", "fiscal": "580", "cutoff": "9-1"}).cutoff == "09-01"


def test_every_shipped_premium_subsidises_only_ranked_categories() -> None:
    for name in shipped_packs():
        pack = load_pack(name)
        for day in pack.change_dates():
            policy = pack.at(day)
            if policy.premium is not None:
                assert unranked_subsidies(policy.premium, policy.identity_priority) == [], name
                for cat in policy.premium.subsidies:
                    sub = policy.premium.subsidies[cat]
                    key = "share" if sub.share is not None else "amount"
                    prov = pack.provenance(("premium", "subsidies", cat, key), day)
                    assert prov is not None and (prov.source or prov.assumed), (name, cat)


def test_a_pack_with_a_bad_subsidy_names_the_parameter() -> None:
    import yaml

    raw = yaml.safe_load((PACKS_DIR / "anhui-huaibei-2022.yaml").read_text(encoding="utf-8"))
    raw["policy"]["premium"]["subsidies"]["dibao"]["amount"] = {"value": 400, "assumed": "too much"}
    with pytest.raises(InputErrors) as info:
        pack_from_mapping(raw, "bad.yaml")
    text = str(info.value)
    assert "policy.premium" in text and "more than the individual contribution" in text


# --------------------------------------------------------------------------- property


@st.composite
def premiums(draw: st.DrawFn) -> tuple[Premium, str]:
    individual = draw(st.integers(0, 2_000_000))
    fiscal = draw(st.integers(0, 2_000_000))
    kind = draw(st.sampled_from(["share", "amount", "none"]))
    subsidies: dict[str, dict[str, str]] = {}
    if kind == "share":
        bp = draw(st.integers(0, 10_000))
        subsidies["dibao"] = {"share": str(Decimal(bp) / 100)}
    elif kind == "amount":
        subsidies["dibao"] = {"amount": fen_to_yuan_str(draw(st.integers(0, individual)))}
    p = Premium.model_validate(
        {
            "individual": fen_to_yuan_str(individual),
            "fiscal": fen_to_yuan_str(fiscal),
            "cutoff": "12-31",
            "subsidies": subsidies,
        }
    )
    return p, draw(st.sampled_from(["dibao", "tekun", "ordinary"]))


@given(premiums())
def test_parts_add_up_and_none_is_negative(case: tuple[Premium, str]) -> None:
    p, category = case
    s = premium_split(p, category)
    assert s.individual + s.assistance + s.fiscal == s.total == p.individual + p.fiscal
    assert min(s.individual, s.assistance, s.fiscal) >= 0
    assert s.assistance <= p.individual
    assert s.fiscal == p.fiscal
