"""Named outcome ratios: the figures bureaus publish about a year of settlements, by name.

Each :class:`Outcome` is one published ratio: which claims, which payers in the numerator and which
base in the denominator. ``yibao policy calibrate`` fits a pack's assumed parameters so that these
come out as a seed reports them (:mod:`yibao.app.calibrate`); the report ``outcomes``
(:func:`outcome_table`) gives them for any period and place of the ledger or a simulation.

- ``priority_inpatient``: 重点帮扶对象住院政策范围内报销比例 — the priority groups' (every identity
  the pack ranks, 乡村振兴医疗保障重点扶持对象) inpatient claims, all three tiers and tilted
  assistance paid, over the policy-range cost. Seed 000 (Lincang): 84.91%; its 28,226.75万 paid
  over 35,977.23万 of *total* cost would be 78.46%, so the base is the policy-range cost.
- ``priority_chronic``: 重点帮扶对象门诊慢特病报销比例 — the priority groups' chronic outpatient
  visits (med_type 14), every payer, over the *total* cost. Seed 000: 87.94% = 10,194.14万 paid
  over 11,590.92万 发生医疗费用 (87.949%, cut to two decimals).
- ``basic_inpatient``: 基本医保住院合规费用报销比例 — residents' inpatient claims, basic insurance
  over the policy-range (合规) cost. Seed 003 (Huaibei): 75.6%.
- ``general_outpatient``: 普通门诊合规费用报销比例 — residents' general outpatient claims (med_type
  11: general pooling and the two-disease drug line), basic insurance over the policy-range cost.
  Seed 003: 50.2%.
- ``critical_illness``: 大病保险合规费用报销比例 — critical-illness payments over the part of its
  beneficiaries' yearly policy-range self-pay after basic that lies above their critical-illness
  deductible (the base the bands apply to; the national rule's 大病保险政策范围内支付比例). Seed 003:
  62.5%. It needs the year-end accumulators (``ci_base``) of the batch engine.

Ratios are basis points rounded half up from the exact sums; the numerator and denominator are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from yibao.core.identities import ORDINARY
from yibao.core.money import BP, round_half_up_div
from yibao.policy.schema import Policy
from yibao.reports.cube import as_cube
from yibao.reports.tables import Claims, Context

RESIDENT = "390"
ALL_PAYERS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
Base = Literal["inscp_scp_amt", "medfee_sumamt", "ci_above_deductible"]


@dataclass(frozen=True)
class Outcome:
    name: str
    zh: str
    en: str
    med_types: tuple[str, ...]
    """The claims it counts (resident benefit lines only); empty: the critical-illness lines."""
    priority_only: bool
    """Only claims of people with an identity the pack ranks (not ordinary residents)."""
    payers: tuple[str, ...]
    base: Base
    knob: Literal["line_ratio", "ci_bands"]
    """What ``calibrate`` moves by default: the matched lines' ratios (their caps where a ratio is
    sourced), or the critical-illness bands."""


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome(
            "priority_inpatient",
            "重点帮扶对象住院政策范围内报销比例（三重保障合计）",
            "priority groups' inpatient policy-range reimbursement ratio (all tiers)",
            ("21",),
            True,
            ALL_PAYERS,
            "inscp_scp_amt",
            "line_ratio",
        ),
        Outcome(
            "priority_chronic",
            "重点帮扶对象门诊慢特病报销比例（占医疗总费用）",
            "priority groups' chronic outpatient reimbursement ratio (of total cost)",
            ("14",),
            True,
            ALL_PAYERS,
            "medfee_sumamt",
            "line_ratio",
        ),
        Outcome(
            "basic_inpatient",
            "基本医保住院合规费用报销比例",
            "basic insurance inpatient ratio of policy-range cost",
            ("21",),
            False,
            ("hifp_pay",),
            "inscp_scp_amt",
            "line_ratio",
        ),
        Outcome(
            "general_outpatient",
            "普通门诊合规费用报销比例",
            "general outpatient ratio of policy-range cost",
            ("11",),
            False,
            ("hifp_pay",),
            "inscp_scp_amt",
            "line_ratio",
        ),
        Outcome(
            "critical_illness",
            "大病保险合规费用报销比例（起付线以上部分）",
            "critical illness ratio of its policy-range base above the deductible",
            (),
            False,
            ("hifmi_pay",),
            "ci_above_deductible",
            "ci_bands",
        ),
    )
}


@dataclass(frozen=True)
class Ratio:
    num: int
    den: int

    @property
    def bp(self) -> int | None:
        return round_half_up_div(self.num * BP, self.den) if self.den > 0 else None

    @property
    def percent(self) -> float | None:
        """Exact (unrounded) percent, for fitting."""
        return 100 * self.num / self.den if self.den > 0 else None


def resident_lines(policy: Policy, med_types: tuple[str, ...]) -> list[str]:
    """The resident benefit lines an outcome counts (``med_types`` empty: the critical-illness lines)."""
    if not med_types:
        ci = policy.critical_illness
        return [k for k in (ci.lines if ci else ()) if policy.lines[k].insutype == RESIDENT]
    return [k for k, v in policy.lines.items() if v.insutype == RESIDENT and set(v.med_types) & set(med_types)]


def _sum(df: pl.DataFrame, columns: tuple[str, ...]) -> int:
    return int(df.select(pl.sum_horizontal(*(pl.col(c) for c in columns)).sum()).item()) if df.height else 0


def _counted(outcome: Outcome, claims: pl.DataFrame, lines: list[str]) -> pl.DataFrame:
    """The claims ``outcome`` counts: on ``lines``, of its med_types, of the priority groups when it says so (the rows
    of a claims frame, or of the claims cube's cells, whose amounts are sums)."""
    df = claims.with_columns(pl.col(c).cast(pl.Utf8) for c in ("line", "identity", "med_type"))
    df = df.filter(pl.col("line").is_in(lines))
    if outcome.med_types:
        df = df.filter(pl.col("med_type").is_in(list(outcome.med_types)))
    return df.filter(pl.col("identity") != ORDINARY) if outcome.priority_only else df


def outcome_ratio(outcome: Outcome, claims: pl.DataFrame, policy: Policy, ytd: pl.DataFrame | None = None) -> Ratio:
    """``outcome`` over settled claims (the batch engine's or :mod:`yibao.rules.claims` columns).

    ``ytd``: the batch engine's year-end accumulators, needed by the critical-illness outcome.
    """
    resident = [k for k, v in policy.lines.items() if v.insutype == RESIDENT]
    df = _counted(outcome, claims, resident if outcome.med_types else resident_lines(policy, ()))
    num = _sum(df, outcome.payers)
    if outcome.base != "ci_above_deductible":
        return Ratio(num, _sum(df, (outcome.base,)))
    return Ratio(num, _ci_base_above_deductible(df, policy, ytd))


def _ci_base_above_deductible(df: pl.DataFrame, policy: Policy, ytd: pl.DataFrame | None) -> int:
    """Σ over the person-years critical illness paid: max(0, ``ci_base`` − the deductible of their last identity)."""
    ci = policy.critical_illness
    if ci is None or ytd is None:
        raise ValueError("the critical-illness outcome needs a pack with critical illness and the year-end accumulators")
    paid = (
        df.filter(pl.col("hifmi_pay") > 0)
        .sort("setl_date")
        .group_by("psn_no", "year")
        .agg(pl.col("identity").last())
        .join(ytd.select("psn_no", pl.col("year").cast(pl.Int32), "ci_base"), on=["psn_no", "year"], how="left")
    )
    return sum(
        max(0, int(base or 0) - ci.deductible_for(str(identity)))
        for identity, base in paid.select("identity", "ci_base").iter_rows()
    )


def outcome_table(claims: Claims, ctx: Context) -> pl.DataFrame:
    """公布口径报销比例: every named outcome the claims cube gives by itself (all but critical illness, whose
    base needs the year-end accumulators), with its numerator and denominator in fen and its ratio in bp."""
    resident = [k for k, v in ctx.lines.items() if v.insutype == RESIDENT]
    cells = as_cube(claims).cells
    rows = []
    for o in OUTCOMES.values():
        if o.base == "ci_above_deductible":
            continue
        df = _counted(o, cells, resident)
        r = Ratio(_sum(df, o.payers), _sum(df, (o.base,)))
        rows.append((o.name, r.num, r.den, r.bp))
    schema = {"item": pl.Utf8, "outcome_num": pl.Int64, "outcome_den": pl.Int64, "outcome_bp": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")
