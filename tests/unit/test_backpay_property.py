"""Back-pay at the pure level: on random packs and random bill sequences, settling as an ordinary resident and then
paying every difference (:func:`yibao.settlement.backpay.resettle`) comes to settling with the identities known
from the start — per bill and fund, and in the year's accumulators; settling again after paying finds nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, event, given, settings
from tests.unit.test_properties import SETTINGS, scenarios

from yibao.core.errors import InputError
from yibao.settlement import settle_sequence
from yibao.settlement.backpay import AMOUNTS, Booked, amounts_of, resettle, summary_claim
from yibao.settlement.model import YearToDate

pytestmark = pytest.mark.slow
EXAMPLES = settings(SETTINGS, max_examples=100)  # each a whole history settled three times: CI time


@EXAMPLES
@given(scenarios())
def test_back_pay_equals_settling_with_the_identity_from_the_start(scenario):
    pack, person, claims = scenario
    assume(person.identities)
    unknown = replace(person, identities=())
    try:
        as_settled = list(settle_sequence(pack, unknown, claims))
        known = list(settle_sequence(pack, person, claims))
    except InputError:
        assume(False)
        return
    by_id = {c.claim_id: c for c in claims}
    booked = [
        Booked(s.claim_id, s.setl_date, summary_claim(by_id[s.claim_id], amounts_of(s), s.fee_results), amounts_of(s),
               s.identity, s.line, s.consumed)
        for s in as_settled
    ]  # fmt: skip
    diffs = resettle(pack, person, booked)
    event("a bill changed" if any(d.changed for d in diffs) else "no bill changed")
    assert [d.before.ref for d in diffs] == [s.claim_id for s in known]
    years: dict[int, YearToDate] = {}
    for d, before, target in zip(diffs, as_settled, known, strict=True):
        for a in AMOUNTS:
            assert getattr(before, a) + d.delta[a] == getattr(target, a), (d.before.ref, a)
        assert d.after.identity == target.identity
        assert d.delta["medfee_sumamt"] == 0
        assert sum(d.delta[f] for f in ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")) == d.delta["fund_pay_sumamt"]
        assert d.delta["fund_pay_sumamt"] + d.delta["psn_part_amt"] == 0  # the parts of a correction add up
        year = before.setl_date.year
        years[year] = years.get(year, YearToDate(year)).plus(before.consumed).plus(d.consumed)
    for year, ytd in years.items():
        assert ytd == [s for s in known if s.setl_date.year == year][-1].ytd_after
    # paid once: the bills as they now stand settle again with no difference
    paid = [replace(b, amounts=amounts_of(d.after), identity=d.after.identity, consumed=d.after.consumed)
            for b, d in zip(booked, diffs, strict=True)]  # fmt: skip
    assert not any(d.changed for d in resettle(pack, person, paid))
