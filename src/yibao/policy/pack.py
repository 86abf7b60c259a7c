"""Policy packs: YAML files of dated, sourced parameters.

A pack is a header plus a ``policy`` tree shaped like :class:`yibao.policy.schema.Policy`.
Every number sits in a *leaf* that says where it comes from::

    deductible: {value: 15000, source: 003_b5d4c3d7e49b1282.txt}
    limit: {value: 50000, assumed: "seed 003 says about 50,000"}
    ratio:                                  # dated: a value per effective date
      - {from: 2022-01-01, value: 70, source: 003_b5d4c3d7e49b1282.txt}
      - {from: 2023-01-01, value: 72, assumed: "illustrative 2023 rise"}

A leaf's value may itself be a table (ratios by place and level, a list of bands): the
leaf's source covers the whole table. Strings and flags (labels, code lists, options)
need no source. A number outside a leaf is an error. Loading resolves and validates
the policy on every date where some value changes, so a pack that loads is valid on
every day it covers.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from yibao.core.errors import InputError, InputErrors
from yibao.policy.schema import DeclaredCategory, Policy

PACKS_DIR = Path(__file__).parent / "packs"
_LEAF_KEYS = {"value", "source", "assumed", "from"}


@dataclass(frozen=True)
class LeafValue:
    """One dated value of a parameter and where it comes from."""

    start: date
    value: Any
    source: str | None
    assumed: str | None

    @property
    def provenance(self) -> str:
        return self.source if self.source is not None else f"assumed: {self.assumed}"


@dataclass(frozen=True)
class Leaf:
    path: tuple[str, ...]
    values: tuple[LeafValue, ...]  # ascending by start

    def at(self, day: date) -> LeafValue | None:
        found = None
        for v in self.values:
            if v.start <= day:
                found = v
        return found


@dataclass
class PolicyPack:
    """A loaded pack: header, the leaves, and the policy resolved on each change date."""

    pack_id: str
    title_zh: str
    title_en: str
    region: str
    admdvs: str
    valid_from: date
    valid_to: date | None
    file: str
    tree: dict[str, Any]
    leaves: dict[tuple[str, ...], Leaf]
    notes: str = ""
    _starts: list[date] = field(default_factory=list)
    _resolved: list[Policy] = field(default_factory=list)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def at(self, day: date) -> Policy:
        """The policy in force on ``day``."""
        if not self.covers(day):
            end = self.valid_to.isoformat() if self.valid_to else "open"
            raise InputError(
                f"policy pack {self.pack_id}",
                "date",
                day.isoformat(),
                f"a date the pack covers ({self.valid_from.isoformat()} .. {end})",
            )
        return self._resolved[bisect.bisect_right(self._starts, day) - 1]

    def change_dates(self) -> list[date]:
        return list(self._starts)

    def schemes(self) -> frozenset[str]:
        """The schemes (``insutype``: 390 residents, 310 employees) the pack has benefit lines for on any of its dates;
        people of another scheme are not covered by it (a residents-only pack has no employee fund)."""
        return frozenset(line.insutype for policy in self._resolved for line in policy.lines.values())

    def provenance(self, path: tuple[str, ...], day: date) -> LeafValue | None:
        leaf = self.leaves.get(path)
        return leaf.at(day) if leaf else None


def _where(file: str, path: tuple[str, ...]) -> str:
    return f"{file} · policy.{'.'.join(path)}" if path else file


def _parse_date(raw: Any, file: str, key: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InputError(file, key, raw, "a date written YYYY-MM-DD") from None


def _leaf_entry(raw: dict[str, Any], default_start: date, file: str, path: tuple[str, ...]) -> LeafValue:
    key = "policy." + ".".join(path)
    unknown = set(raw) - _LEAF_KEYS
    if unknown:
        raise InputError(file, key, sorted(unknown), f"only the keys {sorted(_LEAF_KEYS)} in a value")
    source, assumed = raw.get("source"), raw.get("assumed")
    if (source is None) == (assumed is None):
        raise InputError(
            file, key, raw.get("value"), "exactly one of `source: <seed file or public document>` or `assumed: <reason>`"
        )
    text = source if source is not None else assumed
    if not isinstance(text, str) or not text.strip():
        raise InputError(file, key + (".source" if source is not None else ".assumed"), text, "a non-empty text")
    start = _parse_date(raw["from"], file, key + ".from") if "from" in raw else default_start
    return LeafValue(start, raw["value"], source, assumed)


def is_leaf(node: Any) -> bool:
    if isinstance(node, dict):
        return "value" in node
    if isinstance(node, list) and node:
        return all(isinstance(i, dict) and "value" in i and "from" in i for i in node)
    return False


CODE_KEYS = {
    "insutype",
    "insutypes",
    "med_types",
    "diseases",
    "major_diseases",
    "full_pay_items",
    "fully_selfpaid_items",
    "label_zh",
    "label_en",
    "resident_tier",
}
"""Keys whose values are codes or labels: a numeric-looking text there ("390", "21", a tier 2) is not an amount."""


def _looks_numeric(text: str) -> bool:
    try:
        float(text.strip().rstrip("%").replace(",", ""))
    except ValueError:
        return False
    return True


def _has_number(node: Any, key: str = "") -> bool:
    if isinstance(node, bool):
        return False
    if isinstance(node, int | float):
        return key not in CODE_KEYS
    if isinstance(node, str):
        return key not in CODE_KEYS and _looks_numeric(node)
    if isinstance(node, dict):
        return any(_has_number(v, str(k)) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_number(v, key) for v in node)
    return False


def _collect_leaves(node: Any, path: tuple[str, ...], default_start: date, file: str, out: dict[tuple[str, ...], Leaf]) -> None:
    if is_leaf(node):
        entries = node if isinstance(node, list) else [node]
        values = tuple(_leaf_entry(e, default_start, file, path) for e in entries)
        starts = [v.start for v in values]
        if starts != sorted(set(starts)):
            raise InputError(file, "policy." + ".".join(path), [s.isoformat() for s in starts], "`from` dates rising strictly")
        out[path] = Leaf(path, values)
        return
    if isinstance(node, dict):
        for k, v in node.items():
            _collect_leaves(v, (*path, str(k)), default_start, file, out)
        return
    if _has_number(node, path[-1] if path else ""):
        raise InputError(
            file,
            "policy." + ".".join(path),
            node,
            "every number inside a value with its source: {value: ..., source: ...} or {value: ..., assumed: ...}",
        )


def _resolve_tree(node: Any, path: tuple[str, ...], leaves: dict[tuple[str, ...], Leaf], day: date) -> Any:
    if path in leaves:
        got = leaves[path].at(day)
        return _MISSING if got is None else copy.deepcopy(got.value)
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            r = _resolve_tree(v, (*path, str(k)), leaves, day)
            if r is not _MISSING:
                out[k] = r
        return out
    return copy.deepcopy(node)


_MISSING = object()


def _leaf_prefix(loc: tuple[Any, ...], leaves: dict[tuple[str, ...], Leaf]) -> int:
    for n in range(len(loc), 0, -1):
        if tuple(str(p) for p in loc[:n]) in leaves:
            return n
    return 0


def _validation_errors(exc: ValidationError, pack: PolicyPack, day: date) -> InputErrors:
    errors: list[InputError] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        n = _leaf_prefix(loc, pack.leaves)
        if n:
            leaf = pack.leaves[tuple(str(p) for p in loc[:n])]
            entry = leaf.at(day)
            dated = f"[from {entry.start.isoformat()}]" if entry and len(leaf.values) > 1 else ""
            rest = "".join(f".{p}" for p in loc[n:])
            key = "policy." + ".".join(str(p) for p in loc[:n]) + dated + ".value" + rest
        else:
            key = "policy." + ".".join(str(p) for p in loc) if loc else "policy"
        msg = str(err["msg"]).removeprefix("Value error, ")
        leaf_key = key.split(".value")[0] if n else key
        if any(e.field.split(".value")[0] == leaf_key and e.value == err.get("input") and msg in e.expected for e in errors):
            continue  # one scalar spread over a table fails once, not once per cell
        errors.append(InputError(pack.file, key, err.get("input"), f"{msg} (values in force on {day.isoformat()})"))
    return InputErrors(errors)


def pack_from_mapping(raw: Any, file: str) -> PolicyPack:
    """Build and validate a pack from parsed YAML; raises :class:`InputErrors`."""
    if not isinstance(raw, dict):
        raise InputErrors([InputError(file, "(top level)", type(raw).__name__, "a mapping with pack, valid_from and policy")])
    try:
        for key in ("pack", "valid_from", "policy"):
            if key not in raw:
                raise InputError(file, key, None, "present (every pack has pack, valid_from and policy)")
        allowed = {"pack", "title_zh", "title_en", "region", "admdvs", "valid_from", "valid_to", "policy", "notes"}
        extra = set(raw) - allowed
        if extra:
            raise InputError(file, "(top level)", sorted(extra), f"only the keys {sorted(allowed)}")
        valid_from = _parse_date(raw["valid_from"], file, "valid_from")
        valid_to = _parse_date(raw["valid_to"], file, "valid_to") if raw.get("valid_to") else None
        if valid_to is not None and valid_to < valid_from:
            raise InputError(file, "valid_to", valid_to.isoformat(), f"on or after valid_from {valid_from.isoformat()}")
        tree = raw["policy"]
        if not isinstance(tree, dict):
            raise InputError(file, "policy", type(tree).__name__, "a mapping shaped like the Policy schema")
        leaves: dict[tuple[str, ...], Leaf] = {}
        _collect_leaves(tree, (), valid_from, file, leaves)
    except InputError as exc:
        raise InputErrors([exc]) from None
    pack = PolicyPack(
        pack_id=str(raw["pack"]),
        title_zh=str(raw.get("title_zh", raw["pack"])),
        title_en=str(raw.get("title_en", raw["pack"])),
        region=str(raw.get("region", "")),
        admdvs=str(raw.get("admdvs", "")),
        valid_from=valid_from,
        valid_to=valid_to,
        file=file,
        tree=tree,
        leaves=leaves,
        notes=str(raw.get("notes", "")),
    )
    _resolve_all(pack)
    return pack


def _resolve_all(pack: PolicyPack) -> None:
    starts = {pack.valid_from}
    for leaf in pack.leaves.values():
        for v in leaf.values:
            if v.start > pack.valid_from and (pack.valid_to is None or v.start <= pack.valid_to):
                starts.add(v.start)
    pack._starts = sorted(starts)
    pack._resolved = []
    for day in pack._starts:
        resolved = _resolve_tree(pack.tree, (), pack.leaves, day)
        try:
            pack._resolved.append(Policy.model_validate(resolved))
        except ValidationError as exc:
            raise _validation_errors(exc, pack, day) from None


def load_pack(path_or_name: str | Path) -> PolicyPack:
    """Load a pack from a file path, or a shipped pack by name (its file name without ``.yaml``)."""
    path = Path(path_or_name)
    if not path.exists():
        shipped = PACKS_DIR / f"{path_or_name}.yaml"
        if shipped.exists():
            path = shipped
        else:
            names = ", ".join(shipped_packs())
            raise InputErrors([InputError(str(path_or_name), "pack", str(path_or_name), f"a pack file or one of: {names}")])
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputErrors([InputError(path.name, "(YAML)", str(exc).splitlines()[0], "well-formed YAML")]) from None
    pack = pack_from_mapping(raw, path.name)
    for code, declared in pack.at(pack.valid_from).categories.items():
        _LOADED_CATEGORIES.setdefault(code, declared)
    return pack


_LOADED_CATEGORIES: dict[str, DeclaredCategory] = {}
"""The identity categories declared by the packs loaded from files in this process (the first declaration of
a code wins); :mod:`yibao.policy.categories` adds the shipped packs and the configured one."""


def loaded_categories() -> dict[str, DeclaredCategory]:
    """The categories the pack files loaded so far declare, by code."""
    return dict(_LOADED_CATEGORIES)


def shipped_packs() -> list[str]:
    """The shipped packs' names; ``<pack>.cases.yaml`` beside a pack holds its worked cases, not a pack."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml") if not p.name.endswith(".cases.yaml"))


def policy_dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
