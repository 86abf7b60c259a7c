"""``yibao batch`` and ``yibao compare``: the columnar engine on a county's files (``--engine spark``: on Spark)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, err_console, refuse

if TYPE_CHECKING:
    import polars as pl

    from yibao.distributed.batch import Settled
    from yibao.policy.pack import PolicyPack
    from yibao.settlement.batch.io import BatchRun

DEFAULT_CHUNK = 1_000_000  # the same as yibao.settlement.batch.io.DEFAULT_CHUNK, without importing polars at start-up


class Engine(StrEnum):
    native = "native"
    spark = "spark"


EngineOpt = Annotated[
    Engine, typer.Option("--engine", help="结算引擎：native 本机（默认）或 spark（Apache Spark 集群/本地模式）")
]
MasterOpt = Annotated[
    str | None,
    typer.Option("--master", help="Spark 主节点：local[N]、spark://主机:7077、yarn（默认取 spark-submit 或 Spark 的设置）"),
]
PartitionsOpt = Annotated[
    int | None, typer.Option("--partitions", min=1, help="Spark 分区数（按 psn_no 哈希分区；local[N] 模式默认 N，每核一个）")
]
ConfOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--conf",
        help="其他 Spark 设置 KEY=VALUE（可多次给出）；local[N] 模式未设 spark.driver.extraJavaOptions 时"
        "默认 -XX:TieredStopAtLevel=1（JVM 只用快速编译器，本地短任务更快）",
    ),
]


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


def say_not_covered(not_covered: dict[str, tuple[int, int]], pack: PolicyPack, lang: str) -> None:
    """Which people the pack does not cover and were left out (a residents-only pack on a county with employees)."""
    from yibao.settlement.batch.io import not_covered_text

    if not_covered:
        console.print(not_covered_text(not_covered, pack.pack_id, lang), markup=False)


def _spark_conf(conf: list[str] | None, lang: str) -> dict[str, str]:
    """``--conf KEY=VALUE`` options as a mapping; one without ``=`` is refused, named."""
    out: dict[str, str] = {}
    for item in conf or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise refuse(InputError("--conf", "conf", item, "KEY=VALUE (e.g. spark.executor.memory=4g)"), lang)
        out[key.strip()] = value
    return out


def _spark(lang: str) -> typer.Exit | None:
    """A refusal when pyspark is not installed (None: it is)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        err_console.print(
            _t(lang, "未安装 pyspark：请先安装 pip install 'yibao[spark]'（并需 Java 17）。",
               "pyspark is not installed: pip install 'yibao[spark]' first (Java 17 is needed too)."),
            markup=False,
        )  # fmt: skip
        return typer.Exit(code=2)
    return None


def _totals_table(n: int, secs: float, totals: dict[str, int], lang: str) -> Table:
    from yibao.core.money import fmt_yuan
    from yibao.core.vocab import field_label

    table = Table(title=_t(lang, f"批量结算：{n:,} 笔，用时 {secs:.1f} 秒（{n / secs:,.0f} 笔/秒）",
                           f"Batch: {n:,} claims in {secs:.1f} s ({n / secs:,.0f} claims/s)"))  # fmt: skip
    table.add_column(_t(lang, "项目", "item"))
    table.add_column(_t(lang, "金额（元）", "amount (yuan)"), justify="right")
    for c in TOTALS:
        table.add_row(field_label(c, lang), fmt_yuan(totals[c]))
    return table


TOTALS = ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt")


def batch(
    data: Annotated[
        str,
        typer.Argument(
            help="数据目录（claims、people、identities … .parquet/.csv）；spark 引擎另可为 hdfs://… 或 table:库[.前缀]"
        ),
    ],
    policy: Annotated[str, typer.Option("--policy", "-p", help="政策包")],
    out: Annotated[
        str, typer.Option("--out", "-o", help="输出 .parquet（每笔结算一行；spark 引擎为分区 Parquet 目录）")
    ] = "result.parquet",
    chunk: Annotated[int | None, typer.Option(help="每批结算单数（按人切分，内存随之受限）")] = None,
    engine: EngineOpt = Engine.native,
    master: MasterOpt = None,
    partitions: PartitionsOpt = None,
    conf: ConfOpt = None,
    lang: Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """批量结算一个县的全年单据（列式引擎，与逐笔结算分毫不差）/ settle a county-year of claims."""
    import polars as pl

    from yibao.policy.pack import load_pack
    from yibao.settlement.batch.result import scan_result, ytd_location

    if engine is Engine.spark and (missing := _spark(lang)) is not None:
        raise missing
    settings = _spark_conf(conf, lang)
    try:
        pack = load_pack(policy)
        t0 = time.perf_counter()
        if engine is Engine.spark:
            from yibao.distributed.batch import run_batch_spark
            from yibao.distributed.partition import DEFAULT_CHUNK as SPARK_CHUNK

            with console.status(_t(lang, "Spark 批量结算中…", "Settling on Spark…")):
                run = run_batch_spark(pack, data, out, master, partitions, settings, chunk or SPARK_CHUNK)
            n, totals, not_covered = run.claims, run.totals, run.not_covered
        else:
            native = _run(pack, Path(data), Path(out), chunk or DEFAULT_CHUNK, lang, _t(lang, "批量结算", "Settling"))
            n, not_covered = native.claims, native.not_covered
            res = (
                scan_result(Path(out))
                .select(*(pl.col(c).sum() for c in TOTALS))
                .collect(engine="streaming")  # row group by row group: the totals of any size of file in little memory
            )
            totals = {c: int(res[c][0]) for c in TOTALS}
        secs = time.perf_counter() - t0
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    console.print(_totals_table(n, secs, totals, lang))
    say_not_covered(not_covered, pack, lang)
    console.print(_t(lang, f"已写入 {out} 与 {ytd_location(out)}", f"Wrote {out} and {ytd_location(out)}"))


@dataclass
class _Pair:
    """A county's people and its claims settled under both packs, and whom the baseline left out."""

    people: pl.DataFrame
    base: pl.DataFrame
    reform: pl.DataFrame
    not_covered: dict[str, tuple[int, int]]


def _native_pair(base: PolicyPack, reform: PolicyPack, data: Path, chunk: int, lang: str) -> _Pair:
    """Both packs settled by the native engine."""
    from yibao.settlement.batch.io import read_table
    from yibao.settlement.batch.result import read_result

    try:
        people = read_table(next(p for p in (data / "people.parquet", data / "people.csv") if p.exists()))
    except StopIteration:
        raise InputErrors([InputError(str(data), "people", None, "a people table (people.parquet / .csv)")]) from None
    with tempfile.TemporaryDirectory() as tmp:
        b_out, r_out = Path(tmp) / "base.parquet", Path(tmp) / "reform.parquet"
        run = _run(base, data, b_out, chunk, lang, _t(lang, "现行政策", "Baseline"))
        _run(reform, data, r_out, chunk, lang, _t(lang, "调整方案", "Reform"))
        return _Pair(people, read_result(b_out), read_result(r_out), run.not_covered)


def _spark_pair(
    base: PolicyPack, reform: PolicyPack, data: str, master: str | None, partitions: int | None, conf: dict[str, str], lang: str
) -> _Pair:
    """Both packs settled on Spark, the claims brought to the driver."""
    from yibao.distributed.batch import people_frame, session, settle_spark

    spark = session(master, partitions, conf)
    frames = []
    left_out: dict[str, tuple[int, int]] = {}
    for pack, label in ((base, _t(lang, "现行政策", "Baseline")), (reform, _t(lang, "调整方案", "Reform"))):
        with console.status(_t(lang, f"{label}：Spark 结算中…", f"{label}: settling on Spark…")):
            settled: Settled = settle_spark(spark, pack, data, partitions)
            try:
                frames.append(settled.claims_frame())
            finally:
                settled.release()
        left_out = left_out or settled.not_covered
    return _Pair(people_frame(spark, data), frames[0], frames[1], left_out)


def compare_cmd(
    data: Annotated[str, typer.Argument(help="数据目录（spark 引擎另可为 hdfs://… 或 table:库[.前缀]）")],
    policy: Annotated[str, typer.Option("--policy", "-p", help="现行政策包")],
    overlay: Annotated[Path, typer.Option("--overlay", help="调整方案（覆盖参数的 YAML）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录（CSV 与 HTML 报告）")] = Path("out/compare"),
    threshold: Annotated[float | None, typer.Option(help="监测线（元，住院政策范围内年度自付）；默认取政策包或 7000")] = None,
    catastrophic: Annotated[float, typer.Option(help="灾难性支出：个人负担超过年收入的百分比")] = 40.0,
    chunk: Annotated[int, typer.Option(help="每批结算单数")] = DEFAULT_CHUNK,
    engine: EngineOpt = Engine.native,
    master: MasterOpt = None,
    partitions: PartitionsOpt = None,
    conf: ConfOpt = None,
    lang: Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """现行政策与调整方案对比：基金支出、分身份、超监测线人数、灾难性支出、负担增加最多的人。"""
    from yibao.policy.overlay import apply_overlay, load_overlay
    from yibao.policy.pack import load_pack
    from yibao.whatif.report import TEXT, cell, col, render_html, write_csvs
    from yibao.whatif.scenario import compare, covered_people, settings_for

    if engine is Engine.spark and (missing := _spark(lang)) is not None:
        raise missing
    spark_conf = _spark_conf(conf, lang)
    try:
        base = load_pack(policy)
        reform = apply_overlay(base, load_overlay(overlay))
        if engine is Engine.spark:
            pair = _spark_pair(base, reform, data, master, partitions, spark_conf, lang)
        else:
            pair = _native_pair(base, reform, Path(data), chunk, lang)
        people, b, r = covered_people(pair.people, base), pair.base, pair.reform
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
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
    say_not_covered(pair.not_covered, base, lang)
    written = write_csvs(cmp, out, lang)
    html = out / "compare.html"
    html.write_text(
        render_html(cmp, lang, {"base_title": base.title_zh if lang == "zh" else base.title_en,
                                "reform_title": reform.title_zh if lang == "zh" else reform.title_en,
                                "data_dir": str(data), "claims": f"{b.height:,}"}),
        encoding="utf-8",
    )  # fmt: skip
    console.print(_t(lang, f"已写入 {html} 及 {len(written)} 个 CSV", f"Wrote {html} and {len(written)} CSV files"))
