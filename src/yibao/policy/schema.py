"""The resolved policy: every parameter's value on one date, typed, in fen and basis points.

A pack file (see :mod:`yibao.policy.pack`) writes amounts in yuan and ratios in
percent, each with its source and effective dates; resolving a pack on a date gives
one of these frozen models, which is what the settlement code reads.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ModelWrapValidatorHandler, model_validator

from yibao.core import vocab
from yibao.core.i18n import pick
from yibao.core.identities import (
    CATEGORIES,
    ORDINARY,
    AmbiguousCategory,
    IdentityPeriod,
    deciding_identity,
    normalise_category,
)
from yibao.core.money import apply_ratio, percent_to_bp, yuan_to_fen

LEVELS: tuple[int, ...] = (1, 2, 3)
"""Hospital levels: 1 乡镇卫生院/一级, 2 县级/二级, 3 市级及以上/三级."""

PLACES: tuple[str, ...] = (
    "in_county",
    "out_of_county",
    "cross_filed",
    "cross_unfiled",
    "cross_long_term",
    "cross_temporary",
    "cross_referral",
    "cross_emergency",
)
"""Where care was given, for the basic ratio and deductible: 县域内, 县域外（市内/省内）, 异地已备案,
异地未备案, and the finer cross-region kinds: 异地长期居住备案, 异地临时外出就医备案, 转诊备案,
异地急诊抢救. A table keyed by place must give the first four; a finer kind it does not name takes
the value of its parent (:data:`PLACE_PARENT`), so packs written before the finer kinds settle as before."""

PLACE_PARENT: dict[str, str] = {
    "cross_long_term": "cross_filed",
    "cross_temporary": "cross_filed",
    "cross_referral": "cross_filed",
    "cross_emergency": "cross_filed",
}
"""A finer place kind's parent: the place whose value it takes where a table does not name it."""
BASE_PLACES: tuple[str, ...] = tuple(p for p in PLACES if p not in PLACE_PARENT)
"""The places every table keyed by place must give."""


def place_value(table: dict[str, Any], place: str) -> Any:
    """The value of a table keyed by place at ``place``, a finer kind it does not name taking its parent's
    (``None``: neither named)."""
    while place not in table and place in PLACE_PARENT:
        place = PLACE_PARENT[place]
    return table.get(place)


EMP_TIERS: tuple[str, ...] = ("unit", "individual_1", "individual_2")
"""Employee enrolment: with an employer, or as an individual in tier 1 / tier 2 (seed 002)."""

RESIDENT_TIERS: tuple[int, ...] = (1, 2)
"""Resident contribution tiers (居民医保缴费档次 一档 / 二档, Chongqing): chosen per year when paying."""
MAX_AGE = 150
"""Ages in a pack are whole years 0..150."""


Period = Literal["month", "quarter", "year"]
PERIODS: dict[str, int] = {"year": 1, "quarter": 4, "month": 12}
"""Calendar periods of deductibles and caps, and how many there are in a year."""


def period_index(period: str, month: int) -> int:
    """Which of the year's periods (0-based) the calendar ``month`` (1..12) falls in."""
    return (month - 1) * PERIODS[period] // 12


def period_suffix(period: str, index: int) -> str:
    """The accumulator-key suffix of the year's ``index``-th period: ``""`` (year), ``@Q1``, ``@M03``."""
    if period == "year":
        return ""
    return f"@Q{index + 1}" if period == "quarter" else f"@M{index + 1:02d}"


def period_key(group: str, period: str, day: date) -> str:
    """An accumulator key carrying its period: ``opd`` (year, as before periods existed),
    ``opd@Q2`` (quarter), ``opd@M05`` (month). The year is the accumulators' own."""
    return group + period_suffix(period, period_index(period, day.month))


def level_key(slot: str, level: int) -> str:
    """The ``deductible_levels`` key counting a deductible slot's claims at one hospital level: ``opd@M03#L2``."""
    return f"{slot}#L{level}"


def _bp(v: Any) -> int:
    bp = percent_to_bp(v)
    if not 0 <= bp <= 10_000:
        raise ValueError(f"a percentage between 0 and 100, got {v!r}")
    return bp


def _signed_bp(v: Any) -> int:
    bp = percent_to_bp(v)
    if not -10_000 <= bp <= 10_000:
        raise ValueError(f"percentage points between -100 and 100, got {v!r}")
    return bp


def _fen_nonneg(v: Any) -> int:
    fen = yuan_to_fen(v)
    if fen < 0:
        raise ValueError(f"an amount of 0 yuan or more, got {v!r}")
    return fen


Fen = Annotated[int, BeforeValidator(_fen_nonneg)]
"""An amount: yuan in the pack, fen once resolved."""
Bp = Annotated[int, BeforeValidator(_bp)]
"""A ratio: percent in the pack, basis points once resolved."""
SignedBp = Annotated[int, BeforeValidator(_signed_bp)]
"""Percentage points added to a ratio (may be negative)."""


def _per_level(v: Any) -> Any:
    """A scalar means the same value at every hospital level."""
    if isinstance(v, dict):
        return v
    return {lv: v for lv in LEVELS}


def _per_place(v: Any) -> Any:
    """A scalar or a per-level table means the same at every place; a table keyed by place gets its
    finer kinds not named from their parents (unknown places are reported by the line's check)."""
    if isinstance(v, dict) and not all(str(k).isdigit() for k in v):
        return _with_finer_places(v)
    return {p: v for p in PLACES}


def _with_finer_places(v: dict[Any, Any]) -> dict[Any, Any]:
    out = dict(v)
    for fine in PLACE_PARENT:
        value = place_value(v, fine)
        if fine not in out and value is not None:
            out[fine] = value
    return out


def _places_named(v: Any) -> Any:
    """A table keyed by some places (the others not named), finer kinds inheriting their parents'."""
    return _with_finer_places(v) if isinstance(v, dict) else v


CATEGORY_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")
"""The syntax of a category code a pack declares (``categories``): lower-case ASCII, digits and ``_``."""


_DECLARED: ContextVar[Mapping[str, tuple[str, ...]]] = ContextVar("declared_categories", default=MappingProxyType({}))
"""While a :class:`Policy` is validated: the categories it declares, code -> other names (see ``Policy._declared``)."""


def declared_names(categories: Any) -> dict[str, tuple[str, ...]]:
    """A pack's ``categories`` (raw or validated) as code -> its names (Chinese, English, aliases), for
    :func:`yibao.core.identities.normalise_category`."""
    out: dict[str, tuple[str, ...]] = {}
    for code, cat in categories.items() if isinstance(categories, Mapping) else ():
        raw = cat.model_dump() if isinstance(cat, BaseModel) else cat
        if not isinstance(raw, Mapping):
            continue
        aliases = raw.get("aliases")
        names = [raw.get("label_zh"), raw.get("label_en"), *(aliases if isinstance(aliases, list | tuple) else ())]
        out[str(code)] = tuple(n for n in names if isinstance(n, str) and n.strip())
    return out


def _category(v: Any) -> Any:
    """A category's code, Chinese or English name or alias -> its code: a built-in one's, or one the policy
    being validated declares (``categories``); a code of the syntax a pack may declare is kept as written
    (the policy checks it is declared); a name two declared categories share is refused."""
    if not isinstance(v, str):
        return v
    try:
        return normalise_category(v, _DECLARED.get())
    except AmbiguousCategory:
        raise
    except ValueError:
        if CATEGORY_CODE.fullmatch(v.strip()):
            return v.strip()
        raise


def _category_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {(_category(k)): val for k, val in v.items()}
    return v


Category = Annotated[str, BeforeValidator(_category)]


def _weights(v: Any) -> Any:
    if isinstance(v, dict):
        unknown = [k for k in v if k not in CAPITATION_WEIGHTS]
        if unknown:
            raise ValueError(f"capitation.weights names {unknown}; expected some of {', '.join(CAPITATION_WEIGHTS)}")
    return v


def _months(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).strip().isdigit() or not 1 <= int(v) <= 600:
        raise ValueError(f"a whole number of months from 1 to 600, got {v!r}")
    return int(v)


Months = Annotated[int, BeforeValidator(_months)]
"""A number of months (1..600)."""


def months_later(day: date, months: int) -> date:
    """``day`` moved on by whole months, the day of the month kept or, where the month is shorter, its last day."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


FenByLevel = Annotated[dict[int, Fen], BeforeValidator(_per_level)]
BpByLevel = Annotated[dict[int, Bp], BeforeValidator(_per_level)]
RatioTable = Annotated[dict[str, BpByLevel], BeforeValidator(_per_place)]
FenByPlace = Annotated[dict[str, FenByLevel], BeforeValidator(_places_named)]
BpByPlace = Annotated[dict[str, Bp], BeforeValidator(_places_named)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _complete_places(table: dict[str, Any], what: str, every: bool = True) -> None:
    """A table keyed by place: the base places all given (``every``), no unknown place."""
    missing = [p for p in BASE_PLACES if p not in table] if every else []
    unknown = [p for p in table if p not in PLACES]
    if missing or unknown:
        raise ValueError(
            f"{what} must be keyed by places {list(PLACES)}"
            f"{' giving at least ' + str(list(BASE_PLACES)) if every else ''}; missing {missing}, unknown {unknown}"
        )


def _complete(table: dict[Any, Any], keys: tuple[Any, ...], what: str) -> None:
    missing = [k for k in keys if k not in table]
    unknown = [k for k in table if k not in keys]
    if missing or unknown:
        raise ValueError(f"{what} must give exactly {list(keys)}; missing {missing}, unknown {unknown}")


class FeeRules(Model):
    """How fee lines split into fully self-paid, self-pay-first, over-limit and policy range."""

    class_b_selfpay_first: Bp
    """乙类 items: share the patient pays first, before any fund (先行自付比例)."""
    item_selfpay_first: dict[str, Bp] = {}
    """Per-item (``med_list_codg``) self-pay-first share overriding the 乙类 default."""
    fully_selfpaid_items: tuple[str, ...] = ()
    """Items outside the catalogue whatever their class (全自费)."""
    price_ceilings: dict[str, Fen] = {}
    """Highest unit price the funds recognise (限价); the excess is over-limit self-pay."""
    class_c_selfpay_first: Bp = 10_000
    """丙类 items: share the patient pays first (counted in ``preselfpay_amt``); the rest of the
    line is policy range. 100 (the default) keeps 丙类 wholly self-paid (``fulamt_ownpay_amt``)."""

    @property
    def class_c_covered(self) -> bool:
        """Are 丙类 items partly covered (a self-pay-first share below 100%)?"""
        return self.class_c_selfpay_first < 10_000


class Band(Model):
    """A marginal band: the ``ratio`` applies to the part of the amount at or above ``start``."""

    start: Fen
    ratio: Bp


class RatioBand(Model):
    """Percentage points added to the basic ratio for the part of an admission at or above ``start``."""

    start: Fen
    add: SignedBp


def _check_bands(bands: tuple[Any, ...], what: str) -> None:
    starts = [b.start for b in bands]
    if starts and starts[0] != 0:
        raise ValueError(f"{what}: the first band must start at 0, got {starts[0] / 100:.2f} yuan")
    if any(a >= b for a, b in pairwise(starts)):
        raise ValueError(f"{what}: band starts must rise strictly, got {[s / 100 for s in starts]} yuan")


class IdentityOverride(Model):
    """Basic-insurance terms for one identity category (identity overrides)."""

    deductible_pct: Bp = 10_000
    """The deductible is this share of the normal one (50 = halved, 0 = none)."""
    ratio_add: SignedBp = 0
    """Percentage points added to every ratio."""
    no_cap: bool = False
    """The annual fund cap does not apply."""


NO_OVERRIDE = IdentityOverride()
"""The terms of an identity a line names no override for."""


def _resident_tier(v: Any) -> Any:
    text = str(v).strip() if v is not None else v
    return {"一档": 1, "二档": 2}.get(text, v) if isinstance(text, str) else v


def _age(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_AGE:
        raise ValueError(f"an age in whole years between 0 and {MAX_AGE}, got {v!r}")
    return v


Age = Annotated[int, BeforeValidator(_age)]
"""An age in completed years on the claim date (from the birth date)."""
ResidentTier = Annotated[Literal[1, 2], BeforeValidator(_resident_tier)]
"""一档 (1) or 二档 (2); the pack may write 1, 2, 一档 or 二档."""


INSTITUTION_CLASSES: tuple[str, ...] = ("designated", "linked", "other")
"""Where a claim was made, seen from the person's selected institution (residents' general outpatient, 定点/签约
基层机构): the one the person selected, one linked with it (紧密型医共体 / 转诊), any other."""


@dataclass(frozen=True)
class Facts:
    """What lines and their terms go by about the person on the claim date, and where the claim was made."""

    age: int | None = None
    """Completed years from the birth date (``None``: unknown)."""
    resident_tier: int | None = None
    """Contribution tier 1 (一档) / 2 (二档) held (``None``: none on record)."""
    institution: str = "other"
    """The claim's institution against the person's selection: designated, linked or other."""
    family_doctor: bool = False
    """A family-doctor contract (家庭医生签约) holds."""
    signed: bool = False
    """The claim's institution is one the person signed for (门诊慢性病签约医疗机构)."""


NO_FACTS = Facts()
"""Nothing known about the person beyond scheme and status: no age, no tier, no institution choice."""


def _check_age_band(age_from: int | None, age_below: int | None, what: str) -> None:
    if age_from is not None and age_below is not None and age_from >= age_below:
        raise ValueError(f"{what}: age_from ({age_from}) must be below age_below ({age_below})")


def in_age_band(age: int | None, age_from: int | None, age_below: int | None) -> bool:
    """Is ``age`` in ``[age_from, age_below)`` (open ends unbounded)? An unknown age is in no bounded band."""
    if age_from is None and age_below is None:
        return True
    if age is None:
        return False
    return (age_from is None or age >= age_from) and (age_below is None or age < age_below)


class PersonTerms(Model):
    """Terms of a benefit line by facts about the person (:class:`Facts`) on the claim date.

        Conditions (at least one; all given must hold): ``age_from`` (inclusive) and ``age_below`` (exclusive),
        in completed years on the claim date, taken from the birth date (children under 18, employees under/over
        45, retirees 70 and over); ``resident_tier`` 1 (一档) or 2 (二档) held on the claim date; ``institution``
        designated / linked / other: the claim's institution (``fixmedins_code``) against the one the person
        selected for general outpatient (other may be paid at 0: ``ratio: 0``); ``family_doctor`` true (a
        family-doctor contract, 家庭医生签约, holds: it may raise the limit, ``cap``; wherever the claim is made —
    with ``institution: designated`` in the same entry for the selected institution only) or false. Effects (at least
        one): ``deductible`` / ``deductible_2nd`` / ``deductible_3rd`` / ``ratio`` / ``cap`` replace the line's
        own; ``ratio_add`` adds percentage points to every ratio (age-linked ratios), on top of identity
        points. Every entry whose conditions hold applies, in the order the pack lists them: a later
        replacement wins, ``ratio_add`` points add up. A resident with no tier on record gets the line's
        own terms (write the 一档 terms there and the 二档 ones as an entry); a person whose age is needed
        and whose birth date is unknown is refused.
    """

    age_from: Age | None = None
    age_below: Age | None = None
    resident_tier: ResidentTier | None = None
    institution: Literal["designated", "linked", "other"] | None = None
    family_doctor: bool | None = None
    deductible: FenByLevel | None = None
    deductible_2nd: FenByLevel | None = None
    deductible_3rd: FenByLevel | None = None
    ratio: RatioTable | None = None
    ratio_add: SignedBp = 0
    cap: Fen | None = None

    @model_validator(mode="after")
    def _check(self) -> PersonTerms:
        conditions = (self.age_from, self.age_below, self.resident_tier, self.institution, self.family_doctor)
        if all(c is None for c in conditions):
            raise ValueError(
                "a person_terms entry needs a condition: age_from, age_below, resident_tier, institution or family_doctor"
            )
        _check_age_band(self.age_from, self.age_below, "person_terms")
        effects = (self.deductible, self.deductible_2nd, self.deductible_3rd, self.ratio, self.cap)
        if all(e is None for e in effects) and self.ratio_add == 0:
            raise ValueError(
                "a person_terms entry needs an effect: deductible, deductible_2nd, deductible_3rd, ratio, ratio_add or cap"
            )
        for name in ("deductible", "deductible_2nd", "deductible_3rd"):
            table = getattr(self, name)
            if table is not None:
                _complete(table, LEVELS, name)
        if self.ratio is not None:
            _complete(self.ratio, PLACES, "ratio")
            for place, table in self.ratio.items():
                _complete(table, LEVELS, f"ratio.{place}")
        return self

    @property
    def needs_age(self) -> bool:
        return self.age_from is not None or self.age_below is not None

    def holds(self, facts: Facts) -> bool:
        """Do all the entry's conditions hold for these facts?"""
        return (
            in_age_band(facts.age, self.age_from, self.age_below)
            and (self.resident_tier is None or self.resident_tier == facts.resident_tier)
            and (self.institution is None or self.institution == facts.institution)
            and (self.family_doctor is None or self.family_doctor == facts.family_doctor)
        )


FilingList = Literal["chronic", "special"]
FILING_LISTS: tuple[FilingList, ...] = ("chronic", "special")
"""The pack's disease lists for 门诊慢特病备案: ``chronic`` 门诊慢性病, ``special`` 门诊特殊病."""


class BenefitLine(Model):
    """One benefit line of basic insurance (待遇类别), selected by scheme, ``med_type`` and disease."""

    label_zh: str
    label_en: str
    insutype: Literal["390", "310"]
    med_types: tuple[str, ...]
    diseases: tuple[str, ...] = ()
    """``dise_codg`` prefixes that select this line (two diseases: I10, E11); empty = any."""
    requires_filing: bool = False
    """Only with a chronic/special-disease filing (门诊慢特病备案) for the claim's disease."""
    filing_list: FilingList | None = None
    """The line of one list of the pack's ``filing_diseases`` (``chronic`` 门诊慢性病 or ``special`` 门诊特殊病): it
    needs a filing (``requires_filing``) and its ``diseases`` are that list's codes, so a filed disease settles on
    the line of its own list (a filing's kind is its disease's list). ``None``: any filed disease."""
    fallback: str | None = None
    """Line used instead when a required filing is missing."""
    emp_status: Literal["in_service", "retired"] | None = None
    """Employee lines: only for in-service or only for retired people."""
    age_from: Age | None = None
    """Only for people this old or older on the claim date (completed years, from the birth date)."""
    age_below: Age | None = None
    """Only for people younger than this on the claim date (children's line: ``age_below: 18``)."""
    signed_only: bool = False
    """Only at an institution the person signed for this care (门诊慢性病签约医疗机构, seed 004: one hospital and
    one township health centre, changeable monthly); a claim elsewhere goes to ``fallback`` or is refused."""

    deductible_kind: Literal["none", "claim", "admission", "month", "quarter", "year"] = "none"
    """How often the deductible (起付线) is charged: ``claim`` on every claim, ``admission`` on every
    admission (with ``deductible_2nd``/``deductible_3rd`` for the year's later ones), ``month``,
    ``quarter`` or ``year`` once per calendar period (measured on the group's in-period base, which
    starts again at 0 each period: nothing carries over), ``none``."""
    deductible: FenByLevel = {1: 0, 2: 0, 3: 0}
    """Per claim, per admission (the year's first) or per period, by hospital level."""
    deductible_level: Literal["claim", "highest"] = "claim"
    """Periodic deductibles: ``claim`` (default), the deductible of the claim's level measured on the
    group's in-period base; ``highest``, the deductible of the highest level attended in the period
    so far (this claim's included) less what the period's claims already paid of it, so moving up a
    level later in the year charges only the difference."""
    deductible_waived_for: tuple[str, ...] = ()
    """``dise_codg`` prefixes of special diseases (特殊病种): a claim for one of them, by a person with
    a chronic/special-disease filing covering the claim's disease on its date, pays no deductible
    on this line (and counts nothing towards a periodic one)."""
    deductible_on: Literal["base", "payment"] = "base"
    """``base`` (default): the deductible is taken off the policy-range amount before the ratio;
    ``payment``: the ratio applies to the whole amount and the deductible is taken off the payment,
    ``pay = max(0, raw - the period's remaining deductible)`` (the deductible taken counts as
    ``act_pay_dedc``)."""
    deductible_2nd: FenByLevel | None = None
    """Per-admission deductible for the year's 2nd admission (default: as the first)."""
    deductible_3rd: FenByLevel | None = None
    """... for the 3rd and later admissions (default: as the 2nd)."""
    deductible_group: str | None = None
    """Yearly deductible shared by lines with the same group (default: the line's own key)."""
    deductible_by_place: FenByPlace = {}
    """The deductible at the places named, by hospital level, replacing ``deductible`` (and, for
    every admission of the year, ``deductible_2nd``/``deductible_3rd``) there; keyed by place like
    ``ratio`` (a finer cross-region kind not named takes its parent's). Places not named: ``deductible``."""
    place_selfpay_first: BpByPlace = {}
    """Share of the policy-range amount the patient pays first at the places named (e.g. 异地未备案
    先自付 20%), before the deductible and the ratio; it stays in the policy-range self-pay (the
    later tiers see it). Places not named: none."""

    ratio: RatioTable
    ratio_bands: tuple[RatioBand, ...] = ()
    cap: Fen | None = None
    """Annual cap on what basic insurance pays in this line's cap group."""
    cap_by_tier: dict[str, Fen] | None = None
    """Employee lines: annual cap by enrolment tier (replaces ``cap``)."""
    cap_group: str | None = None
    """Lines with the same cap group share one cap (default: the line's own key)."""
    cap_period: Literal["month", "quarter", "year"] = "year"
    """The period the cap counts payments in: per calendar ``month``, ``quarter`` or ``year``
    (default); an unused amount does not carry over to the next period."""
    cost_ceiling: Fen | None = None
    """最高支付限额 written as covered *cost*: a yearly ceiling on the policy-range cost this line's
    ratio is paid on (full-pay items aside), shared by the lines of ``cost_ceiling_group``. The
    fund pays the ratio on the part of the claim's cost still under the ceiling; the cost above it
    stays in the policy-range self-pay (so later tiers still see it). ``None``: no ceiling."""
    cost_ceiling_basis: Literal["above_deductible", "gross"] = "above_deductible"
    """``above_deductible``: the ceiling counts the cost above the deductible; ``gross``: the cost
    from the first fen, the deductible part included. (With ``deductible_on: payment`` the base has
    no deductible part: both count from the first fen.)"""
    cost_ceiling_group: str | None = None
    """Lines with the same group share one ceiling (default: the line's cap group)."""
    full_pay_items: tuple[str, ...] = ()
    """Listed items whose 甲类 lines basic insurance pays in full (two-disease drug list)."""
    class_b_ratio: RatioTable | None = None
    """乙类 items paid at their own ratio, by place and level like ``ratio`` (identity points and
    none of ``ratio_bands``: the two do not combine). The amount above the deductible is split by
    class in proportion (the 乙类 part rounded half up), each part paid at its ratio and rounded.
    Default: 乙类 at the line's ratio."""
    fixed_share_items: tuple[str, ...] = ()
    """Listed items (implants, consumables: ``med_list_codg``) of which basic insurance pays the
    fixed ``fixed_share`` of their policy-range amount, outside the deductible and the ratio (within the
    cap); the rest of them stays policy-range self-pay."""
    fixed_share: Bp | None = None
    """The fund's share of the ``fixed_share_items`` (given with them)."""
    full_pay_in_cap: bool = True
    """Whether the full payment of ``full_pay_items`` counts against the line's cap and is limited
    by it (``true``, the default). ``false``: the listed items are paid in full whatever the cap has
    left and are not counted in it, so the cap limits only the rest of the line's payments (seed
    002's 零支付 of listed 甲类 两病 drugs)."""
    personal_account: Literal["none", "all", "in_catalogue"] = "none"
    """个人账户 (employee lines only): which part of the person's share (``psn_part_amt``, what the funds left)
    the person's account pays, up to the balance left for the year (``Person.acct_balance`` less the year's
    ``acct_paid``); the rest is paid in cash (``psn_cash_pay``). ``all``: the whole share; ``in_catalogue``:
    the share less the fully self-paid and over-limit parts (``fulamt_ownpay_amt``, ``overlmt_selfpay``);
    ``none`` (default): no account, all in cash. The funds' amounts do not change."""
    account_first: bool = False
    """当年账户先支付 (Shanghai's 职工医保 门急诊 order: 当年账户 → 自负段 → 共付段), for an employee line with a
    ``personal_account``: on each claim the account first pays the policy-range amount the deductible and the
    ratio work on (after the items paid in full or at a fixed share and the place's self-pay first), up to the
    balance left for the year; only the rest enters the basic tier, so the deductible (here the 自负段) counts
    only amounts after the account is used up, and the ratio, the cost ceiling and the cap work on that rest.
    The account's first payment gets no basic-insurance payment; it stays in the policy-range self-pay the
    later tiers see. The account's payment on the claim is then ``personal_account``'s, as on any line (the
    first payment is part of it): at most the payable share, up to the balance (:meth:`account_payable`), so
    what the balance has left after the first payment pays the rest of that share, and what a later tier pays
    of the first payment is not paid from the account. Default ``false``: the account pays after the funds."""
    identity_overrides: Annotated[dict[Category, IdentityOverride], BeforeValidator(_category_keys)] = {}
    person_terms: dict[str, PersonTerms] = {}
    """Terms by the person's age band and resident contribution tier (:class:`PersonTerms`), keyed by a
    name the trace shows; applied in the order listed."""

    @model_validator(mode="after")
    def _check(self) -> BenefitLine:
        _check_age_band(self.age_from, self.age_below, "age band")
        for name, terms in self.person_terms.items():
            if self.deductible_kind != "admission" and (terms.deductible_2nd or terms.deductible_3rd):
                raise ValueError(f"person_terms.{name}: deductible_2nd/deductible_3rd need deductible_kind: admission")
            if terms.cap is not None and self.cap_by_tier is not None:
                raise ValueError(f"person_terms.{name}.cap cannot replace cap_by_tier (the line's cap is by enrolment tier)")
        for name in ("deductible", "deductible_2nd", "deductible_3rd"):
            table = getattr(self, name)
            if table is not None:
                _complete(table, LEVELS, name)
        _complete_places(self.ratio, "ratio")
        for place, table in self.ratio.items():
            _complete(table, LEVELS, f"ratio.{place}")
        _complete_places(self.deductible_by_place, "deductible_by_place", every=False)
        for place, table in self.deductible_by_place.items():
            _complete(table, LEVELS, f"deductible_by_place.{place}")
        _complete_places(self.place_selfpay_first, "place_selfpay_first", every=False)
        if self.class_b_ratio is not None:
            _complete_places(self.class_b_ratio, "class_b_ratio")
            for place, table in self.class_b_ratio.items():
                _complete(table, LEVELS, f"class_b_ratio.{place}")
            if self.ratio_bands:
                raise ValueError("class_b_ratio cannot be combined with ratio_bands (give one of them)")
        if bool(self.fixed_share_items) != (self.fixed_share is not None):
            raise ValueError("fixed_share_items and fixed_share are given together (the items and the fund's share)")
        both = sorted(set(self.fixed_share_items) & set(self.full_pay_items))
        if both:
            raise ValueError(f"fixed_share_items {both} are also full_pay_items; an item is paid one way")
        if self.deductible_kind == "none" and self.deductible_by_place:
            raise ValueError("deductible_by_place needs deductible_kind admission or year")
        _check_bands(self.ratio_bands, "ratio_bands")
        if self.cap_by_tier is not None:
            _complete(self.cap_by_tier, EMP_TIERS, "cap_by_tier")
        if self.deductible_kind != "admission" and (self.deductible_2nd or self.deductible_3rd):
            raise ValueError("deductible_2nd/deductible_3rd need deductible_kind: admission")
        if self.deductible_level == "highest" and self.deductible_period is None:
            raise ValueError("deductible_level: highest needs a periodic deductible_kind (month, quarter or year)")
        if self.deductible_waived_for and self.deductible_kind == "none":
            raise ValueError("deductible_waived_for needs a deductible_kind (there is no deductible to waive)")
        if self.deductible_on == "payment" and self.deductible_kind == "none":
            raise ValueError("deductible_on: payment needs a deductible_kind (claim, admission, month, quarter or year)")
        if self.cost_ceiling is None and (self.cost_ceiling_group is not None or self.cost_ceiling_basis != "above_deductible"):
            raise ValueError("cost_ceiling_group/cost_ceiling_basis need a cost_ceiling (yuan)")
        if not self.med_types:
            raise ValueError("med_types must name at least one med_type")
        if self.account_first and (self.personal_account == "none" or self.insutype != "310"):
            raise ValueError(
                "account_first needs an employee line (insutype 310) with personal_account all or in_catalogue: "
                "the personal account pays first"
            )
        if self.personal_account != "none" and self.insutype != "310":
            raise ValueError("personal_account needs an employee line (insutype 310): residents have no personal account")
        if not self.full_pay_in_cap and not self.full_pay_items:
            raise ValueError("full_pay_in_cap: false needs full_pay_items (the items paid in full outside the cap)")
        return self

    # The derived rules: every engine (scalar, batch, SQL), the position and the reports ask these.

    def serves(self, insutype: str, emp_status: str | None) -> bool:
        """Does the line serve people of this scheme (and, for employee lines, this status)?"""
        return self.insutype == insutype and (self.emp_status is None or self.emp_status == emp_status)

    @property
    def age_bounded(self) -> bool:
        """Is the line only for an age band (so selecting it needs the person's age)?"""
        return self.age_from is not None or self.age_below is not None

    def serves_age(self, age: int | None) -> bool:
        """Is a person of this age (``None``: unknown) in the line's age band?"""
        return in_age_band(age, self.age_from, self.age_below)

    @property
    def needs_age(self) -> bool:
        """Does settling on this line need the person's age (an age band, or terms by age)?"""
        return self.age_bounded or any(t.needs_age for t in self.person_terms.values())

    def terms_held(self, facts: Facts) -> list[str]:
        """The names of the ``person_terms`` entries that hold for these facts, in order."""
        return [name for name, t in self.person_terms.items() if t.holds(facts)]

    def for_person(self, facts: Facts) -> BenefitLine:
        """The line with the person's ``person_terms`` applied: what every engine settles on."""
        held = self.terms_held(facts)
        if not held:
            return self
        update: dict[str, Any] = {}
        add = 0
        for name in held:
            terms = self.person_terms[name]
            for key in ("deductible", "deductible_2nd", "deductible_3rd", "ratio", "cap"):
                if getattr(terms, key) is not None:
                    update[key] = getattr(terms, key)
            add += terms.ratio_add
        if add:
            ratio = update.get("ratio", self.ratio)
            update["ratio"] = {place: {lv: r + add for lv, r in table.items()} for place, table in ratio.items()}
        return self.model_copy(update=update)

    def matches(self, med_type: str, dise_codg: str) -> bool:
        """Does a claim of this ``med_type`` and disease (a ``dise_codg`` prefix, if the line names any) select the line?"""
        dise = dise_codg.upper()
        return med_type in self.med_types and (not self.diseases or any(dise.startswith(d.upper()) for d in self.diseases))

    def cap_key(self, key: str) -> str:
        """The cap group this line (named ``key`` in the policy) counts its payments in."""
        return self.cap_group or key

    def deductible_key(self, key: str) -> str:
        """The group whose periodic deductible this line's claims fill."""
        return self.deductible_group or key

    @property
    def deductible_period(self) -> Period | None:
        """The calendar period of a periodic deductible (``None``: per claim, per admission or none)."""
        kind = self.deductible_kind
        return kind if kind in PERIODS else None  # type: ignore[return-value]

    def deductible_slot(self, key: str, day: date) -> str:
        """The accumulator key of this line's periodic deductible on ``day``: its group and period."""
        period = self.deductible_period
        assert period is not None
        return period_key(self.deductible_key(key), period, day)

    def waives_deductible(self, dise_codg: str, filed: bool) -> bool:
        """Is the deductible waived for a claim of this disease (``filed``: the person's filing covers it)?"""
        dise = dise_codg.upper()
        return filed and any(dise.startswith(d.upper()) for d in self.deductible_waived_for)

    @property
    def counts_deductible_paid(self) -> bool:
        """Does the periodic deductible count what was paid of it (``deductible_taken``: off the payment,
        or at the highest level) rather than the base (``deductible_base``)?"""
        return self.deductible_on == "payment" or self.deductible_level == "highest"

    def cap_slot(self, key: str, day: date) -> str:
        """The ``basic_paid`` key this line's payments on ``day`` count in: its cap group and period."""
        return period_key(self.cap_key(key), self.cap_period, day)

    def ceiling_key(self, key: str) -> str:
        """The ``covered_cost`` key (the yearly cost-ceiling group) of this line."""
        return self.cost_ceiling_group or self.cap_key(key)

    def override_for(self, identity: str) -> IdentityOverride:
        """The identity's terms on this line. Every ``*_for(identity, …)`` rule of the line sees the identity only
        through these (the batch tables ask each rule once per distinct override)."""
        return self.identity_overrides.get(identity, NO_OVERRIDE)

    def deductible_full(self, level: int, ordinal: int = 1, place: str = "in_county") -> int:
        """The deductible before any identity share: of the year's ``ordinal``-th admission, the yearly one, or 0;
        at a place ``deductible_by_place`` names, its deductible whatever the ordinal."""
        if self.deductible_kind == "none":
            return 0
        by_place = place_value(self.deductible_by_place, place)
        if by_place is not None:
            return int(by_place[level])
        table = self.deductible
        if self.deductible_kind == "admission" and ordinal >= 2:
            table = self.deductible_2nd or table
            if ordinal >= 3:
                table = self.deductible_3rd or table
        return table[level]

    def deductible_for(self, identity: str, level: int, ordinal: int = 1, place: str = "in_county") -> int:
        """The deductible for this identity (its share of the full one, rounded half up)."""
        return apply_ratio(self.deductible_full(level, ordinal, place), self.override_for(identity).deductible_pct)

    def deductible_at_place(self, place: str) -> bool:
        """Does ``deductible_by_place`` set the deductible at ``place`` (itself or its parent)?"""
        return self.deductible_kind != "none" and place_value(self.deductible_by_place, place) is not None

    def place_selfpay_first_for(self, place: str) -> int:
        """The share (basis points) of the policy-range amount paid first by the patient at ``place`` (0: none)."""
        share = place_value(self.place_selfpay_first, place)
        return 0 if share is None else int(share)

    def class_b_ratio_for(self, identity: str, place: str, level: int) -> int | None:
        """The 乙类 ratio plus the identity's points (before clamping); ``None``: 乙类 at the line's ratio."""
        if self.class_b_ratio is None:
            return None
        return self.class_b_ratio[place][level] + self.override_for(identity).ratio_add

    def ratio_for(self, identity: str, place: str, level: int) -> int:
        """The basic ratio plus the identity's points, basis points, before bands and clamping to 0..100%."""
        return self.ratio[place][level] + self.override_for(identity).ratio_add

    def ratio_bands_for(self, identity: str, place: str, level: int) -> list[tuple[int, int]]:
        """Marginal bands ``(start, ratio)`` over the admission's amount (one band from 0 without ``ratio_bands``)."""
        ratio = self.ratio_for(identity, place, level)
        return [(b.start, ratio + b.add) for b in self.ratio_bands] or [(0, ratio)]

    @property
    def full_pay_kind(self) -> int:
        """How listed items are paid in full: 0 no ``full_pay_items``, 1 counted in the cap, 2 outside it."""
        if not self.full_pay_items:
            return 0
        return 1 if self.full_pay_in_cap else 2

    def account_payable(self, psn_part: int, fulamt: int, overlmt: int) -> int:
        """The part of the person's share (``psn_part``) the personal account may pay (before the balance)."""
        if self.personal_account == "none":
            return 0
        if self.personal_account == "all":
            return max(0, psn_part)
        return max(0, psn_part - fulamt - overlmt)

    def account_first_pays(self, base: int, left: int) -> int:
        """``account_first``: what the account pays first of ``base`` (the amount the deductible and the ratio
        would work on), up to ``left``, the balance left for the year; 0 on any other line."""
        return min(max(0, base), max(0, left)) if self.account_first else 0

    @property
    def needs_emp_tier(self) -> bool:
        """An employee line whose cap depends on the enrolment tier."""
        return self.cap_by_tier is not None

    def cap_for(self, identity: str, emp_tier: str | None) -> int | None:
        """The annual cap of this line's cap group for the identity and enrolment tier (``None``: no cap)."""
        if self.override_for(identity).no_cap:
            return None
        if self.cap_by_tier is not None and emp_tier is not None:
            return self.cap_by_tier[emp_tier]
        return self.cap


class CombinedCap(Model):
    """A stated combined cap for people with two or more listed diseases filed (合并限额): the listed
    lines (one per disease, each with its own cap) then share this one amount instead of the sum of
    theirs. Their payments always count in the block's accumulator too (``basic_paid[<name>]``), so
    a second filing mid-year finds the year's payments already counted."""

    lines: tuple[str, ...]
    diseases: tuple[str, ...]
    """``dise_codg`` codes; a person whose chronic/special-disease filings cover two or more of them on
    the claim date has the combined cap."""
    cap: Fen

    def qualifies(self, covered: Callable[[str], bool]) -> bool:
        """Do the filings (``covered(disease)``: a filing covers it on the day) cover two or more listed diseases?"""
        return sum(1 for d in self.diseases if covered(d)) >= 2


class Tilt(Model):
    """Critical-illness tilt (倾斜支付) for named identities (seed 003)."""

    categories: tuple[Category, ...]
    deductible_pct: Bp = 10_000
    ratio_add: SignedBp = 0
    no_cap: bool = False


TierBase = Literal["policy_range", "in_catalogue"]
"""What a later tier's base is made of:

- ``policy_range`` (the default): the policy-range self-pay left by the payers before it
  (政策范围内个人自付: ``inscp_scp_amt`` minus what basic and the earlier tiers paid);
- ``in_catalogue``: that plus the 乙类 self-pay-first part (``preselfpay_amt``, 目录内自付).

Over-limit (``overlmt_selfpay``) and fully self-paid (``fulamt_ownpay_amt``) amounts are never
in a base. An earlier tier's payment counts against the policy-range self-pay first, so the
policy-range base a later tier sees is ``inscp_scp_amt`` − basic − earlier tiers, never below 0,
and the in-catalogue base is that total plus ``preselfpay_amt`` minus whatever the earlier tiers
paid beyond it."""


class CriticalIllness(Model):
    """大病保险: marginal bands on the cumulative in-year self-pay after basic (see ``base``).

    A pack may hold two such blocks, ``critical_illness`` (e.g. residents' 大病保险) and
    ``large_amount`` (e.g. employees' 大额医疗费用补助), each serving its own schemes
    (``insutypes``, which must not overlap) with its own lines, deductible, bands, cap and tilt.
    A person belongs to one scheme, so the year's accumulators (``ci_base``, ``ci_paid``) are
    those of the one block serving the person; the setldetail row names the fund by scheme
    (390200 / 310200)."""

    insutypes: tuple[Literal["390", "310"], ...] = ("390",)
    lines: tuple[str, ...]
    deductible: Fen
    bands: tuple[Band, ...]
    band_basis: Literal["gross", "above_deductible"]
    """``gross``: band starts are points on the cumulative amount itself; ``above_deductible``:
    on the cumulative amount minus the deductible."""
    cap: Fen | None = None
    tilt: Tilt | None = None
    base: TierBase = "policy_range"
    """What the cumulative amount counts: policy-range self-pay (default) or in-catalogue self-pay
    (adds the 乙类 self-pay-first part), see :data:`TierBase`."""

    @model_validator(mode="after")
    def _check(self) -> CriticalIllness:
        if not self.bands:
            raise ValueError("bands must hold at least one band")
        _check_bands(self.bands, "bands")
        if not self.insutypes:
            raise ValueError("insutypes must name at least one scheme (390 residents, 310 employees)")
        return self

    def covers(self, insutype: str, identity: str) -> bool:
        """Does the tier pay for people of this scheme (on its lines)?"""
        return insutype in self.insutypes

    def tilt_for(self, identity: str) -> Tilt | None:
        return self.tilt if self.tilt is not None and identity in self.tilt.categories else None

    def deductible_for(self, identity: str) -> int:
        tilt = self.tilt_for(identity)
        return apply_ratio(self.deductible, tilt.deductible_pct) if tilt else self.deductible

    def bands_for(self, identity: str) -> list[tuple[int, int]]:
        """Marginal bands ``(start, ratio)`` with the identity's tilt points added."""
        tilt = self.tilt_for(identity)
        add = tilt.ratio_add if tilt else 0
        return [(b.start, b.ratio + add) for b in self.bands]

    def cap_for(self, identity: str, major: bool = False) -> int | None:
        tilt = self.tilt_for(identity)
        return None if tilt and tilt.no_cap else self.cap


@dataclass(frozen=True)
class Terms:
    """An assistance tier's terms for one claim, resolved: threshold (deductible), ratio, yearly cap (limit)."""

    threshold: int
    ratio: int
    cap: int
    income_share: int | None = None
    """The threshold is this share (basis points) of ``income`` (``deductible_income_share``)."""
    income: int | None = None


def _matches_disease(prefixes: tuple[str, ...], dise_codg: str) -> bool:
    dise = dise_codg.upper()
    return bool(dise) and any(dise.startswith(d.upper()) for d in prefixes)


def _takes_major(prefixes: tuple[str, ...], categories: Mapping[str, Any], dise_codg: str, flagged: bool) -> bool:
    """An assistance tier's 重特大疾病 rule: a claim takes the categories' ``major`` terms when its disease is one of
    the block's ``major_diseases`` prefixes, or when it carries the 重特大疾病 flag (``major_dise_flag``) and some
    category has ``major`` terms."""
    return _matches_disease(prefixes, dise_codg) or (flagged and any(c.major is not None for c in categories.values()))


class AssistanceMajor(Model):
    """A category's assistance terms for designated 重特大疾病 claims; an omitted one is the ordinary term."""

    deductible: Fen | None = None
    deductible_income_share: Bp | None = None
    """Or the deductible as a share (percent) of the block's ``per_capita_income``."""
    ratio: Bp | None = None
    limit: Fen | None = None


class AssistanceCategory(Model):
    """One category's assistance terms: deductible (yearly, on the cumulative base), ratio, yearly limit."""

    deductible: Fen | None = None
    """The yearly deductible in yuan; or give ``deductible_income_share``."""
    deductible_income_share: Bp | None = None
    """The deductible as a share (percent) of the local per-capita disposable income (the block's
    ``per_capita_income``), e.g. 10 for 上年居民人均可支配收入的10%; rounded half up to the fen."""
    ratio: Bp
    limit: Fen | None = None
    """The category's own yearly limit (default: the block's ``limit``)."""
    major: AssistanceMajor | None = None
    """Terms for claims of the block's ``major_diseases`` (default: the ordinary ones)."""


class OnApplication(Model):
    """依申请救助: assistance a person applies for, over the bills of a look-back window.

    On the application day, a person whose deciding category is in ``categories`` (``ordinary``
    may be listed) is paid ``ratio`` of the policy-range self-pay left by every payer
    (``inscp_scp_amt`` − ``fund_pay_sumamt``) of the bills settled in the ``window_months`` up to
    that day and not counted by an earlier application, above the ``deductible`` (in yuan, or
    ``deductible_income_share`` of the block's ``per_capita_income``), within ``limit`` per
    application. See :func:`yibao.settlement.application.assist_on_application`."""

    categories: tuple[Category, ...]
    window_months: Months
    deductible: Fen | None = None
    deductible_income_share: Bp | None = None
    ratio: Bp
    limit: Fen

    @model_validator(mode="after")
    def _check(self) -> OnApplication:
        if (self.deductible is None) == (self.deductible_income_share is None):
            raise ValueError("give exactly one of deductible (yuan) and deductible_income_share (percent)")
        if not self.categories:
            raise ValueError("categories: at least one identity category that may apply")
        return self


class Assistance(Model):
    """医疗救助: by identity category, on the self-pay left after basic and critical illness (see ``base``).

    Each category has its own deductible, ratio and (optionally) limit; a person has one yearly
    base and one yearly paid total (``maf_base``, ``maf_paid``), and each claim is judged against
    the terms of the category deciding on its date: the deductible on the cumulative base, the
    limit on the total paid so far. A claim whose disease (``dise_codg`` prefix) is listed in
    ``major_diseases``, or that carries the 重特大疾病 flag (``major_dise_flag``), takes each category's
    ``major`` terms (重特大疾病 vs ordinary); without ``major_diseases`` only the flag selects them."""

    lines: tuple[str, ...]
    categories: Annotated[dict[Category, AssistanceCategory], BeforeValidator(_category_keys)]
    limit: Fen | None = None
    """The annual limit per person of every category that gives none of its own."""
    major_diseases: tuple[str, ...] = ()
    """``dise_codg`` prefixes of the designated 重特大疾病 whose claims take the categories' ``major`` terms."""
    per_capita_income: Fen | None = None
    """The local per-capita disposable income (yuan), for deductibles given as ``deductible_income_share``."""
    base: TierBase = "policy_range"
    """Policy-range self-pay (default) or in-catalogue self-pay, see :data:`TierBase`."""
    on_application: OnApplication | None = None
    """Assistance on application over a look-back window of earlier bills (依申请救助), see :class:`OnApplication`."""

    @model_validator(mode="after")
    def _check(self) -> Assistance:
        app = self.on_application
        if app is not None and app.deductible_income_share is not None and self.per_capita_income is None:
            raise ValueError("on_application.deductible_income_share needs per_capita_income")
        for code, cat in self.categories.items():
            if cat.limit is None and self.limit is None:
                raise ValueError(f"categories.{code} has no limit and the block gives no limit: give one or the other")
            if (cat.deductible is None) == (cat.deductible_income_share is None):
                raise ValueError(
                    f"categories.{code}: give exactly one of deductible (yuan) and deductible_income_share (percent)"
                )
            if cat.major is not None and cat.major.deductible is not None and cat.major.deductible_income_share is not None:
                raise ValueError(f"categories.{code}.major: give at most one of deductible and deductible_income_share")
            shares = (cat.deductible_income_share, cat.major.deductible_income_share if cat.major else None)
            if any(x is not None for x in shares) and self.per_capita_income is None:
                raise ValueError(f"categories.{code}: deductible_income_share needs per_capita_income")
        if self.major_diseases and not any(cat.major for cat in self.categories.values()):
            raise ValueError("major_diseases is given but no category has major terms")
        return self

    def terms_for(self, identity: str, major: bool = False) -> Terms:
        """The category's deductible, ratio and limit (its ``major`` ones for a designated disease); a
        deductible given as a share of the per-capita income is that share of it, rounded half up."""
        cat = self.categories[identity]
        m = cat.major if major and cat.major is not None else AssistanceMajor()
        limit = m.limit if m.limit is not None else cat.limit if cat.limit is not None else self.limit
        ratio = cat.ratio if m.ratio is None else m.ratio
        assert limit is not None  # the validator checked every category resolves one
        for fixed, share in ((m.deductible, m.deductible_income_share), (cat.deductible, cat.deductible_income_share)):
            if fixed is not None:
                return Terms(fixed, ratio, limit)
            if share is not None:
                assert self.per_capita_income is not None  # the validator checked
                return Terms(apply_ratio(self.per_capita_income, share), ratio, limit, share, self.per_capita_income)
        raise AssertionError(identity)  # the validator checked every category gives a deductible

    def application_terms(self) -> Terms:
        """The on-application terms: deductible (a share of the per-capita income where so given), ratio, limit."""
        app = self.on_application
        assert app is not None
        if app.deductible is not None:
            return Terms(app.deductible, app.ratio, app.limit)
        assert app.deductible_income_share is not None and self.per_capita_income is not None  # the validators checked
        income, share = self.per_capita_income, app.deductible_income_share
        return Terms(apply_ratio(income, share), app.ratio, app.limit, share, income)

    def covers(self, insutype: str, identity: str) -> bool:
        return identity in self.categories

    def is_major(self, dise_codg: str, flagged: bool = False) -> bool:
        """Does a claim of this disease, flagged 重特大疾病 or not, take the ``major`` terms (:func:`_takes_major`)?"""
        return _takes_major(self.major_diseases, self.categories, dise_codg, flagged)

    def cap_for(self, identity: str, major: bool = False) -> int | None:
        return self.terms_for(identity, major).cap if identity in self.categories else self.limit


class TiltTerms(Model):
    """Tilted-assistance terms of one category (or of its 重特大疾病 claims); omitted ones are the block's."""

    threshold: Fen | None = None
    ratio: Bp | None = None
    cap: Fen | None = None


class TiltCategory(TiltTerms):
    major: TiltTerms | None = None
    """Terms for claims of the block's ``major_diseases`` (default: the category's ordinary ones)."""


def _tilt_categories(v: Any) -> Any:
    """A list of categories means each on the block's terms."""
    if isinstance(v, list | tuple):
        return {c: {} for c in v}
    return _category_keys(v)


class TiltedAssistance(Model):
    """倾斜救助: a further payment on what self-pay is still left (see ``base``).

    ``categories`` is a list (every category on the block's ``threshold``, ``ratio`` and ``cap``)
    or a mapping from category to its own terms (any of ``threshold``, ``ratio``, ``cap``; omitted
    ones are the block's, and ``major`` terms for claims of ``major_diseases`` or flagged 重特大疾病). A person has one
    yearly base and one paid total; each claim is judged against its deciding category's terms."""

    lines: tuple[str, ...]
    categories: Annotated[dict[Category, TiltCategory], BeforeValidator(_tilt_categories)]
    threshold: Fen | None = None
    ratio: Bp | None = None
    cap: Fen | None = None
    major_diseases: tuple[str, ...] = ()
    """``dise_codg`` prefixes of the designated 重特大疾病 whose claims take the categories' ``major`` terms."""
    base: TierBase = "policy_range"
    """Policy-range self-pay (default) or in-catalogue self-pay, see :data:`TierBase`."""

    @model_validator(mode="after")
    def _check(self) -> TiltedAssistance:
        for code, cat in self.categories.items():
            for name in ("threshold", "ratio", "cap"):
                if getattr(cat, name) is None and getattr(self, name) is None:
                    raise ValueError(f"categories.{code} has no {name} and the block gives none: give one or the other")
        if self.major_diseases and not any(cat.major for cat in self.categories.values()):
            raise ValueError("major_diseases is given but no category has major terms")
        return self

    def covers(self, insutype: str, identity: str) -> bool:
        return identity in self.categories

    def is_major(self, dise_codg: str, flagged: bool = False) -> bool:
        return _takes_major(self.major_diseases, self.categories, dise_codg, flagged)

    def terms_for(self, identity: str, major: bool = False) -> Terms:
        """The category's threshold, ratio and cap (its ``major`` ones for a designated disease)."""
        cat = self.categories[identity]
        m = cat.major if major and cat.major is not None else TiltTerms()

        def pick(name: str) -> int:
            for terms in (m, cat, self):
                v: int | None = getattr(terms, name)
                if v is not None:
                    return v
            raise AssertionError(name)  # the validator checked every category resolves each term

        return Terms(pick("threshold"), pick("ratio"), pick("cap"))

    def cap_for(self, identity: str, major: bool = False) -> int | None:
        return self.terms_for(identity, major).cap if identity in self.categories else self.cap


def _month_day(v: Any) -> str:
    text = str(v).strip()
    try:
        month, day = (int(part) for part in text.split("-"))
        date(2001, month, day)  # a day that exists every year (2001 is no leap year)
    except ValueError:
        raise ValueError(f"a month-day written MM-DD that exists every year, such as 09-01, got {v!r}") from None
    return f"{month:02d}-{day:02d}"


MonthDay = Annotated[str, BeforeValidator(_month_day)]
"""A day of the year, ``MM-DD``."""


class Subsidy(Model):
    """资助参保: what the medical-assistance fund pays of one category's individual contribution.

    Exactly one of ``share`` (percent of the individual contribution: 特困 100, 监测 50) or
    ``amount`` (a fixed sum in yuan: 定额资助, e.g. 低保 272 of 320). The person pays the rest.
    """

    share: Bp | None = None
    amount: Fen | None = None

    @model_validator(mode="after")
    def _check(self) -> Subsidy:
        if (self.share is None) == (self.amount is None):
            raise ValueError("a subsidy gives exactly one of share (percent) or amount (yuan)")
        return self


class EnrolmentTargets(Model):
    """参保率目标: the lowest coverage rate (enrolled or 视同参保, of everyone in the registry) for the
    whole county and for the rural low-income and 脱贫 group (seed 001: 基本医保参保率达96%以上，
    农村低收入人口和脱贫人口参保率达100%)."""

    overall: Bp
    low_income: Bp


class Premium(Model):
    """Resident premium per person-year and the classified subsidies (分类资助参保).

    ``individual + fiscal`` is the premium (seed 001: 1020 = 380 + 640). Fiscal money pays its
    part for everyone enrolled; the assistance fund pays ``subsidies[category]`` of the
    individual part for the category that decides on the cut-off day; the person pays the rest.
    Residents pay in the autumn for the next year (当年缴费，次年享受, seed 003), so the
    identities held on ``cutoff`` (``MM-DD``) of the year *before* the covered year decide.
    A category without an entry (stable 脱贫, ordinary residents) gets no subsidy.
    """

    individual: Fen
    fiscal: Fen
    cutoff: MonthDay
    subsidies: Annotated[dict[Category, Subsidy], BeforeValidator(_category_keys)] = {}
    targets: EnrolmentTargets | None = None
    """The enrolment-rate targets the coverage page shows as met or not (none: not shown)."""

    @property
    def total(self) -> int:
        return self.individual + self.fiscal

    def cutoff_date(self, year: int) -> date:
        """The day whose identities decide the subsidy for covered ``year``."""
        month, day = (int(part) for part in self.cutoff.split("-"))
        return date(year - 1, month, day)

    @model_validator(mode="after")
    def _check(self) -> Premium:
        for code, sub in self.subsidies.items():
            if sub.amount is not None and sub.amount > self.individual:
                raise ValueError(
                    f"subsidies.{code}.amount {sub.amount / 100:.2f} yuan is more than the individual contribution "
                    f"{self.individual / 100:.2f} yuan"
                )
        return self


BUREAUS = vocab.BUREAUS
"""Where warnings are pushed (seed 000: 同级乡村振兴、民政部门)."""


class WarningRule(Model):
    """One early-warning rule: who is watched, what is measured, against which line.

    ``kind`` "warning" rules list watched people (pushed to other bureaus and followed up);
    "candidate" rules list people outside the watched categories with catastrophic self-pay,
    as candidates for assistance on application.
    """

    label_zh: str
    label_en: str
    kind: Literal["warning", "candidate"] = "warning"
    categories: tuple[Category, ...]
    lines: tuple[str, ...]
    """Benefit lines whose settlements count (e.g. inpatient only, or also chronic outpatient)."""
    measure: Literal["policy_range_self_pay", "self_pay"]
    """policy_range_self_pay: inscp_scp_amt − fund_pay_sumamt per settlement, never below 0 (an in-catalogue later
    tier may pay past the policy range); self_pay: psn_part_amt (everything the person pays)."""
    scope: Literal["year", "claim"] = "year"
    """year: cumulative over the calendar year up to the end of the period; claim: any one settlement in the period."""
    threshold: Fen | None = None
    """A fixed amount (Lincang: 7000 yuan); the warning is raised when the measure exceeds it."""
    threshold_income_share: Bp | None = None
    """Or a share (percent) of the local per-capita disposable income (``monitoring.per_capita_income``)."""
    period: Literal["month", "quarter"] = "month"
    push_to: tuple[str, ...] = ()
    confirmed_identity: Category | None = None
    """The identity category the follow-up records for the person when the bureau the warning was
    pushed to confirms the risk (status ``at_risk``), valid from the day it confirmed, so that the
    tiers of that category reach the person's later settlements (seed 000: 对经乡村振兴等部门认定
    存在返贫致贫风险的，落实倾斜救助政策). ``None``: the confirmation records no identity."""

    @model_validator(mode="after")
    def _check(self) -> WarningRule:
        if (self.threshold is None) == (self.threshold_income_share is None):
            raise ValueError("give exactly one of threshold (yuan) and threshold_income_share (percent of income)")
        if not self.categories:
            raise ValueError("categories: at least one identity category to watch")
        if not self.lines:
            raise ValueError("lines: at least one benefit line whose settlements count")
        unknown = [b for b in self.push_to if b not in BUREAUS]
        if unknown:
            raise ValueError(f"push_to names unknown bureaus {unknown}; known: {sorted(BUREAUS)}")
        return self


class Monitoring(Model):
    """High-cost early warning of illness-driven poverty (防止因病返贫致贫监测预警)."""

    per_capita_income: Fen | None = None
    """The local per-capita disposable income for the year (yuan), for thresholds given as a share of it."""
    rules: dict[str, WarningRule]

    @model_validator(mode="after")
    def _check(self) -> Monitoring:
        if not self.rules:
            raise ValueError("rules: at least one warning rule")
        for key, rule in self.rules.items():
            if rule.threshold_income_share is not None and self.per_capita_income is None:
                raise ValueError(f"rules.{key}.threshold_income_share needs monitoring.per_capita_income")
        return self

    def threshold(self, key: str) -> int:
        """The rule's line in fen: fixed, or its share of the per-capita income rounded half up."""
        rule = self.rules[key]
        if rule.threshold is not None:
            return rule.threshold
        assert rule.threshold_income_share is not None and self.per_capita_income is not None
        return apply_ratio(self.per_capita_income, rule.threshold_income_share)


class FundBudget(Model):
    """The fund budget's rule and warning lines (seed 001: 以收定支、收支平衡、略有结余, quarterly and annual
    reports with risk warnings); used by :mod:`yibao.rules.budget`."""

    spending_growth: Bp
    """A derived budget: each fund's spending of last year raised by this share (percent)."""
    reserve: Bp
    """A derived budget: the share of this year's resident premium income the resident pool keeps unspent
    (略有结余); the basic and critical-illness budgets together stay within the rest (以收定支)."""
    ahead_margin: Bp
    """Warned when the share of a fund's yearly budget spent by a month's end exceeds the share of the year
    elapsed by more than this many percentage points."""
    balance_floor: Bp
    """Warned when the resident pool's expected balance rate for the year (结余率) falls below this share."""


class WithholdStep(Model):
    """One step of the year-end performance rule: a township scoring at least ``score`` is paid ``release``
    percent of what was withheld."""

    score: int
    release: Bp

    @model_validator(mode="after")
    def _check(self) -> WithholdStep:
        if not 0 <= self.score <= 100:
            raise ValueError(f"a performance score between 0 and 100, got {self.score}")
        return self


class StandardDerivation(Model):
    """人头定额标准 derived as the 新农合-era rule did: (the year's outpatient pooling funding − the risk
    reserve − the critical-illness reserve + the balance carried over − an adjustment) ÷ the persons it is
    for, rounded down to the fen."""

    funding: Fen
    risk_reserve: Fen = 0
    critical_reserve: Fen = 0
    balance: Fen = 0
    adjustment: Fen = 0
    persons: int

    @property
    def pool(self) -> int:
        """The money shared out by head (fen)."""
        return self.funding - self.risk_reserve - self.critical_reserve + self.balance - self.adjustment

    @model_validator(mode="after")
    def _check(self) -> StandardDerivation:
        if self.persons <= 0:
            raise ValueError(f"standard.derive.persons must be at least 1, got {self.persons}")
        if self.pool <= 0:
            raise ValueError(
                f"standard.derive leaves {self.pool / 100:.2f} yuan to share by head (funding less reserves "
                "and adjustment, plus balance): expected more than 0"
            )
        return self


class CapitationStandard(Model):
    """The per-head standard (人头定额, yuan per person-year): given (``per_head``) or derived (``derive``)."""

    per_head: Fen | None = None
    derive: StandardDerivation | None = None

    @model_validator(mode="after")
    def _check(self) -> CapitationStandard:
        if (self.per_head is None) == (self.derive is None):
            raise ValueError("capitation.standard gives exactly one of per_head (yuan) or derive (funding, reserves, persons)")
        return self

    @property
    def fen(self) -> int:
        """The standard per person-year in fen."""
        if self.per_head is not None:
            return self.per_head
        assert self.derive is not None
        return self.derive.pool // self.derive.persons


class OverLimit(Model):
    """Above the shared pot's limit: the named categories settle item by item at actual cost (按项目据实结算),
    up to ``cap`` for the year on the line (the poor people's policy maximum; none: no cap); everyone
    else is paid nothing above the limit."""

    categories: tuple[Category, ...]
    cap: Fen | None = None


CAPITATION_WEIGHTS: tuple[str, ...] = ("persons", "visits", "amounts")
"""openIMIS-style weights sharing a township's monthly prepayment among its hospital and clinics: the persons
counted at each (signed with it), its visits and its policy-range amounts in the month."""


class Capitation(Model):
    """门诊统筹人头定额 (seed 004): a township hospital (镇卫生院) and its village clinics (村卫生室) share one
    outpatient pooling pot per person counted; the two use it together and count the maximum payment
    together (共同使用、合并计算最高支付限额). On the ``lines`` named, a claim at an institution of a
    capitation township, by a person that township counts, is paid within the person's yearly ``limit``
    by head (按人头付费: the fund prepays the township monthly, ``prepay_share`` of the year's per-head
    amount, one twelfth a month); above the limit the ``over_limit`` categories settle item by item
    (按项目据实结算). The township pays its clinics for the previous month before day ``clinic_due_day``;
    at the year's end the withheld rest is paid by the performance score (``withhold``)."""

    lines: tuple[str, ...]
    counted: Literal["enrolled", "signed"]
    """Who counts for a township: the persons enrolled living in it (``enrolled``), or those signed with its
    family doctors (``signed``, the person's designated institution belonging to it)."""
    standard: CapitationStandard
    limit: Fen
    """The yearly payment limit per person of the shared pot (门诊统筹最高支付限额), on the line's cap group."""
    category_limits: Annotated[dict[Category, Fen], BeforeValidator(_category_keys)] = {}
    """A category's own limit in place of ``limit``."""
    over_limit: OverLimit | None = None
    prepay_share: Bp
    """The share of the year's per-head amount prepaid, in twelve monthly parts; the rest is withheld."""
    clinic_due_day: int = 20
    withhold: tuple[WithholdStep, ...] = ()
    """Year-end release of the withheld rest by score, highest score first; below the last step nothing."""
    weights: Annotated[dict[str, Bp], BeforeValidator(_weights)] = {}
    """Optional openIMIS-style weights (:data:`CAPITATION_WEIGHTS`) sharing each month's prepayment among the
    township's institutions; none: each clinic is owed what it paid by head in the month."""

    @model_validator(mode="after")
    def _check(self) -> Capitation:
        if not 1 <= self.clinic_due_day <= 28:
            raise ValueError(f"capitation.clinic_due_day must be a day 1-28, got {self.clinic_due_day}")
        scores = [w.score for w in self.withhold]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError(f"capitation.withhold steps must go from the highest score down, each once: got {scores}")
        if self.weights and sum(self.weights.values()) != 10_000:
            total = sum(self.weights.values()) / 100
            raise ValueError(f"capitation.weights must add up to 100 (percent), got {total:g}")
        if self.over_limit is not None and self.over_limit.cap is not None:
            low = [c for c in self.over_limit.categories if self.over_limit.cap < self.limit_for(c)]
            if low:
                raise ValueError(
                    f"capitation.over_limit.cap is below the limit of {low}: the cap counts the whole year's payment"
                )
        return self

    def limit_for(self, identity: str) -> int:
        """The person's yearly limit of the shared pot (fen)."""
        return self.category_limits.get(identity, self.limit)

    def item_by_item(self, identity: str) -> bool:
        """Does the deciding identity settle item by item above the limit?"""
        return self.over_limit is not None and identity in self.over_limit.categories

    def cap_for(self, identity: str) -> int | None:
        """The yearly cap on a capitation claim: the limit, or for an over-limit category the over-limit cap."""
        if self.item_by_item(identity):
            assert self.over_limit is not None
            return self.over_limit.cap
        return self.limit_for(identity)

    def release(self, score: int) -> int:
        """The share (basis points) of the withheld rest paid for a year-end ``score``."""
        return next((w.release for w in self.withhold if score >= w.score), 0)

    def township_of(self, township: str, signed_township: str) -> str:
        """The township that counts a person (their own, or their signed one), ``""`` for none."""
        return township if self.counted == "enrolled" else signed_township


def _check_shared_groups(lines: dict[str, BenefitLine]) -> None:
    """Lines sharing a deductible, cap or ceiling group must count it the same way."""
    seen: dict[tuple[str, str], tuple[str, Any]] = {}

    def agree(what: str, group: str, key: str, how: Any, expected: str) -> None:
        first = seen.setdefault((what, group), (key, how))
        if first[1] != how:
            raise ValueError(
                f"lines.{key} shares {what} {group!r} with lines.{first[0]}, which counts it differently; "
                f"expected the same {expected} ({first[1]!r}), got {how!r}"
            )

    for key, line in lines.items():
        if line.deductible_period is not None:
            kind = (line.deductible_kind, line.deductible_on, line.deductible_level)
            agree("deductible_group", line.deductible_key(key), key, kind, "(deductible_kind, deductible_on, deductible_level)")
        agree("cap_group", line.cap_key(key), key, line.cap_period, "cap_period")
        if line.cost_ceiling is not None:
            basis = (line.cost_ceiling_basis, line.deductible_on)
            agree("cost_ceiling_group", line.ceiling_key(key), key, basis, "(cost_ceiling_basis, deductible_on)")


def _check_combined(blocks: dict[str, CombinedCap], lines: dict[str, BenefitLine]) -> None:
    groups = {ln.cap_key(k) for k, ln in lines.items()}
    seen: dict[str, str] = {}
    for name, block in blocks.items():
        where = f"combined_caps.{name}"
        unknown = [n for n in block.lines if n not in lines]
        if unknown:
            raise ValueError(f"{where}.lines names unknown benefit lines {unknown}; known: {sorted(lines)}")
        if len(set(block.diseases)) < 2:
            raise ValueError(f"{where}.diseases: at least two listed diseases, got {list(block.diseases)}")
        if name in groups:
            raise ValueError(f"{where}: the name is a cap group of a line; expected a name of its own")
        periods = {lines[n].cap_period for n in block.lines}
        if len(periods) > 1:
            raise ValueError(f"{where}.lines count their caps in different periods {sorted(periods)}; expected one cap_period")
        for n in block.lines:
            if n in seen:
                raise ValueError(f"{where}.lines: {n} is already in combined_caps.{seen[n]}; expected each line in one block")
            seen[n] = name


CI_BLOCKS: tuple[str, ...] = ("critical_illness", "large_amount")
"""The policy's critical-illness blocks, in the order a scheme is looked up."""

TierName = Literal["critical_illness", "assistance", "tilted_assistance"]
TIER_NAMES: tuple[TierName, ...] = ("critical_illness", "assistance", "tilted_assistance")
"""The payers after basic insurance, in the order they pay."""


@dataclass(frozen=True)
class LineChoice:
    """The benefit line a claim settles under."""

    key: str
    line: BenefitLine
    fell_back_from: str | None = None
    """The line the claim matched first, whose filing it lacks (or whose signed institution it was not made at)."""
    lacks_filing: bool = False
    """The matched line needs a filing the claim lacks and names no fallback: the claim is refused."""
    lacks_birth_date: bool = False
    """Choosing or settling on the line needs the person's age and the birth date is unknown: refused."""
    not_signed: bool = False
    """The matched line is for signed institutions only, the claim's is not one, and it names no fallback: refused."""
    terms: tuple[str, ...] = ()
    """The line's ``person_terms`` entries applied (``line`` is the line with them applied)."""
    unsigned: bool = False
    """It fell back because the claim was not made at an institution the person signed for."""


class DeclaredCategory(Model):
    """An identity category the pack declares beside the built-in ones (e.g. a region's 因病致贫重病患者
    variant or 刚性支出困难家庭 under its own code): its Chinese and English names, and other names
    bureaus write for it. Pack keys name it by its code; it brings benefits only where the pack
    ranks it in ``identity_priority`` and gives it terms, like a built-in category."""

    label_zh: str
    label_en: str
    aliases: tuple[str, ...] = ()
    bureau: str = "医保"
    """The bureau that recognises it (recorded as an identity's source, e.g. 民政)."""

    @model_validator(mode="after")
    def _check(self) -> DeclaredCategory:
        for name, text in (("label_zh", self.label_zh), ("label_en", self.label_en)):
            if not text.strip():
                raise ValueError(f"{name}: a non-empty name")
        return self


def _check_declared(declared: dict[str, DeclaredCategory]) -> None:
    """Codes of the declared syntax, no code or name the same as a built-in category's or another's."""
    seen: dict[str, str] = {}
    for code, cat in declared.items():
        if not CATEGORY_CODE.fullmatch(code):
            raise ValueError(f"categories.{code}: a code of 2 to 32 lower-case letters, digits and _ starting with a letter")
        for name in (code, cat.label_zh, cat.label_en, *cat.aliases):
            key = name.strip().lower()
            try:
                builtin = normalise_category(name)
            except ValueError:
                builtin = None
            if builtin is not None:
                raise ValueError(f"categories.{code}: {name!r} is the built-in category {builtin!r}; declare a new one")
            if key in seen and seen[key] != code:
                raise ValueError(f"categories.{code}: {name!r} is already a name of categories.{seen[key]}")
            seen[key] = code


def _phone(v: Any) -> Any:
    """A telephone number as text (a pack may write 12393 unquoted)."""
    return str(v).strip() if isinstance(v, int | str) and not isinstance(v, bool) else v


class Contact(Model):
    """Where a household asks (咨询电话): a named line and its number, printed on the policy leaflet."""

    label_zh: str
    label_en: str
    phone: Annotated[str, BeforeValidator(_phone)]

    @model_validator(mode="after")
    def _check(self) -> Contact:
        for name in ("label_zh", "label_en", "phone"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: a non-empty text")
        return self


ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
"""An ICD-10 code as the lists write it: a category (``I10``) or a subcategory (``N18.5``)."""


class FilingDisease(Model):
    """One disease of a filing list: its ICD-10 code (a claim or filing code starting with it is this disease)
    and its Chinese and English names."""

    code: str
    name_zh: str
    name_en: str

    @model_validator(mode="after")
    def _check(self) -> FilingDisease:
        if not ICD10_CODE.fullmatch(self.code):
            raise ValueError(f"code: an ICD-10 code such as I10 or N18.5, got {self.code!r}")
        for name in ("name_zh", "name_en"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: a non-empty name of {self.code}")
        return self


class FilingDiseases(Model):
    """The diseases a person may be filed for (门诊慢特病病种目录): the 门诊慢性病 list and the 门诊特殊病 list.
    A code stands in one list only, and no code of one list begins another list's code (a disease's list is
    never in doubt)."""

    chronic: tuple[FilingDisease, ...] = ()
    special: tuple[FilingDisease, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> FilingDiseases:
        seen: dict[str, str] = {}
        for kind in FILING_LISTS:
            for i, d in enumerate(getattr(self, kind)):
                if d.code in seen:
                    raise ValueError(f"{kind}[{i}].code {d.code} is already listed in {seen[d.code]}")
                seen[d.code] = f"{kind}[{i}]"
        for a in self.chronic:
            for b in self.special:
                if a.code.startswith(b.code) or b.code.startswith(a.code):
                    raise ValueError(
                        f"chronic {a.code} and special {b.code}: one code begins the other, so a disease's list is in doubt"
                    )
        return self

    def codes(self, kind: FilingList) -> tuple[str, ...]:
        return tuple(d.code for d in getattr(self, kind))

    def entries(self) -> list[tuple[FilingList, FilingDisease]]:
        """Every listed disease with its list, chronic first, in the pack's order."""
        return [(kind, d) for kind in FILING_LISTS for d in getattr(self, kind)]

    def find(self, code: str) -> tuple[FilingList, FilingDisease] | None:
        """The listed disease ``code`` is (equal to a listed code or starting with it, the longest first)."""
        code = code.strip().upper()
        hits = [(kind, d) for kind, d in self.entries() if code.startswith(d.code)]
        return max(hits, key=lambda h: len(h[1].code)) if hits else None


def _filing_lines(data: Any) -> Any:
    """A raw policy whose lines name a ``filing_list``: those lines' ``diseases`` are the list's codes."""
    if not isinstance(data, Mapping) or not isinstance(data.get("lines"), Mapping):
        return data
    raw = data.get("filing_diseases")
    catalogue = raw.model_dump() if isinstance(raw, BaseModel) else raw
    lines = dict(data["lines"])
    for key, line in lines.items():
        kind = line.get("filing_list") if isinstance(line, Mapping) else None
        if kind is None or not isinstance(catalogue, Mapping):
            continue
        if line.get("diseases"):
            raise ValueError(f"lines.{key}: give diseases or filing_list, not both (filing_list: {kind} gives its codes)")
        listed = catalogue.get(kind) if kind in FILING_LISTS else None
        codes = [d.get("code") for d in listed or () if isinstance(d, Mapping)]
        lines[key] = {**line, "diseases": codes, "requires_filing": True}
    return {**data, "lines": lines}


class Policy(Model):
    categories: dict[str, DeclaredCategory] = {}
    """Identity categories the pack declares beside the built-in ones (:data:`yibao.core.identities.CATEGORIES`),
    by code (2–32 lower-case letters, digits, ``_``; no clash with a built-in code or name). Every place
    the pack names categories (``identity_priority``, ``identity_validity``, identity overrides, the
    critical-illness tilt, the assistance and tilted assistance blocks and ``on_application``, subsidies,
    warning rules) may name a declared category by its code, ``label_zh``, ``label_en`` or an alias,
    as built-in ones are named by code, Chinese name or alias; a name two declared categories share, or
    one nothing has, is refused naming the key."""
    identity_priority: tuple[Category, ...]
    """Identity categories that bring benefits, highest first; of a person's identities valid
    on the claim date the highest one decides."""
    identity_validity: Annotated[dict[Category, Months], BeforeValidator(_category_keys)] = {}
    """Categories whose recognition holds for a stated number of months (e.g. 因病致贫重病患者
    认定后有效期12个月): an identity of such a category holds from its ``valid_from`` (the day of
    recognition) to the day before ``valid_from`` + that many months, or its own ``valid_to`` if
    earlier; a later recognition is a new identity period."""
    fee: FeeRules
    lines: dict[str, BenefitLine]
    critical_illness: CriticalIllness | None = None
    large_amount: CriticalIllness | None = None
    """A second critical-illness block in the same format, e.g. employees' 大额医疗费用补助 beside the
    residents' 大病保险 in ``critical_illness`` (write ``insutypes: ["310"]``); the two blocks'
    ``insutypes`` must not overlap, so each claim is paid by at most one (its ``hifmi_pay``)."""
    assistance: Assistance | None = None
    tilted_assistance: TiltedAssistance | None = None
    premium: Premium | None = None
    monitoring: Monitoring | None = None
    budget: FundBudget | None = None
    """The fund budget's derivation rule and warning lines (none: no derived budget, no budget warnings)."""
    combined_caps: dict[str, CombinedCap] = {}
    """Combined caps by name (the accumulator key of the block, distinct from every cap group)."""
    capitation: Capitation | None = None
    """门诊统筹人头定额 shared by a township hospital and its village clinics (none: every claim is paid item by item)."""
    filing_diseases: FilingDiseases | None = None
    """The diseases a person may be filed for (门诊慢特病病种目录: the 门诊慢性病 and 门诊特殊病 lists); a filing
    names one of them. ``None``: the pack gives no list (any disease code is taken)."""
    contacts: dict[str, Contact] = {}
    """Who a household may call (咨询电话), by a key of the pack's choosing, in the order written: printed on the
    policy leaflet (:mod:`yibao.leaflet`). Empty: the leaflet names no number."""

    @model_validator(mode="wrap")
    @classmethod
    def _declared(cls, data: Any, handler: ModelWrapValidatorHandler[Policy]) -> Policy:
        """Every key naming categories may name a declared one by its Chinese or English name or an alias
        as well as by its code: the declared names are in force while the fields are validated."""
        token = _DECLARED.set(declared_names(data.get("categories")) if isinstance(data, Mapping) else {})
        try:
            return handler(_filing_lines(data))
        finally:
            _DECLARED.reset(token)

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if not self.lines:
            raise ValueError("lines must define at least one benefit line")
        _check_combined(self.combined_caps, self.lines)
        names = set(self.lines)
        _check_shared_groups(self.lines)
        for key, line in self.lines.items():
            if line.fallback is not None and line.fallback not in names:
                raise ValueError(f"lines.{key}.fallback names unknown line {line.fallback!r}; known: {sorted(names)}")
            if line.requires_filing and line.fallback == key:
                raise ValueError(f"lines.{key}.fallback cannot be the line itself")
            if line.filing_list is not None and not (self.filing_diseases and self.filing_diseases.codes(line.filing_list)):
                raise ValueError(f"lines.{key}.filing_list names {line.filing_list!r}, which filing_diseases does not list")
        tiers: list[tuple[str, tuple[str, ...]]] = []
        if self.critical_illness:
            tiers.append(("critical_illness.lines", self.critical_illness.lines))
        if self.large_amount:
            tiers.append(("large_amount.lines", self.large_amount.lines))
            both = set(self.large_amount.insutypes) & set(self.critical_illness.insutypes if self.critical_illness else ())
            if both:
                raise ValueError(
                    f"large_amount.insutypes {sorted(both)} are served by critical_illness too: "
                    "each scheme by one critical-illness block"
                )
        if self.capitation:
            tiers.append(("capitation.lines", self.capitation.lines))
        if self.assistance:
            tiers.append(("assistance.lines", self.assistance.lines))
        if self.tilted_assistance:
            tiers.append(("tilted_assistance.lines", self.tilted_assistance.lines))
        for where, used in tiers:
            unknown = [n for n in used if n not in names]
            if unknown:
                raise ValueError(f"{where} names unknown benefit lines {unknown}; known: {sorted(names)}")
        ranked = {*self.identity_priority, ORDINARY}
        named: list[tuple[str, tuple[str, ...]]] = []
        for ci_key in CI_BLOCKS:
            ci = getattr(self, ci_key)
            if ci and ci.tilt:
                named.append((f"{ci_key}.tilt.categories", ci.tilt.categories))
        if self.assistance:
            named.append(("assistance.categories", tuple(self.assistance.categories)))
            if self.assistance.on_application:
                named.append(("assistance.on_application.categories", self.assistance.on_application.categories))
        if self.tilted_assistance:
            named.append(("tilted_assistance.categories", tuple(self.tilted_assistance.categories)))
        if self.premium:
            named.append(("premium.subsidies", tuple(self.premium.subsidies)))
        if self.capitation:
            named.append(("capitation.category_limits", tuple(self.capitation.category_limits)))
            if self.capitation.over_limit:
                named.append(("capitation.over_limit.categories", self.capitation.over_limit.categories))
        named.append(("identity_validity", tuple(self.identity_validity)))
        for key, line in self.lines.items():
            named.append((f"lines.{key}.identity_overrides", tuple(line.identity_overrides)))
        _check_declared(self.categories)
        watched = [(f"monitoring.rules.{k}", (*r.categories, *filter(None, [r.confirmed_identity]))) for k, r in self._rules()]
        for where, cats in [("identity_priority", self.identity_priority), *named, *watched]:
            unknown = [c for c in cats if c not in CATEGORIES and c not in self.categories]
            if unknown:
                raise ValueError(
                    f"{where} names unknown identity category {', '.join(map(repr, unknown))}; expected a built-in one "
                    f"({', '.join(CATEGORIES)}) or one declared in categories"
                )
        for where, cats in named:
            unranked = [c for c in cats if c not in ranked]
            if unranked:
                raise ValueError(
                    f"{where} names {unranked}, which identity_priority does not rank, so they could never decide benefits"
                )
        if self.monitoring:
            for key, rule in self.monitoring.rules.items():
                if rule.confirmed_identity is not None and rule.confirmed_identity not in ranked:
                    raise ValueError(
                        f"monitoring.rules.{key}.confirmed_identity names {rule.confirmed_identity!r}, which "
                        "identity_priority does not rank, so it could never decide benefits"
                    )
                unknown = [n for n in rule.lines if n not in names]
                if unknown:
                    where = f"monitoring.rules.{key}.lines"
                    raise ValueError(f"{where} names unknown benefit lines {unknown}; known: {sorted(names)}")
        if len(set(self.identity_priority)) != len(self.identity_priority):
            raise ValueError("identity_priority lists a category twice")
        return self

    def identity_end(self, category: str, valid_from: date, valid_to: date | None) -> date | None:
        """The last day an identity recognised on ``valid_from`` holds (``identity_validity``; ``None``: open)."""
        months = self.identity_validity.get(category)
        if months is None:
            return valid_to
        end = months_later(valid_from, months) - timedelta(days=1)
        return end if valid_to is None else min(valid_to, end)

    def combined_for(self, line_key: str) -> tuple[str, CombinedCap] | None:
        """The combined-cap block (name, block) the line belongs to, if any."""
        return next(((n, b) for n, b in self.combined_caps.items() if line_key in b.lines), None)

    def _rules(self) -> list[tuple[str, WarningRule]]:
        return list(self.monitoring.rules.items()) if self.monitoring else []

    def category_said(self, code: str) -> tuple[str, str] | str:
        """A category as a trace argument: a declared one's (zh, en) names, a built-in's code (labelled by
        :func:`yibao.core.vocab.identity_label`)."""
        declared = self.categories.get(code)
        return (declared.label_zh, declared.label_en) if declared else code

    def category_label(self, code: str, lang: str = "zh") -> str:
        """A category's name in ``lang``: a declared one's from the pack, a built-in's from the vocabulary."""
        said = self.category_said(code)
        return pick(said, lang) if isinstance(said, tuple) else vocab.identity_label(code, lang)

    def category_bureau(self, code: str) -> str:
        """The bureau that recognises the category (a declared one's ``bureau``)."""
        declared = self.categories.get(code)
        return declared.bureau if declared else CATEGORIES[code].bureau

    def deciding_identity(self, identities: tuple[IdentityPeriod, ...], day: date) -> str:
        """Of the identities held on ``day`` (each within its ``identity_validity``), the one
        ``identity_priority`` ranks highest (``ordinary``: none)."""
        if self.identity_validity:
            identities = tuple(replace(i, valid_to=self.identity_end(i.category, i.valid_from, i.valid_to)) for i in identities)
        return deciding_identity(identities, day, self.identity_priority)

    def benefit_line(
        self,
        insutype: str,
        emp_status: str | None,
        med_type: str,
        dise_codg: str,
        has_filing: bool,
        facts: Facts = NO_FACTS,
    ) -> LineChoice | None:
        """The first line serving the person (scheme, status, age band) that the claim's med_type and
        disease select; a line that needs a chronic filing the claim lacks, or (``signed_only``) a claim at an
        institution the person did not sign for, gives way to its ``fallback``. The chosen line comes with the
        person's ``person_terms`` applied (:meth:`BenefitLine.for_person`). An age band or age terms met with an
        unknown age give ``lacks_birth_date``. ``None``: no line."""
        for key, line in self.lines.items():
            if not (line.serves(insutype, emp_status) and line.matches(med_type, dise_codg)):
                continue
            if facts.age is None and line.age_bounded:
                return LineChoice(key, line, lacks_birth_date=True)
            if not line.serves_age(facts.age):
                continue
            if line.requires_filing and not has_filing:
                if line.fallback is None:
                    return LineChoice(key, line, lacks_filing=True)
                return self._for_person(line.fallback, facts, key)
            if line.signed_only and not facts.signed:
                if line.fallback is None:
                    return LineChoice(key, line, not_signed=True)
                return replace(self._for_person(line.fallback, facts, key), unsigned=True)
            return self._for_person(key, facts)
        return None

    def _for_person(self, key: str, facts: Facts, fell_back_from: str | None = None) -> LineChoice:
        line = self.lines[key]
        if facts.age is None and line.needs_age:
            return LineChoice(key, line, fell_back_from, lacks_birth_date=True)
        held = tuple(line.terms_held(facts))
        return LineChoice(key, line.for_person(facts), fell_back_from, terms=held)

    @property
    def needs_age(self) -> bool:
        """Does any line select or settle by age (so people need a birth date)?"""
        return any(line.needs_age for line in self.lines.values())

    @property
    def uses_resident_tier(self) -> bool:
        """Does any line's terms depend on the resident contribution tier?"""
        return any(t.resident_tier is not None for line in self.lines.values() for t in line.person_terms.values())

    @property
    def uses_institution(self) -> bool:
        """Does any line's terms depend on the claim's institution against the person's selection?"""
        return any(t.institution is not None for line in self.lines.values() for t in line.person_terms.values())

    @property
    def uses_family_doctor(self) -> bool:
        """Does any line's terms depend on a family-doctor contract?"""
        return any(t.family_doctor is not None for line in self.lines.values() for t in line.person_terms.values())

    @property
    def uses_signed(self) -> bool:
        """Is any line for signed institutions only?"""
        return any(line.signed_only for line in self.lines.values())

    def age_cuts(self) -> list[int]:
        """Every age at which some line's band or terms change, ascending (the batch engine's age bands)."""
        cuts: set[int] = set()
        for line in self.lines.values():
            bounds = [(line.age_from, line.age_below), *((t.age_from, t.age_below) for t in line.person_terms.values())]
            cuts.update(a for pair in bounds for a in pair if a is not None)
        return sorted(cuts)

    def critical_illness_block(self, insutype: str) -> str | None:
        """The key (``critical_illness`` or ``large_amount``) of the critical-illness block serving this scheme."""
        for key in CI_BLOCKS:
            block: CriticalIllness | None = getattr(self, key)
            if block is not None and insutype in block.insutypes:
                return key
        return None

    def tier(self, name: TierName, insutype: str) -> CriticalIllness | Assistance | TiltedAssistance | None:
        """The tier's block for people of this scheme (critical illness: the block serving the scheme)."""
        if name == "critical_illness":
            key = self.critical_illness_block(insutype)
            return None if key is None else getattr(self, key)
        tier: Assistance | TiltedAssistance | None = getattr(self, name)
        return tier

    def tier_on_line(self, name: TierName, line_key: str, insutype: str) -> bool:
        """Does the tier pay on this benefit line at all?"""
        tier = self.tier(name, insutype)
        return tier is not None and line_key in tier.lines

    def tier_applies(self, name: TierName, line_key: str, insutype: str, identity: str) -> bool:
        """Does the tier pay on a claim of this line, for a person of this scheme and deciding identity?"""
        tier = self.tier(name, insutype)
        return tier is not None and line_key in tier.lines and tier.covers(insutype, identity)

    def tier_base_in_catalogue(self, name: TierName, insutype: str) -> bool:
        """Does the tier's base include the 乙类 self-pay-first part (``base: in_catalogue``)?"""
        tier = self.tier(name, insutype)
        return tier is not None and tier.base == "in_catalogue"

    def is_major(self, name: TierName, dise_codg: str, flagged: bool = False) -> bool:
        """Does a claim of this disease (``flagged``: carrying the 重特大疾病 flag) take the tier's 重特大疾病 terms?"""
        tier = self.tier(name, "")
        return isinstance(tier, Assistance | TiltedAssistance) and tier.is_major(dise_codg, flagged)
