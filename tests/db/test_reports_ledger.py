"""The bureau's reports from the ledger on SQLite and PostgreSQL: every figure against a direct SQL
computation, the ledger route against the batch route for the same county, a reversal dropping
out, the ``yibao report`` command and the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from tests.accounts import login, seed_accounts
from tests.cli import Ran, yibao
from tests.conftest import DB_KINDS, PG_URL, migrated_database
from tests.live import live_server
from yibao import synth
from yibao.app import coverage as cov_svc
from yibao.app import enrolment as svc
from yibao.app.bulk_load import load_synth
from yibao.app.demo import load_institutions
from yibao.app.history import settle_history
from yibao.app.ledger import reverse_settlement
from yibao.app.report_sources import batch_reports, ledger_reports
from yibao.core.money import round_half_up_div
from yibao.entrypoints.cli import main as cli
from yibao.entrypoints.http import create_app
from yibao.policy import load_pack
from yibao.reports.catalogue import TABLES, ReportSet, header, title
from yibao.reports.tables import ALL
from yibao.rules.claims import Place
from yibao.settlement.batch.io import run_batch
from yibao.settlement.model import Claim
from yibao.store.db import Database

PACK = load_pack("anhui-huaibei-2022")
PERSONS, SEED = 300, 7
YEAR_START, YEAR_END = date(2022, 1, 1), date(2022, 12, 31)
RESIDENT_LINES = tuple(k for k, v in PACK.at(YEAR_START).lines.items() if v.insutype == "390")
STANDING = (
    "l.kind = 'settle' AND l.setl_date BETWEEN :start AND :end"
    " AND l.setl_id NOT IN (SELECT r.reverses FROM ledger r WHERE r.reverses IS NOT NULL)"
)
"""Settlements of the period that were not reversed, written out in SQL."""


@dataclass(frozen=True)
class County:
    folder: Path
    settled: Path
    claims: list[Claim]
    institutions: pl.DataFrame
    township: str


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> County:
    """A small synthetic county on disk, settled once by the batch engine."""
    root = tmp_path_factory.mktemp("report-county")
    synth.write(synth.generate(PERSONS, 2022, SEED), root / "county")
    run_batch(PACK, root / "county", root / "settled.parquet")
    read = synth.read(root / "county")
    _, claims = synth.to_people_and_claims(read)
    townships = read.people.group_by("township").len().sort("len", descending=True)
    return County(root / "county", root / "settled.parquet", claims, read.institutions, str(townships["township"][0]))


def load(db: Database, county: County) -> None:
    """Registry, enrolment priced by the pack, institutions, and the county's claims settled into the ledger."""
    load_synth(db, county.folder, user="tester")
    svc.enrol(db, 2022, PACK, user="tester")
    load_institutions(db, county.institutions)
    done = settle_history(db, PACK, county.claims, "tester")
    assert done.settled == len(county.claims) and not done.refused and not done.not_enrolled


@pytest.fixture(scope="module", params=DB_KINDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, county: County) -> Iterator[Database]:
    """The county loaded once per database kind (then the accounts), for the tests below that only read it."""
    with migrated_database(request.param, tmp_path_factory.mktemp("loaded"), request) as db:
        load(db, county)
        seed_accounts(db, institutions=False)  # the county's own hospitals
        yield db


def sql(db: Database, text: str, start: date = YEAR_START, end: date = YEAR_END, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a direct SQL query (PostgreSQL's numeric sums as int)."""
    dates = {k: v for k, v in (("start", start), ("end", end)) if f":{k}" in text}
    stmt = sa.text(text).bindparams(*(sa.bindparam(k, type_=sa.Date) for k in dates))
    with db.engine.connect() as conn:
        rows = conn.execute(stmt, {**dates, **params}).all()
    return [tuple(int(v) if isinstance(v, Decimal) else v for v in r) for r in rows]


def detail(df: pl.DataFrame, keys: tuple[str, ...], values: tuple[str, ...]) -> set[tuple[Any, ...]]:
    """The rows of a report that are not subtotals, as (keys..., values...)."""
    rows = df.filter(pl.all_horizontal(pl.col(k) != ALL for k in keys))
    return set(rows.select(*keys, *values).rows())


def total(df: pl.DataFrame, key: str) -> dict[str, Any]:
    return df.filter(pl.col(key) == ALL).row(-1, named=True)


# ---------------------------------------------------------------------------------------------
# Every figure against SQL, and the ledger against the batch engine
# ---------------------------------------------------------------------------------------------


def test_every_report_equals_sql_on_the_ledger_and_the_batch_route(loaded: Database, county: County) -> None:
    db = loaded
    rs = ledger_reports(db, YEAR_START, YEAR_END)
    assert rs.meta.pack_id == PACK.pack_id and rs.meta.source == "ledger"

    # 1. ratios: sums per line and identity, and the total's ratios from the SQL sums
    ratio_sql = sql(
        db,
        f"""
        SELECT l.line, l.identity, count(*), sum(l.inscp_scp_amt), sum(l.hifp_pay), sum(l.hifp_pay + l.hifmi_pay),
               sum(l.hifp_pay + l.hifmi_pay + l.maf_pay + l.oth_pay)
        FROM ledger l WHERE {STANDING} GROUP BY l.line, l.identity""",
    )
    assert len(ratio_sql) > 10
    assert detail(rs.ratios, ("line", "identity"), ("claims", "inscp_scp_amt", "basic_pay", "ci_pay", "assist_pay")) == set(
        ratio_sql
    )
    [(n, inscp, basic, ci, assist)] = sql(
        db,
        f"""
        SELECT count(*), sum(inscp_scp_amt), sum(hifp_pay), sum(hifp_pay + hifmi_pay),
               sum(hifp_pay + hifmi_pay + maf_pay + oth_pay) FROM ledger l WHERE {STANDING}""",
    )
    grand = rs.ratios.row(-1, named=True)
    assert (grand["line"], grand["identity"], grand["claims"]) == (ALL, ALL, n) and n == len(county.claims)
    assert (grand["basic_bp"], grand["ci_bp"], grand["assist_bp"]) == tuple(
        round_half_up_div(v * 10_000, inscp) for v in (basic, ci, assist)
    )
    # the inpatient line per identity: the Lincang-form figure
    [(ip_inscp, ip_assist)] = sql(
        db,
        f"""
        SELECT sum(inscp_scp_amt), sum(hifp_pay + hifmi_pay + maf_pay + oth_pay)
        FROM ledger l WHERE {STANDING} AND l.line = 'inpatient'""",
    )
    inpatient = rs.ratios.filter((pl.col("line") == "inpatient") & (pl.col("identity") == ALL)).row(0, named=True)
    assert inpatient["assist_bp"] == round_half_up_div(ip_assist * 10_000, ip_inscp)

    # 1b. the ratios as bureaus publish them (reports/outcomes.py): residents' lines, each over its own base
    resident, all_tiers = "l.line NOT LIKE 'employee%'", "l.hifp_pay + l.hifmi_pay + l.maf_pay + l.oth_pay"
    published = {
        "priority_inpatient": (all_tiers, "l.inscp_scp_amt", "l.med_type = '21' AND l.identity <> 'ordinary'"),
        "priority_chronic": (all_tiers, "l.medfee_sumamt", "l.med_type = '14' AND l.identity <> 'ordinary'"),
        "basic_inpatient": ("l.hifp_pay", "l.inscp_scp_amt", "l.med_type = '21'"),
        "general_outpatient": ("l.hifp_pay", "l.inscp_scp_amt", "l.med_type = '11'"),
    }
    assert rs.outcomes["item"].to_list() == list(published)
    for name, (num, den, cond) in published.items():
        [(n_sql, d_sql)] = sql(db, f"SELECT sum({num}), sum({den}) FROM ledger l WHERE {STANDING} AND {resident} AND {cond}")
        row = rs.outcomes.filter(pl.col("item") == name).row(0, named=True)
        assert (row["outcome_num"], row["outcome_den"]) == (n_sql, d_sql) and d_sql > 0, name
        assert row["outcome_bp"] == round_half_up_div(n_sql * 10_000, d_sql)

    # 2. visits per med_type: count, distinct persons, cost per visit
    for med_type, visits, persons, cost in sql(
        db,
        f"""
            SELECT l.med_type, count(*), count(DISTINCT l.psn_no), sum(l.medfee_sumamt)
            FROM ledger l WHERE {STANDING} GROUP BY l.med_type""",
    ):
        got = rs.visits.filter((pl.col("med_type") == med_type) & (pl.col("line") == ALL)).row(0, named=True)
        assert (got["visits"], got["persons"], got["medfee_sumamt"]) == (visits, persons, cost)
        assert got["avg_cost"] == round_half_up_div(cost, visits)

    # 3. enrolment: the rule of `yibao coverage`, and enrolled people counted in SQL
    cov = cov_svc.coverage(db, 2022, priority=PACK.at(YEAR_START).identity_priority)
    expected = [
        (r.category, r.persons, r.enrolled, r.exempt, r.enrolled_rate_bp, r.covered_rate_bp)
        for r in (*cov.by_category, cov.low_income, cov.overall)
    ]
    got_cov = rs.enrolment.select("category", "persons", "enrolled", "exempt", "enrolled_bp", "covered_bp").rows()
    assert got_cov == [("low_income" if e[0] == "low_income" else e[0], *e[1:]) for e in expected]
    [(people_n, enrolled_n)] = sql(
        db,
        """
        SELECT (SELECT count(*) FROM person),
               (SELECT count(DISTINCT person_id) FROM enrolment WHERE year = 2022 AND psn_insu_stas = '1')""",
    )
    assert (total(rs.enrolment, "category")["persons"], total(rs.enrolment, "category")["enrolled"]) == (people_n, enrolled_n)

    # 4. subsidised premiums (stored splits; also `subsidy_budget`) and treatment assistance
    premium_sql = sql(
        db,
        """
        SELECT coalesce(subsidy_category, 'ordinary'), count(DISTINCT person_id),
               sum(CASE WHEN assistance_subsidy > 0 THEN 1 ELSE 0 END),
               sum(individual), sum(assistance_subsidy), sum(fiscal_subsidy), sum(premium)
        FROM enrolment WHERE year = 2022 AND insutype = '390' AND psn_insu_stas = '1' GROUP BY subsidy_category""",
    )
    cols: tuple[str, ...] = ("persons", "subsidised", "individual", "assistance_subsidy", "fiscal_subsidy", "premium")
    assert detail(rs.premium_subsidy, ("subsidy_category",), cols) == set(premium_sql)
    budget = cov_svc.subsidy_budget(db, 2022, PACK)
    assert {(b.category, b.persons, b.individual, b.assistance, b.fiscal) for b in budget.rows} == detail(
        rs.premium_subsidy, ("subsidy_category",), ("persons", "individual", "assistance_subsidy", "fiscal_subsidy")
    )
    assistance_sql = sql(
        db,
        f"""
        SELECT l.identity, count(DISTINCT CASE WHEN l.maf_pay > 0 THEN l.psn_no END),
               sum(CASE WHEN l.maf_pay > 0 THEN 1 ELSE 0 END), sum(l.maf_pay),
               count(DISTINCT CASE WHEN l.oth_pay > 0 THEN l.psn_no END), sum(l.oth_pay)
        FROM ledger l WHERE {STANDING} GROUP BY l.identity""",
    )
    cols = ("maf_persons", "maf_claims", "maf_pay", "oth_persons", "oth_pay")
    assert detail(rs.treatment_assistance, ("identity",), cols) == set(assistance_sql)
    assert total(rs.treatment_assistance, "identity")["maf_pay"] > 0

    # 5. fund income (enrolment) against spending (ledger), and every month
    [(income, subsidy)] = sql(
        db,
        """
        SELECT sum(premium), sum(assistance_subsidy) FROM enrolment
        WHERE year = 2022 AND insutype = '390' AND psn_insu_stas = '1'""",
    )
    lines = ", ".join(f"'{k}'" for k in RESIDENT_LINES)
    [(basic_r, critical_r, maf, oth)] = sql(
        db,
        f"""
        SELECT sum(CASE WHEN l.line IN ({lines}) THEN l.hifp_pay ELSE 0 END),
               sum(CASE WHEN l.line IN ({lines}) THEN l.hifmi_pay ELSE 0 END), sum(l.maf_pay), sum(l.oth_pay)
        FROM ledger l WHERE {STANDING}""",
    )
    fund = dict(rs.fund_balance.select("item", "amount").rows())
    assert (fund["income_total"], fund["spend_basic"], fund["spend_critical"]) == (income, basic_r, critical_r)
    assert fund["balance"] == income - basic_r - critical_r
    assert fund["assist_total"] == subsidy + maf + oth
    month = "strftime('%Y-%m', l.setl_date)" if db.engine.dialect.name == "sqlite" else "to_char(l.setl_date, 'YYYY-MM')"
    monthly_sql = sql(
        db,
        f"""
        SELECT {month}, count(*), sum(l.hifp_pay), sum(l.hifmi_pay), sum(l.maf_pay + l.oth_pay)
        FROM ledger l WHERE {STANDING} GROUP BY {month}""",
    )
    assert detail(rs.monthly, ("month",), ("claims", "hifp_pay", "hifmi_pay", "assistance_pay")) == set(monthly_sql)
    assert rs.monthly.height == 13

    # 6. institutions, with names from the institution table
    institution_sql = sql(
        db,
        f"""
        SELECT l.fixmedins_code, i.fixmedins_name, sum(CASE WHEN l.med_type = '21' THEN 1 ELSE 0 END),
               sum(l.medfee_sumamt), sum(l.fund_pay_sumamt)
        FROM ledger l LEFT JOIN institution i ON i.fixmedins_code = l.fixmedins_code
        WHERE {STANDING} GROUP BY l.fixmedins_code, i.fixmedins_name""",
    )
    cols = ("fixmedins_name", "admissions", "medfee_sumamt", "fund_pay_sumamt")
    assert detail(rs.institutions, ("fixmedins_code",), cols) == set(institution_sql)
    assert all(name for name in rs.institutions["fixmedins_name"].to_list()[:-1])

    # the batch engine's output for the same county gives the same tables, to the fen
    simulated = batch_reports(county.folder, county.settled, PACK, YEAR_START, YEAR_END)
    assert simulated.meta.source == "batch"
    for name in TABLES:
        assert simulated.table(name).equals(rs.table(name)), name


def test_a_place_and_a_month(loaded: Database, county: County) -> None:
    db = loaded
    town = county.township
    may = (date(2022, 5, 1), date(2022, 5, 31))
    rs = ledger_reports(db, *may, Place(township=town))
    [(n, inscp, assist)] = sql(
        db,
        f"""
        SELECT count(*), sum(l.inscp_scp_amt), sum(l.hifp_pay + l.hifmi_pay + l.maf_pay + l.oth_pay)
        FROM ledger l JOIN person p ON p.id = l.person_id WHERE {STANDING} AND p.township = :town""",
        *may,
        town=town,
    )
    grand = rs.ratios.row(-1, named=True)
    assert 0 < n < len(county.claims)
    assert (grand["claims"], grand["inscp_scp_amt"], grand["assist_pay"]) == (n, inscp, assist)
    assert rs.monthly["month"].to_list() == ["2022-05", ALL]
    [(persons, enrolled)] = sql(
        db,
        """
        SELECT count(*), sum(CASE WHEN EXISTS (SELECT 1 FROM enrolment e WHERE e.person_id = p.id AND e.year = 2022
                                              AND e.psn_insu_stas = '1') THEN 1 ELSE 0 END)
        FROM person p WHERE p.township = :town""",
        town=town,
    )
    everyone = total(rs.enrolment, "category")
    assert (everyone["persons"], everyone["enrolled"]) == (persons, enrolled)
    simulated = batch_reports(county.folder, county.settled, PACK, *may, Place(township=town))
    for name in TABLES:
        assert simulated.table(name).equals(rs.table(name)), name
    # one institution
    code = rs.institutions["fixmedins_code"][0]
    one = ledger_reports(db, YEAR_START, YEAR_END, Place(fixmedins_code=code))
    [(admissions,)] = sql(
        db, f"SELECT count(*) FROM ledger l WHERE {STANDING} AND l.med_type = '21' AND l.fixmedins_code = :c", c=code
    )
    assert one.institutions["fixmedins_code"].to_list() == [code, ALL]
    assert one.institutions["admissions"].to_list() == [admissions, admissions]


# ---------------------------------------------------------------------------------------------
# A reversal
# ---------------------------------------------------------------------------------------------


def test_a_reversed_settlement_drops_out_of_every_report(db: Database, county: County) -> None:
    load(db, county)
    before = ledger_reports(db, YEAR_START, YEAR_END)
    [(setl_id, hifp, maf, inscp)] = sql(
        db,
        f"""
        SELECT l.setl_id, l.hifp_pay, l.maf_pay, l.inscp_scp_amt FROM ledger l
        WHERE {STANDING} AND l.med_type = '21' AND l.maf_pay > 0 ORDER BY l.maf_pay DESC LIMIT 1""",
    )
    with db.unit_of_work() as s:
        reverse_settlement(s, setl_id, "录入错误", "tester")
        s.commit()
    after = ledger_reports(db, YEAR_START, YEAR_END)
    b, a = before.ratios.row(-1, named=True), after.ratios.row(-1, named=True)
    assert (b["claims"] - a["claims"], b["basic_pay"] - a["basic_pay"], b["inscp_scp_amt"] - a["inscp_scp_amt"]) == (
        1,
        hifp,
        inscp,
    )
    assert (
        total(before.treatment_assistance, "identity")["maf_pay"] - total(after.treatment_assistance, "identity")["maf_pay"]
        == maf
    )
    assert before.table("visits")["visits"][-1] - after.table("visits")["visits"][-1] == 1
    # the reversal row carries the negated amounts: summing every ledger row gives the same totals
    [(net_hifp, net_inscp)] = sql(
        db,
        """
        SELECT sum(hifp_pay), sum(inscp_scp_amt) FROM ledger l WHERE l.setl_date BETWEEN :start AND :end""",
    )
    assert (a["basic_pay"], a["inscp_scp_amt"]) == (net_hifp, net_inscp)
    assert before.tables().keys() == after.tables().keys()


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def _url(db: Database) -> str:
    schema = getattr(db, "pg_schema", None)
    return str(db.url) if schema is None else f"{PG_URL}?options=-csearch_path%3D{schema}"  # type: ignore[attr-defined]


def _run(*args: str) -> Ran:
    """In-process (tests/cli.py): the README test runs ``yibao report`` in a subprocess."""
    return yibao("report", *args)


def _sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    return list(load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))


@pytest.mark.slow  # a year's workbook, charts and page, from the ledger and (SQLite) from the batch engine
def test_yibao_report_writes_the_workbook_charts_and_page(loaded: Database, county: County, tmp_path: Path) -> None:
    db = loaded
    rs = ledger_reports(db, YEAR_START, YEAR_END)
    out = tmp_path / "out"
    done = _run("--db", _url(db), "--from", "2022-01-01", "--to", "2022-12-31", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "政策范围内报销比例" in done.stdout
    for name in ("报表.xlsx", "report.html", "trend.svg", "trend.png", "payers.png", "ratios.svg"):
        assert (out / name).is_file(), name
    assert (out / "trend.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    book = load_workbook(out / "报表.xlsx")
    assert book.sheetnames == ["说明", *(title(n) for n in TABLES)]
    sheet = book[title("ratios")]
    heads = [c.value for c in sheet[1]]
    assert heads == [header(c) for c in rs.ratios.columns] and heads[-1] == "叠加医疗救助后报销比例"
    last = next(c for c in sheet.iter_rows(min_row=2) if c[0].value == "合计" and c[1].value == "合计")
    grand = rs.ratios.row(-1, named=True)
    # Excel keeps numbers as doubles: the yuan and the ratio read back exactly to their decimals
    assert Decimal(str(last[4].value)) == Decimal(grand["inscp_scp_amt"]) / 100 and last[4].number_format == "#,##0.00"
    assert Decimal(str(last[-1].value)) == Decimal(grand["assist_bp"]) / 10_000 and last[-1].number_format == "0.00%"
    assert sheet.freeze_panes == "A2"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "基金收支" in html and "叠加医疗救助后" in html

    if db.engine.dialect.name != "sqlite":
        return  # the simulation route reads no database: once is enough
    # the same county from the batch engine's output: the same figures in every sheet
    sim = tmp_path / "sim"
    args = ("--batch", str(county.folder), "--settled", str(county.settled), "-p", PACK.pack_id, "--from", "2022-01-01")
    done = _run(*args, "--to", "2022-12-31", "-o", str(sim))
    assert done.returncode == 0, done.stderr
    for name in TABLES:
        assert _sheet_rows(sim / "报表.xlsx", title(name)) == _sheet_rows(out / "报表.xlsx", title(name)), name


def _invoke(*args: str) -> Result:
    """``yibao report`` in this process (the options' parsing and checks, without a new interpreter)."""
    return CliRunner().invoke(cli.app, ["report", *args])


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_yibao_report_month_township_english_and_bad_input(loaded: Database, county: County, tmp_path: Path) -> None:
    db = loaded
    out = tmp_path / "en"
    done = _invoke("--db", _url(db), "--month", "2022-05", "--township", county.township, "--lang", "en", "-o", str(out))
    assert done.exit_code == 0, done.output
    rows = _sheet_rows(out / "report.xlsx", title("monthly", "en"))
    assert rows[0][:2] == ("month", "settlements") and [r[0] for r in rows[1:3]] == ["2022-05", "total"]
    may = ledger_reports(db, date(2022, 5, 1), date(2022, 5, 31), Place(township=county.township))
    assert rows[2][1] == may.monthly["claims"][-1]
    bad = tmp_path / "bad"
    for args, field in (
        (("--from", "2022-05-01", "--to", "2023-01-31"), "--to"),
        (("--from", "2022-05-01"), "--to"),
        (("--month", "2022-5x"), "--month"),
        (("--month", "2022-05", "--from", "2022-05-01"), "--month"),
        (("--month", "2022-05", "--lang", "fr"), "--lang"),
        (("--month", "2022-05", "--settled", str(county.settled)), "--settled"),
        (("--month", "2022-05", "--batch", str(county.folder)), "--policy"),
    ):
        refused = _invoke("--db", _url(db), *args, "-o", str(bad))
        assert refused.exit_code == 2 and f"字段 {field} " in refused.output, (args, refused.output)
        assert not bad.exists()


# ---------------------------------------------------------------------------------------------
# The HTTP API
# ---------------------------------------------------------------------------------------------


def _rows(body: dict[str, Any], rs: ReportSet, name: str) -> None:
    df = rs.table(name)
    assert [c["name"] for c in body["columns"]] == df.columns
    assert [{k: r[k] for k in df.columns} for r in body["rows"]] == df.rows(named=True)


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_api_reports_for_analysts_not_clerks(loaded: Database, county: County) -> None:
    db = loaded
    year = {"start": "2022-01-01", "end": "2022-12-31"}
    rs = ledger_reports(db, YEAR_START, YEAR_END)
    # httpx gives up after 5 s by default: a loaded machine may take longer for a year's report (not a test of speed)
    with live_server(create_app(db, PACK)) as url, httpx.Client(timeout=120) as http:
        h = login(url, "analyst")
        for name in TABLES:
            r = http.get(f"{url}/api/reports/{name}", params=year, headers=h)
            assert r.status_code == 200, r.text
            _rows(r.json(), rs, name)
        body = http.get(f"{url}/api/reports/ratios", params=year | {"lang": "en"}, headers=h).json()
        assert body["title"] == "Policy-range reimbursement ratios" and body["rows"][-1]["identity_label"] == "total"
        town = http.get(f"{url}/api/reports/visits", params=year | {"township": county.township}, headers=h)
        _rows(town.json(), ledger_reports(db, YEAR_START, YEAR_END, Place(township=county.township)), "visits")
        book = http.get(f"{url}/api/reports/workbook", params=year, headers=h)
        assert book.status_code == 200 and book.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert book.content[:2] == b"PK"
        svg = http.get(f"{url}/api/reports/charts/trend.svg", params=year, headers=h)
        assert svg.status_code == 200 and svg.text.startswith("<svg") and "月度基金支出" in svg.text
        png = http.get(f"{url}/api/reports/charts/ratios.png", params=year, headers=h)
        assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
        assert [r["name"] for r in http.get(f"{url}/api/reports", headers=h).json()["reports"]] == list(TABLES)

        assert http.get(f"{url}/api/reports/ratios", params=year, headers=login(url, "clerk")).status_code == 403
        assert http.get(f"{url}/api/reports/ratios", params=year).status_code == 401
        for params, path, field in (
            ({"start": "2022-05-01", "end": "2022-04-30"}, "ratios", "end"),
            ({"start": "2022-05-01", "end": "2023-01-31"}, "ratios", "end"),
            ({"start": "2022-13-01", "end": "2022-12-31"}, "ratios", "start"),
            ({"start": "0001-01-01", "end": "0001-12-31"}, "ratios", "start"),
            ({"start": "2022-01-01"}, "ratios", "end"),
            (year | {"lang": "fr"}, "ratios", "lang"),
            (year, "nonsense", "name"),
            (year, "charts/pie.svg", "chart"),
            (year | {"township": "x" * 65}, "visits", "township"),
        ):
            bad = http.get(f"{url}/api/reports/{path}", params=params, headers=h)
            assert bad.status_code == 422 and bad.json()["field"] == field, (params, path, bad.text)
