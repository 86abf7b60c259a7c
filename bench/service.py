"""Load benchmark of the settlement service over real HTTP (a script that prints figures, not a test).

For SQLite and PostgreSQL: seeds a database with the demo county (``yibao.app.demo``: a
synthetic county loaded with ``load_synth``, institutions, one account per role), starts the real
server as a subprocess (uvicorn serving ``create_app``), signs in as the clerk and drives it with
httpx client threads for a fixed time per setting:

- ``health``: ``GET /api/health``, the same server's no-op endpoint — the ceiling;
- ``settle``: ``POST /api/settlements``, a random summarised bill for a random enrolled person;
- ``settle-1p``: the same, every client settling for one person (the per-person lock contended).

Prints requests/s, p50 and p99 latency and errors per setting, and whether the targets hold
(PostgreSQL, 16 clients: settle throughput at least half the no-op ceiling, p99 under 100 ms).
The server, the database and the load generator share this machine's cores: figures are of the
whole box, as a one-machine county deployment would be.

    .venv/bin/python bench/service.py                       # both databases, 1 / 4 / 16 clients
    .venv/bin/python bench/service.py --db postgresql --workers 1,2 --pool 5,20 --seconds 10
    .venv/bin/python bench/service.py --profile             # where one settle request spends its time
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from yibao.store.db import Database, make_engine, upgrade

PG_URL = os.environ.get("YIBAO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOSPITAL = "H53090200001"
CLERK = ("clerk", "clerk-demo-2022")
YEAR = 2022


# ------------------------------------------------------------------ the server process


def _engine(url: str, schema: str | None, pool: int) -> sa.Engine:
    if url.startswith("sqlite"):
        return make_engine(url)
    args = {"options": f"-csearch_path={schema}"} if schema else {}
    return sa.create_engine(url, connect_args=args, pool_size=pool, max_overflow=pool, pool_pre_ping=True)


def server_app() -> Any:
    """The uvicorn factory (``--factory service:server_app``), configured by environment variables."""
    from yibao.entrypoints.http import create_app
    from yibao.policy import load_pack

    url = os.environ["YIBAO_BENCH_URL"]
    engine = _engine(url, os.environ.get("YIBAO_BENCH_SCHEMA") or None, int(os.environ.get("YIBAO_BENCH_POOL", "10")))
    return create_app(Database(engine), load_pack("anhui-huaibei-2022"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, workers: int) -> None:
    """Run uvicorn as ``uvicorn --factory service:server_app --workers N`` would, with one difference.

    ``uvicorn --workers N`` (N > 1) binds its listening socket with protocol 0, and asyncio sets
    TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP: every keep-alive response then
    waits on Nagle's algorithm and the client's delayed ACK, about 40 ms a request. Binding the
    socket with IPPROTO_TCP gives the workers the same TCP behaviour as a single uvicorn process.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sys.path.insert(0, str(Path(__file__).parent))  # uvicorn --app-dir
    config = uvicorn.Config(
        "service:server_app", factory=True, host="127.0.0.1", port=port, workers=workers, log_level="warning",
        access_log=False,
    )  # fmt: skip
    if workers == 1:
        uvicorn.Server(config).run()
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


@contextmanager
def server(url: str, schema: str | None, workers: int, pool: int) -> Iterator[str]:
    port = _free_port()
    env = os.environ | {"YIBAO_BENCH_URL": url, "YIBAO_BENCH_SCHEMA": schema or "", "YIBAO_BENCH_POOL": str(pool)}
    cmd = [sys.executable, __file__, "--serve", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
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


def _quantile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def drive(
    base: str, token: str, endpoint: str, clients: int, seconds: float, people: list[str], warmup: float
) -> tuple[float, list[float], int]:
    """``clients`` threads, each with its own keep-alive connection, for ``seconds`` after ``warmup``."""
    start = time.perf_counter()
    measure_from, stop = start + warmup, start + warmup + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients)

    def client(i: int) -> None:
        rng = random.Random(i)
        headers = {"Authorization": f"Bearer {token}"}
        one = people[0]
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            barrier.wait()
            while True:
                t0 = time.perf_counter()
                if t0 >= stop:
                    return
                if endpoint == "health":
                    r = http.get("/api/health")
                else:
                    r = http.post("/api/settlements", json=bill(rng, one if endpoint == "settle-1p" else rng.choice(people)))
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    latencies[i].append(t1 - t0)
                    if r.status_code >= 300:
                        errors[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seconds, [x for per in latencies for x in per], sum(errors)


def sign_in(base: str) -> str:
    r = httpx.post(f"{base}/api/auth/token", data={"username": CLERK[0], "password": CLERK[1]}, timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


def run_setting(seeded: Seeded, workers: int, pool: int, clients_list: list[int], seconds: float, warmup: float) -> list[Result]:
    out = []
    with server(seeded.url, seeded.schema, workers, pool) as base:
        token = sign_in(base)
        plan = [(c, e) for c in clients_list for e in ("health", "settle")]
        if 16 in clients_list:
            plan.append((16, "settle-1p"))
        for clients, endpoint in plan:
            span, lat, errors = drive(base, token, endpoint, clients, seconds, seeded.people, warmup)
            r = Result(seeded.kind, clients, endpoint, len(lat) / span, 1000 * _quantile(lat, 0.5), 1000 * _quantile(lat, 0.99),
                       errors, len(lat), workers, pool)  # fmt: skip
            out.append(r)
            print(_row(r), flush=True)
    return out


HEAD = (
    f"{'database':<11} {'workers':>7} {'pool':>4} {'clients':>7} {'endpoint':<10} "
    f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
)


def _row(r: Result) -> str:
    pool = str(r.pool) if r.db == "postgresql" else "-"
    return (
        f"{r.db:<11} {r.workers:>7} {pool:>4} {r.clients:>7} {r.endpoint:<10} {r.rps:>8.1f} {r.p50:>8.1f} {r.p99:>8.1f} "
        f"{r.errors:>6}"
    )


def verdict(results: list[Result]) -> list[str]:
    lines = []
    for workers, pool in sorted({(r.workers, r.pool) for r in results if r.db == "postgresql"}):
        got = {
            r.endpoint: r for r in results if r.db == "postgresql" and r.clients == 16 and (r.workers, r.pool) == (workers, pool)
        }
        if "settle" not in got or "health" not in got:
            continue
        s, h = got["settle"], got["health"]
        half, fast = s.rps >= h.rps / 2, s.p99 < 100
        lines.append(
            f"PostgreSQL, {workers} worker(s), pool {pool}, 16 clients: settle {s.rps:.0f}/s vs no-op {h.rps:.0f}/s "
            f"({100 * s.rps / h.rps:.0f}%, target >= 50%: {'met' if half else 'NOT met'}); "
            f"p99 {s.p99:.0f} ms (target < 100 ms: {'met' if fast else 'NOT met'})"
        )
    return lines


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
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}; PostgreSQL on the same machine; load generator in the same box"
    )


# ------------------------------------------------------------------ profile one settle request


def profile(seeded: Seeded, n: int = 300) -> None:
    """``n`` settle requests in-process (ASGI, no network), profiled: where a request's time goes."""
    import anyio

    os.environ |= {"YIBAO_BENCH_URL": seeded.url, "YIBAO_BENCH_SCHEMA": seeded.schema or "", "YIBAO_BENCH_POOL": "5"}
    app = server_app()
    rng = random.Random(1)

    async def go() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            r = await http.post("/api/auth/token", data={"username": CLERK[0], "password": CLERK[1]})
            http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            for _ in range(20):  # warm
                await http.post("/api/settlements", json=bill(rng, rng.choice(seeded.people)))
            t0 = time.perf_counter()
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                r = await http.post("/api/settlements", json=bill(rng, rng.choice(seeded.people)))
                assert r.status_code == 201, r.text
            prof.disable()
            elapsed = time.perf_counter() - t0
            t1 = time.perf_counter()
            for _ in range(n):
                await http.get("/api/health")
            noop = time.perf_counter() - t1
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(45)
        print(buf.getvalue())
        return elapsed, noop

    elapsed, noop = anyio.run(go)
    print(f"{seeded.kind}: {1000 * elapsed / n:.2f} ms per settle in-process under the profiler; "
          f"{1000 * noop / n:.2f} ms per no-op health request")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--workers", default="1", help="uvicorn worker processes to try, e.g. 1,2")
    ap.add_argument("--pool", default="10", help="PostgreSQL pool sizes to try (pool_size = max_overflow), e.g. 5,20")
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per setting")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--people", type=int, default=500, help="people in the demo county")
    ap.add_argument("--profile", action="store_true", help="profile settle requests in-process instead")
    ap.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the server subprocess
    a = ap.parse_args()
    if a.serve:
        serve(a.serve, int(a.workers))
        return
    print(machine())
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.db.split(","):
            seeded = seed(kind, a.people, Path(tmp))
            try:
                print(f"{kind}: {len(seeded.people)} enrolled residents to settle for", flush=True)
                if a.profile:
                    profile(seeded)
                    continue
                print(HEAD, flush=True)
                pools = [int(p) for p in a.pool.split(",")] if kind == "postgresql" else [0]
                for workers in (int(w) for w in a.workers.split(",")):
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


if __name__ == "__main__":
    main()
