"""Benchmark: the after-settlement audit (事后, columnar) on a synthetic county-year with planted violations.

    .venv/bin/python bench/audit.py                      # 200,000 persons, 1% planted per rule type
    .venv/bin/python bench/audit.py --persons 20000 --rate 0.02

1. Generate a county (:func:`yibao.synth.generate`) and its fee lines with violations of every rule
   type planted at ``--rate`` (:func:`yibao.synth.fee_lines.with_fee_lines`), timed.
2. Write it (``yibao synth --plant-rate`` files) and, in a fresh process, read and check the files
   (:func:`yibao.interfaces.audit_files.read_audit_dir`) and audit the whole county with
   :func:`yibao.audit.engine.audit_frames` (best of ``--repeat``): fee lines per second, and that
   process's peak memory (``VmHWM``).
3. Per rule: planted, found, matched, recall (planted found), precision (findings that were planted —
   the clean part is clean by construction, so nothing else is true), and the rule's own time within
   an audit (what the rules share — indexes of the frames, claim views — built beforehand; the rest
   of an audit's time is building those). Each audit run gets fresh frames: nothing is kept from the
   run before. Wall time depends on the machine's load; CPU seconds (all threads) much less.
4. With ``--files``: ``yibao audit run --claims`` on the same files in a subprocess (start, read,
   check, audit, write, print): its wall time.

Then the machine, the load average before and after, the peak memory of this process, and a final
``RESULT`` line. Targets: >= 1,000,000 fee lines/s on >= 5,000,000 lines, recall 100%, precision >= 99%.
The counter's side (the audit's cost at settlement) is ``bench/audit_counter.py`` (``--counter`` runs it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from machine import loadavg

from yibao import synth
from yibao.app.audit_pack import base_pack
from yibao.audit.columnar import COLUMNAR
from yibao.audit.engine import audit_frames
from yibao.audit.model import Frames
from yibao.audit.pack import AuditPack
from yibao.core.settings import DEFAULT_AUDIT_PACK, DEFAULT_POLICY
from yibao.interfaces.audit_files import read_audit_dir
from yibao.policy.pack import load_pack
from yibao.synth.fee_lines import with_fee_lines
from yibao.synth.truth import missed, score, unplanted

HERE = Path(__file__).resolve().parent
TARGET_RATE = 1_000_000
TARGET_LINES = 5_000_000
TARGET_RECALL = 1.0
TARGET_PRECISION = 0.99


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


def vm_hwm_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss`` not inherited from a forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_mb()


def child(argv: list[str]) -> None:
    """Read a county's files, audit them (best of ``--repeat``), time each rule alone; JSON on the last line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args(argv)
    pack = pack_for(a.pack, a.policy)
    t = time.perf_counter()
    frames = read_audit_dir(a.child, pack, allow_unknown=True)
    read_s = time.perf_counter() - t
    runs: list[float] = []
    cpu: list[float] = []
    findings = pl.DataFrame()
    for _ in range(a.repeat):
        fresh = Frames(frames.claims.clone(), frames.lines.clone(), frames.people.clone())  # no view kept from a run before
        t, c = time.perf_counter(), time.process_time()
        findings = audit_frames(pack, fresh, "post")
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        del fresh
    per_rule: dict[str, float] = {}
    warm = Frames(frames.claims.clone(), frames.lines.clone(), frames.people.clone())
    audit_frames(pack, warm, "post")  # what the rules share (indexes, views) is built once, as within one audit
    for rule in pack.enabled("post"):
        fn = COLUMNAR.get(rule.type)
        if fn is not None:
            t = time.perf_counter()
            fn(rule, pack.knowledge, warm)
            per_rule[rule.code] = time.perf_counter() - t
    findings.write_parquet(a.out)
    info = {"read_s": read_s, "runs": runs, "cpu": cpu, "per_rule": per_rule, "lines": frames.lines.height,
            "claims": frames.claims.height, "peak_mb": vm_hwm_mb()}  # fmt: skip
    print(json.dumps(info))


def run_child(directory: Path, out: Path, args: argparse.Namespace) -> tuple[dict[str, Any], float]:
    """The child in a fresh process: its report and its wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(directory), "--out", str(out),
           "--pack", args.pack, "--policy", args.policy, "--repeat", str(args.repeat)]  # fmt: skip
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"ABORT: {' '.join(cmd)} failed:\n{done.stderr}")
    info: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return info, wall


def files_run(directory: Path, out: Path, policy: str) -> float:
    """``yibao audit run --claims`` (read, check, audit, write, print) in a subprocess: wall seconds."""
    cmd = [sys.executable, "-m", "yibao", "audit", "run", "--claims", str(directory),
           "--out", str(out), "--allow-unknown-items", "--policy", policy]  # fmt: skip
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "160"})
    if done.returncode != 0:
        sys.exit(f"ABORT: {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - t


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
    n_lines, n_claims = ac.fee_lines.height, ac.claims.height
    print(
        f"county: {args.persons:,} persons, {n_claims:,} claims ({ac.dropped:,} left out to keep it clean), "
        f"{n_lines:,} fee lines, {ac.planted.height:,} planted findings; "
        f"generated in {t_county:.1f} s + fee lines {t_lines:.1f} s",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=args.workdir))
    directory = work / "county"
    t = time.perf_counter()
    synth.write(county, directory, audit=ac)
    print(f"written to {directory} in {time.perf_counter() - t:.1f} s", flush=True)
    planted_truth = ac.planted
    del county, ac
    gc.collect()

    print(f"auditing in a fresh process (best of {args.repeat}; load average before: {loadavg()}) ...", flush=True)
    info, child_wall = run_child(directory, work / "findings.parquet", args)
    findings = pl.read_parquet(work / "findings.parquet")
    runs, timings = info["runs"], info["per_rule"]
    best = min(runs)
    best_cpu = min(info["cpu"])
    rate = n_lines / best
    print(
        "  audit runs: "
        + ", ".join(f"{r:.2f} s wall / {c:.2f} CPU s" for r, c in zip(runs, info["cpu"], strict=True))
        + f"; reading and checking the files {info['read_s']:.2f} s"
    )
    table = score(planted_truth, findings)
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
    bad_m, bad_u = missed(planted_truth, findings), unplanted(planted_truth, findings)
    if bad_m.height or bad_u.height:
        with pl.Config(tbl_rows=10, tbl_width_chars=160):
            print("missed (first 10):", bad_m.head(10), "unplanted findings (first 10):", bad_u.head(10), sep="\n")
    print()
    print(f"audit (frames in memory, all {len(codes)} post-settlement rules): best of {args.repeat} {best:.2f} s "
          f"= {rate:,.0f} fee lines/s ({n_claims / best:,.0f} claims/s); {best_cpu:.2f} CPU s = "
          f"{n_lines / best_cpu:,.0f} fee lines per CPU second (all threads; the machine's load takes the rest)")  # fmt: skip
    print("slowest rules: " + ", ".join(f"{c} {s:.2f}s" for c, s in sorted(timings.items(), key=lambda kv: -kv[1])[:5]))

    print(f"audit process: {child_wall:.2f} s wall (start, imports, read, check, {args.repeat} audits, per-rule timings), "
          f"peak memory {info['peak_mb']:,.0f} MB (VmHWM)")  # fmt: skip
    files_note = ""
    if args.files:
        wall = files_run(directory, work / "cli-findings.parquet", args.policy)
        files_note = f" cli_wall_s={wall:.2f}"
        print(f"yibao audit run --claims (start, read, check, audit, write, print) in a subprocess: {wall:.2f} s wall, "
              f"{n_lines / wall:,.0f} fee lines/s")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)

    counter = HERE / "audit_counter.py"
    if args.counter and counter.exists():
        print("running bench/audit_counter.py ...", flush=True)
        subprocess.run([sys.executable, str(counter)], check=False)
    elif counter.exists():
        rel = counter.relative_to(HERE.parent)
        print(f"audit at settlement (median settle, audit on vs off): .venv/bin/python {rel} (or --counter)")

    load_after = loadavg()
    peak = info["peak_mb"]
    print(f"peak memory of the generating process (county, lines, files): {vm_hwm_mb():,.0f} MB (VmHWM)")
    print(f"load average before: {load_before}; after: {load_after}")
    ok = rate >= TARGET_RATE and n_lines >= TARGET_LINES and recall >= TARGET_RECALL and precision >= TARGET_PRECISION

    def yes(ok: bool) -> str:
        return "yes" if ok else "NO"

    print(f"targets: >= {TARGET_LINES:,} fee lines ({yes(n_lines >= TARGET_LINES)}), >= {TARGET_RATE:,} fee lines/s "
          f"({yes(rate >= TARGET_RATE)}), recall 100% ({yes(recall >= TARGET_RECALL)}), "
          f"precision >= 99% ({yes(precision >= TARGET_PRECISION)})")  # fmt: skip
    print(
        f"RESULT fee_lines={n_lines} claims={n_claims} audit_s={best:.3f} lines_per_s={rate:.0f} "
        f"audit_cpu_s={best_cpu:.3f} lines_per_cpu_s={n_lines / best_cpu:.0f} recall={recall:.4f} "
        f"precision={precision:.4f} planted={planted} found={found} peak_mb={peak:.0f}{files_note} "
        f"load_before={load_before.replace(' ', '/')} load_after={load_after.replace(' ', '/')} "
        f"targets_met={'yes' if ok else 'no'}"
    )
    print(json.dumps({"per_rule_seconds": {c: round(s, 4) for c, s in timings.items()}}, sort_keys=True))
    return 0


if __name__ == "__main__":
    if "--child" in sys.argv[1:]:
        child(sys.argv[1:])
    else:
        sys.exit(main())
