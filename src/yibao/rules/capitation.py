"""门诊统筹人头定额 statements (seed 004): a township's monthly statement and its year-end settlement — pure, in fen.

The pack's :class:`yibao.policy.schema.Capitation` block gives the rule; the ledger gives each institution's month.

**Monthly statement** (:func:`month_statement`):

* the year's per-head amount = the standard (fen per person-year) × the persons the township counts;
* the year's prepayment = that amount × ``prepay_share``, rounded half up to the fen (:func:`yibao.core.money.apply_ratio`);
  it is paid in twelve parts: each of January..November gets the twelfth rounded **down** to the fen and December
  takes the rest (:func:`monthly_prepayments`), so the twelve months add up to the year's prepayment exactly;
* per institution (the township hospital first, then each village clinic by code): visits, medfee_sumamt,
  inscp_scp_amt, hifp_pay, paid by head (``captn_pay``), paid item by item (``hifp_pay − captn_pay``, 按项目据实结算),
  the person's share (``psn_part_amt``), and a totals row that is the sum of the rows;
* what the township owes each clinic for the month: without weights, the clinic's own by-head payments of the month
  (what it advanced to its patients out of the shared pot); with the pack's openIMIS-style ``weights``, each
  institution's weighted share of the month's prepayment (:func:`weighted_shares`) — the clinics' shares are owed;
* the due date: day ``clinic_due_day`` of the following month. Seed 004 says 每月的20日前 (before the 20th of each
  month); yibao reads it as 截至 the 20th, **the day itself counting** (pay on or before the due date);
* the month's balance: the prepayment less the month's by-head payments of all the township's institutions.

**Year-end settlement** (:func:`year_end`): the year's amount; prepaid (the twelve months); the withheld rest (the year's
amount less the prepayment); the score and ``release(score)``; released = withheld × release, half up; not released
= withheld − released; paid by head to the township in all = prepaid + released; by-head payments actually made
(Σ captn_pay of the year); surplus kept (结余留用) = paid in all − made (negative: a deficit the township bears);
item-by-item payments of the year (Σ hifp_pay − captn_pay).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from yibao.core.money import apply_ratio
from yibao.policy.schema import Capitation

MONTHS = 12
AMOUNT_FIELDS: tuple[str, ...] = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "captn_pay", "psn_part_amt")
"""The ledger amounts a statement sums per institution (fen)."""


def year_amount(standard_fen: int, persons: int) -> int:
    """The township's per-head amount for the year: standard × persons counted."""
    if standard_fen < 0 or persons < 0:
        raise ValueError(f"a standard and a number of persons of 0 or more, got {standard_fen}, {persons}")
    return standard_fen * persons


def year_prepayment(amount: int, prepay_share_bp: int) -> int:
    """The part of the year's amount prepaid in twelve months: ``amount × share``, half up."""
    return apply_ratio(amount, prepay_share_bp)


def monthly_prepayments(prepaid: int) -> list[int]:
    """The year's prepayment in twelve parts: January..November ``prepaid // 12`` each, December the rest."""
    if prepaid < 0:
        raise ValueError(f"a prepayment of 0 or more, got {prepaid}")
    part = prepaid // MONTHS
    return [part] * (MONTHS - 1) + [prepaid - part * (MONTHS - 1)]


def largest_remainder(total: int, weights: Sequence[Fraction]) -> list[int]:
    """``total`` fen shared in proportion to ``weights`` (equally when they sum to 0): each share rounded down, the
    fen left over one each to the largest remainders (the earlier on a tie). The parts add up to ``total``."""
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError(f"a total and weights of 0 or more, got {total}, {list(weights)}")
    if not weights:
        return []
    ws = list(weights) if sum(weights) > 0 else [Fraction(1)] * len(weights)
    whole = sum(ws)
    exact = [total * w / whole for w in ws]
    parts = [int(x) for x in exact]  # floor: every x >= 0
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass(frozen=True)
class InstitutionMonth:
    """One institution's figures for the month (fen), as the ledger sums them (reversals and back-pay included)."""

    fixmedins_code: str
    fixmedins_name: str
    hospital: bool
    """The township hospital (镇卫生院); else a village clinic (村卫生室)."""
    visits: int = 0
    medfee_sumamt: int = 0
    inscp_scp_amt: int = 0
    hifp_pay: int = 0
    captn_pay: int = 0
    psn_part_amt: int = 0
    persons: int = 0
    """Persons signed with it (the ``persons`` weight)."""

    @property
    def item_pay(self) -> int:
        """Paid item by item (按项目据实结算): the basic payment not paid by head."""
        return self.hifp_pay - self.captn_pay

    def measure(self, weight: str) -> int:
        """What a weight counts here: persons signed, visits, or policy-range amounts (``amounts``)."""
        return {"persons": self.persons, "visits": self.visits, "amounts": self.inscp_scp_amt}[weight]


def ordered(rows: Sequence[InstitutionMonth]) -> list[InstitutionMonth]:
    """The township hospital(s) first, then the clinics, each by code."""
    return sorted(rows, key=lambda r: (not r.hospital, r.fixmedins_code))


def weighted_shares(total: int, rows: Sequence[InstitutionMonth], weights: Mapping[str, int]) -> list[int]:
    """``total`` (the month's prepayment) shared among ``rows`` by the openIMIS-style weights (basis points adding up
    to 100%): an institution's score is Σ weight × its measure ÷ the township's measure (a measure all zero spreads
    its weight equally); fen by :func:`largest_remainder`, adding up to ``total``."""
    n = len(rows)
    scores = [Fraction(0)] * n
    for key, w in weights.items():
        measures = [max(0, r.measure(key)) for r in rows]
        whole = sum(measures)
        for i in range(n):
            scores[i] += Fraction(w * measures[i], whole) if whole else Fraction(w, n)
    return largest_remainder(total, scores)


@dataclass(frozen=True)
class Owed:
    """What the township owes one clinic for the month, and by when (the day itself counting)."""

    fixmedins_code: str
    fixmedins_name: str
    amount: int
    due: date


@dataclass(frozen=True)
class Rule:
    """The pack's numbers a statement uses (from :class:`yibao.policy.schema.Capitation`)."""

    standard_fen: int
    prepay_share: int
    clinic_due_day: int
    weights: Mapping[str, int] = field(default_factory=dict)
    withhold: tuple[tuple[int, int], ...] = ()
    """(score at least, release bp), highest score first."""

    @classmethod
    def of(cls, block: Capitation) -> Rule:
        return cls(
            block.standard.fen, block.prepay_share, block.clinic_due_day, dict(block.weights),
            tuple((w.score, w.release) for w in block.withhold),
        )  # fmt: skip

    def release(self, score: int) -> int:
        """The share (bp) of the withheld rest paid for ``score`` (as :meth:`Capitation.release`)."""
        return next((bp for at_least, bp in self.withhold if score >= at_least), 0)


def due_date(year: int, month: int, day: int) -> date:
    """Day ``day`` of the month after ``year``-``month``: the clinics' payment for the month is due on or before it."""
    return date(year + month // 12, month % 12 + 1, day)


def totals(rows: Sequence[InstitutionMonth]) -> InstitutionMonth:
    """The totals row: every figure summed."""
    sums = {f: sum(getattr(r, f) for r in rows) for f in (*AMOUNT_FIELDS, "visits", "persons")}
    return InstitutionMonth("", "", False, **sums)


@dataclass(frozen=True)
class MonthStatement:
    township: str
    year: int
    month: int
    persons: int
    standard_fen: int
    year_amount: int
    prepay_share: int
    year_prepayment: int
    prepayment: int
    institutions: tuple[InstitutionMonth, ...]
    total: InstitutionMonth
    owed: tuple[Owed, ...]
    due: date
    weighted: bool

    @property
    def balance(self) -> int:
        """The month's prepayment less what the township's institutions paid by head in the month."""
        return self.prepayment - self.total.captn_pay

    @property
    def owed_total(self) -> int:
        return sum(o.amount for o in self.owed)


def month_statement(
    rule: Rule, township: str, year: int, month: int, persons: int, rows: Sequence[InstitutionMonth]
) -> MonthStatement:
    """The township's statement for ``year``-``month`` (the module's rule)."""
    if not 1 <= month <= MONTHS:
        raise ValueError(f"a month from 1 to 12, got {month}")
    amount = year_amount(rule.standard_fen, persons)
    prepaid = year_prepayment(amount, rule.prepay_share)
    prepayment = monthly_prepayments(prepaid)[month - 1]
    insts = ordered(rows)
    due = due_date(year, month, rule.clinic_due_day)
    if rule.weights:
        shares = weighted_shares(prepayment, insts, rule.weights)
        owed = tuple(
            Owed(r.fixmedins_code, r.fixmedins_name, s, due) for r, s in zip(insts, shares, strict=True) if not r.hospital
        )
    else:
        owed = tuple(Owed(r.fixmedins_code, r.fixmedins_name, r.captn_pay, due) for r in insts if not r.hospital)
    return MonthStatement(
        township, year, month, persons, rule.standard_fen, amount, rule.prepay_share, prepaid, prepayment,
        tuple(insts), totals(insts), owed, due, bool(rule.weights),
    )  # fmt: skip


@dataclass(frozen=True)
class YearEnd:
    township: str
    year: int
    persons: int
    standard_fen: int
    year_amount: int
    prepaid: int
    score: int | None
    """None: no score recorded yet (nothing is released until one is)."""
    release_bp: int
    captn_made: int
    """By-head payments the township's institutions made in the year (Σ captn_pay)."""
    item_pay: int
    """Item-by-item payments of the year (Σ hifp_pay − captn_pay)."""

    @property
    def withheld(self) -> int:
        return self.year_amount - self.prepaid

    @property
    def released(self) -> int:
        return apply_ratio(self.withheld, self.release_bp)

    @property
    def not_released(self) -> int:
        return self.withheld - self.released

    @property
    def paid(self) -> int:
        """Paid by head to the township in all: the prepayment and the released part of the withheld rest."""
        return self.prepaid + self.released

    @property
    def surplus(self) -> int:
        """结余留用 (kept by the township) when positive; a deficit the township bears when negative."""
        return self.paid - self.captn_made


def year_end(rule: Rule, township: str, year: int, persons: int, score: int | None, captn_made: int, item_pay: int) -> YearEnd:
    """The township's year-end settlement (the module's rule); ``score`` None: nothing released yet."""
    if score is not None and not 0 <= score <= 100:
        raise ValueError(f"a score from 0 to 100, got {score}")
    amount = year_amount(rule.standard_fen, persons)
    prepaid = sum(monthly_prepayments(year_prepayment(amount, rule.prepay_share)))
    release = 0 if score is None else rule.release(score)
    return YearEnd(township, year, persons, rule.standard_fen, amount, prepaid, score, release, captn_made, item_pay)


HOSPITAL_WORD = "卫生院"


def is_township_hospital(name: str, hosp_lv: int) -> bool:
    """A township hospital (镇卫生院, 乡镇卫生院, 中心卫生院) rather than a village clinic (村卫生室): named so."""
    return HOSPITAL_WORD in name or (hosp_lv >= 2 and "卫生室" not in name)
