"""``yibao backpay list`` and ``yibao backpay pay``: 补差 after a late identity at the command line."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.settings import DEFAULT_POLICY, POLICY_ENV
from yibao.core.vocab import FIELDS, identity_label, label
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse

backpay_app = typer.Typer(
    help="补差：身份补录后按结算日身份重新结算并补付差额 / back-pay after a late identity", no_args_is_help=True
)

Lang = Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")]
Policy = Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV)]
SHOWN = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt")


@backpay_app.command("list")
def list_pending(policy: Policy = DEFAULT_POLICY, lang: Lang = "zh") -> None:
    """待补差：结算日已有新身份、但按原身份结算的人员及其结算。"""
    from yibao.app import backpay
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    try:
        pack = load_pack(policy)
        with Database.open().reading() as s:
            people = backpay.pending(s, pack)
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    if not people:
        console.print(_t(lang, "没有待补差的结算。", "No settlement is waiting for back-pay."))
        return
    table = Table(title=_t(lang, f"待补差（{len(people)} 人）", f"Back-pay pending ({len(people)} people)"))
    for zh, en in (("人员编号", "person"), ("姓名", "name"), ("结算ID", "settlement"), ("结算日期", "date"),
                   ("原身份", "settled as"), ("应为", "now")):  # fmt: skip
        table.add_column(_t(lang, zh, en))
    for p in people:
        for a in p.settlements:
            table.add_row(p.psn_no, p.psn_name, a.setl_id, a.setl_date.isoformat(), identity_label(a.settled_as, lang),
                          identity_label(a.now, lang))  # fmt: skip
    console.print(table)


@backpay_app.command("pay")
def pay(
    key: Annotated[str, typer.Argument(help="人员编号或身份证号")],
    confirm: Annotated[bool, typer.Option("--confirm", help="确认并写入台账（默认只预览）")] = False,
    policy: Policy = DEFAULT_POLICY,
    user: Annotated[str, typer.Option("--user", help="经办人（默认当前系统用户）")] = "",
    lang: Lang = "zh",
) -> None:
    """补差：按结算日有效的身份依日期顺序重新结算，列出每笔结算的差额；--confirm 写入台账。"""
    from yibao.app import backpay
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    try:
        pack = load_pack(policy)
        with Database.open().unit_of_work() as s:
            if confirm:
                stem, plan = backpay.pay(s, pack, key, user or getpass.getuser())
                s.commit()
            else:
                stem, plan = None, backpay.plan(s, pack, key)
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    state = _t(lang, f"已补差，补差单号 {stem}", f"paid, id {stem}")
    if stem is None:
        state = _t(lang, "预览（未写入）", "preview (nothing written)") if not confirm else _t(lang, "无需补差", "nothing paid")
    console.print(f"{_t(lang, '补差', 'Back-pay')} · {plan.person.psn_name} {plan.person.psn_no} · {state}")
    if not plan.differences:
        console.print(_t(lang, "没有需要补差的结算。", "Nothing to pay back."))
        return
    table = Table(title=_t(lang, "各笔结算的差额（元）", "Differences per settlement (yuan)"))
    table.add_column(_t(lang, "结算ID", "settlement"))
    table.add_column(_t(lang, "结算日期", "date"))
    table.add_column(_t(lang, "身份类别", "identity"))
    for f in SHOWN:
        table.add_column(label(FIELDS, f, lang), justify="right")
    for d in plan.differences:
        who = f"{identity_label(d.before.identity, lang)} → {identity_label(d.after.identity, lang)}"
        table.add_row(d.before.ref, d.after.setl_date.isoformat(), who, *(fmt_yuan(d.delta[f]) for f in SHOWN))
    console.print(table)
    refund = fmt_yuan(plan.refund)
    console.print(_t(lang, f"应退还个人现金 {refund} 元", f"cash to pay back {refund} yuan"), style="bold")
