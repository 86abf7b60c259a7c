"""Institution anomalies over HTTP and in the window, on the demo county's ledger (SQLite and PostgreSQL):
the ranked list and its figures checked against the ledger read here with plain SQL, a planted institution
ranked first, the chart, the roles, bad queries refused naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.browser.conftest import DEMO_PERSONS, PASSWORDS
from tests.browser.test_access import signed_in
from yibao.app.demo import ensure_demo
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import Institution, LedgerEntry

API = "/api/audit/institutions"
SCALE = {"bp": 10_000, "fen": 1, "milli_day": 1000}


def bearer(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": user, "password": PASSWORDS[user]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def half_up(x: Fraction) -> int:
    return int(x + Fraction(1, 2))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('web-institutions') / 'web.db'}")
    ensure_demo(db, persons=DEMO_PERSONS)
    yield create_app(db)
    db.engine.dispose()


def _selfpay_months(db: Database, code: str) -> dict[str, tuple[int, int]]:
    """(patients' part, total cost) of an institution's standing settlements per month, read here."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.reverses.is_not(None))
    q = sa.select(LedgerEntry.setl_date, LedgerEntry.psn_part_amt, LedgerEntry.medfee_sumamt).where(
        LedgerEntry.kind == "settle", LedgerEntry.fixmedins_code == code, LedgerEntry.setl_id.not_in(reversed_ids)
    )
    out: dict[str, tuple[int, int]] = {}
    with db.unit_of_work() as s:
        for day, part, cost in s.execute(q):
            month = day.strftime("%Y-%m")
            total_part, total_cost = out.get(month, (0, 0))
            out[month] = (total_part + int(part), total_cost + int(cost))
    return out


def _settlements(db: Database, code: str, year: int = 2022) -> int:
    """An institution's settlements of ``year`` (the demo township's institutions have theirs in 2020)."""
    where = (LedgerEntry.fixmedins_code == code, LedgerEntry.setl_date.between(date(year, 1, 1), date(year, 12, 31)))
    with db.unit_of_work() as s:
        return int(s.scalar(sa.select(sa.func.count()).where(*where)) or 0)


PLANT_PERSONS = 500
"""A county large enough for each township health centre to have several settlements a month (peers to compare)."""


@pytest.mark.slow  # a 500-person demo county settled twice (SQLite, PostgreSQL)
def test_ranked_list_on_the_ledger_and_a_planted_institution(db: Database) -> None:
    ensure_demo(db, persons=PLANT_PERSONS)
    client = TestClient(create_app(db))
    auditor = bearer(client, "auditor")
    r = client.get(API, params={"year": 2022}, headers=auditor)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"]["months"] == [f"2022-{m:02d}" for m in range(1, 13)]
    rows = body["ranked"]
    assert rows, "the demo county has some institution beyond its peers' fences"
    assert [row["rank"] for row in rows] == sorted(row["rank"] for row in rows)
    for row in rows:
        assert row["value"] == half_up(Fraction(row["num"] * SCALE[row["unit"]], row["den"]))
        if row["kind"] in ("out", "far"):
            # beyond the exact fence; the fence shown is rounded to the unit, so it may equal the value
            assert row["value"] >= row["upper"] if row["direction"] == "high" else row["value"] <= row["lower"]
            assert row["q1"] <= row["median"] <= row["q3"] <= row["upper"] <= row["upper_far"]
        assert row["text"]["indicator"] and row["text"]["direction"] in ("偏高", "偏低")
    fenced = [row["score_milli"] for row in rows if row["kind"] != "trend"]
    assert fenced == sorted(fenced, reverse=True)

    # the self-paid share of the busiest township health centre, month by month, as the ledger says
    with db.unit_of_work() as s:
        level1 = sorted(s.scalars(sa.select(Institution.fixmedins_code).where(Institution.hosp_lv == 1)))
    busiest = max(level1, key=lambda code: (_settlements(db, code), code))
    detail = client.get(f"{API}/{busiest}", params={"year": 2022}, headers=auditor).json()
    shares = {v["month"]: (v["num"], v["den"]) for v in detail["values"] if v["indicator"] == "selfpay_share"}
    assert shares == _selfpay_months(db, busiest)

    # plant: its June patients paid everything themselves; it is then first for June's self-paid share
    with db.unit_of_work() as s:
        s.execute(
            sa.update(LedgerEntry)
            .where(
                LedgerEntry.fixmedins_code == busiest,
                LedgerEntry.setl_date >= date(2022, 6, 1),
                LedgerEntry.setl_date <= date(2022, 6, 30),
            )
            .values(psn_part_amt=LedgerEntry.medfee_sumamt)
        )
        s.commit()
    june = client.get(API, params={"year": 2022, "month": "2022-06", "indicator": "selfpay_share"}, headers=auditor).json()
    top = june["ranked"][0]
    assert (top["code"], top["month"], top["value"], top["direction"]) == (busiest, "2022-06", 10_000, "high")
    assert top["group"] == "1" and top["kind"] in ("out", "far")
    assert top["name"] == detail["name"]


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_chart_roles_and_refusals(app: FastAPI) -> None:
    client = TestClient(app)
    auditor = bearer(client, "auditor")
    rows = client.get(API, params={"year": 2022}, headers=auditor).json()["ranked"]
    code, name = rows[0]["code"], rows[0]["name"]
    svg = client.get(f"{API}/{code}/chart.svg", params={"year": 2022, "indicator": rows[0]["indicator"]}, headers=auditor)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg") and name in svg.text  # SVG text stays text
    png = client.get(f"{API}/{code}/chart.png", params={"year": 2022}, headers=auditor)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    for user in ("monitor", "analyst", "admin"):
        assert client.get(API, params={"year": 2022}, headers=bearer(client, user)).status_code == 200, user
    assert client.get(API, params={"year": 2022}, headers=bearer(client, "clerk")).status_code == 403
    assert client.get(API, params={"year": 2022}).status_code == 401
    bad = client.get(API, params={"year": 2022, "month": "2022-13"}, headers=auditor)
    assert bad.status_code == 422 and bad.json()["field"] == "month" and "2022-13" in bad.json()["message"]
    bad = client.get(API, params={"year": 2022, "indicator": "nope"}, headers=auditor)
    assert bad.status_code == 422 and bad.json()["field"] == "indicator"
    assert client.get(f"{API}/H00000000000", params={"year": 2022}, headers=auditor).status_code == 404
    english = client.get(API, params={"year": 2022, "lang": "en"}, headers=auditor).json()
    for text in [english["ranked"][0]["text"], *(row["text"] for row in english["townships"]["ranked"])]:
        assert text["direction"] in ("high", "low") and not re.search(r"[\u4e00-\u9fff]", text["indicator"] + text["kind"])


def test_page_detail_and_charts_in_the_window(app: FastAPI) -> None:
    auditor = signed_in(app, "auditor")
    page = auditor.get("/audit/institutions")
    assert page.status_code == 200
    assert "机构异常监测" in page.text and 'href="/audit/institutions"' in page.text  # the page and its nav entry
    assert 'id="ranked"' in page.text and 'id="township-view"' in page.text
    made = TestClient(app).get(API, params={"year": 2022}, headers=bearer(TestClient(app), "auditor")).json()["query"]["made_at"]
    beijing = (datetime.fromisoformat(made) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert f"{beijing}（北京时间）" in page.text  # the same cached analysis, its time on the bureau's clock
    code = re.search(r'<tr data-code="([^"]+)" data-rank="1">', page.text)
    assert code, "the first ranked institution"
    detail = auditor.get(f"/audit/institutions/{code.group(1)}?year=2022")
    assert detail.status_code == 200
    charts = re.findall(r'<img src="(/audit/institutions/[^"]+/chart\.svg\?[^"]+)"', detail.text)
    assert charts
    chart = auditor.get(charts[0].replace("&amp;", "&"))
    assert chart.status_code == 200 and chart.text.startswith("<svg")
    level1 = auditor.get("/audit/institutions?year=2022&level=1&month=2022-06")
    assert level1.status_code == 200
    bad = auditor.get("/audit/institutions?year=2022&month=2022-13")
    assert bad.status_code == 422 and 'id="e-month"' in bad.text
    assert auditor.get("/audit/institutions/NOPE?year=2022").status_code == 404
    auditor.cookies.set("lang", "en")
    english = auditor.get("/audit/institutions")
    assert "Institution anomalies" in english.text and "机构异常监测" not in english.text
    clerk = signed_in(app, "clerk")
    assert clerk.get("/audit/institutions").status_code == 403
    assert 'href="/audit/institutions"' not in clerk.get("/").text


def test_the_command_line(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from yibao.entrypoints.cli.main import app as cli_app
    from yibao.entrypoints.cli.output import console

    db: Database = app.state.db
    monkeypatch.setenv("YIBAO_DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    # rich fixes a console's width at import when COLUMNS is set (pytest-xdist workers have COLUMNS=80): widen it here
    monkeypatch.setattr(console, "_width", 200)
    first = TestClient(app).get(API, params={"year": 2022}, headers=bearer(TestClient(app), "auditor")).json()["ranked"][0]
    run = CliRunner().invoke(cli_app, ["audit", "institutions", "--year", "2022", "--top", "3", "--townships"])
    assert run.exit_code == 0, run.output
    assert "机构异常监测 2022" in run.output and "乡镇视图" in run.output
    assert first["name"] in run.output and first["text"]["value"] in run.output
    run = CliRunner().invoke(cli_app, ["audit", "institutions", "--year", "2022", "--level", "1", "--lang", "en"])
    assert run.exit_code == 0 and "Institution anomalies 2022" in run.output
    run = CliRunner().invoke(cli_app, ["audit", "institutions", "--year", "2022", "--month", "2023-06"])
    assert run.exit_code == 2 and "--month" in run.output and "2023-06" in run.output
