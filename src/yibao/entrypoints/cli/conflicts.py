"""``yibao conflicts list/show/merge/keep/undo``: review the pairs the identity import flagged as 疑似同人异号
(the same name, birth date and village under two ID numbers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.i18n import t as _t
from yibao.core.vocab import CONFLICT_ACTIONS, CONFLICT_STATUSES, identity_label, label
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, err_console, refuse
from yibao.entrypoints.cli.people import OS_USER, Lang, UserOpt

if TYPE_CHECKING:
    from yibao.app import conflicts
    from yibao.store.db import Database


conflicts_app = typer.Typer(help="疑似同人异号的核查：列出、合并、确认为不同人员 / identity conflicts", no_args_is_help=True)
Id = Annotated[int, typer.Argument(help="疑似同人异号编号（见 yibao conflicts list）")]
Reason = Annotated[str, typer.Option("--reason", help="处理理由（必填，记录在案）")]


def _refused(exc: conflicts.DecisionRefused, lang: str) -> typer.Exit:
    err_console.print(f"[bold red]{_t(lang, '不能办理，未作任何更改：', 'Refused; nothing was changed:')}[/]")
    for r in exc.reasons:
        err_console.print(pick(r, lang), markup=False)
    return typer.Exit(code=2)


@conflicts_app.command("list")
def list_cmd(
    status: Annotated[str, typer.Option("--status", help="open（待核查，默认）、kept、merged 或 all")] = "open",
    lang: Lang = "zh",
) -> None:
    """列出疑似同人异号（同姓名、出生日期、村，不同身份证号）及其来源。"""
    from yibao.app import conflicts
    from yibao.store.db import Database

    if status not in (*conflicts.STATUSES, "all"):
        raise refuse(
            InputError(
                "command line",
                "--status",
                status,
                "open, kept, merged or all",
                "`open`（待核查）、`kept`（已核实为不同人员）、`merged`（已合并）或 `all`（全部）",
                "open, kept, merged or all",
            ),
            lang,
            NOTHING_CHANGED,
        )
    db = Database.open()
    with db.reading() as s:
        pairs = conflicts.list_conflicts(s, None if status == "all" else status)
        n = conflicts.counts(s)
    db.engine.dispose()
    said = "，".join(f"{label(CONFLICT_STATUSES, k, lang)} {v}" for k, v in n.items())
    table = Table(title=_t(lang, f"疑似同人异号（{said}）", f"Identity conflicts ({said})"))
    for zh, en in (("编号", "id"), ("状态", "status"), ("姓名", "name"), ("出生日期", "born"), ("村", "village"),
                   ("导入的身份证号", "ID imported"), ("已有的身份证号", "ID held"), ("来源", "source")):  # fmt: skip
        table.add_column(_t(lang, zh, en))
    for p in pairs:
        src = p.source
        where = f"#{src.import_id} {src.source_bureau} {src.file_name} · {beijing_text(src.recorded_at)}" if src else ""
        table.add_row(str(p.id), label(CONFLICT_STATUSES, p.status, lang), p.psn_name, p.brdy.isoformat(), p.village or "",
                      p.certno, p.other_certno, where)  # fmt: skip
    console.print(table)


@conflicts_app.command("show")
def show(conflict_id: Id, lang: Lang = "zh") -> None:
    """两条记录并排：身份、参保、结算笔数、来源；处理历史；合并是否可行。"""
    from yibao.app import conflicts
    from yibao.store.db import Database

    db = Database.open()
    try:
        with db.reading() as s:
            pair = conflicts.get(s, conflict_id)
    except InputError as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    finally:
        db.engine.dispose()
    table = Table(title=_t(lang, f"疑似同人异号 #{conflict_id}（{label(CONFLICT_STATUSES, pair.status, lang)}）",
                           f"Identity conflict #{conflict_id} ({label(CONFLICT_STATUSES, pair.status, lang)})"))  # fmt: skip
    table.add_column("")
    for r in (pair.new, pair.other):
        table.add_column(r.certno)
    rows = (
        (("姓名", "name"), lambda r: r.psn_name),
        (("出生日期", "born"), lambda r: r.brdy.isoformat()),
        (("县/乡镇/村", "county/township/village"), lambda r: "/".join(x or "" for x in (r.county, r.township, r.village))),
        (("身份", "identities"), lambda r: "\n".join(
            f"{identity_label(i.category, lang)} {i.valid_from} ~ {i.valid_to or ''} {i.source_bureau}" for i in r.identities)),
        (("参保", "enrolments"), lambda r: "\n".join(f"{e.year} {e.insutype} {e.psn_insu_stas}" for e in r.enrolments)),
        (("结算笔数", "settlements"), lambda r: str(r.settlements)),
        (("来源", "sources"), lambda r: "\n".join(
            f"#{b.import_id} {b.source_bureau} {b.file_name} {beijing_text(b.recorded_at)}" for b in r.sources)),
        (("合并为保留记录", "merge keeping it"), lambda r: "；".join(pick(x, lang) for x in pair.refusals[r.certno])
            or _t(lang, "可以", "possible")),
    )  # fmt: skip
    for (zh, en), value in rows:
        table.add_row(_t(lang, zh, en), *(value(r) for r in (pair.new, pair.other)))
    console.print(table)
    for d in pair.decisions:
        console.print(f"{beijing_text(d.decided_at)} {d.decided_by} {label(CONFLICT_ACTIONS, d.action, lang)} {d.reason}")


def _run(lang: str, act: Callable[[Database], conflicts.Decision]) -> None:
    """Make one decision and say what was done, or why nothing was (exit code 2)."""
    from yibao.app import conflicts
    from yibao.store.db import Database

    db = Database.open()
    try:
        d = act(db)
    except conflicts.DecisionRefused as exc:
        raise _refused(exc, lang) from None
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_CHANGED) from None
    finally:
        db.engine.dispose()
    what = label(CONFLICT_ACTIONS, d.action, lang)
    moved = _t(lang, f"，移动 {d.rows_moved} 条记录", f", {d.rows_moved} rows moved") if d.rows_moved else ""
    keep = _t(lang, f"，保留 {d.survivor_certno}", f", keeping {d.survivor_certno}") if d.action == "merge" else ""
    console.print(_t(lang, f"已办理：{what}{keep}{moved}（{d.decided_by}）", f"Done: {what}{keep}{moved} ({d.decided_by})"))


@conflicts_app.command("merge")
def merge(
    conflict_id: Id,
    keep: Annotated[str, typer.Option("--keep", help="保留的身份证号（另一条记录并入它）")],
    reason: Reason,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """合并为一人：另一条记录的身份、参保、备案等移到保留记录；有结算历史等不安全时拒绝。"""
    from yibao.app import conflicts

    _run(lang, lambda db: conflicts.merge(db, conflict_id, keep, reason, user))


@conflicts_app.command("keep")
def keep_cmd(conflict_id: Id, reason: Reason, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """确认为不同人员：不再列为待核查，也不再重复提示。"""
    from yibao.app import conflicts

    _run(lang, lambda db: conflicts.keep_apart(db, conflict_id, reason, user))


@conflicts_app.command("undo")
def undo(conflict_id: Id, reason: Reason, user: UserOpt = OS_USER, lang: Lang = "zh") -> None:
    """撤销上次决定（合并后保留记录已有结算的不能撤销）。"""
    from yibao.app import conflicts

    _run(lang, lambda db: conflicts.undo(db, conflict_id, reason, user))
