"""Issue 15, feature 13: the 自负段 that starts only after the personal account is used (``account_first``).

Shanghai's employee outpatient order: the current-year account (当年账户) pays the claim's policy-range cost
first, up to the balance left for the year; only the rest reaches the deductible (here the 自负段, paid in
cash) and then the ratio (共付段). Every expected amount is worked out by hand in the comment beside it
(yuan in comments, fen in the code); the batch engine must give the same fen on every claim and accumulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from tests.unit.test_basic_periods_ceiling import day, make_pack
from tests.unit.test_rules import A, assert_adds_up, ci_section, line, person, summary_claim

from yibao.core.errors import InputErrors
from yibao.policy.pack import PolicyPack
from yibao.settlement import reverse, settle_sequence
from yibao.settlement.batch.engine import OUTPUT_AMOUNTS, settle_batch
from yibao.settlement.batch.frames import to_frames, ytd_from_row
from yibao.settlement.model import Claim, Person, Settlement
from yibao.settlement.trace import render

SEGMENT = {"deductible_kind": "year", "deductible": A(1500)}
"""The 自负段: a yearly deductible of 1,500 yuan (ratio 50 % above it: the line's default)."""


def opd(account: str = "all", first: bool = True, **kw: Any) -> dict[str, Any]:
    """An employee outpatient line: 自负段 1,500 yuan a year, 50 % above it, no cap."""
    return line(("11",), insutype="310", personal_account=account, account_first=first, **SEGMENT | kw)


def employee(balance: int) -> Person:
    return person(insutype="310", emp_status="in_service", acct_balance=balance)


def claims(*scp: int, **amounts: int) -> list[Claim]:
    return [summary_claim(fen, day=day(m + 1, 2), med_type="11", **amounts) for m, fen in enumerate(scp)]


def run(pack: PolicyPack, p: Person, cs: Sequence[Claim]) -> list[Settlement]:
    """Settle in order; the parts add up, and the batch engine agrees to the fen on every claim and accumulator."""
    out = list(settle_sequence(pack, p, cs))
    for s in out:
        assert_adds_up(s)
        assert s.acct_pay + s.psn_cash_pay == s.psn_part_amt and s.acct_pay >= 0
    batch = settle_batch(pack, to_frames([p], cs))
    for row, s in zip(batch.claims.iter_rows(named=True), out, strict=True):
        for name in OUTPUT_AMOUNTS:
            assert row[name] == getattr(s, name), (s.claim_id, name)
    (ytd_row,) = batch.year_to_date.iter_rows(named=True)
    assert ytd_from_row(ytd_row) == out[-1].ytd_after
    return out


def paid(s: Settlement) -> tuple[int, int, int, int]:
    """(account, cash, fund, deductible) of a claim."""
    return s.acct_pay, s.psn_cash_pay, s.fund_pay_sumamt, s.act_pay_dedc


def test_the_self_pay_segment_starts_after_the_account_is_used_up() -> None:
    """Balance 1,000 yuan, 自负段 1,500, ratio 50 %; claims of 800, 700, 2,000 and 3,000 yuan policy range."""
    s1, s2, s3, s4 = run(make_pack({"emp_opd": opd()}), employee(100_000), claims(80_000, 70_000, 200_000, 300_000))
    # 800: the account pays it all first (1,000 -> 200 left); nothing enters the 自负段, no fund payment
    assert paid(s1) == (80_000, 0, 0, 0)
    # 700: the account pays its last 200; the rest 500 is the 自负段's first 500, in cash; no fund payment
    assert paid(s2) == (20_000, 50_000, 0, 50_000)
    # 2,000: the account is used up; 1,000 completes the 自负段 (500 + 1,000 = 1,500), 1,000 above it at 50 %:
    # fund 500, cash 1,000 + 500 = 1,500
    assert paid(s3) == (0, 150_000, 50_000, 100_000)
    # 3,000: all above the 自负段: fund 1,500, cash 1,500
    assert paid(s4) == (0, 150_000, 150_000, 0)
    # in all: account 1,000 + cash 3,500 + fund 2,000 = 6,500, the four claims' cost
    after = s4.ytd_after
    assert after.acct_paid == 100_000
    assert after.deductible_base == {"emp_opd": 50_000 + 200_000 + 300_000}  # the account-paid 1,000 is not in it
    assert after.basic_paid == {"emp_opd": 200_000}
    # the account's first payment is policy-range self-pay, outside the deductible (pool_prop_selfpay keeps it)
    assert (s1.pool_prop_selfpay, s2.pool_prop_selfpay) == (80_000, 20_000)
    # reversing the 700-yuan claim gives back exactly its 200 from the account and 500 of the 自负段
    back = reverse(s2, after)
    assert (back.acct_paid, back.deductible_base) == (80_000, {"emp_opd": 500_000})


def test_without_account_first_the_account_pays_after_the_funds() -> None:
    """The same claims on a line whose account pays after the funds: the account-paid amounts fill the 自负段."""
    out = run(make_pack({"emp_opd": opd(first=False)}), employee(100_000), claims(80_000, 70_000, 200_000, 300_000))
    # 800 and 700 fill the 自负段 (the account pays 800 and its last 200); 2,000 and 3,000 are all above it
    assert [paid(s) for s in out] == [
        (80_000, 0, 0, 80_000),
        (20_000, 50_000, 0, 70_000),
        (0, 100_000, 100_000, 0),
        (0, 150_000, 150_000, 0),
    ]  # fund 2,500 (500 more than with the account first)
    assert not [t for s in out for t in s.trace if t.key == "account_first"]


def test_the_balance_left_after_the_first_payment_pays_the_rest_of_the_share() -> None:
    """Balance 1,000 yuan; a claim of 300 policy range, 200 fully self-paid and 100 乙类 self-pay-first, then 1,000."""
    cs = [*claims(30_000, fulamt_ownpay_amt=20_000, preselfpay_amt=10_000), summary_claim(100_000, day(3), "11")]
    whole = run(make_pack({"emp_opd": opd("all")}), employee(100_000), cs[:1])
    # the account pays the 300 first (no fund payment); share 600, 700 left: it pays the rest, 300 more
    assert paid(whole[0]) == (60_000, 0, 0, 0)
    first, second = run(make_pack({"emp_opd": opd("in_catalogue")}), employee(100_000), cs)
    # in_catalogue: the share less the fully self-paid 200 is 400 (300 + 100), all from the account; cash 200
    assert paid(first) == (40_000, 20_000, 0, 0)
    # 600 left: the account pays 600 of the next 1,000 first; the rest 400 enters the 自负段 in cash
    assert paid(second) == (60_000, 40_000, 0, 40_000)
    (step,) = [t.args for t in second.trace if t.key == "account_first"]
    assert step == {"balance_fen": 60_000, "base_fen": 100_000, "acct_fen": 60_000, "rest_fen": 40_000}
    (final,) = [t.args for t in second.trace if t.tier == "account"]
    assert final == {"payable_fen": 100_000, "balance_fen": 60_000, "acct_fen": 60_000, "cash_fen": 40_000}


def test_the_place_self_pay_first_is_not_in_the_first_payment() -> None:
    """Unfiled cross-region care pays 20 % first: the account pays first only of the rest (balance 500 yuan)."""
    pack = make_pack({"emp_opd": opd(deductible=A(0), place_selfpay_first={"cross_unfiled": A(20)})})
    claim = summary_claim(100_000, day=day(3), med_type="11", place="cross_region")
    (s,) = run(pack, employee(50_000), [claim])
    # 1,000: 200 self-pay first; of the 800 the account pays 500 first; 300 at 50 %: fund 150
    # share 1,000 - 150 = 850, the account's 500 (nothing left) and cash 350
    assert paid(s) == (50_000, 35_000, 15_000, 0)


def test_a_later_tier_paying_part_of_the_first_payment_leaves_it_in_the_account() -> None:
    """Employees' 大额 pays 50 % of the policy-range self-pay from 0; balance 10,000 yuan, a claim of 1,000."""
    emp = line(("21",), insutype="310", personal_account="all", account_first=True)
    ci = ci_section(lines=("emp",)) | {"insutypes": ["310"]}
    (s,) = run(make_pack({"emp": emp}, ci), employee(1_000_000), [summary_claim(100_000, day=day(2))])
    # the account pays the 1,000 first, basic nothing; the policy-range self-pay 1,000 goes on: 大额 pays 500.
    # The share is then 500, all the account pays: 500 of the 1,000 it paid first stays in it
    assert (s.hifp_pay, s.hifmi_pay, s.psn_part_amt, s.acct_pay, s.psn_cash_pay) == (0, 50_000, 50_000, 50_000, 0)
    assert s.ytd_after.acct_paid == 50_000


def test_the_trace_says_what_the_account_paid_first() -> None:
    (s,) = run(make_pack({"emp_opd": opd()}), employee(30_000), claims(100_000))
    (step,) = [t for t in s.trace if t.key == "account_first"]
    zh = render([step])[0][1]
    en = render([step], "en")[0][1]
    assert "当年个人账户余额 300.00元" in zh and "其余 700.00元 进入起付线（自负段）" in zh
    assert "first pays 300.00 of the policy-range cost 1,000.00" in en


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ({"emp_opd": opd("none")}, "account_first"),
        ({"opd": line(("11",), account_first=True)}, "account_first"),
    ],
)
def test_account_first_needs_an_employee_line_with_an_account(lines: dict[str, Any], key: str) -> None:
    with pytest.raises(InputErrors, match=f"{key} needs an employee line .insutype 310. with personal_account"):
        make_pack(lines)
