"""``yibao policy calibrate``: fit a pack's assumed parameters on a synthetic county to named outcomes.

The county (``yibao synth … --out DIR``) is read once and settled with the batch engine for every
trial pack; the outcomes are :mod:`yibao.reports.outcomes`; the fit and the rewriting of the pack's
YAML are :mod:`yibao.policy.calibrate`. A residents-only pack settles the county's residents only
(its employees have no benefit line in it), as the what-if does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from yibao.core.errors import InputError, InputErrors
from yibao.policy.calibrate import RATIO_CEILING, Bound, Fit, Path_, Target, check_knob, fit, leaf_kind, write_back
from yibao.policy.pack import PACKS_DIR, PolicyPack, load_pack
from yibao.reports.outcomes import OUTCOMES, Outcome, outcome_ratio, resident_lines
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.io import read_input
from yibao.settlement.batch.prepare import BatchInput

WHERE = "command line"
_BEFORE = "; before calibration: "


def pack_path(name: str) -> Path:
    """The pack's YAML file: a path, or a shipped pack's name."""
    path = Path(name)
    return path if path.exists() else PACKS_DIR / f"{name}.yaml"


def county_input(directory: Path, pack: PolicyPack) -> BatchInput:
    """The county's tables; only its residents when the pack has no employee (310) line."""
    data = read_input(directory)
    schemes = {line.insutype for day in pack.change_dates() for line in pack.at(day).lines.values()}
    if "310" in schemes:
        return data
    keep = data.people.filter(pl.col("insutype") == "390")["psn_no"].implode()
    frames = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    return BatchInput(**{k: (v.filter(pl.col("psn_no").is_in(keep)) if "psn_no" in v.columns else v) for k, v in frames.items()})


def county_label(directory: Path) -> str:
    """The county folder with how it was drawn (from its manifest)."""
    try:
        m = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        return f"{directory.name} (yibao synth --persons {m['persons']} --year {m['year']} --seed {m['seed']})"
    except (OSError, ValueError, KeyError):
        return directory.name


def outcomes_on(pack: PolicyPack, data: BatchInput, names: Sequence[str]) -> dict[str, float | None]:
    """Each named outcome (percent, unrounded) of ``pack`` settled on ``data``."""
    result = settle_batch(pack, data)
    policy = pack.at(pack.valid_from)
    return {n: outcome_ratio(OUTCOMES[n], result.claims, policy, result.year_to_date).percent for n in names}


def default_knobs(pack: PolicyPack, outcome: Outcome) -> tuple[Path_, ...]:
    """The assumed leaves a target moves unless told: the counted lines' ratios (a line whose ratio is
    sourced: its cap), or the critical-illness bands."""
    if outcome.knob == "ci_bands":
        candidates: list[Path_] = [("critical_illness", "bands")]
    else:
        policy = pack.at(pack.valid_from)
        candidates = []
        for line in resident_lines(policy, outcome.med_types):
            ratio = ("lines", line, "ratio")
            candidates.append(ratio if _assumed(pack, ratio) else ("lines", line, "cap"))
    return tuple(p for p in candidates if _assumed(pack, p))


def default_fallback(pack: PolicyPack, outcome: Outcome, knobs: Sequence[Path_]) -> tuple[Path_, ...]:
    """What a target moves when its knobs at their bounds cannot reach it: the counted lines' assumed
    deductibles (down) and caps (up) that are not knobs already (none for the critical-illness bands)."""
    if outcome.knob == "ci_bands":
        return ()
    policy = pack.at(pack.valid_from)
    paths = [("lines", line, leaf) for line in resident_lines(policy, outcome.med_types) for leaf in ("deductible", "cap")]
    return tuple(p for p in paths if p not in knobs and _assumed(pack, p))


def _assumed(pack: PolicyPack, path: Path_) -> bool:
    leaf = pack.leaves.get(path)
    return leaf is not None and len(leaf.values) == 1 and leaf.values[0].source is None


@dataclass
class Calibration:
    pack: PolicyPack
    file: Path
    county: str
    fit: Fit
    text: str
    """The pack's YAML with the fitted leaves rewritten."""


def calibrate(
    pack_name: str,
    targets: Mapping[str, float],
    county: Path,
    vary: Mapping[str, Sequence[Path_]] | None = None,
    bounds: Mapping[Path_, Bound] | None = None,
) -> Calibration:
    """Fit; nothing is written (the caller writes :attr:`Calibration.text`). ``bounds``: a parameter's lowest and
    highest value (percent or yuan) where not the default (ratios at most :data:`RATIO_CEILING`)."""
    pack = load_pack(pack_name)
    file = pack_path(pack_name)
    errors: list[InputError] = []
    chosen: list[Target] = []
    for name, value in targets.items():
        knobs = tuple((vary or {}).get(name) or default_knobs(pack, OUTCOMES[name]))
        for k in knobs:
            try:
                check_knob(pack, k, WHERE)
            except InputError as exc:
                errors.append(exc)
        if not knobs:
            errors.append(
                InputError(
                    WHERE,
                    "--vary",
                    name,
                    f"assumed parameters for target {name} (--vary {name}=PARAMETER)",
                    expected_zh=f"目标 {name} 可调整的假设参数（--vary {name}=参数）",
                )
            )
        taken = {k for t in chosen for k in (*t.knobs, *t.fallback)} | set(knobs)
        fallback = () if (vary or {}).get(name) else default_fallback(pack, OUTCOMES[name], tuple(taken))
        chosen.append(Target(name, value, knobs, fallback))
    for path in bounds or {}:
        try:
            check_knob(pack, path, WHERE)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    data = county_input(county, pack)
    label = county_label(county)
    result = fit(pack, chosen, lambda p: outcomes_on(p, data, list(targets)), bounds=bounds)
    changes = {}
    for f in result.fits:
        for k in (k for k in (*f.target.knobs, *f.target.fallback) if k in result.changes):
            old = pack.leaves[k].values[0].assumed or ""
            first = old.split(_BEFORE, 1)[1] if _BEFORE in old else old
            res = 0.0 if f.residual is None or abs(f.residual) < 0.005 else f.residual
            note = (
                f"calibrated to {f.target.name} = {f.target.value:.2f}% on {label}{_bound_note(k, bounds)}: "
                + (f"achieved {f.achieved:.2f}%, residual {res:+.2f} points" if f.achieved is not None else "no outcome")
                + _BEFORE
                + first
            )
            changes[k] = (result.changes[k], note)
    text = write_back(file.read_text(encoding="utf-8"), changes)
    return Calibration(pack, file, label, result, text)


def _bound_note(path: Path_, bounds: Mapping[Path_, Bound] | None) -> str:
    """How the parameter was bounded, for its ``assumed`` note."""
    lo, hi = (bounds or {}).get(path, (None, None))
    if lo is None and hi is None:
        return f", ratios at most {RATIO_CEILING:g}%" if leaf_kind(path) == "ratio" else ""
    unit = "%" if leaf_kind(path) == "ratio" else " yuan"
    return f", bounded {'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}{unit}"
