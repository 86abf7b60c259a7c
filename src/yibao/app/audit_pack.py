"""The audit pack in force: the shipped (or configured) pack, with the bureau's rule changes and imported
knowledge tables on top, and the policy pack's price ceilings as the 超限价 rule's table."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.audit import knowledge as kn
from yibao.audit.pack import AuditPack, Param, load_audit_pack
from yibao.core.settings import DEFAULT_AUDIT_PACK
from yibao.policy.pack import PolicyPack
from yibao.store.audit_tables import AuditRuleChange, KnowledgeImport

AUDIT_PACK_ENV = "YIBAO_AUDIT_PACK"
"""The audit pack to run (a shipped pack's name or a YAML file); :data:`DEFAULT_AUDIT_PACK` otherwise."""


AUDIT_ENV = "YIBAO_AUDIT"
"""``0`` (or ``off``, ``false``, ``no``) switches the audit at the counter off (事中); on otherwise. For measuring
its cost side by side (``bench/audit_counter.py``) and for a bureau that runs audits after settlement only."""


def counter_audit_on() -> bool:
    return os.environ.get(AUDIT_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def configured_audit_pack_name() -> str:
    return os.environ.get(AUDIT_PACK_ENV) or DEFAULT_AUDIT_PACK


def price_ceilings(policy: PolicyPack | None) -> dict[str, int]:
    """Every unit-price ceiling the policy pack ever sets (its first day's table, then later changes on top)."""
    if policy is None:
        return {}
    out: dict[str, int] = {}
    for day in [policy.valid_from, *policy.change_dates()]:
        if policy.covers(day):
            out.update(policy.at(day).fee.price_ceilings)
    return out


@lru_cache(maxsize=8)
def _shipped(name: str, ceilings: tuple[tuple[str, int], ...]) -> AuditPack:
    return load_audit_pack(name, dict(ceilings))


def base_pack(policy: PolicyPack | None = None, name: str | None = None) -> AuditPack:
    """The pack file alone (cached: a file is read once per process)."""
    return _shipped(name or configured_audit_pack_name(), tuple(sorted(price_ceilings(policy).items())))


def apply_changes(pack: AuditPack, changes: list[AuditRuleChange], imports: list[KnowledgeImport]) -> AuditPack:
    """``pack`` with each rule's latest change and each table's latest import applied (rows oldest first)."""
    latest = {c.rule_code: c for c in changes}
    rules = []
    for r in pack.rules:
        c = latest.get(r.code)
        if c is None:
            rules.append(r)
            continue
        changed = json.loads(c.params)
        params = {k: (Param(changed[k], f"changed by {c.recorded_by}") if k in changed else p) for k, p in r.params.items()}
        rules.append(replace(r, enabled=c.enabled, params=params))
    tables = dict(pack.knowledge.rows)
    for imp in imports:
        tables[imp.table_name] = kn.parse_rows(imp.table_name, json.loads(imp.rows), imp.filename)
    knowledge = kn.build(tables, pack.knowledge.price_ceilings) if imports else pack.knowledge
    return replace(pack, rules=tuple(rules), knowledge=knowledge)


def pack_in_force(s: Session, policy: PolicyPack | None = None) -> AuditPack:
    """The pack the counter and audit runs use now."""
    changes = list(s.scalars(sa.select(AuditRuleChange).order_by(AuditRuleChange.id)))
    imports = list(s.scalars(sa.select(KnowledgeImport).order_by(KnowledgeImport.id)))
    pack = base_pack(policy)
    return apply_changes(pack, changes, imports) if changes or imports else pack
