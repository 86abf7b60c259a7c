"""``yibao import identities``: identities from other bureaus' Excel/CSV files, with a change report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse
from yibao.entrypoints.cli.output import err_console as err

if TYPE_CHECKING:
    from yibao.app.imports import ChangeRow, ImportReport


import_app = typer.Typer(help="导入其他部门的数据 / imports from other bureaus", no_args_is_help=True)


_STAGES = {
    "read": ("读取文件", "reading"),
    "check": ("逐行校验", "checking"),
    "compare": ("与库中数据比对", "comparing"),
    "write": ("写入数据库", "writing"),
}
ERRORS_SHOWN = 30
CHANGES_SHOWN = 200
"""Named changes printed after an import (all of them: ``yibao import changes BATCH``)."""


def _date(text: str | None, lang: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        err.print(
            _t(lang, f"[red]--as-of 应为日期 YYYY-MM-DD，实际为 {text!r}[/]", f"[red]--as-of must be YYYY-MM-DD, got {text!r}[/]")
        )
        raise typer.Exit(code=2) from None


def report_table(rep: ImportReport, lang: str = "zh") -> Table:
    """The change report as a Rich table (Chinese, or English with ``lang="en"``)."""
    title = _t(
        lang,
        f"导入报告：{rep.source_bureau} {rep.file_name} → 批次 #{rep.batch_id}（用时 {rep.seconds:.1f} 秒）",
        f"Import report: {rep.source_bureau} {rep.file_name} -> batch #{rep.batch_id} ({rep.seconds:.1f} s)",
    )
    table = Table(title=title)
    table.add_column(_t(lang, "项目", "item"))
    table.add_column(_t(lang, "数量", "count"), justify="right")
    rows: list[tuple[str, str, int]] = [
        ("读取行数", "rows read", rep.rows_read),
        ("拒绝行数（见拒绝清单）", "rows rejected (see rejects file)", rep.rows_rejected),
        ("重复行（与前行完全相同，已忽略）", "duplicate rows (ignored)", rep.rows_duplicate),
        ("非身份类别行（按映射跳过）", "rows skipped by the mapping", rep.rows_skipped),
        ("新增人员", "people new", rep.people_new),
        ("补全人员信息（乡镇、村、户编号）", "people with place filled in", rep.people_updated),
        ("身份新增", "identities added", rep.identities_added),
        ("身份结束", "identities ended", rep.identities_ended),
        ("  其中：快照中缺失而结束", "  of which missing from the snapshot", rep.ended_by_snapshot),
        ("身份变更（旧记录截止，新记录开始）", "identities changed (old ended, new started)", rep.identities_changed),
        ("身份不变", "identities unchanged", rep.identities_unchanged),
        ("疑似同人异号（待核查，未合并）", "conflicts: same person, other ID (for review)", rep.conflicts),
    ]
    for zh, en, n in rows:
        if n or not zh.startswith(("拒绝", "重复", "非身份", "  其中")):
            table.add_row(_t(lang, zh, en), f"{n:,}")
    return table


def changes_table(rows: list[ChangeRow], lang: str = "zh") -> Table:
    """The named changes: who was added, ended or changed, before and after."""
    from yibao.interfaces.workbooks.import_changes import HEADERS, change_cells

    table = Table(title=_t(lang, "变更明细", "Changes"))
    for zh, en in HEADERS:
        table.add_column(_t(lang, zh, en))
    for row in rows:
        table.add_row(*(str(v) if v is not None else "" for v in change_cells(row, lang)))
    return table


@import_app.command("changes")
def changes(
    batch: Annotated[int, typer.Argument(help="导入批次号（见导入报告）")],
    out: Annotated[Path | None, typer.Option("--out", help="写成 Excel 文件 / write an .xlsx", dir_okay=False)] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh（默认）或 en", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """一次身份数据导入的变更明细：新增、结束、变更的每个人（变更前 → 变更后）/ who an import changed."""
    from yibao.app.imports import batch_changes, changes_file
    from yibao.store.db import Database

    db = Database.open()
    try:
        with db.reading() as s:
            _name, data = changes_file(s, batch, lang)
            rows = batch_changes(s, batch) if out is None else []
    except InputError as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    finally:
        db.engine.dispose()
    if out is None:
        console.print(changes_table(rows, lang))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    console.print(_t(lang, f"已写出变更明细：{out}", f"Changes written: {out}"))


@import_app.command("identities")
def identities(
    file: Annotated[Path, typer.Argument(help="部门报送的 .xlsx 或 .csv 文件 / the bureau's file", exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option("--source", "-s", help="来源部门：民政、乡村振兴、退役军人、残联、卫健")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="补充列映射的 YAML 文件 / extra column mapping", exists=True, dir_okay=False)
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="导入正确的行，错误行写入 <文件>.rejects.xlsx / import the good rows only")
    ] = False,
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="文件是该部门的完整名册：未列出的在册身份于 --as-of 前一日结束")
    ] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="名册日期 YYYY-MM-DD（与 --snapshot 同用）")] = None,
    user: Annotated[str | None, typer.Option("--user", help="经办人（默认当前系统用户）/ who runs the import")] = None,
    errors_dir: Annotated[
        Path | None, typer.Option("--errors-dir", help="错误清单写到哪个目录（默认与文件同目录）", file_okay=False)
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh（默认）或 en", envvar="YIBAO_LANG")] = "zh",
) -> None:
    """导入其他部门的身份数据（逐行校验、合并到人、变更报告）/ import identities from another bureau's file."""
    from yibao.app.imports import ImportRefused, default_user, import_identities, report_changes
    from yibao.store.db import Database

    as_of_day = _date(as_of, lang)
    if snapshot and as_of_day is None:
        err.print(_t(lang, "[red]--snapshot 需要同时给出 --as-of 日期[/]", "[red]--snapshot needs --as-of DATE[/]"))
        raise typer.Exit(code=2)
    if as_of_day is not None and not snapshot:
        err.print(_t(lang, "[red]--as-of 只与 --snapshot 同用[/]", "[red]--as-of is only used with --snapshot[/]"))
        raise typer.Exit(code=2)
    db = Database.open()
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def tick(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    zh, en = _STAGES.get(stage, (stage, stage))
                    tasks[stage] = progress.add_task(_t(lang, zh, en), total=total)
                progress.update(tasks[stage], completed=done, total=total)

            rep = import_identities(
                db,
                file,
                source,
                mapping=mapping,
                skip_bad=skip_bad,
                snapshot_as_of=as_of_day,
                user=user or default_user(),
                progress=tick,
                out_dir=errors_dir,
            )
    except ImportRefused as exc:
        err.print(
            _t(
                lang,
                f"[bold red]文件被拒绝，未写入数据库：{exc.rows_rejected} 行有错（共 {len(exc.cells)} 处）[/]",
                f"[bold red]File refused, nothing written: {exc.rows_rejected} bad rows ({len(exc.cells)} bad cells)[/]",
            )
        )
        err.print(exc.render(lang, limit=ERRORS_SHOWN), markup=False)
        if exc.error_file is not None:
            err.print(
                _t(
                    lang,
                    f"错误清单（错误单元格已标红）：{exc.error_file}",
                    f"Error workbook (bad cells in red): {exc.error_file}",
                )
            )
        if not skip_bad:
            err.print(_t(lang, "改正后重新导入，或用 --skip-bad 只导入正确的行。", "Fix and re-import, or use --skip-bad."))
        raise typer.Exit(code=2) from None
    except (InputError, InputErrors) as exc:
        err.print(f"[bold red]{_t(lang, '输入有误，未写入任何数据：', 'Bad input; nothing was written:')}[/]")
        err.print(exc.render(lang), markup=False)
        raise typer.Exit(code=2) from None
    finally:
        db.engine.dispose()
    if rep.already_imported:
        console.print(
            _t(
                lang,
                f"该文件（SHA-256 {rep.file_sha256[:12]}…）已于批次 #{rep.batch_id} 从{rep.source_bureau}导入，"
                "本次未做任何改动。",
                f"Already imported as batch #{rep.batch_id} (SHA-256 {rep.file_sha256[:12]}...); nothing changed.",
            )
        )
        return
    console.print(report_table(rep, lang))
    shown = report_changes(rep, CHANGES_SHOWN)
    console.print(changes_table(shown, lang))
    if rep.changes is not None and rep.changes.height > len(shown):
        more = rep.changes.height - len(shown)
        console.print(
            _t(
                lang,
                f"……另有 {more} 条变更：yibao import changes {rep.batch_id} --out 变更.xlsx",
                f"... and {more} more: yibao import changes {rep.batch_id} --out changes.xlsx",
            )
        )
    if rep.rejects_file:
        console.print(
            _t(
                lang,
                f"[yellow]{rep.rows_rejected} 行有错未导入，拒绝清单：{rep.rejects_file}[/]",
                f"[yellow]{rep.rows_rejected} bad rows not imported; rejects: {rep.rejects_file}[/]",
            )
        )
