"""疑点 over the REST API on SQLite and PostgreSQL: an institution sees and appeals its own cases only (another's
answers exactly as one that does not exist), with a file; each step role-checked; two at once: 409; sampling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.accounts import HOSPITAL, PASSWORD
from tests.db.suspect_data import PACK_FILE, seed
from yibao.app.audit_pack import AUDIT_PACK_ENV
from yibao.entrypoints.http import create_app
from yibao.store.db import Database

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def api(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, int]]]:
    monkeypatch.setenv(AUDIT_PACK_ENV, str(PACK_FILE))
    ids = seed(db, population=4)
    with TestClient(create_app(db)) as client:
        yield client, ids


def _as(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_institution_sees_its_own_and_another_s_is_not_found(api: tuple[TestClient, dict[str, int]]) -> None:
    client, ids = api
    his, auditor, clerk = _as(client, "his"), _as(client, "auditor"), _as(client, "clerk")
    mine = client.get("/api/suspects", headers=his).json()
    assert [c["id"] for c in mine["suspects"]] == [ids["mine"]] and mine["counts"] == {"first_review": 1, "overdue": 0}
    assert mine["suspects"][0]["status_label"] == "初审"
    every = client.get("/api/suspects", headers=auditor).json()
    assert {c["id"] for c in every["suspects"]} == set(ids.values())
    # asking for the other hospital's cases as a filter still gives only one's own
    assert client.get("/api/suspects?fixmedins_code=H53090200002", headers=his).json()["suspects"] == []
    theirs = client.get(f"/api/suspects/{ids['theirs']}", headers=his)
    nothing = client.get("/api/suspects/999999", headers=his)
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.json()["message"].replace(str(ids["theirs"]), "<id>") == nothing.json()["message"].replace("999999", "<id>")
    assert "疑点" in theirs.json()["message"]  # Chinese by default
    got = client.get(f"/api/suspects/{ids['mine']}?lang=en", headers=his).json()
    assert got["status_label"] == "first review" and got["claims"][0]["setl_id"] == "S0001"
    assert client.get("/api/suspects", headers=clerk).status_code == 403
    assert client.get("/api/suspects").status_code == 401


def test_the_whole_workflow_over_the_api_with_an_appeal_file(api: tuple[TestClient, dict[str, int]]) -> None:
    client, ids = api
    his, his2, auditor, admin = (_as(client, u) for u in ("his", "his2", "auditor", "admin"))
    url = f"/api/suspects/{ids['mine']}"
    # the institution cannot review; the administrator reads only
    r = client.post(url + "/actions", json={"action": "confirm"}, headers=his)
    assert r.status_code == 403 and "无权" in r.json()["detail"]["message"]
    assert client.post(url + "/actions", json={"action": "confirm"}, headers=admin).status_code == 403
    r = client.post(url + "/actions", json={"action": "confirm", "expected_version": 0}, headers=auditor)
    assert r.status_code == 200 and r.json()["status"] == "second_review", r.text
    # someone who read version 0 is told the case moved on
    r = client.post(url + "/actions", json={"action": "dismiss", "note": "x", "expected_version": 0}, headers=auditor)
    assert r.status_code == 409 and "已被他人处理" in r.json()["message"]
    assert client.post(url + "/actions", json={"action": "notify"}, headers=auditor).json()["status"] == "appeal"
    # another hospital's appeal on this case: not found; the auditor cannot appeal for it
    files = {"file": ("病历摘要.pdf", PDF, "application/octet-stream")}
    r = client.post(url + "/appeal", data={"note": "冒名申诉"}, files=files, headers=his2)
    assert r.status_code == 404
    assert client.post(url + "/appeal", data={"note": "代申诉"}, headers=auditor).status_code == 403
    # a program is refused, naming the file; nothing changes
    bad = {"file": ("x.pdf", b"MZ\x90\x00", "application/pdf")}
    r = client.post(url + "/appeal", data={"note": "申诉"}, files=bad, headers=his)
    assert r.status_code == 422 and r.json()["field"] == "file" and "PDF" in r.json()["message"]
    r = client.post(
        url + "/appeal", data={"note": "患者确需再次住院，附病历摘要", "expected_version": "2"}, files=files, headers=his
    )
    assert r.status_code == 200 and r.json()["status"] == "investigation", r.text
    [att] = r.json()["attachments"]
    assert (att["filename"], att["content_type"], att["size"]) == ("病历摘要.pdf", "application/pdf", len(PDF))
    got = client.get(f"{url}/attachments/{att['id']}", headers=auditor)
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert "attachment;" in got.headers["content-disposition"]
    assert client.get(f"{url}/attachments/{att['id']}", headers=his2).status_code == 404
    r = client.post(url + "/actions", json={"action": "investigate", "note": "调取病历核实"}, headers=auditor)
    assert r.json()["status"] == "decision"
    r = client.post(url + "/actions", json={"action": "deduct", "amount": "50.01"}, headers=auditor)
    assert r.status_code == 422 and r.json()["field"] == "amount" and "50.00" in r.json()["message"]
    r = client.post(url + "/actions", json={"action": "deduct", "amount": "40.00"}, headers=auditor)
    done = r.json()
    assert (done["status"], done["recovered_amt"], done["next"]) == ("deducted", 4_000, [])
    assert [(e["action"], e["recorded_by"], e["channel"]) for e in done["events"]] == [
        ("open", "auditor", "cli"), ("confirm", "auditor", "api"), ("notify", "auditor", "api"), ("appeal", "his", "api"),
        ("investigate", "auditor", "api"), ("deduct", "auditor", "api"),
    ]  # fmt: skip


def test_sampling_over_the_api(api: tuple[TestClient, dict[str, int]]) -> None:
    client, _ = api
    auditor, his = _as(client, "auditor"), _as(client, "his")
    body = {"fixmedins_code": HOSPITAL, "date_from": "2022-05-01", "date_to": "2022-05-31", "rate": "50", "seed": 3}
    assert client.post("/api/suspect-samples", json=body, headers=his).status_code == 403
    r = client.post("/api/suspect-samples", json=body | {"rate": "0.001"}, headers=auditor)
    assert r.status_code == 422 and r.json()["field"] == "rate"
    r = client.post("/api/suspect-samples", json=body, headers=auditor)
    drawn = r.json()
    assert (drawn["population"], drawn["population_amt"], drawn["drawn"], drawn["reviewed"]) == (4, 10_000, 2, 0)
    assert drawn["estimated"] is True and drawn["approved_total_est"] is None and len(drawn["cases"]) == 2
    again = client.post("/api/suspect-samples", json=body, headers=auditor).json()
    listed = client.get(f"/api/suspects?sample_id={again['id']}", headers=auditor).json()["suspects"]
    first = client.get(f"/api/suspects?sample_id={drawn['id']}", headers=auditor).json()["suspects"]
    assert sorted(c["setl_id"] for c in listed) == sorted(c["setl_id"] for c in first)  # the same seed, the same draw
    assert client.get(f"/api/suspect-samples/{drawn['id']}", headers=his).status_code == 403
    assert client.get(f"/api/suspect-samples/{drawn['id']}", headers=auditor).json()["drawn"] == 2
