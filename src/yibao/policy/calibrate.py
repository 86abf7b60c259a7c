"""Calibration: fit a pack's *assumed* parameters so that named outcomes come out as published.

Pure: what an outcome is and how a county is settled are the caller's (``evaluate``, see
:mod:`yibao.app.calibrate`). Here:

- a **knob** is one assumed leaf of the pack (never a sourced one: :func:`check_knob` refuses it); a
  target moves its knobs together by one scale ``s`` (every ratio in the leaf times ``s``, rounded to
  0.01 point and kept within 0..100 — so a table falling with hospital level still falls; a band's
  start is kept; an amount times ``s``, rounded to the yuan);
- :func:`fit` finds each target's scale by a bracketed secant (Illinois) search, one target at a time
  with the others held, repeated until every target is within ``tol`` points (targets interact: the
  later tiers pay on what the earlier left);
- :func:`write_back` rewrites exactly the fitted leaves' lines of the pack's YAML text (comments and
  layout elsewhere kept) as ``{value: …, assumed: "calibrated to …"}``, and checks that the file
  still parses to the same pack with only those leaves changed.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import yaml

from yibao.core.errors import InputError, InputErrors
from yibao.policy.overlay import Overlay, apply_overlay
from yibao.policy.pack import PolicyPack

Path_ = tuple[str, ...]
RATIO_LEAVES = {"ratio", "bands"}
AMOUNT_LEAVES = {"cap", "limit", "cap_by_tier"}
DOWN_LEAVES = {"deductible", "deductible_2nd", "deductible_3rd", "threshold"}
"""Amounts a payer pays less the higher they are: divided by the scale, so every outcome still rises with it."""
TOL_POINTS = 0.05
"""A target is fitted when the outcome is within this many percentage points."""
RATIO_CEILING = 95.0
"""An assumed ratio is calibrated to at most this many percent unless a ``--bound`` says otherwise: no published
county pays 100% of residents' care in general."""
_CENT = Decimal("0.01")

Bound = tuple[float | None, float | None]
"""A knob's lowest and highest value (percent for ratios, yuan for amounts; ``None``: open)."""


def leaf_kind(path: Path_) -> str | None:
    """``ratio``, ``amount``, ``amount_down`` (a deductible or threshold) or None (a leaf calibration cannot scale)."""
    if path[-1] in RATIO_LEAVES:
        return "ratio"
    if path[-1] in AMOUNT_LEAVES:
        return "amount"
    if path[-1] in DOWN_LEAVES:
        return "amount_down"
    return None


def default_bound(path: Path_) -> Bound:
    """Ratios 0..:data:`RATIO_CEILING`, amounts from 0."""
    return (0.0, RATIO_CEILING) if leaf_kind(path) == "ratio" else (0.0, None)


def check_knob(pack: PolicyPack, path: Path_, where: str) -> None:
    """Refuse a leaf calibration may not move: unknown, sourced, dated, or not a ratio or amount."""
    dotted = ".".join(path)
    leaf = pack.leaves.get(path)
    if leaf is None:
        raise InputError(
            where,
            "parameter",
            dotted,
            f"a parameter of pack {pack.pack_id} (as `yibao policy show` lists them)",
            expected_zh=f"政策包 {pack.pack_id} 中的参数",
        )
    if any(v.source is not None for v in leaf.values):
        raise InputError(
            where,
            "parameter",
            dotted,
            "an assumed parameter: this one has a source and is never calibrated",
            expected_zh="假设的参数：该参数有来源，不做校准",
        )
    if len(leaf.values) != 1:
        expected = "a parameter with one value (not dated)"
        raise InputError(where, "parameter", dotted, expected, expected_zh="只有一个取值（不分时段）的参数")
    if leaf_kind(path) is None:
        kinds = ", ".join(sorted(RATIO_LEAVES | AMOUNT_LEAVES | DOWN_LEAVES))
        raise InputError(
            where, "parameter", dotted, f"a ratio or amount parameter ({kinds})", expected_zh=f"比例或金额参数（{kinds}）"
        )


def _num(x: Decimal) -> int | float:
    return int(x) if x == x.to_integral_value() else float(x)


def scale_value(value: Any, s: float, kind: str, bound: Bound = (0.0, None)) -> Any:
    """``value`` with each ratio (percent, 0.01 point) or amount (whole yuan) times ``s`` (a deductible or threshold,
    ``amount_down``: divided by ``s``), kept within ``bound``."""
    if isinstance(value, dict):
        if kind == "ratio" and "start" in value:  # a band: its start is an amount, kept
            return {k: (scale_value(v, s, kind, bound) if k == "ratio" else v) for k, v in value.items()}
        return {k: scale_value(v, s, kind, bound) for k, v in value.items()}
    if isinstance(value, list):
        return [scale_value(v, s, kind, bound) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    x = Decimal(str(value)) / Decimal(repr(s)) if kind == "amount_down" else Decimal(str(value)) * Decimal(repr(s))
    x = x.quantize(_CENT if kind == "ratio" else Decimal(1), ROUND_HALF_UP)
    lo, hi = bound
    x = max(Decimal(str(lo or 0)), x)
    if kind == "ratio":
        x = min(Decimal(str(100 if hi is None else hi)), x)
    elif hi is not None:
        x = min(Decimal(str(hi)), x)
    return _num(x)


def _numbers(value: Any, kind: str) -> list[float]:
    if isinstance(value, dict):
        if kind == "ratio" and "start" in value:
            return _numbers(value.get("ratio"), kind)
        return [x for v in value.values() for x in _numbers(v, kind)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v, kind)]
    return [float(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []


def max_scale(pack: PolicyPack, knobs: Sequence[Path_], bounds: Mapping[Path_, Bound] | None = None) -> float:
    """A scale past which nothing more changes for ratios (every one at its ceiling); amounts get x20 (deductibles
    and thresholds /20)."""
    top = 1.0
    for path in knobs:
        kind = leaf_kind(path) or "amount"
        nums = [x for x in _numbers(pack.leaves[path].values[0].value, kind) if x > 0]
        ceiling = (bounds or {}).get(path, default_bound(path))[1] or 100.0
        top = max(top, ceiling / min(nums) if kind == "ratio" and nums else 20.0)
    return top


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    """Percent."""
    knobs: tuple[Path_, ...]
    fallback: tuple[Path_, ...] = ()
    """Assumed parameters moved (by a second scale) when the knobs at their bounds cannot reach the target:
    deductibles (down) and caps (up) of the counted lines."""


@dataclass
class TargetFit:
    target: Target
    before: float | None
    achieved: float | None
    scale: float
    evaluations: int = 0

    @property
    def residual(self) -> float | None:
        return None if self.achieved is None else self.achieved - self.target.value


@dataclass
class Fit:
    pack: PolicyPack
    fits: list[TargetFit]
    changes: dict[Path_, Any] = field(default_factory=dict)
    """Each moved leaf's new value (as the pack writes it)."""

    @property
    def ok(self) -> bool:
        return all(f.residual is not None and abs(f.residual) <= TOL_POINTS for f in self.fits)


Evaluate = Callable[[PolicyPack], Mapping[str, float | None]]


def scaled_pack(
    pack: PolicyPack, scales: Mapping[Path_, float], label: str = "calibration", bounds: Mapping[Path_, Bound] | None = None
) -> tuple[PolicyPack, dict[Path_, Any]]:
    """``pack`` with each knob's value scaled within its bound (:func:`default_bound` unless given); the new values."""
    values = {
        p: scale_value(pack.leaves[p].values[0].value, s, leaf_kind(p) or "amount", (bounds or {}).get(p, default_bound(p)))
        for p, s in scales.items()
    }
    changes = {".".join(p): {"value": v, "assumed": label} for p, v in values.items()}
    return apply_overlay(pack, Overlay(label, label, label, changes)), values


def fit(
    pack: PolicyPack, targets: Sequence[Target], evaluate: Evaluate, *, sweeps: int = 6, tol: float = TOL_POINTS,
    bounds: Mapping[Path_, Bound] | None = None,
) -> Fit:  # fmt: skip
    """Fit each target's scale, the others held, until every target is within ``tol`` points; a target its knobs
    cannot reach within their bounds moves its ``fallback`` parameters by a second scale."""
    seen: dict[Path_, str] = {}
    for t in targets:
        for k in (*t.knobs, *t.fallback):
            if k in seen:
                raise InputErrors(
                    [
                        InputError(
                            "校准 / calibration",
                            "parameter",
                            ".".join(k),
                            f"a parameter moved by one target only (also {seen[k]})",
                            expected_zh=f"只由一个目标调整的参数（已由 {seen[k]} 调整）",
                        )
                    ]
                )
            seen[k] = t.name
    scale = {t.name: 1.0 for t in targets} | {_second(t): 1.0 for t in targets}

    def knob_scales() -> dict[Path_, float]:
        return {k: scale[t.name] for t in targets for k in t.knobs} | {k: scale[_second(t)] for t in targets for k in t.fallback}

    def run() -> Mapping[str, float | None]:
        try:
            trial = scaled_pack(pack, knob_scales(), bounds=bounds)[0]
        except InputErrors:  # a scale the pack refuses (e.g. a ratio its schema bounds): no outcome there
            return {}
        return evaluate(trial)

    before = run()
    fits = [TargetFit(t, before.get(t.name), before.get(t.name), 1.0) for t in targets]
    current: Mapping[str, float | None] = before
    for _ in range(sweeps):
        if all(_close(current.get(f.target.name), f.target.value, tol) for f in fits):
            break
        for f in fits:
            t = f.target
            if _close(current.get(t.name), t.value, tol):
                continue
            current = _solve(t, t.name, scale, run, current, max_scale(pack, t.knobs, bounds), f, tol)
            if t.fallback and not _close(current.get(t.name), t.value, tol):
                held = current
                current = _solve(t, _second(t), scale, run, current, max_scale(pack, t.fallback, bounds), f, tol)
                if _gap(current, t) > _gap(held, t) - tol:  # the fallback does not help (e.g. no deductible): leave it
                    scale[_second(t)], current = 1.0, held
    for f in fits:
        f.achieved, f.scale = current.get(f.target.name), scale[f.target.name]
    final, values = scaled_pack(pack, knob_scales(), bounds=bounds)
    moved = {k: v for k, v in values.items() if v != pack.leaves[k].values[0].value or k in {p for t in targets for p in t.knobs}}
    return Fit(final, fits, moved)


def _gap(outcomes: Mapping[str, float | None], t: Target) -> float:
    got = outcomes.get(t.name)
    return math.inf if got is None else abs(got - t.value)


def _second(t: Target) -> str:
    """The key of a target's second scale (its fallback parameters)."""
    return f"{t.name} (fallback)"


def _close(got: float | None, want: float, tol: float) -> bool:
    return got is not None and abs(got - want) <= tol


def _solve(
    t: Target,
    key: str,
    scale: dict[str, float],
    run: Callable[[], Mapping[str, float | None]],
    current: Mapping[str, float | None],
    hi_s: float,
    f: TargetFit,
    tol: float,
) -> Mapping[str, float | None]:
    """Illinois (bracketed secant) on this target's scale ``key``; the outcome rises with the scale."""

    def at(s: float) -> tuple[float, Mapping[str, float | None]]:
        scale[key] = s
        f.evaluations += 1
        out = run()
        got = out.get(t.name)
        return (float("nan") if got is None else got - t.value), out

    s0 = scale[key]
    g0 = (current.get(t.name) or 0.0) - t.value
    if g0 < 0:
        lo, glo, out_lo = s0, g0, current
        hi = hi_s
        ghi, out_hi = at(hi)
    else:
        hi, ghi, out_hi = s0, g0, current
        lo = 0.05
        glo, out_lo = at(lo)
    if math.isnan(glo) or math.isnan(ghi):  # the pack refuses an end of the range: keep where it was
        scale[key] = s0
        return current
    if not (glo <= 0 <= ghi):  # unreachable within the knobs' range: keep the closer end
        best = (lo, out_lo) if abs(glo) < abs(ghi) else (hi, out_hi)
        scale[key] = best[0]
        return best[1]
    side = 0
    best_s, best_g, best_out = (lo, glo, out_lo) if abs(glo) < abs(ghi) else (hi, ghi, out_hi)
    for _ in range(40):
        if abs(best_g) <= tol / 5 or hi - lo < 1e-6:
            break
        s = (lo * ghi - hi * glo) / (ghi - glo) if ghi != glo else (lo + hi) / 2
        if not lo < s < hi:
            s = (lo + hi) / 2
        g, out = at(s)
        if abs(g) < abs(best_g):
            best_s, best_g, best_out = s, g, out
        if g < 0:
            lo, glo = s, g
            if side == -1:
                ghi /= 2
            side = -1
        else:
            hi, ghi = s, g
            if side == 1:
                glo /= 2
            side = 1
    scale[key] = best_s
    return best_out


# ---------------------------------------------------------------------------------------------
# Writing the fitted values back into the pack's YAML text
# ---------------------------------------------------------------------------------------------

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):(?P<rest>.*)$")


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number_text(value)
    return json.dumps(str(value), ensure_ascii=False)


def _number_text(x: int | float) -> str:
    d = Decimal(repr(x)).normalize()
    return format(d, "f")


def _flow_key(k: Any) -> str:
    return str(k) if isinstance(k, int) or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k)) else json.dumps(str(k))


def _render(indent: str, key: str, value: Any, assumed: str, inline: bool) -> list[str]:
    note = json.dumps(assumed, ensure_ascii=False)
    if inline:
        return [f"{indent}{key}: {{value: {_flow(value)}, assumed: {note}}}"]
    inner = indent + "  "
    lines = [f"{indent}{key}:"]
    if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
        lines.append(f"{inner}value:")
        lines += [f"{inner}  {_flow_key(k)}: {_flow(v)}" for k, v in value.items()]
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        lines.append(f"{inner}value:")
        lines += [f"{inner}  - {_flow(v)}" for v in value]
    else:
        lines.append(f"{inner}value: {_flow(value)}")
    lines.append(f"{inner}assumed: {note}")
    return lines


def _find_block(lines: list[str], path: Path_) -> tuple[int, int]:
    """Line range [start, end) of the key at ``("policy", *path)``."""
    want = ("policy", *path)
    stack: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        m = _KEY.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        ind = len(m["indent"])
        while stack and stack[-1][0] >= ind:
            stack.pop()
        stack.append((ind, m["key"]))
        if tuple(k for _, k in stack) == want:
            end = i + 1
            while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip(" ")) > ind):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            return i, end
    raise ValueError(f"key {'.'.join(want)} not found in the pack's text")


def write_back(text: str, changes: Mapping[Path_, tuple[Any, str]]) -> str:
    """The pack text with each ``path``'s leaf replaced by ``{value, assumed}``; nothing else changes."""
    lines = text.split("\n")
    for path, (value, assumed) in changes.items():
        start, end = _find_block(lines, path)
        m = _KEY.match(lines[start])
        assert m is not None
        inline = end == start + 1
        lines[start:end] = _render(m["indent"], m["key"], value, assumed, inline)
    out = "\n".join(lines)
    expected = copy.deepcopy(yaml.safe_load(text))
    for path, (value, assumed) in changes.items():
        node = expected["policy"]
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = {"value": value, "assumed": assumed}
    if yaml.safe_load(out) != expected:
        raise ValueError("rewriting the pack's text changed more than the calibrated leaves")
    return out
