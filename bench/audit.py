"""Benchmark: the after-settlement audit (事后, columnar) on a synthetic county-year with planted violations.

    .venv/bin/python bench/audit.py                      # 200,000 persons, 1% planted per rule type
    .venv/bin/python bench/audit.py --persons 20000 --rate 0.02

1. Generate a county (:func:`yibao.synth.generate`) and its fee lines with violations of every rule
   type planted at ``--rate`` (:func:`yibao.synth.fee_lines.with_fee_lines`), timed.
2. Audit the whole county in memory with :func:`yibao.audit.engine.audit_frames` (best of ``--repeat``):
   fee lines per second.
3. Per rule: planted, found, matched, recall (planted found), precision (findings that were planted —
   the clean part is clean by construction, so nothing else is true), and the rule's own time.
4. With ``--files``: write the county and run ``yibao audit run --claims`` in a subprocess (read,
   check, audit, write): wall time and peak RSS of that process.

Then the machine, the load average before and after, the peak memory of this process, and a final
``RESULT`` line. Targets: >= 1,000,000 fee lines/s on >= 5,000,000 lines, recall 100%, precision >= 99%.
The counter's side (the audit's cost at settlement) is ``bench/audit_counter.py`` (``--counter`` runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from yibao import synth
from yibao.app.audit_pack import base_pack
from yibao.audit.columnar import COLUMNAR
from yibao.audit.engine import audit_frames
from yibao.audit.pack import DEFAULT_AUDIT_PACK, AuditPack
from yibao.core.settings import DEFAULT_POLICY
from yibao.interfaces.audit_files import frames_from_tables
from yibao.policy.pack import load_pack
from yibao.synth.fee_lines import with_fee_lines
from yibao.synth.truth import missed, score, unplanted

HERE = Path(__file__).resolve().parent
TARGET_RATE = 1_000_000
TARGET_LINES = 5_000_000
TARGET_RECALL = 1.0
TARGET_PRECISION = 0.99


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"machine: {cpu}, {cores} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, polars {pl.__version__}, numpy {np.__version__}"
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pack_for(name: str, policy: str) -> AuditPack:
    return base_pack(load_pack(policy), name)


def per_rule_seconds(pack: AuditPack, frames: synth.SynthCounty | object) -> dict[str, float]:
    """Each post-settlement rule alone over the frames (the engine's own functions, timed one by one)."""
    out: dict[str, float] = {}
    for rule in pack.enabled("post"):
        fn = COLUMNAR.get(rule.type)
        if fn is None:
            continue
        t = time.perf_counter()
        fn(rule, pack.knowledge, frames)  # type: ignore[arg-type]
        out[rule.code] = time.perf_counter() - t
    return out


def files_run(directory: Path, out: Path, policy: str) -> tuple[float, float, str]:
    """``yibao audit run --claims`` in a subprocess: (wall seconds, peak RSS MB, its last lines)."""
    cmd = [sys.executable, "-m", "yibao.entrypoints.cli.main", "audit", "run", "--claims", str(directory),
           "--out", str(out), "--allow-unknown-items", "--policy", policy]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "160"}
    )
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ABORT: {' '.join(cmd)} failed:\n{text}")
    return wall, usage.ru_maxrss / 1024, text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=0.01, help="violations planted per rule type (share of claims/persons)")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2, help="audit runs; the fastest counts")
    ap.add_argument("--pack", default=DEFAULT_AUDIT_PACK)
    ap.add_argument("--policy", default=DEFAULT_POLICY, help="policy pack whose price ceilings the audit uses")
    ap.add_argument("--files", action="store_true", help="also write the county and audit it from files in a subprocess")
    ap.add_argument("--counter", action="store_true", help="also run bench/audit_counter.py (audit at settlement)")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    load_before = loadavg()
    print(machine(), flush=True)
    print(f"load average before: {load_before}", flush=True)
    pack = pack_for(args.pack, args.policy)

    t = time.perf_counter()
    county = synth.generate(args.persons, args.year, args.seed)
    t_county = time.perf_counter() - t
    t = time.perf_counter()
    ac = with_fee_lines(county, pack, args.rate)
    t_lines = time.perf_counter() - t
    frames = frames_from_tables(ac.claims, ac.fee_lines, ac.people)
    n_lines, n_claims = frames.lines.height, frames.claims.height
    print(
        f"county: {args.persons:,} persons, {n_claims:,} claims ({ac.dropped:,} left out to keep it clean), "
        f"{n_lines:,} fee lines, {ac.planted.height:,} planted findings; "
        f"generated in {t_county:.1f} s + fee lines {t_lines:.1f} s",
        flush=True,
    )

    runs = []
    findings = pl.DataFrame()
    for i in range(args.repeat):
        print(f"audit run {i + 1}/{args.repeat} (load average before: {loadavg()}) ...", flush=True)
        t = time.perf_counter()
        findings = audit_frames(pack, frames, "post")
        runs.append(time.perf_counter() - t)
        print(f"  {runs[-1]:.2f} s, {n_lines / runs[-1]:,.0f} fee lines/s, {findings.height:,} findings", flush=True)
    best = min(runs)
    rate = n_lines / best
    timings = per_rule_seconds(pack, frames)

    table = score(ac.planted, findings)
    codes = {r.type: r.code for r in pack.enabled("post")}
    names = {r.type: r.name_zh for r in pack.enabled("post")}
    print()
    header = (
        f"{'rule':<7} {'type':<24} {'name':<30} {'planted':>8} {'found':>8} {'matched':>8} "
        f"{'recall':>8} {'precision':>9} {'seconds':>8} {'lines/s':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in table.iter_rows(named=True):
        rtype = row["rule_type"]
        code = codes.get(rtype, "-")
        secs = timings.get(code)
        rec = "-" if row["recall"] is None else f"{row['recall']:.2%}"
        prec = "-" if row["precision"] is None else f"{row['precision']:.2%}"
        lps = f"{n_lines / secs:,.0f}" if secs else "-"
        name = names.get(rtype, "")
        pad = max(0, 30 - sum(1 for ch in name if ord(ch) > 0x2E80))  # a Chinese character takes two columns
        print(
            f"{code:<7} {rtype:<24} {name:<{pad}} {row['planted']:>8,} {row['found']:>8,} "
            f"{row['matched']:>8,} {rec:>8} {prec:>9} {secs if secs is not None else 0:>8.3f} {lps:>13}"
        )
    planted, found, matched = (int(table[c].sum()) for c in ("planted", "found", "matched"))
    recall = matched / planted if planted else 1.0
    precision = matched / found if found else 1.0
    print("-" * len(header))
    print(f"{'all':<47} {planted:>8,} {found:>8,} {matched:>8,} {recall:>8.2%} {precision:>9.2%} {sum(timings.values()):>8.3f}")
    bad_m, bad_u = missed(ac.planted, findings), unplanted(ac.planted, findings)
    if bad_m.height or bad_u.height:
        with pl.Config(tbl_rows=10, tbl_width_chars=160):
            print("missed (first 10):", bad_m.head(10), "unplanted findings (first 10):", bad_u.head(10), sep="\n")
    print()
    print(f"audit (in memory, all {len(codes)} post-settlement rules): best of {args.repeat} {best:.2f} s "
          f"= {rate:,.0f} fee lines/s ({n_claims / best:,.0f} claims/s)")  # fmt: skip
    print("slowest rules: " + ", ".join(f"{c} {s:.2f}s" for c, s in sorted(timings.items(), key=lambda kv: -kv[1])[:5]))

    files_note = ""
    if args.files:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            directory = Path(tmp) / "county"
            synth.write(county, directory, audit=ac)
            wall, rss, _ = files_run(directory, Path(tmp) / "findings.parquet", args.policy)
            files_note = f" files_wall_s={wall:.2f} files_peak_mb={rss:,.0f}"
            print(f"files: yibao audit run --claims (read, check, audit, write) in a subprocess: {wall:.2f} s wall, "
                  f"{n_lines / wall:,.0f} fee lines/s, peak RSS {rss:,.0f} MB")  # fmt: skip

    counter = HERE / "audit_counter.py"
    if args.counter and counter.exists():
        print("running bench/audit_counter.py ...", flush=True)
        subprocess.run([sys.executable, str(counter)], check=False)
    elif counter.exists():
        rel = counter.relative_to(HERE.parent)
        print(f"audit at settlement (median settle, audit on vs off): .venv/bin/python {rel} (or --counter)")

    load_after = loadavg()
    peak = peak_mb()
    print(f"peak memory of this process (generation, lines, frames, audit): {peak:,.0f} MB (ru_maxrss)")
    print(f"load average before: {load_before}; after: {load_after}")
    ok = rate >= TARGET_RATE and n_lines >= TARGET_LINES and recall >= TARGET_RECALL and precision >= TARGET_PRECISION

    def yes(ok: bool) -> str:
        return "yes" if ok else "NO"

    print(f"targets: >= {TARGET_LINES:,} fee lines ({yes(n_lines >= TARGET_LINES)}), >= {TARGET_RATE:,} fee lines/s "
          f"({yes(rate >= TARGET_RATE)}), recall 100% ({yes(recall >= TARGET_RECALL)}), "
          f"precision >= 99% ({yes(precision >= TARGET_PRECISION)})")  # fmt: skip
    print(
        f"RESULT fee_lines={n_lines} claims={n_claims} audit_s={best:.3f} lines_per_s={rate:.0f} recall={recall:.4f} "
        f"precision={precision:.4f} planted={planted} found={found} peak_mb={peak:.0f}{files_note} "
        f"load_before={load_before.replace(' ', '/')} load_after={load_after.replace(' ', '/')} "
        f"targets_met={'yes' if ok else 'no'}"
    )
    print(json.dumps({"per_rule_seconds": {c: round(s, 4) for c, s in timings.items()}}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
