"""Fund supervision commands: ``yibao audit …`` (``institutions``: the institution anomalies over the ledger).

``audit_app`` is registered in :mod:`yibao.entrypoints.cli.main`; other audit commands join it here.

The database is ``YIBAO_DATABASE_URL`` (an SQLite file ``yibao.db`` by default). Bad input prints which
field, which value and what was expected and exits with code 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.audit.indicators import BY_CODE
from yibao.core.errors import InputError
from yibao.core.i18n import paren, t
from yibao.entrypoints.cli.enrol import Lang, check_lang, database, fail
from yibao.entrypoints.cli.output import console

if TYPE_CHECKING:
    from yibao.app.institution_anomalies import Result


audit_app = typer.Typer(help="医保基金智能监管 / fund supervision", no_args_is_help=True)

COLUMNS = (
    ("rank", "排名", "rank", True), ("name", "机构", "institution", False), ("month", "月份", "month", False),
    ("indicator", "指标", "indicator", False), ("value", "数值", "value", True),
    ("median", "同级中位数", "peers' median", True), ("fence", "围栏", "fence", True),
    ("direction", "方向", "dir.", False), ("kind", "类别", "kind", False), ("score", "得分", "score", True),
)  # fmt: skip


def ranked_table(r: Result, lang: str, top: int) -> Table:
    from yibao.app.institution_anomalies import shown_row

    ranked = r.ranked()
    period = r.query.month or str(r.query.year)
    table = Table(
        title=t(lang, f"机构异常监测 {period}（同级比较与自身趋势）", f"Institution anomalies {period} (peers and own trend)")
    )
    for _key, zh, en, right in COLUMNS:
        table.add_column(t(lang, zh, en), justify="right" if right else "left")
    for row in ranked.head(top).iter_rows(named=True):
        shown_ = shown_row(r, row, lang)
        table.add_row(*(shown_[key] for key, *_ in COLUMNS))
    if ranked.height > top:
        table.caption = t(lang, f"共 {ranked.height} 条，仅列前 {top} 条", f"{ranked.height} in all, first {top} shown")
    elif ranked.height == 0:
        table.caption = t(lang, "无异常", "nothing flagged")
    return table


def township_table(r: Result, lang: str) -> Table:
    """Per township (the patients'): its first flags, and the institutions serving it with their flags."""
    from yibao.app.institution_anomalies import township_view

    table = Table(title=t(lang, "乡镇视图", "Townships"))
    for zh, en in (("乡镇", "township"), ("异常指标", "flagged"), ("服务机构（异常数）", "institutions serving it (flags)")):
        table.add_column(t(lang, zh, en))
    for town in township_view(r, lang):
        said = [f"{f['month']} {f['indicator']} {f['value']}" for f in town["flags"][:3]]
        insts = [f"{i['name']}{paren(i['flags'], lang)}" for i in town["institutions"]]
        table.add_row(town["township"], "\n".join(said) or "—", t(lang, "、", ", ").join(insts) or "—")
    return table


@audit_app.command("institutions")
def institutions_cmd(
    year: Annotated[int, typer.Option("--year", help="年度 / year")],
    month: Annotated[str | None, typer.Option("--month", help="只看一个月，如 2022-06 / one month")] = None,
    level: Annotated[int | None, typer.Option("--level", help="医院等级 1/2/3 / hospital level")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator", help="指标 / indicator: " + ", ".join(BY_CODE))] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="列出前几条 / rows shown")] = 30,
    townships: Annotated[bool, typer.Option("--townships", help="同时列出乡镇视图 / also the township view")] = False,
    lang: Lang = "zh",
) -> None:
    """机构异常监测：月度指标与同级机构比较（四分位围栏）及自身趋势，按偏离程度排序 / institution anomalies, ranked."""
    from yibao.app.institution_anomalies import check_query, institution_anomalies

    lang = check_lang(lang)
    try:
        q = check_query(year, month, level, indicator, where="command line", prefix="--")
    except InputError as exc:
        raise fail(exc, lang) from None
    with database(lang) as db, db.unit_of_work() as s:
        r = institution_anomalies(s, q)
    console.print(ranked_table(r, lang, top))
    if townships:
        console.print(township_table(r, lang))
