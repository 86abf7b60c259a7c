"""``yibao budget set/import/derive/show/template``: the yearly fund budget (基金预算) at the command line.

Budget against actual and its warnings are in ``yibao report`` (the 基金预算执行 and 基金预算预警 tables)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.vocab import BUDGET_FUNDS, BUDGET_SOURCES
from yibao.entrypoints.cli.output import NOTHING_CHANGED, NOTHING_WRITTEN, console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt

budget_app = typer.Typer(help="基金预算 / fund budget", no_args_is_help=True)

Year = Annotated[int, typer.Argument(help="预算年度，如 2022")]
DbOpt = Annotated[str | None, typer.Option("--db", help="数据库 URL（默认 YIBAO_DATABASE_URL 或 sqlite:///yibao.db）")]


def _year(year: int, lang: str) -> int:
    from yibao.app import budget as svc

    try:
        return svc.check_year(year, "command line")
    except InputError as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None


@budget_app.command("set")
def set_budget(
    year: Year,
    fund: Annotated[str, typer.Argument(help="基金：basic 基本医保统筹基金 / critical 大病保险 / assistance 医疗救助基金")],
    amount: Annotated[str, typer.Argument(help="金额（元）：全年预算（按月平均分配），或 --month 指定月份的预算")],
    month: Annotated[int | None, typer.Option("--month", help="只设某月（1–12）")] = None,
    db: DbOpt = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """录入基金预算：全年金额按月平均分配（分到分，余数给前几个月），或用 --month 只设一个月。"""
    from yibao.app import budget as svc
    from yibao.store.db import Database

    _year(year, lang)
    try:
        code = svc.check_fund(fund, "command line")
        fen = svc.check_amount(amount, "command line")
        amounts = svc.spread(code, fen) if month is None else {(code, svc.check_month(month, "command line", "--month")): fen}
        with Database.open(db).unit_of_work() as s:
            changed = svc.set_amounts(s, year, amounts, "entered", user)
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    name = pick(BUDGET_FUNDS[code], lang)
    console.print(
        _t(lang, f"已录入 {year} 年{name}预算：{changed} 个月有变动。", f"{year} {name} budget set: {changed} months changed.")
    )


@budget_app.command("import")
def import_budget(
    file: Annotated[Path, typer.Argument(help="填好的基金预算模板（.xlsx，yibao budget template 写出）")],
    db: DbOpt = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """导入基金预算模板：任何一行有误则整份不导入，并列出每个有误的单元格。"""
    from yibao.app import budget as svc
    from yibao.store.db import Database

    try:
        with file.open("rb") as fh, Database.open(db).unit_of_work() as s:
            done = svc.import_template(s, fh, file.name, user)
            s.commit()
    except OSError:
        raise refuse(
            InputError(str(file), "file", str(file), "a readable .xlsx file", expected_zh="可读取的 .xlsx 文件"),
            lang,
            NOTHING_CHANGED,
        ) from None
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    years = "、".join(map(str, done.years))
    console.print(_t(lang, f"已导入 {years} 年 {done.rows} 个基金的预算：{done.changed} 个月有变动。",
                     f"Imported the budget of {done.rows} funds for {years}: {done.changed} months changed."))  # fmt: skip


@budget_app.command("derive")
def derive(
    year: Year,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="政策包（默认为核定该年度保费的政策包，否则为配置的政策包）")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只测算，不写入")] = False,
    db: DbOpt = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """按上年实际支出和本年筹资测算预算：上年各基金支出 ×（1 + 增长率）；基本医保与大病保险合计不超过本年筹资 ×（1 − 预留结余
    比例），超过则按比例压减；各月按上年各月支出比例分配。参数取自政策包（基金预算）。"""
    from yibao.app import budget as svc
    from yibao.app.report_sources import ledger_pack
    from yibao.policy.in_force import configured_pack
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    _year(year, lang)
    try:
        database = Database.open(db)
        pack = load_pack(policy) if policy else ledger_pack(database, date(year, 1, 1), date(year, 12, 31), configured_pack())
        with database.unit_of_work() as s:
            d = svc.derive(s, pack, year, user, write=not dry_run)
            s.commit()
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    _grid(year, d.amounts, lang)
    console.print(d.note(lang), markup=False)
    if dry_run:
        console.print(_t(lang, "测算结果（未写入）。", "Derived (nothing written)."))
    else:
        console.print(_t(lang, f"已写入：{d.changed} 个月有变动。", f"Written: {d.changed} months changed."))


@budget_app.command("show")
def show(year: Year, db: DbOpt = None, lang: Lang = "zh") -> None:
    """某年度的基金预算（按基金和月份）和最近的变动（何时、何人、如何）。"""
    from yibao.app import budget as svc
    from yibao.store.db import Database

    _year(year, lang)
    with Database.open(db).reading() as s:
        amounts, changes = svc.budget_of(s, year), svc.changes(s, year, 20)
    if not amounts:
        console.print(_t(lang, f"{year} 年尚无基金预算。", f"No fund budget for {year} yet."))
        return
    _grid(year, amounts, lang)
    table = Table(title=_t(lang, "最近的变动", "Latest changes"))
    for zh, en in (("时间", "time"), ("基金", "fund"), ("月份", "month"), ("原金额", "before"), ("新金额", "after"),
                   ("方式", "how"), ("经办人", "by")):  # fmt: skip
        table.add_column(_t(lang, zh, en))
    for c in changes:
        before = "—" if c.before is None else fmt_yuan(c.before)
        table.add_row(beijing_text(c.recorded_at), pick(BUDGET_FUNDS[c.fund], lang), str(c.month), before, fmt_yuan(c.after),
                      pick(BUDGET_SOURCES[c.source], lang), c.recorded_by)  # fmt: skip
    console.print(table)


@budget_app.command("template")
def template(
    year: Year,
    out: Annotated[Path, typer.Option("--out", "-o", help="输出文件")] = Path("基金预算模板.xlsx"),
    db: DbOpt = None,
    lang: Lang = "zh",
) -> None:
    """写出基金预算模板（.xlsx，已填入该年度现有预算），填好后用 yibao budget import 导入。"""
    from yibao.app import budget as svc
    from yibao.store.db import Database

    _year(year, lang)
    with Database.open(db).reading() as s:
        amounts = svc.budget_of(s, year)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(svc.template_bytes(year, amounts, lang))
    except OSError:
        raise refuse(
            InputError("command line", "--out", str(out), "a file that can be written", expected_zh="可写入的文件"),
            lang,
            NOTHING_WRITTEN,
        ) from None
    console.print(_t(lang, "已写入：", "Wrote: ") + str(out), markup=False)


def _grid(year: int, amounts: dict[tuple[str, int], int], lang: str) -> None:
    from yibao.rules import budget as rules

    table = Table(title=_t(lang, f"{year} 年基金预算（元）", f"Fund budget {year} (yuan)"))
    table.add_column(_t(lang, "月份", "month"))
    for f in rules.FUNDS:
        table.add_column(pick(BUDGET_FUNDS[f], lang), justify="right")
    for m in rules.MONTHS:
        table.add_row(str(m), *(fmt_yuan(amounts.get((f, m), 0)) for f in rules.FUNDS))
    table.add_row(_t(lang, "全年", "year"), *(fmt_yuan(rules.fund_total(amounts, f)) for f in rules.FUNDS))
    console.print(table)
