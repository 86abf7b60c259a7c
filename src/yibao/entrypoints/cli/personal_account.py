"""``yibao filing account`` and ``yibao import accounts``: employees' personal-account (个人账户) balances for a year."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan, yuan_to_fen
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt

Year = Annotated[int, typer.Option("--year", help="年度（余额为该年度结算前的个人账户余额）")]


def _balance(text: str, lang: str) -> int:
    try:
        return yuan_to_fen(text)
    except (ValueError, ArithmeticError) as exc:
        where = InputError("command line", "balance", text, f"an amount in yuan with at most 2 decimals ({exc})")
        raise refuse(where, lang, NOTHING_CHANGED) from None


def filing_account(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号（职工）")],
    year: Year,
    balance: Annotated[str, typer.Option("--balance", help="个人账户余额（元，至多两位小数）")],
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """登记职工个人账户某年度的余额（该年度结算前）；再次登记以最新一条为准。"""
    from yibao.app import personal_account
    from yibao.app import registry as lookup
    from yibao.store.db import Database

    fen = _balance(balance, lang)
    db = Database.open()
    try:
        with db.unit_of_work() as s:
            p = lookup.find_person(s, key)
            personal_account.add_balance(s, p, year, fen, user, "command line")
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    console.print(
        _t(
            lang,
            f"已登记个人账户余额：{p.psn_name} {year} 年度 {fmt_yuan(fen)} 元",
            f"Recorded the personal account balance: {p.psn_name}, {year}, {fmt_yuan(fen)} yuan",
        )
    )


def import_accounts(
    path: Annotated[Path, typer.Argument(help="人员 CSV（psn_no、acct_balance 列，元）")],
    year: Year,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """从人员 CSV 的 acct_balance 列导入职工个人账户余额（全部有效才写入）。"""
    from yibao.app import personal_account
    from yibao.store.db import Database

    db = Database.open()
    try:
        with db.unit_of_work() as s:
            n = personal_account.load_balances(s, path, year, user)
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    console.print(
        _t(
            lang,
            f"已导入 {n} 条 {year} 年度个人账户余额（{path.name}）",
            f"Imported {n} personal account balances for {year} ({path.name})",
        )
    )


def register(filing_app: typer.Typer, import_app: typer.Typer) -> None:
    filing_app.command("account")(filing_account)
    import_app.command("accounts")(import_accounts)
