"""``yibao synth``: write a synthetic county (people, identities, filings, a year of claims)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.i18n import t as _t
from yibao.core.settings import DEFAULT_AUDIT_PACK, DEFAULT_POLICY
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, refuse

if TYPE_CHECKING:
    from yibao import synth as gen
    from yibao.audit.pack import AuditPack
    from yibao.synth.fee_lines import AuditCounty


_STAGES = ("people", "identities", "enrolments", "filings", "claims", "frames")
_STAGE_ZH = {
    "people": "人员与家庭",
    "identities": "身份标识",
    "enrolments": "参保状态",
    "filings": "慢特病与异地备案",
    "claims": "结算单据",
    "frames": "整理数据表",
    "fee_lines": "费用明细与植入违规",
}


def _stage_text(stage: str, lang: str) -> str:
    if stage.startswith("write "):
        name = stage.removeprefix("write ")
        return _t(lang, f"写入 {name}.parquet", f"writing {name}.parquet")
    return _t(lang, _STAGE_ZH.get(stage, stage), stage)


def synth(
    out: Annotated[Path, typer.Option("--out", help="输出目录 / output directory")],
    persons: Annotated[int, typer.Option("--persons", min=1, help="人数 / number of people")] = 100_000,
    year: Annotated[int, typer.Option("--year", min=1990, max=2100, help="结算年度 / claim year")] = 2022,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="随机种子：同一种子得到逐字节相同的文件 / same seed, same bytes")
    ] = 0,
    fee_lines: Annotated[
        bool, typer.Option("--fee-lines", help="同时生成费用明细（fee_lines.parquet）/ also draw fee lines")
    ] = False,
    plant_rate: Annotated[
        float,
        typer.Option(
            "--plant-rate",
            min=0.0,
            max=0.05,
            help="每类审核规则植入违规的比例（如 0.01），记入 planted.parquet；隐含 --fee-lines"
            " / violations planted per rule type",
        ),
    ] = 0.0,
    audit_pack: Annotated[
        str, typer.Option("--audit-pack", help="费用明细所用目录与规则的审核规则库 / audit pack", envvar="YIBAO_AUDIT_PACK")
    ] = DEFAULT_AUDIT_PACK,
    policy: Annotated[str, typer.Option("--policy", help="政策包（限价表）/ policy pack (price ceilings)")] = DEFAULT_POLICY,
    lang: Annotated[str, typer.Option("--lang", help="zh（默认）或 en", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """生成一个合成县（临沧临翔式）：人员、身份、参保、备案和一年的结算单据（Parquet）。
    Generate a synthetic county: people, identities, enrolments, filings and a year of claims."""
    from yibao import synth as gen
    from yibao.synth.fee_lines import with_fee_lines

    started = time.perf_counter()
    with_lines = fee_lines or plant_rate > 0
    pack = _audit_pack(audit_pack, policy, lang) if with_lines else None
    steps = len(_STAGES) + len(gen.FILES) + (3 if with_lines else 0)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task(_t(lang, "开始", "starting"), total=steps)
        seen: list[str] = []

        def step(stage: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(stage)
            progress.update(task, description=_stage_text(stage, lang))

        county = gen.generate(persons, year, seed, progress=step)
        audit = None
        if pack is not None:
            step("fee_lines")
            audit = with_fee_lines(county, pack, plant_rate)
        gen.write(county, out, progress=step, audit=audit)
        progress.advance(task)
        progress.update(task, description=_t(lang, "完成", "done"))
    elapsed = time.perf_counter() - started
    _summary(county, out, elapsed, lang, audit)


def _audit_pack(name: str, policy: str, lang: str) -> AuditPack:
    from yibao.app.audit_pack import base_pack
    from yibao.policy.pack import load_pack

    try:
        return base_pack(load_pack(policy), name)
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_WRITTEN) from None


def _planted_table(audit: AuditCounty, lang: str) -> Table:
    from yibao.audit.types import RULE_TYPES

    counts = dict(audit.planted.group_by("rule_type").len().iter_rows())
    table = Table(
        title=_t(lang, f"植入的违规（每类 {audit.plant_rate:g}）", f"Planted violations ({audit.plant_rate:g} per type)")
    )
    table.add_column(_t(lang, "规则类型", "rule type"))
    table.add_column(_t(lang, "应有审核结果", "findings to expect"), justify="right")
    for key, rtype in RULE_TYPES.items():
        table.add_row(pick(rtype.label, lang), f"{counts.get(key, 0):,}")
    return table


def _summary(county: gen.SynthCounty, out: Path, elapsed: float, lang: str, audit: AuditCounty | None = None) -> None:
    import polars as pl

    from yibao import synth as gen
    from yibao.policy.categories import identity_label

    files = Table(title=_t(lang, f"合成县已写入 {out}", f"Synthetic county written to {out}"))
    files.add_column(_t(lang, "文件", "file"))
    files.add_column(_t(lang, "行数", "rows"), justify="right")
    files.add_column("MB", justify="right")
    frames = county.frames()
    if audit is not None:
        frames |= {"claims": audit.claims, "people": audit.people, "fee_lines": audit.fee_lines, "planted": audit.planted}
    for name, df in frames.items():
        path = out / f"{name}.parquet"
        size = path.stat().st_size / 1e6 if path.exists() else 0.0
        files.add_row(f"{name}.parquet", f"{df.height:,}", f"{size:,.1f}")
    console.print(files)
    if audit is not None:
        console.print(
            _t(
                lang,
                f"为使未植入的数据不触发就医行为类规则，略去 {audit.dropped:,} 张单据"
                "（住院前后 30 天内的门诊、同日第二张、每月第四张起的门诊等）。",
                f"{audit.dropped:,} claims left out so that unplanted data makes no episode finding "
                "(visits within 30 days of a stay, a second claim the same day, a fourth visit in a month, …).",
            )
        )
        if audit.plant_rate > 0:
            console.print(_planted_table(audit, lang))

    mix = gen.identity_mix(county)
    ident = Table(title=_t(lang, f"{county.year}-01-01 身份构成", f"Identity mix on {county.year}-01-01"))
    ident.add_column(_t(lang, "身份", "identity"))
    ident.add_column(_t(lang, "人数", "persons"), justify="right")
    ident.add_column(_t(lang, "占总人口", "of all"), justify="right")
    for category, n, share in mix.select("category", "persons", "share").iter_rows():
        ident.add_row(identity_label(category, lang), f"{n:,}", f"{share:.2%}")
    console.print(ident)

    groups = gen.lincang_mix(county)
    target = sum(gen.LINCANG_MONITORED.values())
    lincang = Table(title=_t(lang, "与临沧（种子 000）监测人口构成对比", "Against Lincang's monitored mix (seed 000)"))
    lincang.add_column(_t(lang, "组", "group"))
    lincang.add_column(_t(lang, "本县", "this county"), justify="right")
    lincang.add_column(_t(lang, "临沧", "Lincang"), justify="right")
    lincang.add_row(
        _t(lang, "监测人口占总人口", "monitored of all"), f"{groups['monitored']:.2%}", f"{target / gen.LINCANG_POPULATION:.2%}"
    )
    names = {
        "tuopin": ("脱贫人口", "stably out of poverty"),
        "jiance": ("“三类人员”（监测、返贫致贫）", "monitored incl. returned to poverty"),
        "dibao": ("农村低保、特困人员", "minimum allowance and extreme poverty"),
    }
    for g, (zh, en) in names.items():
        lincang.add_row(_t(lang, zh, en), f"{groups[g]:.2%}", f"{gen.LINCANG_MONITORED[g] / target:.2%}")
    console.print(lincang)

    by_type = (
        county.claims.group_by("med_type")
        .agg(pl.len().alias("n"), pl.col("medfee_sumamt").mean().alias("mean"), pl.col("medfee_sumamt").sum().alias("sum"))
        .sort("med_type")
    )
    claims = Table(title=_t(lang, "结算单据", "Claims"))
    claims.add_column("med_type")
    claims.add_column(_t(lang, "单据数", "claims"), justify="right")
    claims.add_column(_t(lang, "次均费用（元）", "mean cost (yuan)"), justify="right")
    claims.add_column(_t(lang, "总费用（万元）", "total (10k yuan)"), justify="right")
    for med_type, n, mean, total in by_type.iter_rows():
        claims.add_row(med_type, f"{n:,}", f"{mean / 100:,.2f}", f"{total / 1e6:,.2f}")
    console.print(claims)
    per_person = county.claims.height / county.persons
    console.print(
        _t(
            lang,
            f"人均 {per_person:.2f} 张单据；临沧住院次均 {gen.LINCANG_INPATIENT_MEAN_YUAN:,.0f} 元；用时 {elapsed:.1f} 秒。",
            f"{per_person:.2f} claims per person; Lincang's mean admission is {gen.LINCANG_INPATIENT_MEAN_YUAN:,.0f} yuan; "
            f"took {elapsed:.1f} s.",
        )
    )


app = typer.Typer(add_completion=False)
app.command()(synth)

if __name__ == "__main__":  # pragma: no cover
    app()
