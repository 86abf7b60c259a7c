"""The server's cost of one settlement, without HTTP: CPU and SQL statements per REST settle (a script that prints
figures, not a test).

Seeds the demo county (``yibao.app.demo``) on SQLite and on PostgreSQL, then settles random summarised bills for
random enrolled residents through the service's own functions, on this thread, as the REST route does: exactly
once by an Idempotency-Key (:func:`yibao.app.settlements.once_json`), the claim from the request, the one read, the
pure core, the write, the answer serialised. Prints the statements one settlement sends through the database
driver, CPU milliseconds (this process) and wall milliseconds per settlement, with the load average; the database
server's own CPU (PostgreSQL) is not in the figure.

    .venv/bin/python bench/settle_path.py                      # both databases, 500 settlements each
    .venv/bin/python bench/settle_path.py --db sqlite -n 2000
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from machine import loadavg
from sqlalchemy import event
from sqlalchemy.orm import Session

from yibao.app import ledger, settlements
from yibao.app.auth import Principal
from yibao.app.demo import ensure_demo
from yibao.app.schemas import ClaimIn
from yibao.policy import load_pack
from yibao.store.db import Database, make_engine, upgrade
from yibao.store.tables import Enrolment, Person

PG_URL = os.environ.get("YIBAO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOSPITAL = "H53090200001"
YEAR = 2022
CLERK = Principal("clerk", "clerk", None, "经办")


def open_db(kind: str, folder: Path) -> tuple[Database, str | None]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        schema = None
    else:
        schema = "bench_" + uuid.uuid4().hex[:10]
        with make_engine(PG_URL).begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)
    upgrade(engine)
    return Database(engine), schema


def residents(db: Database) -> list[str]:
    with db.unit_of_work() as s:
        return list(
            s.scalars(
                sa.select(Person.psn_no)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .where(Enrolment.year == YEAR, Enrolment.psn_insu_stas == "1", Enrolment.insutype == "390")
                .where(sa.or_(Person.insutype.is_(None), Person.insutype == "390"))
                .order_by(Person.psn_no)
            )
        )


def bill(rng: random.Random, psn_no: str) -> ClaimIn:
    day = date(YEAR, 1, 1) + timedelta(days=rng.randrange(365))
    med_type = rng.choice(["21", "21", "11"])
    total = rng.randrange(10_000, 5_000_000) if med_type == "21" else rng.randrange(1_000, 50_000)
    return ClaimIn.model_validate(
        {"psn_no": psn_no, "setl_date": day.isoformat(), "med_type": med_type, "fixmedins_code": HOSPITAL,
         "summary": {"medfee_sumamt": total, "fulamt_ownpay_amt": total // 20}}
    )  # fmt: skip


def settle_one(db: Database, pack: Any, body: ClaimIn) -> bytes:
    """As ``POST /api/settlements`` with an Idempotency-Key does, less HTTP and the request's validation."""

    def work(s: Session) -> tuple[dict[str, Any], str]:
        done = settlements.settle(s, pack, body, CLERK, None, mdtrt_id=None)
        return settlements.settlement_json(done.settlement, done.entry.setl_id, audit=done.audit), f"settle:{done.entry.setl_id}"

    key = ledger.message_key("rest", CLERK.username, uuid.uuid4().hex)
    return settlements.once_json(db, key, "settle", CLERK.username, body.model_dump(mode="json"), work)[1]


def run(kind: str, n: int, people: int) -> tuple[int, float, float]:
    pack = load_pack("anhui-huaibei-2022")
    with tempfile.TemporaryDirectory() as tmp:
        db, schema = open_db(kind, Path(tmp))
        try:
            ensure_demo(db, persons=people, seed=7)
            psn = residents(db)
            rng = random.Random(1)
            for _ in range(50):  # warm: statement caches, prepared statements, first claims of the year
                settle_one(db, pack, bill(rng, rng.choice(psn)))
            seen: list[str] = []
            event.listen(db.engine, "before_cursor_execute", lambda c, cur, text, *a: seen.append(text))
            settle_one(db, pack, bill(rng, rng.choice(psn)))
            statements = sum(not t.lstrip().upper().startswith("BEGIN") for t in seen)
            bodies = [bill(rng, rng.choice(psn)) for _ in range(n)]
            cpu, wall = time.process_time(), time.perf_counter()
            for body in bodies:
                settle_one(db, pack, body)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            db.engine.dispose()
            if schema:
                with make_engine(PG_URL).begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    return statements, 1000 * cpu / n, 1000 * wall / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("-n", type=int, default=500, help="settlements measured per database")
    ap.add_argument("--people", type=int, default=300)
    a = ap.parse_args()
    figures = []
    for kind in a.db.split(","):
        statements, cpu_ms, wall_ms = run(kind, a.n, a.people)
        print(f"{kind}: {statements} statements per settlement (BEGIN and COMMIT aside), {cpu_ms:.2f} ms CPU and "
              f"{wall_ms:.2f} ms wall per settlement in-process, n={a.n} (load {loadavg()})", flush=True)  # fmt: skip
        figures.append(f"{kind}_statements={statements} {kind}_cpu_ms={cpu_ms:.2f}")
    print("RESULT settle_path " + " ".join(figures) + f" load={loadavg().split()[0]}")


if __name__ == "__main__":
    main()
