"""Hypothesis strategies: random valid policy packs (every feature) and random people and claims."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from yibao.core.identities import IdentityPeriod
from yibao.policy.pack import PolicyPack, pack_from_mapping
from yibao.settlement.model import (
    ChronicFiling,
    Claim,
    FeeLine,
    InstitutionChoice,
    Period,
    Person,
    PolicyRangeSummary,
    ResidentTierPeriod,
)

CATS = ["tekun", "dibao", "fanpin", "jiance", "tuopin", "dibao_edge", "yinbing"]
DECLARED = "xian_kunnan"
"""A category random packs often declare themselves (``categories``); people hold it either way."""
HELD = [*CATS, DECLARED]
YEAR = 2022


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def pct(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}"


money = st.integers(0, 3_000_000)
small_money = st.integers(0, 300_000)
ratio = st.integers(0, 10_000)
points = st.integers(-1_500, 1_500)


def leaf(value: Any, dated: Any | None = None, when: date | None = None) -> Any:
    if dated is None or when is None:
        return {"value": value, "assumed": "random test value"}
    return [
        {"from": f"{YEAR}-01-01", "value": value, "assumed": "random"},
        {"from": when.isoformat(), "value": dated, "assumed": "random change"},
    ]


@st.composite
def level_table(draw: st.DrawFn, values: st.SearchStrategy[int], conv: Any) -> dict[int, str]:
    return {lv: conv(draw(values)) for lv in (1, 2, 3)}


BASE_PLACES = ("in_county", "out_of_county", "cross_filed", "cross_unfiled")
FINE_PLACES = ("cross_long_term", "cross_temporary", "cross_referral", "cross_emergency")
ITEMS = ("A1", "B1", "B2", "C1", "XC09", "IMPL1", "IMPL2", "SELF1")
"""Fee-line item codes: XC09 is a two-disease full-pay drug, IMPL* fixed-share implants, SELF1 may be fully self-paid."""


@st.composite
def ratio_table(draw: st.DrawFn, finer: bool = True) -> dict[str, dict[int, str]]:
    """Ratios by the base places and, often, some of the finer cross-region kinds (the others take their parent's)."""
    places = [*BASE_PLACES, *(draw(st.lists(st.sampled_from(FINE_PLACES), unique=True, max_size=3)) if finer else [])]
    return {p: draw(level_table(ratio, pct)) for p in places}


@st.composite
def some_places(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    """A table naming some places (base or finer kinds), each with a drawn value."""
    places = draw(st.lists(st.sampled_from([*BASE_PLACES, *FINE_PLACES]), unique=True, min_size=1, max_size=4))
    return {p: draw(values) for p in places}


@st.composite
def place_and_item_rules(draw: st.DrawFn, dated: bool, change: date, on: bool = True) -> dict[str, Any]:
    """Issue 15 features 5 and 9 on a line: deductible and self-pay-first share by place, 乙类 at its own
    ratio, a fixed fund share of listed items (each often, so the differential test meets them; none if not ``on``)."""
    out: dict[str, Any] = {}
    if not on:
        return out
    if draw(st.integers(0, 2)):
        out["deductible_by_place"] = leaf(draw(some_places(level_table(small_money, yuan))))
    if draw(st.integers(0, 2)):
        out["place_selfpay_first"] = leaf(
            draw(some_places(ratio.map(pct))), draw(some_places(ratio.map(pct))) if dated else None, change
        )
    if draw(st.integers(0, 2)):
        out["class_b_ratio"] = leaf(draw(ratio_table()), draw(ratio_table()) if dated else None, change)
    if draw(st.integers(0, 2)):
        out["fixed_share_items"] = ["IMPL1", "IMPL2"]
        out["fixed_share"] = leaf(pct(draw(ratio)), pct(draw(ratio)) if dated else None, change)
    return out


@st.composite
def bands(draw: st.DrawFn, key: str, values: st.SearchStrategy[int]) -> list[dict[str, str]]:
    n = draw(st.integers(1, 3))
    starts = sorted(set(draw(st.lists(st.integers(1, 4_000_000), min_size=n - 1, max_size=n - 1))))
    return [{"start": yuan(s), key: pct(draw(values)) if key == "ratio" else pct_signed(draw(values))} for s in [0, *starts]]


def pct_signed(bp: int) -> str:
    return ("-" if bp < 0 else "") + pct(abs(bp))


@st.composite
def overrides(draw: st.DrawFn, cats: list[str] = CATS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cat in draw(st.lists(st.sampled_from(cats), unique=True, max_size=3)):
        out[cat] = {
            "deductible_pct": leaf(pct(draw(ratio))),
            "ratio_add": leaf(pct_signed(draw(points))),
            "no_cap": draw(st.booleans()),
        }
    return out


AGES = [6, 18, 45, 60, 70]
HOSPITALS = ["H1", "H2", "H3"]


@st.composite
def person_terms(draw: st.DrawFn, admission: bool) -> dict[str, Any]:
    """Random ``person_terms``: entries by age band, resident tier, the claim's institution (the position shows
    a cap per class of institution) and family-doctor contract, each with some effect."""
    out: dict[str, Any] = {}
    for n in range(draw(st.integers(0, 3))):
        entry: dict[str, Any] = {}
        kind = draw(st.sampled_from(["age_from", "age_below", "band", "tier", "tier_age", "institution", "family"]))
        if kind == "institution":
            entry["institution"] = draw(st.sampled_from(["designated", "linked", "other"]))
        if kind == "family" or (kind == "tier" and draw(st.booleans())):
            entry["family_doctor"] = draw(st.booleans())
        if kind in ("age_from", "band", "tier_age"):
            entry["age_from"] = leaf(draw(st.sampled_from(AGES[:-1] if kind == "band" else AGES)))
        if kind == "age_below" or kind == "band":
            lo = entry["age_from"]["value"] if "age_from" in entry else 0
            entry["age_below"] = leaf(draw(st.sampled_from([a for a in [*AGES, 100] if a > lo])))
        if kind in ("tier", "tier_age"):
            entry["resident_tier"] = draw(st.sampled_from([1, 2, "二档"]))
        kinds = ["deductible", "ratio", "ratio_add", "cap"]
        effects = draw(st.lists(st.sampled_from(kinds), unique=True, min_size=1))
        for e in effects:
            if e == "deductible":
                entry["deductible"] = leaf(draw(level_table(small_money, yuan)))
                if admission and draw(st.booleans()):
                    entry["deductible_2nd"] = leaf(draw(level_table(small_money, yuan)))
            elif e == "ratio":
                entry["ratio"] = leaf(draw(ratio_table()))
            elif e == "ratio_add":
                entry["ratio_add"] = leaf(pct_signed(draw(st.integers(1, 1_500) | st.integers(-1_500, -1))))
            else:
                entry["cap"] = leaf(yuan(draw(money)))
        out[f"terms_{n}"] = entry
    return out


MAJOR = ["N18", "I10"]
"""Designated 重特大疾病 prefixes the random packs may list (claims draw N18, I10, E11x …)."""


def tier_base(later: bool = True) -> st.SearchStrategy[str]:
    return st.sampled_from(["policy_range", "in_catalogue"] if later else ["policy_range"])


@st.composite
def assistance_block(
    draw: st.DrawFn, dated: bool, change: date, later: bool = True, all_cats: list[str] = CATS
) -> dict[str, Any]:
    """Per-category deductible, ratio and (often) own limit; sometimes 重特大疾病 terms; base either kind
    (``later=False``: neither major terms nor the in-catalogue base)."""
    major = later and draw(st.booleans())
    cats: dict[str, Any] = {}
    for c in draw(st.lists(st.sampled_from(all_cats), unique=True, min_size=1, max_size=5)):
        terms: dict[str, Any] = {"ratio": leaf(pct(draw(ratio)), pct(draw(ratio)) if dated else None, change)}
        if draw(st.integers(0, 3)) == 0:  # a share of the per-capita income
            terms["deductible_income_share"] = leaf(pct(draw(st.integers(0, 5_000))))
        else:
            terms["deductible"] = leaf(yuan(draw(small_money)))
        if draw(st.booleans()):
            terms["limit"] = leaf(yuan(draw(money)))
        if major and draw(st.booleans()):
            options = {"deductible": yuan(draw(small_money)), "ratio": pct(draw(ratio)), "limit": yuan(draw(money))}
            terms["major"] = {k: leaf(v) for k, v in options.items() if draw(st.booleans())}
        cats[c] = terms
    block: dict[str, Any] = {
        "lines": draw(st.sampled_from([["inpatient", "chronic"], ["inpatient", "chronic", "outpatient", "emp_inpatient"]])),
        "categories": cats,
        "base": draw(tier_base(later)),
    }
    if any("major" in t for t in cats.values()):  # none listed: only claims flagged 重特大疾病 take the major terms
        block["major_diseases"] = draw(st.lists(st.sampled_from(MAJOR), unique=True))
    if any("deductible_income_share" in t for t in cats.values()):
        block["per_capita_income"] = leaf(yuan(draw(money)), yuan(draw(money)) if dated else None, change)
    if not all("limit" in t for t in cats.values()) or draw(st.booleans()):
        block["limit"] = leaf(yuan(draw(money)), yuan(draw(money)) if dated else None, change)
    return block


@st.composite
def tilted_block(draw: st.DrawFn, dated: bool, change: date, later: bool = True, all_cats: list[str] = CATS) -> dict[str, Any]:
    """A list of categories on the block's terms, or categories with some terms of their own (and major ones)."""
    names = draw(st.lists(st.sampled_from(all_cats), unique=True, min_size=1, max_size=4))
    values = {"threshold": money, "ratio": ratio, "cap": money}
    text = {"threshold": yuan, "ratio": pct, "cap": yuan}
    block: dict[str, Any] = {"lines": ["inpatient", "chronic"], "base": draw(tier_base(later))}
    own = draw(st.booleans())
    cats: dict[str, Any] = {}
    for c in names:
        cats[c] = {}
        if own:
            for k in draw(st.lists(st.sampled_from(list(values)), unique=True)):
                cats[c][k] = leaf(text[k](draw(values[k])))
            if later and draw(st.booleans()):
                major = draw(st.lists(st.sampled_from(list(values)), unique=True, min_size=1))
                cats[c]["major"] = {k: leaf(text[k](draw(values[k]))) for k in major}
    for k in values:  # the block's term where some category lacks its own (or at random)
        if any(k not in t for t in cats.values()) or draw(st.booleans()):
            block[k] = leaf(text[k](draw(values[k])), text[k](draw(values[k])) if dated else None, change)
    block["categories"] = cats if own else names
    if any("major" in t for t in cats.values()):  # none listed: only claims flagged 重特大疾病 take the major terms
        block["major_diseases"] = draw(st.lists(st.sampled_from(MAJOR), unique=True))
    return block


CAPITATION_LINES = ["outpatient", "two_diseases", "chronic", "emp_opd_work", "inpatient"]
TOWNS = ["T1", "T2"]
"""Capitation townships people live in or sign with; claims also come from ``T3`` (no one's) and from no township."""


@st.composite
def capitation_block(draw: st.DrawFn, dated: bool, change: date, all_cats: list[str] = CATS) -> dict[str, Any]:
    """门诊统筹人头定额 on some lines (outpatient ones, two of them in a combined cap, an employees' one, even inpatient), counted
    by where people live or where they signed; a limit (dated sometimes), categories' own limits, over-limit
    categories settled item by item up to a cap (or none)."""
    limits = [draw(small_money) for _ in range(2 if dated else 1)]
    own = {c: draw(small_money) for c in draw(st.lists(st.sampled_from(all_cats), unique=True, max_size=2))}
    block: dict[str, Any] = {
        "lines": draw(st.lists(st.sampled_from(CAPITATION_LINES), min_size=1, max_size=3, unique=True)),
        "counted": draw(st.sampled_from(["enrolled", "signed"])),
        "standard": {"per_head": leaf(yuan(draw(small_money)))},
        "limit": leaf(yuan(limits[0]), yuan(limits[-1]) if dated else None, change),
        "prepay_share": leaf(pct(draw(ratio))),
    }  # fmt: skip
    if own:
        block["category_limits"] = leaf({c: yuan(v) for c, v in own.items()})
    over = draw(st.lists(st.sampled_from(all_cats), unique=True, max_size=3))
    if over:  # the cap counts the whole year's payment: at least every limit it is above
        top = max([*limits, *own.values()])
        cap = draw(st.none() | st.integers(top, top + 300_000))
        block["over_limit"] = {"categories": over} | ({} if cap is None else {"cap": leaf(yuan(cap))})
    return block


@st.composite
def large_amount_block(draw: st.DrawFn, cats: list[str] = CATS) -> dict[str, Any]:
    """Employees' 大额: a second critical-illness block with its own lines, bands, cap and tilt."""
    return {
        "insutypes": ["310"],
        "lines": draw(st.sampled_from([["emp_inpatient"], ["emp_inpatient", "emp_opd_work"]])),
        "deductible": leaf(yuan(draw(money))),
        "band_basis": draw(st.sampled_from(["gross", "above_deductible"])),
        "bands": leaf(draw(bands("ratio", ratio))),
        "cap": leaf(yuan(draw(money))),
        "base": draw(tier_base()),
        "tilt": {"categories": draw(st.lists(st.sampled_from(cats), unique=True, max_size=3)), "no_cap": draw(st.booleans())},
    }


PERIODIC = ["year", "month", "quarter"]


@st.composite
def deductible_terms(draw: st.DrawFn, kinds: list[str], on: str | None = None) -> dict[str, Any]:
    """``deductible_kind`` and ``deductible_on`` (``on`` given: a group shared with a line drawn before)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return {"deductible_kind": kind}
    out = {"deductible_kind": kind, "deductible_on": on or draw(st.sampled_from(["base", "base", "payment"]))}
    if kind in PERIODIC:
        out["deductible_level"] = draw(st.sampled_from(["claim", "highest"]))
    if draw(st.booleans()):  # a filed special disease waives the deductible (issue 15, feature 12)
        out["deductible_waived_for"] = draw(st.sampled_from([["N18"], ["I10", "E11"]]))
    return out


@st.composite
def ceiling(draw: st.DrawFn, group: str | None = None, basis: str | None = None) -> dict[str, Any]:
    """Sometimes a yearly cost ceiling (amounts a claim often crosses), counted from above the deductible or gross."""
    if not draw(st.booleans()):
        return {}
    out: dict[str, Any] = {
        "cost_ceiling": leaf(yuan(draw(money))),
        "cost_ceiling_basis": basis or draw(st.sampled_from(["above_deductible", "gross"])),
    }
    return out | ({"cost_ceiling_group": group} if group else {})


@st.composite
def basic_terms(draw: st.DrawFn, basic_features: bool) -> dict[str, dict[str, Any]]:
    """Per line, the deductible period and mode, the cap period and the cost ceiling (issue 15, features 1 and 2),
    drawn so that lines sharing a group count it the same way (else the pack is refused). Empty without ``basic_features``."""
    names = ("inpatient", "chronic", "two_diseases", "outpatient", "emp_opd", "emp_inpatient")
    if not basic_features:
        return {n: {} for n in (*names, "combined_caps")}
    pool = {"cap_period": draw(st.sampled_from(["year", "year", "month", "quarter"]))}
    opd = draw(deductible_terms(PERIODIC))
    inpatient = draw(deductible_terms(["admission", "admission", "claim"])) | pool | draw(ceiling())
    chronic_group = draw(st.sampled_from(["chronic", "opd"]))
    if chronic_group == "opd":  # shares the outpatient deductible: the same period and mode
        chronic = dict(draw(st.sampled_from([{"deductible_kind": "none"}, opd])))
    else:
        chronic = draw(deductible_terms(["none", "claim", *PERIODIC]))
    chronic |= {"deductible_group": chronic_group}
    chronic_cap = draw(st.sampled_from(["pool", "chronic"]))
    chronic |= {"cap_group": chronic_cap} | (pool if chronic_cap == "pool" else {"cap_period": draw(st.sampled_from(PERIODIC))})
    chronic |= draw(ceiling("chronic_ceiling"))
    emp_opd = draw(deductible_terms(PERIODIC)) | {"cap_period": draw(st.sampled_from(PERIODIC))}
    two_diseases_period = draw(st.sampled_from(PERIODIC))
    if draw(st.booleans()):  # a combined cap for two filed diseases (feature 12): its lines count caps alike
        two_diseases_period = chronic["cap_period"]
        combined = {
            "both": {"lines": ["chronic", "two_diseases"], "diseases": ["I10", "E11", "N18"], "cap": leaf(yuan(draw(money)))}
        }
    else:
        combined = {}
    return {
        "combined_caps": combined,
        "inpatient": inpatient,
        "chronic": chronic,
        "two_diseases": {"cap_period": two_diseases_period} | draw(ceiling()),
        "outpatient": opd | {"cap_period": draw(st.sampled_from(PERIODIC))} | draw(ceiling()),
        "emp_opd": emp_opd | draw(ceiling("emp_opd_ceiling", draw(st.sampled_from(["above_deductible", "gross"])))),
        "emp_inpatient": draw(deductible_terms(["admission", "claim"])) | draw(ceiling()),
    }


@st.composite
def random_pack(
    draw: st.DrawFn,
    basic_features: bool = True,
    later: bool = True,
    by_person: bool = True,
    issue15: bool = True,
    capitation: bool = False,
) -> PolicyPack:
    """A random valid pack; ``basic_features=False``: without the basic tier's periods and cost ceilings
    (for engines that cannot settle them); ``later=False`` leaves out the later tiers' features the DuckDB
    comparator does not do (in-catalogue base, 重特大疾病 terms, a second critical-illness block, identity validity,
    declared categories);
    ``by_person=False``: no line goes by the person's age, tier, institution or family doctor (the same);
    ``issue15=False``: without the item-class and place rules (features 5 and 9);
    ``capitation=True``: two packs of three have a capitation block (门诊统筹人头定额, issue 17)."""
    change = date(YEAR, 1, 1) + timedelta(days=draw(st.integers(30, 330)))
    declares = later and draw(st.integers(0, 2)) > 0  # two packs of three declare a category of their own
    cats = HELD if declares else CATS
    terms = draw(basic_terms(basic_features))
    dated = draw(st.booleans())
    cap_a, cap_b = draw(money), draw(money)
    inpatient = {
        "label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"],
        "deductible_kind": "admission",
        "deductible": leaf(draw(level_table(small_money, yuan)), draw(level_table(small_money, yuan)) if dated else None, change),
        "deductible_2nd": leaf(draw(level_table(small_money, yuan))),
        "deductible_3rd": leaf(draw(level_table(small_money, yuan))),
        "ratio": leaf(draw(ratio_table(issue15)), draw(ratio_table(issue15)) if dated else None, change),
        "cap": leaf(yuan(cap_a), yuan(cap_b) if dated else None, change),
        "cap_group": "pool",
        "identity_overrides": draw(overrides(cats)),
    } | terms["inpatient"]  # fmt: skip
    if inpatient["deductible_kind"] != "admission":
        del inpatient["deductible_2nd"], inpatient["deductible_3rd"]
    inpatient["person_terms"] = draw(person_terms(admission=inpatient["deductible_kind"] == "admission"))
    inpatient |= draw(place_and_item_rules(dated, change, issue15))
    if "class_b_ratio" not in inpatient and draw(st.booleans()):
        inpatient["ratio_bands"] = leaf(draw(bands("add", points)), draw(bands("add", points)) if dated else None, change)
    lines: dict[str, Any] = {
        "inpatient": inpatient,
        "chronic": {
            "label_zh": "慢特病", "label_en": "chronic", "insutype": "390", "med_types": ["14"], "requires_filing": True,
            "signed_only": by_person and draw(st.integers(0, 2)) == 0,
            "fallback": draw(st.sampled_from(["outpatient"] * 5 + [None])),
            "deductible_kind": draw(st.sampled_from(["none", "year"])),
            "deductible": leaf(yuan(draw(small_money))), "deductible_group": draw(st.sampled_from(["chronic", "opd"])),
            "ratio": leaf(pct(draw(ratio))), "cap": leaf(yuan(draw(money))),
            "cap_group": draw(st.sampled_from(["pool", "chronic"])),
        } | terms["chronic"],
        "two_diseases": {
            "label_zh": "两病", "label_en": "two diseases", "insutype": "390", "med_types": ["11"], "diseases": ["I10", "E11"],
            "ratio": leaf(pct(draw(ratio))), "cap": leaf(yuan(draw(small_money))), "full_pay_items": ["XC09"],
            "full_pay_in_cap": leaf(draw(st.booleans())),
        } | terms["two_diseases"],
        "children_outpatient": {
            "label_zh": "儿童门诊", "label_en": "children's outpatient", "insutype": "390", "med_types": ["11"],
            "age_below": leaf(draw(st.sampled_from(AGES[:2]))), "deductible_kind": "year", "deductible_group": "children",
            "deductible": leaf(yuan(draw(small_money))), "ratio": leaf(pct(draw(ratio))), "cap": leaf(yuan(draw(small_money))),
        },
        "outpatient": {
            "label_zh": "门诊", "label_en": "outpatient", "insutype": "390", "med_types": ["11", "14"],
            "deductible_kind": "year", "deductible": leaf(draw(level_table(small_money, yuan))), "deductible_group": "opd",
            "ratio": leaf(draw(ratio_table(issue15))), "cap": leaf(yuan(draw(small_money))),
            "identity_overrides": draw(overrides(cats)), "person_terms": draw(person_terms(admission=False)),
        } | terms["outpatient"] | draw(place_and_item_rules(dated, change, issue15)),
        "emp_opd_work": {
            "label_zh": "职工门诊在职", "label_en": "employee opd", "insutype": "310", "med_types": ["11"],
            "emp_status": "in_service", "deductible_kind": "year", "deductible": leaf(yuan(draw(small_money))),
            "deductible_group": "emp_opd", "ratio": leaf(draw(ratio_table(issue15))),
            **draw(place_and_item_rules(dated, change, issue15)),
            "cap_by_tier": leaf(
                {t: yuan(draw(small_money)) for t in ("unit", "individual_1", "individual_2")},
                {t: yuan(draw(small_money)) for t in ("unit", "individual_1", "individual_2")} if dated else None,
                change,
            ),
            "cap_group": "emp_opd",
        } | terms["emp_opd"],
        "emp_opd_retired": {
            "label_zh": "职工门诊退休", "label_en": "retired opd", "insutype": "310", "med_types": ["11"],
            "emp_status": "retired", "deductible_kind": "year", "deductible": leaf(yuan(draw(small_money))),
            "deductible_group": "emp_opd", "ratio": leaf(draw(ratio_table(issue15))),
            "cap_by_tier": leaf({t: yuan(draw(small_money)) for t in ("unit", "individual_1", "individual_2")}),
            "cap_group": "emp_opd",
        } | terms["emp_opd"],
        "emp_inpatient": {
            "label_zh": "职工住院", "label_en": "employee inpatient", "insutype": "310", "med_types": ["21", "14"],
            "deductible_kind": "admission", "deductible": leaf(yuan(draw(small_money))), "ratio": leaf(pct(draw(ratio))),
            "cap": leaf(yuan(draw(money))),
        } | terms["emp_inpatient"],
    }  # fmt: skip
    emp_admission = lines["emp_inpatient"]["deductible_kind"] == "admission"
    lines["emp_inpatient"]["person_terms"] = draw(person_terms(admission=emp_admission))
    if issue15:  # feature 13: the personal account pays part of employees' share
        for key in ("emp_opd_work", "emp_opd_retired", "emp_inpatient"):
            lines[key]["personal_account"] = account = draw(st.sampled_from(["none", "all", "in_catalogue"]))
            if account != "none" and draw(st.integers(0, 2)) > 0:  # the 自负段 starts after the account is used
                lines[key]["account_first"] = True
    if not by_person or not draw(st.integers(0, 3)):  # often a pack that never asks for the age
        del lines["children_outpatient"]
    if not by_person:
        for line in lines.values():
            line.pop("person_terms", None)
    tilt_cats = draw(st.lists(st.sampled_from(cats), unique=True, max_size=4))
    policy: dict[str, Any] = {
        "identity_priority": draw(st.permutations(cats)),
        "fee": {
            "class_b_selfpay_first": leaf(pct(draw(ratio))),
            "class_c_selfpay_first": leaf(pct(10_000 if draw(st.integers(0, 3)) == 0 else draw(ratio))),
            "item_selfpay_first": leaf({"B2": pct(draw(ratio))}),
            "fully_selfpaid_items": draw(st.sampled_from([[], ["SELF1"]])),
            "price_ceilings": leaf({"IMPL2": yuan(draw(st.integers(0, 500_000)))}),
        },
        "lines": lines,
        "critical_illness": {
            "insutypes": draw(st.sampled_from([["390"], ["390", "310"]])),
            "lines": draw(st.sampled_from([["inpatient", "chronic"], ["inpatient"], ["inpatient", "emp_inpatient", "chronic"]])),
            "deductible": leaf(yuan(draw(money)), yuan(draw(money)) if dated else None, change),
            "band_basis": draw(st.sampled_from(["gross", "above_deductible"])),
            "bands": leaf(draw(bands("ratio", ratio)), draw(bands("ratio", ratio)) if dated else None, change),
            "cap": leaf(yuan(draw(money)), yuan(draw(money)) if dated else None, change),
            "tilt": {
                "categories": tilt_cats,
                "deductible_pct": leaf(pct(draw(ratio))),
                "ratio_add": leaf(pct_signed(draw(points))),
                "no_cap": draw(st.booleans()),
            },
        },
        "assistance": draw(assistance_block(dated, change, later, cats)),
        "tilted_assistance": draw(tilted_block(dated, change, later, cats)),
        "combined_caps": terms["combined_caps"],
    }
    if declares:
        names = {"label_zh": "县定困难群众", "label_en": "county-recognised hardship", "aliases": ["县困难"]}
        policy["categories"] = {DECLARED: {k: leaf(v) for k, v in names.items()}}
        written = [DECLARED, "县定困难群众", "county-recognised hardship", "县困难"]
        name = draw(st.sampled_from(written))  # the pack may name it by its code, either label or its alias
        policy["identity_priority"] = [name if c == DECLARED else c for c in policy["identity_priority"]]
    validity = draw(st.lists(st.sampled_from(cats), unique=True, max_size=4))  # recognition valid for some months
    if later and validity:
        policy["identity_validity"] = {
            c: leaf(draw(st.integers(1, 8)), draw(st.integers(1, 8)) if dated else None, change) for c in validity
        }
    policy["critical_illness"]["base"] = draw(tier_base(later))
    if capitation and draw(st.integers(0, 2)) > 0:
        policy["capitation"] = draw(capitation_block(dated, change, cats))
    if later and policy["critical_illness"]["insutypes"] == ["390"] and draw(st.booleans()):
        policy["large_amount"] = draw(large_amount_block(cats))
    raw = {"pack": "random", "valid_from": f"{YEAR}-01-01", "valid_to": f"{YEAR + 1}-12-31", "policy": policy}
    return pack_from_mapping(raw, "random.yaml")


def day_in(year: int) -> st.SearchStrategy[date]:
    return st.integers(0, 364).map(lambda d: date(year, 1, 1) + timedelta(days=d))


@st.composite
def person(draw: st.DrawFn, psn_no: str, issue15: bool = True) -> Person:
    employee = draw(st.integers(0, 4)) == 0
    idents = []
    for cat in draw(st.lists(st.sampled_from(HELD if issue15 else CATS), max_size=3)):
        start = draw(day_in(draw(st.sampled_from([YEAR - 1, YEAR, YEAR + 1]))))
        days = draw(st.none() | st.integers(0, 500))
        end = None if days is None else start + timedelta(days=days)
        idents.append(IdentityPeriod(cat, start, end))
    filings = tuple(
        ChronicFiling(code, draw(day_in(YEAR)))
        for code in draw(st.lists(st.sampled_from(["I10", "E11", "N18"]), unique=True, max_size=2))
    )
    cross = tuple(
        Period(start, draw(st.none() | st.integers(0, 300).map(lambda d, s=start: s + timedelta(days=d))), kind)
        for start, kind in draw(
            st.lists(
                st.tuples(day_in(YEAR), st.sampled_from(["", "long_term", "referral", "temporary"] if issue15 else [""])),
                max_size=2,
            )
        )
    )
    tiers = []
    for _ in range(0 if employee else draw(st.integers(0, 3))):
        begin = draw(st.sampled_from([date(YEAR, 1, 1), date(YEAR + 1, 1, 1)]) | day_in(YEAR))
        end = draw(
            st.none() | st.just(date(begin.year, 12, 31)) | st.integers(0, 400).map(lambda d, b=begin: b + timedelta(days=d))
        )
        tiers.append(ResidentTierPeriod(draw(st.sampled_from([1, 2])), begin, end))
    institutions = tuple(
        InstitutionChoice(draw(st.sampled_from(HOSPITALS)), draw(st.sampled_from(["designated", "linked", "signed"])),
                          draw(day_in(YEAR)), draw(st.none() | day_in(YEAR)))
        for _ in range(draw(st.integers(0, 4)))
    )  # fmt: skip
    family = tuple(Period(draw(day_in(YEAR)), draw(st.none() | day_in(YEAR + 1))) for _ in range(draw(st.integers(0, 1))))
    # birth dates around the packs' age cuts (6, 18, 45, 60, 70), birthdays within the claims' years; sometimes unknown
    age = draw(st.sampled_from([1, *AGES, *(a - 1 for a in AGES), 85]))
    born = None if draw(st.integers(0, 19)) == 0 else draw(day_in(YEAR - age))
    return Person(
        psn_no, "310" if employee else "390", tuple(idents), filings, cross,
        emp_status=draw(st.sampled_from(["in_service", "retired"])) if employee else None,
        emp_tier=draw(st.sampled_from(["unit", "individual_1", "individual_2"] * 3 + [None])) if employee else None,
        birth_date=born, resident_tiers=tuple(tiers), institutions=institutions, family_doctor=family,
        acct_balance=draw(st.sampled_from([0, 5_000, 50_000, 1_000_000]) | st.integers(0, 300_000)) if employee else 0,
        township=draw(st.sampled_from(["", *TOWNS])), signed_township=draw(st.sampled_from(["", *TOWNS])),
    )  # fmt: skip


@st.composite
def summary(draw: st.DrawFn) -> PolicyRangeSummary:
    scp = draw(st.integers(0, 40_000_000))
    full_own, over, pre = draw(st.integers(0, 500_000)), draw(st.integers(0, 200_000)), draw(st.integers(0, 500_000))
    full_pay = draw(st.integers(0, scp))
    fixed = draw(st.integers(0, scp - full_pay))
    class_b = draw(st.integers(0, scp - full_pay - fixed))
    return PolicyRangeSummary(scp + full_own + over + pre, full_own, over, pre, scp, full_pay, fixed, class_b)


@st.composite
def fee_lines(draw: st.DrawFn, claim_id: str) -> tuple[FeeLine, ...]:
    """Fee lines of every class, listed items (full pay, fixed share, fully self-paid), prices over a ceiling."""
    out = []
    for n in range(draw(st.integers(1, 5))):
        code = draw(st.sampled_from(ITEMS))
        cnt = draw(st.integers(1, 4))
        pric = draw(st.integers(0, 3_000_000))
        out.append(FeeLine(f"{claim_id}-{n}", code, pric * cnt, draw(st.sampled_from(["01", "02", "03"])), Decimal(cnt), pric))
    return tuple(out)


CLAIM_PLACES = ("in_county", "out_of_county", "cross_region", "cross_region", "cross_emergency")


@st.composite
def claims_for(draw: st.DrawFn, p: Person, start: int, issue15: bool = True) -> list[Claim]:
    out = []
    for i in range(draw(st.integers(1, 10))):
        med = draw(st.sampled_from(["21", "21", "14", "11"]))
        out.append(Claim(
            f"C{start + i:05d}", p.psn_no, draw(day_in(draw(st.sampled_from([YEAR, YEAR, YEAR + 1])))), med,
            draw(st.integers(1, 3)),
            draw(st.sampled_from(CLAIM_PLACES[: 5 if issue15 else 4])),
            draw(st.sampled_from(["", "I10", "E11x", "N18", "J06"])),
            **(
                {"fee_lines": draw(fee_lines(f"C{start + i:05d}"))}
                if issue15 and draw(st.integers(0, 2)) == 0
                else {"summary": draw(summary())}
            ),
            fixmedins_code=draw(st.sampled_from(["", *HOSPITALS])),
            major_dise_flag=issue15 and draw(st.integers(0, 3)) == 0,
            township=draw(st.sampled_from([p.township, p.township, p.signed_township, "T3", ""])),
        ))  # fmt: skip
    return out


@st.composite
def population(draw: st.DrawFn, issue15: bool = True) -> tuple[list[Person], list[Claim]]:
    """People and their claims; ``issue15=False``: summaries only, no finer places (see :func:`random_pack`)."""
    people = [draw(person(f"P{i:03d}", issue15)) for i in range(draw(st.integers(1, 4)))]
    claims: list[Claim] = []
    for p in people:
        claims += draw(claims_for(p, len(claims), issue15))
    return people, claims
