"""``yibao account-passwd``, ``yibao account-disable`` and ``yibao account-enable``: what an administrator at
the server does to an account. Each revokes every token of the account at once, in every server process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from yibao.app import auth
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt
from yibao.store.db import Database
from yibao.store.service_tables import Account

Username = Annotated[str, typer.Argument(help="用户名")]


def _change(change: Callable[[Session], Account], lang: str) -> Account:
    """``change`` committed, or exit 2 naming the bad input (nothing changed)."""
    db = Database.open()
    try:
        with db.unit_of_work() as s:
            account = change(s)
            s.commit()
            return account
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None


def passwd(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """重设账号密码（交互输入两次）：该账号的全部令牌立即失效，登录锁定解除。"""
    password = typer.prompt(_t(lang, "新密码", "New password"), hide_input=True, confirmation_prompt=True)
    _change(lambda s: auth.set_password(s, username, password, user), lang)
    console.print(
        _t(
            lang,
            f"已重设 {username} 的密码；该账号原有的登录令牌已全部失效。",
            f"Password of {username} set; every earlier token of the account stopped working.",
        )
    )


def disable(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """停用账号：该账号不能再登录，全部令牌立即失效。"""
    _change(lambda s: auth.set_active(s, username, False, user), lang)
    console.print(
        _t(lang, f"已停用账号 {username}；其全部令牌已失效。", f"Account {username} disabled; every token of it stopped working.")
    )


def enable(username: Username, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """启用账号，并解除其登录锁定。"""
    _change(lambda s: auth.set_active(s, username, True, user), lang)
    console.print(_t(lang, f"已启用账号 {username}。", f"Account {username} enabled."))
