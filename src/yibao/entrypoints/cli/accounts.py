"""``yibao accounts list|add|disable|enable|reset|passwd|role|history``: what an administrator at the server does to
accounts (also as the older ``yibao account-add``, ``account-passwd``, ``account-disable``, ``account-enable``).
A disabled account, a password set or reset and a changed role end every session and token of the account at once,
in every server process; every change is recorded with who and when (``history``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.vocab import label
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from yibao.store.service_tables import Account


accounts_app = typer.Typer(help="账号：新建、停用、启用、重设密码、变更角色、变更记录 / accounts", no_args_is_help=True)

Username = Annotated[str, typer.Argument(help="用户名")]
RoleOpt = Annotated[str, typer.Option("--role", help="clerk / auditor / monitoring / analyst / admin / institution")]
InstitutionOpt = Annotated[str | None, typer.Option("--institution", help="定点机构账号所属的已登记机构编码")]


def _change(change: Callable[[Session], Account], lang: str) -> Account:
    """``change`` committed, or exit 2 naming the bad input (nothing changed)."""
    from yibao.store.db import Database

    db = Database.open()
    try:
        with db.unit_of_work() as s:
            account = change(s)
            s.commit()
            return account
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None


@accounts_app.command("list")
def list_accounts(lang: Lang = "zh") -> None:
    """全部账号：角色、所属机构、状态。"""
    from yibao.app import auth
    from yibao.store.db import Database

    with Database.open().unit_of_work() as s:
        rows = auth.accounts(s)
    table = Table(title=_t(lang, "账号", "Accounts"))
    for head in (_t(lang, "用户名", "User name"), _t(lang, "姓名", "Name"), _t(lang, "角色", "Role"),
                 _t(lang, "定点机构", "Institution"), _t(lang, "状态", "Status")):  # fmt: skip
        table.add_column(head)
    for a in rows:
        status = _t(lang, "在用", "active") if a["active"] else _t(lang, "已停用", "disabled")
        if a["must_change_password"]:
            status += _t(lang, "（临时密码）", " (temporary password)")
        table.add_row(a["username"], a["display_name"], label(auth.ROLES, a["role"], lang), a["fixmedins_code"] or "", status)
    console.print(table)


@accounts_app.command("add")
def add_account(
    username: Annotated[str, typer.Argument()],
    role: RoleOpt,
    fixmedins_code: InstitutionOpt = None,
    display_name: Annotated[str, typer.Option("--name")] = "",
    temporary: Annotated[bool, typer.Option("--temporary", help="首次登录时须修改密码")] = False,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """新建账号（密码交互输入，Argon2 哈希保存；定点机构账号须 --institution 已登记的机构）。"""
    from yibao.app import auth

    password = typer.prompt(_t(lang, "密码", "Password"), hide_input=True, confirmation_prompt=True)
    _change(
        lambda s: auth.create_account(
            s, username, password, role, user, display_name=display_name, fixmedins_code=fixmedins_code, temporary=temporary
        ),
        lang,
    )
    console.print(_t(lang, f"已新建账号 {username}（{role}）", f"Account {username} ({role}) created"))


@accounts_app.command("passwd")
def passwd(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """设置账号密码（交互输入两次）：该账号的全部令牌立即失效，登录锁定解除。"""
    from yibao.app import auth

    password = typer.prompt(_t(lang, "新密码", "New password"), hide_input=True, confirmation_prompt=True)
    _change(lambda s: auth.set_password(s, username, password, user), lang)
    console.print(
        _t(
            lang,
            f"已重设 {username} 的密码；该账号原有的登录令牌已全部失效。",
            f"Password of {username} set; every earlier token of the account stopped working.",
        )
    )


@accounts_app.command("reset")
def reset(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """重设为随机临时密码（只显示这一次）：本人下次登录须修改；该账号的全部令牌立即失效。"""
    from yibao.app import auth

    issued: list[str] = []

    def change(s: Session) -> Account:
        account, password = auth.reset_password(s, username, user)
        issued.append(password)
        return account

    _change(change, lang)
    console.print(
        _t(
            lang,
            f"{username} 的临时密码：{issued[0]}（只显示这一次；本人下次登录须修改）",
            f"Temporary password of {username}: {issued[0]} (shown this once; to be changed at next sign-in)",
        ),
        markup=False,
    )


@accounts_app.command("role")
def role(
    username: Username, role: RoleOpt, fixmedins_code: InstitutionOpt = None, user: UserOpt = OS_USER, lang: Lang = "zh"
) -> None:
    """变更账号角色：该账号的全部令牌立即失效（定点机构账号须 --institution 已登记的机构）。"""
    from yibao.app import auth

    _change(lambda s: auth.set_role(s, username, role, user, fixmedins_code), lang)
    console.print(
        _t(
            lang,
            f"已将 {username} 的角色改为 {label(auth.ROLES, role, lang)}；其全部令牌已失效。",
            f"Role of {username} changed to {role}; every token of it stopped working.",
        )
    )


@accounts_app.command("disable")
def disable(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """停用账号：该账号不能再登录，全部令牌立即失效。"""
    from yibao.app import auth

    _change(lambda s: auth.set_active(s, username, False, user), lang)
    console.print(
        _t(lang, f"已停用账号 {username}；其全部令牌已失效。", f"Account {username} disabled; every token of it stopped working.")
    )


@accounts_app.command("enable")
def enable(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """启用账号，并解除其登录锁定。"""
    from yibao.app import auth

    _change(lambda s: auth.set_active(s, username, True, user), lang)
    console.print(_t(lang, f"已启用账号 {username}。", f"Account {username} enabled."))


@accounts_app.command("history")
def history(
    username: Annotated[str | None, typer.Argument(help="用户名（空为全部账号）")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    lang: Lang = "zh",
) -> None:
    """账号变更记录（北京时间）：谁在何时对哪个账号做了什么。"""
    from yibao.app import auth
    from yibao.store.db import Database

    with Database.open().unit_of_work() as s:
        events = auth.account_events(s, username, limit)
    table = Table(title=_t(lang, "账号变更记录（北京时间）", "Account changes (Beijing time)"))
    for head in (_t(lang, "时间", "Time"), _t(lang, "账号", "Account"), _t(lang, "操作", "Action"),
                 _t(lang, "内容", "Detail"), _t(lang, "操作人", "By")):  # fmt: skip
        table.add_column(head)
    for e in events:
        table.add_row(
            beijing_text(e["recorded_at"]),
            e["username"],
            label(auth.ACTIONS, e["action"], lang),
            auth.detail_text(e["detail"], lang),
            e["recorded_by"],
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """``yibao accounts ...``, and the older one-word commands beside it."""
    app.add_typer(accounts_app, name="accounts")
    app.command("account-add")(add_account)
    app.command("account-passwd")(passwd)
    app.command("account-disable")(disable)
    app.command("account-enable")(enable)
