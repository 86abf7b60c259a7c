"""``yibao audit cases`` (the 疑点 list: status, institution, rule, settlement dates, ``--overdue``) and
``yibao audit case ID`` (one 疑点: the finding, its evidence and what happened, who and when in Beijing time).

The database is ``YIBAO_DATABASE_URL``; the command line reads as the bureau's auditor (every 疑点). Bad input
prints which option, which value and what was expected and exits with code 2. :func:`register` adds the
commands to ``yibao audit`` (:data:`yibao.entrypoints.cli.audit.audit_app`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError
from yibao.core.i18n import t as tr
from yibao.core.money import fmt_yuan
from yibao.entrypoints.cli.enrol import Lang, check_lang, database, fail
from yibao.entrypoints.cli.output import console

if TYPE_CHECKING:
    from yibao.app.auth import Principal


def _reader() -> Principal:
    """Who the command line reads as: the bureau's auditor."""
    from yibao.app.auth import Principal

    return Principal("cli", "auditor", None, "command line")


def _day(raw: str | None, option: str, lang: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise fail(InputError("command line", option, raw, "a date YYYY-MM-DD"), lang) from None


def cases(
    status: Annotated[str | None, typer.Option("--status", help="状态；open 为全部未办结 / a status, or open")] = None,
    institution: Annotated[str | None, typer.Option("--institution", help="定点机构编号 / fixmedins_code")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="规则编号 / rule code")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="仅逾期 / overdue only")] = False,
    date_from: Annotated[str | None, typer.Option("--from", help="结算日期起 YYYY-MM-DD / settled from")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="结算日期止 YYYY-MM-DD / settled to")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="至多列出 / at most")] = 200,
    lang: Lang = "zh",
) -> None:
    """疑点清单（逾期标红）/ the 疑点 list, overdue ones in red."""
    from yibao.app import suspects as svc
    from yibao.app.suspect_views import case_dict
    from yibao.rules import suspect_workflow as wf

    lang = check_lang(lang)
    if status and status not in ("open", *wf.STATUSES):
        codes = "、".join(f"`{s}`" for s in wf.STATUSES)
        said = f"`open`（全部未办结）或 {codes}"
        expected_en = f"`open` (every open one) or {codes.replace('、', ', ')}"
        raise fail(InputError("command line", "--status", status, said, expected_en=expected_en), lang)
    f = svc.Filter(
        status=status, fixmedins_code=institution, rule_code=rule, overdue=True if overdue else None,
        date_from=_day(date_from, "--from", lang), date_to=_day(date_to, "--to", lang),
    )  # fmt: skip
    day = svc.today()
    with database(lang) as db, db.unit_of_work() as s:
        rows = [case_dict(c, fi, lang, day=day) for c, fi in svc.list_cases(s, _reader(), f, day=day, limit=limit)]
        counts = svc.counts(s, _reader(), day=day)
    table = Table(title=tr(lang, f"疑点（今日 {day}，北京时间）", f"Suspect cases (today {day}, Beijing time)"))
    for zh, en, right in (
        ("编号", "id", True), ("疑点号", "case", False), ("规则", "rule", False), ("定点机构", "institution", False),
        ("结算流水号", "setl_id", False), ("涉及金额", "at stake", True), ("状态", "status", False),
        ("期限", "due", False), ("追回", "recovered", True),
    ):  # fmt: skip
        table.add_column(tr(lang, zh, en), justify="right" if right else "left")
    for r in rows:
        late = r["overdue"]
        due = (r["due_date"] or "—") + (tr(lang, " 逾期", " overdue") if late else "")
        recovered = fmt_yuan(r["recovered_amt"]) if r["status"] == "deducted" else "—"
        cells = [
            str(r["id"]), r["case_no"], f"{r['rule_code']} {r['rule_label']}", r["fixmedins_code"] or "—", r["setl_id"],
            fmt_yuan(r["amount"]), r["status_label"], due, recovered,
        ]  # fmt: skip
        table.add_row(*cells, style="red" if late else None)
    summary = "  ".join(f"{wf.status_label(k, lang)} {counts.get(k, 0)}" for k in wf.STATUSES)
    table.caption = summary + tr(lang, f"  逾期 {counts['overdue']}", f"  overdue {counts['overdue']}")
    console.print(table)


def case(
    case_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="疑点编号（id）/ the case's id")],
    lang: Lang = "zh",
) -> None:
    """一个疑点：规则、说明、证据、办理经过 / one 疑点 with its evidence and what happened."""
    from yibao.app.suspect_views import detail

    lang = check_lang(lang)
    with database(lang) as db, db.unit_of_work() as s:
        c = detail(s, case_id, _reader(), lang)
    late = tr(lang, "（已逾期）", " (overdue)") if c["overdue"] else ""
    console.print(f"[bold]{c['case_no']}[/bold] {c['status_label']}{late} · {c['rule_code']} {c['rule_label']}")
    console.print(c["message"])
    console.print(
        tr(lang, "涉及金额 ", "at stake ")
        + fmt_yuan(c["amount"])
        + tr(lang, " 元 · 期限 ", " yuan · due ")
        + (c["due_date"] or "—")
    )
    evidence = tr(lang, "、", ", ").join(e["text"] for e in c["evidence"]) or "—"
    console.print(tr(lang, "证据：", "evidence: ") + evidence)
    table = Table(title=tr(lang, "办理经过（北京时间）", "What happened (Beijing time)"))
    for zh, en in (
        ("时间", "when"),
        ("步骤", "step"),
        ("状态", "status"),
        ("办理人", "by"),
        ("渠道", "channel"),
        ("说明", "note"),
    ):
        table.add_column(tr(lang, zh, en))
    for e in c["events"]:
        when = beijing_text(e["recorded_at"])
        amount = f" {fmt_yuan(e['amount'])}" if e["amount"] else ""
        table.add_row(when, e["action_label"] + amount, e["to_label"], e["recorded_by"], e["channel_label"], e["note"] or "")
    console.print(table)


def register(audit_app: typer.Typer) -> None:
    """``cases`` and ``case`` in ``yibao audit``."""
    audit_app.command("cases")(cases)
    audit_app.command("case")(case)
