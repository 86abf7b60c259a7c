"""Identity categories a pack declares (issue 15 feature 10): named by code in identity_priority,
identity overrides, critical-illness tilt, assistance and tilted assistance; they decide claims in
``settle`` and the batch engine alike, the trace names them from the pack, and a wrong declaration is
refused naming the key."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from yibao.core.errors import InputErrors
from yibao.core.identities import IdentityPeriod
from yibao.policy.pack import PolicyPack, pack_from_mapping
from yibao.settlement.batch.engine import OUTPUT_AMOUNTS, settle_batch
from yibao.settlement.batch.frames import to_frames, ytd_from_row
from yibao.settlement.model import Claim, Person, PolicyRangeSummary, Settlement
from yibao.settlement.settle import settle_sequence
from yibao.settlement.trace import render

YUAN = 100
DAY = date(2022, 4, 1)


def _a(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test"}


DECLARED = {
    "yinbing_x": {"label_zh": _a("县认定因病致贫人员"), "label_en": _a("county-recognised illness poverty"), "bureau": "民政"},
    "gangxing_x": {"label_zh": _a("县刚性支出家庭"), "label_en": _a("county unavoidable-expense household")},
}


def _policy(**more: Any) -> dict[str, Any]:
    """Inpatient 50% from the first fen, no deductible, no cap; yinbing_x ranks above dibao, gangxing_x lowest."""
    line = {"label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"], "ratio": _a(50)}
    return {
        "categories": DECLARED,
        "identity_priority": ["tekun", "yinbing_x", "dibao", "gangxing_x"],
        "fee": {"class_b_selfpay_first": _a(10)},
        "lines": {"inpatient": line},
    } | more


def _pack(policy: dict[str, Any]) -> PolicyPack:
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def _claim(cid: str, scp_yuan: int) -> Claim:
    scp = scp_yuan * YUAN
    return Claim(cid, "P1", DAY, "21", 2, dise_codg="J06", summary=PolicyRangeSummary(scp, 0, 0, 0, scp))


def _person(*cats: str) -> Person:
    return Person("P1", identities=tuple(IdentityPeriod(c, date(2021, 1, 1)) for c in cats))


def _settle(pack: PolicyPack, person: Person, claims: list[Claim]) -> list[Settlement]:
    """The scalar core, checked against the batch engine (fen, deciding identity, accumulators)."""
    out = list(settle_sequence(pack, person, claims))
    batch = settle_batch(pack, to_frames([person], claims))
    rows = {r["claim_id"]: r for r in batch.claims.iter_rows(named=True)}
    for s in out:
        assert {f: rows[s.claim_id][f] for f in OUTPUT_AMOUNTS} == {f: getattr(s, f) for f in OUTPUT_AMOUNTS}
        assert rows[s.claim_id]["identity"] == s.identity
    assert ytd_from_row(batch.year_to_date.row(0, named=True)) == out[-1].ytd_after
    return out


ASSISTANCE = {
    "lines": ["inpatient"],
    "categories": {
        "yinbing_x": {"deductible": _a(1000), "ratio": _a(70), "limit": _a(1500)},
        "dibao": {"deductible": _a(0), "ratio": _a(50), "limit": _a(10_000)},
        "gangxing_x": {"deductible": _a(2000), "ratio": _a(40), "limit": _a(10_000)},
    },
}
TILTED = {"lines": ["inpatient"], "categories": ["yinbing_x"], "threshold": _a(500), "ratio": _a(50), "cap": _a(100)}


def test_a_declared_category_decides_by_its_rank_and_takes_its_assistance_terms() -> None:
    pack = _pack(_policy(assistance=ASSISTANCE, tilted_assistance=TILTED))
    # basic 50% of 6,000 = 3,000; left 3,000.  yinbing_x: (3,000 - 1,000) x 70% = 1,400 (limit 1,500);
    # tilted on what is left 1,600: (1,600 - 500) x 50% = 550, cap 100 -> 100
    (s,) = _settle(pack, _person("dibao", "yinbing_x"), [_claim("A", 6_000)])
    assert s.identity == "yinbing_x"
    assert (s.hifp_pay, s.maf_pay, s.oth_pay, s.psn_part_amt) == (3_000 * YUAN, 1_400 * YUAN, 100 * YUAN, 1_500 * YUAN)
    # the second claim meets the yearly limit: 1,500 - 1,400 = 100 of (2,000 x 70% = 1,400)
    out = _settle(pack, _person("dibao", "yinbing_x"), [_claim("A", 6_000), _claim("B", 4_000)])
    assert out[1].maf_pay == 100 * YUAN
    # gangxing_x ranks below dibao: dibao decides (3,000 x 50% = 1,500); alone it decides itself:
    # (3,000 - 2,000) x 40% = 400, and tilted assistance does not take it
    (s,) = _settle(pack, _person("gangxing_x", "dibao"), [_claim("A", 6_000)])
    assert (s.identity, s.maf_pay) == ("dibao", 1_500 * YUAN)
    (s,) = _settle(pack, _person("gangxing_x"), [_claim("A", 6_000)])
    assert (s.identity, s.maf_pay, s.oth_pay) == ("gangxing_x", 400 * YUAN, 0)


def test_a_declared_category_in_identity_overrides_and_the_critical_illness_tilt() -> None:
    policy = _policy()
    policy["lines"]["inpatient"] |= {"identity_overrides": {"yinbing_x": {"ratio_add": _a(20)}}}
    policy["critical_illness"] = {
        "insutypes": ["390"], "lines": ["inpatient"], "deductible": _a(1000), "band_basis": "gross",
        "bands": _a([{"start": "0", "ratio": "50"}]), "cap": _a(100_000),
        "tilt": {"categories": ["yinbing_x"], "deductible_pct": _a(50), "ratio_add": _a(10)},
    }  # fmt: skip
    pack = _pack(policy)
    # basic 70% of 6,000 = 4,200; left 1,800.  Critical illness: deductible 1,000 x 50% = 500,
    # ratio 60%: (1,800 - 500) x 60% = 780
    (s,) = _settle(pack, _person("yinbing_x"), [_claim("A", 6_000)])
    assert (s.hifp_pay, s.hifmi_pay) == (4_200 * YUAN, 780 * YUAN)
    # an ordinary person: basic 3,000; (3,000 - 1,000) x 50% = 1,000
    (s,) = _settle(pack, _person(), [_claim("A", 6_000)])
    assert (s.identity, s.hifp_pay, s.hifmi_pay) == ("ordinary", 3_000 * YUAN, 1_000 * YUAN)


def test_an_undeclared_code_a_person_holds_brings_nothing() -> None:
    pack = _pack(_policy(assistance=ASSISTANCE))
    (s,) = _settle(pack, _person("elsewhere_code"), [_claim("A", 6_000)])
    assert (s.identity, s.maf_pay) == ("ordinary", 0)


def test_the_trace_names_a_declared_category_from_the_pack() -> None:
    pack = _pack(_policy(assistance=ASSISTANCE))
    (s,) = _settle(pack, _person("yinbing_x"), [_claim("A", 6_000)])
    zh = " ".join(text for _, text in render(s.trace, "zh"))
    en = " ".join(text for _, text in render(s.trace, "en"))
    assert "县认定因病致贫人员" in zh and "yinbing_x" not in zh
    assert "county-recognised illness poverty" in en and "县" not in en
    assert pack.at(DAY).category_label("yinbing_x", "en") == "county-recognised illness poverty"
    assert pack.at(DAY).category_bureau("yinbing_x") == "民政"
    assert pack.at(DAY).category_bureau("gangxing_x") == "医保"
    assert pack.at(DAY).category_label("dibao") == "低保对象"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"categories": {"Bad-Code": DECLARED["yinbing_x"]}}, "categories.Bad-Code"),
        ({"categories": {"dibao": DECLARED["yinbing_x"]}}, "built-in category 'dibao'"),
        (
            {"categories": {"x_one": DECLARED["yinbing_x"] | {"label_zh": _a("低保对象")}}},
            "built-in category 'dibao'",
        ),
        (
            {"categories": {"x_one": DECLARED["yinbing_x"], "x_two": DECLARED["yinbing_x"]}},
            "already a name of categories.x_one",
        ),
        ({"identity_priority": ["tekun", "yinbing_y"]}, "identity_priority names unknown identity category 'yinbing_y'"),
        ({"identity_priority": ["tekun", "dibao"], "assistance": ASSISTANCE}, "identity_priority does not rank"),
    ],
)
def test_wrong_declarations_are_refused_naming_the_key(change: dict[str, Any], words: str) -> None:
    with pytest.raises(InputErrors) as exc:
        _pack(_policy(**change))
    assert words in str(exc.value)


def test_the_policy_page_names_a_declared_category_by_its_pack_names() -> None:
    from yibao.policy.labels import path_label

    pack = _pack(_policy(assistance=ASSISTANCE))
    path = ("assistance", "categories", "yinbing_x", "ratio")
    assert path_label(pack, path, "zh") == "医疗救助 · 身份类别 · 县认定因病致贫人员 · 比例"


def test_a_declared_category_named_by_its_chinese_name_english_name_or_alias_in_every_key() -> None:
    """The same terms as the first test, every category key written by a declared name instead of its code
    (label_zh, label_en in another case, alias with spaces around): the same amounts, by hand as there."""
    named = {
        "lines": ["inpatient"],
        "on_application": {
            "categories": ["县刚性支出家庭"],
            "window_months": _a(12),
            "deductible": _a(0),
            "ratio": _a(50),
            "limit": _a(1_000),
        },
        "categories": {
            "县认定因病致贫人员": ASSISTANCE["categories"]["yinbing_x"],
            "dibao": ASSISTANCE["categories"]["dibao"],
            "COUNTY unavoidable-expense household": ASSISTANCE["categories"]["gangxing_x"],
        },
    }
    declared = DECLARED | {"yinbing_x": DECLARED["yinbing_x"] | {"aliases": ["因病致贫（县）"]}}
    policy = _policy(
        categories=declared,
        identity_priority=["tekun", " 因病致贫（县） ", "dibao", "县刚性支出家庭"],
        identity_validity={"县认定因病致贫人员": _a(12)},
        assistance=named,
        tilted_assistance=TILTED | {"categories": ["因病致贫（县）"]},
        premium={
            "individual": _a(320), "fiscal": _a(580), "cutoff": "09-01",
            "subsidies": {"县刚性支出家庭": {"share": _a(50)}},
        },
        monitoring={
            "per_capita_income": _a(30_000),
            "rules": {
                "high": {
                    "label_zh": "高", "label_en": "high", "kind": "warning", "categories": ["县认定因病致贫人员", "dibao"],
                    "lines": ["inpatient"], "measure": "self_pay", "scope": "year", "threshold": _a(1_000),
                    "period": "month", "push_to": ["civil_affairs"], "confirmed_identity": "因病致贫（县）",
                }
            },
        },
    )  # fmt: skip
    policy["lines"]["inpatient"] |= {"identity_overrides": {"county-recognised illness poverty": {"ratio_add": _a(0)}}}
    pol = _pack(policy).at(DAY)
    assert pol.identity_priority == ("tekun", "yinbing_x", "dibao", "gangxing_x")
    assert dict(pol.identity_validity) == {"yinbing_x": 12}
    assert list(pol.assistance.categories) == ["yinbing_x", "dibao", "gangxing_x"]  # type: ignore[union-attr]
    assert pol.assistance.on_application.categories == ("gangxing_x",)  # type: ignore[union-attr]
    assert list(pol.tilted_assistance.categories) == ["yinbing_x"]  # type: ignore[union-attr]
    assert list(pol.premium.subsidies) == ["gangxing_x"]  # type: ignore[union-attr]
    rule = pol.monitoring.rules["high"]  # type: ignore[union-attr]
    assert (rule.categories, rule.confirmed_identity) == (("yinbing_x", "dibao"), "yinbing_x")
    assert list(pol.lines["inpatient"].identity_overrides) == ["yinbing_x"]
    # recognised 2021-06-01, held 12 months to 2022-05-31: on 2022-04-01 yinbing_x decides. Basic 50% of 6,000 =
    # 3,000; assistance (3,000 - 1,000) x 70% = 1,400; tilted (1,600 - 500) x 50% = 550 -> cap 100; patient 1,500
    recent = Person("P1", identities=(IdentityPeriod("dibao", date(2021, 1, 1)), IdentityPeriod("yinbing_x", date(2021, 6, 1))))
    (s,) = _settle(_pack(policy), recent, [_claim("A", 6_000)])
    assert (s.identity, s.hifp_pay, s.maf_pay, s.oth_pay, s.psn_part_amt) == (
        "yinbing_x", 3_000 * YUAN, 1_400 * YUAN, 100 * YUAN, 1_500 * YUAN,
    )  # fmt: skip
    # recognised 2021-01-01: lapsed after 2021-12-31, so dibao decides: 3,000 x 50% = 1,500, no tilted assistance
    (s,) = _settle(_pack(policy), _person("dibao", "yinbing_x"), [_claim("A", 6_000)])
    assert (s.identity, s.maf_pay, s.oth_pay, s.psn_part_amt) == ("dibao", 1_500 * YUAN, 0, 1_500 * YUAN)


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (  # a name two declared categories share (the declarations are refused too, but the key is named)
            {
                "categories": DECLARED | {"gangxing_x": DECLARED["gangxing_x"] | {"aliases": ["县困难"]},
                                          "yinbing_x": DECLARED["yinbing_x"] | {"aliases": ["县困难"]}},
                "identity_priority": ["tekun", "县困难", "dibao"],
            },
            "policy.identity_priority.1",
            "a name of several declared categories: yinbing_x, gangxing_x",
        ),
        (
            {"identity_priority": ["tekun", "县认定因病致贫", "dibao", "gangxing_x"]},
            "policy.identity_priority.1",
            "unknown identity category '县认定因病致贫'",
        ),
        (
            {"assistance": ASSISTANCE | {"categories": {"县认定因病致贫": ASSISTANCE["categories"]["dibao"]}}},
            "policy.assistance.categories",
            "expected one of tekun, dibao",
        ),
    ],
)  # fmt: skip
def test_an_ambiguous_or_unknown_name_is_refused_naming_the_key(change: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(InputErrors) as exc:
        _pack(_policy(**change))
    message = str(exc.value)
    assert key in message and words in message, message


def test_a_worked_case_names_a_declared_category_by_its_names_and_settles_both_ways() -> None:
    from yibao.policy.cases import cases_from_mapping
    from yibao.settlement.cases import check_case

    pack = _pack(_policy(assistance=ASSISTANCE, tilted_assistance=TILTED))
    # as the first test: basic 3,000, assistance 1,400, tilted 100, patient 1,500 of 6,000
    claim = {
        "claim_id": "A", "setl_date": "2022-04-01", "med_type": "21", "hosp_lv": 2,
        "summary": {"medfee_sumamt": "6000.00"},
        "expect": {"hifp_pay": "3000.00", "hifmi_pay": "0.00", "maf_pay": "1400.00", "oth_pay": "100.00",
                   "psn_part_amt": "1500.00", "identity": "county-recognised illness poverty"},
    }  # fmt: skip
    held = [{"category": "低保", "from": "2021-01-01"}, {"category": "县认定因病致贫人员", "from": "2021-01-01"}]
    person = {"identities": held}
    case = {"title": "县认定因病致贫人员住院", "source": "hand-computed", "working": "as in the first test", "person": person}
    cases = cases_from_mapping({"pack": "t", "cases": [case | {"claims": [claim]}]}, "t.cases.yaml", pack)
    (worked,) = cases.cases
    assert [i.category for i in worked.person.identities] == ["dibao", "yinbing_x"]
    assert worked.claims[0].expect.identity == "yinbing_x"
    assert check_case(pack, worked, 1).ok
    held[1]["category"] = "县认定因病"
    with pytest.raises(InputErrors) as exc:
        cases_from_mapping({"pack": "t", "cases": [case | {"claims": [claim]}]}, "t.cases.yaml", pack)
    (error,) = exc.value.errors
    assert "person.identities[2].category" in error.field and error.value == "县认定因病"
    assert "yinbing_x" in error.expected and "gangxing_x" in error.expected


def test_a_workbook_reads_declared_categories_by_their_names_and_a_name_two_packs_share_as_neither(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from yibao.interfaces.workbooks.mapping import load_mapping
    from yibao.policy import pack as pack_module
    from yibao.policy.schema import DeclaredCategory

    loaded = pack_module._LOADED_CATEGORIES  # as if two bureaus' pack files had been loaded
    monkeypatch.setitem(
        loaded, "xian_a", DeclaredCategory(label_zh="县甲类", label_en="county A", aliases=("县困难",), bureau="民政")
    )
    monkeypatch.setitem(loaded, "xian_b", DeclaredCategory(label_zh="县乙类", label_en="county B", aliases=("县困难",)))
    mz = load_mapping("民政")
    assert {n: mz.category(n) for n in ("县甲类", "COUNTY a", "xian_a", "县乙类", "县困难", "农村低保")} == {
        "县甲类": "xian_a", "COUNTY a": "xian_a", "xian_a": "xian_a", "县乙类": "xian_b", "县困难": None, "农村低保": "dibao",
    }  # fmt: skip
    # 民政 certifies its own declared category and one whose bureau (医保) sends no rosters, not 乡村振兴's
    assert mz.allowed is not None and {"xian_a", "xian_b", "dibao"} <= mz.allowed
    assert load_mapping("乡村振兴").allowed == {"tuopin", "jiance", "fanpin", "pinkun", "xian_b"}
