"""Shared builders for the audit tests: lines, claims, people, packs, and running both engine forms.

Everything is built by hand here; :func:`audit_both` runs the scalar form (each claim with its
history: the same person's claims with a smaller ``seq``) and the columnar form over the same
claims, asserts they give the same findings, and returns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.audit.engine import audit_claim, audit_frames
from yibao.audit.model import (
    MILLI,
    AuditClaim,
    AuditLine,
    Finding,
    History,
    PersonFacts,
    Stay,
    findings_from_frame,
    frames_of,
)
from yibao.audit.pack import WORKFLOW_STEPS, AuditPack, pack_from_mapping

D = date


def line(sn: str, code: str, day: date, cnt: str | int = 1, pric: int = 100, total: int | None = None) -> AuditLine:
    """A fee line of ``cnt`` units (``"1.5"`` allowed) at ``pric`` fen; total ``cnt × pric`` unless given."""
    milli = int(Decimal(str(cnt)) * MILLI)
    amount = total if total is not None else milli * pric // MILLI
    return AuditLine(sn, code, day, milli, pric, amount)


def claim(
    claim_id: str,
    seq: int,
    lines: Sequence[AuditLine] = (),
    *,
    psn_no: str = "P1",
    med_type: str = "11",
    begndate: date | None = None,
    enddate: date | None = None,
    dise_codg: str = "",
    fixmedins_code: str = "H1",
    hosp_lv: int = 1,
    insutype: str = "390",
) -> AuditClaim:
    """A claim; its dates default to the span of its lines' days (or 2022-03-01)."""
    days = [ln.fee_ocur_date for ln in lines] or [date(2022, 3, 1)]
    beg = begndate or min(days)
    end = enddate or max(days)
    return AuditClaim(claim_id, seq, psn_no, fixmedins_code, hosp_lv, insutype, med_type, beg, end, end, dise_codg, tuple(lines))


def person(psn_no: str = "P1", gend: str = "1", brdy: date = date(1980, 1, 1), death_date: date | None = None) -> PersonFacts:
    return PersonFacts(psn_no, gend, brdy, death_date)


def rule(code: str, rtype: str, **kw: Any) -> dict[str, Any]:
    """A rule mapping for :func:`pack` with the national attributes filled in (violation, every scenario)."""
    raw: dict[str, Any] = {
        "code": code,
        "type": rtype,
        "family": "policy",
        "result": "violation",
        "window": "visit",
        "scenarios": ["inpatient", "outpatient", "pharmacy"],
        "assumed": "test",
    }
    raw.update(kw)
    return raw


def pack(
    rules: Sequence[Mapping[str, Any]],
    knowledge: Mapping[str, Any] | None = None,
    price_ceilings: Mapping[str, int] | None = None,
) -> AuditPack:
    """A pack of ``rules`` with ``knowledge`` tables and the policy pack's unit-price ceilings (fen)."""
    raw = {
        "pack": "test",
        "valid_from": "2022-01-01",
        "rules": list(rules),
        "workflow": {s: {"value": 5, "assumed": "test"} for s in WORKFLOW_STEPS},
        "knowledge": dict(knowledge or {}),
    }
    return pack_from_mapping(raw, "test.yaml", price_ceilings)


def history_of(claim_: AuditClaim, claims: Iterable[AuditClaim]) -> History:
    """The claims settled before ``claim_`` for the same person (smaller ``seq``), in order, and the open stays:
    the person's admissions settled later that began by ``claim_``'s day (``begndate``), as :class:`Stay` with
    ``mdtrt_id`` their ``claim_id`` and their ``enddate`` only if it is before that day (else still in hospital)."""
    mine = [c for c in claims if c.psn_no == claim_.psn_no]
    earlier = sorted((c for c in mine if c.seq < claim_.seq), key=lambda c: c.seq)
    day = claim_.begndate
    stays = tuple(
        Stay(c.claim_id, c.fixmedins_code, c.begndate, c.enddate if c.enddate < day else None)
        for c in sorted(mine, key=lambda c: c.seq)
        if c.seq > claim_.seq and c.inpatient and c.begndate <= day
    )
    return History(tuple(earlier), stays)


def audit_both(
    pack_: AuditPack, claims: Sequence[AuditClaim], people: Sequence[PersonFacts], stage: str = "post"
) -> list[Finding]:
    """The findings on ``claims``: scalar (claim by claim, with history) and columnar agree; sorted by key."""
    by_psn = {p.psn_no: p for p in people}
    scalar = [f for c in claims for f in audit_claim(pack_, c, by_psn[c.psn_no], history_of(c, claims), stage)]
    columnar = findings_from_frame(audit_frames(pack_, frames_of(claims, people), stage))
    scalar.sort(key=Finding.key)
    columnar.sort(key=Finding.key)
    assert [(f.key(), f) for f in scalar] == [(f.key(), f) for f in columnar]
    return scalar
