"""The batch engine gives the same fen as ``settle`` for every claim and every accumulator.

Claims with fee lines are settled by ``settle`` from their lines and by the batch engine from their
summary (:func:`yibao.settlement.cases.summarised`: the policy-range split and its parts paid apart), so
the test also proves a fee-line claim and its summary settle the same."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.packgen import DECLARED, TOWNS, population, random_pack
from yibao.core.errors import InputError, InputErrors
from yibao.core.identities import IdentityPeriod, deciding_identity
from yibao.policy.pack import PolicyPack, load_pack
from yibao.settlement.batch.engine import OUTPUT_AMOUNTS, settle_batch
from yibao.settlement.batch.frames import to_frames, ytd_from_row
from yibao.settlement.cases import summarised
from yibao.settlement.model import ChronicFiling, Claim, Person, PolicyRangeSummary, Settlement
from yibao.settlement.settle import settle, settle_sequence


def _reference(
    pack: PolicyPack, people: list[Person], claims: list[Claim]
) -> tuple[dict[str, object], dict[tuple[str, int], object]]:
    per_claim: dict[str, object] = {}
    ytd: dict[tuple[str, int], object] = {}
    for p in people:
        for s in settle_sequence(pack, p, [c for c in claims if c.psn_no == p.psn_no]):
            per_claim[s.claim_id] = s
            ytd[(p.psn_no, s.setl_date.year)] = s.ytd_after
    return per_claim, ytd


_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _for_batch(pack: PolicyPack, people: list[Person], claims: list[Claim], settled: dict[str, Settlement]) -> list[Claim]:
    """The claims as the batch engine takes them: a fee-line claim as its summary. When the reference
    refused, a fee-line claim it did not settle is summarised as settled alone, or, if it cannot be
    (its person or line is refused: the same for any amounts), by its total only."""
    person = {p.psn_no: p for p in people}
    out = []
    for c in claims:
        s = settled.get(c.claim_id)
        if c.summary is None and s is None:
            try:
                s = settle(pack, person[c.psn_no], None, c)
            except InputError:
                total = sum(fl.det_item_fee_sumamt for fl in c.fee_lines)
                out.append(Claim(c.claim_id, c.psn_no, c.setl_date, c.med_type, c.hosp_lv, c.place, c.dise_codg,
                                 summary=PolicyRangeSummary(total)))  # fmt: skip
                continue
        out.append(c if c.summary is not None or s is None else summarised(c, s))
    return out


def _batch_equals_settle(pack: PolicyPack, pop: tuple[list[Person], list[Claim]]) -> None:
    people, claims = pop
    try:
        per_claim, ytd = _reference(pack, people, claims)
    except InputError as exc:
        event(f"refused: {exc.field}")
        # the same bad input must be refused by the batch engine too
        try:
            settle_batch(pack, to_frames(people, _for_batch(pack, people, claims, {})))
        except InputErrors as batch_exc:
            assert any(e.field == exc.field for e in batch_exc.errors)
            return
        raise AssertionError(f"settle refused ({exc}) but the batch engine accepted") from None
    event("settled")
    result = settle_batch(pack, to_frames(people, _for_batch(pack, people, claims, per_claim)))  # type: ignore[arg-type]
    assert result.claims.height == len(claims)
    for row in result.claims.iter_rows(named=True):
        s = per_claim[row["claim_id"]]
        for field in OUTPUT_AMOUNTS:
            assert row[field] == getattr(s, field), (row["claim_id"], field)
        assert row["line"] == s.line and row["identity"] == s.identity  # type: ignore[attr-defined]
        assert row["captn_town"] == s.captn_town, row["claim_id"]  # type: ignore[attr-defined]
    if any(step.key == "person_terms" for s in per_claim.values() for step in s.trace):  # type: ignore[attr-defined]
        event("some claim settles on person terms (age band / resident tier)")
    if any(st.args.get("resident_tier") for s in per_claim.values() for st in s.trace if st.key == "person_terms"):  # type: ignore[attr-defined]
        event("some claim settles on resident-tier terms")
    for fact in ("institution", "family_doctor"):
        if any(
            st.args.get(fact) not in (None, False, "other")
            for s in per_claim.values()
            for st in s.trace
            if st.key == "person_terms"
        ):  # type: ignore[attr-defined]
            event(f"some claim settles on person terms with {fact} held")
    if any(s.line == "children_outpatient" for s in per_claim.values()):  # type: ignore[attr-defined]
        event("some claim on a line selected by age")
    for payer in ("act_pay_dedc", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay"):
        if any(getattr(s, payer) for s in per_claim.values()):
            event(f"some claim has {payer}")
    _features_met(per_claim)
    declared = [s for s in per_claim.values() if s.identity == DECLARED]  # type: ignore[attr-defined]
    if declared:
        event("a pack-declared category decided some claim")
        if any(s.maf_pay or s.oth_pay for s in declared):  # type: ignore[attr-defined]
            event("a pack-declared category's claim has assistance or tilted assistance")
    steps = {step.key for s in per_claim.values() for step in s.trace}  # type: ignore[attr-defined]
    if "full_pay_outside_cap" in steps:
        event("listed items paid in full outside the cap")
    tier_steps = {(step.tier, step.key) for s in per_claim.values() for step in s.trace}  # type: ignore[attr-defined]
    for tier, key in sorted(tier_steps):
        if key in ("base_in_catalogue", "major", "block", "threshold_income"):
            event(f"some claim's {tier} took {key}")
    by_psn = {p.psn_no: p for p in people}
    for s in per_claim.values():
        pol, who = pack.at(s.setl_date), by_psn[s.psn_no]  # type: ignore[attr-defined]
        if deciding_identity(who.identities, s.setl_date, pol.identity_priority) != s.identity:  # type: ignore[attr-defined]
            event("an identity's validity from recognition changed the deciding identity")
            break
    if any(s.hifmi_pay and s.insutype == "310" for s in per_claim.values()):  # type: ignore[attr-defined]
        event("some employee claim has hifmi_pay")
    accounts = [s for s in per_claim.values() if any(st.tier == "account" for st in s.trace)]  # type: ignore[attr-defined]
    if any(s.acct_pay for s in accounts):  # type: ignore[attr-defined]
        event("some claim paid from the personal account")
    if any(
        s.psn_cash_pay and st.args["balance_fen"] == st.args["acct_fen"] > 0
        for s in accounts
        for st in s.trace
        if st.tier == "account"
    ):  # type: ignore[attr-defined]
        event("some claim used up the personal account")
    firsts = [st.args for s in accounts for st in s.trace if st.key == "account_first"]  # type: ignore[attr-defined]
    if any(a["acct_fen"] for a in firsts):
        event("a personal account paid first, before the deductible")
    if any(a["acct_fen"] and a["rest_fen"] for a in firsts):
        event("a personal account ran out within a claim, the rest going to the deductible")
    _basic_feature_events(per_claim.values())
    _capitation_events(per_claim.values())
    assert result.year_to_date.height == len(ytd)
    for row in result.year_to_date.iter_rows(named=True):
        assert ytd_from_row(row) == ytd[(row["psn_no"], row["year"])]


def _capitation_events(settled: Iterable[Any]) -> None:
    """Which of capitation's cases the example met (issue 17): paid by head, the limit used up, item by item above it."""
    under = [s for s in settled if s.captn_town]
    seen = {
        "a claim draws on a capitation township's pot": bool(under),
        "a capitation claim is paid by head": any(s.captn_pay for s in under),
        "a capitation claim meets a used-up limit": any(
            st.key == "capitation" and st.args["paid_before_fen"] >= st.args["limit_fen"] for s in under for st in s.trace
        ),
        "a capitation claim is paid partly item by item above the limit": any(
            st.key == "capitation" and st.args["item_fen"] > 0 and st.args["head_fen"] > 0 for s in under for st in s.trace
        ),
        "a capitation claim of a category paid item by item above the limit": any(
            st.key == "capitation" and st.args["item_by_item"] for s in under for st in s.trace
        ),
    }
    for what, hit in seen.items():
        if hit:
            event(what)


def _basic_feature_events(settled: Iterable[Any]) -> None:
    """Which of the basic tier's periods and ceilings the example exercised (issue 15, features 1 and 2)."""
    steps = [(step, s) for s in settled for step in s.trace if step.tier == "basic"]
    seen = {
        "a cost ceiling binds (cost left above it)": any(
            st.key.startswith("cost_ceiling") and st.args["above_fen"] > 0 and st.args["counted_fen"] > 0 for st, _ in steps
        ),
        "a cost ceiling is used up before the claim": any(
            st.key.startswith("cost_ceiling") and st.args["counted_fen"] == 0 and st.args["before_fen"] > 0 for st, _ in steps
        ),
        "a deductible is taken off the payment": any(
            st.key == "deductible_off_pay" and st.args["dedc_fen"] > 0 for st, _ in steps
        ),
        "a monthly/quarterly deductible is charged": any(
            st.key == "deductible_period" and st.args["dedc_fen"] > 0 for st, _ in steps
        ),
        "a per-claim deductible is charged": any(st.key == "deductible_claim" for st, _ in steps),
        "a deductible is waived for a filed disease": any(st.key == "deductible_waived" for st, _ in steps),
        "a combined cap for two filed diseases applies": any(st.key == "cap" and st.args.get("combined") for st, _ in steps),
        "a level above those attended charges the difference": any(
            st.key == "deductible_highest" and st.args["before_fen"] > 0 and st.args["dedc_fen"] > 0 for st, _ in steps
        ),
        "a monthly/quarterly cap binds": any(
            st.key == "cap" and "period" in st.args and st.args["pay_fen"] < st.args["raw_fen"] for st, _ in steps
        ),
        "a person-year has accumulators of two months or quarters": any(
            len({k for k in s.ytd_after.basic_paid | s.ytd_after.deductible_base if "@" in k}) > 1 for _, s in steps
        ),
    }
    for what, hit in seen.items():
        if hit:
            event(what)


@settings(max_examples=20, deadline=None, suppress_health_check=_HEALTH)
@given(pack=random_pack(capitation=True), pop=population())
def test_batch_equals_settle_for_every_claim_and_accumulator(pack: PolicyPack, pop: tuple[list[Person], list[Claim]]) -> None:
    _batch_equals_settle(pack, pop)


@pytest.mark.slow  # a large run: the full suite (CI) has it, the quick command leaves it out
@settings(max_examples=230, deadline=None, suppress_health_check=_HEALTH)  # with the 20 random examples above: 250
@given(pack=random_pack(capitation=True), pop=population())
def test_batch_equals_settle_many(pack: PolicyPack, pop: tuple[list[Person], list[Claim]]) -> None:
    _batch_equals_settle(pack, pop)


_FEATURE_STEPS = {
    "fixed_share": "a fixed fund share of listed items",
    "class_b": "乙类 at its own ratio",
    "place_selfpay_first": "a self-pay-first share by place",
    "deductible_place": "a deductible by place",
    "full_pay": "listed items paid in full",
}


def _features_met(per_claim: dict[str, object]) -> None:
    """Name the issue-15 features the claims met, for Hypothesis's statistics (``--hypothesis-show-statistics``)."""
    settled: list[Settlement] = list(per_claim.values())  # type: ignore[arg-type]
    keys = {step.key for s in settled for step in s.trace if step.tier == "basic"}
    for key, what in _FEATURE_STEPS.items():
        if key in keys:
            event(f"some claim has {what}")
    places = {step.args["place"] for s in settled for step in s.trace if step.key == "ratio"}
    for place in sorted(places - {"in_county", "out_of_county", "cross_filed", "cross_unfiled"}):
        event(f"some claim at {place}")
    if any(s.fee_results and any(r.chrgitm_lv == "03" and r.inscp_scp_amt for r in s.fee_results) for s in settled):
        event("some claim has 丙类 covered")
    if any(s.fee_results for s in settled):
        event("some claim has fee lines")


ZIBO = load_pack("shandong-zibo-2020")
"""The pack with a capitation block: 200 yuan a year by head, 建档立卡 and 特困 on item by item up to 1,000."""
ZIBO_EXAMPLES = 40
"""Enough Zibo townships' visits to meet each case of capitation (see the events), few enough for the quick suite."""


@st.composite
def zibo_population(draw: st.DrawFn) -> tuple[list[Person], list[Claim]]:
    """People of Zibo's townships (poor, 特困, 低保 or none; living in a township or not, signed in one or not) and
    their 2020 visits, mostly outpatient at their own township's institutions, small enough to meet the limit."""
    people, claims = [], []
    day = st.integers(0, 365).map(lambda d: date(2020, 1, 1) + timedelta(days=d))
    for i in range(draw(st.integers(1, 4))):
        cats = draw(st.lists(st.sampled_from(["pinkun", "tekun", "dibao"]), unique=True, max_size=2))
        p = Person(
            f"Z{i}",
            identities=tuple(IdentityPeriod(c, draw(day), None) for c in cats),
            chronic_filings=(ChronicFiling("I10", draw(day)),) if draw(st.booleans()) else (),
            township=draw(st.sampled_from(["", *TOWNS, TOWNS[0]])),
            signed_township=draw(st.sampled_from(["", *TOWNS])),
        )
        people.append(p)
        for _ in range(draw(st.integers(1, 8))):
            n = len(claims)
            scp = draw(st.integers(0, 60_000) | st.integers(0, 400_000))
            own = draw(st.sampled_from([0, 0, 1_000]))
            claims.append(Claim(
                f"Z{n:04d}", p.psn_no, draw(day), draw(st.sampled_from(["11", "11", "14", "21"])),
                draw(st.sampled_from([1, 1, 2, 3])), dise_codg=draw(st.sampled_from(["", "I10", "E11", "J06"])),
                summary=PolicyRangeSummary(scp + own, own, 0, 0, scp),
                township=draw(st.sampled_from([p.township, p.township, p.signed_township, "T2", ""])),
            ))  # fmt: skip
    claims.sort(key=lambda c: c.setl_date)
    return people, claims


@settings(max_examples=ZIBO_EXAMPLES, deadline=None, suppress_health_check=_HEALTH)
@given(pop=zibo_population())
def test_batch_equals_settle_under_zibo_capitation(pop: tuple[list[Person], list[Claim]]) -> None:
    _batch_equals_settle(ZIBO, pop)
