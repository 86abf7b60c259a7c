"""Large requests do not hold up the service, and requests too large to serve are refused with the limit named.

A live uvicorn server on SQLite and PostgreSQL: one caller sends a large request whole — an identity workbook
with 8,000 bad rows to preview, or a 2301 with as many fee lines as one message may carry — and then another
caller asks ``/api/health`` again and again until the large request's answer begins to arrive. Each health
answer before that is counted; the large request's work runs in the thread pool, so the event loop goes on
answering. (Run on the event loop, as they were, the count stays at a few, those answered while the server
was still reading the large body: nothing is timed, only counted.)
"""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.accounts import PASSWORD, login
from tests.db.test_fuzz import snapshot
from tests.db.test_service import PACK, seed
from tests.live import live_server
from yibao.core.settings import Limits
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import FeeLineRow

HEALTH_ANSWERS = 3
"""Health answers that must arrive while a large request runs (on the event loop, none did: 0 in every run). Not more:
how many arrive is how long the request takes at 20 ms a poll, and a quiet machine takes a 2,000-line 2301 in a few
tenths of a second (6 answers in one CI run, against 10 asked then)."""
BAD_ROWS = 2_000
POLL_PAUSE = 0.02
"""Seconds between health calls: a tight loop would starve the request it is watching of the GIL."""
FEE_LINES = 2_000
HEADERS = "序号,村（社区）,姓名,身份证号码,救助类别,享受开始日期"


@pytest.fixture
def url(db: Database) -> Iterator[str]:
    seed(db)
    app = create_app(db, PACK)
    app.state.limits = Limits(hsa_fee_lines=FEE_LINES)
    with live_server(app) as base:
        yield base


def web_session(url: str, user: str) -> tuple[httpx.Client, str]:
    """A signed-in window session over HTTP and its CSRF token."""
    client = httpx.Client(base_url=url, timeout=600)
    form = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": token.group(1)})
    assert r.status_code in (200, 303), r.text
    page = client.get("/imports").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, page[:500]
    return client, csrf.group(1)


def send(url: str, request: httpx.Request) -> socket.socket:
    """Send ``request`` whole over a socket of its own (``Connection: close``); the answer is read with :func:`answer`."""
    where = httpx.URL(url)
    sock = socket.create_connection((where.host, where.port or 80))
    body = request.read()
    head = [f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1", f"Host: {where.host}:{where.port}"]
    head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "connection")]
    sock.sendall(("\r\n".join([*head, "Connection: close"]) + "\r\n\r\n").encode("latin-1") + body)
    return sock


def answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of the answer on ``sock`` (read to its end)."""
    data = b""
    while chunk := sock.recv(1 << 16):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def health_answers_during(url: str, request: httpx.Request) -> tuple[int, int, bytes]:
    """Send ``request`` (all of it), then ask /api/health until its answer begins to arrive.

    Returns (health answers received before the large request was answered, its status, its body)."""
    sock = send(url, request)
    answers = 0
    with httpx.Client(base_url=url, timeout=600) as client:
        while not answered(sock):
            r = client.get("/api/health")
            assert r.status_code == 200, r.text
            if not answered(sock):
                answers += 1
            time.sleep(POLL_PAUSE)  # a caller's pace, not a busy loop that takes the GIL from the worker thread
    status, body = answer(sock)
    return answers, status, body


def bad_roster(path: Path, rows: int) -> Path:
    body = "".join(f"{i},那招村,张三,5309021962,临时救助,去年\n" for i in range(1, rows + 1))
    path.write_text(HEADERS + "\n" + body, encoding="utf-8")
    return path


def admission(url: str, his: dict[str, str]) -> str:
    env = {"infno": "2401", "msgid": "ADMIT", "input": {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-05-01"}}}
    out = httpx.post(f"{url}/api/hsa", json=env, headers=his, timeout=60).json()
    assert out["infcode"] == "0", out
    return str(out["output"]["data"]["mdtrt_id"])


def fee_lines(mdtrt_id: str, n: int) -> list[dict[str, str]]:
    return [
        {
            "mdtrt_id": mdtrt_id,
            "feedetl_sn": f"L{i:05d}",
            "chrgitm_lv": "01",
            "det_item_fee_sumamt": "10.00",
            "med_list_codg": "X",
        }
        for i in range(n)
    ]


@pytest.mark.slow  # a large run: the full suite has it, the quick command leaves it out
def test_health_keeps_answering_while_a_large_import_is_previewed(url: str, tmp_path: Path) -> None:
    client, csrf = web_session(url, "clerk")
    data = bad_roster(tmp_path / "民政.csv", BAD_ROWS).read_bytes()
    preview = client.build_request(
        "POST", "/imports/preview", data={"csrf": csrf, "source": "民政"}, files={"file": ("民政.csv", data)}
    )
    answers, status, page = health_answers_during(url, preview)
    assert answers >= HEALTH_ANSWERS, answers
    assert status == 422 and b"errors.xlsx" in page, page[-2000:].decode()  # every row bad: nothing to import


@pytest.mark.slow  # a large run: the full suite has it, the quick command leaves it out
def test_health_keeps_answering_while_a_large_2301_is_uploaded(url: str, db: Database) -> None:
    his = login(url, "his")
    mdtrt_id = admission(url, his)
    env = {"infno": "2301", "msgid": "BIG", "input": {"feedetail": fee_lines(mdtrt_id, FEE_LINES)}}
    upload = httpx.Client(base_url=url).build_request("POST", "/api/hsa", json=env, headers=his)
    answers, status, body = health_answers_during(url, upload)
    assert answers >= HEALTH_ANSWERS, answers
    assert status == 200 and json.loads(body)["infcode"] == "0", body[:2000]
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FeeLineRow)) == FEE_LINES


def test_a_2301_with_more_fee_lines_than_one_message_may_carry_is_refused(url: str, db: Database) -> None:
    his = login(url, "his")
    mdtrt_id = admission(url, his)
    before = snapshot(db)
    env = {"infno": "2301", "msgid": "TOO-MANY", "input": {"feedetail": fee_lines(mdtrt_id, FEE_LINES + 1)}}
    out = httpx.post(f"{url}/api/hsa", json=env, headers=his, timeout=600).json()
    assert out["infcode"] == "-1" and out["inf_refmsgid"] == "TOO-MANY", out
    assert "input.feedetail" in out["err_msg"] and f"至多 {FEE_LINES} 条费用明细" in out["err_msg"], out["err_msg"]
    assert snapshot(db) == before


def test_a_national_message_longer_than_the_limit_is_refused_unread(db: Database) -> None:
    seed(db)
    app = create_app(db, PACK)
    app.state.limits = Limits(hsa_bytes=4096)
    with live_server(app) as url:
        his = login(url, "his")
        before = snapshot(db)
        env = {"infno": "1101", "msgid": "LONG", "input": {"data": {"psn_no": "P1", "pad": "x" * 5000}}}
        r = httpx.post(f"{url}/api/hsa", json=env, headers=his, timeout=60)
        assert r.status_code == 200 and r.json()["infcode"] == "-1", r.text
        assert "报文过大" in r.json()["err_msg"] and "4,096 字节" in r.json()["err_msg"], r.json()
        # the same without a declared length (chunked): counted as it arrives
        body = iter([b'{"infno": "1101", "msgid": "LONG2", "input": {"data": {"pad": "', b"x" * 5000, b'"}}}'])
        r = httpx.post(f"{url}/api/hsa", content=body, headers=his | {"Content-Type": "application/json"}, timeout=60)
        assert r.json()["infcode"] == "-1" and "报文过大" in r.json()["err_msg"], r.text
        assert snapshot(db) == before


def test_the_window_refuses_a_workbook_declaring_a_million_rows_before_reading_it(db: Database, tmp_path: Path) -> None:
    from tests.unit.test_upload_limits import _declaring

    seed(db)
    app = create_app(db, PACK)
    with live_server(app) as url:
        client, csrf = web_session(url, "clerk")
        data = _declaring(tmp_path / "名册.xlsx", "A1:M1000000").read_bytes()
        r = client.post("/imports/preview", data={"csrf": csrf, "source": "民政"}, files={"file": ("名册.xlsx", data)})
    assert r.status_code == 422, r.status_code
    assert "声明了 1,000,000 行" in r.text and "上限 500,000 行" in r.text, r.text[-3000:]
