"""``yibao audit rules``, ``yibao audit rule CODE`` and ``yibao audit knowledge import|template``: the rule library
and the knowledge workbook at the server.

The command line is the server's operator (as for the account commands): its changes are recorded under
``--user`` (the system user by default) with the administrator's rights.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.entrypoints.cli.output import NOTHING_CHANGED, NOTHING_STORED, console, err_console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt

if TYPE_CHECKING:
    from yibao.policy.pack import PolicyPack


CLI_ROLE = "admin"
"""Whoever runs the command line at the server acts as an administrator."""

knowledge_app = typer.Typer(help="知识库导入 / the audit knowledge workbook", no_args_is_help=True)


def _policy(lang: str) -> PolicyPack:
    from yibao.policy.in_force import configured_pack

    try:
        return configured_pack()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None


def rules_cmd(lang: Lang = "zh") -> None:
    """列出规则库：每条规则的类型、结果、参数（含来源）、启用状态与最近一次变更。"""
    from yibao.app import audit_rules
    from yibao.store.db import Database

    db = Database.open()
    try:
        with db.unit_of_work() as s:
            views = audit_rules.rules(s, _policy(lang))
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    table = Table(title=_t(lang, "审核规则库", "Audit rule library"))
    for head in (("编码", "Code"), ("名称", "Name"), ("结果", "Result"), ("处理", "Action"), ("参数", "Parameters"),
                 ("状态", "Status"), ("最近变更", "Last change")):  # fmt: skip
        table.add_column(_t(lang, *head))
    for v in views:
        said = audit_rules.labels(v, lang)
        params = "; ".join(f"{p.name}={p.value}" + (" *" if p.changed else "") for p in v.params)
        c = v.last_change
        last = f"{c.recorded_by} {beijing_text(c.recorded_at)}" if c is not None else ""
        table.add_row(v.code, said["name"], said["result"], said["action"], params, said["enabled"], last)
    console.print(table)
    console.print(_t(lang, "* 已由本局修改（不同于规则包）", "* changed by the bureau (differs from the pack)"))


def _assignments(items: list[str], lang: str) -> dict[str, object]:
    from yibao.app import audit_rules

    out: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise refuse(InputError("command line", "--set", item, "name=value, such as `days=14`"), lang, NOTHING_CHANGED)
        out[name.strip()] = audit_rules.param_value(value)
    return out


def rule_cmd(
    code: Annotated[str, typer.Argument(help="规则编码")],
    reason: Annotated[str, typer.Option("--reason", help="变更原因（必填）")],
    on: Annotated[bool, typer.Option("--on", help="启用")] = False,
    off: Annotated[bool, typer.Option("--off", help="停用")] = False,
    sets: Annotated[list[str] | None, typer.Option("--set", help="参数，如 days=14（可多次）")] = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """启用、停用规则或修改参数（与规则包同样校验），记录修改人、时间与原因。"""
    from yibao.app import audit_rules
    from yibao.store.db import Database

    if on and off:
        raise refuse(InputError("command line", "--on/--off", "--on --off", "--on or --off, not both"), lang, NOTHING_CHANGED)
    params = _assignments(sets or [], lang)
    db = Database.open()
    try:
        with db.unit_of_work() as s:
            view = audit_rules.change_rule(
                s, code, enabled=True if on else False if off else None, params=params, reason=reason, by=user,
                role=CLI_ROLE, policy=_policy(lang),
            )  # fmt: skip
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    said = audit_rules.labels(view, lang)
    params_text = "，".join(f"{p.name}={p.value}" for p in view.params) or _t(lang, "无", "none")
    console.print(
        _t(
            lang,
            f"已记录：规则 {view.code}（{said['name']}）{said['enabled']}；参数 {params_text}",
            f"Recorded: rule {view.code} ({said['name']}) {said['enabled']}; parameters {params_text}",
        ),
        markup=False,
    )


@knowledge_app.command("import")
def knowledge_import(
    file: Annotated[Path, typer.Argument(help="知识库工作簿 .xlsx")],
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """导入知识库工作簿（每表一个工作表）：任何一行有错则整本不导入，并指明文件、工作表、行、列和值。"""
    from yibao.app import audit_knowledge
    from yibao.interfaces.workbooks.sheets import SheetRefused
    from yibao.store.db import Database

    if not file.is_file():
        raise refuse(InputError("command line", "FILE", str(file), "an existing .xlsx file"), lang, NOTHING_STORED)
    db = Database.open()
    try:
        with db.unit_of_work() as s:
            done = audit_knowledge.import_workbook(s, file, by=user, role=CLI_ROLE)
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_STORED) from None
    except SheetRefused as exc:
        err_console.print(f"[bold red]{_t(lang, *NOTHING_STORED)}[/]")
        for p in exc.problems:
            err_console.print(_t(lang, p.reason, p.reason_en), markup=False)
        raise typer.Exit(2) from None
    for d in done:
        console.print(
            _t(lang, f"已导入 {d.sheet}：{d.rows} 行（{d.table}）", f"Imported {d.sheet}: {d.rows} rows ({d.table})"),
            markup=False,
        )


@knowledge_app.command("template")
def knowledge_template(out: Annotated[Path, typer.Argument(help="写出的 .xlsx")], lang: Lang = "zh") -> None:
    """写出知识库导入模板：每张表一个工作表，含表头和一行示例。"""
    from yibao.interfaces.workbooks.audit_knowledge import write_template

    write_template(out)
    console.print(_t(lang, f"已写出模板：{out}", f"Template written: {out}"), markup=False)


def register(audit_app: typer.Typer) -> None:
    """Add the rule library's commands to ``yibao audit``."""
    audit_app.command("rules")(rules_cmd)
    audit_app.command("rule")(rule_cmd)
    audit_app.add_typer(knowledge_app, name="knowledge")
