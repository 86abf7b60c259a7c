"""``yibao assistance apply`` and ``yibao assistance reverse``: 依申请救助 at the command line."""

from __future__ import annotations

import getpass
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.settings import DEFAULT_POLICY, POLICY_ENV
from yibao.core.vocab import identity_label
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse

if TYPE_CHECKING:
    from yibao.app import assistance


assistance_app = typer.Typer(help="依申请救助 / assistance on application", no_args_is_help=True)

Lang = Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")]
UserOpt = Annotated[str, typer.Option("--user", help="经办人（默认当前系统用户）")]


COLUMNS = (
    ("结算ID", "id"), ("结算日期", "date"), ("定点机构", "institution"), ("医疗费用总额", "total"),
    ("政策范围内费用", "policy range"), ("基金支付", "funds paid"), ("政策范围内个人自付", "self-pay left"),
)  # fmt: skip
"""The columns of the bills counted, in Chinese and English."""


def _day(text: str | None, lang: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise refuse(InputError("command line", "date", text, "a date YYYY-MM-DD"), lang, NOTHING_CHANGED) from None


def print_application(app: assistance.Application, lang: str) -> None:
    """The bills counted, the base, the pay and the trace, in ``lang``."""
    from yibao.settlement.trace import render

    r, p = app.result, app.person
    head = _t(lang, "依申请救助", "Assistance on application")
    state = (
        _t(lang, f"已确认，结算ID {app.setl_id}", f"decided, id {app.setl_id}")
        if app.setl_id
        else _t(lang, "预览（未写入）", "preview (nothing written)")
    )
    console.print(f"{head} · {p.psn_name} {p.psn_no} · {identity_label(r.identity, lang)} · {state}")
    window = f"{r.window_from.isoformat()} – {r.applied_on.isoformat()}"
    console.print(_t(lang, f"回溯期 {window}，计入结算 {len(app.bills)} 笔", f"window {window}, {len(app.bills)} bills counted"))
    table = Table(title=_t(lang, "计入的结算（元）", "Bills counted (yuan)"))
    for zh, en in COLUMNS:
        table.add_column(_t(lang, zh, en), justify="left" if en in ("id", "date", "institution") else "right")
    for b in app.bills:
        amounts = (b.medfee_sumamt, b.inscp_scp_amt, b.fund_pay_sumamt, b.left)
        table.add_row(b.setl_id, b.setl_date.isoformat(), b.fixmedins_name, *(fmt_yuan(v) for v in amounts))
    console.print(table)
    console.print(_t(lang, f"计算基数 {fmt_yuan(r.base)} 元", f"base {fmt_yuan(r.base)} yuan"))
    console.print(_t(lang, f"本次救助 {fmt_yuan(r.pay)} 元", f"assistance paid {fmt_yuan(r.pay)} yuan"), style="bold")
    for tier, text in render(r.trace, lang):
        console.print(f"  {tier}: {text}", markup=False)


@assistance_app.command("apply")
def apply(
    key: Annotated[str, typer.Argument(help="人员编号或身份证号")],
    on: Annotated[str | None, typer.Option("--date", help="申请日期（默认今天）")] = None,
    confirm: Annotated[bool, typer.Option("--confirm", help="确认并写入台账（默认只预览）")] = False,
    policy: Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV)] = DEFAULT_POLICY,
    user: UserOpt = "",
    lang: Lang = "zh",
) -> None:
    """依申请救助：回溯期内计入的结算、计算基数、救助金额和计算过程；--confirm 写入台账。"""
    from yibao.app import assistance
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    day = _day(on, lang)
    try:
        pack = load_pack(policy)
        with Database.open().unit_of_work() as s:
            done = assistance.apply_for_assistance(s, pack, key, day, user or getpass.getuser(), confirm=confirm)
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    print_application(done, lang)


@assistance_app.command("reverse")
def reverse(
    setl_id: Annotated[str, typer.Argument(help="依申请救助的结算ID（A…）")],
    reason: Annotated[str, typer.Option("--reason", help="撤销原因")],
    user: UserOpt = "",
    lang: Lang = "zh",
) -> None:
    """撤销依申请救助：退回占用的年度救助限额，所计入的结算可再次申请。"""
    from yibao.app import assistance
    from yibao.store.db import Database

    try:
        with Database.open().unit_of_work() as s:
            entry = assistance.reverse(s, setl_id, reason, user or getpass.getuser())
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    said = _t(lang, f"已撤销 {setl_id}，撤销记录 {entry.setl_id}", f"reversed {setl_id}: reversal {entry.setl_id}")
    console.print(said)
