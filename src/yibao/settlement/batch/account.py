"""The personal account (个人账户) of the batch engine: what each claim's account pays, per person-year.

``settle`` pays from the account after the four funds (:func:`yibao.settlement.settle._account`): the line's
payable part of the person's share (:meth:`yibao.policy.schema.BenefitLine.account_payable`), up to what is
left of the person's balance this year. The funds do not depend on it, so it is one vectorised pass over the
kernel's results: within a person-year the account has paid ``min(payable so far, balance)`` after each claim,
and a claim's payment is the difference with the claim before.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from yibao.policy.schema import Policy

I64 = npt.NDArray[np.int64]

MODES = ("none", "all", "in_catalogue")
"""``BenefitLine.personal_account``, coded by position."""


def account_modes(policies: list[Policy], line_keys: list[str]) -> I64:
    """[period, line]: the line's ``personal_account`` as an index of :data:`MODES` (0 where the line is absent)."""
    return np.array(
        [[MODES.index(pol.lines[k].personal_account) if k in pol.lines else 0 for k in line_keys] for pol in policies],
        np.int64,
    ).reshape(len(policies), len(line_keys))


def account_pay(mode: I64, psn_part: I64, fulamt: I64, overlmt: I64, balance: I64, person_year: I64, firsts: I64) -> I64:
    """Each claim's account payment (claims sorted by person-year and date; ``firsts``: each person-year's first claim)."""
    in_catalogue = np.maximum(0, psn_part - fulamt - overlmt)
    payable = np.where(mode == 1, np.maximum(0, psn_part), np.where(mode == 2, in_catalogue, 0)).astype(np.int64)
    cum = np.cumsum(payable)
    within = cum - (cum - payable)[firsts][person_year]  # payable so far in the person-year, this claim included
    cap = np.maximum(0, balance)
    return np.minimum(within, cap) - np.minimum(within - payable, cap)
