"""Plain data for settlement: people, claims, fee lines, year-to-date accumulators, results.

Field names follow the national interface (医疗保障信息平台 定点医药机构接口) where one
exists. Every amount is integer fen, every ratio integer basis points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from yibao.core.identities import IdentityPeriod

Place = Literal["in_county", "out_of_county", "cross_region", "cross_emergency"]
PLACES_IN: tuple[str, ...] = ("in_county", "out_of_county", "cross_region", "cross_emergency")
"""A claim's ``place``: ``cross_region`` is settled by the person's cross-region filing held on the
day (:func:`settled_place`); ``cross_emergency`` is cross-region emergency care (异地急诊抢救), filed or not."""

FILING_KINDS: tuple[str, ...] = ("long_term", "referral", "temporary", "")
"""Cross-region filing kinds (异地长期居住备案, 转诊备案, 临时外出就医备案, unspecified), in the order one
decides when a person holds several on a day."""
FILING_PLACE: dict[str, str] = {
    "long_term": "cross_long_term",
    "referral": "cross_referral",
    "temporary": "cross_temporary",
    "": "cross_filed",
}
"""The place (:data:`yibao.policy.schema.PLACES`) a cross-region claim settles at under a filing of each kind."""


def settled_place(place: str, kinds_held: Iterable[str]) -> str:
    """The place a claim settles at: its own place, or for ``cross_region`` the place of the filing kind
    held on the day that :data:`FILING_KINDS` puts first (``cross_unfiled``: none held)."""
    if place != "cross_region":
        return place
    held = set(kinds_held)
    return next((FILING_PLACE[k] for k in FILING_KINDS if k in held), "cross_unfiled")


def scp_self_pay(inscp_scp_amt: int, fund_pay_sumamt: int) -> int:
    """The policy-range self-pay left to the person (政策范围内个人自付): the policy range less what the funds paid
    of it. Basic insurance pays within the policy range; a later tier on the in-catalogue base (``base:
    in_catalogue``) also pays the 乙类 self-pay-first part, its payments counting against the policy range first,
    so the funds may exceed the policy range — the excess came out of ``preselfpay_amt`` and leaves 0 here, never
    a negative amount. Batch twin: :data:`yibao.settlement.batch.result.SCP_SELF_PAY`."""
    return max(0, inscp_scp_amt - fund_pay_sumamt)


FLAG_TRUE: tuple[str, ...] = ("1", "true", "t", "y", "yes", "是")
FLAG_FALSE: tuple[str, ...] = ("", "0", "false", "f", "n", "no", "否")
"""How a yes/no column of a claims file (``major_dise_flag``) may be written, lower-cased and stripped."""


def yes_no(text: str) -> bool:
    """A yes/no cell (:data:`FLAG_TRUE` / :data:`FLAG_FALSE`); anything else is a ``ValueError``."""
    v = text.strip().lower()
    if v not in FLAG_TRUE + FLAG_FALSE:
        raise ValueError  # the caller says what was expected
    return v in FLAG_TRUE


@dataclass(frozen=True)
class Period:
    """A filing or status valid from ``begin`` to ``end`` inclusive (``None`` = open)."""

    begin: date
    end: date | None = None
    kind: str = ""
    """Cross-region filings: one of :data:`FILING_KINDS` (``""``: a filing of no stated kind)."""

    def holds_on(self, day: date) -> bool:
        return self.begin <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class ChronicFiling:
    """门诊慢特病备案: a disease filed for a person from a date."""

    dise_codg: str
    begin: date
    end: date | None = None
    dise_name: str = ""

    def covers(self, dise_codg: str, day: date) -> bool:
        return (
            bool(dise_codg)
            and dise_codg.upper().startswith(self.dise_codg.upper())
            and self.begin <= day
            and (self.end is None or day <= self.end)
        )


@dataclass(frozen=True)
class ResidentTierPeriod:
    """A resident's contribution tier (缴费档次: 1 一档, 2 二档) from ``begin`` to ``end`` inclusive
    (``None`` = open); chosen when paying for a year, so usually one period per calendar year."""

    tier: Literal[1, 2]
    begin: date
    end: date | None = None

    def holds_on(self, day: date) -> bool:
        return self.begin <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class InstitutionChoice:
    """An institution the person chose, from ``begin`` to ``end`` inclusive: ``designated`` (the one selected for
    residents' general outpatient, 选定/签约基层机构), ``linked`` (one linked with it: 医共体 / referral), or
    ``signed`` (a chronic-outpatient signed institution, 门诊慢性病签约医疗机构; seed 004: changeable monthly)."""

    fixmedins_code: str
    role: Literal["designated", "linked", "signed"]
    begin: date
    end: date | None = None

    def holds_on(self, day: date) -> bool:
        return self.begin <= day and (self.end is None or day <= self.end)


INSTITUTION_ROLES: tuple[str, ...] = ("designated", "linked", "signed")


def age_on(birth_date: date, day: date) -> int:
    """Age in completed years on ``day`` (a 29 February birthday comes on 1 March in other years)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class Person:
    psn_no: str
    insutype: Literal["390", "310"] = "390"
    identities: tuple[IdentityPeriod, ...] = ()
    chronic_filings: tuple[ChronicFiling, ...] = ()
    cross_region_filings: tuple[Period, ...] = ()
    emp_status: Literal["in_service", "retired"] | None = None
    """Employees: in service (在职) or retired (退休)."""
    emp_tier: Literal["unit", "individual_1", "individual_2"] | None = None
    """Employees: enrolled with an employer, or as an individual in tier 1 / tier 2."""
    psn_name: str = ""
    birth_date: date | None = None
    """From the resident ID number (characters 7-14) or the registry's ``brdy``; ``None``: unknown
    (refused only on a line that selects or settles by age)."""
    acct_balance: int = 0
    """Employees: the personal account (个人账户) balance in fen available to the year's claims before any of
    them (from the caller or registry); each claim's account payment counts in ``YearToDate.acct_paid``."""
    resident_tiers: tuple[ResidentTierPeriod, ...] = ()
    """Residents: the contribution tier (一档/二档) chosen, with the dates it holds."""
    institutions: tuple[InstitutionChoice, ...] = ()
    """Institutions chosen: designated / linked for general outpatient, signed for chronic outpatient."""
    family_doctor: tuple[Period, ...] = ()
    """Family-doctor contracts (家庭医生签约服务) with their dates."""
    township: str = ""
    """The township (乡镇) the person lives in, as the registry names it; a capitation township counts its
    enrolled residents (``capitation.counted: enrolled``)."""
    signed_township: str = ""
    """The township of the institution the person signed with for general outpatient (家庭医生签约/选定基层机构):
    counted there under ``capitation.counted: signed``."""

    def institution_class(self, fixmedins_code: str, day: date) -> str:
        """The claim's institution against the person's choices on ``day``: designated, linked or other."""
        held = {c.role for c in self.institutions if c.fixmedins_code == fixmedins_code and c.holds_on(day)}
        return "designated" if "designated" in held else "linked" if "linked" in held else "other"

    def signed_at(self, fixmedins_code: str, day: date) -> bool:
        """Is ``fixmedins_code`` one of the person's signed (chronic-outpatient) institutions on ``day``?"""
        return any(c.role == "signed" and c.fixmedins_code == fixmedins_code and c.holds_on(day) for c in self.institutions)

    def family_doctor_on(self, day: date) -> bool:
        return any(p.holds_on(day) for p in self.family_doctor)

    def age_on(self, day: date) -> int | None:
        """Completed years on ``day``; ``None`` without a birth date (or for a day before it)."""
        if self.birth_date is None or day < self.birth_date:
            return None
        return age_on(self.birth_date, day)

    def resident_tier_on(self, day: date) -> int | None:
        """The contribution tier held on ``day`` (of overlapping periods the latest-starting, then the higher
        tier); ``None``: none on record."""
        held = [(p.begin, p.tier) for p in self.resident_tiers if p.holds_on(day)]
        return max(held)[1] if held else None

    def filed_for(self, dise_codg: str, day: date) -> bool:
        """Has the person a chronic/special-disease filing covering this disease on ``day``?"""
        return any(f.covers(dise_codg, day) for f in self.chronic_filings)


@dataclass(frozen=True)
class FeeLine:
    """One fee detail line (费用明细) as the HIS uploads it."""

    feedetl_sn: str
    med_list_codg: str
    det_item_fee_sumamt: int
    chrgitm_lv: str
    cnt: Decimal = Decimal(1)
    pric: int | None = None
    med_list_name: str = ""


@dataclass(frozen=True)
class PolicyRangeSummary:
    """A claim that arrives already summarised: the total and its policy-range split."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int = 0
    overlmt_selfpay: int = 0
    preselfpay_amt: int = 0
    inscp_scp_amt: int | None = None
    """Defaults to the total minus the three self-paid parts."""
    full_pay_scp_amt: int = 0
    """Part of ``inscp_scp_amt`` on listed 甲类 items that a line with ``full_pay_items`` pays in
    full (two-disease drugs); ignored on other lines."""
    fixed_share_scp_amt: int = 0
    """Part of ``inscp_scp_amt`` on items a line with ``fixed_share_items`` pays a fixed share of
    (implants, consumables); ignored on other lines."""
    class_b_scp_amt: int = 0
    """The 乙类 part of ``inscp_scp_amt`` outside the two parts above, for a line with ``class_b_ratio``
    (乙类 at its own ratio); ignored on other lines. A fee-line claim's split gives the same three parts
    (:func:`yibao.settlement.policy_range.policy_range`), so it settles as its summary does."""


@dataclass(frozen=True)
class AuditRefusal:
    """A fee line an audit rule found 违规 with the action 转自费: the line is settled fully self-paid."""

    feedetl_sn: str
    rule_code: str
    rule_name: tuple[str, str] = ("", "")
    """The rule's name (Chinese, English), for the trace."""


@dataclass(frozen=True)
class Claim:
    """A bill to settle: one admission or one outpatient visit."""

    claim_id: str
    psn_no: str
    setl_date: date
    med_type: str
    hosp_lv: int
    place: Place = "in_county"
    dise_codg: str = ""
    fee_lines: tuple[FeeLine, ...] = ()
    summary: PolicyRangeSummary | None = None
    fixmedins_code: str = ""
    audit_refused: tuple[AuditRefusal, ...] = ()
    """Lines the audit at the counter refused (违规, 转自费): each becomes fully self-paid, its rule in the trace."""
    major_dise_flag: bool = False
    """重特大疾病 flag: the claim is for a major disease as the institution or agency determined it; the assistance
    tiers' ``major`` terms apply to it as to a claim of their ``major_diseases`` codes."""
    dise_name: str = ""
    """The diagnosis's name as given with ``dise_codg`` (kept in the ledger and printed; settles nothing)."""
    township: str = ""
    """The township group of the claim's institution (a township hospital or one of its village clinics), from
    the institution registry; ``""``: not a township institution."""


@dataclass(frozen=True)
class FeeLineResult:
    """Per-line policy-range split (the 2204/2301 ``result`` rows)."""

    feedetl_sn: str
    med_list_codg: str
    chrgitm_lv: str
    det_item_fee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    selfpay_prop: int
    """Self-pay-first share applied, basis points."""
    full_pay: bool
    """Listed 甲类 item that basic insurance pays in full."""
    fixed_share: bool = False
    """Listed item of which basic insurance pays a fixed share."""


@dataclass(frozen=True)
class YearToDate:
    """A person's accumulators for one policy year, consumed claim by claim.

    ``*_base`` fields are cumulative in-year bases that yearly deductibles and marginal
    bands are measured against; ``*_paid`` fields are payments counted against caps. Keys of
    accumulators that start again each month or quarter carry their period (``opd@M03``,
    ``pool@Q2``; see :func:`yibao.policy.schema.period_key`), so a reversal gives back to the
    period of the claim it reverses.
    The same shape holds what one settlement consumed (a delta).
    """

    year: int
    admissions: int = 0
    deductible_base: dict[str, int] = field(default_factory=dict)
    """Policy-range base counted towards periodic deductibles taken off the base, by group and period."""
    basic_paid: dict[str, int] = field(default_factory=dict)
    """Basic-insurance payments counted against caps, by cap group and period."""
    deductible_taken: dict[str, int] = field(default_factory=dict)
    """Deductible paid so far where a periodic deductible counts what was paid of it
    (``deductible_on: payment``, ``deductible_level: highest``), by deductible group and period."""
    deductible_levels: dict[str, int] = field(default_factory=dict)
    """``deductible_level: highest``: claims per hospital level in a deductible group and period
    (``opd#L3``, ``opd@M03#L1``): the highest level with a claim is the highest attended."""
    covered_cost: dict[str, int] = field(default_factory=dict)
    """Policy-range cost counted under yearly cost ceilings (``cost_ceiling``), by ceiling group."""
    ci_base: int = 0
    ci_paid: int = 0
    maf_base: int = 0
    maf_paid: int = 0
    tilt_base: int = 0
    tilt_paid: int = 0
    acct_paid: int = 0
    """Paid from the personal account this year (``Person.acct_balance`` less this is what is left)."""

    _SCALARS = ("admissions", "ci_base", "ci_paid", "maf_base", "maf_paid", "tilt_base", "tilt_paid", "acct_paid")
    _MAPS = ("deductible_base", "basic_paid", "deductible_taken", "covered_cost", "deductible_levels")

    def _combine(self, other: YearToDate, sign: int) -> YearToDate:
        if other.year != self.year:
            raise ValueError(f"accumulators of year {other.year} cannot combine with year {self.year}")
        values: dict[str, Any] = {n: getattr(self, n) + sign * getattr(other, n) for n in self._SCALARS}
        for name in self._MAPS:
            merged = dict(getattr(self, name))
            for k, v in getattr(other, name).items():
                merged[k] = merged.get(k, 0) + sign * v
            values[name] = {k: v for k, v in merged.items() if v != 0}
        return replace(self, **values)

    def plus(self, delta: YearToDate) -> YearToDate:
        return self._combine(delta, 1)

    def minus(self, delta: YearToDate) -> YearToDate:
        return self._combine(delta, -1)

    def negative_fields(self) -> list[str]:
        bad = [n for n in self._SCALARS if getattr(self, n) < 0]
        for name in self._MAPS:
            bad += [f"{name}.{k}" for k, v in getattr(self, name).items() if v < 0]
        return bad

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (dict(getattr(self, f.name)) if f.name in self._MAPS else getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> YearToDate:
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


@dataclass(frozen=True)
class TraceStep:
    """One step a clerk can follow: which tier, what happened, with which numbers.

    ``key`` names a message in :mod:`yibao.settlement.trace`; ``args`` fill it. Args
    ending in ``_fen`` are amounts, ``_bp`` ratios.
    """

    tier: str
    key: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetlDetail:
    """One fund's row of ``setldetail``."""

    fund_pay_type: str
    inscp_scp_amt: int
    """The base this fund worked on."""
    crt_payb_lmt_amt: int | None
    """What the fund may still pay this year after this claim (``None``: no cap)."""
    fund_payamt: int
    setl_proc_info: str


@dataclass(frozen=True)
class Settlement:
    claim_id: str
    psn_no: str
    setl_date: date
    insutype: str
    med_type: str
    line: str
    identity: str
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    pool_prop_selfpay: int
    hifmi_pay: int
    maf_pay: int
    oth_pay: int
    """Tilted assistance (倾斜救助)."""
    fund_pay_sumamt: int
    psn_part_amt: int
    setldetail: tuple[SetlDetail, ...]
    fee_results: tuple[FeeLineResult, ...]
    consumed: YearToDate
    ytd_after: YearToDate
    trace: tuple[TraceStep, ...]
    acct_pay: int = 0
    """The part of ``psn_part_amt`` the personal account pays (个人账户支出)."""
    captn_pay: int = 0
    """The part of ``hifp_pay`` paid by head from a township's capitation pot (按人头付费); the rest of
    ``hifp_pay`` is settled item by item (按项目)."""
    captn_town: str = ""
    """The capitation township whose pot the claim drew on (``""``: not under capitation)."""

    PAYERS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")

    @property
    def psn_cash_pay(self) -> int:
        """What the person pays in cash: their share less the account's payment."""
        return self.psn_part_amt - self.acct_pay

    def setlinfo(self) -> dict[str, Any]:
        """The national ``setlinfo`` block, amounts in fen."""
        return {
            "setl_id": self.claim_id,
            "psn_no": self.psn_no,
            "insutype": self.insutype,
            "med_type": self.med_type,
            "setl_time": self.setl_date.isoformat(),
            "medfee_sumamt": self.medfee_sumamt,
            "fulamt_ownpay_amt": self.fulamt_ownpay_amt,
            "overlmt_selfpay": self.overlmt_selfpay,
            "preselfpay_amt": self.preselfpay_amt,
            "inscp_scp_amt": self.inscp_scp_amt,
            "act_pay_dedc": self.act_pay_dedc,
            "hifp_pay": self.hifp_pay,
            "pool_prop_selfpay": self.pool_prop_selfpay,
            "hifmi_pay": self.hifmi_pay,
            "hifob_pay": 0,
            "maf_pay": self.maf_pay,
            "oth_pay": self.oth_pay,
            "fund_pay_sumamt": self.fund_pay_sumamt,
            "psn_part_amt": self.psn_part_amt,
            "acct_pay": self.acct_pay,
            "psn_cash_pay": self.psn_cash_pay,
            "hosp_part_amt": 0,
        }
