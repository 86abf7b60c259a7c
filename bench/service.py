"""Load benchmark of the settlement service over real HTTP (a script that prints figures, not a test).

For SQLite and PostgreSQL: seeds a database with the demo county (``yibao.app.demo``: a synthetic county
loaded with ``load_synth``, institutions, one account per role), starts the real server as a subprocess
(uvicorn serving ``create_app`` with ``--workers`` processes, as ``yibao serve --workers N`` does), signs
in as the clerk and drives it for a fixed time per setting from a lean asyncio HTTP/1.1 load generator
(each client one keep-alive connection):

- ``health``: ``GET /api/health``, the same server's no-op endpoint — the ceiling;
- ``settle``: ``POST /api/settlements``, a random summarised bill for a random enrolled person;
- ``settle-1p``: the same, every client settling for one person (the per-person lock contended); afterwards
  the ledger is verified (``GET /api/ledger/verify``: every accumulator equals a serial replay of the ledger,
  so no two settlements of the person saw the same year-to-date, and no fund paid past its cap).

Every row prints requests/s, p50 and p99 latency, errors, the CPU the server processes and the load
generator took (in cores: CPU seconds per second), the whole machine's busy cores, and the load average.
With 4 or more cores the server and the load generator are pinned to different cores
(``os.sched_setaffinity``); on fewer they share them (pinning would leave the server one core) and the
load generator's CPU shows what it took. The last line is
``RESULT service db=postgresql clients=16 settle_rps=… noop_rps=… p99_ms=…`` (the most workers tried).

    .venv/bin/python bench/service.py                       # both databases, 1 and all-core workers
    .venv/bin/python bench/service.py --db postgresql --workers 1,2 --pool 5,20 --seconds 10
    .venv/bin/python bench/service.py --profile             # where the server's threads spend their CPU
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from machine import loadavg

from yibao.store.db import Database, make_engine, upgrade

PG_URL = os.environ.get("YIBAO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOSPITAL = "H53090200001"
CLERK = ("clerk", "clerk-demo-2022")
ADMIN = ("admin", "admin-demo-2022")
YEAR = 2022
CORES = len(os.sched_getaffinity(0))
PROFILE_ENV = "YIBAO_BENCH_PROFILE"
"""A folder: each server process profiles every thread (CPU time per thread) and writes ``<pid>.prof`` there."""


# ------------------------------------------------------------------ the server process


def _engine(url: str, schema: str | None, pool: int) -> sa.Engine:
    if url.startswith("sqlite"):
        return make_engine(url)
    args = {"options": f"-csearch_path={schema}"} if schema else {}
    return sa.create_engine(url, connect_args=args, pool_size=pool, max_overflow=pool, pool_pre_ping=True)


def profile_every_thread(folder: str) -> Callable[[], None]:
    """Profile this process's threads by their own CPU time (``time.thread_time``): the event loop's thread
    and every thread started from now on (the thread pool running the endpoints). Answers what writes
    ``<folder>/<pid>.prof``."""
    profiles: list[cProfile.Profile] = []

    def start(*_: Any) -> None:
        sys.setprofile(None)
        prof = cProfile.Profile(time.thread_time)
        profiles.append(prof)
        prof.enable()

    threading.setprofile(start)  # each new thread's first event starts its own profiler

    def dump() -> None:
        # a snapshot of what each thread finished: disabling another thread's profiler from this one would
        # close that thread's unfinished calls (a pool thread waiting for work) with this thread's clock
        if profiles:
            pstats.Stats(*(Snapshot(p) for p in profiles)).dump_stats(str(Path(folder) / f"{os.getpid()}.prof"))

    start()
    return dump


class Snapshot(cProfile.Profile):
    """What a running profiler has counted so far, for :class:`pstats.Stats`."""

    def __init__(self, prof: cProfile.Profile) -> None:
        super().__init__()
        prof.snapshot_stats()
        self.stats = prof.stats

    def create_stats(self) -> None:
        pass


def profiled(app: Any, folder: str) -> Any:
    """``app`` with every thread profiled from its first HTTP request (the start-up not counted) and the
    profile written when the server shuts it down (uvicorn ends its process by the signal it got once shut
    down, so exit handlers never run)."""
    dump: Callable[[], None] | None = None

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        nonlocal dump
        if scope["type"] != "lifespan":
            if dump is None:
                dump = profile_every_thread(folder)
            await app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "lifespan.shutdown.complete" and dump is not None:
                dump()
            await send(message)

        await app(scope, receive, sending)

    return wrapped


def server_app() -> Any:
    """The uvicorn factory (``service:server_app``), configured by environment variables."""
    from yibao.entrypoints.http import create_app
    from yibao.policy import load_pack

    url = os.environ["YIBAO_BENCH_URL"]
    engine = _engine(url, os.environ.get("YIBAO_BENCH_SCHEMA") or None, int(os.environ.get("YIBAO_BENCH_POOL", "10")))
    app = create_app(Database(engine), load_pack("anhui-huaibei-2022"))
    return profiled(app, os.environ[PROFILE_ENV]) if os.environ.get(PROFILE_ENV) else app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, workers: int) -> None:
    """Run uvicorn as ``yibao serve --workers N`` does (the factory imported in each worker process)."""
    import uvicorn

    uvicorn.run(
        "service:server_app", factory=True, host="127.0.0.1", port=port, workers=workers, log_level="warning",
        access_log=False, timeout_worker_healthcheck=60,
    )  # fmt: skip


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, load generator cores): apart with 4 or more cores, else ``(None, None)`` (shared)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 4:
        return None, None
    return set(cores[: -len(cores) // 4]), set(cores[-len(cores) // 4 :])


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants (``/proc``); 0 for one that is gone."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError):
        return total
    return total + sum(_tree_cpu(int(c)) for c in children)


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (``/proc/stat``)."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = cpu[3] + cpu[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(cpu) - idle) / tick, sum(cpu) / tick


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.base.removeprefix("http://").split(":")
        return host, int(port)

    def cpu(self) -> float:
        return _tree_cpu(self.proc.pid)


@contextmanager
def server(url: str, schema: str | None, workers: int, pool: int, profile: str | None = None) -> Iterator[Server]:
    port = _free_port()
    env = os.environ | {"YIBAO_BENCH_URL": url, "YIBAO_BENCH_SCHEMA": schema or "", "YIBAO_BENCH_POOL": str(pool)}
    if profile:
        env[PROFILE_ENV] = profile
    cores, _ = split_cores()
    cmd = [sys.executable, __file__, "--serve", str(port), "--workers", str(workers)]
    if cores:
        cmd = ["taskset", "-c", ",".join(map(str, sorted(cores))), *cmd]
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield Server(base, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ the database


@dataclass
class Seeded:
    kind: str
    url: str
    schema: str | None
    people: list[str]


def seed(kind: str, people: int, folder: Path) -> Seeded:
    """A fresh database with the demo county of ``people`` persons; the enrolled residents' numbers."""
    from yibao.app.demo import ensure_demo
    from yibao.store.tables import Enrolment, Person

    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        url, schema = PG_URL, "bench_" + uuid.uuid4().hex[:10]
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    engine = _engine(url, schema, 5)
    upgrade(engine)
    db = Database(engine)
    ensure_demo(db, persons=people, seed=7)
    with db.unit_of_work() as s:
        enrolled = s.scalars(
            sa.select(Person.psn_no)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.year == YEAR, Enrolment.psn_insu_stas == "1", Enrolment.insutype == "390")
            .where(sa.or_(Person.insutype.is_(None), Person.insutype == "390"))
            .order_by(Person.psn_no)
        ).all()
    engine.dispose()
    return Seeded(kind, url, schema, list(enrolled))


def drop(seeded: Seeded) -> None:
    if seeded.schema:
        admin = make_engine(seeded.url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{seeded.schema}" CASCADE'))
        admin.dispose()


# ------------------------------------------------------------------ the load


def bill(rng: random.Random, psn_no: str) -> dict[str, Any]:
    day = date(YEAR, 1, 1) + timedelta(days=rng.randrange(365))
    med_type = rng.choice(["21", "21", "11"])
    total = rng.randrange(10_000, 5_000_000) if med_type == "21" else rng.randrange(1_000, 50_000)
    return {
        "psn_no": psn_no,
        "setl_date": day.isoformat(),
        "med_type": med_type,
        "fixmedins_code": HOSPITAL,
        "summary": {"medfee_sumamt": total, "fulamt_ownpay_amt": total // 20},
    }


@dataclass
class Result:
    db: str
    clients: int
    endpoint: str
    rps: float
    p50: float
    p99: float
    errors: int
    requests: int
    workers: int
    pool: int
    server_cores: float  # server CPU seconds per second of the measured span
    client_cores: float  # the load generator's
    busy_cores: float  # the whole machine's (PostgreSQL, other work on the box included)
    load: str  # the load average after the setting


def _quantile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def _request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, connection kept) of one HTTP/1.1 answer; its body is read and dropped."""
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError("an answer without Content-Length")
    await reader.readexactly(int(head[at + 17 : head.index(b"\r\n", at + 2)]))
    return int(head[9:12]), b"\r\nconnection: close" not in head


Requests = Callable[[random.Random], bytes]


async def _client(host: str, port: int, make: Requests, seed: int, start: float, stop: float, out: list[float]) -> int:
    """One client on one keep-alive connection until ``stop``: latencies after ``start`` into ``out``; errors."""
    rng, errors, conn = random.Random(seed), 0, None
    while True:
        t0 = time.perf_counter()
        if t0 >= stop:
            break
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port)
                conn[1].get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn[1].write(make(rng))
            status, kept = await _answer(conn[0])
        except (OSError, asyncio.IncompleteReadError, RuntimeError):
            status, kept = 599, False
        t1 = time.perf_counter()
        if t0 >= start:
            out.append(t1 - t0)
            errors += status >= 300
        if not kept and conn is not None:
            conn[1].close()
            conn = None
    if conn is not None:
        conn[1].close()
    return errors


def drive(
    srv: Server, make: Requests, clients: int, seconds: float, warmup: float
) -> tuple[list[float], int, float, float, float]:
    """``clients`` connections for ``seconds`` after ``warmup``: (latencies, errors, server, generator and machine
    CPU seconds of the measured span). The load generator is one asyncio loop in this process."""
    host, port = srv.host_port
    measured: dict[str, float] = {}

    async def run() -> tuple[list[float], int]:
        start = time.perf_counter() + warmup
        stop = start + seconds
        out: list[float] = []

        async def mark() -> None:  # the CPU counters at the start of the measured span
            await asyncio.sleep(warmup)
            measured["server"], measured["self"], measured["busy"] = srv.cpu(), _self_cpu(), _machine_busy()[0]

        tasks = [_client(host, port, make, i, start, stop, out) for i in range(clients)]
        errors = await asyncio.gather(mark(), *tasks)
        return out, sum(e for e in errors if e)

    lat, errors = asyncio.run(run())
    server = srv.cpu() - measured["server"]
    generator = _self_cpu() - measured["self"]
    busy = _machine_busy()[0] - measured["busy"]
    return lat, errors, server, generator, busy


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def sign_in(base: str, who: tuple[str, str] = CLERK) -> str:
    r = httpx.post(f"{base}/api/auth/token", data={"username": who[0], "password": who[1]}, timeout=60)
    r.raise_for_status()
    return str(r.json()["access_token"])


def requests(endpoint: str, token: str, people: list[str]) -> Requests:
    if endpoint == "health":
        health = _request("GET", "/api/health", token)
        return lambda _rng: health
    one = people[0] if endpoint == "settle-1p" else None
    return lambda rng: _request(
        "POST", "/api/settlements", token, json.dumps(bill(rng, one or rng.choice(people)), ensure_ascii=False).encode()
    )


def one_person_exact(base: str) -> str:
    """After ``settle-1p``: the ledger verified (accumulators equal a serial replay, no visit paid twice)."""
    r = httpx.get(f"{base}/api/ledger/verify", headers={"Authorization": f"Bearer {sign_in(base, ADMIN)}"}, timeout=600)
    body = r.json()
    return "exact (ledger verified)" if r.status_code == 200 and body.get("ok") is True else f"NOT exact: {r.text[:300]}"


def run_setting(seeded: Seeded, workers: int, pool: int, clients_list: list[int], seconds: float, warmup: float) -> list[Result]:
    out = []
    _, generator_cores = split_cores()
    before = os.sched_getaffinity(0)
    with server(seeded.url, seeded.schema, workers, pool) as srv:
        token = sign_in(srv.base)
        plan = [(c, e) for c in clients_list for e in ("health", "settle")]
        if 16 in clients_list:
            plan.append((16, "settle-1p"))
        if generator_cores:
            os.sched_setaffinity(0, generator_cores)
        try:
            for clients, endpoint in plan:
                lat, errors, server_cpu, client_cpu, busy = drive(
                    srv, requests(endpoint, token, seeded.people), clients, seconds, warmup
                )
                r = Result(seeded.kind, clients, endpoint, len(lat) / seconds, 1000 * _quantile(lat, 0.5),
                           1000 * _quantile(lat, 0.99), errors, len(lat), workers, pool, server_cpu / seconds,
                           client_cpu / seconds, busy / seconds, loadavg())  # fmt: skip
                out.append(r)
                print(_row(r), flush=True)
                if endpoint == "settle-1p":
                    print(f"  16 clients for one person, {workers} worker(s): {one_person_exact(srv.base)}", flush=True)
        finally:
            os.sched_setaffinity(0, before)
    return out


HEAD = (
    f"{'database':<11} {'workers':>7} {'pool':>4} {'clients':>7} {'endpoint':<10} "
    f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'server':>6} {'ms/req':>6} {'loadgen':>7} {'box':>5}  load average"
)


def _row(r: Result) -> str:
    pool = str(r.pool) if r.db == "postgresql" else "-"
    return (
        f"{r.db:<11} {r.workers:>7} {pool:>4} {r.clients:>7} {r.endpoint:<10} {r.rps:>8.1f} {r.p50:>8.1f} {r.p99:>8.1f} "
        f"{r.errors:>6} {r.server_cores:>6.2f} {1000 * r.server_cores / max(r.rps, 1e-9):>6.2f} {r.client_cores:>7.2f} "
        f"{r.busy_cores:>5.2f}  {r.load}"
    )


def _at16(results: list[Result], db: str, workers: int, pool: int) -> dict[str, Result]:
    return {r.endpoint: r for r in results if r.db == db and r.clients == 16 and (r.workers, r.pool) == (workers, pool)}


def verdict(results: list[Result]) -> list[str]:
    lines = []
    for db, workers, pool in sorted({(r.db, r.workers, r.pool) for r in results}):
        got = _at16(results, db, workers, pool)
        if "settle" not in got or "health" not in got:
            continue
        s, h = got["settle"], got["health"]
        errors = sum(r.errors for r in got.values())
        if db == "postgresql":
            half, fast = s.rps >= h.rps / 2, s.p99 < 100
            lines.append(
                f"PostgreSQL, {workers} worker(s), pool {pool}, 16 clients: settle {s.rps:.0f}/s vs no-op {h.rps:.0f}/s "
                f"({100 * s.rps / h.rps:.0f}%, target >= 50%: {'met' if half else 'NOT met'}); "
                f"p99 {s.p99:.0f} ms (target < 100 ms: {'met' if fast else 'NOT met'}); errors {errors}; load {s.load}"
            )
        else:
            lines.append(
                f"SQLite, {workers} worker(s), 16 clients: settle {s.rps:.0f}/s, p99 {s.p99:.0f} ms (target < 200 ms: "
                f"{'met' if s.p99 < 200 else 'NOT met'}); errors {errors} (target 0); load {s.load}"
            )
    return lines


def result_line(results: list[Result]) -> str | None:
    """The machine-readable summary: PostgreSQL, 16 clients, the most workers (then the largest pool) tried."""
    pg = sorted({(r.workers, r.pool) for r in results if r.db == "postgresql" and r.clients == 16})
    for workers, pool in reversed(pg):
        got = _at16(results, "postgresql", workers, pool)
        if "settle" in got and "health" in got:
            s, h = got["settle"], got["health"]
            return f"RESULT service db=postgresql clients=16 settle_rps={s.rps:.1f} noop_rps={h.rps:.1f} p99_ms={s.p99:.1f}"
    return None


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        mem_gb = int(mem.split()[1]) / 1024 / 1024
    except (OSError, StopIteration):
        mem_gb = float("nan")
    server_cores, generator_cores = split_cores()
    where = (
        f"server on cores {sorted(server_cores or [])}, load generator on {sorted(generator_cores or [])}"
        if generator_cores
        else f"server and load generator share the {CORES} cores (not pinned: the load generator's CPU is printed)"
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}; PostgreSQL on the same machine; {where}; load average {loadavg()}\n"
        "columns server / loadgen / box: CPU cores busy (CPU seconds per second) in the server processes, the load "
        "generator, the whole machine; ms/req: server CPU milliseconds per answer (what a loaded machine changes least)"
    )


# ------------------------------------------------------------------ profile the server under load


def profile(seeded: Seeded, workers: int, pool: int, seconds: float, warmup: float, clients: int = 16) -> None:
    """Settle at ``clients`` clients with every server thread profiled by its own CPU time: where it goes."""
    with tempfile.TemporaryDirectory() as folder:
        with server(seeded.url, seeded.schema, workers, pool, profile=folder) as srv:
            token = sign_in(srv.base)
            lat, errors, server_cpu, client_cpu, _busy = drive(
                srv, requests("settle", token, seeded.people), clients, seconds, warmup
            )
        files = sorted(str(p) for p in Path(folder).glob("*.prof"))
        if not files:
            print("no profile was written (the server did not exit cleanly)")
            return
        stats = pstats.Stats(*files)
        for order, n in (("cumulative", 45), ("tottime", 25)):
            buf = io.StringIO()
            stats.stream = buf  # type: ignore[attr-defined]
            stats.sort_stats(order).print_stats(n)
            print(buf.getvalue())
        total = len(lat) + 0.0
        print(
            f"{seeded.kind}, {workers} worker(s), {clients} clients under the profiler: {total / seconds:.0f} settles/s, "
            f"errors {errors}; server CPU {server_cpu:.1f} s ({1000 * server_cpu / max(total, 1):.2f} ms per settle, all "
            f"threads of {len(files)} process(es)); load generator {client_cpu:.1f} s; load average {loadavg()}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--workers", default=",".join(dict.fromkeys(["1", str(CORES)])), help="worker processes to try, e.g. 1,2")
    ap.add_argument("--pool", default="10", help="PostgreSQL pool sizes to try (pool_size = max_overflow), e.g. 5,20")
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per setting")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--people", type=int, default=500, help="people in the demo county")
    ap.add_argument("--profile", action="store_true", help="profile the server's threads while settling instead")
    ap.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the server subprocess
    a = ap.parse_args()
    if a.serve:
        serve(a.serve, int(a.workers.split(",")[-1]))
        return
    print(machine(), flush=True)
    results: list[Result] = []
    workers_list = [int(w) for w in a.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.db.split(","):
            seeded = seed(kind, a.people, Path(tmp))
            try:
                print(f"{kind}: {len(seeded.people)} enrolled residents to settle for; load average {loadavg()}", flush=True)
                pools = [int(p) for p in a.pool.split(",")] if kind == "postgresql" else [0]
                if a.profile:
                    profile(seeded, workers_list[-1], pools[-1], a.seconds, a.warmup)
                    continue
                print(HEAD, flush=True)
                for workers in workers_list:
                    for pool in pools:
                        results += run_setting(seeded, workers, pool, [int(c) for c in a.clients.split(",")], a.seconds, a.warmup)
            finally:
                drop(seeded)
    if results:
        print()
        print(HEAD)
        for r in results:
            print(_row(r))
        for line in verdict(results):
            print(line)
        summary = result_line(results)
        if summary:
            print(summary)


if __name__ == "__main__":
    main()
