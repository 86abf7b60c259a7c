"""Commands that broke as a new user ran them (issue 16), run in-process on small synthetic counties:

- ``batch``, ``compare`` and ``report --batch`` run a residents-only pack on a county with employees, settling the
  residents and saying how many employees' claims the pack does not cover (the web what-if's path too);
- ``compare`` labels its payer table in yuan (it said 万元);
- ``report --batch`` without a period reports the county's year; a township that does not exist is refused;
- ``db load-synth`` loads the institutions, so reports name them;
- ``monitor`` takes the pack of the database's year (or refuses, listing the packs), not Anhui's;
- ``explain`` works on the bundled sample as the command table shows it, and as ``demo`` prints it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner, Result

from yibao import synth
from yibao.entrypoints.cli.main import app
from yibao.settlement.batch.result import read_result

RESIDENTS_ONLY = "yunnan-lincang-2023"
OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "reform-ci-deductible.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "YIBAO_LANG": "zh"})


def one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", "", text)


@pytest.fixture(scope="module")
def county_2023(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c2023") / "county"
    synth.write(synth.generate(150, 2023, 5), out)
    return out


@pytest.fixture(scope="module")
def employees(county_2023: Path) -> tuple[int, int, int]:
    """(employees with claims, their claims, every claim): counted straight from the files."""
    people = pl.read_parquet(county_2023 / "people.parquet").select("psn_no", pl.col("insutype").cast(pl.Utf8))
    claims = pl.read_parquet(county_2023 / "claims.parquet").join(people, on="psn_no")
    theirs = claims.filter(pl.col("insutype") == "310")
    assert theirs.height > 0
    return theirs["psn_no"].n_unique(), theirs.height, claims.height


def test_batch_settles_the_residents_and_names_the_employees_not_covered(
    county_2023: Path, employees: tuple[int, int, int], tmp_path: Path
) -> None:
    people_n, claims_n, every = employees
    r = run("batch", str(county_2023), "-p", RESIDENTS_ONLY, "-o", str(tmp_path / "r.parquet"))
    assert r.exit_code == 0, r.output
    said = one_line(r.output)
    assert f"不含职工基本医疗保险（310）：该险种 {people_n} 人的 {claims_n} 笔单据不在本政策包范围内，未结算" in said
    assert read_result(tmp_path / "r.parquet").height == every - claims_n


def test_compare_runs_a_residents_only_pack_and_labels_yuan_as_yuan(
    county_2023: Path, employees: tuple[int, int, int], tmp_path: Path
) -> None:
    r = run("compare", str(county_2023), "-p", RESIDENTS_ONLY, "--overlay", str(OVERLAY), "-o", str(tmp_path / "cmp"))
    assert r.exit_code == 0, r.output
    assert "按支付方的基金支出（元）" in r.output and "（万元）" not in r.output
    assert f"{employees[1]} 笔单据不在本政策包范围内" in one_line(r.output)
    html = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "按支付方的基金支出（元）" in html  # the table; the chart alone is drawn in 万元
    payers = pl.read_csv(tmp_path / "cmp" / "compare_by_payer.csv")
    total = payers.filter(pl.col(payers.columns[0]) == "医疗总费用")
    assert total.height == 1  # the CSV's amounts are yuan with two decimals, as the table's title now says
    assert re.fullmatch(r"-?\d+\.\d\d", str(total[payers.columns[1]][0]))


@pytest.mark.slow
def test_report_batch_takes_the_countys_year_and_refuses_an_unknown_township(
    county_2023: Path, employees: tuple[int, int, int], tmp_path: Path
) -> None:
    r = run("report", "--batch", str(county_2023), "-p", RESIDENTS_ONLY, "-o", str(tmp_path / "sim"))
    assert r.exit_code == 0, r.output
    said = f"不含职工基本医疗保险（310）：该险种 {employees[0]} 人的 {employees[1]} 笔单据不在本政策包范围内，未结算"
    assert "报表期间：2023-01-01 至 2023-12-31" in r.output and one_line(r.output).count(said) == 1
    about = openpyxl.load_workbook(tmp_path / "sim" / "报表.xlsx")["说明"]
    assert any(said in str(row[0]) for row in about.iter_rows(values_only=True))  # the workbook says it too
    towns = sorted(pl.read_parquet(county_2023 / "people.parquet")["township"].cast(pl.Utf8).unique().to_list())
    bad = run("report", "--batch", str(county_2023), "-p", RESIDENTS_ONLY, "--township", "无此乡", "-o", str(tmp_path / "x"))
    assert bad.exit_code == 2
    said = one_line(bad.output)
    assert "--township" in said and "'无此乡'" in said and "数据中已有的乡镇（街道）：" + "、".join(towns) in said
    assert not (tmp_path / "x" / "report.html").exists()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("YIBAO_DATABASE_URL", url)
    return url


@pytest.mark.slow
def test_the_database_pack_runs_the_monitoring_and_load_synth_names_the_institutions(
    county_2023: Path, database: str, tmp_path: Path
) -> None:
    empty = run("monitor", "--period", "2023-06")
    assert empty.exit_code == 2
    assert "用 --policy 指定的政策包" in one_line(empty.output) and "yunnan-lincang-2023" in empty.output
    assert run("db", "load-synth", str(county_2023)).exit_code == 0
    assert run("enrol", "--year", "2023", "-p", RESIDENTS_ONLY).exit_code == 0
    settled = run("db", "settle-history", str(county_2023), "-p", RESIDENTS_ONLY)
    assert settled.exit_code == 0, settled.output
    r = run("monitor", "--period", "2023-06")
    assert r.exit_code == 0, r.output
    assert f"政策包：{RESIDENTS_ONLY}" in r.output  # not the default Anhui pack
    report = run("report", "--from", "2023-01-01", "--to", "2023-12-31", "-o", str(tmp_path / "rep"))
    assert report.exit_code == 0, report.output
    names = pl.read_parquet(county_2023 / "institutions.parquet")["fixmedins_name"].cast(pl.Utf8).to_list()
    table = report.output.split("定点医疗机构")[-1]
    assert sum(name[:4] in table for name in names) >= 5  # the institutions' table names them (it was blank)


@pytest.fixture(scope="module")
def sample() -> Iterator[Path]:
    yield Path(str(resources.files("yibao") / "data"))


def test_explain_works_on_the_bundled_sample_as_shown(sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the command table's form (no --fee-lines): a summarised claim, though other claims of the file have fee lines
    r = run(
        "explain", str(sample / "sample_claims.csv"), "--claim", "C001", "-p", "anhui-huaibei-2022",
        "--people", str(sample / "sample_people.csv"),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "计算过程" in r.output
    monkeypatch.chdir(tmp_path)
    demo = run("demo")
    assert demo.exit_code == 0, demo.output
    printed = demo.output.strip().splitlines()[-1].split("：", 1)[1]
    args = shlex.split(printed)
    assert args[:2] == ["yibao", "explain"] and "--fee-lines" in args
    again = run(*args[1:])
    assert again.exit_code == 0, again.output
    assert f"结算单 {args[args.index('--claim') + 1]}" in again.output and "计算过程" in again.output
