"""Fuzzing the OpenAPI spec with schemathesis, on SQLite and on PostgreSQL.

Every operation of the published spec gets generated requests — valid ones and malformed,
inconsistent or out-of-range ones — with a clerk's token and, separately, an institution's
token (so the protected endpoints are exercised past 401/403). Every answer must be below 500,
and a refused request (4xx, or a national-interface ``infcode`` -1) must leave every table as
it was. ``YIBAO_FUZZ_EXAMPLES`` raises the number of examples per operation for a longer hunt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.accounts import HOSPITAL, PASSWORD
from tests.db.test_service import CERTNO, PACK, seed
from yibao.api.app import create_app
from yibao.service import ledger
from yibao.settlement.model import Claim
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Base

EXAMPLES = int(os.environ.get("YIBAO_FUZZ_EXAMPLES", "25"))
KNOWN_PEOPLE = ("P1", CERTNO)
import collections
STATS: collections.Counter = collections.Counter()


def _token(app: Any, username: str) -> str:
    transport = httpx.ASGITransport(app=app)

    async def go() -> str:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
            r.raise_for_status()
            return str(r.json()["access_token"])

    import anyio

    return anyio.run(go)


def _seed_settlement(db: Database) -> str:
    """One settlement in the ledger, so that reading and reversing have something real to find."""
    with db.unit_of_work() as s:
        claim = Claim("SEED", "P1", date(2022, 3, 10), "21", 2, "in_county", "", (), None, HOSPITAL)
        from yibao.settlement.model import PolicyRangeSummary

        claim = Claim(
            "SEED", "P1", date(2022, 3, 10), "21", 2, "in_county", "", (), PolicyRangeSummary(medfee_sumamt=500_000), HOSPITAL
        )
        done = ledger.settle_claim(s, PACK, claim, "seed", fixmedins_code=HOSPITAL)
        return str(done.entry.setl_id)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after a refused request."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.unit_of_work() as s:
        for table in Base.metadata.sorted_tables:
            rows = s.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out



class Fuzz:
    """One fuzzing run: the database, the app, who calls, and the seeded settlement."""

    def __init__(self, db: Database, role: str):
        seed(db)
        self.setl_id = _seed_settlement(db)
        self.db, self.role = db, role
        self.app = create_app(db, PACK)
        self.token = _token(self.app, role)
        self.calls: dict[str, int] = {}
        self.refused: dict[str, int] = {}


def _nudge(case: Any, fuzz: Fuzz, n: int) -> None:
    """Move some generated requests onto the seeded person, hospital and settlement, so valid ones go deep."""
    if n == 0:
        return
    params = case.path_parameters
    if isinstance(params, dict):
        if "key" in params:
            params["key"] = KNOWN_PEOPLE[n % 2]
        if "setl_id" in params:
            params["setl_id"] = fuzz.setl_id
    body, path = case.body, case.operation.path
    if not isinstance(body, dict):
        return
    if path in ("/api/settlements", "/api/settlements/preview"):
        body["psn_no"] = KNOWN_PEOPLE[n % 2]
        if n >= 2:
            body |= {"setl_date": "2022-06-30", "fixmedins_code": HOSPITAL}
    elif path == "/api/hsa" and isinstance(body.get("input"), dict):
        inp = body["input"]
        for part in ("data", "mdtrtinfo"):
            if isinstance(inp.get(part), dict):
                inp[part]["psn_no"] = "P1"
                if n >= 2:
                    inp[part]["setl_id"] = fuzz.setl_id
    elif path == "/api/auth/token":
        body["username"] = fuzz.role


def _infcode(response: Any) -> object:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("infcode") if isinstance(body, dict) else None


def _operations(fuzz: Fuzz) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz.app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role", ["clerk", "his"])
def test_fuzzed_requests_never_500_and_refusals_change_nothing(db: Database, role: str) -> None:
    fuzz = Fuzz(db, role)
    headers = {"Authorization": f"Bearer {fuzz.token}"}
    for op in _operations(fuzz):
        strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy, nudge=st.integers(0, 3))
        def run(case: Any, nudge: int) -> None:
            _nudge(case, fuzz, nudge)
            before = snapshot(fuzz.db)
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            label = f"{case.method} {case.operation.path}"
            try:
                j = response.json()
                why = (j.get("field") or (j.get("detail") or {}).get("field") if isinstance(j.get("detail"), dict) else j.get("field") or j.get("err_msg", "")[:60]) if isinstance(j, dict) else None
            except Exception:
                why = None
            STATS[(label, response.status_code, str(why))] += 1
            if response.status_code == 400 or why == "0" or why == "body":
                print("SAMPLE", label, repr(case.body)[:300], response.status_code, response.content[:400].decode(errors="replace"))
            fuzz.calls[label] = fuzz.calls.get(label, 0) + 1
            if response.status_code >= 400 or (case.operation.path == "/api/hsa" and _infcode(response) == "-1"):
                fuzz.refused[label] = fuzz.refused.get(label, 0) + 1
                assert snapshot(fuzz.db) == before, f"{label} was refused ({response.status_code}) but changed the database"

        run()
    for k, v in sorted(STATS.items()):
        print(k, v)
    with db.unit_of_work() as s:
        assert ledger.verify(s) == []
