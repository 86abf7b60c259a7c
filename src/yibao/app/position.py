"""A person's year-to-date position per payer against its cap or limit (the rule: :mod:`yibao.settlement.position`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yibao.app.ledger import year_to_date
from yibao.app.personal_account import account_year
from yibao.app.registry import settlement_person
from yibao.core.clock import beijing_today
from yibao.core.vocab import INSTITUTION_CLASSES, label
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Policy
from yibao.settlement.position import PayerPosition, payer_positions
from yibao.store.tables import Person

TIER_LABELS = {"hifmi_pay": "大病保险", "maf_pay": "医疗救助", "oth_pay": "倾斜救助"}


def _row(policy: Policy, p: PayerPosition) -> dict[str, Any]:
    extra: dict[str, Any]
    if p.payer == "hifp_pay":
        where = "、".join(label(INSTITUTION_CLASSES, c) for c in p.institutions)
        label_zh = f"基本医保（{policy.lines[p.lines[0]].label_zh}{'，' + where if where else ''}）"
        extra = {"group": p.group, "slot": p.slot, "institutions": list(p.institutions)}
        if p.cost_ceiling is not None:
            extra |= {"cost_ceiling": p.cost_ceiling, "covered_cost": p.covered, "cost_left": p.cost_left}
    else:
        label_zh, extra = TIER_LABELS[p.payer] + ("（重特大疾病）" if p.major else ""), {"base": p.base, "major": p.major}
    return {"payer": p.payer, "label_zh": label_zh, "paid": p.paid, "cap": p.cap, "remaining": p.remaining, **extra}


def position(session: Session, pack: PolicyPack, person: Person, year: int) -> dict[str, Any]:
    today = beijing_today()
    day = min(max(date(year, 12, 31) if year < today.year else today, pack.valid_from), pack.valid_to or date.max)
    policy = pack.at(day)
    ytd = year_to_date(session, person.id, year)
    pos = payer_positions(policy, settlement_person(session, person), ytd, day)
    return {
        "psn_no": person.psn_no,
        "year": year,
        "identity": pos.identity,
        "admissions": ytd.admissions,
        "payers": [_row(policy, p) for p in pos.payers],
        "year_to_date": ytd.to_dict(),
        "account": account_year(session, person.id, year, ytd.acct_paid),
    }
