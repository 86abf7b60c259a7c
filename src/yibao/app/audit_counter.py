"""The audit at the counter (事中): the same rules as after settlement, on the claim being settled.

:func:`check` audits a claim against its person's history before it is pre-settled (2303, the REST and
window previews) or settled (2304/2207, REST, the window):

- a 违规 finding whose rule says 转自费 (``self_pay``) makes its lines fully self-paid (the claim's
  ``audit_refused``; the rule is named in the trace and on the slip);
- a 违规 finding whose rule says 拒绝结算 (``refuse``) refuses the whole settlement: an
  :class:`~yibao.core.errors.InputError` naming the rule, and nothing is written;
- a 可疑 finding (and a 违规 one that only flags) settles as it is.

:func:`record` writes the findings of a settlement (stage ``during``) and opens a 疑点 for each one the
fund paid for: 可疑 findings and 违规 ones that only flag. A line refused at the counter needs no 疑点
(the fund did not pay it), and a finding the rule could not evaluate (``unevaluable``: data it needs is
missing) is recorded for the auditor without a 疑点.

With ``YIBAO_AUDIT=0`` (:func:`yibao.app.audit_pack.counter_audit_on`) nothing is audited at the counter.

Limits, as built: a bill sent as a summary (no fee lines) is not audited at the counter (an audit run still sees
it as a claim); a pre-settlement's history is read without the person's year locked (a settlement reads it
after :mod:`yibao.app.person_year` locked the year, so two settlements of one person see each other); a reversal
leaves the findings of the settlement it undid (and their 疑点) as they were: the settlement made again is audited
afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.orm import Session

from yibao.app import suspects
from yibao.app.audit_facts import CounterAudit as CounterAudit
from yibao.app.audit_facts import Marks, counter_claim, counter_facts, lookback_start, person_facts
from yibao.app.audit_pack import configured_audit_pack_name, counter_audit_on, pack_in_force
from yibao.app.ledger import now
from yibao.audit.engine import audit_claim
from yibao.audit.model import Finding
from yibao.audit.pack import AuditPack, RuleSpec
from yibao.audit.types import RULE_TYPES
from yibao.core.errors import InputError
from yibao.core.i18n import pick, t
from yibao.core.money import fen_to_yuan_str, fmt_yuan
from yibao.core.vocab import AUDIT_ACTIONS, AUDIT_FAMILIES, AUDIT_RESULTS, label
from yibao.policy.pack import PolicyPack
from yibao.settlement.model import AuditRefusal, Claim
from yibao.store.audit_tables import AuditFinding, SuspectCase
from yibao.store.service_tables import Visit
from yibao.store.tables import Person

STAGE = "during"


def _refusal(audit: CounterAudit, f: Finding, where: str) -> InputError:
    rule = audit.rule(f.rule_code)
    return InputError(
        where,
        "audit",
        rule.code,
        f"a claim no audit rule refuses (rule {rule.code} “{rule.name_en}” refuses the settlement: {message(f, 'en')})",
        expected_zh=f"未被审核规则拒绝的结算（审核规则 {rule.code}「{rule.name_zh}」判定违规，拒绝结算：{message(f, 'zh')}）",
    )


_LAST: dict[tuple[str, int], tuple[Marks, AuditPack]] = {}


def _pack(s: Session, policy: PolicyPack, marks: Marks | None) -> tuple[Marks, AuditPack]:
    """The pack in force (:func:`~yibao.app.audit_pack.pack_in_force`) for the bureau's changes as ``marks`` say
    (None: not yet known), built once per state of the changes."""
    base = (configured_audit_pack_name(), id(policy))
    last = _LAST.get(base)
    if marks is None and last is not None:
        return last
    if last is not None and last[0] == marks:
        return last
    pack = pack_in_force(s, policy)
    if marks is None:
        marks = counter_facts(s, 0, date.max).marks
    if len(_LAST) >= 16:
        _LAST.clear()
    _LAST[base] = (marks, pack)
    return marks, pack


def check(
    s: Session, policy: PolicyPack, claim: Claim, person: Person, visit: Visit | None, where: str = "settle"
) -> CounterAudit:
    """Audit ``claim`` (of ``person``; of ``visit`` when a hospital uploaded it) at the counter.

    One query reads the person's history, the visit's line days and whether the bureau changed its rules (then
    the pack is built again); a second only when the lines or the new rules reach further back than was read.
    """
    if not counter_audit_on() or claim.summary is not None:
        return CounterAudit(claim)
    marks, pack = _pack(s, policy, None)
    mdtrt_id = visit.mdtrt_id if visit is not None else None
    begin = visit.begntime if visit is not None else claim.setl_date
    since = lookback_start(pack, begin)
    facts = counter_facts(s, person.id, since, mdtrt_id)
    if facts.marks != marks:
        marks, pack = _pack(s, policy, facts.marks)
    ac = counter_claim(claim, "310" if person.insutype == "310" else "390", visit, facts.line_days)
    needed = lookback_start(pack, min([ac.begndate, *(ln.fee_ocur_date for ln in ac.lines)]))
    hist = facts.history if needed >= since else counter_facts(s, person.id, needed, mdtrt_id).history
    found = tuple(audit_claim(pack, ac, person_facts(person), hist, STAGE))
    audit = CounterAudit(claim, found, pack)
    refusing = [f for f in found if audit.action(f) == "refuse"]
    if refusing:
        raise _refusal(audit, refusing[0], where)
    refused: dict[str, RuleSpec] = {}
    for f in found:
        if audit.action(f) == "self_pay":
            for sn in f.feedetl_sns:
                refused.setdefault(sn, audit.rule(f.rule_code))
    if not refused:
        return audit
    refusals = tuple(AuditRefusal(sn, r.code, (r.name_zh, r.name_en)) for sn, r in refused.items())
    return replace(audit, claim=replace(claim, audit_refused=refusals))


def opens_case(audit: CounterAudit, f: Finding) -> bool:
    """A 疑点 for what the fund paid for: 可疑 findings and 违规 ones that only flag."""
    return f.result == "suspicious" or (f.result == "violation" and audit.action(f) == "flag")


def finding_key(setl_id: str, f: Finding) -> str:
    """The unique key of a finding on a settlement (settlement, rule, lines), as :class:`AuditFinding` keeps it."""
    key = f"{setl_id}|{f.rule_code}|{','.join(f.feedetl_sns)}"
    return key if len(key) <= 255 else key[:190] + "#" + hashlib.sha256(key.encode()).hexdigest()


class LedgerRef(Protocol):
    """What a finding row takes from its settlement (a :class:`LedgerEntry`, or a row of one)."""

    @property
    def setl_id(self) -> str: ...
    @property
    def mdtrt_id(self) -> str | None: ...
    @property
    def psn_no(self) -> str: ...
    @property
    def fixmedins_code(self) -> str | None: ...
    @property
    def setl_date(self) -> date: ...


def finding_row(
    f: Finding, entry: LedgerRef, pack_name: str, stage: str, action: str, who: str, run_id: int | None = None
) -> AuditFinding:
    return AuditFinding(
        finding_key=finding_key(entry.setl_id, f), setl_id=entry.setl_id, mdtrt_id=entry.mdtrt_id, psn_no=entry.psn_no,
        fixmedins_code=entry.fixmedins_code, setl_date=entry.setl_date, rule_code=f.rule_code, rule_type=f.rule_type,
        result=f.result, action=action, stage=stage, feedetl_sns=json.dumps(list(f.feedetl_sns)), amount=f.amount,
        evidence=json.dumps(list(f.evidence), ensure_ascii=False),
        args=json.dumps(dict(f.args), sort_keys=True, ensure_ascii=False), pack_name=pack_name, run_id=run_id,
        recorded_at=now(), recorded_by=who,
    )  # fmt: skip


def record(s: Session, audit: CounterAudit, entry: LedgerRef, who: str, channel: str) -> list[SuspectCase]:
    """Write the findings of settlement ``entry`` (their ``claim_id`` is the settlement's) and open their 疑点."""
    if audit.pack is None or not audit.findings:
        return []
    rows = [finding_row(f, entry, audit.pack.name, STAGE, audit.action(f), who) for f in audit.findings]
    s.add_all(rows)
    s.flush()
    to_open = [row for row, f in zip(rows, audit.findings, strict=True) if opens_case(audit, f)]
    return suspects.open_cases(s, to_open, audit.pack, who, channel) if to_open else []


# ------------------------------------------------------------------ what the counter shows


class _Args(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message(f: Finding, lang: str = "zh") -> str:
    """The finding's message from its rule type's template (amounts ``*_fen`` in yuan)."""
    rtype = RULE_TYPES.get(f.rule_type)
    if rtype is None:
        return f.rule_code
    args = _Args({k: (fmt_yuan(int(v)) + t(lang, "元", " yuan") if k.endswith("_fen") else str(v)) for k, v in f.args.items()})
    return pick(rtype.message, lang).format_map(args)


def findings_view(audit: CounterAudit, lang: str = "zh") -> list[dict[str, Any]]:
    """Each finding as the REST API and the window show it (amounts in fen)."""
    out = []
    for f in audit.findings:
        rule = audit.rule(f.rule_code)
        action = audit.action(f)
        out.append(
            {
                "rule_code": f.rule_code,
                "rule_name": pick((rule.name_zh, rule.name_en), lang),
                "rule_type": f.rule_type,
                "result": f.result,
                "result_label": label(AUDIT_RESULTS, f.result, lang),
                "action": action,
                "action_label": label(AUDIT_ACTIONS, action, lang),
                "feedetl_sns": list(f.feedetl_sns),
                "amount": f.amount,
                "evidence": list(f.evidence),
                "message": message(f, lang),
            }
        )
    return out


def audit_json(audit: CounterAudit, lang: str = "zh") -> dict[str, Any]:
    """The ``audit`` block of a REST answer: whether the audit ran, with which pack, and its findings."""
    return {
        "enabled": audit.pack is not None,
        "pack": audit.pack.name if audit.pack is not None else None,
        "findings": findings_view(audit, lang),
    }


SEV_DEG = {"violation": "1", "suspicious": "2", "unevaluable": "3"}
"""严重程度 (``sev_deg``): yibao's codes — 1 明确违规, 2 高度可疑, 3 无法判断 (the HIS reads ``sev_deg_name`` too)."""
VOLA_BHVR_TYPE = {"policy": "1", "management": "2", "medical": "3"}
"""违规行为分类 (``vola_bhvr_type``): the rule's family — 1 政策类, 2 管理类, 3 医疗类 (yibao's codes)."""


def hsa_result(audit: CounterAudit, mdtrt_id: str | None) -> list[dict[str, Any]]:
    """The findings in the national interface's form (as 3101/3102 answer: ``result`` rows with ``jr_id``,
    ``rule_id``, ``rule_name``, ``vola_cont``, ``vola_amt`` …, each with its ``judge_result_detail_dtos``);
    amounts in yuan. Texts are Chinese, as the HIS shows them."""
    out = []
    for i, f in enumerate(audit.findings, start=1):
        rule = audit.rule(f.rule_code)
        action = audit.action(f)
        out.append(
            {
                "jr_id": f"{f.claim_id}-{i}",
                "rule_id": f.rule_code,
                "rule_name": rule.name_zh,
                "vola_cont": message(f, "zh"),
                "patn_id": audit.claim.psn_no,
                "mdtrt_id": mdtrt_id,
                "vola_amt": Decimal(fen_to_yuan_str(f.amount)),
                "vola_amt_stas": "1",
                "sev_deg": SEV_DEG[f.result],
                "sev_deg_name": label(AUDIT_RESULTS, f.result),
                "vola_evid": "；".join(f.evidence),
                "vola_bhvr_type": VOLA_BHVR_TYPE.get(rule.family, ""),
                "vola_bhvr_type_name": label(AUDIT_FAMILIES, rule.family),
                "dspo_way": action,
                "dspo_way_name": label(AUDIT_ACTIONS, action),
                "judge_result_detail_dtos": [
                    {
                        "jrd_id": f"{f.claim_id}-{i}-{sn}",
                        "patn_id": audit.claim.psn_no,
                        "mdtrt_id": mdtrt_id,
                        "rx_id": sn,
                        "vola_item_type": "1",
                        "vola_amt": Decimal(fen_to_yuan_str(_line_amount(audit, sn))),
                    }
                    for sn in f.feedetl_sns
                ],
            }
        )
    return out


def _line_amount(audit: CounterAudit, sn: str) -> int:
    return next((fl.det_item_fee_sumamt for fl in audit.claim.fee_lines if fl.feedetl_sn == sn), 0)
