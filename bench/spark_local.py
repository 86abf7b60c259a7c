"""Benchmark: the batch engine on Spark in local mode beside the native engine, on one synthetic county.

    .venv/bin/python bench/spark_local.py --claims 1000000

Generates (or with ``--reuse`` reuses, under ``--workdir``) a synthetic county of about ``--claims`` claims,
then, each in a process of its own, settles it with the native engine (``run_batch``, Parquet in and out)
and with ``run_batch_spark`` at each ``--masters`` (``local[1]``, ``local[2]``: one and two cores), and
prints the wall time and claims per second of each, with the load average (1, 5, 15 minutes) beside every
figure: on a busy machine the times are not the engine's. For Spark the session's start (the JVM) is timed
apart from the run (read, shuffle by person, settle, write both datasets). Before the figures count, every
Spark run's claims and year-to-date rows must equal the native engine's to the fen (else it exits 1).

The last line is machine-readable:
``RESULT spark_local claims=… native_cps=… local1_cps=… local2_cps=… local1_s=… local2_s=… load=…``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import loadavg  # noqa: E402

PER_PERSON = 4.7
"""Claims per person of the synthetic county (about: the county is generated for ``claims / PER_PERSON`` persons)."""


def _child(args: argparse.Namespace) -> dict[str, float | int]:
    """One engine's run in this process (the parent starts a process per engine)."""
    from yibao.policy.pack import load_pack

    pack = load_pack(args.pack)
    if args.engine == "native":
        from yibao.settlement.batch.io import run_batch

        t = time.perf_counter()
        run = run_batch(pack, args.data, args.out)
        return {"seconds": time.perf_counter() - t, "claims": run.claims}
    from yibao.distributed.batch import run_batch_spark, session

    t = time.perf_counter()
    spark = session(args.engine, args.partitions, {"spark.ui.enabled": "false", "spark.driver.memory": args.driver_memory})
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - t
    t = time.perf_counter()
    ran = run_batch_spark(pack, str(args.data), str(args.out), partitions=args.partitions)
    seconds = time.perf_counter() - t
    spark.stop()
    return {"seconds": seconds, "session": started, "claims": ran.claims}


def _same(native: Path, spark_out: Path) -> bool:
    import polars as pl

    def text(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col(pl.Enum).cast(pl.Utf8), pl.col(pl.Categorical).cast(pl.Utf8))

    a = text(pl.read_parquet(native)).sort("claim_id")
    b = pl.read_parquet(spark_out / "*.parquet").sort("claim_id")
    ya = pl.read_parquet(native.with_name(native.stem + ".ytd.parquet")).sort("psn_no", "year")
    yb = pl.read_parquet(spark_out.with_name(spark_out.stem + ".ytd.parquet") / "*.parquet").sort("psn_no", "year")
    return a.equals(b) and ya.equals(yb)


def _county(args: argparse.Namespace) -> tuple[Path, int]:
    from yibao import synth

    directory = args.workdir / f"county-{args.claims}-{args.seed}"
    if args.reuse and (directory / "manifest.json").exists():
        meta = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        print(f"county: reused {directory}", flush=True)
        return directory, int(meta["rows"]["claims"])
    t = time.perf_counter()
    county = synth.generate(max(1, round(args.claims / PER_PERSON)), 2022, args.seed)
    synth.write(county, directory)
    print(f"county: {county.persons:,} persons, {county.claims.height:,} claims, generated and written in "
          f"{time.perf_counter() - t:.1f}s (load average {loadavg()})", flush=True)  # fmt: skip
    return directory, county.claims.height


def _run(args: argparse.Namespace, engine: str, data: Path, out: Path) -> dict[str, float | int]:
    cmd = [sys.executable, __file__, "--child", engine, "--data", str(data), "--out", str(out), "--pack", args.pack,
           "--partitions", str(args.partitions), "--driver-memory", args.driver_memory]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"}, check=False)
    if proc.returncode != 0:
        sys.exit(f"{engine} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, float | int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=1_000_000, help="about how many claims the county has (default 1,000,000)")
    ap.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"], help="Spark masters (default local[1] local[2])")
    ap.add_argument("--partitions", type=int, default=4, help="partitions of the shuffle by person (default 4)")
    ap.add_argument("--pack", default="anhui-huaibei-2022", help="policy pack (default anhui-huaibei-2022)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--driver-memory", default="2g", help="the local JVM's memory (spark.driver.memory, default 2g)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/yibao-bench-spark"), help="where the county and results go")
    ap.add_argument("--reuse", action="store_true", help="reuse the county generated by an earlier run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.engine = args.child
        print(json.dumps(_child(args)))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {loadavg()}; {os.cpu_count()} cores", flush=True)
    data, n = _county(args)
    native_out = args.workdir / "native.parquet"
    native = _run(args, "native", data, native_out)
    native_cps = n / float(native["seconds"])
    print(f"native run_batch: {native['seconds']:.1f}s, {native_cps:,.0f} claims/s (load average {loadavg()})", flush=True)
    figures: dict[str, float] = {}
    for master in args.masters:
        out = args.workdir / f"spark-{master.replace('[', '').replace(']', '').replace('*', 'all')}.parquet"
        ran = _run(args, master, data, out)
        if int(ran["claims"]) != n or not _same(native_out, out):
            print(f"spark {master}: DIFFERS from the native engine", flush=True)
            return 1
        cps = n / float(ran["seconds"])
        key = master.replace("[", "").replace("]", "").replace("*", "all")
        figures[f"{key}_cps"], figures[f"{key}_s"] = cps, float(ran["seconds"])
        print(f"spark {master}, {args.partitions} partitions: session start {ran['session']:.1f}s, run {ran['seconds']:.1f}s, "
              f"{cps:,.0f} claims/s; every claim and year-to-date row equal to the native engine's "
              f"(load average {loadavg()})", flush=True)  # fmt: skip
    said = " ".join(f"{k}={v:.0f}" if k.endswith("_cps") else f"{k}={v:.1f}" for k, v in figures.items())
    print(f"RESULT spark_local claims={n} native_cps={native_cps:.0f} {said} load={loadavg().replace(' ', ',')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
