"""就医行为: rules that look across a person's claims (scalar form).

Definitions shared by both forms (:mod:`yibao.audit.columnar.episodes` mirrors them):

- An *admission* is a claim with an inpatient ``med_type``; every other claim is outpatient care
  (a visit, or a pharmacy purchase, ``med_type`` 41). A *visit* is outpatient care that is not a
  pharmacy purchase (scenario ``outpatient``).
- An outpatient claim's *day* is its ``begndate``.
- A claim's *total* is the sum of its lines' ``det_item_fee_sumamt`` (fen; 0 without lines). Every
  finding of this family is on the whole claim (no lines named) and its amount is the claim's total.
- A claim sees only what was settled before it (``history.claims``: the same person, smaller
  ``seq``) and, for 住院期间门诊结算, the admissions registered and not yet settled
  (``history.stays``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from yibao.audit.knowledge import Knowledge
from yibao.audit.model import AuditClaim, Finding, History, PersonFacts, Result
from yibao.audit.pack import RuleSpec, scenario_of

Args = dict[str, str | int]


def claim_total(claim: AuditClaim) -> int:
    """The claim's total, fen."""
    return sum(ln.det_item_fee_sumamt for ln in claim.lines)


def claim_finding(
    rule: RuleSpec, claim: AuditClaim, args: Args, evidence: Iterable[str] = (), result: Result | None = None
) -> Finding:
    """A finding on the whole of ``claim`` (no lines named), amount its total, evidence sorted."""
    res: Result = result or rule.result  # type: ignore[assignment]
    return Finding(rule.code, rule.type, res, claim.claim_id, (), claim_total(claim), tuple(sorted(set(evidence))), args)


def is_visit(claim: AuditClaim) -> bool:
    return scenario_of(claim.med_type) == "outpatient"


def _earlier(claim: AuditClaim, history: History) -> list[AuditClaim]:
    """The person's claims settled before ``claim``, in ``seq`` order."""
    return sorted((h for h in history.claims if h.psn_no == claim.psn_no and h.seq < claim.seq), key=lambda h: h.seq)


def _claims_ev(ids: Iterable[str]) -> list[str]:
    return [f"claim:{i}" for i in ids]


def _dates_ev(days: Iterable[date]) -> list[str]:
    return [f"date:{d.isoformat()}" for d in days]


def split_admission(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """分解住院: an admission beginning ``days`` days or fewer after the end of an earlier-settled admission
    of the same disease group (the first ``prefix`` characters of ``dise_codg``).

    The earlier admissions considered are those with ``0 <= begndate - their enddate <= days`` (an
    overlapping one is not a re-admission). Of those with the same group the latest (by ``enddate``,
    then ``seq``) is named; if none has the same group but one of them (or this claim) has no
    diagnosis, the finding is ``unevaluable`` naming the latest such admission (``missing``:
    ``dise_codg``). ``gap`` is the days from that discharge to this admission.
    """
    if not claim.inpatient:
        return []
    days, prefix = int(rule.param("days")), int(rule.param("prefix"))
    window = [p for p in _earlier(claim, history) if p.inpatient and 0 <= (claim.begndate - p.enddate).days <= days]
    group = claim.dise_codg[:prefix]
    same = [p for p in window if claim.dise_codg and p.dise_codg and p.dise_codg[:prefix] == group]
    unknown = [p for p in window if not (claim.dise_codg and p.dise_codg)]
    pick = same or unknown
    if not pick:
        return []
    prev = max(pick, key=lambda p: (p.enddate, p.seq))
    args: Args = {"gap": (claim.begndate - prev.enddate).days, "days": days, "group": group, "prev": prev.claim_id}
    if same:
        return [claim_finding(rule, claim, args, _claims_ev([prev.claim_id]))]
    return [claim_finding(rule, claim, {**args, "missing": "dise_codg"}, _claims_ev([prev.claim_id]), "unevaluable")]


def bed_hanging(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """挂床住院: an admission during which (``begndate <= day <= enddate``) the person had outpatient care or
    pharmacy purchases at another institution, settled before the admission, on at least
    ``max(min_days, 1)`` distinct days. ``n`` counts those days, ``dates`` lists them; the evidence
    names those claims and days.
    """
    if not claim.inpatient:
        return []
    seen = [
        h
        for h in _earlier(claim, history)
        if not h.inpatient and h.fixmedins_code != claim.fixmedins_code and claim.begndate <= h.begndate <= claim.enddate
    ]
    days = sorted({h.begndate for h in seen})
    if not days or len(days) < int(rule.param("min_days")):
        return []
    args: Args = {"n": len(days), "dates": ", ".join(d.isoformat() for d in days)}
    return [claim_finding(rule, claim, args, [*_claims_ev(h.claim_id for h in seen), *_dates_ev(days)])]


def outpatient_during_stay(
    rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History
) -> list[Finding]:
    """住院期间门诊结算: outpatient care (a visit or a purchase) on a day within one of the person's stays —
    an admission settled before with ``begndate <= day <= enddate``, or one registered and not yet
    settled (``history.stays``) with ``begndate <= day`` and no discharge before ``day``.

    ``stay`` names the earliest such stay (``<fixmedins_code> <begndate>``); the evidence names every
    one (``claim:<claim_id>``; a registered stay by its ``mdtrt_id``).
    """
    if claim.inpatient:
        return []
    day = claim.begndate
    hits = [
        (a.begndate, a.claim_id, a.fixmedins_code)
        for a in _earlier(claim, history)
        if a.inpatient and a.begndate <= day <= a.enddate
    ]
    hits += [
        (s.begndate, s.mdtrt_id, s.fixmedins_code)
        for s in history.stays
        if s.begndate <= day and (s.enddate is None or day <= s.enddate)
    ]
    if not hits:
        return []
    beg, _, inst = min(hits)
    args: Args = {"day": day.isoformat(), "stay": f"{inst} {beg.isoformat()}"}
    return [claim_finding(rule, claim, args, _claims_ev(h[1] for h in hits))]


def after_death(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """死亡后就医: care after the person's recorded death — the claim's ``begndate`` or a line's day later
    than ``death_date``. ``day`` is the earliest such day; evidence the day of death."""
    death = person.death_date
    if death is None:
        return []
    late = [d for d in (claim.begndate, *(ln.fee_ocur_date for ln in claim.lines)) if d > death]
    if not late:
        return []
    args: Args = {"day": min(late).isoformat(), "death": death.isoformat()}
    return [claim_finding(rule, claim, args, _dates_ev([death]))]


def same_day_visits(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """同日多次就诊: a visit that is the person's ``n``-th visit (any institution) on its day, counting in
    ``seq`` order, with ``n > max_visits``. ``others`` lists the day's earlier visits (in ``seq``
    order), which are the evidence."""
    if not is_visit(claim):
        return []
    others: Sequence[AuditClaim] = [h for h in _earlier(claim, history) if is_visit(h) and h.begndate == claim.begndate]
    n = len(others) + 1
    if n <= int(rule.param("max_visits")):
        return []
    ids = [h.claim_id for h in others]
    return [claim_finding(rule, claim, {"n": n, "others": ", ".join(ids)}, _claims_ev(ids))]


RULES = {
    "split_admission": split_admission,
    "bed_hanging": bed_hanging,
    "outpatient_during_stay": outpatient_during_stay,
    "after_death": after_death,
    "same_day_visits": same_day_visits,
}
"""异常高频 compares a person with everyone: it exists in the columnar form only (after settlement)."""
