"""The position a clerk is shown is what the next settlement may pay.

After a random claim history for one person under a random pack, for every payer row of
:func:`yibao.settlement.position.payer_positions` a very large next claim that reaches that payer
is settled: the cap it applies and the payments it counts are the row's, it pays
``min(what it would pay uncapped, remaining shown)``, and the position after it shows as
remaining what the settlement reports as left (``crt_payb_lmt_amt``). A row whose cap holds at some classes
of institution only (terms by the claim's institution) is reached by a claim at an institution of that class.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.packgen import YEAR, claims_for, person, random_pack

from yibao.core.errors import InputError
from yibao.policy.pack import PolicyPack
from yibao.settlement.model import Claim, Person, PolicyRangeSummary, Settlement, TraceStep, YearToDate
from yibao.settlement.position import PayerPosition, payer_positions, reachable_classes
from yibao.settlement.settle import FUND_PAY_TYPE, settle, settle_sequence

DAY = date(YEAR, 12, 31)
HUGE = 2_000_000_000  # 20 million yuan, all in the policy range: above every cap the packs draw
TRACE_TIER = {"hifp_pay": "basic", "hifmi_pay": "critical_illness", "maf_pay": "assistance", "oth_pay": "tilted"}


@st.composite
def history(draw: st.DrawFn) -> tuple[Person, list[Claim]]:
    p = draw(person("P001"))
    return p, [c for c in draw(claims_for(p, 0)) if c.setl_date.year == YEAR]


def _at(p: Person, row: PayerPosition) -> str:
    """An institution of the first class the row's cap holds at (``""``: one outside the person's selection)."""
    wanted = row.institutions[0] if row.institutions else reachable_classes(p, DAY)[0]
    codes = sorted({c.fixmedins_code for c in p.institutions if c.holds_on(DAY)} | {""})
    return next(code for code in codes if p.institution_class(code, DAY) == wanted)


def _next_claims(pack: PolicyPack, p: Person, code: str) -> list[Claim]:
    """One huge claim on ``DAY`` at ``code`` per med_type and disease that could pick a different line."""
    policy = pack.at(DAY)
    meds = sorted({m for ln in policy.lines.values() for m in ln.med_types})
    diseases = {d for ln in policy.lines.values() for d in ln.diseases} | {f.dise_codg for f in p.chronic_filings}
    for block in (policy.assistance, policy.tilted_assistance):  # 重特大疾病 claims take their own terms
        diseases |= set(block.major_diseases) if block else set()
    summary = PolicyRangeSummary(HUGE, inscp_scp_amt=HUGE)
    return [
        Claim(f"NEXT-{m}-{d}-{f}", p.psn_no, DAY, m, 1, "in_county", d, summary=summary, fixmedins_code=code, major_dise_flag=f)
        for m in meds
        for d in sorted(diseases | {"", "J06"})
        for f in (False, True)  # a claim flagged 重特大疾病 takes the major terms too
    ]


def _reaches(s: Settlement, row: PayerPosition) -> bool:
    tier = TRACE_TIER[row.payer]
    if row.payer == "hifp_pay" and s.line not in row.lines:
        return False
    if any(t.tier == tier and t.key in ("major", "major_flag") for t in s.trace) != row.major:  # the row of its terms
        return False
    return any(t.tier == tier and t.key in ("cap", "no_cap") for t in s.trace)


def _cap_step(s: Settlement, row: PayerPosition) -> TraceStep:
    return next(t for t in s.trace if t.tier == TRACE_TIER[row.payer] and t.key in ("cap", "no_cap"))


def _left_after(s: Settlement, row: PayerPosition) -> int | None:
    tier = TRACE_TIER[row.payer]
    code = FUND_PAY_TYPE.get((tier, s.insutype)) or FUND_PAY_TYPE[(tier, "")]
    return next(d.crt_payb_lmt_amt for d in s.setldetail if d.fund_pay_type == code)


def _same_row(rows: tuple[PayerPosition, ...], row: PayerPosition) -> PayerPosition:
    key = (row.payer, row.group, row.slot, row.lines, row.major, row.institutions)
    return next(r for r in rows if (r.payer, r.group, r.slot, r.lines, r.major, r.institutions) == key)


@pytest.mark.slow  # 200 random packs and histories: in CI, not the quick command
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pack=random_pack(), hist=history())
def test_remaining_shown_is_what_the_next_settlement_may_pay(pack: PolicyPack, hist: tuple[Person, list[Claim]]) -> None:
    p, claims = hist
    ytd = YearToDate(YEAR)
    try:
        for s in settle_sequence(pack, p, claims):
            ytd = s.ytd_after
    except InputError as exc:
        event(f"history refused: {exc.field}")
        return
    policy = pack.at(DAY)
    shown = payer_positions(policy, p, ytd, DAY)
    assert shown.identity == policy.deciding_identity(p.identities, DAY)
    checked = 0
    for row in shown.payers:
        candidates = _next_claims(pack, p, _at(p, row))
        paid = ytd.basic_paid.get(row.slot or "", 0) if row.payer == "hifp_pay" else None
        assert paid is None or row.paid == paid
        for claim in candidates:
            try:
                s = settle(pack, p, ytd, claim)
            except InputError:
                continue
            if _reaches(s, row):
                break
        else:
            event(f"{row.payer}: no next claim reaches it {row.lines}")
            continue
        step = _cap_step(s, row)
        pay = getattr(s, row.payer)
        if row.cap is None:
            assert step.key == "no_cap", (row, step)
            assert row.remaining is None and _left_after(s, row) is None
        else:
            assert step.key == "cap", (row, step)
            assert (step.args["cap_fen"], step.args["paid_before_fen"]) == (row.cap, row.paid)
            assert row.remaining is not None
            assert pay == min(step.args["raw_fen"], row.remaining)
            after = _same_row(payer_positions(policy, p, s.ytd_after, DAY).payers, row)
            assert after.paid == row.paid + pay
            all_first = policy.lines[s.line].place_selfpay_first_for("in_county") == 10_000  # nothing left to count
            if row.cost_ceiling is not None and not all_first:  # a huge claim fills what was left of a cost ceiling
                assert after.cost_left in (None, 0) and after.covered == s.ytd_after.covered_cost.get(
                    policy.lines[s.line].ceiling_key(s.line), 0
                )
            assert after.remaining == _left_after(s, row) == row.remaining - pay
        event(f"{row.payer}: {'no cap' if row.cap is None else 'capped, used up' if pay == row.remaining else 'capped'}")
        checked += 1
    # the person's inpatient line (resident or employee) is always reachable
    assert checked > 0
