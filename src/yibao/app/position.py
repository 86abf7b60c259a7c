"""A person's year-to-date position per payer against its cap or limit."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yibao.app.ledger import year_to_date
from yibao.app.registry import settlement_person
from yibao.core.identities import deciding_identity
from yibao.policy.pack import PolicyPack
from yibao.store.tables import Person


def _row(payer: str, label_zh: str, paid: int, cap: int | None, **extra: Any) -> dict[str, Any]:
    return {
        "payer": payer,
        "label_zh": label_zh,
        "paid": paid,
        "cap": cap,
        "remaining": None if cap is None else max(0, cap - paid),
        **extra,
    }


def position(session: Session, pack: PolicyPack, person: Person, year: int) -> dict[str, Any]:
    day = min(max(date(year, 12, 31) if year < date.today().year else date.today(), pack.valid_from), pack.valid_to or date.max)
    policy = pack.at(day)
    sp = settlement_person(session, person)
    identity = deciding_identity(sp.identities, day, policy.identity_priority)
    ytd = year_to_date(session, person.id, year)
    rows = []
    seen: set[str] = set()
    for key, line in policy.lines.items():
        if line.insutype != sp.insutype or (line.emp_status and line.emp_status != sp.emp_status):
            continue
        group = line.cap_group or key
        if group in seen:
            continue
        seen.add(group)
        ov = line.identity_overrides.get(identity)
        cap = None if ov and ov.no_cap else (line.cap_by_tier[sp.emp_tier] if line.cap_by_tier and sp.emp_tier else line.cap)
        rows.append(_row("hifp_pay", f"基本医保（{line.label_zh}）", ytd.basic_paid.get(group, 0), cap, group=group))
    ci = policy.critical_illness
    if ci is not None and sp.insutype in ci.insutypes:
        tilt = ci.tilt if ci.tilt and identity in ci.tilt.categories else None
        rows.append(_row("hifmi_pay", "大病保险", ytd.ci_paid, None if tilt and tilt.no_cap else ci.cap, base=ytd.ci_base))
    if policy.assistance is not None and identity in policy.assistance.categories:
        rows.append(_row("maf_pay", "医疗救助", ytd.maf_paid, policy.assistance.limit, base=ytd.maf_base))
    ta = policy.tilted_assistance
    if ta is not None and identity in ta.categories:
        rows.append(_row("oth_pay", "倾斜救助", ytd.tilt_paid, ta.cap, base=ytd.tilt_base))
    return {
        "psn_no": person.psn_no,
        "year": year,
        "identity": identity,
        "admissions": ytd.admissions,
        "payers": rows,
        "year_to_date": ytd.to_dict(),
    }
