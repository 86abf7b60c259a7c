"""Column mappings for identity imports: which header means which field, per source bureau.

The shipped mappings live in ``mappings.yaml`` beside this module (民政, 乡村振兴, 退役军人, 残联,
卫健); a site adds its own header names and category names with an override file
(``--mapping my.yaml``) instead of editing yibao.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from yibao.core.errors import InputError
from yibao.core.identities import CATEGORIES, ORDINARY
from yibao.policy.categories import known

FIELDS: tuple[str, ...] = ("certno", "psn_name", "category", "valid_from", "valid_to", "county", "township", "village", "hh_no")
"""The fields an identity row can carry, in the order they are checked and reported."""
FIELD_EN: dict[str, str] = {
    "certno": "ID number",
    "psn_name": "name",
    "category": "category",
    "valid_from": "valid from",
    "valid_to": "valid to",
    "county": "county",
    "township": "township",
    "village": "village",
    "hh_no": "household no.",
}

_SPACES = re.compile(r"[\s\u3000\ufeff]+")


def norm_header(text: object) -> str:
    """A header as matched: no spaces anywhere, no leading ``*``, full-width brackets as ASCII, lower case."""
    if text is None:
        return ""
    s = _SPACES.sub("", str(text)).lstrip("*＊").replace("（", "(").replace("）", ")")
    return s.lower()


def norm_value(text: str) -> str:
    """A category value as matched: no spaces, lower case."""
    return _SPACES.sub("", text).lower()


@dataclass(frozen=True)
class Mapping:
    """How one bureau's sheets are read."""

    source: str
    """The bureau, as stored in ``identity.source_bureau`` (e.g. 民政)."""
    columns: dict[str, tuple[str, ...]]
    """Field -> header names, first match wins."""
    required: tuple[str, ...]
    categories: dict[str, str]
    """Normalised category value -> category code (built-in names and aliases included)."""
    allowed: frozenset[str] | None
    """Categories this bureau certifies; ``None`` = any."""
    skip: frozenset[str]
    """Normalised category values that are not identities (rows left out, counted)."""
    field_names: dict[str, str]
    """Field -> its Chinese display name."""

    def category(self, raw: str) -> str | None:
        """The category code for a value from the sheet, or ``None`` if it is unknown."""
        return self.categories.get(norm_value(raw))

    def header_index(self) -> dict[str, str]:
        """Normalised header -> field (earlier fields and names win on a clash)."""
        out: dict[str, str] = {}
        for field in FIELDS:
            for name in self.columns.get(field, ()):
                out.setdefault(norm_header(name), field)
        return out


def _load_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(where, "(YAML)", str(exc)[:200], "a valid YAML mapping file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(where, "(top level)", type(data).__name__, "a mapping (key: value)")
    return data


@cache
def shipped() -> dict[str, Any]:
    text = resources.files("yibao.interfaces.workbooks").joinpath("mappings.yaml").read_text(encoding="utf-8")
    return _load_yaml(text, "mappings.yaml")


def sources(config: dict[str, Any] | None = None) -> dict[str, str]:
    """Every accepted ``--source`` spelling -> the bureau name."""
    config = config or shipped()
    out: dict[str, str] = {}
    for name, spec in (config.get("sources") or {}).items():
        out[norm_value(name)] = name
        for alias in (spec or {}).get("aliases") or ():
            out[norm_value(str(alias))] = name
    return out


def _str_list(value: Any, where: str, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InputError(where, field, value, "a list of names")
    return [str(v) for v in value]


def _check_code(code: Any, where: str, field: str) -> str:
    """A built-in or declared category code (:func:`yibao.policy.categories.known`), not ``ordinary``."""
    codes = [c for c in known() if c != ORDINARY]
    if not isinstance(code, str) or code not in codes:
        raise InputError(where, field, code, f"an identity category code ({', '.join(codes)})")
    return code


def _declared_by(bureau: str, bureaus: set[str]) -> frozenset[str]:
    """The declared categories ``bureau`` may certify: those whose pack names it as their ``bureau``, and those
    whose bureau sends no files (the default 医保): any source may bring them."""
    declared = (k for c, k in known().items() if c not in CATEGORIES)
    return frozenset(k.code for k in declared if k.bureau == bureau or k.bureau not in bureaus)


def _merge_source(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    """Override header names and category names go first; ``allowed``/``skip`` replace."""
    out = {k: v for k, v in base.items()}
    cols = {k: list(v) for k, v in (base.get("columns") or {}).items()}
    for field, names in (over.get("columns") or {}).items():
        if field not in FIELDS:
            raise InputError(where, f"columns.{field}", field, "one of " + ", ".join(FIELDS))
        cols[field] = _str_list(names, where, f"columns.{field}") + cols.get(field, [])
    out["columns"] = cols
    cats = dict(base.get("categories") or {})
    cats.update(over.get("categories") or {})
    out["categories"] = cats
    for key in ("allowed", "skip", "aliases"):
        if key in over:
            out[key] = over[key]
    return out


def load_mapping(source: str, override: Path | str | None = None) -> Mapping:
    """The mapping for ``source`` (a bureau name or alias), with an override file on top."""
    config = shipped()
    names = sources(config)
    over: dict[str, Any] = {}
    where = "mappings.yaml"
    if override is not None:
        where = str(override)
        try:
            text = Path(override).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(where, "(file)", str(override), f"a readable mapping file ({exc.strerror})") from None
        over = _load_yaml(text, where)
        names.update(sources(over))
    bureau = names.get(norm_value(source))
    if bureau is None:
        bureaus = "、".join(sorted(set(names.values())))
        raise InputError("--source", "source", source, f"a source bureau: {bureaus}")
    spec = dict((config.get("sources") or {}).get(bureau) or {})
    defaults = dict(config.get("defaults") or {})
    if over:
        if "defaults" in over:
            defaults = _merge_source(defaults, over["defaults"] or {}, where)
        if bureau in (over.get("sources") or {}):
            spec = _merge_source(spec, over["sources"][bureau] or {}, where)
        top: dict[str, Any] = {k: over[k] for k in ("columns", "categories", "allowed", "skip") if k in over}
        if top:
            spec = _merge_source(spec, top, where)

    columns: dict[str, tuple[str, ...]] = {}
    for field in FIELDS:
        own = _str_list((spec.get("columns") or {}).get(field), where, f"{bureau}.columns.{field}")
        common = _str_list((defaults.get("columns") or {}).get(field), where, f"defaults.columns.{field}")
        columns[field] = tuple(dict.fromkeys(own + common))

    # every bureau's names are known, so a row sent to the wrong bureau says so (see ``allowed``); the
    # categories the installation's packs declare are read by code, label or alias like built-in ones
    categories: dict[str, str] = {}
    shared: set[str] = set()  # a name two packs declare for different categories is read as neither
    for cat in known().values():
        for name in cat.names:
            if categories.setdefault(norm_value(name), cat.code) != cat.code:
                shared.add(norm_value(name))
    categories = {k: v for k, v in categories.items() if k not in shared}
    others = [(o or {}).get("categories") or {} for name, o in (config.get("sources") or {}).items() if name != bureau]
    for table in (*others, defaults.get("categories") or {}, spec.get("categories") or {}):
        for name, code in table.items():
            categories[norm_value(str(name))] = _check_code(code, where, f"categories.{name}")
    categories = {k: v for k, v in categories.items() if v != ORDINARY}
    allowed_raw = spec.get("allowed")
    allowed = (
        None
        if allowed_raw is None
        else frozenset(_check_code(c, where, f"{bureau}.allowed") for c in _str_list(allowed_raw, where, "allowed"))
        | _declared_by(bureau, set(names.values()))
    )
    skip = frozenset(norm_value(s) for s in _str_list(spec.get("skip"), where, f"{bureau}.skip"))
    required = tuple(_str_list(config.get("required"), "mappings.yaml", "required")) or ("certno", "psn_name", "category")
    field_names = {f: str((config.get("fields") or {}).get(f, f)) for f in FIELDS}
    return Mapping(bureau, columns, required, categories, allowed, skip, field_names)
