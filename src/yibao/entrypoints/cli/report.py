"""``yibao report``: the bureau's reports for a period and a place, from the ledger or a simulation.

Prints every table, and writes ``报表.xlsx`` (a sheet per table), the charts (SVG and PNG) and a
self-contained ``report.html`` to the output folder. The data come from the database
(``--db``, else ``YIBAO_DATABASE_URL``, else the SQLite file ``yibao.db``) or, with ``--batch``,
from a synthetic county folder and the batch engine's output (``--settled``; without it the
county is settled now with ``--policy``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.cells import cell_len
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.settings import DEFAULT_POLICY
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, refuse

if TYPE_CHECKING:  # imported where used: the command line starts fast
    from yibao.reports.catalogue import ReportSet
    from yibao.rules.claims import Place

WHERE = "command line"


def _fail(exc: InputError | InputErrors, lang: str) -> typer.Exit:
    return refuse(exc, lang, NOTHING_WRITTEN)


def _period(start: str | None, end: str | None, month: str | None, batch: Path | None) -> tuple[date, date]:
    """The period asked for; for a simulation (``--batch``) given none, the county's whole year."""
    from yibao.app.report_sources import check_period, county_year, month_period, parse_date

    if batch is not None and start is None and end is None and month is None:
        year = county_year(batch)
        return date(year, 1, 1), date(year, 12, 31)

    if month is not None:
        if start is not None or end is not None:
            raise InputError(WHERE, "--month", month, "either --month or --from/--to, not both")
        first, last = month_period(month, WHERE, "--month")
    else:
        if start is None or end is None:
            raise InputError(
                WHERE, "--from" if start is None else "--to", None, "a period: --from and --to, or --month",
                expected_zh="期间：--from 与 --to，或 --month",
            )  # fmt: skip
        first, last = parse_date(start, WHERE, "--from"), parse_date(end, WHERE, "--to")
    check_period(first, last, WHERE, ("--from", "--to"))
    return first, last


@contextmanager
def _progress(lang: str) -> Iterator[Callable[[str], None]]:
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(_t(lang, "报表", "Report"), total=None)

        def step(text: str) -> None:
            zh, _, en = text.partition(" / ")
            progress.update(task, description=_t(lang, zh, en or zh))

        yield step


def report(
    start: Annotated[
        str | None, typer.Option("--from", help="开始日期 YYYY-MM-DD（结算日期，含；--batch 不给期间则为全年）")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="结束日期 YYYY-MM-DD（含；与开始日期同一年度）")] = None,
    month: Annotated[str | None, typer.Option("--month", help="某一个月，如 2022-05（代替 --from/--to）")] = None,
    county: Annotated[str | None, typer.Option("--county", help="县（区）")] = None,
    township: Annotated[str | None, typer.Option("--township", help="乡镇（街道）")] = None,
    village: Annotated[str | None, typer.Option("--village", help="村（社区）")] = None,
    institution: Annotated[str | None, typer.Option("--institution", help="定点医疗机构编号")] = None,
    db: Annotated[str | None, typer.Option("--db", help="数据库 URL（默认 YIBAO_DATABASE_URL 或 sqlite:///yibao.db）")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="合成县目录（yibao synth 写出）：测算结果的报表")] = None,
    settled: Annotated[Path | None, typer.Option("--settled", help="yibao batch 的输出 .parquet（省略则现在结算）")] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="政策包（--batch 时必填；默认为核定该年度保费的政策包）")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录")] = Path("out/report"),
    lang: Annotated[str, typer.Option("--lang", help="zh（默认）或 en", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """统计报表：报销比例、住院与门诊人次、参保率、救助、基金收支、定点机构 / the bureau's reports."""
    if lang not in ("zh", "en"):
        raise _fail(InputError(WHERE, "--lang", lang, "zh or en"), "zh")
    from yibao.rules.claims import Place

    try:
        first, last = _period(start, end, month, batch)
        place = Place(county, township, village, institution)
        with _progress(lang) as step:
            rs = _read(first, last, place, db, batch, settled, policy, out, step, lang)
            step(_t(lang, "绘图", "Drawing charts"))
            written = _write(rs, out, lang)
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    _print(rs, lang)
    console.print(_t(lang, "已写入：", "Wrote: ") + _t(lang, "、", ", ").join(str(p) for p in written), markup=False)


def _read(
    first: date,
    last: date,
    place: Place,
    db_url: str | None,
    batch: Path | None,
    settled: Path | None,
    policy: str | None,
    out: Path,
    step: Callable[[str], None],
    lang: str,
) -> ReportSet:
    from yibao.app import report_sources as src
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    pack = load_pack(policy) if policy is not None else None
    if batch is None:
        if settled is not None:
            raise InputError(WHERE, "--settled", str(settled), "--batch DIR with it (the county the claims were settled for)")
        database = Database.open(db_url)
        try:
            return src.ledger_reports(database, first, last, place, pack=pack, step=step)
        finally:
            database.engine.dispose()
    if pack is None:
        raise InputError(WHERE, "--policy", None, f"the pack the county was (or is to be) settled with, e.g. {DEFAULT_POLICY}")
    if settled is None:
        from yibao.settlement.batch.io import run_batch

        step("批量结算 / settling the county")
        settled = out / "settled.parquet"
        run = run_batch(pack, batch, settled)  # what it left out is said in the about lines (printed, in the workbook)
        return src.batch_reports(batch, settled, pack, first, last, place, step=step, not_covered=run.not_covered)
    return src.batch_reports(batch, settled, pack, first, last, place, step=step)


def _write(rs: ReportSet, out: Path, lang: str) -> list[Path]:
    from yibao.reports import charts as report_charts
    from yibao.reports import html as report_html
    from yibao.reports import workbook as report_excel

    charts = report_charts.draw(rs, lang)
    try:
        out.mkdir(parents=True, exist_ok=True)
        book = out / ("报表.xlsx" if lang == "zh" else "report.xlsx")
        report_excel.write_workbook(book, rs, lang)
        written = [book]
        for chart in charts.values():
            written += chart.write(out)
        html = out / "report.html"
        html.write_text(report_html.render_html(rs, charts, lang), encoding="utf-8")
    except OSError as exc:
        raise InputError(WHERE, "--out", str(out), f"a folder that can be written ({exc.strerror})") from None
    return [*written, html]


def _print(rs: ReportSet, lang: str) -> None:
    """The about lines, then a table per report of the set (a wide one with its entry's terminal columns)."""
    from yibao.reports.about import about_lines
    from yibao.reports.cells import is_total

    for line in about_lines(rs, lang):
        console.print(line, markup=False)
    for report in rs.reports:
        df = rs[report.name]
        df = df.select(report.terminal or df.columns)
        cols = [report.column(c) for c in df.columns]
        cells = [[c.text(row[c.name], lang, rs.ctx) for c in cols] for row in df.iter_rows(named=True)]
        table = Table(title=report.title_in(lang), title_style="bold")
        for i, c in enumerate(cols):
            widest = max((cell_len(r[i]) for r in cells), default=1)
            # numbers keep their width; labels may wrap but keep a readable width; headers wrap
            table.add_column(
                c.header(lang),
                justify="right" if c.numeric else "left",
                overflow="fold",
                min_width=widest if c.numeric else min(widest, 10),
            )
        for row, values in zip(df.iter_rows(named=True), cells, strict=True):
            table.add_row(*values, style="bold" if is_total(row) else None)
        console.print(table)
    console.print(
        _t(lang, "（终端只列主要各栏，完整各栏见工作簿与网页。）", "(Main columns only; the workbook and page have all.)")
    )
