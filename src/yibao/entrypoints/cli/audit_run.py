"""``yibao audit run --from D --to D``: audit the ledger's settlements of a date range (事后).

The database is ``YIBAO_DATABASE_URL``; the audit pack the one in force (``YIBAO_AUDIT_PACK`` with the
bureau's rule changes). Bad input prints which option, which value and what was expected, exits with
code 2 and writes nothing. :func:`register` adds ``run`` to ``yibao audit``
(:data:`yibao.entrypoints.cli.audit.audit_app`); more ways to run (a batch of claim files) can join
``run`` as options or come as commands of their own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.i18n import t as tr
from yibao.core.money import fmt_yuan
from yibao.core.settings import DEFAULT_POLICY, POLICY_ENV
from yibao.core.vocab import AUDIT_RESULTS, label
from yibao.entrypoints.cli.enrol import Lang, User, check_lang, database, fail, user_name
from yibao.entrypoints.cli.output import console

if TYPE_CHECKING:
    from yibao.app.audit_runs import RunResult
    from yibao.audit.model import Finding
    from yibao.policy.pack import PolicyPack


Policy = Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV, help="政策包（限价表）/ policy pack")]
Day = Annotated[str, typer.Option(help="结算日期 YYYY-MM-DD / a settlement day")]

STEPS = {
    "read": ("读取结算台账", "reading the ledger"),
    "audit": ("运行审核规则", "running the rules"),
    "write": ("写入审核结果与疑点", "recording findings and 疑点"),
}


def _day(raw: str, option: str, lang: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise fail(InputError("command line", option, raw, "a date YYYY-MM-DD"), lang) from None


def _policy(name: str, lang: str) -> PolicyPack:
    from yibao.policy.pack import load_pack

    try:
        return load_pack(name)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None


def _rules_table(findings: tuple[Finding, ...], lang: str) -> Table:
    from yibao.audit.types import RULE_TYPES

    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for f in findings:
        c = counts[(f.rule_code, f.rule_type, f.result)]
        c[0] += 1
        c[1] += f.amount
    table = Table(title=tr(lang, "各规则审核结果", "Findings by rule"))
    for zh, en, right in (("规则", "rule", False), ("名称", "name", False), ("结果", "result", False),
                          ("条数", "findings", True), ("涉及金额（元）", "amount (yuan)", True)):  # fmt: skip
        table.add_column(tr(lang, zh, en), justify="right" if right else "left")
    for (code, rtype, result), (n, amount) in sorted(counts.items()):
        name = pick(RULE_TYPES[rtype].label, lang) if rtype in RULE_TYPES else rtype
        table.add_row(code, name, label(AUDIT_RESULTS, result, lang), f"{n:,}", fmt_yuan(amount))
    if not counts:
        table.caption = tr(lang, "没有发现问题", "nothing found")
    return table


def _summary(res: RunResult, date_from: date, date_to: date, lang: str) -> Table:
    table = Table(title=tr(lang, f"事后审核 {date_from} 至 {date_to}", f"Audit of {date_from} to {date_to}"), show_header=False)
    table.add_column()
    table.add_column(justify="right")
    for (zh, en), value in (
        (("审核批次", "run"), str(res.run_id)),
        (("规则库", "audit pack"), res.pack_name),
        (("结算笔数", "settlements"), f"{res.claims:,}"),
        (("费用明细条数", "fee lines"), f"{res.lines:,}"),
        (("审核结果条数", "findings"), f"{len(res.findings):,}"),
        (("其中新增", "new"), f"{res.created:,}"),
        (("新立疑点", "疑点 opened"), f"{res.cases:,}"),
    ):
        table.add_row(tr(lang, zh, en), value)
    return table


def run_cmd(
    date_from: Annotated[str | None, typer.Option("--from", help="起始结算日期 YYYY-MM-DD / first settlement day")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止结算日期 YYYY-MM-DD / last settlement day")] = None,
    policy: Policy = DEFAULT_POLICY,
    user: User = None,
    claims: Annotated[
        Path | None, typer.Option("--claims", help="改为审核一个目录中的单据文件（claims、fee_lines、people）/ audit files")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="与 --claims 同用：审核结果 .parquet / findings file")] = None,
    allow_unknown: Annotated[
        bool, typer.Option("--allow-unknown-items", help="与 --claims 同用：目录外项目作为审核结果而不拒收 / flag, not refuse")
    ] = False,
    lang: Lang = "zh",
) -> None:
    """对结算台账中一段日期的结算运行事后审核，记录审核结果并立疑点；或用 --claims 审核一批单据文件
    / audit the ledger's settlements of a date range, or with --claims a directory of claim files."""
    from yibao.app.audit_runs import run_audit

    lang = check_lang(lang)
    if claims is not None:
        from yibao.entrypoints.cli.audit_files import run_files

        return run_files(claims, out, policy, None, allow_unknown, lang)
    if date_from is None or date_to is None:
        option = "--from" if date_from is None else "--to"
        raise fail(InputError("command line", option, None, "a date YYYY-MM-DD (or --claims DIR)"), lang)
    start, end = _day(date_from, "--from", lang), _day(date_to, "--to", lang)
    pack = _policy(policy, lang)
    with database(lang) as db, Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
        task = bar.add_task(tr(lang, "准备", "starting"), total=None)

        def told(step: str) -> None:
            bar.update(task, description=pick(STEPS.get(step, (step, step)), lang))

        res = run_audit(db, pack, start, end, user_name(user), "cli", told)
    console.print(_summary(res, start, end, lang))
    console.print(_rules_table(res.findings, lang))


def register(audit_app: typer.Typer) -> None:
    audit_app.command("run")(run_cmd)
