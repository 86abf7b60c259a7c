"""``yibao capitation townships/statement/year-end/score``: 门诊统筹人头定额 statements at the command line (Rich tables;
the month's statement also as Excel with ``--xlsx``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_percent, fmt_yuan
from yibao.entrypoints.cli.output import NOTHING_CHANGED, NOTHING_WRITTEN, console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt

if TYPE_CHECKING:
    from yibao.rules.capitation import InstitutionMonth


capitation_app = typer.Typer(help="门诊统筹人头定额 / outpatient capitation statements", no_args_is_help=True)

Township = Annotated[str, typer.Argument(help="乡镇名称")]
DbOpt = Annotated[str | None, typer.Option("--db", help="数据库 URL（默认 YIBAO_DATABASE_URL 或 sqlite:///yibao.db）")]


def _pairs(title: str, pairs: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column()
    table.add_column(justify="right")
    for k, v in pairs:
        table.add_row(k, v)
    return table


@capitation_app.command("townships")
def townships(db: DbOpt = None, lang: Lang = "zh") -> None:
    """实行门诊统筹人头定额的乡镇及有结算数据的月份。"""
    from yibao.app import capitation as svc
    from yibao.store.db import Database

    with Database.open(db).reading() as s:
        rows = [(t, svc.months(s, t)) for t in svc.townships(s)]
    table = Table(title=_t(lang, "门诊统筹人头定额乡镇", "Capitation townships"))
    table.add_column(_t(lang, "乡镇", "township"))
    table.add_column(_t(lang, "有数据的月份", "months with data"))
    for town, months in rows:
        table.add_row(town, ", ".join(f"{y}-{m:02d}" for y, m in months))
    console.print(table)


def _money_row(r: InstitutionMonth) -> list[str]:
    amounts = (r.medfee_sumamt, r.inscp_scp_amt, r.hifp_pay, r.captn_pay, r.item_pay, r.psn_part_amt)
    return [str(r.visits), *(fmt_yuan(v) for v in amounts)]


@capitation_app.command("statement")
def statement(
    township: Township,
    month: Annotated[str, typer.Argument(help="年月 YYYY-MM，如 2020-03")],
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="另存为 Excel（月度结算单和年终结算两张表）")] = None,
    db: DbOpt = None,
    lang: Lang = "zh",
) -> None:
    """乡镇门诊统筹人头定额月度结算单：人头数、本月预拨、各机构就诊和金额、按人头和按项目支付、应拨付村卫生室及截止日。"""
    from yibao.app import capitation as svc
    from yibao.app.capitation_workbook import INSTITUTION_HEADS, counted_text, kind_text, workbook_bytes
    from yibao.policy.in_force import configured_pack
    from yibao.store.db import Database

    try:
        town = svc.check_township(township)
        year, mm = svc.check_month(month)
        with Database.open(db).reading() as s:
            done = svc.statement(s, town, year, mm, configured_pack())
            year_end = svc.year_end(s, town, year, configured_pack()) if xlsx else None
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_WRITTEN) from None
    m = done.statement
    title = _t(lang, f"{m.township} {m.year} 年 {m.month} 月门诊统筹人头定额结算单", f"{m.township}: statement {month}")
    console.print(_pairs(title, [
        (_t(lang, "政策包", "policy pack"), done.pack_id),
        (_t(lang, "计算人头", "persons counted"), counted_text(done.block.counted, lang)),
        (_t(lang, "人头数", "persons"), f"{m.persons:,}"),
        (_t(lang, "人头定额标准（元/人·年）", "standard (yuan per person-year)"), fmt_yuan(m.standard_fen)),
        (_t(lang, "年度人头总额（元）", "year's per-head amount (yuan)"), fmt_yuan(m.year_amount)),
        (_t(lang, "预拨比例", "prepaid share"), fmt_percent(m.prepay_share)),
        (_t(lang, "本月预拨（元）", "prepaid this month (yuan)"), fmt_yuan(m.prepayment)),
        (_t(lang, "本月结余（元）", "balance (yuan)"), fmt_yuan(m.balance)),
    ]))  # fmt: skip
    table = Table(title=_t(lang, "各机构（元）", "By institution (yuan)"))
    for zh, en in INSTITUTION_HEADS[1:]:
        text = zh in ("机构名称", "类别")
        table.add_column(_t(lang, zh, en), justify="left" if text else "right", no_wrap=text, overflow="fold")
    for r in m.institutions:
        table.add_row(r.fixmedins_name, kind_text(r.hospital, lang), *_money_row(r))
    table.add_row(_t(lang, "合计", "total"), "", *_money_row(m.total), style="bold")
    console.print(table)
    due = m.due.isoformat()
    owed = Table(title=_t(lang, f"应拨付村卫生室（截止 {due}，含当日）", f"Owed to the clinics (due on or before {due})"))
    owed.add_column(_t(lang, "机构", "institution"), no_wrap=True)
    owed.add_column(_t(lang, "应拨付金额（元）", "amount owed (yuan)"), justify="right")
    for o in m.owed:
        owed.add_row(o.fixmedins_name, fmt_yuan(o.amount))
    owed.add_row(_t(lang, "合计", "total"), fmt_yuan(m.owed_total), style="bold")
    console.print(owed)
    if xlsx is not None:
        xlsx.parent.mkdir(parents=True, exist_ok=True)
        tmp = xlsx.with_name(f".{xlsx.name}.tmp")
        tmp.write_bytes(workbook_bytes(done, year_end, lang))
        tmp.replace(xlsx)
        console.print(_t(lang, f"已写出 {xlsx}", f"Written: {xlsx}"))


@capitation_app.command("year-end")
def year_end(township: Township, year: Annotated[int, typer.Argument(help="年度，如 2020")], db: DbOpt = None,
             lang: Lang = "zh") -> None:  # fmt: skip
    """乡镇门诊统筹人头定额年终结算：预拨、预留考核金、考核得分和返还、结余留用或超支、按项目支付。"""
    from yibao.app import capitation as svc
    from yibao.policy.in_force import configured_pack
    from yibao.store.db import Database

    try:
        town = svc.check_township(township)
        with Database.open(db).reading() as s:
            done = svc.year_end(s, town, svc.check_year(year), configured_pack())
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_WRITTEN) from None
    y, sc = done.year_end, done.score
    score = str(y.score) if y.score is not None else _t(lang, "未录入", "not recorded")
    pairs = [
        (_t(lang, "人头数", "persons"), f"{y.persons:,}"),
        (_t(lang, "年度人头总额（元）", "year's per-head amount (yuan)"), fmt_yuan(y.year_amount)),
        (_t(lang, "已预拨（元）", "prepaid (yuan)"), fmt_yuan(y.prepaid)),
        (_t(lang, "预留考核金（元）", "withheld (yuan)"), fmt_yuan(y.withheld)),
        (_t(lang, "考核得分", "score"), score),
        (_t(lang, "返还比例", "release"), fmt_percent(y.release_bp)),
        (_t(lang, "返还考核金（元）", "released (yuan)"), fmt_yuan(y.released)),
        (_t(lang, "按人头拨付合计（元）", "paid by head (yuan)"), fmt_yuan(y.paid)),
        (_t(lang, "实际按人头支付（元）", "by-head payments made (yuan)"), fmt_yuan(y.captn_made)),
        (_t(lang, "结余留用（元，负数为超支）", "surplus kept (yuan; negative: deficit)"), fmt_yuan(y.surplus)),
        (_t(lang, "按项目据实结算支付（元）", "paid item by item (yuan)"), fmt_yuan(y.item_pay)),
    ]
    if sc is not None:
        pairs.append((_t(lang, "得分录入", "score recorded"), f"{sc.recorded_by} {beijing_text(sc.recorded_at)}"))
    console.print(_pairs(_t(lang, f"{y.township} {y.year} 年度年终结算", f"{y.township}: year-end {y.year}"), pairs))


@capitation_app.command("score")
def score(
    township: Township,
    year: Annotated[int, typer.Argument(help="年度，如 2020")],
    value: Annotated[str, typer.Argument(metavar="SCORE", help="考核得分 0–100")],
    note: Annotated[str, typer.Option("--note", help="备注")] = "",
    db: DbOpt = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """录入乡镇年度考核得分（最新一条有效）。"""
    from yibao.app import capitation as svc
    from yibao.store.db import Database

    try:
        with Database.open(db).unit_of_work() as s:
            row = svc.record_score(s, township, year, value, note, user)
            s.commit()
            got = (row.township, row.year, row.score)
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    console.print(
        _t(lang, f"已录入 {got[0]} {got[1]} 年度考核得分 {got[2]} 分。", f"{got[0]} {got[1]}: score {got[2]} recorded.")
    )
