"""``yibao db partitions [--through YEAR]``: the settlement ledger's year partitions on PostgreSQL (migration 0316).

Without ``--through`` it lists them (the years with a partition of their own, and what the default partition holds);
with it, it adds a partition for every later year through ``YEAR``, moving that year's rows out of the default
partition, in one transaction. On SQLite the ledger is one table: it says so and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from yibao.core.errors import InputError
from yibao.core.i18n import t
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse
from yibao.entrypoints.cli.people import Lang

Through = Annotated[
    int | None, typer.Option("--through", help="添加分区直至该年（含）/ add partitions through this year (inclusive)")
]


def _check(through: int | None) -> None:
    from yibao.store import ledger_partitions as parts

    if through is not None and not parts.FIRST_YEAR <= through <= parts.MAX_YEAR:
        raise InputError(
            "command line", "--through", through, f"a year from {parts.FIRST_YEAR} to {parts.MAX_YEAR}",
            expected_zh=f"{parts.FIRST_YEAR} 至 {parts.MAX_YEAR} 之间的年份",
        )  # fmt: skip


def partitions_cmd(through: Through = None, lang: Lang = "zh") -> None:
    """结算台账按年分区（PostgreSQL）：列出，或用 --through 添加以后年份的分区 / the ledger's year partitions."""
    from yibao.store import ledger_partitions as parts
    from yibao.store.db import Database

    try:
        _check(through)
    except InputError as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    db = Database.open()
    try:
        with db.engine.begin() as conn:
            if not parts.partitioned(conn):
                console.print(t(lang, "本数据库的结算台账不分区（SQLite），无需操作。",
                                "This database's ledger is not partitioned (SQLite): nothing to do."))  # fmt: skip
                return
            added = parts.add_partitions(conn, through) if through is not None else []
            years, default = parts.partition_years(conn), parts.default_rows(conn)
    finally:
        db.engine.dispose()
    for a in added:
        console.print(t(lang, f"已添加 {a.year} 年分区 {parts.partition_name(a.year)}（从默认分区移入 {a.moved} 条记录）",
                        f"Added the {a.year} partition {parts.partition_name(a.year)} ({a.moved} rows moved from the "
                        "default partition)"))  # fmt: skip
    if through is not None and not added:
        last = max(years)
        console.print(t(lang, f"分区已覆盖至 {last} 年，未添加。", f"The partitions reach {last} already; none added."))
    console.print(t(lang, f"结算台账按年分区：{min(years)}–{max(years)} 年各一个分区，另有默认分区。",
                    f"The ledger is partitioned by year: one partition each for {min(years)}–{max(years)}, and a "
                    "default partition."))  # fmt: skip
    held = "、".join(f"{year} 年 {n} 条" for year, n in default.items())
    held_en = ", ".join(f"{year}: {n} rows" for year, n in default.items())
    console.print(t(lang, f"默认分区中的记录：{held or '无'}", f"Rows in the default partition: {held_en or 'none'}"))


def register(app: typer.Typer) -> None:
    """Add ``partitions`` to the ``db`` group (registered by :mod:`yibao.entrypoints.cli.enrol`)."""
    for group in app.registered_groups:
        if group.name == "db" and group.typer_instance is not None:
            group.typer_instance.command("partitions")(partitions_cmd)
