"""Reforms as overlays: change dated parameters of a pack, like a PolicyEngine reform.

An overlay file::

    overlay: ci-deductible-down
    title_zh: 大病保险起付线降至1万元
    title_en: critical-illness deductible down to 10,000
    changes:
      critical_illness.deductible: {value: 10000, assumed: "reform under study"}
      assistance.categories.jiance.ratio: {from: 2022-07-01, value: 70, assumed: "from July"}

Each key is a parameter path under ``policy``. A change without ``from`` replaces the
parameter's values; with ``from`` it replaces them from that date on and keeps the earlier
ones. Changes that hold no number (a list of categories, a flag) are written plainly. The
result is validated like any pack.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from yibao.core.errors import InputError, InputErrors
from yibao.policy.pack import PolicyPack, is_leaf, pack_from_mapping


@dataclass(frozen=True)
class Overlay:
    name: str
    title_zh: str
    title_en: str
    changes: dict[str, Any]


def load_overlay(path: Path) -> Overlay:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputErrors([InputError(str(path), "(file)", str(exc).splitlines()[0], "a readable YAML overlay")]) from None
    return overlay_from_mapping(raw, path.name)


def overlay_from_mapping(raw: Any, file: str) -> Overlay:
    if not isinstance(raw, dict) or not isinstance(raw.get("changes"), dict) or not raw["changes"]:
        raise InputErrors([InputError(file, "changes", None if not isinstance(raw, dict) else raw.get("changes"),
                                      "a mapping of parameter paths to new values")])  # fmt: skip
    name = str(raw.get("overlay", Path(file).stem))
    return Overlay(name, str(raw.get("title_zh", name)), str(raw.get("title_en", name)), dict(raw["changes"]))


def _entries(node: Any) -> list[dict[str, Any]]:
    return list(node) if isinstance(node, list) else [node]


def _from(entry: dict[str, Any], default: date) -> date:
    raw = entry.get("from", default)
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw))


def apply_overlay(pack: PolicyPack, overlay: Overlay) -> PolicyPack:
    """A new pack: ``pack`` with the overlay's changes, validated on every date."""
    tree = copy.deepcopy(pack.tree)
    where = f"{overlay.name} (overlay)"
    for path, change in overlay.changes.items():
        keys = str(path).split(".")
        node = tree
        for k in keys[:-1]:
            nxt = node.get(k) if isinstance(node, dict) else None
            if nxt is None:
                nxt = node[k] = {}
            if not isinstance(nxt, dict) or is_leaf(nxt):
                raise InputErrors(
                    [InputError(where, str(path), change, f"a path to a parameter; {k!r} is a value, not a section")]
                )
            node = nxt
        last = keys[-1]
        old = node.get(last)
        if is_leaf(change) and isinstance(change, dict) and "from" in change and is_leaf(old):
            start = _from(change, pack.valid_from)
            kept = [e for e in _entries(old) if _from(e, pack.valid_from) < start]
            for e in kept:
                e.setdefault("from", pack.valid_from.isoformat())
            node[last] = [*kept, change]
        else:
            node[last] = copy.deepcopy(change)
    raw = {
        "pack": f"{pack.pack_id}+{overlay.name}",
        "title_zh": f"{pack.title_zh} + {overlay.title_zh}",
        "title_en": f"{pack.title_en} + {overlay.title_en}",
        "region": pack.region,
        "admdvs": pack.admdvs,
        "valid_from": pack.valid_from.isoformat(),
        "valid_to": pack.valid_to.isoformat() if pack.valid_to else None,
        "notes": pack.notes,
        "policy": tree,
    }
    return pack_from_mapping(raw, f"{pack.file} + {overlay.name}")
