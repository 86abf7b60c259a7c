"""``yibao audit run --claims DIR``: audit a batch of claims on files after settlement (事后), columnar.

The directory holds ``claims``, ``fee_lines`` and ``people`` (``yibao synth --fee-lines`` writes
one); see :mod:`yibao.interfaces.audit_files`. The rules run one family at a time over the whole
batch; the findings go to a Parquet file and a summary per rule is printed, in Chinese by default.
Bad input names the file, row, field and value, exits with code 2 and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.i18n import t as tr
from yibao.core.money import fmt_yuan
from yibao.core.vocab import AUDIT_FAMILIES, AUDIT_RESULTS, label
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, refuse

if TYPE_CHECKING:
    import polars as pl

    from yibao.audit.pack import AuditPack
    from yibao.interfaces.audit_files import FilesRun


def rules_table(pack: AuditPack, findings: pl.DataFrame, lang: str) -> Table:
    """Findings per rule of the pack (rules without findings too): count, claims and amount at stake."""
    import polars as pl

    from yibao.audit.types import RULE_TYPES

    per = findings.group_by("rule_code", "result").agg(
        pl.len().alias("n"), pl.col("claim_id").n_unique().alias("claims"), pl.col("amount").sum().alias("amount")
    )
    counts = {(r["rule_code"], r["result"]): r for r in per.iter_rows(named=True)}
    table = Table(title=tr(lang, "各规则审核结果", "Findings by rule"))
    for zh, en, right in (("规则", "rule", False), ("名称", "name", False), ("类别", "family", False),
                          ("结果", "result", False), ("条数", "findings", True), ("单据数", "claims", True),
                          ("涉及金额（元）", "amount (yuan)", True)):  # fmt: skip
        table.add_column(tr(lang, zh, en), justify="right" if right else "left")
    for rule in pack.enabled("post"):
        results = sorted({res for code, res in counts if code == rule.code}) or [rule.result]
        for res in results:
            row = counts.get((rule.code, res), {"n": 0, "claims": 0, "amount": 0})
            name = rule.name_zh if lang == "zh" else pick(RULE_TYPES[rule.type].label, lang)
            table.add_row(
                rule.code, name, label(AUDIT_FAMILIES, rule.family, lang), label(AUDIT_RESULTS, res, lang),
                f"{row['n']:,}", f"{row['claims']:,}", fmt_yuan(int(row["amount"])),
            )  # fmt: skip
    return table


def summary_table(run: FilesRun, directory: Path, lang: str) -> Table:
    table = Table(title=tr(lang, f"事后审核（文件）{directory}", f"Audit of the files in {directory}"), show_header=False)
    table.add_column()
    table.add_column(justify="right")
    rate = run.lines / run.seconds if run.seconds else 0.0
    rows = [
        (("结算单据", "claims"), f"{run.claims:,}"),
        (("费用明细", "fee lines"), f"{run.lines:,}"),
        (("审核结果", "findings"), f"{run.findings.height:,}"),
        (("涉及单据", "claims with findings"), f"{run.findings['claim_id'].n_unique():,}"),
        (("涉及金额（元）", "amount at stake (yuan)"), fmt_yuan(int(run.findings["amount"].sum() or 0))),
        (("审核用时（秒）", "audit time (s)"), f"{run.seconds:.2f}"),
        (("每秒明细条数", "fee lines per second"), f"{rate:,.0f}"),
    ]
    if run.out is not None:
        rows.append((("结果文件", "findings file"), str(run.out)))
    for (zh, en), value in rows:
        table.add_row(tr(lang, zh, en), value)
    return table


def run_files(claims: Path, out: Path | None, policy: str, audit_pack: str | None, allow_unknown: bool, lang: str) -> None:
    """The ``--claims`` mode of ``yibao audit run``."""
    from yibao.app.audit_pack import base_pack
    from yibao.interfaces.audit_files import run_audit_files
    from yibao.policy.pack import load_pack

    try:
        pack = base_pack(load_pack(policy), audit_pack)
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task(tr(lang, "读取并检查文件", "reading and checking the files"), total=None)

            def told(step: str, done: int, of: int) -> None:
                if step == "read":
                    return
                text = (
                    tr(lang, "审核完成", "done")
                    if not step
                    else tr(lang, f"运行{label(AUDIT_FAMILIES, step, 'zh')}规则", f"running the {step} rules")
                )
                bar.update(task, description=text, completed=done, total=of)

            run = run_audit_files(claims, pack, out, allow_unknown, told)
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_WRITTEN) from None
    console.print(summary_table(run, claims, lang))
    console.print(rules_table(pack, run.findings, lang))
