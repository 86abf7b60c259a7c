"""Benchmark: the columnar batch engine against a per-claim loop and DuckDB SQL, beside the I/O floor.

    .venv/bin/python bench/batch.py --claims 1000000 10000000

For each size: generate a synthetic county with :mod:`yibao.synth` (timed; ``--reuse`` keeps it
in ``--workdir`` for the next run), then

(a) the batch engine, Parquet in -> Parquet out (``yibao.settlement.batch.io.run_batch``) in a
    subprocess: wall time, CPU time and peak RSS of that process;
(b) a per-claim Python loop over ``settle`` (``settle_sequence`` per person) on a sample of
    persons holding about ``--loop-sample`` claims: claims per second;
(c) the same rules in DuckDB SQL (``bench/duckdb_engine.py``), Parquet in -> Parquet out, in
    a subprocess: wall time and peak RSS;
(d) the I/O floor, in a subprocess: polars reads the same input columns, and the result and
    year-to-date tables that (a) wrote (loaded before the clock starts) are written again with
    run_batch's own writer options; nothing settled.

Before any time is printed, the three engines must agree to the fen: batch vs DuckDB on every
claim, batch vs the loop on the sampled persons' claims. Any difference aborts with the claims.

``--replicate K`` then writes K relabelled copies of the largest county (``psn_no`` and
``claim_id`` prefixed by the copy number, so still sorted; about K times the disk of the
county) and runs ``yibao batch`` on it: wall time and peak RSS (the memory bound of streaming).

The load average (1, 5, 15 minutes) is printed beside every figure: on a busy machine the
times are not the engine's. ``--profile`` profiles the batch engine's worker threads (yappi,
CPU clock, every thread; per source line with ``threading.settrace``). The last line is
machine-readable, for the largest ``--claims`` size:
``RESULT batch claims=… batch_s=… duckdb_s=… io_floor_s=… peak_mb=…`` (process wall times).

The synthetic county enrols some employees: with a pack that has no employee (310) line,
``bench/employee-lines.yaml`` is overlaid so that every claim settles (the header says so).
Use ``--chunk`` to try other run_batch chunk sizes and ``--repeat`` for best-of-N timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from yibao import synth
from yibao.policy.overlay import apply_overlay, load_overlay
from yibao.policy.pack import PolicyPack, load_pack
from yibao.settlement.batch.result import read_result, scan_result, ytd_path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import loadavg  # noqa: E402

EMPLOYEE_OVERLAY = HERE / "employee-lines.yaml"
AMOUNTS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt", "act_pay_dedc")
TARGET_RATE = 3_000_000
TARGET_DUCKDB_X = 10
TARGET_FLOOR_X = 2
TARGET_LOOP_X = 100
TARGET_PEAK_MB = 3 * 1024


# ---------------------------------------------------------------- pack and machine


def needs_employee_lines(pack: PolicyPack) -> bool:
    return not any(ln.insutype == "310" for d in pack.change_dates() for ln in pack.at(d).lines.values())


def resolve_pack(name: str, employee_overlay: bool) -> PolicyPack:
    pack = load_pack(name)
    return apply_overlay(pack, load_overlay(EMPLOYEE_OVERLAY)) if employee_overlay else pack


def machine() -> list[str]:
    import duckdb
    import pyarrow

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {cpu}, {cores} cores, {mem_gb:.1f} GB RAM, {platform.system()} {platform.release()}",
        f"software: Python {platform.python_version()}, polars {pl.__version__}, numpy {np.__version__}, "
        f"pyarrow {pyarrow.__version__}, duckdb {duckdb.__version__}",
    ]


# ---------------------------------------------------------------- child processes


def own_peak_mb() -> float:
    """This process's peak RSS from ``VmHWM`` (its own address space only: ``ru_maxrss`` would also
    count the launching process's peak, which a vfork-ed child inherits at exec), 0 without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


CLI_WITH_PEAK = (
    "import atexit, json, sys\n"
    "def peak():\n"
    "    hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
    "    print(json.dumps({'peak_mb': int(hwm[0]) / 1024 if hwm else 0}), flush=True)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['yibao', *sys.argv[1:]]\n"
    "from yibao.entrypoints.cli.main import app\n"
    "app()\n"
)
"""``yibao batch`` as it runs from the command line, printing its own peak RSS when it exits."""


def io_floor(directory: Path, result: Path, out: Path) -> int:
    """Read what run_batch reads (polars) and write what it wrote (the same pyarrow writer and
    options, one row group per million rows), nothing settled. The tables to write are loaded
    before the clock starts; returns the claims read."""
    import pyarrow.parquet as pq

    from yibao.settlement.batch.engine import AMOUNT_COLUMNS, CLAIM_COLUMNS
    from yibao.settlement.batch.io import _WRITE, _WRITE_YTD, SIDE_COLUMNS, TABLES, read_table

    rows, ytd = pl.read_parquet(result).to_arrow(), pl.read_parquet(ytd_path(result)).to_arrow()
    t = time.perf_counter()
    claims = read_table(directory / "claims.parquet", (*CLAIM_COLUMNS, *AMOUNT_COLUMNS))
    for name in TABLES[1:]:
        if (directory / f"{name}.parquet").exists():
            read_table(directory / f"{name}.parquet", SIDE_COLUMNS[name])
    pq.write_table(rows, out, row_group_size=1 << 20, **_WRITE)
    pq.write_table(ytd, ytd_path(out), row_group_size=1 << 20, **_WRITE_YTD)
    print(json.dumps({"seconds": time.perf_counter() - t, "claims": claims.height, "peak_mb": own_peak_mb()}))
    return claims.height


def child(argv: list[str]) -> None:
    """Run one engine Parquet in -> Parquet out and print its in-process time as JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=("batch", "duckdb", "io"), required=True)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--employee-overlay", action="store_true")
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--result", type=Path, help="io: the batch result whose tables to write")
    a = ap.parse_args(argv)
    if a.child == "io":
        io_floor(a.dir, a.result, a.out)
        return
    pack = resolve_pack(a.pack, a.employee_overlay)
    if a.child == "batch":
        from yibao.settlement.batch.io import DEFAULT_CHUNK, run_batch

        t = time.perf_counter()  # imports and pack loading done: the engine's own time from here
        run = run_batch(pack, a.dir, a.out, a.chunk or DEFAULT_CHUNK)
        claims, extra = run.claims, {"chunks": run.chunks}
    else:
        from duckdb_engine import settle_duckdb_to_parquet

        t = time.perf_counter()
        claims, extra = settle_duckdb_to_parquet(pack, a.dir, a.out), {}
    print(json.dumps({"seconds": time.perf_counter() - t, "claims": claims, "peak_mb": own_peak_mb(), **extra}))


@dataclasses.dataclass
class Measured:
    wall: float  # whole subprocess: interpreter start, imports, pack, read, settle, write
    inner: float  # the engine call inside the process (read, settle, write); nan for a CLI run
    cpu: float  # user + system CPU seconds of the subprocess (all its threads)
    peak_mb: float
    claims: int
    load: str  # load average just before the run
    extra: dict[str, Any]


def run_measured(cmd: list[str], what: str) -> tuple[dict[str, Any], float, float, float]:
    """Run ``cmd``; (the JSON of its last output line, wall seconds, CPU seconds, peak RSS MB: the
    child's own report, else ``ru_maxrss``). Exits on failure."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"ABORT: the {what} subprocess failed (exit {proc.returncode}): {' '.join(cmd)}")
    info = json.loads(text.strip().splitlines()[-1])
    peak = float(info.pop("peak_mb", 0.0)) or usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux
    return info, wall, usage.ru_utime + usage.ru_stime, peak


def measure(
    kind: str, pack_name: str, overlay: bool, directory: Path, out: Path, chunk: int, result: Path | None = None
) -> Measured:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--pack", pack_name,
           "--dir", str(directory), "--out", str(out), "--chunk", str(chunk)]  # fmt: skip
    if overlay:
        cmd.append("--employee-overlay")
    if result is not None:
        cmd += ["--result", str(result)]
    load = loadavg()
    info, wall, cpu, peak = run_measured(cmd, kind)
    claims = int(info.pop("claims"))
    inner = float(info.pop("seconds"))
    return Measured(wall, inner, cpu, peak, claims, load, info)


def best_of(repeat: int, kind: str, size: str, *args: Any) -> Measured:
    """The fastest of ``repeat`` runs (wall), with the highest peak RSS seen."""
    runs = []
    for i in range(repeat):
        print(f"[{size}] {kind} run {i + 1}/{repeat} (load average before: {loadavg()}) ...", flush=True)
        runs.append(measure(kind, *args))
        m = runs[-1]
        print(f"[{size}]   wall {m.wall:.2f}s, in-process {m.inner:.2f}s, cpu {m.cpu:.2f}s, peak {m.peak_mb:,.0f} MB "
              f"(load average after: {loadavg()})", flush=True)  # fmt: skip
    best = min(runs, key=lambda m: m.wall)
    return dataclasses.replace(best, peak_mb=max(m.peak_mb for m in runs))


# ---------------------------------------------------------------- a county many times over


def replicate(directory: Path, copies: int, out: Path) -> tuple[int, int]:
    """``copies`` relabelled copies of the county in ``directory`` (``psn_no`` and ``claim_id``
    prefixed by the copy number, two digits, so the claims stay sorted), streamed table by table.
    Returns (claims, persons)."""
    meta = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    if (out / "manifest.json").exists():
        done = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        if done.get("replicated") == {"from": str(directory), "copies": copies}:
            return int(done["rows"]["claims"]), int(done["persons"])
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for src in sorted(directory.glob("*.parquet")):
        lf = pl.scan_parquet(src)
        names = lf.collect_schema().names()
        keys = [c for c in ("psn_no", "claim_id") if c in names]
        parts = [lf.with_columns(pl.format("{}{}", pl.lit(f"{j:02d}"), pl.col(c)).alias(c) for c in keys) for j in range(copies)]
        tmp = out / f".{src.name}.tmp"
        pl.concat(parts if keys else parts[:1]).sink_parquet(tmp, compression="zstd", row_group_size=synth.files.ROW_GROUP_SIZE)
        tmp.replace(out / src.name)
        rows[src.stem] = int(meta["rows"].get(src.stem, 0)) * (copies if keys else 1)
    meta |= {"rows": rows, "persons": int(meta["persons"]) * copies, "replicated": {"from": str(directory), "copies": copies}}
    (out / "manifest.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return rows["claims"], int(meta["persons"])


def measure_cli(pack_name: str, overlay: bool, directory: Path, out: Path, chunk: int) -> Measured:
    """``yibao batch`` itself (or, when the pack needs the employee overlay, which the CLI cannot
    apply, the batch child), in a subprocess: wall, CPU and peak RSS."""
    if overlay:
        return measure("batch", pack_name, overlay, directory, out, chunk)
    cmd = [sys.executable, "-c", CLI_WITH_PEAK, "batch", str(directory), "-p", pack_name, "-o", str(out), "--chunk", str(chunk)]
    load = loadavg()
    _, wall, cpu, peak = run_measured(cmd, "yibao batch")
    claims = pl.scan_parquet(out).select(pl.len()).collect().item()
    return Measured(wall, float("nan"), cpu, peak, int(claims), load, {})


# ---------------------------------------------------------------- checks


def check_batch_vs_duckdb(batch_out: Path, duck_out: Path, claims_file: Path) -> int:
    b = read_result(batch_out, ["claim_id", *AMOUNTS])
    d = pl.read_parquet(duck_out, columns=["claim_id", *AMOUNTS])
    n_in = pl.scan_parquet(claims_file).select(pl.len()).collect().item()
    for name, frame in (("batch", b), ("DuckDB", d)):
        wrong = {c: str(t) for c, t in frame.select(AMOUNTS).schema.items() if t != pl.Int64}
        if wrong:
            sys.exit(f"ABORT: {name} output amounts must be int64 fen; got {wrong}")
    if not (b.height == d.height == n_in):
        sys.exit(f"ABORT: claim counts differ: input {n_in:,}, batch {b.height:,}, DuckDB {d.height:,}")
    j = b.join(d, on="claim_id", how="full", suffix="_duckdb")
    bad = j.filter(pl.any_horizontal(*(pl.col(c).ne_missing(pl.col(f"{c}_duckdb")) for c in AMOUNTS)))
    if bad.height:
        with pl.Config(tbl_cols=-1, tbl_width_chars=250):
            print(bad.head(20))
        sys.exit(f"ABORT: batch and DuckDB differ on {bad.height:,} of {n_in:,} claims (first 20 above)")
    return int(b.height)


def sample_persons(claims_file: Path, target: int, seed: int) -> pl.Series:
    """Random persons whose claims add up to about ``target``."""
    counts = pl.scan_parquet(claims_file).group_by("psn_no").len().sort("psn_no").collect()
    order = np.random.default_rng(seed).permutation(counts.height)
    shuffled = counts[order]
    cum = np.cumsum(shuffled["len"].to_numpy())
    take = int(np.searchsorted(cum, target)) + 1
    return shuffled["psn_no"].head(take)


def read_sample(directory: Path, persons: pl.Series) -> synth.SynthCounty:
    """The county written in ``directory``, restricted to ``persons`` (read lazily, not the whole county)."""
    keep = pl.DataFrame({"psn_no": persons}).lazy()
    meta = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    frames = {}
    for name in synth.FILES:
        lf = pl.scan_parquet(directory / f"{name}.parquet")
        if "psn_no" in lf.collect_schema().names():
            lf = lf.join(keep, on="psn_no", how="semi", maintain_order="left")
        frames[name] = lf.collect()
    return synth.SynthCounty(persons=int(meta["persons"]), year=int(meta["year"]), seed=int(meta["seed"]), **frames)


def run_loop(directory: Path, pack: PolicyPack, batch_out: Path, target: int, seed: int) -> tuple[int, int, float]:
    """Settle the sampled persons' claims one by one; check them against the batch output. (claims, persons, seconds)"""
    from yibao.settlement import settle_sequence

    sub = read_sample(directory, sample_persons(directory / "claims.parquet", target, seed))
    people, claims = synth.to_people_and_claims(sub)
    by_person: dict[str, list[Any]] = {}
    for c in claims:
        by_person.setdefault(c.psn_no, []).append(c)
    t = time.perf_counter()
    results = [s for psn, cs in by_person.items() for s in settle_sequence(pack, people[psn], cs)]
    seconds = time.perf_counter() - t
    loop = pl.DataFrame(
        [(s.claim_id, *(getattr(s, a) for a in AMOUNTS)) for s in results],
        schema={"claim_id": pl.Utf8, **dict.fromkeys(AMOUNTS, pl.Int64)},
        orient="row",
    )
    ids = loop.select("claim_id")
    batch = scan_result(batch_out).select("claim_id", *AMOUNTS).join(ids.lazy(), on="claim_id", how="semi").collect()
    j = batch.join(loop, on="claim_id", how="full", suffix="_loop")
    bad = j.filter(pl.any_horizontal(*(pl.col(c).ne_missing(pl.col(f"{c}_loop")) for c in AMOUNTS)))
    if bad.height or batch.height != loop.height:
        with pl.Config(tbl_cols=-1, tbl_width_chars=250):
            print(bad.head(20))
        sys.exit(f"ABORT: batch and the per-claim loop differ on {bad.height:,} of {loop.height:,} sampled claims")
    return loop.height, len(people), seconds


# ---------------------------------------------------------------- profile


def line_times(fn: Any, files: tuple[str, ...], top: int) -> tuple[float, list[str]]:
    """Time per source line of the functions defined in ``files``, in every thread (inclusive of
    what the line calls, so nested lines overlap; two threads at once add up to thread-seconds),
    found with ``sys.settrace`` / ``threading.settrace``: the engine runs few Python lines, so the
    tracing costs little."""
    import linecache
    import threading
    from collections import defaultdict

    acc: dict[tuple[str, int], float] = defaultdict(float)
    last: dict[Any, tuple[int, float]] = {}

    def local(frame: Any, event: str, arg: Any) -> Any:
        now = time.perf_counter()
        prev = last.pop(frame, None)
        if prev is not None:
            acc[(frame.f_code.co_filename, prev[0])] += now - prev[1]
        if event == "line":
            last[frame] = (frame.f_lineno, time.perf_counter())
        return local

    def glob(frame: Any, event: str, arg: Any) -> Any:
        return local if event == "call" and "/".join(Path(frame.f_code.co_filename).parts[-3:]).startswith(files) else None

    t = time.perf_counter()
    sys.settrace(glob)
    threading.settrace(glob)
    try:
        fn()
    finally:
        sys.settrace(None)
        threading.settrace(None)
    total = time.perf_counter() - t
    out = []
    for (file, line), sec in sorted(acc.items(), key=lambda kv: -kv[1])[:top]:
        short = "/".join(Path(file).parts[-2:])
        src = linecache.getline(file, line).strip()
        out.append(f"{sec:8.2f}s {100 * sec / total:5.1f}%  {short}:{line:<4} {src[:90]}")
    return total, out


def thread_profile(label: str, fn: Any, top: int) -> str:
    """CPU time per thread and per function over every Python thread (yappi, CPU clock); the CPU of
    the native pools (polars) appears in the process total only."""
    import yappi  # type: ignore[import-untyped]

    yappi.clear_stats()
    yappi.set_clock_type("cpu")
    wall, cpu0 = time.perf_counter(), time.process_time()
    yappi.start(builtins=True)
    try:
        fn()
    finally:
        yappi.stop()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu0
    threads = sorted(yappi.get_thread_stats(), key=lambda t: -t.ttot)
    py_cpu = sum(t.ttot for t in threads)
    text = [f"--- {label}: {wall:.2f}s wall, {cpu:.2f}s CPU in all (load average {loadavg()}); "
            f"Python threads {py_cpu:.2f}s, native pools (polars) about {max(cpu - py_cpu, 0):.2f}s"]  # fmt: skip
    text += [f"  thread {t.name} ({t.id}): {t.ttot:.2f}s CPU" for t in threads if t.ttot >= 0.01]
    stats = yappi.get_func_stats()
    for key, what in (("ttot", "inclusive"), ("tsub", "own")):
        text.append(f"  top {top} functions by {what} CPU, all threads:")
        for f in sorted(stats, key=lambda f: -getattr(f, key))[:top]:
            name = f"{Path(f.module).name}:{f.lineno} {f.name}" if f.module else f.name
            text.append(f"    {getattr(f, key):8.2f}s {100 * getattr(f, key) / max(cpu, 1e-9):5.1f}%  {f.ncall:>8}  {name[:90]}")
    yappi.clear_stats()
    return "\n".join(text)


def profile(pack: PolicyPack, directory: Path, out: Path, chunk: int, top: int = 15) -> str:
    """Where the batch engine spends its time: settle_batch on the county in memory (one pass, one
    thread), then run_batch Parquet in -> out with its worker threads, then run_batch per source line."""
    from yibao.settlement.batch.engine import settle_batch
    from yibao.settlement.batch.io import read_input, run_batch

    data = read_input(directory)
    text = [
        thread_profile("settle_batch(pack, read_input(dir)), one pass in memory", lambda: settle_batch(pack, data), top),
        thread_profile(f"run_batch(pack, dir, out, chunk={chunk:,}), Parquet in -> out",
                       lambda: run_batch(pack, directory, out, chunk), top),
    ]  # fmt: skip
    total, lines = line_times(lambda: run_batch(pack, directory, out, chunk), ("settlement/batch/",), 30)
    text.append(f"--- thread-seconds per source line (inclusive, all threads), run_batch chunk={chunk:,}: "
                f"{total:.2f}s wall (load average {loadavg()})")  # fmt: skip
    text += lines
    return "\n".join(text)


# ---------------------------------------------------------------- main


def fmt_rate(claims: int, seconds: float) -> str:
    return f"{claims / seconds:,.0f}" if seconds > 0 else "-"


def county_dir(args: argparse.Namespace, target: int, per_person: float, year: int) -> tuple[Path, int, int]:
    """The county for ``target`` claims, generated or reused: (directory, claims, persons)."""
    persons = max(1, round(target / per_person))
    directory = args.workdir / f"county-{target}-{args.seed}"
    if args.reuse and (directory / "manifest.json").exists():
        meta = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        n, persons = int(meta["rows"]["claims"]), int(meta["persons"])
        made = "reused"
    else:
        t = time.perf_counter()
        county = synth.generate(persons, year, args.seed)
        t_gen = time.perf_counter() - t
        t = time.perf_counter()
        synth.write(county, directory)
        t_write = time.perf_counter() - t
        n = county.claims.height
        del county  # the parent stays small while the engines run
        gc.collect()
        made = f"generate {t_gen:.1f}s ({n / t_gen:,.0f} claims/s), write Parquet {t_write:.1f}s (load average {loadavg()})"
    print(f"[{n / 1e6:.2f}M] county: {persons:,} persons, {n:,} claims; {made}", flush=True)
    return directory, n, persons


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, nargs="+", default=[1_000_000, 10_000_000], help="approximate claims per county")
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/yibao-bench"))
    ap.add_argument("--loop-sample", type=int, default=20_000, help="claims settled one by one by settle()")
    ap.add_argument("--pack", default="anhui-huaibei-2022")
    ap.add_argument("--chunk", type=int, default=0, help="run_batch chunk size (0: yibao.settlement.batch.io.DEFAULT_CHUNK)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each engine per size; the fastest is reported")
    ap.add_argument(
        "--profile", action="store_true", help="profile the batch engine's threads on every size (after the timed runs)"
    )
    ap.add_argument("--reuse", action="store_true", help="reuse a county written earlier (same size, seed) in --workdir")
    ap.add_argument("--replicate", type=int, default=0, metavar="K",
                    help="also run `yibao batch` on K relabelled copies of the largest county (memory bound)")  # fmt: skip
    args = ap.parse_args(argv)

    from yibao.settlement.batch.io import DEFAULT_CHUNK

    chunk = args.chunk or DEFAULT_CHUNK
    overlay = needs_employee_lines(load_pack(args.pack))
    pack = resolve_pack(args.pack, overlay)
    year = pack.valid_from.year
    args.workdir.mkdir(parents=True, exist_ok=True)
    note = " (bench/employee-lines.yaml overlaid: the county has employees)" if overlay else ""
    head = [*machine(), f"pack: {pack.pack_id}{note}; run_batch chunk {chunk:,} claims; best of {args.repeat} run(s)"]
    print("\n".join(head), flush=True)

    pilot = synth.generate(20_000, year, args.seed)
    per_person = pilot.claims.height / pilot.persons
    del pilot

    rows: list[tuple[str, ...]] = []
    summary: list[str] = []
    profiles: list[str] = []
    result = ""
    largest: tuple[Path, int, float] | None = None
    for target in sorted(args.claims):
        directory, n, persons = county_dir(args, target, per_person, year)
        size = f"{n / 1e6:.2f}M"
        batch_out = args.workdir / f"batch-{target}.parquet"
        duck_out = args.workdir / f"duckdb-{target}.parquet"
        io_out = args.workdir / f"io-{target}.parquet"
        a = best_of(args.repeat, "batch", size, args.pack, overlay, directory, batch_out, chunk)
        f = best_of(args.repeat, "io", size, args.pack, overlay, directory, io_out, chunk, batch_out)
        c = best_of(args.repeat, "duckdb", size, args.pack, overlay, directory, duck_out, chunk)
        print(f"[{size}] check batch = DuckDB on every claim ...", flush=True)
        checked = check_batch_vs_duckdb(batch_out, duck_out, directory / "claims.parquet")
        print(f"[{size}] per-claim loop on a sample, checked against batch ...", flush=True)
        load_loop = loadavg()
        loop_n, loop_persons, loop_s = run_loop(directory, pack, batch_out, args.loop_sample, args.seed)
        print(f"[{size}] agreement: batch = DuckDB on all {checked:,} claims, batch = loop on {loop_n:,} sampled claims "
              f"({loop_persons:,} persons); 0 fen difference", flush=True)  # fmt: skip

        loop_rate = loop_n / loop_s
        rows += [
            (size, "(a) batch run_batch, process", f"{a.wall:.2f}", f"{a.cpu:.2f}", fmt_rate(n, a.wall), f"{a.peak_mb:,.0f}",
             a.load, f"Parquet in->out, {a.extra.get('chunks', '?')} chunk(s)"),
            (size, "    batch run_batch, in-process", f"{a.inner:.2f}", "", fmt_rate(n, a.inner), "", "",
             "same run, without interpreter start, imports, pack load"),
            (size, "(b) per-claim loop settle()", f"{loop_s:.2f}", f"{loop_s:.2f}", fmt_rate(loop_n, loop_s), "-", load_loop,
             f"{loop_n:,} claims of {loop_persons:,} persons, in memory"),
            (size, "(c) DuckDB SQL, process", f"{c.wall:.2f}", f"{c.cpu:.2f}", fmt_rate(n, c.wall), f"{c.peak_mb:,.0f}",
             c.load, "Parquet in->out, 2 threads"),
            (size, "    DuckDB SQL, in-process", f"{c.inner:.2f}", "", fmt_rate(n, c.inner), "", "", ""),
            (size, "(d) I/O floor, process", f"{f.wall:.2f}", f"{f.cpu:.2f}", fmt_rate(n, f.wall), f"{f.peak_mb:,.0f}",
             f.load, "polars reads the inputs; (a)'s tables written as (a) writes"),
            (size, "    I/O floor, in-process", f"{f.inner:.2f}", "", fmt_rate(n, f.inner), "", "", ""),
        ]  # fmt: skip
        rate = n / a.wall
        summary += [
            f"{size}: batch vs loop {rate / loop_rate:,.0f}x (in-process {n / a.inner / loop_rate:,.0f}x); "
            f"batch vs DuckDB {c.wall / a.wall:.1f}x (in-process {c.inner / a.inner:.1f}x); "
            f"batch / I/O floor {a.wall / f.wall:.2f} (in-process {a.inner / f.inner:.2f})",
            f"{size} targets: >= {TARGET_RATE:,} claims/s: {'yes' if rate >= TARGET_RATE else 'NO'} ({rate:,.0f}); "
            f">= {TARGET_DUCKDB_X}x DuckDB: {'yes' if c.wall >= TARGET_DUCKDB_X * a.wall else 'NO'} ({c.wall / a.wall:.1f}x); "
            f"<= {TARGET_FLOOR_X}x I/O floor: {'yes' if a.wall <= TARGET_FLOOR_X * f.wall else 'NO'} ({a.wall / f.wall:.2f}x); "
            f"peak <= {TARGET_PEAK_MB:,} MB: {'yes' if a.peak_mb <= TARGET_PEAK_MB else 'NO'} ({a.peak_mb:,.0f} MB); "
            f"load average {a.load}",
        ]
        result = (f"RESULT batch claims={n} batch_s={a.wall:.2f} duckdb_s={c.wall:.2f} io_floor_s={f.wall:.2f} "
                  f"peak_mb={a.peak_mb:.0f}")  # fmt: skip
        largest = (directory, n, rate)
        if args.profile:
            print(f"[{size}] profiling the batch engine ...", flush=True)
            prof = profile(pack, directory, args.workdir / f"profile-{target}.parquet", chunk)
            profiles.append(f"=== profile at {size}\n{prof}")

    if args.replicate > 1 and largest is not None:
        base, base_n, base_rate = largest
        copies = base.with_name(f"{base.name}-x{args.replicate}")
        t = time.perf_counter()
        n, persons = replicate(base, args.replicate, copies)
        print(f"[x{args.replicate}] {n:,} claims, {persons:,} persons in {copies} ({time.perf_counter() - t:.1f}s)", flush=True)
        size = f"{n / 1e6:.2f}M"
        print(f"[{size}] yibao batch (load average before: {loadavg()}) ...", flush=True)
        e = measure_cli(args.pack, overlay, copies, args.workdir / f"batch-x{args.replicate}.parquet", chunk)
        if e.claims != n:
            sys.exit(f"ABORT: yibao batch wrote {e.claims:,} claims of {n:,}")
        rate = n / e.wall
        rows.append((size, f"(e) yibao batch, {args.replicate} copies", f"{e.wall:.2f}", f"{e.cpu:.2f}", fmt_rate(n, e.wall),
                     f"{e.peak_mb:,.0f}", e.load, f"the CLI on {args.replicate}x the {base_n / 1e6:.2f}M county"))  # fmt: skip
        summary.append(
            f"{size} streaming targets: peak <= {TARGET_PEAK_MB:,} MB: {'yes' if e.peak_mb <= TARGET_PEAK_MB else 'NO'} "
            f"({e.peak_mb:,.0f} MB); claims/s within 10% of {base_n / 1e6:.2f}M: "
            f"{'yes' if rate >= 0.9 * base_rate else 'NO'} ({rate:,.0f} vs {base_rate:,.0f}); load average {e.load}"
        )

    header = ("size", "method", "seconds", "cpu s", "claims/s", "peak MB", "load avg before", "note")
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    right = {2, 3, 4, 5}
    print()
    print("\n".join(head))
    for k, r in enumerate(table):
        print("  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("speed-ups (claims/s ratios; process wall time unless said):")
    print("\n".join("  " + line for line in summary))
    print(f"targets (10M claims, idle machine): >= {TARGET_RATE:,} claims/s Parquet in->out, >= {TARGET_DUCKDB_X}x DuckDB, "
          f"<= {TARGET_FLOOR_X}x the I/O floor, peak <= {TARGET_PEAK_MB // 1024} GB at 10M and 50M claims")  # fmt: skip
    print("seconds: wall time of the subprocess (interpreter start, imports, pack load, read, settle, write); "
          "cpu s: its user+system CPU time (all threads); peak MB: its peak RSS; load avg: 1, 5, 15 minutes")  # fmt: skip
    if profiles:
        print()
        print("\n\n".join(profiles))
    print(f"load average at the end: {loadavg()}")
    print(result)
    return 0


if __name__ == "__main__":
    if "--child" in sys.argv[1:]:
        child(sys.argv[1:])
    else:
        sys.exit(main())
