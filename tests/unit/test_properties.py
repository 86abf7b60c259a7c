"""Hypothesis properties over random valid packs and random claim sequences.

The packs use every feature: admission and yearly deductibles (2nd/3rd admission), ratio
tables by place and level, ratio bands, caps shared by cap group, employee caps by tier,
identity overrides, two-disease full payment, chronic filing with fallback, item self-pay
shares, fully self-paid items, price ceilings, critical illness (both band bases, cap, tilt),
assistance by category with a shared limit, tilted assistance.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.core.identities import IdentityPeriod
from yibao.policy import PolicyPack, pack_from_mapping
from yibao.policy.schema import PLACE_PARENT, Policy
from yibao.policy.schema import PLACES as ALL_PLACES
from yibao.settlement import Claim, FeeLine, Person, PolicyRangeSummary, Settlement, YearToDate, reverse, settle, settle_sequence
from yibao.settlement.model import ChronicFiling, Period

pytestmark = pytest.mark.slow  # 200 examples each of whole claim histories: in CI, not the quick command

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CATS = ("tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin")
PLACES = ("in_county", "out_of_county", "cross_filed", "cross_unfiled")
ITEMS = ("A1", "A2", "B1", "B2", "C1", "LIST")
RESIDENT_LINES = ("inpatient", "chronic", "two_diseases", "outpatient")
EMPLOYEE_LINES = ("emp_inpatient", "emp_outpatient_in", "emp_outpatient_ret")


def A(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "generated"}


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def pct(bp: int) -> str:
    sign = "-" if bp < 0 else ""
    return f"{sign}{abs(bp) // 100}.{abs(bp) % 100:02d}"


bps = st.integers(0, 10_000)
signed_bps = st.integers(-3_000, 3_000)
fens = st.integers(0, 3_000_000)


@st.composite
def deductibles(draw: st.DrawFn, hi: int = 200_000) -> str | dict[int, str]:
    """By level, or one amount for every level."""
    if draw(st.booleans()):
        return yuan(draw(st.integers(0, hi)))
    return {lv: yuan(draw(st.integers(0, hi))) for lv in (1, 2, 3)}


@st.composite
def ratio_tables(draw: st.DrawFn) -> object:
    """By place and level, by level only, or one ratio everywhere."""
    shape = draw(st.sampled_from(["scalar", "level", "place"]))
    if shape == "scalar":
        return pct(draw(bps))
    if shape == "level":
        return {lv: pct(draw(bps)) for lv in (1, 2, 3)}
    return {place: {lv: pct(draw(bps)) for lv in (1, 2, 3)} for place in PLACES}


@st.composite
def band_starts(draw: st.DrawFn, max_extra: int = 3) -> list[int]:
    extra = draw(st.lists(st.integers(1, 5_000_000), max_size=max_extra, unique=True))
    return [0, *sorted(extra)]


@st.composite
def overrides(draw: st.DrawFn, ranked: list[str]) -> dict[str, dict[str, Any]]:
    cats = draw(st.lists(st.sampled_from(ranked), unique=True, max_size=3))
    return {
        c: {"deductible_pct": A(pct(draw(bps))), "ratio_add": A(pct(draw(signed_bps))), "no_cap": draw(st.booleans())}
        for c in cats
    }


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    priority = draw(st.permutations(CATS))[: draw(st.integers(0, len(CATS)))]
    ranked = [*priority, "ordinary"]  # a pack may only name categories it ranks (ordinary: everyone else)
    fee: dict[str, Any] = {"class_b_selfpay_first": A(pct(draw(bps)))}
    if draw(st.booleans()):
        fee["item_selfpay_first"] = A(
            {i: pct(draw(bps)) for i in draw(st.lists(st.sampled_from(ITEMS), unique=True, max_size=2))}
        )
    fee["fully_selfpaid_items"] = draw(st.lists(st.sampled_from(ITEMS), unique=True, max_size=1))
    if draw(st.booleans()):
        fee["price_ceilings"] = A(
            {i: yuan(draw(st.integers(0, 50_000))) for i in draw(st.lists(st.sampled_from(ITEMS), max_size=3))}
        )

    pool_cap = draw(st.none() | fens)

    def cap_fields(cap: int | None) -> dict[str, Any]:
        return {} if cap is None else {"cap": A(yuan(cap))}

    def common(label: str, insutype: str, med_types: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label_zh": label,
            "label_en": label,
            "insutype": insutype,
            "med_types": med_types,
            "ratio": A(draw(ratio_tables())),
        }
        if draw(st.booleans()):
            out["identity_overrides"] = draw(overrides(ranked))
        return out

    inpatient = common("住院", "390", ["21"])
    inpatient.update(deductible_kind="admission", deductible=A(draw(deductibles())), cap_group="pool", **cap_fields(pool_cap))
    if draw(st.booleans()):
        inpatient["deductible_2nd"] = A(draw(deductibles()))
    if draw(st.booleans()):
        inpatient["deductible_3rd"] = A(draw(deductibles()))
    if draw(st.booleans()):
        inpatient["ratio_bands"] = A([{"start": yuan(s), "add": pct(draw(signed_bps))} for s in draw(band_starts())])

    chronic = common("慢特病", "390", ["14"])
    chronic.update(requires_filing=True, fallback="outpatient", cap_group="pool", **cap_fields(pool_cap))
    if draw(st.booleans()):
        chronic.update(deductible_kind="year", deductible=A(draw(deductibles())))

    two = common("两病", "390", ["11"])
    two.update(diseases=["I10", "E11"], full_pay_items=["LIST"], **cap_fields(draw(st.none() | fens)))

    shared_op_group = draw(st.booleans())
    outpatient = common("门诊", "390", ["11"])
    outpatient.update(deductible_kind="year", deductible=A(draw(deductibles(50_000))), **cap_fields(draw(st.none() | fens)))
    if shared_op_group:
        outpatient["deductible_group"] = "op"
        two.update(deductible_kind="year", deductible=A(draw(deductibles(50_000))), deductible_group="op")

    emp_in = common("职工住院", "310", ["21"])
    emp_in.update(deductible_kind="admission", deductible=A(draw(deductibles())), **cap_fields(draw(st.none() | fens)))

    def emp_outpatient(status: str) -> dict[str, Any]:
        out = common(f"职工门诊{status}", "310", ["11"])
        tiers = {t: yuan(draw(st.integers(0, 500_000))) for t in ("unit", "individual_1", "individual_2")}
        out.update(emp_status=status, deductible_kind="year", deductible=A(draw(deductibles(30_000))), cap_by_tier=A(tiers))
        return out

    lines = {
        "inpatient": inpatient,
        "chronic": chronic,
        "two_diseases": two,
        "outpatient": outpatient,
        "emp_inpatient": emp_in,
        "emp_outpatient_in": emp_outpatient("in_service"),
        "emp_outpatient_ret": emp_outpatient("retired"),
    }
    all_lines = list(lines)
    policy: dict[str, Any] = {"identity_priority": list(priority), "fee": fee, "lines": lines}

    if draw(st.booleans()):
        ci: dict[str, Any] = {
            "insutypes": draw(st.sampled_from([["390"], ["390", "310"]])),
            "lines": draw(st.lists(st.sampled_from(all_lines), unique=True, max_size=4)),
            "deductible": A(yuan(draw(fens))),
            "band_basis": draw(st.sampled_from(["gross", "above_deductible"])),
            "bands": A([{"start": yuan(s), "ratio": pct(draw(bps))} for s in draw(band_starts())]),
        }
        if draw(st.booleans()):
            ci["cap"] = A(yuan(draw(fens)))
        if draw(st.booleans()):
            ci["tilt"] = {
                "categories": draw(st.lists(st.sampled_from(ranked), unique=True, min_size=1, max_size=3)),
                "deductible_pct": A(pct(draw(bps))),
                "ratio_add": A(pct(draw(signed_bps))),
                "no_cap": draw(st.booleans()),
            }
        policy["critical_illness"] = ci
    if draw(st.booleans()):
        cats = draw(st.lists(st.sampled_from(ranked), unique=True, max_size=4))
        policy["assistance"] = {
            "lines": draw(st.lists(st.sampled_from(all_lines), unique=True, max_size=4)),
            "categories": {c: {"deductible": A(yuan(draw(st.integers(0, 500_000)))), "ratio": A(pct(draw(bps)))} for c in cats},
            "limit": A(yuan(draw(fens))),
        }
    if draw(st.booleans()):
        policy["tilted_assistance"] = {
            "lines": draw(st.lists(st.sampled_from(all_lines), unique=True, max_size=4)),
            "categories": draw(st.lists(st.sampled_from(ranked), unique=True, max_size=4)),
            "threshold": A(yuan(draw(st.integers(0, 2_000_000)))),
            "ratio": A(pct(draw(bps))),
            "cap": A(yuan(draw(fens))),
        }
    return policy


def build(policy: dict[str, Any]) -> PolicyPack:
    return pack_from_mapping({"pack": "gen", "valid_from": "2022-01-01", "policy": policy}, "generated.yaml")


days = st.integers(0, 729).map(lambda n: date(2022, 1, 1) + timedelta(days=n))


@st.composite
def people(draw: st.DrawFn) -> Person:
    insutype: Literal["390", "310"] = "390" if draw(st.booleans()) else "310"
    identities = tuple(
        IdentityPeriod(cat, start, draw(st.none() | st.just(start + timedelta(days=draw(st.integers(0, 400))))))
        for cat, start in draw(st.lists(st.tuples(st.sampled_from([*CATS, "youfu"]), days), max_size=3))
    )
    filings = tuple(
        ChronicFiling(d, start)
        for d, start in draw(st.lists(st.tuples(st.sampled_from(["I10", "E11", "J06"]), days), max_size=2))
    )
    cross = tuple(Period(s, s + timedelta(days=draw(st.integers(0, 200)))) for s in draw(st.lists(days, max_size=1)))
    emp: dict[str, Any] = {}
    if insutype == "310":
        emp = {
            "emp_status": draw(st.sampled_from(["in_service", "retired"])),
            "emp_tier": draw(st.sampled_from(["unit", "individual_1", "individual_2"])),
        }
    return Person("P", insutype, identities, filings, cross, **emp)


counts = st.sampled_from([Decimal(1), Decimal(2), Decimal(3), Decimal("0.5"), Decimal(10)])


@st.composite
def fee_lines(draw: st.DrawFn) -> FeeLine:
    return FeeLine(
        f"L{draw(st.integers(0, 10**9))}",
        draw(st.sampled_from(ITEMS)),
        draw(fens),
        draw(st.sampled_from(["01", "02", "03"])),
        draw(counts),
        draw(st.none() | st.integers(0, 100_000)),
    )


@st.composite
def summaries(draw: st.DrawFn) -> PolicyRangeSummary:
    full, over, pre, scp = (draw(fens) for _ in range(4))
    explicit = draw(st.booleans())
    return PolicyRangeSummary(full + over + pre + scp, full, over, pre, scp if explicit else None)


@st.composite
def claims_for(draw: st.DrawFn, person: Person, n_max: int = 6) -> list[Claim]:
    med_types = ["21", "14", "11"] if person.insutype == "390" else ["21", "11"]
    out: list[Claim] = []
    for i in range(draw(st.integers(1, n_max))):
        as_summary = draw(st.booleans())
        lines = (
            ()
            if as_summary
            else tuple(
                replace(fl, feedetl_sn=f"{i}-{k}") for k, fl in enumerate(draw(st.lists(fee_lines(), min_size=1, max_size=5)))
            )
        )
        out.append(
            Claim(
                f"C{i}",
                person.psn_no,
                draw(days),
                draw(st.sampled_from(med_types)),
                draw(st.integers(1, 3)),
                draw(st.sampled_from(["in_county", "out_of_county", "cross_region"])),
                draw(st.sampled_from(["I10.0", "E11", "J06", ""])),
                lines,
                draw(summaries()) if as_summary else None,
            )
        )
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[PolicyPack, Person, list[Claim]]:
    policy = draw(policies())
    person = draw(people())
    return build(policy), person, draw(claims_for(person))


# --- helpers ------------------------------------------------------------------------------------------------


def basic_cap(policy: Policy, person: Person, s: Settlement) -> tuple[str, int | None]:
    line = policy.lines[s.line]
    ov = line.identity_overrides.get(s.identity)
    if ov is not None and ov.no_cap:
        cap = None
    elif line.cap_by_tier is not None:
        assert person.emp_tier is not None
        cap = line.cap_by_tier[person.emp_tier]
    else:
        cap = line.cap
    return line.cap_group or s.line, cap


def ci_cap(policy: Policy, s: Settlement) -> int | None:
    ci = policy.critical_illness
    assert ci is not None
    if ci.tilt is not None and s.identity in ci.tilt.categories and ci.tilt.no_cap:
        return None
    return ci.cap


def within(pay: int, cap: int | None, before: int) -> bool:
    return cap is None or pay <= max(0, cap - before)


def check_claim(pack: PolicyPack, person: Person, before: YearToDate, s: Settlement) -> None:
    policy = pack.at(s.setl_date)
    payers = (s.hifp_pay, s.hifmi_pay, s.maf_pay, s.oth_pay)
    # (1) parts add up exactly, none negative
    assert sum(payers) + s.psn_part_amt == s.medfee_sumamt
    assert s.fund_pay_sumamt == sum(payers)
    assert all(p >= 0 for p in payers)
    assert s.psn_part_amt >= 0
    parts = (s.fulamt_ownpay_amt, s.overlmt_selfpay, s.preselfpay_amt, s.inscp_scp_amt)
    assert all(p >= 0 for p in parts)
    assert sum(parts) == s.medfee_sumamt
    assert 0 <= s.act_pay_dedc <= s.inscp_scp_amt
    assert s.pool_prop_selfpay >= 0
    # (2) no payer pays more than its base ...
    assert s.hifp_pay <= s.inscp_scp_amt
    assert s.hifmi_pay <= s.inscp_scp_amt - s.hifp_pay
    assert s.maf_pay <= s.inscp_scp_amt - s.hifp_pay - s.hifmi_pay
    assert s.oth_pay <= s.inscp_scp_amt - s.hifp_pay - s.hifmi_pay - s.maf_pay
    # ... nor beyond what its cap or limit leaves this year
    group, cap = basic_cap(policy, person, s)
    assert within(s.hifp_pay, cap, before.basic_paid.get(group, 0))
    if cap is not None and s.hifp_pay > 0:
        assert s.ytd_after.basic_paid[group] <= cap
    if s.hifmi_pay:
        assert policy.critical_illness is not None and s.line in policy.critical_illness.lines
        assert within(s.hifmi_pay, ci_cap(policy, s), before.ci_paid)
    if s.maf_pay:
        ma = policy.assistance
        assert ma is not None and s.line in ma.lines and s.identity in ma.categories
        assert s.ytd_after.maf_paid <= ma.limit
    if s.oth_pay:
        ta = policy.tilted_assistance
        assert ta is not None and s.line in ta.lines and s.identity in ta.categories
        assert s.ytd_after.tilt_paid <= ta.cap
    # accumulators move by exactly what was consumed
    assert s.ytd_after == before.plus(s.consumed)
    assert (s.consumed.ci_paid, s.consumed.maf_paid, s.consumed.tilt_paid) == (s.hifmi_pay, s.maf_pay, s.oth_pay)
    assert sum(s.consumed.basic_paid.values()) == s.hifp_pay
    # setldetail rows carry the same amounts
    assert sum(d.fund_payamt for d in s.setldetail) == s.fund_pay_sumamt


def settle_by_hand(pack: PolicyPack, person: Person, claims: list[Claim]) -> list[tuple[YearToDate, Settlement]]:
    """Settle one claim at a time, passing the accumulators of each year by hand."""
    years: dict[int, YearToDate] = {}
    out = []
    for claim in sorted(claims, key=lambda c: c.setl_date):
        before = years.get(claim.setl_date.year, YearToDate(claim.setl_date.year))
        s = settle(pack, person, before, claim)
        years[claim.setl_date.year] = s.ytd_after
        out.append((before, s))
    return out


# --- properties ---------------------------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_parts_add_up_and_no_payer_exceeds_its_base_or_cap(scenario):
    pack, person, claims = scenario
    for before, s in settle_by_hand(pack, person, claims):
        check_claim(pack, person, before, s)
    # year totals never pass the limits that always apply
    policy = pack.at(date(2022, 1, 1))
    for _, s in settle_by_hand(pack, person, claims):
        if policy.assistance is not None:
            assert s.ytd_after.maf_paid <= policy.assistance.limit
        if policy.tilted_assistance is not None:
            assert s.ytd_after.tilt_paid <= policy.tilted_assistance.cap


@st.composite
def bumps(draw: st.DrawFn, claim: Claim) -> Claim:
    """The same claim with a higher bill."""
    delta = draw(st.integers(1, 1_000_000))
    if claim.summary is not None:
        s = claim.summary
        part = draw(st.sampled_from(["fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "scp"]))
        if part == "scp":
            scp = None if s.inscp_scp_amt is None else s.inscp_scp_amt + delta
            new = replace(s, medfee_sumamt=s.medfee_sumamt + delta, inscp_scp_amt=scp)
        else:
            new = replace(s, medfee_sumamt=s.medfee_sumamt + delta, **{part: getattr(s, part) + delta})
        return replace(claim, summary=new)
    if draw(st.booleans()):
        extra = replace(draw(fee_lines()), feedetl_sn="extra", det_item_fee_sumamt=delta)
        return replace(claim, fee_lines=(*claim.fee_lines, extra))
    i = draw(st.integers(0, len(claim.fee_lines) - 1))
    lines = list(claim.fee_lines)
    lines[i] = replace(lines[i], det_item_fee_sumamt=lines[i].det_item_fee_sumamt + delta)
    return replace(claim, fee_lines=tuple(lines))


@SETTINGS
@given(st.data())
def test_higher_bill_never_lowers_the_patients_part(data):
    pack, person, claims = data.draw(scenarios())
    settled = settle_by_hand(pack, person, claims)
    k = data.draw(st.integers(0, len(settled) - 1))
    before, s = settled[k]
    claim = next(c for c in claims if c.claim_id == s.claim_id)
    bigger = data.draw(bumps(claim))
    s2 = settle(pack, person, before, bigger)
    assert s2.medfee_sumamt > s.medfee_sumamt
    assert s2.psn_part_amt >= s.psn_part_amt
    # and the funds never pay less in total either
    assert s2.fund_pay_sumamt >= 0
    check_claim(pack, person, before, s2)


@SETTINGS
@given(scenarios())
def test_settle_then_reverse_restores_the_accumulators(scenario):
    pack, person, claims = scenario
    settled = settle_by_hand(pack, person, claims)
    for before, s in settled:
        assert reverse(s, s.ytd_after) == before
    # reversing every claim of a year, last first, empties that year's accumulators
    by_year: dict[int, list[Settlement]] = {}
    for _, s in settled:
        by_year.setdefault(s.setl_date.year, []).append(s)
    for year, ss in by_year.items():
        ytd = ss[-1].ytd_after
        for s in reversed(ss):
            ytd = reverse(s, ytd)
        assert ytd == YearToDate(year)


@SETTINGS
@given(scenarios())
def test_settle_sequence_equals_settling_one_at_a_time(scenario):
    pack, person, claims = scenario
    in_one_run = list(settle_sequence(pack, person, claims))
    by_hand = [s for _, s in settle_by_hand(pack, person, claims)]
    assert in_one_run == by_hand


@SETTINGS
@given(scenarios())
def test_policy_range_parts_add_up_per_fee_line(scenario):
    pack, person, claims = scenario
    for _, s in settle_by_hand(pack, person, claims):
        claim = next(c for c in claims if c.claim_id == s.claim_id)
        assert len(s.fee_results) == len(claim.fee_lines)
        for fl, r in zip(claim.fee_lines, s.fee_results, strict=True):
            assert r.det_item_fee_sumamt == fl.det_item_fee_sumamt
            parts = (r.fulamt_ownpay_amt, r.overlmt_selfpay, r.preselfpay_amt, r.inscp_scp_amt)
            assert all(p >= 0 for p in parts)
            assert sum(parts) == r.det_item_fee_sumamt
            if fl.chrgitm_lv == "03":
                assert r.fulamt_ownpay_amt == fl.det_item_fee_sumamt
            if fl.chrgitm_lv == "01":
                assert r.preselfpay_amt == 0
        if s.fee_results:
            assert s.medfee_sumamt == sum(r.det_item_fee_sumamt for r in s.fee_results)
            assert s.fulamt_ownpay_amt == sum(r.fulamt_ownpay_amt for r in s.fee_results)
            assert s.overlmt_selfpay == sum(r.overlmt_selfpay for r in s.fee_results)
            assert s.preselfpay_amt == sum(r.preselfpay_amt for r in s.fee_results)
            assert s.inscp_scp_amt == sum(r.inscp_scp_amt for r in s.fee_results)


@SETTINGS
@given(policies())
def test_generated_packs_resolve_to_the_values_written(policy):
    # the generator writes yuan and percent as text; the pack must hold them exactly in fen and basis points
    p = build(policy).at(date(2022, 6, 1))
    written = policy["lines"]["inpatient"]["deductible"]["value"]
    if not isinstance(written, dict):
        written = dict.fromkeys((1, 2, 3), written)
    assert p.lines["inpatient"].deductible == {lv: int(Decimal(v) * 100) for lv, v in written.items()}
    ratio = policy["lines"]["outpatient"]["ratio"]["value"]
    if not isinstance(ratio, dict):
        ratio = dict.fromkeys((1, 2, 3), ratio)
    if 1 in ratio:
        ratio = dict.fromkeys(PLACES, ratio)
    ratio = {pl: ratio.get(pl, ratio[PLACE_PARENT.get(pl, pl)]) for pl in ALL_PLACES}  # finer kinds not written: the parent's
    assert p.lines["outpatient"].ratio == {pl: {lv: int(Decimal(v) * 100) for lv, v in t.items()} for pl, t in ratio.items()}
