"""The auditor's workbooks (TestClient, SQLite and PostgreSQL): a 3202 done in the window is kept with who and when
and its differences download as Excel, one row per differing field with the platform's and the HIS's value; the
platform's totals per institution and day, on the page and in Excel; the ledger verification's result in Excel."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.accounts import HOSPITAL, csrf_of, signed_in
from tests.db.desk import bearer, desk_pack, workbook  # noqa: F401  (a fixture)
from tests.db.test_service import PACK, seed
from tests.db.test_web_desk import row_words, settle, yuan
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import ReconcileRun, YearToDateRow

pytestmark = pytest.mark.usefixtures("desk_pack")


@pytest.fixture
def app(db: Database) -> Iterator[FastAPI]:
    seed(db)
    yield create_app(db, PACK)


def sheet_rows(data: bytes, sheet: int = 0) -> list[tuple[object, ...]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb.worksheets[sheet].iter_rows(values_only=True)]


def test_a_3202_is_kept_and_its_differences_download_with_both_values(app: FastAPI, db: Database, tmp_path: Path) -> None:
    a, b = settle(app, 1_200, "2022-06-05"), settle(app, 3_000, "2022-06-07")
    head = ["结算ID", "就诊ID", "人员编号", "医疗费总额", "基金支付总额", "个人账户支出", "退费结算标志"]
    rows = [
        [a["setl_id"], None, None, yuan(a["medfee_sumamt"]), yuan(a["fund_pay_sumamt"]), "0", "0"],
        [b["setl_id"], None, None, yuan(b["medfee_sumamt"]), yuan(b["fund_pay_sumamt"] + 1), "0", "0"],  # a fen more
    ]
    path = workbook(tmp_path / "his.xlsx", {"结算明细": [head, *rows]})
    client = signed_in(app, "auditor")
    form = {"csrf": csrf_of(client.get("/reconcile/detail").text), "fixmedins_code": HOSPITAL, "begin": "2022-06-01",
            "end": "2022-06-30"}  # fmt: skip
    with path.open("rb") as f:
        page = client.post("/reconcile/detail", data=form, files={"file": ("六月明细.xlsx", f)})
    assert page.status_code == 200, page.text
    fund, his_fund = yuan(b["fund_pay_sumamt"]), yuan(b["fund_pay_sumamt"] + 1)
    assert f'<span data-field="fund_pay_sumamt">基金支付总额：{fund} / {his_fund}</span>' in page.text
    with db.unit_of_work() as s:
        run = s.scalars(sa.select(ReconcileRun)).one()
        assert (run.fixmedins_code, run.file_name, run.recorded_by) == (HOSPITAL, "六月明细.xlsx", "auditor")
        run_id = run.id
    assert f'href="/reconcile/runs/{run_id}.xlsx" id="differences-download"' in page.text
    got = client.get(f"/reconcile/runs/{run_id}.xlsx")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    sheet = sheet_rows(got.content)
    assert sheet[0] == ("差异类型", "结算ID", "就诊ID", "人员编号", "字段", "平台值", "医院值", "说明")
    assert len(sheet) == 2
    kind, setl_id, _mdtrt, _psn, field, platform, his, said = sheet[1]
    assert (kind, setl_id, field) == ("金额不一致", b["setl_id"], "基金支付总额")
    assert (Decimal(str(platform)), Decimal(str(his))) == (Decimal(fund), Decimal(his_fund))
    assert said == f"基金支付总额 医院 {his_fund} 元，平台 {fund} 元"
    client.get("/lang/en", follow_redirects=False)
    english = sheet_rows(client.get(f"/reconcile/runs/{run_id}.xlsx").content)
    assert english[0] == ("kind", "setl_id", "mdtrt_id", "psn_no", "field", "platform", "HIS", "details")
    assert english[1][4] == "fund_pay_sumamt"
    assert english[1][7] == f"amount_differs; fund_pay_sumamt: platform {fund}, HIS {his_fund}"
    client.get("/lang/zh", follow_redirects=False)
    summary = sheet_rows(got.content, 1)
    assert summary[2][:2] == ("医院明细文件", "六月明细.xlsx") and summary[4][:2] == ("对账人", "auditor")
    assert client.get("/reconcile/runs/999.xlsx").status_code == 404


def test_the_platform_totals_per_institution_and_day(app: FastAPI) -> None:
    a, b, c = (settle(app, n, day) for n, day in ((1_200, "2022-06-05"), (3_000, "2022-06-05"), (800, "2022-06-09")))
    settle(app, 500, "2022-07-02")  # outside the period
    client = signed_in(app, "admin")
    query = "begin=2022-06-01&end=2022-06-30"
    page = client.get(f"/reconcile/daily?{query}").text
    first = row_words(page, f'<tr data-code="{HOSPITAL}" data-day="2022-06-05">')
    fifth_medfee, fifth_fund = a["medfee_sumamt"] + b["medfee_sumamt"], a["fund_pay_sumamt"] + b["fund_pay_sumamt"]
    assert first[-5:] == [f"{fifth_medfee / 100:,.2f}", f"{fifth_fund / 100:,.2f}", "0.00",
                          f"{(fifth_medfee - fifth_fund) / 100:,.2f}", "2"]  # fmt: skip
    assert row_words(page, f'<tr data-code="{HOSPITAL}" data-day="2022-06-09">')[-1] == "1"
    assert page.count("<tr data-code=") == 2
    got = client.get(f"/reconcile/daily.xlsx?{query}")
    sheet = sheet_rows(got.content)
    assert [(r[0], r[2], Decimal(str(r[3])), r[7]) for r in sheet[1:]] == [
        (HOSPITAL, "2022-06-05", Decimal(yuan(fifth_medfee)), 2),
        (HOSPITAL, "2022-06-09", Decimal(yuan(c["medfee_sumamt"])), 1),
    ]
    api = TestClient(app).get(f"/api/reconcile/daily?{query}", headers=bearer(app, "auditor"))
    assert api.status_code == 200, api.text
    assert [(d["setl_date"], d["medfee_sumamt"], d["fixmedins_setl_cnt"]) for d in api.json()["days"]] == [
        ("2022-06-05", float(yuan(fifth_medfee)), 2),
        ("2022-06-09", float(yuan(c["medfee_sumamt"])), 1),
    ]
    assert TestClient(app).get(f"/api/reconcile/daily?{query}", headers=bearer(app, "clerk")).status_code == 403
    long = client.get("/reconcile/daily?begin=2022-01-01&end=2022-06-30")
    assert long.status_code == 422 and 'id="e-end"' in long.text and "92 天" in long.text
    unknown = client.get(f"/reconcile/daily?fixmedins_code=H000&{query}")
    assert unknown.status_code == 422 and 'id="e-fixmedins_code"' in unknown.text


def test_the_ledger_verification_downloads_as_excel(app: FastAPI, db: Database) -> None:
    settle(app, 1_200, "2022-06-05")
    client = signed_in(app, "auditor")
    clean = sheet_rows(client.get("/reconcile/verify.xlsx").content)
    assert clean[1][0] == "核验人" and clean[1][1] == "auditor" and "无差异" in str(clean[2][1])
    with db.unit_of_work() as s:
        row = s.scalars(sa.select(YearToDateRow)).one()
        data = json.loads(row.data)
        key = next(k for k, v in data.items() if k != "year" and isinstance(v, int) and v > 0)
        data[key] += 1
        row.data = json.dumps(data)
        s.commit()
    got = client.get("/reconcile/verify.xlsx")
    assert sheet_rows(got.content)[2][1] == "发现 1 处差异"
    acc = sheet_rows(got.content, 1)
    assert acc[1][:4] == ("P1", "杨桂芳", 2022, key)
    assert int(str(acc[1][5])) == int(str(acc[1][4])) + 1
