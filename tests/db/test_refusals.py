"""Requests that were answered with a 500 (or a traceback) are refused with a clear 4xx, on SQLite and PostgreSQL.

NUL characters in query and path parameters (PostgreSQL can neither store nor compare them), numbers
beyond the database's integers, a township whose name Excel refuses as a sheet name, a text file named
``.xlsx`` (the window, the REST API and the CLI), and a database connection lost in the middle of a
national-interface transaction (the envelope with a Chinese message, not a plain-text 500). Every
operation of the OpenAPI schema documents the refusals it answers.
"""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.accounts import HOSPITAL, PASSWORD, login
from tests.conftest import PG_URL
from tests.db.test_fuzz import _call, _sign_in, snapshot
from tests.db.test_service import PACK, seed
from tests.db.test_service import bill as bill_of
from tests.live import live_server
from yibao.app import ledger
from yibao.entrypoints.cli.main import app as cli_app
from yibao.entrypoints.http import create_app
from yibao.settlement.model import Claim, PolicyRangeSummary
from yibao.store.db import Database
from yibao.store.tables import Person

CHINESE = re.compile(r"[\u4e00-\u9fff]")
NOT_A_WORKBOOK = "不是有效的 Excel 工作簿"
TEXT = "姓名,身份证号码\n张三,530902196207040026\n".encode()
BIG = (2**31, 2**40, 2**63, 2**70)


@pytest.fixture
def app(db: Database) -> FastAPI:
    seed(db, category="tuopin")
    return create_app(db, PACK)


def web(app: FastAPI, user: str) -> tuple[TestClient, str]:
    """A signed-in window session and its CSRF token."""
    client = TestClient(app)
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert csrf
    return client, csrf.group(1)


def refused(r: Any, status: int, field: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["field"] == field and CHINESE.search(body["message"]), body


# ------------------------------------------------------------------ NUL and numbers too large


NUL_QUERIES = [
    ("/api/warnings", "q"),
    ("/api/warnings", "township"),
    ("/api/warnings", "village"),
    ("/api/warnings/export.xlsx", "q"),
    ("/api/warnings/export.xlsx", "township"),
]


def test_nul_in_query_parameters_is_refused_naming_the_parameter(db: Database, app: FastAPI) -> None:
    mon, auditor = _sign_in(app, "monitoring"), _sign_in(app, "auditor")
    before = snapshot(db)
    for path, name in NUL_QUERIES:
        refused(_call(app, "GET", path, mon, params={name: "那招\x00村"}), 422, name)
    span = {"begin": "2022-01-01", "end": "2022-12-31"}
    refused(
        _call(app, "GET", "/api/reconcile/totals", auditor, params={"fixmedins_code": "H\x00", **span}), 422, "fixmedins_code"
    )
    params = {"fixmedins_code": HOSPITAL, "insutype": "3\x0090", **span}
    refused(_call(app, "GET", "/api/reconcile/totals", auditor, params=params), 422, "insutype")
    body = {"fixmedins_code": HOSPITAL, **span, "detail": [{"setl_id": "S\x001", "medfee_sumamt": "1", "fund_pay_sumamt": "1"}]}
    refused(_call(app, "POST", "/api/reconcile/detail", auditor, json=body), 422, "detail.0.setl_id")
    step = {"to": "closed", "note": "已核实\x00"}
    refused(_call(app, "POST", "/api/warnings/1/steps", mon, json=step), 422, "note")
    assert snapshot(db) == before


def test_nul_in_a_window_path_is_not_found(app: FastAPI) -> None:
    client, csrf = web(app, "clerk")
    for path in ("/persons/P%001", "/settlements/S%001/slip", "/settlements/S%001/slip.pdf"):
        r = client.get(path)
        assert r.status_code == 404 and "未找到" in r.text, (path, r.status_code)
    r = client.post("/settlements/S%001/reverse", data={"csrf": csrf, "reason": "录入错误", "idem": "a" * 24})
    assert r.status_code == 404 and "未找到" in r.text, r.status_code
    monitor, csrf = web(app, "monitoring")
    for n in BIG:
        r = monitor.post(f"/warnings/{n}/step", data={"csrf": csrf, "to": "closed", "close_note": "x"})
        assert r.status_code == 404 and "未找到" in r.text, (n, r.status_code)


def test_ids_and_offsets_beyond_the_database_integers_are_refused(db: Database, app: FastAPI) -> None:
    mon = _sign_in(app, "monitoring")
    before = snapshot(db)
    for n in BIG:
        refused(_call(app, "GET", f"/api/warnings/{n}", mon), 422, "warning_id")
        refused(_call(app, "GET", f"/api/warnings/-{n}", mon), 422, "warning_id")
        refused(_call(app, "POST", f"/api/warnings/{n}/steps", mon, json={"to": "closed", "note": "x"}), 422, "warning_id")
        refused(_call(app, "GET", "/api/warnings", mon, params={"offset": str(n)}), 422, "offset")
    assert _call(app, "GET", f"/api/warnings/{2**31 - 1}", mon).status_code == 404  # the largest id: simply unknown
    assert snapshot(db) == before


def test_a_date_is_written_yyyy_mm_dd(db: Database, app: FastAPI) -> None:
    # pydantic reads a number as a Unix timestamp: ?on=-5e-113 was 1 January 1970 (schemathesis, every check)
    clerk, auditor = _sign_in(app, "clerk"), _sign_in(app, "auditor")
    before = snapshot(db)
    refused(_call(app, "GET", "/api/persons/P1", clerk, params={"on": "-5.058913580159011e-113"}), 422, "on")
    refused(
        _call(app, "POST", "/api/persons/P1/chronic-filings", clerk, json={"dise_codg": "I10", "begin": 1_700_000_000}),
        422,
        "begin",
    )
    span = {"fixmedins_code": HOSPITAL, "begin": "1656547200", "end": "2022-12-31"}
    refused(_call(app, "GET", "/api/reconcile/totals", auditor, params=span), 422, "begin")
    refused(
        _call(app, "POST", "/api/settlements/preview", clerk, json={**bill_of(100), "setl_date": 1646870400}), 422, "setl_date"
    )
    assert _call(app, "GET", "/api/persons/P1", clerk, params={"on": "2022-06-30"}).status_code == 200
    assert snapshot(db) == before


# ------------------------------------------------------------------ a township named with characters Excel refuses


TOWNSHIP = "博尚/镇[一]:*?\\"


def _warned(db: Database, app: FastAPI) -> str:
    with db.unit_of_work() as s:
        s.execute(sa.update(Person).where(Person.psn_no == "P1").values(township=TOWNSHIP))
        s.commit()
    # A stable-脱贫 (tuopin) person's in-county level-2 admission of 60,000 yuan, 8,000 of it outside
    # the catalogue. Under the Huaibei pack: policy range 52,000; deductible 500; basic pays
    # 91.80% of 51,500 = 47,277; cumulative base 4,723 stays under the 15,000 critical-illness
    # line; assistance and tilted assistance do not apply to tuopin. Self-pay = 500 + 4,223 + 8,000
    # = 12,723 yuan, over the watched line of 25% x 30,000 = 7,500 yuan (the 8,000 outside the
    # catalogue alone crosses it, whatever the ratios are calibrated to).
    summary = PolicyRangeSummary(medfee_sumamt=6_000_000, fulamt_ownpay_amt=800_000)
    claim = Claim("C1", "P1", date(2022, 3, 10), "21", 2, "in_county", "", (), summary, HOSPITAL)
    with db.unit_of_work() as s:
        ledger.settle_claim(s, PACK, claim, "clerk", fixmedins_code=HOSPITAL)
        s.commit()
    mon = _sign_in(app, "monitoring")
    assert _call(app, "POST", "/api/monitoring/runs", mon, json={"period": "2022-03"}).json()["created"] == 1
    return mon


def _sheet_of(data: bytes) -> Any:
    book = load_workbook(io.BytesIO(data))
    assert len(book.worksheets) == 1
    ws = book.worksheets[0]
    assert not set(ws.title) & set("/\\?*:[]") and ws.title.startswith("博尚")
    assert str(ws["A1"].value).startswith(TOWNSHIP)  # the title row names the township as written
    return ws


def test_a_township_named_with_characters_excel_refuses_exports_its_push_list(db: Database, app: FastAPI) -> None:
    mon = _warned(db, app)
    r = _call(app, "GET", "/api/warnings/export.xlsx", mon)
    assert r.status_code == 200, r.text[:300]
    _sheet_of(r.content)
    client, _ = web(app, "monitoring")
    r = client.get("/warnings/export.xlsx")
    assert r.status_code == 200, r.text[:300]
    _sheet_of(r.content)


# ------------------------------------------------------------------ a text file named .xlsx


def test_a_text_file_named_xlsx_is_refused_in_the_window(db: Database, app: FastAPI) -> None:
    (clerk, csrf), (mon, mon_csrf) = web(app, "clerk"), web(app, "monitoring")
    before = snapshot(db)
    r = clerk.post("/imports/preview", data={"csrf": csrf, "source": "民政"}, files={"file": ("名册.xlsx", TEXT)})
    assert r.status_code == 422 and NOT_A_WORKBOOK in r.text, (r.status_code, r.text[-1500:])
    r = mon.post("/warnings/import", data={"csrf": mon_csrf}, files={"file": ("回执.xlsx", TEXT)})
    assert r.status_code == 422 and "回执.xlsx" in r.text, r.status_code
    assert snapshot(db) == before


def test_a_text_file_named_xlsx_is_refused_by_the_api(db: Database, app: FastAPI) -> None:
    mon = _sign_in(app, "monitoring")
    before = snapshot(db)
    refused(_call(app, "POST", "/api/warnings/import", mon, files={"file": ("回执.xlsx", TEXT)}), 422, "file")
    assert snapshot(db) == before


def test_a_text_file_named_xlsx_is_refused_by_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "名册.xlsx"
    path.write_bytes(TEXT)
    env = {"YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}
    run = CliRunner().invoke(cli_app, ["import", "identities", str(path), "--source", "民政"], env=env)
    assert run.exit_code == 2 and (run.exception is None or isinstance(run.exception, SystemExit)), run.exception
    assert NOT_A_WORKBOOK in run.output and "Traceback" not in run.output, run.output


# ------------------------------------------------------------------ a database connection lost mid-transaction


def test_a_connection_lost_during_a_national_transaction_answers_the_envelope(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a server connection to lose: PostgreSQL")
    seed(db)
    schema = db.pg_schema  # type: ignore[attr-defined]
    app = create_app(db, PACK)
    with live_server(app) as url:
        his = login(url, "his")
        env = {"infno": "1101", "msgid": "M1", "input": {"data": {"psn_no": "P1"}}}
        assert httpx.post(f"{url}/api/hsa", json=env, headers=his, timeout=60).json()["infcode"] == "0"
        holder = sa.create_engine(PG_URL)
        answer: dict[str, Any] = {}
        with holder.connect() as conn:
            conn.execute(sa.text(f'LOCK TABLE "{schema}".person IN ACCESS EXCLUSIVE MODE'))  # 1101 must wait for it
            asking = threading.Thread(
                target=lambda: answer.update(r=httpx.post(f"{url}/api/hsa", json=env | {"msgid": "M2"}, headers=his, timeout=120))
            )
            asking.start()
            waiting = None
            for _ in range(600):  # until the service's transaction waits on the lock (a guard, not a timing)
                waiting = conn.execute(
                    sa.text("SELECT pid FROM pg_locks WHERE NOT granted AND relation = CAST(:t AS regclass)"),
                    {"t": f'"{schema}".person'},
                ).scalar()
                if waiting is not None:
                    break
                time.sleep(0.05)
            assert waiting is not None, "the service never waited on the lock"
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting})
            conn.rollback()
            asking.join()
        holder.dispose()
        r = answer["r"]
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), (r.status_code, r.text)
        out = r.json()
        assert out["infcode"] == "-1" and out["inf_refmsgid"] == "M2" and "数据库连接中断" in out["err_msg"], out
        # the service goes on: the same message again is answered
        again = httpx.post(f"{url}/api/hsa", json=env | {"msgid": "M2"}, headers=his, timeout=60).json()
        assert again["infcode"] == "0", again


# ------------------------------------------------------------------ the refusals in the OpenAPI schema


def test_every_operation_documents_its_refusals(app: FastAPI) -> None:
    spec = TestClient(app).get("/openapi.json").json()
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            needed = set()
            if op.get("security"):
                needed |= {"401", "403"}
            if op.get("parameters") or op.get("requestBody"):
                needed.add("422")
            for code in sorted(needed - codes):
                missing.append(f"{method.upper()} {path}: {code}")
            for code in codes - {"200", "201"}:
                schema = op["responses"][code].get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("4") and not schema:
                    missing.append(f"{method.upper()} {path}: {code} has no body schema")
    assert not missing, "\n".join(missing)
