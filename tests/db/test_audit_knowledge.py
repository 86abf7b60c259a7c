"""The knowledge workbook: a good one is recorded (a row per sheet, in one transaction) and the rules see its tables
at once; a bad row keeps the whole workbook out, named by file, sheet, row, column and value."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from tests.db.desk import desk_pack, workbook  # noqa: F401  (a fixture)
from yibao.app import audit_knowledge
from yibao.app.audit_pack import pack_in_force
from yibao.app.audit_rules import NotPermitted
from yibao.audit.engine import audit_claim
from yibao.audit.model import MILLI, AuditClaim, AuditLine, History, PersonFacts
from yibao.core.errors import InputError, InputErrors
from yibao.entrypoints.cli import audit_rules as cli
from yibao.interfaces.workbooks.audit_knowledge import read_workbook
from yibao.store.audit_tables import KnowledgeImport
from yibao.store.db import Database

pytestmark = pytest.mark.usefixtures("desk_pack")

LIMITS = ["医保目录编码", "限定性别", "最小年龄", "最大年龄", "限定就医方式", "最低机构等级", "限定险种"]
DAY = date(2022, 3, 1)


def claim_with(code: str) -> AuditClaim:
    line = AuditLine("L1", code, DAY, 1 * MILLI, 5_000, 5_000)
    return AuditClaim("C1", 1, "P1", "H1", 2, "390", "11", DAY, DAY, DAY, "N39.0", (line,))


MAN = PersonFacts("P1", "1", date(1970, 5, 1), None)


def imports(db: Database) -> list[KnowledgeImport]:
    with db.unit_of_work() as s:
        return list(s.scalars(sa.select(KnowledgeImport).order_by(KnowledgeImport.id)))


def good_workbook(path: Path) -> Path:
    return workbook(
        path,
        {
            "说明": [["医保知识库（某市医保局 2022 年 3 月）"]],
            "限定支付范围": [
                ["某市医保局限定支付范围目录"],  # a title above the header
                LIMITS,
                ["F0099", "2", None, None, None, None, None],
                ["A0007", None, 18, None, "11,21", 2, None],
            ],
            "duplicate_pairs": [["main_codg", "sub_codg"], ["M001", "S001"]],
        },
    )


def test_a_good_workbook_is_recorded_and_the_rules_see_its_tables(db: Database, tmp_path: Path) -> None:
    path = good_workbook(tmp_path / "知识库2022.xlsx")
    with db.unit_of_work() as s:
        # the pack's own table restricts F0001 only: F0099 for a man finds nothing yet
        assert audit_claim(pack_in_force(s), claim_with("F0099"), MAN, History()) == []
        done = audit_knowledge.import_workbook(s, path, by="wq", role="auditor")
        s.commit()
    assert [(d.table, d.sheet, d.rows) for d in done] == [
        ("item_limits", "限定支付范围", 2),
        ("duplicate_pairs", "duplicate_pairs", 1),
    ]
    rows = imports(db)
    assert [(r.table_name, r.row_count, r.filename, r.recorded_by) for r in rows] == [
        ("item_limits", 2, "知识库2022.xlsx", "wq"),
        ("duplicate_pairs", 1, "知识库2022.xlsx", "wq"),
    ]
    assert json.loads(rows[0].rows)[1] == {
        "med_list_codg": "A0007", "gend": None, "age_min": "18", "age_max": None, "med_types": "11,21",
        "min_hosp_lv": "2", "insutypes": None,
    }  # fmt: skip
    with db.unit_of_work() as s:
        pack = pack_in_force(s)
        assert pack.knowledge.item_limits["F0099"].gend == "2"
        assert pack.knowledge.item_limits["A0007"].med_types == frozenset({"11", "21"})
        assert "F0001" not in pack.knowledge.item_limits  # the imported table replaced the pack's
        assert pack.knowledge.duplicate_subs["M001"] == frozenset({"S001"})
        [finding] = audit_claim(pack, claim_with("F0099"), MAN, History())
        assert (finding.rule_code, finding.claim_id, finding.feedetl_sns) == ("XB001", "C1", ("L1",))
        tables = {t["table"]: t for t in audit_knowledge.tables(s)}
    assert (tables["item_limits"]["pack_rows"], tables["item_limits"]["rows_in_force"]) == (1, 2)
    assert tables["item_limits"]["import"]["filename"] == "知识库2022.xlsx"
    assert tables["bundles"]["import"] is None


def test_a_bad_row_is_refused_naming_file_sheet_row_column_and_value_and_nothing_is_written(db: Database, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "知识库.xlsx",
        {
            "限定支付范围": [LIMITS, ["F0099", "2"], ["F0100", "3"]],
            "频次限制": [
                ["医保目录编码", "周期", "最大次数"],
                ["T001", "month", "2"],
                ["T002", "fortnight", "1"],
                ["T003", "day", "1.2345"],
            ],
        },
    )
    with db.unit_of_work() as s, pytest.raises(InputErrors) as e:
        audit_knowledge.import_workbook(s, path, by="wq", role="auditor")
    said = [(x.where, x.field, x.value) for x in e.value.errors]
    assert said == [
        ("知识库.xlsx sheet 限定支付范围 row 3", "限定性别（gend）", "3"),
        ("知识库.xlsx sheet 频次限制 row 3", "周期（window）", "fortnight"),
        ("知识库.xlsx sheet 频次限制 row 4", "最大次数（max_times）", "1.2345"),
    ]
    zh = e.value.render("zh").splitlines()
    assert zh[0] == "知识库.xlsx 工作表「限定支付范围」第 3 行：字段 限定性别（gend） 的值 '3' 不正确，应为：1（男）或 2（女）"
    assert imports(db) == []
    with db.unit_of_work() as s:
        assert list(pack_in_force(s).knowledge.item_limits) == ["F0001"]


@pytest.mark.parametrize(
    ("sheets", "where", "field", "value"),
    [
        ({"限价目录": [["医保目录编码"], ["X"]]}, "k.xlsx sheet 限价目录", "sheet", "限价目录"),
        (
            {"组合项目": [["组合项目编码", "组成项目编码", "备注"], ["B1", "P1", "x"]]},
            "k.xlsx sheet 组合项目 row 1",
            "备注",
            "备注",
        ),
        ({"组合项目": [["组合项目编码"], ["B1"]]}, "k.xlsx sheet 组合项目 row 1", "part_codg", None),
        (
            {"组合项目": [["bundle_codg", "组合项目编码", "组成项目编码"]]},
            "k.xlsx sheet 组合项目 row 1",
            "组合项目编码",
            "组合项目编码",
        ),
        ({"组合项目": [["B1", "P1"]]}, "k.xlsx sheet 组合项目", "header", None),
        ({"说明": [["只有说明"]]}, "k.xlsx", "sheet", None),
    ],
)
def test_a_workbook_that_is_not_laid_out_as_the_tables_is_refused(
    tmp_path: Path, sheets: dict[str, list[list[object]]], where: str, field: str, value: object
) -> None:
    path = workbook(tmp_path / "k.xlsx", sheets)
    with pytest.raises(InputError) as e:
        read_workbook(path)
    assert (e.value.where, e.value.field, e.value.value) == (where, field, value)


def test_a_text_file_named_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.xlsx"
    path.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_workbook(path)
    assert (e.value.where, e.value.field) == ("k.xlsx", "file")
    assert "另存为 .xlsx" in e.value.render("zh")


@pytest.mark.parametrize("role", ["clerk", "analyst", "institution"])
def test_only_auditors_and_administrators_import(db: Database, tmp_path: Path, role: str) -> None:
    path = good_workbook(tmp_path / "k.xlsx")
    with db.unit_of_work() as s, pytest.raises(NotPermitted):
        audit_knowledge.import_workbook(s, path, by="x", role=role)
    assert imports(db) == []


def test_the_command_line_writes_the_template_and_imports_a_workbook(tmp_path: Path) -> None:
    app = typer.Typer()
    cli.register(app)
    env = {"YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}
    out = tmp_path / "模板.xlsx"
    run = CliRunner().invoke(app, ["knowledge", "template", str(out)], env=env)
    assert run.exit_code == 0 and out.is_file(), run.output
    # the template, filled in as it comes (one example row per table), imports whole
    run = CliRunner().invoke(app, ["knowledge", "import", str(out), "--user", "wq"], env=env)
    assert run.exit_code == 0, run.output
    assert "已导入 限定支付范围：1 行（item_limits）" in run.output
    bad = workbook(tmp_path / "bad.xlsx", {"疗程限制": [["医保目录编码", "单次就诊最多天数"], ["X1", "七天"]]})
    run = CliRunner().invoke(app, ["knowledge", "import", str(bad)], env=env)
    assert run.exit_code == 2 and "bad.xlsx 工作表「疗程限制」第 2 行" in run.output and "'七天'" in run.output, run.output
    db = Database.open(env["YIBAO_DATABASE_URL"])
    try:
        assert sorted(r.table_name for r in imports(db)) == sorted(
            ["catalogue", "item_limits", "quantity_limits", "frequency_limits", "course_limits", "duplicate_pairs", "bundles",
             "requirements", "indications"]
        )  # fmt: skip
    finally:
        db.engine.dispose()
