"""What-if for the window: a reform from a few edited parameters (or an example overlay), run on a cached
synthetic county with the batch engine and compared with the pack as it is (:func:`yibao.whatif.scenario.compare`).

Counties are generated once per (persons, year, seed) and the baseline settled once per pack, under
:data:`ROOT`; the full report (:func:`yibao.whatif.report.render_html`) is kept for :data:`KEEP` seconds.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

import yibao
from yibao import synth
from yibao.core.money import percent_to_bp, yuan_to_fen
from yibao.policy.overlay import Overlay, load_overlay
from yibao.policy.pack import PolicyPack
from yibao.settlement.batch.io import not_covered_text, read_table, run_batch
from yibao.settlement.batch.result import read_result, ytd_path
from yibao.whatif.report import render_html
from yibao.whatif.scenario import Comparison, compare, covered_people, settings_for

ROOT = Path(tempfile.gettempdir()) / "yibao-web-whatif"
EXAMPLES = Path(yibao.__file__).resolve().parents[2] / "examples"
"""The example overlays of a source checkout (``examples/*.yaml``)."""
KEEP = 12 * 3600
REPORT = re.compile(r"^[0-9a-f]{24}$")
_lock = threading.Lock()


@dataclass(frozen=True)
class Knob:
    """A parameter the what-if form offers: ``path`` names the leaf, ``keys`` a cell of its table."""

    name: str
    path: str
    keys: tuple[Any, ...]
    zh: str
    en: str
    unit: str
    """"yuan" or "percent"."""


KNOBS: tuple[Knob, ...] = (
    Knob("ci_deductible", "critical_illness.deductible", (), "大病保险起付线", "critical-illness deductible", "yuan"),
    Knob("ci_cap", "critical_illness.cap", (), "大病保险年度封顶线", "critical-illness annual cap", "yuan"),
    Knob(
        "inp_ratio_1",
        "lines.inpatient.ratio",
        ("in_county", 1),
        "住院报销比例·县域内一级",
        "inpatient ratio, in county, level 1",
        "percent",
    ),
    Knob(
        "inp_ratio_2",
        "lines.inpatient.ratio",
        ("in_county", 2),
        "住院报销比例·县域内二级",
        "inpatient ratio, in county, level 2",
        "percent",
    ),
    Knob(
        "inp_ratio_3",
        "lines.inpatient.ratio",
        ("in_county", 3),
        "住院报销比例·县域内三级",
        "inpatient ratio, in county, level 3",
        "percent",
    ),
    Knob(
        "maf_jiance_ratio",
        "assistance.categories.jiance.ratio",
        (),
        "监测人口医疗救助比例",
        "assistance ratio, monitored",
        "percent",
    ),
    Knob("maf_limit", "assistance.limit", (), "医疗救助年度限额", "assistance annual limit", "yuan"),
)


def _cell(value: Any, keys: tuple[Any, ...]) -> Any:
    for k in keys:
        if not isinstance(value, dict):
            return value  # a scalar stands for every place or level
        value = value.get(k)
    return value


def current(pack: PolicyPack, knob: Knob) -> str | None:
    """The knob's value in the pack on its first day, as typed in a form (``None``: the pack has no such parameter)."""
    leaf = pack.leaves.get(tuple(knob.path.split(".")))
    v = leaf.at(pack.valid_from) if leaf else None
    cell = _cell(v.value, knob.keys) if v else None
    return None if cell is None or isinstance(cell, dict | list) else str(cell)


def offered(pack: PolicyPack) -> list[tuple[Knob, str]]:
    return [(k, v) for k in KNOBS if (v := current(pack, k)) is not None]


def _number(text: str, knob: Knob) -> int | str:
    """The typed value as the pack writes it; ``ValueError`` with the reason when it is not one."""
    if knob.unit == "yuan":
        if yuan_to_fen(text) < 0:
            raise ValueError("negative")
    elif not 0 <= percent_to_bp(text) <= 10_000:
        raise ValueError("out of range")
    d = Decimal(text.strip().rstrip("%").replace(",", ""))
    return int(d) if d == d.to_integral_value() else str(d)


def overlay_from_form(pack: PolicyPack, typed: dict[str, str], user: str) -> tuple[Overlay | None, dict[str, str]]:
    """An overlay of the edited knobs, or the fields in error (field -> ``"yuan"``/``"percent"``)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    titles: list[tuple[str, str]] = []
    for knob, was in offered(pack):
        text = typed.get(knob.name, "").strip()
        if not text or text == was:
            continue
        try:
            value = _number(text, knob)
        except (ValueError, ArithmeticError):
            errors[knob.name] = knob.unit
            continue
        leaf = pack.leaves[tuple(knob.path.split("."))].at(pack.valid_from)
        assert leaf is not None
        if knob.keys:
            table = changes.get(knob.path, {}).get("value") or copy.deepcopy(leaf.value)
            _set(table, knob.keys, value)
            value = table
        changes[knob.path] = {"value": value, "assumed": f"what-if in the web window ({user})"}
        titles.append((f"{knob.zh} {was}→{text}", f"{knob.en} {was}→{text}"))
    if errors or not changes:
        return None, errors
    return Overlay(f"web-{user}", "；".join(zh for zh, _ in titles), "; ".join(en for _, en in titles), changes), {}


def _set(table: Any, keys: tuple[Any, ...], value: Any) -> None:
    node = table
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):  # a scalar for every level: spelt out so one level can change
            node[k] = {lv: node.get(k) for lv in (1, 2, 3)}
        node = node[k]
    node[keys[-1]] = value


def examples() -> dict[str, Overlay]:
    """The example overlays shipped with a source checkout, by file stem."""
    if not EXAMPLES.is_dir():
        return {}
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if "overlay:" in path.read_text(encoding="utf-8"):
            found[path.stem] = load_overlay(path)
    return found


def county(persons: int, year: int, seed: int) -> Path:
    """The synthetic county's directory, generated on first use."""
    out = ROOT / f"county-{persons}-{year}-{seed}"
    with _lock:
        if not (out / "manifest.json").is_file():
            tmp = ROOT / f".county-{secrets.token_hex(6)}"
            synth.write(synth.generate(persons, year, seed), tmp)
            shutil.rmtree(out, ignore_errors=True)
            tmp.rename(out)
    return out


def _settle(pack: PolicyPack, data: Path, out: Path) -> tuple[pl.DataFrame, dict[str, tuple[int, int]]]:
    """The county settled under ``pack`` (cached at ``out``), and what the pack does not cover (kept beside it)."""
    left_out = out.with_name(out.stem + ".not_covered.json")
    if not out.is_file():
        tmp = out.with_name(f".{secrets.token_hex(6)}.parquet")
        run = run_batch(pack, data, tmp)
        ytd_path(tmp).unlink(missing_ok=True)
        left_out.write_text(json.dumps(run.not_covered), encoding="utf-8")
        tmp.replace(out)
    counts = json.loads(left_out.read_text(encoding="utf-8")) if left_out.is_file() else {}
    return read_result(out), {k: (int(v[0]), int(v[1])) for k, v in counts.items()}


@dataclass
class Outcome:
    cmp: Comparison
    claims: int
    seconds: float
    report: str
    """Token of the full HTML report (``/whatif/report/<token>``)."""
    not_covered: str = ""
    """Whom the pack does not cover and whose claims were left out (a residents-only pack), said in the page's language."""


def run(base: PolicyPack, reform: PolicyPack, persons: int, seed: int, lang: str) -> Outcome:
    """Settle the county under both policies and compare; the baseline is settled once per pack and county."""
    started = time.perf_counter()
    _sweep()
    year = base.valid_from.year
    data = county(persons, year, seed)
    b, left_out = _settle(base, data, data / f"base-{base.pack_id}.parquet")
    reform_out = data / f".reform-{secrets.token_hex(6)}.parquet"
    try:
        r, _ = _settle(reform, data, reform_out)
    finally:
        reform_out.unlink(missing_ok=True)
        reform_out.with_name(reform_out.stem + ".not_covered.json").unlink(missing_ok=True)
    # a residents-only pack settles the residents: the engine leaves the claims of people of a scheme the pack does
    # not cover out (as `yibao batch`, `compare` and `report --batch` do), and the comparison counts its own people
    cmp = compare(b, r, covered_people(read_table(data / "people.parquet"), base), settings_for(base))
    token = secrets.token_hex(12)
    meta = {
        "base_title": base.title_zh if lang == "zh" else base.title_en,
        "reform_title": reform.title_zh if lang == "zh" else reform.title_en,
        "data_dir": f"synth {persons:,} / {year} / seed {seed}",
        "claims": f"{b.height:,}",
    }
    (ROOT / "reports").mkdir(parents=True, exist_ok=True)
    report_path(token).write_text(render_html(cmp, lang, meta), encoding="utf-8")
    said = not_covered_text(left_out, base.pack_id, lang)
    return Outcome(cmp, b.height, round(time.perf_counter() - started, 1), token, said)


def report_path(token: str) -> Path:
    return ROOT / "reports" / f"{token}.html"


def _sweep() -> None:
    reports = ROOT / "reports"
    if reports.is_dir():
        cutoff = time.time() - KEEP
        for f in reports.glob("*.html"):
            if f.stat().st_mtime < cutoff:
                f.unlink(missing_ok=True)
