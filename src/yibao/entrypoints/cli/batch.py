"""``yibao batch`` and ``yibao compare``: the columnar engine on a county's files."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, refuse
from yibao.policy.pack import load_pack

if TYPE_CHECKING:
    from yibao.policy.pack import PolicyPack
    from yibao.settlement.batch.io import BatchRun

DEFAULT_CHUNK = 1_000_000  # the same as yibao.settlement.batch.io.DEFAULT_CHUNK, without importing polars at start-up


def _fail(exc: InputError | InputErrors, lang: str) -> typer.Exit:
    return refuse(exc, lang, NOTHING_WRITTEN)


def _run(pack: PolicyPack, data: Path, out: Path, chunk: int, lang: str, label: str) -> BatchRun:
    from yibao.settlement.batch.io import run_batch

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task(label, total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        run = run_batch(pack, data, out, chunk=chunk, progress=tick)
    return run


def say_not_covered(run: BatchRun, pack: PolicyPack, lang: str) -> None:
    """Which people the pack does not cover and were left out (a residents-only pack on a county with employees)."""
    from yibao.settlement.batch.io import not_covered_text

    if run.not_covered:
        console.print(not_covered_text(run.not_covered, pack.pack_id, lang), markup=False)


def batch(
    data: Annotated[Path, typer.Argument(help="数据目录（claims、people、identities … .parquet/.csv）")],
    policy: Annotated[str, typer.Option("--policy", "-p", help="政策包")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出 .parquet（每笔结算一行）")] = Path("result.parquet"),
    chunk: Annotated[int, typer.Option(help="每批结算单数（按人切分，内存随之受限）")] = DEFAULT_CHUNK,
    lang: Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """批量结算一个县的全年单据（列式引擎，与逐笔结算分毫不差）/ settle a county-year of claims."""
    import polars as pl

    from yibao.core.money import fmt_yuan
    from yibao.core.vocab import field_label
    from yibao.settlement.batch.result import scan_result, ytd_path

    try:
        pack = load_pack(policy)
        t0 = time.perf_counter()
        run = _run(pack, data, out, chunk, lang, _t(lang, "批量结算", "Settling"))
        n = run.claims
        secs = time.perf_counter() - t0
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    res = (
        scan_result(out)
        .select(
            pl.len().alias("n"),
            *(pl.col(c).sum() for c in ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt")),
        )
        .collect(engine="streaming")  # row group by row group: the totals of any size of file in little memory
    )
    table = Table(title=_t(lang, f"批量结算：{n:,} 笔，用时 {secs:.1f} 秒（{n / secs:,.0f} 笔/秒）",
                           f"Batch: {n:,} claims in {secs:.1f} s ({n / secs:,.0f} claims/s)"))  # fmt: skip
    table.add_column(_t(lang, "项目", "item"))
    table.add_column(_t(lang, "金额（元）", "amount (yuan)"), justify="right")
    for c in ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt"):
        table.add_row(field_label(c, lang), fmt_yuan(int(res[c][0])))
    console.print(table)
    say_not_covered(run, pack, lang)
    ytd = ytd_path(out).name
    console.print(_t(lang, f"已写入 {out} 与 {ytd}", f"Wrote {out} and {ytd}"))


def compare_cmd(
    data: Annotated[Path, typer.Argument(help="数据目录")],
    policy: Annotated[str, typer.Option("--policy", "-p", help="现行政策包")],
    overlay: Annotated[Path, typer.Option("--overlay", help="调整方案（覆盖参数的 YAML）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录（CSV 与 HTML 报告）")] = Path("out/compare"),
    threshold: Annotated[float | None, typer.Option(help="监测线（元，住院政策范围内年度自付）；默认取政策包或 7000")] = None,
    catastrophic: Annotated[float, typer.Option(help="灾难性支出：个人负担超过年收入的百分比")] = 40.0,
    chunk: Annotated[int, typer.Option(help="每批结算单数")] = DEFAULT_CHUNK,
    lang: Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """现行政策与调整方案对比：基金支出、分身份、超监测线人数、灾难性支出、负担增加最多的人。"""
    from yibao.policy.overlay import apply_overlay, load_overlay
    from yibao.settlement.batch.io import read_table
    from yibao.settlement.batch.result import read_result
    from yibao.whatif.report import TEXT, cell, col, render_html, write_csvs
    from yibao.whatif.scenario import compare, covered_people, settings_for

    try:
        base = load_pack(policy)
        reform = apply_overlay(base, load_overlay(overlay))
        people = covered_people(read_table(next(p for p in (data / "people.parquet", data / "people.csv") if p.exists())), base)
        with tempfile.TemporaryDirectory() as tmp:
            b_out, r_out = Path(tmp) / "base.parquet", Path(tmp) / "reform.parquet"
            run = _run(base, data, b_out, chunk, lang, _t(lang, "现行政策", "Baseline"))
            _run(reform, data, r_out, chunk, lang, _t(lang, "调整方案", "Reform"))
            b, r = read_result(b_out), read_result(r_out)
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    except StopIteration:
        raise _fail(InputError(str(data), "people", None, "a people table (people.parquet / .csv)"), lang) from None
    settings = settings_for(base, round(threshold * 100) if threshold is not None else None, round(catastrophic * 100))
    cmp = compare(b, r, people, settings)
    t = TEXT[lang]
    for name, df in ((t["payers"], cmp.by_payer), (t["summary"], cmp.summary), (t["identity"], cmp.by_identity)):
        table = Table(title=name)
        for c in df.columns:
            table.add_column(col(c, lang), justify="right")
        for row in df.iter_rows(named=True):
            table.add_row(*(cell(c, row[c], row, lang).text for c in df.columns))
        console.print(table)
    say_not_covered(run, base, lang)
    written = write_csvs(cmp, out, lang)
    html = out / "compare.html"
    html.write_text(
        render_html(cmp, lang, {"base_title": base.title_zh if lang == "zh" else base.title_en,
                                "reform_title": reform.title_zh if lang == "zh" else reform.title_en,
                                "data_dir": str(data), "claims": f"{b.height:,}"}),
        encoding="utf-8",
    )  # fmt: skip
    console.print(_t(lang, f"已写入 {html} 及 {len(written)} 个 CSV", f"Wrote {html} and {len(written)} CSV files"))
