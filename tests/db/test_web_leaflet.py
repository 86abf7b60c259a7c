"""The window's policy leaflet (/leaflet, /leaflet.pdf) for every staff role, and the slip's 本次结算说明 in the
leaflet's plain phrases (TestClient with the real app, SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
from datetime import date
from html import unescape

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.accounts import signed_in
from tests.db.desk import bearer
from tests.db.test_service import PACK, bill, seed
from yibao.core.money import fmt_yuan
from yibao.entrypoints.http import create_app
from yibao.leaflet.build import build_leaflet
from yibao.policy.in_force import covered_day
from yibao.store.db import Database


def words(html: str) -> str:
    return re.sub(r"\s+", "", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_every_staff_role_reads_the_leaflet_of_the_pack_in_force(db: Database) -> None:
    seed(db)
    app = create_app(db, PACK)
    assert TestClient(app).get("/leaflet", follow_redirects=False).status_code == 303  # sign in first
    day = covered_day(PACK)
    expected = build_leaflet(PACK, day, "dibao")
    # a hospital system's account uses the national interface, not the window's staff pages (as /policy)
    assert signed_in(app, "his").get("/leaflet").status_code == 403
    for user in ("clerk", "auditor", "monitoring", "analyst", "admin"):
        client = signed_in(app, user)
        page = client.get("/leaflet?identity=dibao")
        assert page.status_code == 200, user
        assert 'href="/leaflet"' in page.text and 'id="print-leaflet"' in page.text, user
        assert 'href="/leaflet.pdf?identity=dibao&amp;paper=a5"' in page.text
        text = words(page.text)
        for e in expected.examples:  # the page shows the examples the pack settles
            assert re.sub(r"\s+", "", e.title) in text
            for p in e.payments:
                assert f"{p.label}{fmt_yuan(p.fen)}元" in text, (user, e.number, p.code)
    client = signed_in(app, "clerk")
    everyone = client.get("/leaflet")
    assert everyone.status_code == 200 and "低保对象" in everyone.text and "特困人员" in everyone.text
    refused = client.get("/leaflet?identity=nobody")
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    pdf = client.get("/leaflet.pdf?identity=dibao&paper=a5")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages} == {(420, 595)}
    printed = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    first = expected.examples[0]
    assert fmt_yuan(first.payments[-1].fen) in printed and "12393" in printed
    assert client.get("/leaflet.pdf?paper=a3").status_code == 422


def test_the_slip_explains_the_settlement_in_the_leaflet_s_words(db: Database) -> None:
    seed(db)
    app = create_app(db, PACK)
    client = signed_in(app, "clerk")
    r = client.post("/api/settlements", json=bill(10_000, "2022-03-10"), headers=bearer(app, "clerk"))
    assert r.status_code == 201, r.text
    info = r.json()["setlinfo"]
    slip = client.get(f"/settlements/{info['setl_id']}/slip")
    assert slip.status_code == 200
    text = words(slip.text)
    assert "本次结算说明" in text
    # Huaibei 2022, a 低保 person (seed), 10,000 yuan at H53090200001 (level 2, in county): the same sentences
    # the leaflet prints for its examples, with this settlement's figures
    paid = fmt_yuan(int(info["hifp_pay"]))  # the API answers in fen
    assert f"基本医保报销{paid}元" in text
    assert f"个人负担{fmt_yuan(int(info['psn_part_amt']))}元" in text
    assert date(2022, 3, 10).isoformat() in slip.text
