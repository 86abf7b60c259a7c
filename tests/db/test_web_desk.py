"""The auditor's desk in the window (TestClient, SQLite and PostgreSQL): the rule library and its change form, the
knowledge upload, 3201/3202 reconciliation and the ledger verification; who may use them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.accounts import HOSPITAL, csrf_of, signed_in
from tests.db.desk import bearer, desk_pack, workbook  # noqa: F401  (a fixture)
from tests.db.test_service import PACK, bill, seed
from yibao.core.settings import Limits
from yibao.entrypoints.http import create_app
from yibao.store.audit_tables import AuditRuleChange, KnowledgeImport
from yibao.store.db import Database
from yibao.store.service_tables import YearToDateRow

pytestmark = pytest.mark.usefixtures("desk_pack")

DESK_PAGES = ("/audit/rules", "/audit/rules/ZY001", "/audit/knowledge", "/reconcile", "/reconcile/detail", "/reconcile/verify",
              "/reconcile/daily", "/reconcile/daily.xlsx?begin=2022-06-01&end=2022-06-30", "/reconcile/verify.xlsx",
              "/reconcile/runs/1.xlsx")  # fmt: skip


@pytest.fixture
def app(db: Database) -> Iterator[FastAPI]:
    seed(db)
    yield create_app(db, PACK)


def texts(html: str, pattern: str) -> list[str]:
    """The text of the elements ``pattern`` opens (tags inside removed)."""
    return [unescape(re.sub(r"<[^>]+>|\s+", " ", m)).strip() for m in re.findall(pattern + r"(.*?)</", html, re.S)]


def row_words(html: str, opening: str) -> list[str]:
    """The words of the table row that ``opening`` begins (tags removed)."""
    found = re.search(re.escape(opening) + r"(.*?)</tr>", html, re.S)
    assert found, opening
    return unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()


def settle(app: FastAPI, yuan: int, day: str) -> dict[str, Any]:
    r = TestClient(app).post("/api/settlements", json=bill(yuan, day), headers=bearer(app, "clerk"))
    assert r.status_code == 201, r.text
    info: dict[str, Any] = r.json()["setlinfo"]
    return info


def yuan(fen: int) -> str:
    return str(Decimal(fen) / 100)


def rule_changes(db: Database) -> list[AuditRuleChange]:
    with db.unit_of_work() as s:
        return list(s.scalars(sa.select(AuditRuleChange)))


@pytest.mark.parametrize("role", ["clerk", "analyst", "monitoring"])
def test_other_roles_are_refused_every_desk_page_and_action(app: FastAPI, db: Database, role: str) -> None:
    client = signed_in(app, role)
    for path in DESK_PAGES:
        assert client.get(path).status_code == 403, path
    csrf = csrf_of(client.get("/").text)
    form = {"csrf": csrf, "enabled": "off", "reason": "试"}
    assert client.post("/audit/rules/ZY001", data=form).status_code == 403
    assert rule_changes(db) == []
    nav = client.get("/").text
    assert 'href="/audit/rules"' not in nav and 'href="/reconcile"' not in nav


def test_the_auditor_switches_a_rule_off_with_a_reason_and_sees_it_recorded(app: FastAPI, db: Database) -> None:
    client = signed_in(app, "auditor")
    home = client.get("/").text
    assert 'href="/audit/rules"' in home and 'href="/reconcile"' in home
    listing = client.get("/audit/rules").text
    assert re.findall(r'<tr data-code="([^"]+)"', listing) == ["XB001", "ZY001", "ZH001", "GP001"]
    assert "分解住院" in listing and "可疑" in listing and "天数：15" in listing
    page = client.get("/audit/rules/ZY001").text
    assert "common definition; some cities use 14" in page  # the parameter's provenance
    form = {
        "csrf": csrf_of(page),
        "enabled": "off",
        "param_days": "14",
        "param_prefix": "3",
        "reason": "本市分解住院口径为 14 天",
    }
    r = client.post("/audit/rules/ZY001", data=form, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/audit/rules/ZY001?saved=1")
    page = client.get("/audit/rules/ZY001?saved=1").text
    assert texts(page, r'id="rule-status">') == ["停用"]
    assert "本市分解住院口径为 14 天" in texts(page, r'<td class="reason">')
    assert texts(page, r'<tr data-param="days" class="changed"><td>')[0].startswith("天数")
    [c] = rule_changes(db)
    assert (c.enabled, json.loads(c.params), c.recorded_by) == (False, {"days": 14}, "auditor")
    listing = client.get("/audit/rules").text
    assert '<tr data-code="ZY001" class="off">' in listing and "本市分解住院口径为 14 天" in listing


@pytest.mark.parametrize(
    ("form", "field", "said"),
    [
        ({"param_days": "两周", "reason": "试"}, "param_days", "'两周'：应为：不小于 0 的整数"),
        ({"param_days": "14", "reason": ""}, "reason", "变更原因"),
        ({"param_days": "15", "reason": "无变化"}, "enabled", "一项变更"),
    ],
)
def test_a_refused_change_is_shown_beside_its_field_and_nothing_is_written(
    app: FastAPI, db: Database, form: dict[str, str], field: str, said: str
) -> None:
    client = signed_in(app, "auditor")
    page = client.get("/audit/rules/ZY001").text
    r = client.post("/audit/rules/ZY001", data={"csrf": csrf_of(page), "enabled": "on", "param_prefix": "3", **form})
    assert r.status_code == 422
    [error] = texts(r.text, rf'<span class="error" id="e-{field}" role="alert">')
    assert said in error, error
    assert rule_changes(db) == []
    assert client.post("/audit/rules/NOPE1", data={"csrf": csrf_of(page), "enabled": "off", "reason": "x"}).status_code == 404
    no_csrf = client.post("/audit/rules/ZY001", data={"enabled": "off", "param_days": "14", "reason": "x"})
    assert no_csrf.status_code == 403 and rule_changes(db) == []


def test_the_knowledge_upload_imports_a_good_workbook_and_lists_every_bad_row(app: FastAPI, db: Database, tmp_path: Path) -> None:
    client = signed_in(app, "auditor")
    page = client.get("/audit/knowledge").text
    template = client.get("/audit/knowledge/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    headers = ["医保目录编码", "限定性别"]
    bad = workbook(
        tmp_path / "bad.xlsx",
        {"限定支付范围": [headers, ["F1", "1"], ["F2", "男"]], "疗程限制": [["医保目录编码", "单次就诊最多天数"], ["X", "-2"]]},
    )
    with bad.open("rb") as f:
        r = client.post("/audit/knowledge", data={"csrf": csrf_of(page)}, files={"file": ("限定目录.xlsx", f)})
    assert r.status_code == 422
    problems = texts(r.text, r"<li>")
    assert problems[0].startswith("限定目录.xlsx 工作表「限定支付范围」第 3 行：字段 限定性别（gend） 的值 '男'"), problems
    assert problems[1].startswith("限定目录.xlsx 工作表「疗程限制」第 2 行：字段 单次就诊最多天数（max_days） 的值 '-2'"), (
        problems
    )
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(KnowledgeImport)) == 0
    good = workbook(tmp_path / "good.xlsx", {"限定支付范围": [headers, ["F1", "1"], ["F2", "2"], ["F3", None]]})
    with good.open("rb") as f:
        r = client.post(
            "/audit/knowledge", data={"csrf": csrf_of(page)}, files={"file": ("限定目录.xlsx", f)}, follow_redirects=False
        )
    assert (r.status_code, r.headers["location"]) == (303, "/audit/knowledge?imported=1")
    page = client.get("/audit/knowledge?imported=1").text
    assert row_words(page, '<tr data-table="item_limits">') == [
        "限定支付范围",
        "item_limits",
        "1",
        "3",
        "限定目录.xlsx",
        "·",
        "auditor",
    ]
    empty = client.post("/audit/knowledge", data={"csrf": csrf_of(page)})
    assert empty.status_code == 422 and "请选择知识库工作簿" in empty.text


def test_3201_totals_name_the_item_that_differs(app: FastAPI) -> None:
    a, b = settle(app, 1_200, "2022-06-05"), settle(app, 3_000, "2022-06-07")
    settle(app, 500, "2022-07-02")  # outside the period
    medfee, fund = a["medfee_sumamt"] + b["medfee_sumamt"], a["fund_pay_sumamt"] + b["fund_pay_sumamt"]
    client = signed_in(app, "auditor")
    scope = f"fixmedins_code={HOSPITAL}&begin=2022-06-01&end=2022-06-30"
    page = client.get(f"/reconcile?{scope}").text
    assert row_words(page, '<tr class="total">')[1:] == [
        f"{medfee / 100:,.2f}",
        f"{fund / 100:,.2f}",
        "0.00",
        f"{(medfee - fund) / 100:,.2f}",
        "2",
    ]
    agree = client.get(
        f"/reconcile?{scope}&his_medfee_sumamt={yuan(medfee)}&his_fund_pay_sumamt={yuan(fund)}&his_fixmedins_setl_cnt=2"
    )
    assert texts(agree.text, r'id="stmt-result" role="status">')[0].startswith("对账结果：总账平：2 笔")
    off = client.get(
        f"/reconcile?{scope}&his_medfee_sumamt={yuan(medfee)}&his_fund_pay_sumamt={yuan(fund + 1)}&his_fixmedins_setl_cnt=3"
    )
    assert re.findall(r'<tr data-field="([^"]+)">', off.text) == ["fund_pay_sumamt", "fixmedins_setl_cnt"]
    bad = client.get(f"/reconcile?{scope}&his_medfee_sumamt=1,5")
    assert bad.status_code == 422 and 'id="e-his_medfee_sumamt"' in bad.text
    unknown = client.get("/reconcile?fixmedins_code=H000&begin=2022-06-01&end=2022-06-30")
    assert unknown.status_code == 422 and 'id="e-fixmedins_code"' in unknown.text


def test_3202_detail_names_every_difference_of_the_uploaded_list(app: FastAPI, tmp_path: Path) -> None:
    a, b, c = (settle(app, n, day) for n, day in ((1_200, "2022-06-05"), (3_000, "2022-06-07"), (800, "2022-06-09")))
    head = ["结算ID", "就诊ID", "人员编号", "医疗费总额", "基金支付总额", "个人账户支出", "退费结算标志"]
    rows = [
        [a["setl_id"], None, "P1", float(yuan(a["medfee_sumamt"])), float(yuan(a["fund_pay_sumamt"])), 0, "0"],
        [b["setl_id"], None, "P1", yuan(b["medfee_sumamt"]), yuan(b["fund_pay_sumamt"] + 1), "0", "0"],
        ["S-INVENTED-1", None, "P1", "100.00", "80.00", "0", "0"],
    ]  # c is missing from the hospital's list
    path = workbook(tmp_path / "his.xlsx", {"结算明细": [head, *rows]})
    client = signed_in(app, "auditor")
    page = client.get("/reconcile/detail").text
    form = {"csrf": csrf_of(page), "fixmedins_code": HOSPITAL, "begin": "2022-06-01", "end": "2022-06-30"}
    with path.open("rb") as f:
        r = client.post("/reconcile/detail", data=form, files={"file": ("医院明细.xlsx", f)})
    assert r.status_code == 200, r.text
    found = dict(re.findall(r'<tr data-kind="([^"]+)" data-setl-id="([^"]+)">', r.text))
    assert {v: k for k, v in found.items()} == {
        "S-INVENTED-1": "missing_on_platform",
        c["setl_id"]: "missing_on_his",
        b["setl_id"]: "amount_differs",
    }
    assert "明细账不平" in texts(r.text, r'id="stmt-result" role="status">')[0]
    bad_rows = [[a["setl_id"], None, "P1", "12.345", "1", "0", "0"], ["", None, None, "1", "1", "0", "2"]]
    bad = workbook(tmp_path / "bad.xlsx", {"结算明细": [head, *bad_rows]})
    with bad.open("rb") as f:
        r = client.post("/reconcile/detail", data=form, files={"file": ("医院明细.xlsx", f)})
    assert r.status_code == 422
    problems = texts(r.text, r"<li>")
    assert problems[0].startswith("医院明细.xlsx 工作表「结算明细」第 2 行：字段 medfee_sumamt 的值 '12.345'"), problems
    assert problems[1].startswith("医院明细.xlsx 工作表「结算明细」第 3 行：字段 refd_setl_flag"), problems
    no_file = client.post("/reconcile/detail", data=form)
    assert no_file.status_code == 422 and 'id="e-file"' in no_file.text


def test_the_ledger_verification_finds_a_tampered_accumulator(app: FastAPI, db: Database) -> None:
    settle(app, 1_200, "2022-06-05")
    client = signed_in(app, "auditor")
    assert 'id="verify-ok"' not in client.get("/reconcile/verify").text  # nothing run before asked
    assert 'id="verify-ok"' in client.get("/reconcile/verify?run=1").text
    with db.unit_of_work() as s:
        row = s.scalars(sa.select(YearToDateRow)).one()
        data = json.loads(row.data)
        key = next(k for k, v in data.items() if k != "year" and isinstance(v, int) and v > 0)
        data[key] += 1
        row.data = json.dumps(data)
        s.commit()
    page = client.get("/reconcile/verify?run=1").text
    assert 'id="verify-bad"' in page
    table = page[page.index('id="accumulator-diffs"') :]
    assert row_words(table[table.index("<tbody>") :], "<tr>")[:4] == ["P1", "杨桂芳", "2022", key]


@pytest.mark.parametrize("path", ["/audit/knowledge", "/reconcile/detail"])
def test_uploads_are_held_to_the_window_upload_limits(app: FastAPI, db: Database, tmp_path: Path, path: str) -> None:
    """The same limits as every upload (core/settings.Limits): bytes, then a sheet's declared rows."""
    client = signed_in(app, "auditor")
    csrf = csrf_of(client.get(path).text)
    form = {"csrf": csrf, "fixmedins_code": HOSPITAL, "begin": "2022-06-01", "end": "2022-06-30"}
    rows = [["医保目录编码", "限定性别"]] + [[f"F{i}", "1"] for i in range(20)]
    book = workbook(tmp_path / "big.xlsx", {"限定支付范围" if path == "/audit/knowledge" else "结算明细": rows})
    app.state.limits = Limits(upload_bytes=1_000)
    r = client.post(path, data=form, files={"file": ("big.xlsx", book.read_bytes())})
    assert r.status_code == 422 and "文件过大" in r.text
    app.state.limits = Limits(upload_rows=10)
    r = client.post(path, data=form, files={"file": ("big.xlsx", book.read_bytes())})
    assert r.status_code == 422 and "超过上限 10 行" in r.text, r.text
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(KnowledgeImport)) == 0


def test_a_form_sent_after_someone_else_changed_the_rule_is_refused(app: FastAPI, db: Database) -> None:
    client = signed_in(app, "auditor")
    page = client.get("/audit/rules/ZY001").text
    other = signed_in(app, "admin")
    form = {"enabled": "on", "param_days": "20", "param_prefix": "3", "reason": "管理员先改"}
    done = other.post("/audit/rules/ZY001", data={"csrf": csrf_of(other.get("/audit/rules/ZY001").text), **form})
    assert done.status_code == 200 and "已保存" in done.text  # followed to the rule's page
    stale = {
        "csrf": csrf_of(page),
        "based_on": "0",
        "enabled": "off",
        "param_days": "15",
        "param_prefix": "3",
        "reason": "审核员后改",
    }
    r = client.post("/audit/rules/ZY001", data=stale)
    assert r.status_code == 422
    assert "规则已被修改" in texts(r.text, r'id="form-error">')[0]
    assert [c.reason for c in rule_changes(db)] == ["管理员先改"]
