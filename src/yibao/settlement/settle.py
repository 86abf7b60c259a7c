"""One-stop settlement of one claim: pure, no I/O, no clock.

``settle(policy, person, year_to_date, claim)`` returns a :class:`Settlement` with every
payer's amount, the accumulators after the claim and a trace; ``reverse`` gives back
exactly what one settlement consumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from yibao.core.errors import InputError
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import BenefitLine, Facts, LineChoice, Policy
from yibao.settlement import tiers
from yibao.settlement.capitation import capitation_township
from yibao.settlement.model import (
    PLACES_IN,
    Claim,
    Person,
    SetlDetail,
    Settlement,
    TraceStep,
    YearToDate,
    settled_place,
)
from yibao.settlement.policy_range import check_fee_line_levels, policy_range
from yibao.settlement.refusals import audit_steps, refuse_lines
from yibao.settlement.trace import proc_info

FUND_PAY_TYPE = {
    ("basic", "390"): "390100",  # 城乡居民基本医疗保险基金
    ("basic", "310"): "310100",  # 职工基本医疗保险统筹基金
    ("critical_illness", "390"): "390200",  # 城乡居民大病医疗保险基金
    ("critical_illness", "310"): "310200",  # employee large-amount (yibao's code for employee critical illness)
    ("assistance", ""): "610100",  # 医疗救助基金
    ("tilted", ""): "610200",  # 倾斜救助: paid from the assistance fund; yibao's own sub-code
}


def birth_date_refusal(psn_no: str, line: str, day: date) -> InputError:
    """A claim on a line that goes by age, for a person without a (usable) birth date: settle and batch say it alike."""
    expected = f"a birth date on or before {day} (an 18-character resident ID number or brdy): line {line} goes by age"
    return InputError(f"person {psn_no}", "birth_date", None, expected)


def not_signed_refusal(claim_id: str, fixmedins_code: str, line: str, day: date) -> InputError:
    """A claim on a line for signed institutions only, made elsewhere, the line naming no fallback."""
    expected = f"an institution the person signed for (门诊慢性病签约医疗机构) on {day}: line {line} is paid only there"
    return InputError(f"claim {claim_id}", "fixmedins_code", fixmedins_code, expected)


def facts(person: Person, claim: Claim) -> Facts:
    """What lines go by about the person on the claim date, and the claim's institution against their choices."""
    day, code = claim.setl_date, claim.fixmedins_code
    return Facts(
        age=person.age_on(day),
        resident_tier=person.resident_tier_on(day),
        institution=person.institution_class(code, day),
        family_doctor=person.family_doctor_on(day),
        signed=person.signed_at(code, day),
    )


def _where(claim: Claim) -> str:
    return f"claim {claim.claim_id}"


def validate_claim(claim: Claim, person: Person) -> None:
    where = _where(claim)
    if claim.psn_no != person.psn_no:
        raise InputError(where, "psn_no", claim.psn_no, f"the person being settled ({person.psn_no})")
    if claim.hosp_lv not in (1, 2, 3):
        raise InputError(where, "hosp_lv", claim.hosp_lv, "1 (乡镇/一级), 2 (县级/二级) or 3 (市级及以上/三级)")
    if claim.place not in PLACES_IN:
        raise InputError(where, "place", claim.place, "in_county, out_of_county, cross_region or cross_emergency")
    if (claim.summary is None) == (not claim.fee_lines):
        raise InputError(
            where,
            "fee_lines",
            len(claim.fee_lines),
            "either fee lines or a summary (total and policy-range amounts), not both or neither",
        )
    if claim.summary is not None:
        s = claim.summary
        for name in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
            v = getattr(s, name)
            if v is not None and v < 0:
                raise InputError(where, name, v, "an amount >= 0 fen")
    check_fee_line_levels(claim)


def _filed(person: Person, claim: Claim) -> bool:
    """Has the person a chronic/special-disease filing covering the claim's disease on its date?"""
    return person.filed_for(claim.dise_codg, claim.setl_date)


def select_line(policy: Policy, person: Person, claim: Claim, filed: bool | None = None, held: Facts | None = None) -> LineChoice:
    """The benefit line for this claim (:meth:`Policy.benefit_line`); refused when there is none. ``filed``
    and ``held`` are :func:`_filed` and :func:`facts` of the person and claim, when the caller has them."""
    day = claim.setl_date
    filed = _filed(person, claim) if filed is None else filed
    held = facts(person, claim) if held is None else held
    choice = policy.benefit_line(person.insutype, person.emp_status, claim.med_type, claim.dise_codg, filed, held)
    if choice is None:
        raise InputError(
            _where(claim),
            "med_type",
            claim.med_type,
            f"a med_type with a benefit line for insutype {person.insutype}"
            f"{' and ' + person.emp_status if person.emp_status else ''} in this policy "
            f"({', '.join(sorted({m for ln in policy.lines.values() for m in ln.med_types}))})",
        )
    if choice.lacks_birth_date:
        raise birth_date_refusal(person.psn_no, choice.key, day)
    if choice.not_signed:
        raise not_signed_refusal(claim.claim_id, claim.fixmedins_code, choice.key, day)
    if choice.lacks_filing:
        raise InputError(
            _where(claim),
            "dise_codg",
            claim.dise_codg,
            f"a disease with a chronic/special-disease filing (门诊慢特病备案) in force on {claim.setl_date}",
        )
    if choice.line.needs_emp_tier and person.emp_tier is None:
        raise InputError(
            f"person {person.psn_no}", "emp_tier", None, "unit, individual_1 or individual_2 for employee outpatient"
        )
    return choice


def _place(claim: Claim, person: Person) -> str:
    """The place the claim settles at (:func:`settled_place`), by the cross-region filings held on its day."""
    return settled_place(claim.place, (p.kind for p in person.cross_region_filings if p.holds_on(claim.setl_date)))


def settle(policy: Policy | PolicyPack, person: Person, ytd: YearToDate | None, claim: Claim) -> Settlement:
    """Settle one claim: basic -> critical illness -> assistance -> tilted assistance -> patient."""
    if isinstance(policy, PolicyPack):
        policy = policy.at(claim.setl_date)
    validate_claim(claim, person)
    year = claim.setl_date.year
    if ytd is None:
        ytd = YearToDate(year)
    if ytd.year != year:
        raise InputError(
            _where(claim), "setl_date", claim.setl_date.isoformat(), f"a date in {ytd.year}, the year of the accumulators given"
        )
    filed, held = _filed(person, claim), facts(person, claim)
    choice = select_line(policy, person, claim, filed, held)
    line = choice.line
    identity = policy.deciding_identity(person.identities, claim.setl_date)
    pr = refuse_lines(policy_range(policy.fee, line, claim), claim, line)
    trace: list[TraceStep] = []
    if choice.fell_back_from:
        first = policy.lines[choice.fell_back_from]
        args = {"from": choice.fell_back_from, "to": choice.key}
        names = {"from_line": (first.label_zh, first.label_en), "to_line": (line.label_zh, line.label_en)}
        trace.append(TraceStep("line", "fallback_unsigned" if choice.unsigned else "fallback", args | names))
    line_args = {"line": choice.key, "line_name": (line.label_zh, line.label_en), "med_type": claim.med_type}
    trace.append(TraceStep("line", "line", line_args | {"identity": identity}))
    if choice.terms:
        f = held
        by = {"age": f.age, "resident_tier": f.resident_tier, "institution": f.institution, "family_doctor": f.family_doctor}
        trace.append(TraceStep("line", "person_terms", {"terms": ", ".join(choice.terms)} | by))
    trace.append(
        TraceStep(
            "range",
            "policy_range",
            {
                "medfee_fen": pr.medfee_sumamt,
                "fulamt_fen": pr.fulamt_ownpay_amt,
                "overlmt_fen": pr.overlmt_selfpay,
                "preselfpay_fen": pr.preselfpay_amt,
                "scp_fen": pr.inscp_scp_amt,
            },
        )
    )
    trace.extend(audit_steps(claim))

    combined = policy.combined_for(choice.key)
    town = capitation_township(policy, choice.key, person, claim)
    acct_left = max(0, person.acct_balance - ytd.acct_paid)  # the personal account's balance left this year
    b = tiers.basic(
        tiers.BasicInput(
            key=choice.key,
            line=line,
            identity=identity,
            scp=pr.inscp_scp_amt,
            full_pay_scp=pr.full_pay_scp,
            fixed_share_scp=pr.fixed_share_scp,
            class_b_scp=pr.class_b_scp,
            hosp_lv=claim.hosp_lv,
            place=_place(claim, person),
            emp_tier=person.emp_tier,
            day=claim.setl_date,
            ytd=ytd,
            waived=line.waives_deductible(claim.dise_codg, filed),
            combined=combined,
            qualifies=combined is not None and combined[1].qualifies(lambda d: person.filed_for(d, claim.setl_date)),
            acct_left=acct_left,
            capitation=policy.capitation if town else None,
            township=town,
        )
    )
    after_basic = pr.inscp_scp_amt - b.pay
    paid_later = 0
    later = []
    for later_tier in tiers.LATER_TIERS:
        name = later_tier.name
        block = policy.tier(name, person.insutype)
        if block is not None and policy.tier_applies(name, choice.key, person.insutype, identity):
            in_catalogue = block.base == "in_catalogue"
            base = tiers.later_base(in_catalogue, after_basic, pr.preselfpay_amt, paid_later)
            major = tiers.major_reason(policy, name, claim.dise_codg, claim.major_dise_flag)
            res = later_tier.pay(block, identity, base, *later_tier.before(ytd), major)
            head = _later_head(policy, person.insutype, later_tier.trace, name)
            if in_catalogue:
                left = max(0, after_basic - paid_later)
                base_args: dict[str, Any] = {"scp_left_fen": left, "pre_fen": base - left, "base_fen": base}
                head.append(TraceStep(later_tier.trace, "base_in_catalogue", base_args))
            res.trace[:0] = head
        else:  # the assistance tiers say when the line is theirs but the identity is not
            on_line = name != "critical_illness" and policy.tier_on_line(name, choice.key, person.insutype)
            res = tiers.not_applicable(later_tier.trace, "identity" if on_line else "line")
        paid_later += res.pay
        later.append(res)
    c, m, o = later

    funds = b.pay + c.pay + m.pay + o.pay
    psn_part = pr.medfee_sumamt - funds
    trace.extend([*b.trace, *c.trace, *m.trace, *o.trace])
    trace.append(TraceStep("total", "total", {"medfee_fen": pr.medfee_sumamt, "funds_fen": funds, "psn_part_fen": psn_part}))

    acct = _account(line, acct_left, psn_part, pr.fulamt_ownpay_amt, pr.overlmt_selfpay, trace)
    consumed = _consumed(year, [b, c, m, o])
    if acct:
        consumed = replace(consumed, acct_paid=acct)
    details = []
    for tier, res in (("basic", b), ("critical_illness", c), ("assistance", m), ("tilted", o)):
        if res.applied:
            code = FUND_PAY_TYPE.get((tier, person.insutype)) or FUND_PAY_TYPE[(tier, "")]
            details.append(SetlDetail(code, res.base, res.remaining, res.pay, proc_info(tier, res.trace)))
    dedc = b.summary["dedc"]
    return Settlement(
        claim_id=claim.claim_id,
        psn_no=person.psn_no,
        setl_date=claim.setl_date,
        insutype=person.insutype,
        med_type=claim.med_type,
        line=choice.key,
        identity=identity,
        medfee_sumamt=pr.medfee_sumamt,
        fulamt_ownpay_amt=pr.fulamt_ownpay_amt,
        overlmt_selfpay=pr.overlmt_selfpay,
        preselfpay_amt=pr.preselfpay_amt,
        inscp_scp_amt=pr.inscp_scp_amt,
        act_pay_dedc=dedc,
        hifp_pay=b.pay,
        pool_prop_selfpay=pr.inscp_scp_amt - dedc - b.pay,
        hifmi_pay=c.pay,
        maf_pay=m.pay,
        oth_pay=o.pay,
        fund_pay_sumamt=funds,
        psn_part_amt=psn_part,
        setldetail=tuple(details),
        fee_results=pr.lines,
        consumed=consumed,
        ytd_after=ytd.plus(consumed),
        trace=_identities_named(policy, trace),
        acct_pay=acct,
        captn_pay=b.summary.get("captn_pay", 0),
        captn_town=town,
    )


def _identities_named(policy: Policy, trace: list[TraceStep]) -> tuple[TraceStep, ...]:
    """The trace with each pack-declared category by its (zh, en) names from the pack (a built-in's code is
    labelled by the vocabulary when rendered)."""
    if not policy.categories:
        return tuple(trace)
    return tuple(
        TraceStep(t.tier, t.key, t.args | {"identity": policy.category_said(t.args["identity"])})
        if t.args.get("identity") in policy.categories
        else t
        for t in trace
    )


def _account(line: BenefitLine, left: int, psn_part: int, fulamt: int, overlmt: int, trace: list[TraceStep]) -> int:
    """个人账户: what the account pays of the person's share (:meth:`BenefitLine.account_payable`), up to the
    balance ``left`` this year (an ``account_first`` line's first payment included: it is part of the share);
    a trace step says so on a line with an account."""
    if line.personal_account == "none":
        return 0
    payable = line.account_payable(psn_part, fulamt, overlmt)
    acct = min(payable, left)
    args = {"payable_fen": payable, "balance_fen": left, "acct_fen": acct, "cash_fen": psn_part - acct}
    trace.append(TraceStep("account", "account_" + line.personal_account, args))
    return acct


def _later_head(policy: Policy, insutype: str, trace_tier: str, name: str) -> list[TraceStep]:
    """A first trace step naming the critical-illness block when the pack has a second one (大额 vs 大病)."""
    if name == "critical_illness" and policy.large_amount is not None:
        return [TraceStep(trace_tier, "block", {"block": policy.critical_illness_block(insutype)})]
    return []


def _consumed(year: int, results: list[tiers.TierResult]) -> YearToDate:
    scalars: dict[str, int] = {}
    maps: dict[str, dict[str, int]] = {name: {} for name in YearToDate._MAPS}
    for r in results:
        for k, v in r.consumed.items():
            if isinstance(v, dict):
                for g, amount in v.items():
                    maps[k][g] = maps[k].get(g, 0) + amount
            else:
                scalars[k] = scalars.get(k, 0) + v
    return YearToDate(year, **maps, **scalars)  # type: ignore[arg-type]


def reverse(settlement: Settlement, ytd: YearToDate) -> YearToDate:
    """Give back exactly what ``settlement`` consumed (撤销/冲正)."""
    return give_back(settlement.consumed, ytd, settlement.claim_id)


def give_back(consumed: YearToDate, ytd: YearToDate, what: str) -> YearToDate:
    """Accumulators without ``consumed``; refused if they do not include it."""
    after = ytd.minus(consumed)
    bad = after.negative_fields()
    if bad:
        raise InputError(
            f"settlement {what}",
            "year_to_date",
            bad,
            "accumulators that include this settlement (reversing it would make them negative)",
        )
    return after


def settle_sequence(
    policy: Policy | PolicyPack, person: Person, claims: Iterable[Claim], ytd: dict[int, YearToDate] | None = None
) -> Iterator[Settlement]:
    """Settle one person's claims in date order (ties keep input order), carrying accumulators per year."""
    years = dict(ytd or {})
    for claim in sorted(claims, key=lambda c: c.setl_date):
        s = settle(policy, person, years.get(claim.setl_date.year), claim)
        years[claim.setl_date.year] = s.ytd_after
        yield s
