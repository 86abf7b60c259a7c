"""What the audit at the counter (事中) adds to a settlement: the median 2207 settle with the audit off and on,
side by side on the same server (a script that prints figures, not a test).

Seeds a database (SQLite file, or a PostgreSQL schema with ``--db postgresql``) with two institutions, a HIS
account and ``--people`` enrolled people; builds the app once (``create_app``, the shipped policy pack and the
audit pack in force, ``YIBAO_AUDIT_PACK`` or ``yibao-audit-2023``) and drives it in process over HTTP (ASGI):
each sample registers an outpatient visit of a random person on a random day of 2022 (2201), uploads
``--lines`` fee lines of catalogue items (2204) — untimed — and times the settlement (2207). Samples alternate
audit off and on (``YIBAO_AUDIT``, read per request), so that the machine's load weighs on both alike; the
people's histories grow as the run goes, as they would at a counter. Also times the audit alone
(:func:`yibao.app.audit_counter.check`, one claim against its person's history) on the settled visits.

Prints medians and 90th percentiles, the difference, the load average before and after, and a final
``RESULT`` line. Target: the audit adds at most 1 ms to the median settle.

    .venv/bin/python bench/audit_counter.py                     # SQLite, 300 samples each way
    .venv/bin/python bench/audit_counter.py --db postgresql --samples 500
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from machine import loadavg

from yibao.app import audit_counter, visits
from yibao.app.audit_pack import AUDIT_ENV, configured_audit_pack_name, pack_in_force
from yibao.app.auth import create_account
from yibao.app.registry import find_person
from yibao.core.settings import DEFAULT_POLICY
from yibao.entrypoints.http import create_app
from yibao.policy.pack import PolicyPack, load_pack
from yibao.store.db import Database, make_engine, upgrade
from yibao.store.service_tables import Institution, Visit
from yibao.store.tables import Enrolment, Person

PG_URL = os.environ.get("YIBAO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOSPITAL = "H53090200001"
PASSWORD = "bench-audit-2022"


def _database(kind: str) -> tuple[Database, str | None]:
    if kind == "sqlite":
        path = os.path.join(tempfile.mkdtemp(prefix="yibao-bench-"), "audit.db")
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        return Database(engine), None
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)
    upgrade(engine)
    return Database(engine), schema


def _drop(schema: str | None) -> None:
    if schema is None:
        return
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _seed(db: Database, people: int) -> list[str]:
    now = datetime.now(UTC)
    rng = random.Random(1)
    with db.unit_of_work() as s:
        s.add(Institution(fixmedins_code=HOSPITAL, fixmedins_name="县人民医院", hosp_lv=2, place="in_county", admdvs="530902"))
        s.flush()
        create_account(s, "his", PASSWORD, "institution", "bench", fixmedins_code=HOSPITAL)
        out = []
        for n in range(people):
            psn_no = f"B{n:05d}"
            brdy = date(1940, 1, 1) + timedelta(days=rng.randint(0, 80 * 365))
            p = Person(psn_no=psn_no, certno=f"5309021{n:011d}", psn_name=f"测试{n}", gend=rng.choice("12"), brdy=brdy,
                       recorded_at=now, recorded_by="bench")  # fmt: skip
            s.add(p)
            s.flush()
            s.add(Enrolment(person_id=p.id, year=2022, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by="bench"))
            out.append(psn_no)
        s.commit()
    return out


def _items() -> list[tuple[str, int]]:
    """Catalogue items of the audit pack in force that no restriction, limit, pair, bundle, requirement or indication
    names (a median claim is a clean one): codes and unit prices (fen)."""
    from yibao.app.audit_pack import base_pack

    kb = base_pack().knowledge
    named = {
        str(v)
        for table in ("item_limits", "quantity_limits", "frequency_limits", "course_limits", "duplicate_pairs", "bundles",
                      "requirements", "indications")
        for row in kb.table(table)
        for k, v in row.items()
        if k in ("med_list_codg", "main_codg", "sub_codg", "bundle_codg", "part_codg", "requires_codg")
    }  # fmt: skip
    rows = [r for r in kb.table("catalogue") if str(r["med_list_codg"]) not in named]
    return [(str(r["med_list_codg"]), int(r["std_pric"] or 2000)) for r in rows][:40]


class Counter:
    def __init__(self, app: Any):
        self.client = TestClient(app)
        r = self.client.post("/api/auth/token", data={"username": "his", "password": PASSWORD})
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.sent = 0

    def send(self, infno: str, inp: dict[str, Any]) -> dict[str, Any]:
        self.sent += 1
        env = {"infno": infno, "msgid": f"BENCH{self.sent:08d}", "fixmedins_code": HOSPITAL, "input": inp}
        out = dict(self.client.post("/api/hsa", json=env, headers=self.headers).json())
        if out["infcode"] != "0":
            raise RuntimeError(f"{infno}: {out['err_msg']}")
        return out

    def visit(self, rng: random.Random, psn_no: str, items: list[tuple[str, int]], lines: int) -> str:
        day = date(2022, 1, 1) + timedelta(days=rng.randint(0, 364))
        data = {"psn_no": psn_no, "begntime": f"{day} 08:00:00", "med_type": "11", "dise_codg": "J06"}
        m = str(self.send("2201", {"data": data})["output"]["data"]["mdtrt_id"])
        detail = []
        for sn in range(1, lines + 1):
            code, pric = rng.choice(items)
            detail.append({"mdtrt_id": m, "psn_no": psn_no, "feedetl_sn": str(sn), "med_list_codg": code, "chrgitm_lv": "01",
                           "cnt": "1", "pric": f"{pric / 100:.2f}", "det_item_fee_sumamt": f"{pric / 100:.2f}"})  # fmt: skip
        self.send("2204", {"feedetail": detail})
        return m

    def settle(self, m: str, psn_no: str) -> float:
        t0 = time.perf_counter()
        self.send("2207", {"data": {"mdtrt_id": m, "psn_no": psn_no}})
        return (time.perf_counter() - t0) * 1000


def _audit_alone(db: Database, policy: PolicyPack, open_visits: list[str]) -> list[float]:
    """The audit alone of each open visit's claim (its person's history as the ledger has it), ms; writes nothing."""
    out = []
    for m in open_visits:
        with db.unit_of_work() as s:
            visit = s.get(Visit, m)
            assert visit is not None
            person = find_person(s, visit.psn_no)
            claim = visits.claim_to_settle(s, visit, "settle_outpatient", "bench", "SBENCH")
            t0 = time.perf_counter()
            audit_counter.check(s, policy, claim, person, visit)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _pct(xs: list[float], q: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(q * len(ys)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--samples", type=int, default=300, help="settlements timed each way")
    ap.add_argument("--people", type=int, default=60)
    ap.add_argument("--lines", type=int, default=6, help="fee lines per visit")
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()

    before = loadavg()
    db, schema = _database(args.db)
    try:
        people = _seed(db, args.people)
        policy = load_pack(DEFAULT_POLICY)
        with db.unit_of_work() as s:
            pack = pack_in_force(s, policy)
        items = _items()
        counter = Counter(create_app(db, policy))
        rng = random.Random(2022)
        times: dict[str, list[float]] = {"off": [], "on": []}
        for i in range(args.warmup * 2 + args.samples * 2):
            mode = ("off", "on")[(i + (i // 2)) % 2]  # off, on, on, off, off, on …: neither always goes first
            os.environ[AUDIT_ENV] = "1" if mode == "on" else "0"
            psn_no = rng.choice(people)
            m = counter.visit(rng, psn_no, items, args.lines)
            ms = counter.settle(m, psn_no)
            if i >= args.warmup * 2:
                times[mode].append(ms)
        os.environ[AUDIT_ENV] = "1"
        alone = _audit_alone(db, policy, [counter.visit(rng, rng.choice(people), items, args.lines) for _ in range(200)])
        os.environ.pop(AUDIT_ENV, None)
    finally:
        db.engine.dispose()
        _drop(schema)
    after = loadavg()

    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"yibao counter audit bench — {args.db}, audit pack {pack.name} ({len(pack.enabled('during'))} rules at the counter),")
    print(f"{args.people} people, {args.lines} fee lines a visit, {args.samples} settlements (2207) each way, alternating")
    print(f"  audit off: median {off:7.2f} ms   p90 {_pct(times['off'], 0.9):7.2f} ms")
    print(f"  audit on:  median {on:7.2f} ms   p90 {_pct(times['on'], 0.9):7.2f} ms")
    pairs = [b - a for a, b in zip(times["off"], times["on"], strict=False)]
    print(f"  added by the audit: {on - off:+.2f} ms at the median (target <= 1 ms)")
    paired = statistics.median(pairs)
    print(f"  median of the paired differences (each settlement on less the one off beside it): {paired:+.2f} ms")
    print(f"  the audit alone (facts, history, rules) of one claim: median {statistics.median(alone):.3f} ms")
    print(f"  load average before {before}, after {after} ({os.cpu_count()} cores)")
    print(
        f"RESULT db={args.db} samples={args.samples} settle_off_ms={off:.2f} settle_on_ms={on:.2f} "
        f"added_ms={on - off:.2f} paired_ms={paired:.2f} "
        f"audit_alone_ms={statistics.median(alone):.3f} target_ms=1 ok={on - off <= 1.0} "
        f"pack={configured_audit_pack_name()} "
        f"loadavg_before={before.replace(' ', '/')} loadavg_after={after.replace(' ', '/')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
