"""Audit rule packs (审核规则库): YAML files of rules with the national rule base's attributes.

A pack lists rules; each names a type from :data:`yibao.audit.types.RULE_TYPES` and carries the
national attributes (family, result 违规/可疑, time window, scenarios, stages, insurance types,
institution levels), what a 违规 does at settlement (``action``), whether it is on, where it comes
from (``source`` or ``assumed``) and its parameters, each a leaf with its own provenance::

    - code: ZY001
      type: split_admission
      family: management
      result: suspicious
      window: admission
      scenarios: [inpatient]
      stages: [during, post]
      assumed: "the common definition (15 days); some cities use 14"
      params:
        days: {value: 15, assumed: "common definition"}

The pack also holds the 疑点 workflow's time limits (working days per step) and the knowledge
tables (:mod:`yibao.audit.knowledge`). A region's pack may ``extends:`` another and only switch
rules on or off, change parameters or replace tables. Every bad value is refused naming the file,
the rule (its row number in ``rules``), the field and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from yibao.audit import knowledge as kn
from yibao.audit.model import AuditClaim
from yibao.audit.types import RULE_TYPES
from yibao.core import vocab
from yibao.core.errors import InputError, InputErrors

PACKS_DIR = Path(__file__).parent / "packs"
WORKFLOW_STEPS = ("first_review", "second_review", "appeal", "investigation", "decision")
"""初审 → 复审 → 机构申诉 → 调查核实 → 处理: each has a time limit in days."""


@dataclass(frozen=True)
class Param:
    value: Any
    provenance: str


@dataclass(frozen=True)
class RuleSpec:
    code: str
    type: str
    name_zh: str
    name_en: str
    family: str
    result: str
    action: str
    window: str
    scenarios: tuple[str, ...]
    stages: tuple[str, ...]
    insutypes: tuple[str, ...] | None
    hosp_lvs: tuple[int, ...] | None
    enabled: bool
    provenance: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def param(self, name: str) -> Any:
        return self.params[name].value

    def applies_to(self, claim: AuditClaim, stage: str) -> bool:
        return (
            self.enabled
            and stage in self.stages
            and scenario_of(claim.med_type) in self.scenarios
            and (self.insutypes is None or claim.insutype in self.insutypes)
            and (self.hosp_lvs is None or claim.hosp_lv in self.hosp_lvs)
        )


def scenario_of(med_type: str) -> str:
    """住院 for an admission, 购药 for a pharmacy purchase (41), 门(急)诊 otherwise."""
    if med_type == "21":
        return "inpatient"
    return "pharmacy" if med_type == "41" else "outpatient"


@dataclass(frozen=True)
class AuditPack:
    name: str
    title_zh: str
    title_en: str
    valid_from: date
    valid_to: date | None
    rules: tuple[RuleSpec, ...]
    workflow_days: Mapping[str, int]
    knowledge: kn.Knowledge
    file: str = ""

    def rule(self, code: str) -> RuleSpec:
        for r in self.rules:
            if r.code == code:
                return r
        raise KeyError(code)

    def enabled(self, stage: str) -> tuple[RuleSpec, ...]:
        return tuple(r for r in self.rules if r.enabled and stage in r.stages)

    def with_rule(self, code: str, **changes: Any) -> AuditPack:
        """The pack with one rule changed (switched on or off, a parameter set): for overrides kept elsewhere."""
        return replace(self, rules=tuple(replace(r, **changes) if r.code == code else r for r in self.rules))

    def with_knowledge(self, knowledge: kn.Knowledge) -> AuditPack:
        return replace(self, knowledge=knowledge)


def _provenance(raw: Mapping[str, Any], where: str, field_name: str) -> str:
    if raw.get("source"):
        return str(raw["source"])
    if raw.get("assumed"):
        return f"assumed: {raw['assumed']}"
    raise InputError(where, field_name, None, "a source or an assumed reason")


def _codes(raw: Any, where: str, name: str, table: Mapping[str, Any]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or any(str(v) not in table for v in raw):
        raise InputError(where, name, raw, "a list of " + ", ".join(table))
    return tuple(str(v) for v in raw)


def _choice(raw: Any, where: str, name: str, table: Mapping[str, Any]) -> str:
    if str(raw) not in table:
        raise InputError(where, name, raw, "one of " + ", ".join(table))
    return str(raw)


def _param(raw: Any, where: str, name: str, default: object) -> Param:
    if not isinstance(raw, Mapping) or "value" not in raw:
        raise InputError(where, f"params.{name}", raw, "{value: ..., source: ...} or {value: ..., assumed: ...}")
    value = raw["value"]
    if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InputError(where, f"params.{name}", value, "a whole number >= 0")
    return Param(value, _provenance(raw, where, f"params.{name}"))


_RULE_KEYS = {
    "code", "type", "name_zh", "name_en", "family", "result", "action", "window", "scenarios", "stages",
    "insutypes", "hosp_lvs", "enabled", "source", "assumed", "params",
}  # fmt: skip


def _rule(raw: Any, where: str) -> RuleSpec:
    if not isinstance(raw, Mapping):
        raise InputError(where, "rule", raw, "a mapping with code, type, family, result …")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise InputError(where, unknown[0], raw[unknown[0]], "one of the rule fields: " + ", ".join(sorted(_RULE_KEYS)))
    code = str(raw.get("code") or "")
    if not code or len(code) > 16 or not code.isascii():
        raise InputError(where, "code", raw.get("code"), "a rule code of up to 16 ASCII characters")
    rtype = RULE_TYPES.get(str(raw.get("type")))
    if rtype is None:
        raise InputError(where, "type", raw.get("type"), "one of " + ", ".join(RULE_TYPES))
    stages = _codes(raw.get("stages", list(rtype.stages)), where, "stages", vocab.AUDIT_STAGES)
    if set(stages) - set(rtype.stages):
        raise InputError(where, "stages", raw.get("stages"), "stages this type can run at: " + ", ".join(rtype.stages))
    result = _choice(raw.get("result"), where, "result", {"violation": 1, "suspicious": 1})
    action = _choice(raw.get("action", "self_pay" if result == "violation" else "flag"), where, "action", vocab.AUDIT_ACTIONS)
    if result == "suspicious" and action != "flag":
        raise InputError(where, "action", action, "flag (a 可疑 finding settles and opens a 疑点)")
    params_raw = raw.get("params") or {}
    if not isinstance(params_raw, Mapping):
        raise InputError(where, "params", params_raw, "a mapping of parameter name to {value, source}")
    extra = sorted(set(params_raw) - set(rtype.params))
    if extra:
        raise InputError(
            where,
            f"params.{extra[0]}",
            params_raw[extra[0]],
            "a parameter of " + rtype.key + ": " + (", ".join(rtype.params) or "none"),
        )
    params: dict[str, Param] = {}
    for name, default in rtype.params.items():
        if name in params_raw:
            params[name] = _param(params_raw[name], where, name, default)
        else:
            params[name] = Param(default, f"assumed: the default of {rtype.key}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InputError(where, "enabled", enabled, "true or false")
    insutypes = _codes(raw["insutypes"], where, "insutypes", vocab.INSUTYPES) if raw.get("insutypes") is not None else None
    hosp_lvs = None
    if raw.get("hosp_lvs") is not None:
        hosp_lvs = tuple(
            int(v)
            for v in _codes(
                [str(v) for v in raw["hosp_lvs"]] if isinstance(raw["hosp_lvs"], list) else raw["hosp_lvs"],
                where,
                "hosp_lvs",
                vocab.HOSP_LEVELS,
            )
        )
    return RuleSpec(
        code=code,
        type=rtype.key,
        name_zh=str(raw.get("name_zh") or rtype.label[0]),
        name_en=str(raw.get("name_en") or rtype.label[1]),
        family=_choice(raw.get("family"), where, "family", vocab.AUDIT_FAMILIES),
        result=result,
        action=action,
        window=_choice(raw.get("window"), where, "window", vocab.AUDIT_WINDOWS),
        scenarios=_codes(raw.get("scenarios"), where, "scenarios", vocab.AUDIT_SCENARIOS),
        stages=stages,
        insutypes=insutypes,
        hosp_lvs=hosp_lvs,
        enabled=enabled,
        provenance=_provenance(raw, where, "source"),
        params=params,
    )


def _override(base: RuleSpec, raw: Mapping[str, Any], where: str) -> RuleSpec:
    """A region's change to an inherited rule: on/off, result/action, parameters."""
    merged: dict[str, Any] = {
        "code": base.code, "type": base.type, "name_zh": base.name_zh, "name_en": base.name_en, "family": base.family,
        "result": base.result, "action": base.action, "window": base.window, "scenarios": list(base.scenarios),
        "stages": list(base.stages), "enabled": base.enabled, "source": base.provenance,
        "params": {k: {"value": p.value, "source": p.provenance} for k, p in base.params.items()},
    }  # fmt: skip
    if base.insutypes is not None:
        merged["insutypes"] = list(base.insutypes)
    if base.hosp_lvs is not None:
        merged["hosp_lvs"] = list(base.hosp_lvs)
    for k, v in raw.items():
        if k == "params" and isinstance(v, Mapping):
            merged["params"] = {**merged["params"], **v}
        elif k in ("source", "assumed"):
            merged.pop("source", None)
            merged[k] = v
        else:
            merged[k] = v
    return _rule(merged, where)


def override_rule(base: RuleSpec, raw: Mapping[str, Any], where: str) -> RuleSpec:
    """``base`` with a change (``enabled``, ``params`` leaves, …) checked exactly as a region's pack file is:
    the bureau's rule library (:mod:`yibao.app.audit_rules`) validates its changes here."""
    return _override(base, raw, where)


def _date(raw: Any, where: str, name: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InputError(where, name, raw, "a date YYYY-MM-DD") from None


def _workflow(raw: Any, where: str, base: Mapping[str, int] | None) -> dict[str, int]:
    out = dict(base or {})
    if raw is None and base is not None:
        return out
    if not isinstance(raw, Mapping):
        raise InputError(where, "workflow", raw, "time limits in days for " + ", ".join(WORKFLOW_STEPS))
    for step, leaf in raw.items():
        if step not in WORKFLOW_STEPS:
            raise InputError(where, f"workflow.{step}", leaf, "one of " + ", ".join(WORKFLOW_STEPS))
        out[step] = _param(leaf, where, f"workflow.{step}", 0).value
    missing = [s for s in WORKFLOW_STEPS if s not in out]
    if missing:
        raise InputError(where, f"workflow.{missing[0]}", None, "a time limit in days")
    return out


def _knowledge(raw: Any, where: str, base: Mapping[str, tuple[Mapping[str, Any], ...]] | None) -> dict[str, tuple[Any, ...]]:
    tables: dict[str, tuple[Any, ...]] = dict(base or {})
    if raw is None:
        return tables
    if not isinstance(raw, Mapping):
        raise InputError(where, "knowledge", raw, "a mapping of table name to rows")
    for name, rows in raw.items():
        if not isinstance(rows, list):
            raise InputError(f"{where} knowledge.{name}", name, rows, "a list of rows")
        tables[str(name)] = kn.parse_rows(str(name), rows, f"{where} knowledge.{name}")
    return tables


def pack_from_mapping(raw: Any, file: str, price_ceilings: Mapping[str, int] | None = None) -> AuditPack:
    if not isinstance(raw, Mapping):
        raise InputError(file, "pack", raw, "a YAML mapping with pack, rules, workflow, knowledge")
    base: AuditPack | None = load_audit_pack(str(raw["extends"])) if raw.get("extends") else None
    name = str(raw.get("pack") or "")
    if not name:
        raise InputError(file, "pack", raw.get("pack"), "the pack's name")
    errors: list[InputError] = []
    rules: list[RuleSpec] = list(base.rules) if base else []
    seen: set[str] = set()
    for n, rr in enumerate(raw.get("rules") or [], start=1):
        where = f"{file} rules row {n}"
        try:
            code = str(rr.get("code")) if isinstance(rr, Mapping) else ""
            known = next((i for i, r in enumerate(rules) if r.code == code), None)
            if code in seen:
                raise InputError(where, "code", code, "a rule code not used before in this file")
            seen.add(code)
            if known is not None and base is not None:
                rules[known] = _override(rules[known], rr, where)
            else:
                rules.append(_rule(rr, where))
        except InputError as e:
            errors.append(e)
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    if not rules:
        raise InputError(file, "rules", raw.get("rules"), "at least one rule")
    tables = _knowledge(raw.get("knowledge"), file, base.knowledge.rows if base else None)
    return AuditPack(
        name=name,
        title_zh=str(raw.get("title_zh") or (base.title_zh if base else name)),
        title_en=str(raw.get("title_en") or (base.title_en if base else name)),
        valid_from=_date(raw.get("valid_from", base.valid_from if base else None), file, "valid_from"),
        valid_to=_date(raw["valid_to"], file, "valid_to") if raw.get("valid_to") else (base.valid_to if base else None),
        rules=tuple(rules),
        workflow_days=_workflow(raw.get("workflow"), file, base.workflow_days if base else None),
        knowledge=kn.build(tables, price_ceilings),
        file=file,
    )


def load_audit_pack(path_or_name: str | Path, price_ceilings: Mapping[str, int] | None = None) -> AuditPack:
    """A pack by file path or by the name of a shipped pack (``yibao-audit-2023``)."""
    path = Path(path_or_name)
    if not path.suffix:
        path = PACKS_DIR / f"{path_or_name}.yaml"
    if not path.is_file():
        raise InputError(
            "audit pack",
            "name",
            str(path_or_name),
            "a shipped audit pack (" + ", ".join(shipped_audit_packs()) + ") or a YAML file",
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(path.name, "yaml", str(e).splitlines()[0], "valid YAML") from None
    return pack_from_mapping(raw, path.name, price_ceilings)


def shipped_audit_packs() -> list[str]:
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))
