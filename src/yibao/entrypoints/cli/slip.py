"""``yibao slip SETL_ID``: print a settlement slip (一单制结算单) as HTML and/or a one-page PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.money import fmt_yuan
from yibao.core.settings import DEFAULT_POLICY, POLICY_ENV
from yibao.entrypoints.cli.output import console
from yibao.entrypoints.cli.output import err_console as err


def slip(
    setl_id: Annotated[str, typer.Argument(help="结算ID（或撤销记录ID）/ settlement id")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="写出 PDF（A4 一页）")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="写出可打印网页")] = None,
    policy: Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV, help="政策包（用于待遇类别名称）")] = DEFAULT_POLICY,
) -> None:
    """结算单：姓名与脱敏证件号、费用、各方支付、个人负担、计算过程；可写出 HTML 与 PDF。"""
    from yibao.app import slips
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    try:
        pack = load_pack(policy)
        db = Database.open()
        with db.unit_of_work() as s:
            view = slips.build_slip(s, setl_id, pack)
    except (InputError, InputErrors) as exc:
        err.print("[bold red]无法生成结算单：[/]")
        err.print(exc.render("zh"), markup=False)
        raise typer.Exit(code=2) from None
    table = Table(title=f"{view.title} {view.setl_id}（{view.status_zh}）")
    table.add_column("项目")
    table.add_column("金额（元）", justify="right")
    table.add_row("医疗费用总额", fmt_yuan(view.medfee_sumamt))
    for p in view.payers:
        table.add_row(f"{p.fund_pay_type} {p.name}", fmt_yuan(p.paid))
    table.add_row("基金支付合计", fmt_yuan(view.fund_pay_sumamt))
    table.add_row("个人负担", fmt_yuan(view.psn_part_amt))
    console.print(f"{view.fixmedins_name} · {view.psn_name} {view.certno_masked} · {view.line_zh} · {view.setl_date}")
    console.print(table)
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(slips.render_html(view), encoding="utf-8")
        console.print(f"已写入 {html}")
    if pdf is not None:
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(slips.render_pdf(view))
        console.print(f"已写入 {pdf}")
