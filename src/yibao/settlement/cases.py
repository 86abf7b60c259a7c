"""Settling a pack's worked cases (:mod:`yibao.policy.cases`) with the scalar core and the batch engine.

:func:`check_case` settles one case both ways and lists every amount that differs from the
case's expectation, and every claim whose payers and patient do not add up to the bill.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yibao.core.errors import InputError, InputErrors
from yibao.core.identities import IdentityPeriod
from yibao.core.vocab import AMOUNT_FIELDS
from yibao.policy.cases import PAYER_PARTS, WorkedCase
from yibao.policy.pack import PolicyPack
from yibao.settlement.backpay import amounts_of, summary_claim
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.model import (
    ChronicFiling,
    Claim,
    FeeLine,
    InstitutionChoice,
    Period,
    Person,
    PolicyRangeSummary,
    ResidentTierPeriod,
    Settlement,
)
from yibao.settlement.settle import settle_sequence

SCALAR = "scalar"
BATCH = "batch"


def case_person(case: WorkedCase, number: int) -> Person:
    """The case's person; ``number`` (1-based) names them ``P<number>`` unless the file gives a psn_no."""
    p = case.person
    return Person(
        psn_no=p.psn_no or f"P{number}",
        insutype=p.insutype,
        identities=tuple(IdentityPeriod(i.category, i.valid_from, i.valid_to) for i in p.identities),
        chronic_filings=tuple(ChronicFiling(f.dise_codg, f.valid_from, f.valid_to) for f in p.chronic_filings),
        cross_region_filings=tuple(Period(f.valid_from, f.valid_to, f.kind) for f in p.cross_region_filings),
        emp_status=p.emp_status,
        emp_tier=p.emp_tier,
        birth_date=p.birth_date,
        resident_tiers=tuple(ResidentTierPeriod(r.tier, r.valid_from, r.valid_to) for r in p.resident_tiers),
        institutions=tuple(InstitutionChoice(i.fixmedins_code, i.role, i.valid_from, i.valid_to) for i in p.institutions),
        family_doctor=tuple(Period(f.valid_from, f.valid_to) for f in p.family_doctor),
    )


def case_claims(case: WorkedCase, psn_no: str) -> list[Claim]:
    """The case's claims, in the file's (date) order."""
    out = []
    for c in case.claims:
        lines = tuple(
            FeeLine(f"{c.claim_id}-{n}", f.med_list_codg or f"{c.claim_id}-ITEM{n}", f.det_item_fee_sumamt, f.chrgitm_lv)
            for n, f in enumerate(c.fee_lines, start=1)
        )
        summary = PolicyRangeSummary(**c.summary.model_dump()) if c.summary else None
        out.append(
            Claim(c.claim_id, psn_no, c.setl_date, c.med_type, c.hosp_lv, c.place, c.dise_codg, lines, summary, c.fixmedins_code)
        )
    return out


def summarised(claim: Claim, settled: Settlement) -> Claim:
    """A fee-line claim as the batch engine takes it: the policy-range split the scalar core made of its lines."""
    if claim.summary is not None:
        return claim
    return summary_claim(claim, amounts_of(settled), settled.fee_results)


Got = dict[str, int | str]
"""One claim's result: national amount fields in fen, ``identity`` and ``line``."""
_RESULT = (*AMOUNT_FIELDS, "identity", "line")


def scalar_results(pack: PolicyPack, case: WorkedCase, number: int) -> tuple[dict[str, Got], list[Claim]]:
    """Per claim id, what the scalar core settles; and the claims summarised for the batch engine."""
    person = case_person(case, number)
    claims = case_claims(case, person.psn_no)
    settled = {s.claim_id: s for s in settle_sequence(pack, person, claims)}
    got: dict[str, Got] = {cid: {f: getattr(s, f) for f in _RESULT} for cid, s in settled.items()}
    return got, [summarised(c, settled[c.claim_id]) for c in claims]


def batch_results(pack: PolicyPack, case: WorkedCase, number: int, claims: list[Claim]) -> dict[str, Got]:
    """Per claim id, what the batch engine settles (``claims`` summarised)."""
    result = settle_batch(pack, to_frames([case_person(case, number)], claims))
    return {row["claim_id"]: {f: row[f] for f in _RESULT} for row in result.claims.iter_rows(named=True)}


@dataclass(frozen=True)
class Mismatch:
    engine: str
    """``scalar`` or ``batch``."""
    claim_id: str
    field: str
    """A national field, ``identity``, ``line``, or ``parts`` (payers + patient != bill)."""
    expected: int | str
    got: int | str


@dataclass
class CaseCheck:
    number: int
    case: WorkedCase
    mismatches: list[Mismatch] = field(default_factory=list)
    error: InputError | InputErrors | None = None
    """The pack refused the case's input (settlement did not run)."""

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.error is None


def _compare(engine: str, case: WorkedCase, got: dict[str, Got]) -> list[Mismatch]:
    out = []
    for claim in case.claims:
        have = got[claim.claim_id]
        want: dict[str, int | str] = {**claim.expect.amounts(), **claim.expect.texts()}
        out += [Mismatch(engine, claim.claim_id, f, v, have[f]) for f, v in want.items() if have[f] != v]
        parts = sum(int(have[f]) for f in PAYER_PARTS)
        if parts != have["medfee_sumamt"] or int(have["fund_pay_sumamt"]) + int(have["psn_part_amt"]) != parts:
            out.append(Mismatch(engine, claim.claim_id, "parts", have["medfee_sumamt"], parts))
    return out


def check_case(pack: PolicyPack, case: WorkedCase, number: int) -> CaseCheck:
    """Settle case ``number`` (1-based) with both engines and compare with what the case expects."""
    check = CaseCheck(number, case)
    try:
        scalar, claims = scalar_results(pack, case, number)
        batch = batch_results(pack, case, number, claims)
    except (InputError, InputErrors) as exc:
        check.error = exc
        return check
    check.mismatches = _compare(SCALAR, case, scalar) + _compare(BATCH, case, batch)
    return check
