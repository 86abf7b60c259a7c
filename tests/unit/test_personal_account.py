"""Issue 15, feature 13: the personal account (个人账户) pays part of an employee's share.

The funds do not change; the person's share (``psn_part_amt``) splits into the account's payment
(``acct_pay``) and cash (``psn_cash_pay``), the account paying up to the balance left for the year.
Every expected amount is worked out by hand in the comment beside it (yuan in comments, fen in the
code); the batch engine must give the same fen on every claim and accumulator.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.test_basic_periods_ceiling import day, make_pack
from tests.unit.test_rules import line, person, summary_claim

from yibao.core.errors import InputErrors
from yibao.settlement import reverse, settle_sequence
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames, ytd_from_row
from yibao.settlement.model import Claim, Person, Settlement
from yibao.settlement.trace import render


def emp_line(mode: str, **kw: Any) -> dict[str, Any]:
    """An employee inpatient line: 50 % everywhere, no deductible, no cap."""
    return line(insutype="310", personal_account=mode, **kw)


def employee(balance: int) -> Person:
    return person(insutype="310", emp_status="in_service", acct_balance=balance)


def run(mode: str, p: Person, claims: list[Claim], **kw: Any) -> list[Settlement]:
    pack = make_pack({"emp": emp_line(mode, **kw)})
    out = list(settle_sequence(pack, p, claims))
    for s in out:
        assert s.acct_pay + s.psn_cash_pay == s.psn_part_amt
        assert s.setlinfo()["acct_pay"] == s.acct_pay and s.setlinfo()["psn_cash_pay"] == s.psn_cash_pay
    batch = settle_batch(pack, to_frames([p], claims))
    for row, s in zip(batch.claims.iter_rows(named=True), out, strict=True):
        for name in ("hifp_pay", "psn_part_amt", "acct_pay", "psn_cash_pay"):
            assert row[name] == getattr(s, name), (s.claim_id, name)
    (ytd_row,) = batch.year_to_date.iter_rows(named=True)
    assert ytd_from_row(ytd_row) == out[-1].ytd_after
    return out


def test_account_pays_the_whole_share_until_the_balance_runs_out():
    """Balance 800 yuan; claims of 1,000 and 1,000 yuan policy range at 50 %: shares 500 and 500."""
    s1, s2 = run("all", employee(80_000), [summary_claim(100_000, day=day(2)), summary_claim(100_000, day=day(3))])
    # first: fund 500, share 500, all from the account (800 left): account 500, cash 0
    assert (s1.hifp_pay, s1.psn_part_amt, s1.acct_pay, s1.psn_cash_pay) == (50_000, 50_000, 50_000, 0)
    # second: fund 500 unchanged, share 500, 300 left in the account: account 300, cash 200
    assert (s2.hifp_pay, s2.psn_part_amt, s2.acct_pay, s2.psn_cash_pay) == (50_000, 50_000, 30_000, 20_000)
    assert s2.ytd_after.acct_paid == 80_000
    assert s2.consumed.acct_paid == 30_000
    assert reverse(s2, s2.ytd_after).acct_paid == 50_000


def test_in_catalogue_leaves_fully_self_paid_and_over_limit_parts_to_cash():
    """Policy range 1,000 yuan (fund 50 %: 500), fully self-paid 200, over price limit 100, balance 10,000."""
    (s,) = run("in_catalogue", employee(1_000_000), [summary_claim(100_000, fulamt_ownpay_amt=20_000, overlmt_selfpay=10_000)])
    # share 1,300 - 500 = 800; the account may pay 800 - 200 - 100 = 500; cash 300
    assert (s.hifp_pay, s.psn_part_amt, s.acct_pay, s.psn_cash_pay) == (50_000, 80_000, 50_000, 30_000)
    (step,) = [t for t in s.trace if t.tier == "account"]
    assert step.args == {"payable_fen": 50_000, "balance_fen": 1_000_000, "acct_fen": 50_000, "cash_fen": 30_000}
    zh = dict(render([step]))["个人账户"]
    assert "个人账户支付 500.00" in zh and "现金支付 300.00" in zh
    assert "account pays 500.00" in render([step], "en")[0][1]


def test_self_pay_first_is_in_the_in_catalogue_share():
    """乙类 self-pay-first 150 yuan is in the catalogue: the account pays it with the policy-range self-pay."""
    (s,) = run("in_catalogue", employee(1_000_000), [summary_claim(100_000, preselfpay_amt=15_000)])
    # fund 500; share 1,150 - 500 = 650, all payable from the account
    assert (s.psn_part_amt, s.acct_pay, s.psn_cash_pay) == (65_000, 65_000, 0)


def test_no_account_on_the_line_or_no_balance_is_all_cash():
    (s,) = run("none", employee(1_000_000), [summary_claim(100_000)])
    assert (s.acct_pay, s.psn_cash_pay) == (0, 50_000)
    assert not [t for t in s.trace if t.tier == "account"]
    (s,) = run("all", employee(0), [summary_claim(100_000)])
    assert (s.acct_pay, s.psn_cash_pay) == (0, 50_000)


def test_residents_have_no_personal_account():
    with pytest.raises(InputErrors, match="personal_account needs an employee line"):
        make_pack({"inpatient": line(personal_account="all")})
