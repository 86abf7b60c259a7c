"""Fuzzing the OpenAPI spec with schemathesis, on SQLite and on PostgreSQL.

Every operation of the published spec gets generated requests, valid ones and malformed,
inconsistent or out-of-range ones (schemathesis' positive and negative modes), with an
administrator's, a clerk's and an institution's token in turn, so the protected endpoints are
exercised past 401/403. Some generated values are moved onto the seeded person, hospital, year and
settlement so that valid requests reach the ledger. For every request:

- every schemathesis check: no 5xx, every status code, content type and body as the spec documents
  it, invalid data rejected, valid data accepted, authentication enforced (the token is given as
  the caller's own credentials, so schemathesis also tries each operation without it and with a
  wrong one). Two choices fit this API: a well-formed request that breaks a rule (an unknown
  person, a wrong password) is refused with 422, which the spec documents, so 422 counts as an
  answer to valid data; and ``/api/hsa`` answers every envelope with HTTP 200 and ``infcode`` -1
  (the national interface's convention), so it is not held to "invalid data gets a 4xx" — its
  refusals are checked below instead;
- a refusal (4xx, or ``infcode`` -1 from the national interface) changes no row of any table,
  and names the field it refuses with a Chinese message.

``YIBAO_FUZZ_EXAMPLES`` (default 6 per operation) makes the hunt longer. The regression tests
below pin the 500s the fuzzer found.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok

from tests.accounts import HOSPITAL, PASSWORD
from tests.db.test_service import CERTNO, PACK, bill, seed
from yibao.app import ledger
from yibao.app.national_transactions import TRANSACTIONS
from yibao.entrypoints.http import create_app
from yibao.settlement.model import Claim, PolicyRangeSummary
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Base

pytestmark = pytest.mark.slow  # schemathesis fuzzing: hundreds of requests per role

EXAMPLES = int(os.environ.get("YIBAO_FUZZ_EXAMPLES", "4"))  # per operation and role; raise it for a deeper run
PEOPLE = ("P1", CERTNO)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
SIGN_IN_PATHS = ("/api/auth/token", "/api/auth/password")
"""Where a refusal may change one table: ``sign_in_failures`` counts failed sign-ins per name and address."""


def _call(app: Any, method: str, path: str, token: str | None = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    """One request to the app in-process (no server)."""
    headers = (headers or {}) | ({"Authorization": f"Bearer {token}"} if token else {})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            return await client.request(method, path, headers=headers, **kw)

    # in a thread of its own: the browser tests' Playwright keeps an event loop running in the main thread
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, go).result()


def _sign_in(app: Any, username: str) -> str:
    r = _call(app, "POST", "/api/auth/token", data={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return str(r.json()["access_token"])


def _seed_settlement(db: Database) -> str:
    """One settlement in the ledger, so that reading and reversing have something real to find."""
    summary = PolicyRangeSummary(medfee_sumamt=500_000)
    claim = Claim("SEED", "P1", date(2022, 3, 10), "21", 2, "in_county", "", (), summary, HOSPITAL)
    with db.unit_of_work() as s:
        setl_id = str(ledger.settle_claim(s, PACK, claim, "seed", fixmedins_code=HOSPITAL).entry.setl_id)
        s.commit()
    return setl_id


def _seed_visits(app: Any) -> list[str]:
    """An outpatient visit and an admission with a fee line, made by the hospital over the national interface."""
    his = _sign_in(app, "his")
    messages = [
        {"infno": "2201", "input": {"data": {"psn_no": "P1", "begntime": "2022-05-01", "med_type": "11"}}},
        {"infno": "2401", "input": {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-05-01"}}},
    ]
    visits = []
    for i, env in enumerate(messages):
        r = _call(app, "POST", "/api/hsa", his, json=env | {"msgid": f"SEED{i}"}).json()
        assert r["infcode"] == "0", r
        visits.append(str(r["output"]["data"]["mdtrt_id"]))
    line = {"mdtrt_id": visits[1], "feedetl_sn": "1", "chrgitm_lv": "01", "det_item_fee_sumamt": "1200.00", "med_list_codg": "X"}
    r = _call(app, "POST", "/api/hsa", his, json={"infno": "2301", "msgid": "SEED9", "input": {"feedetail": [line]}}).json()
    assert r["infcode"] == "0", r
    return visits


_SELECTS: dict[str, list[tuple[str, str]]] = {}
"""Per dialect: each table's name and its ``SELECT`` of every column, compiled once."""


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table as the driver reads it, to compare before and after a refused request.

    The table selects go straight to the driver's cursor: taken after every refusal the fuzzer provokes, the
    snapshot was a quarter of the fuzzing's time through SQLAlchemy's result processing."""
    dialect = db.engine.dialect
    if dialect.name not in _SELECTS:
        _SELECTS[dialect.name] = [(t.name, str(sa.select(t).compile(dialect=dialect))) for t in Base.metadata.sorted_tables]
    selects = _SELECTS[dialect.name]
    with db.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            out = {}
            for name, sql in selects:
                cursor.execute(sql)
                out[name] = sorted(repr(tuple(r)) for r in cursor.fetchall())
            return out
        finally:
            cursor.close()


def ledger_count(db: Database) -> int:
    with db.unit_of_work() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _refusal(body: Any) -> dict[str, Any] | None:
    """The error object of a refusal: top level (our handlers) or under ``detail`` (401/403)."""
    if isinstance(body, dict) and isinstance(body.get("detail"), dict):
        return dict(body["detail"])
    return body if isinstance(body, dict) else None


def _nudge(case: Any, data: st.DataObject, setl_id: str, visits: list[str]) -> None:
    """Move some generated values onto what is seeded, so valid requests go past 'not found'."""
    params, body, path = case.path_parameters, case.body, case.operation.path
    if isinstance(params, dict):
        if "key" in params and data.draw(st.booleans()):
            params["key"] = data.draw(st.sampled_from(PEOPLE))
        if "setl_id" in params and data.draw(st.booleans()):
            params["setl_id"] = setl_id
    if not isinstance(body, dict):
        return
    how = data.draw(st.sampled_from(["as generated", "known person", "valid bill", "valid bill"]))
    if path in ("/api/settlements", "/api/settlements/preview") and how == "known person":
        body["psn_no"] = data.draw(st.sampled_from(PEOPLE))
    elif path in ("/api/settlements", "/api/settlements/preview") and how == "valid bill":
        # enrolled in 2022, a benefit line, the seeded hospital, a plain summary, a fresh idempotency key or none
        day = data.draw(st.dates(date(2022, 1, 1), date(2022, 12, 31)))
        case.body = {
            "psn_no": data.draw(st.sampled_from(PEOPLE)),
            "setl_date": day.isoformat(),
            "med_type": data.draw(st.sampled_from(["11", "14", "21"])),
            "fixmedins_code": data.draw(st.sampled_from([HOSPITAL, None])),
            "summary": {"medfee_sumamt": data.draw(st.integers(0, 10**8))},
        }
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "idempotency-key"}
        if data.draw(st.booleans()):
            headers["Idempotency-Key"] = data.draw(st.uuids()).hex
        case.headers = headers
    elif path == "/api/hsa" and how != "as generated":
        body["infno"] = data.draw(st.sampled_from(sorted(TRANSACTIONS)))
        inp = body.get("input")
        for part in ("data", "mdtrtinfo", "dscginfo"):
            if isinstance(inp, dict) and isinstance(inp.get(part), dict) and data.draw(st.booleans()):
                known = {
                    "psn_no": "P1",
                    "setl_id": setl_id,
                    "begntime": "2022-05-01",
                    "mdtrt_id": data.draw(st.sampled_from(visits)),
                }
                inp[part] |= known
        if isinstance(inp, dict) and isinstance(inp.get("feedetail"), list):
            for line in inp["feedetail"]:
                if isinstance(line, dict):
                    line["mdtrt_id"] = data.draw(st.sampled_from(visits))
    elif path == "/api/auth/token" and how != "as generated":
        body["username"] = data.draw(st.sampled_from(["clerk", "his"]))


CHECKS = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]}}}
)
"""Every check at its defaults, but a rule refused (422, documented) is an answer to well-formed data too."""
SETTLERS = ("clerk", "his")


def _operations(app: Any) -> list[Any]:
    results = list(schemathesis.openapi.from_asgi("/openapi.json", app, config=CHECKS).get_all_operations())
    assert all(isinstance(r, Ok) for r in results), results  # an operation schemathesis cannot read fails too
    return [r.ok() for r in results if isinstance(r, Ok)]


def _auth_is_mutated(case: Any) -> bool:
    """A negative case whose Authorization header was made invalid (left out, or of a wrong type): sent as generated,
    not with the caller's token (another header made invalid, such as Idempotency-Key, is sent with the token)."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
    if header is None or header.mode != GenerationMode.NEGATIVE:
        return False
    mutations = getattr(case.meta.phase.data, "mutations", None)
    if mutations is None:  # the phase does not say which header: as generated
        return True
    return any(m.parameter_location == ParameterLocation.HEADER and m.parameter in (None, "Authorization") for m in mutations)


@pytest.mark.parametrize("role", ["admin", "clerk", "his"])
def test_fuzzed_requests_pass_every_check_and_refusals_change_nothing(db: Database, role: str) -> None:
    seed(db)
    setl_id = _seed_settlement(db)
    app = create_app(db, PACK)
    token = _sign_in(app, role)
    visits = _seed_visits(app)
    seen: dict[str, set[int]] = {}
    last: list[dict[str, list[str]]] = []  # the database after the previous refusal: still so unless something was accepted
    for op in _operations(app):
        cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=cases, data=st.data())
        def fuzz(case: Any, data: st.DataObject) -> None:
            _nudge(case, data, setl_id, visits)
            auth = None  # mostly signed in; sometimes whatever header was generated
            if data.draw(st.integers(0, 9)) != 7 and not _auth_is_mutated(case):
                auth = {"Authorization": f"Bearer {token}"}
            before = last.pop() if last else snapshot(db)
            response = case.call(headers=auth)
            national = case.operation.path == "/api/hsa"  # HTTP 200 and infcode -1 for a refusal: checked below
            case.validate_response(response, headers=auth, excluded_checks=[negative_data_rejection] if national else None)
            label = f"{case.method} {case.operation.path}"
            seen.setdefault(label, set()).add(response.status_code)
            body = _json(response)
            hsa_refused = case.operation.path == "/api/hsa" and isinstance(body, dict) and body.get("infcode") == "-1"
            if response.status_code < 400 and not hsa_refused:
                return
            after = snapshot(db)
            if case.operation.path in SIGN_IN_PATHS:  # a refused sign-in is counted, on purpose (the lock)
                before = before | {"sign_in_failures": after["sign_in_failures"]}
            assert after == before, f"{label} was refused ({response.status_code}) but changed the database"
            last.append(after)
            if hsa_refused:
                assert CHINESE.search(body["err_msg"]), body
                return
            error = _refusal(body)
            if response.status_code == 400 and error is not None and error.get("detail") == "There was an error parsing the body":
                return  # FastAPI's own answer to a body that is not UTF-8 (app.py's handlers): reported to the lead
            assert error is not None and error.get("field") and CHINESE.search(str(error.get("message"))), (label, body)

        fuzz()
    # the token took every operation past sign-in, and settling (for the roles that may) past the permission check
    assert all(codes - {401} for codes in seen.values()), seen
    assert role not in SETTLERS or seen["POST /api/settlements"] - {401, 403}, seen
    with db.unit_of_work() as s:
        assert ledger.verify(s) == []


# ------------------------------------------------------------------ regressions: 500s the fuzzer found


@pytest.fixture
def app(db: Database) -> Any:
    seed(db)
    return create_app(db, PACK)


def _hsa(app: Any, token: str, infno: str, inp: object, msgid: str = "M1") -> dict[str, Any]:
    r = _call(app, "POST", "/api/hsa", token, json={"infno": infno, "msgid": msgid, "input": inp})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _refused_naming(out: dict[str, Any], field: str) -> None:
    assert out["infcode"] == "-1", out
    assert f"字段 {field} " in out["err_msg"], out["err_msg"]


def _admission(app: Any, his: str) -> str:
    out = _hsa(app, his, "2401", {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-05-01"}}, "ADMIT")
    assert out["infcode"] == "0", out
    return str(out["output"]["data"]["mdtrt_id"])


def _line(mdtrt_id: str, sn: str = "1") -> dict[str, object]:
    return {
        "mdtrt_id": mdtrt_id,
        "feedetl_sn": sn,
        "chrgitm_lv": "01",
        "det_item_fee_sumamt": "100.00",
        "med_list_codg": "X",
    }


NUL_REQUESTS: list[tuple[str, str, dict[str, Any], str]] = [
    # PostgreSQL refuses NUL in any text it stores or compares: "text fields cannot contain NUL (0x00) bytes"
    ("GET", "/api/persons", {"params": {"q": "\x00"}}, "q"),
    ("GET", "/api/persons/P%001", {}, "key"),
    ("GET", "/api/persons/%00/position", {}, "key"),
    ("GET", "/api/settlements/S%00", {}, "setl_id"),
    ("POST", "/api/settlements", {"json": bill(100, psn_no="P\x001")}, "psn_no"),
    ("POST", "/api/settlements/preview", {"json": bill(100, dise_codg="I1\x000")}, "dise_codg"),
    ("POST", "/api/persons/P1/chronic-filings", {"json": {"dise_codg": "I10\x00", "begin": "2022-01-01"}}, "dise_codg"),
]


def test_nul_characters_are_refused_naming_the_field(db: Database, app: Any) -> None:
    clerk = _sign_in(app, "clerk")
    before = snapshot(db)
    for method, path, kw, field in NUL_REQUESTS:
        r = _call(app, method, path, clerk, **kw)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["field"] == field and "NUL" in r.json()["message"], (path, r.json())
    assert snapshot(db) == before


def test_a_user_name_with_nul_is_refused_like_a_wrong_password(db: Database, app: Any) -> None:
    before = snapshot(db)
    r = _call(app, "POST", "/api/auth/token", data={"username": "\x00", "password": "whatever 1"})
    assert r.status_code == 422 and r.json()["field"] == "password", r.text  # PostgreSQL: 500 before
    assert snapshot(db) == before


def test_nul_in_a_national_message_is_refused_naming_the_field(db: Database, app: Any) -> None:
    his = _sign_in(app, "his")
    before = snapshot(db)
    out = _hsa(app, his, "2201", {"data": {"psn_no": "P1", "begntime": "2022-05-01", "dise_codg": "I\x0010"}})
    _refused_naming(out, "input.data.dise_codg")
    assert snapshot(db) == before


def test_long_idempotency_keys_and_msgids_still_settle_exactly_once(db: Database, app: Any) -> None:
    # "rest:clerk:" + a 64-character key overflowed message.msgid (64) on PostgreSQL
    headers = {"Idempotency-Key": "K" * 64}
    clerk = _sign_in(app, "clerk")
    first = _call(app, "POST", "/api/settlements", clerk, json=bill(1_000), headers=headers)
    again = _call(app, "POST", "/api/settlements", clerk, json=bill(1_000), headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() and ledger_count(db) == 1
    his = _sign_in(app, "his")
    env = {"psn_no": "P1", "begntime": "2022-05-01"}
    one, two = (_hsa(app, his, "2201", {"data": env}, "m" * 64) for _ in range(2))
    assert one["infcode"] == two["infcode"] == "0" and one["output"] == two["output"]


FEE_LINES: list[tuple[dict[str, object], str]] = [
    ({"det_item_fee_sumamt": "1e30"}, "det_item_fee_sumamt"),  # an integer too large for BIGINT / SQLite INTEGER
    ({"det_item_fee_sumamt": 10**25}, "det_item_fee_sumamt"),
    ({"pric": "1E+999999999"}, "pric"),  # decimal.Overflow; never an integer of a billion digits
    ({"cnt": "1.0000000000000000000000001"}, "cnt"),  # fee_line.cnt is VARCHAR(24)
    ({"cnt": "1e7"}, "cnt"),  # the REST API's bound
    ({"feedetl_sn": "9" * 41}, "feedetl_sn"),  # VARCHAR(40), (64), (128) on PostgreSQL
    ({"med_list_codg": "X" * 65}, "med_list_codg"),
    ({"med_list_name": "药" * 129}, "med_list_name"),
]
VISIT_FIELDS: list[tuple[dict[str, str], str]] = [
    ({"ipt_otp_no": "Z" * 41}, "ipt_otp_no"),  # visit columns: VARCHAR(40), (3), (8), (32)
    ({"insutype": "3900"}, "insutype"),
    ({"med_type": "123456789"}, "med_type"),
    ({"dise_codg": "I" * 33}, "dise_codg"),
]


def test_out_of_range_national_values_are_refused_naming_the_field(db: Database, app: Any) -> None:
    his = _sign_in(app, "his")
    mdtrt_id = _admission(app, his)
    before = snapshot(db)
    for line, field in FEE_LINES:
        _refused_naming(_hsa(app, his, "2301", {"feedetail": [_line(mdtrt_id) | line]}), field)
    for data, field in VISIT_FIELDS:
        _refused_naming(_hsa(app, his, "2201", {"data": {"psn_no": "P1", "begntime": "2022-05-01"} | data}), field)
    assert snapshot(db) == before


def test_an_upload_of_many_fee_lines_is_recorded_and_corrected(db: Database, app: Any) -> None:
    # the message's effect listed every line number and overflowed VARCHAR(80) on PostgreSQL: a 500 for a valid upload
    his = _sign_in(app, "his")
    mdtrt_id = _admission(app, his)
    lines = [_line(mdtrt_id, f"LINE-{i:04d}") for i in range(40)]
    assert _hsa(app, his, "2301", {"feedetail": lines}, "UPLOAD")["infcode"] == "0"
    fixed = _hsa(app, his, "2601", {"data": {"omsgid": "UPLOAD", "oinfno": "2301"}}, "FIX")
    assert fixed["infcode"] == "0", fixed
    with db.unit_of_work() as s:
        from yibao.store.service_tables import FeeLineRow

        flags = s.scalars(sa.select(FeeLineRow.cancelled).where(FeeLineRow.mdtrt_id == mdtrt_id)).all()
    assert len(flags) == 40 and all(flags)


def test_a_deeply_nested_national_message_is_refused(app: Any) -> None:
    r = _call(app, "POST", "/api/hsa", _sign_in(app, "his"), content=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["infcode"] == "-1" and "JSON" in r.json()["err_msg"]


def test_an_overlong_reversal_reason_is_refused(db: Database, app: Any) -> None:
    his = _sign_in(app, "his")
    done = _call(app, "POST", "/api/settlements", his, json=bill(1_000) | {"fixmedins_code": None})
    assert done.status_code == 201, done.text
    before = snapshot(db)
    out = _hsa(app, his, "2208", {"data": {"setl_id": done.json()["setl_id"], "reason": "错" * 256}})
    _refused_naming(out, "reason")  # ledger.reason is VARCHAR(255)
    assert snapshot(db) == before


def test_an_overlong_display_name_is_refused(db: Database, app: Any) -> None:
    body = {"username": "clerk2", "password": "long enough 1", "role": "clerk", "display_name": "名" * 65}
    r = _call(app, "POST", "/api/accounts", _sign_in(app, "admin"), json=body)
    assert r.status_code == 422 and r.json()["field"] == "display_name", r.text
