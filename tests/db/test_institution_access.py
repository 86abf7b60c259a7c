"""A hospital's account over real HTTP on SQLite and PostgreSQL: it sees a person only through the national
interface (1101 with the person's ID number) and only what 1101 answers; the registry's REST routes refuse
it; no answer tells whether another institution's settlement exists."""

from __future__ import annotations

from typing import Any

import httpx

from tests.accounts import OTHER_HOSPITAL, login
from tests.db.test_service import CERTNO, PACK, bill, seed
from tests.live import live_server
from yibao.entrypoints.http import create_app
from yibao.store.db import Database

REGISTRY = [
    ("GET", "/api/persons?q=杨"),
    ("GET", "/api/persons?q=" + CERTNO),
    ("GET", "/api/persons/P1"),
    ("GET", f"/api/persons/{CERTNO}"),
    ("GET", "/api/persons/P1?on=2022-05-01"),
    ("GET", "/api/persons/P1/settlement-view"),
    ("GET", f"/api/persons/{CERTNO}/settlement-view"),
    ("GET", "/api/persons/P1/position"),
]


def test_the_registry_refuses_a_hospital_and_1101_answers_what_it_answers(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        his, clerk = login(url, "his"), login(url, "clerk")
        for method, path in REGISTRY:
            refused = httpx.request(method, url + path, headers=his)
            assert refused.status_code == 403, (path, refused.text)
            assert "无权" in refused.json()["detail"]["message"] and "杨桂芳" not in refused.text
            assert httpx.request(method, url + path, headers=clerk).status_code == 200, path
        filing = {"dise_codg": "I10", "begin": "2022-01-01"}
        assert httpx.post(f"{url}/api/persons/P1/chronic-filings", json=filing, headers=his).status_code == 403
        # the national interface: 1101 with the person's ID number
        env = {"infno": "1101", "msgid": "Q1", "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO}}}
        out = httpx.post(f"{url}/api/hsa", json=env, headers=his).json()
        assert out["infcode"] == "0", out
        assert set(out["output"]) == {"baseinfo", "insuinfo", "idetinfo"}
        assert out["output"]["baseinfo"]["certno"] == CERTNO and out["output"]["baseinfo"]["psn_name"] == "杨桂芳"
        assert [i["psn_idet_type"] for i in out["output"]["idetinfo"]] == ["dibao"]


def _same(a: httpx.Response, a_id: str, b: httpx.Response, b_id: str) -> None:
    """Two answers alike but for the id each was asked about."""
    assert a.status_code == b.status_code, (a.status_code, b.status_code, a.text, b.text)
    assert a.headers["content-type"] == b.headers["content-type"]
    assert a.text.replace(a_id, "<id>") == b.text.replace(b_id, "<id>"), (a.text, b.text)


def _hsa_error(url: str, headers: dict[str, str], infno: str, setl_id: str, msgid: str) -> str:
    env = {"infno": infno, "msgid": msgid, "input": {"data": {"setl_id": setl_id, "reason": "撤销"}}}
    out: dict[str, Any] = httpx.post(f"{url}/api/hsa", json=env, headers=headers).json()
    assert out["infcode"] == "-1", out
    return str(out["err_msg"])


def test_another_institutions_settlement_is_answered_as_an_unknown_one(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        his, his2 = login(url, "his"), login(url, "his2")
        theirs = httpx.post(f"{url}/api/settlements", json=bill(5_000) | {"fixmedins_code": OTHER_HOSPITAL}, headers=his2)
        assert theirs.status_code == 201, theirs.text
        other = str(theirs.json()["setl_id"])
        unknown = "S" + "0" * (len(other) - 1)
        for method, path, body in [
            ("GET", "/api/settlements/{}", None),
            ("POST", "/api/settlements/{}/reverse", {"reason": "撤销"}),
            ("GET", "/slips/{}", None),
            ("GET", "/slips/{}.pdf", None),
        ]:
            a = httpx.request(method, url + path.format(other), json=body, headers=his)
            b = httpx.request(method, url + path.format(unknown), json=body, headers=his)
            assert a.status_code == 404, (path, a.text)
            _same(a, other, b, unknown)
        for infno in ("2208", "2305"):
            a_msg = _hsa_error(url, his, infno, other, f"A{infno}")
            b_msg = _hsa_error(url, his, infno, unknown, f"B{infno}")
            assert a_msg.replace(other, "<id>") == b_msg.replace(unknown, "<id>"), (a_msg, b_msg)
        # its own institution still sees and reverses it
        assert httpx.get(f"{url}/api/settlements/{other}", headers=his2).status_code == 200
        assert httpx.get(f"{url}/slips/{other}", headers=his2).status_code == 200
        assert httpx.post(f"{url}/api/settlements/{other}/reverse", json={"reason": "撤销"}, headers=his2).status_code == 201
