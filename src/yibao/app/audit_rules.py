"""The bureau's audit rule library (规则库): the rules in force, switching one on or off, changing its parameters.

A change is checked exactly as a region's pack file would be (:func:`yibao.audit.pack.override_rule`: the
parameter's name, its kind, its range), then recorded as an :class:`AuditRuleChange` with who, when and why.
The latest change of a rule is in force (:func:`yibao.app.audit_pack.pack_in_force`), and it holds every
parameter that differs from the pack file, so a change never undoes an earlier one by leaving it out.
Only roles with ``audit.rules`` (auditor, admin) may change a rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.audit_pack import base_pack, pack_in_force
from yibao.app.auth import PERMISSIONS
from yibao.audit.pack import AuditPack, RuleSpec, override_rule
from yibao.audit.types import RULE_TYPES
from yibao.core import vocab
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import Said, t
from yibao.policy.pack import PolicyPack
from yibao.store.audit_tables import AuditRuleChange

PERMISSION = "audit.rules"
REASON_MAX = 500
PARAM_MAX = 100_000
"""The largest parameter value the desk takes (days, counts, percentiles): anything larger is a typing error
the rules could not even compute with (a day 10**15 days away)."""

PARAM_LABELS: dict[str, Said] = {
    "days": ("天数", "days"),
    "prefix": ("同病种诊断编码位数", "diagnosis code characters (same disease group)"),
    "min_parts": ("最少组成项目数", "fewest parts"),
    "min_days": ("最少天数", "fewest days"),
    "max_visits": ("每日最多就诊次数", "most visits a day"),
    "percentile": ("百分位", "percentile"),
    "min_visits": ("最少就诊次数", "fewest visits"),
}
"""A rule parameter's name, as the rule library shows it."""


class NotPermitted(Exception):
    """The caller's role may not change audit rules or import knowledge (``audit.rules``)."""

    def __init__(self, role: str) -> None:
        super().__init__(f"role {role} may not change audit rules")
        self.role = role

    def message(self, lang: str) -> str:
        return t(
            lang,
            f"当前角色（{self.role}）无权修改审核规则或导入知识库（需审核或管理角色）",
            f"role {self.role} may not change audit rules or import knowledge (auditor or admin)",
        )


def check_role(role: str) -> None:
    """Refuse a role without ``audit.rules``."""
    if PERMISSION not in PERMISSIONS.get(role, frozenset()):
        raise NotPermitted(role)


@dataclass(frozen=True)
class ParamView:
    name: str
    value: Any
    """In force."""
    pack_value: Any
    pack_provenance: str
    """Where the pack file's value comes from (``source`` or ``assumed: …``)."""
    changed: bool


@dataclass(frozen=True)
class RuleView:
    """One rule as the library shows it: the pack's attributes, what is in force, and its last change."""

    rule: RuleSpec
    """In force (the bureau's change applied)."""
    pack_enabled: bool
    params: tuple[ParamView, ...]
    last_change: AuditRuleChange | None

    @property
    def code(self) -> str:
        return self.rule.code

    def as_dict(self) -> dict[str, Any]:
        r, c = self.rule, self.last_change
        return {
            "code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "type": r.type,
            "type_zh": RULE_TYPES[r.type].label[0], "type_en": RULE_TYPES[r.type].label[1],
            "family": r.family, "result": r.result, "action": r.action, "window": r.window,
            "scenarios": list(r.scenarios), "stages": list(r.stages),
            "insutypes": list(r.insutypes) if r.insutypes is not None else None,
            "hosp_lvs": list(r.hosp_lvs) if r.hosp_lvs is not None else None,
            "tables": list(RULE_TYPES[r.type].tables), "provenance": r.provenance,
            "enabled": r.enabled, "pack_enabled": self.pack_enabled,
            "params": [
                {"name": p.name, "value": p.value, "pack_value": p.pack_value, "pack_provenance": p.pack_provenance,
                 "changed": p.changed}
                for p in self.params
            ],
            "last_change": change_dict(c) if c is not None else None,
        }  # fmt: skip


def change_dict(c: AuditRuleChange) -> dict[str, Any]:
    return {
        "id": c.id,
        "rule_code": c.rule_code,
        "enabled": c.enabled,
        "params": json.loads(c.params),
        "reason": c.reason,
        "recorded_at": _aware(c.recorded_at).isoformat(),
        "recorded_by": c.recorded_by,
    }


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _latest(s: Session) -> dict[str, AuditRuleChange]:
    return {c.rule_code: c for c in s.scalars(sa.select(AuditRuleChange).order_by(AuditRuleChange.id))}


def _view(rule: RuleSpec, base: RuleSpec, change: AuditRuleChange | None) -> RuleView:
    changed = json.loads(change.params) if change is not None else {}
    params = tuple(
        ParamView(name, p.value, base.params[name].value, base.params[name].provenance, name in changed)
        for name, p in rule.params.items()
    )
    return RuleView(rule, base.enabled, params, change)


def _base_rule(base: AuditPack, code: str) -> RuleSpec:
    try:
        return base.rule(code)
    except KeyError:
        known = ", ".join(r.code for r in base.rules)
        raise NotFound("audit rule", "code", code, f"a rule of pack {base.name}: {known}") from None


def rules(s: Session, policy: PolicyPack | None = None) -> list[RuleView]:
    """Every rule of the pack in force, in the pack's order."""
    pack, base, latest = pack_in_force(s, policy), base_pack(policy), _latest(s)
    return [_view(r, base.rule(r.code), latest.get(r.code)) for r in pack.rules]


def rule(s: Session, code: str, policy: PolicyPack | None = None) -> RuleView:
    base = _base_rule(base_pack(policy), code)
    return _view(pack_in_force(s, policy).rule(code), base, _latest(s).get(code))


def history(s: Session, code: str | None = None, limit: int = 200) -> list[AuditRuleChange]:
    """The changes, newest first (of one rule, or of every rule)."""
    q = sa.select(AuditRuleChange).order_by(AuditRuleChange.id.desc()).limit(limit)
    if code is not None:
        q = q.where(AuditRuleChange.rule_code == code)
    return list(s.scalars(q))


_WHOLE = re.compile(r"[+-]?\d{1,18}")


def param_value(text: object) -> object:
    """A parameter as typed in a form or on the command line: a whole number as a number, anything else as it
    is (the pack's check then refuses it naming the value)."""
    if isinstance(text, str) and _WHOLE.fullmatch(text.strip()):
        return int(text.strip())
    return text


def change_rule(
    s: Session,
    code: str,
    *,
    enabled: bool | None = None,
    params: Mapping[str, object] | None = None,
    reason: str,
    by: str,
    role: str,
    policy: PolicyPack | None = None,
    based_on: int | None = None,
) -> RuleView:
    """Switch rule ``code`` on or off and/or set parameters, recording who, when and why.

    ``based_on``: the number of the rule's change the caller saw (0: none); when someone changed the rule
    meanwhile the change is refused (``based_on`` named), so nobody undoes another's change unseen.
    ``InputError`` naming the field (``params.days``) and the value when the pack's check refuses it, or when
    nothing would change; :class:`NotPermitted` for a role without ``audit.rules``. Nothing is written then."""
    check_role(role)
    where = f"audit rule {code}"
    base = _base_rule(base_pack(policy), code)
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > REASON_MAX or "\x00" in text:
        raise InputError(where, "reason", reason, f"a reason for the change, 1 to {REASON_MAX} characters (变更原因)")
    if enabled is not None and not isinstance(enabled, bool):
        raise InputError(where, "enabled", enabled, "true or false")
    latest = s.scalars(
        sa.select(AuditRuleChange).where(AuditRuleChange.rule_code == code).order_by(AuditRuleChange.id.desc()).limit(1)
        .with_for_update()  # changes of one rule one after the other (PostgreSQL; SQLite's writers are serial)
    ).first()  # fmt: skip
    seen = latest.id if latest is not None else 0
    if based_on is not None and based_on != seen:
        who = latest.recorded_by if latest is not None else "-"
        raise InputError(where, "based_on", based_on, f"the rule as last changed (change {seen} by {who}): reload it")
    before = json.loads(latest.params) if latest is not None else {}
    was_on = latest.enabled if latest is not None else base.enabled
    wanted = {**before, **{str(k): param_value(v) for k, v in (params or {}).items()}}
    for k, v in wanted.items():
        if isinstance(v, int) and not isinstance(v, bool) and v > PARAM_MAX:
            raise InputError(where, f"params.{k}", v, f"a whole number from 0 to {PARAM_MAX}")
    on = was_on if enabled is None else enabled
    leaves = {k: {"value": v, "source": f"changed by {by}"} for k, v in wanted.items()}
    try:
        checked = override_rule(base, {"enabled": on, "params": leaves}, where)
    except InputError as e:  # say the value as given, not the leaf it was wrapped in
        leaf = e.value
        raise replace(e, value=leaf["value"]) if isinstance(leaf, dict) and "value" in leaf else e from None
    kept = {k: checked.param(k) for k in sorted(wanted) if checked.param(k) != base.param(k)}
    if on == was_on and kept == before:
        raise InputError(where, "enabled", on, "a change: switch the rule on or off, or give a parameter a new value")
    s.add(
        AuditRuleChange(
            rule_code=code,
            enabled=on,
            params=json.dumps(kept, sort_keys=True, ensure_ascii=False),
            reason=text,
            recorded_at=datetime.now(UTC),
            recorded_by=by,
        )
    )
    s.flush()
    return rule(s, code, policy)


def labels(view: RuleView, lang: str) -> dict[str, str]:
    """The rule's coded attributes in ``lang`` (for pages and the command line)."""
    r = view.rule
    return {
        "name": t(lang, r.name_zh, r.name_en),
        "type": t(lang, *RULE_TYPES[r.type].label),
        "family": vocab.label(vocab.AUDIT_FAMILIES, r.family, lang),
        "result": vocab.label(vocab.AUDIT_RESULTS, r.result, lang),
        "action": vocab.label(vocab.AUDIT_ACTIONS, r.action, lang),
        "window": vocab.label(vocab.AUDIT_WINDOWS, r.window, lang),
        "scenarios": _joined([vocab.label(vocab.AUDIT_SCENARIOS, c, lang) for c in r.scenarios], lang),
        "stages": _joined([vocab.label(vocab.AUDIT_STAGES, c, lang) for c in r.stages], lang),
        "insutypes": _joined([vocab.label(vocab.INSUTYPES, c, lang) for c in r.insutypes], lang) if r.insutypes else "",
        "hosp_lvs": _joined([vocab.label(vocab.HOSP_LEVELS, c, lang) for c in r.hosp_lvs], lang) if r.hosp_lvs else "",
        "enabled": t(lang, "启用", "on") if r.enabled else t(lang, "停用", "off"),
    }


def param_label(name: str, lang: str) -> str:
    return vocab.label(PARAM_LABELS, name, lang)


def params_text(change: AuditRuleChange, lang: str) -> str:
    """The parameters a change leaves differing from the pack, as shown (``天数：14``), or ``—`` for none."""
    params = json.loads(change.params)
    return _joined([f"{param_label(k, lang)}{t(lang, '：', ': ')}{v}" for k, v in params.items()], lang) or "—"


def provenance_parts(text: str, lang: str) -> tuple[str, str]:
    """A provenance as shown: what kind it is (依据 / 假定 / 修改人) and the pack's own words, quoted as written."""
    for prefix, zh, en in (("assumed: ", "假定", "assumed"), ("changed by ", "修改人", "changed by")):
        if text.startswith(prefix):
            return t(lang, zh, en), text.removeprefix(prefix)
    return t(lang, "依据", "source"), text


def _joined(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)
