"""Monitoring commands: ``yibao monitor``, ``yibao warnings …``, ``yibao db settle-history``.

The database is ``YIBAO_DATABASE_URL`` (an SQLite file ``yibao.db`` by default). Bad input
prints which field, which value and what was expected, exits with code 2 and writes nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from yibao.core.clock import beijing_text, beijing_today, time_header
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as tr
from yibao.core.idcard import mask
from yibao.core.money import fmt_yuan, optional_yuan
from yibao.core.settings import DEFAULT_POLICY, POLICY_ENV
from yibao.core.vocab import bureau_label
from yibao.entrypoints.cli.enrol import Lang, User, check_lang, database, fail, user_name, xlsx_path
from yibao.entrypoints.cli.output import console

if TYPE_CHECKING:
    from yibao.policy.pack import PolicyPack
    from yibao.rules.monitoring import Period
    from yibao.store.db import Database
    from yibao.store.monitoring_tables import WarningCase
    from yibao.store.tables import Person


warnings_app = typer.Typer(help="预警名单与跟踪处置 / the warning list and its follow-up", no_args_is_help=True)
Policy = Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV, help="政策包 / policy pack")]
PeriodOpt = Annotated[str, typer.Option("--period", help="监测期，如 2022-05 或 2022-Q2 / month or quarter")]


def _load(policy: str, lang: str) -> PolicyPack:
    from yibao.policy.pack import load_pack

    try:
        return load_pack(policy)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None


def _warning_table(rows: list[tuple[WarningCase, Person]], title: str, lang: str, limit: int = 40) -> Table:
    from yibao.policy.categories import identity_label
    from yibao.rules.warning_workflow import status_label

    table = Table(title=title)
    for zh, en, right in (
        ("编号", "no.", True), ("姓名", "name", False), ("身份证号", "ID", False), ("乡镇/村", "township/village", False),
        ("户", "household", False), ("身份", "identity", False), ("监测金额", "measured", True), ("预警线", "line", True),
        ("超出", "over by", True), ("状态", "status", False),
    ):  # fmt: skip
        table.add_column(tr(lang, zh, en), justify="right" if right else "left")
    for w, p in rows[:limit]:
        table.add_row(
            str(w.id), p.psn_name, mask(p.certno), f"{p.township or ''}/{p.village or ''}", p.hh_no or "",
            identity_label(w.identity, lang), fmt_yuan(w.measure_amt), fmt_yuan(w.threshold_amt), fmt_yuan(w.excess_amt),
            status_label(w.status, lang),
        )  # fmt: skip
    if len(rows) > limit:
        table.caption = tr(lang, f"共 {len(rows)} 人，仅列前 {limit} 人", f"{len(rows)} in all, first {limit} shown")
    return table


RunPolicy = Annotated[
    str | None,
    typer.Option("--policy", "-p", envvar=POLICY_ENV, help="政策包；默认为最近一次监测运行的政策包 / policy pack"),
]
OptionalPolicy = Annotated[
    str | None,
    typer.Option(
        "--policy", "-p", envvar=POLICY_ENV, help="政策包；默认为数据库中核定该年度保费（或结算该期间）的政策包 / policy pack"
    ),
]


def _pack_of_database(db: Database, per: Period, lang: str) -> PolicyPack:
    """The pack the database's year was enrolled (else its period settled) under; refused, naming the shipped packs,
    when the database holds neither."""
    from yibao.app.report_sources import ledger_pack
    from yibao.policy.pack import shipped_packs

    pack = ledger_pack(db, per.start, per.end)
    if pack is None:
        names = shipped_packs()
        raise fail(
            InputError(
                "command line",
                "--policy",
                None,
                f"a pack named with --policy: the database has no enrolment or settlement of {per.year} that names one "
                f"(shipped packs: {', '.join(names)})",
                expected_zh=f"用 --policy 指定的政策包：数据库中没有 {per.year} 年度注明政策包的参保或结算"
                f"（内置政策包：{'、'.join(names)}）",
            ),
            lang,
        )
    return pack


def _pack_of_runs(db: Database, chosen: PolicyPack | None, lang: str) -> PolicyPack:
    """``chosen``, else the pack of the latest monitoring run (the rules that found the warnings being worked)."""
    import sqlalchemy as sa

    from yibao.policy.in_force import pack_in_force
    from yibao.policy.pack import shipped_packs
    from yibao.store.monitoring_tables import MonitoringRun

    if chosen is not None:
        return chosen
    with db.unit_of_work() as s:
        pack_id = s.scalar(sa.select(MonitoringRun.pack_id).order_by(MonitoringRun.id.desc()).limit(1))
    pack = pack_in_force([pack_id])
    if pack is None:
        names = shipped_packs()
        raise fail(
            InputError(
                "command line", "--policy", None,
                f"a pack named with --policy: no monitoring run has named one (shipped packs: {', '.join(names)})",
                expected_zh=f"用 --policy 指定的政策包：尚无注明政策包的监测运行（内置政策包：{'、'.join(names)}）",
            ),
            lang,
        )  # fmt: skip
    return pack


def monitor_cmd(
    period: PeriodOpt,
    policy: OptionalPolicy = None,
    export: Annotated[Path | None, typer.Option("--export", help="推送清单 Excel / write the push list (.xlsx)")] = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """按月运行高额医疗费用预警 / run the high-cost early warning for a period."""
    from yibao.app import warnings as svc
    from yibao.app.push_list import write_push_list
    from yibao.rules.monitoring import parse_period

    lang = check_lang(lang)
    xlsx_path(export, lang, "--export")
    chosen = _load(policy, lang) if policy else None
    try:
        per = parse_period(period, "--period")
    except InputError as exc:
        raise fail(exc, lang) from None
    with database(lang) as db:
        pack = chosen or _pack_of_database(db, per, lang)
        console.print(tr(lang, f"政策包：{pack.pack_id}", f"Policy pack: {pack.pack_id}"))
        busy = tr(lang, f"正在读取结算台账并运行预警规则（{per.label(lang)}）……", f"Running the rules for {per.code}...")
        with console.status(busy):
            result = svc.run_monitoring(db, pack, per, user_name(user), trigger="cli")
        with db.unit_of_work() as s:
            rows = svc.list_warnings(s, svc.Filter(year=per.year), limit=100_000)
            rows = [(w, p) for w, p in rows if w.last_period == per.code or w.first_period == per.code]
            warn = [(w, p) for w, p in rows if w.kind == "warning"]
            cand = [(w, p) for w, p in rows if w.kind == "candidate"]
            console.print(
                tr(lang, f"{per.label(lang)}：发现 {result.found} 人（新增 {result.created}，金额更新 {result.updated}）",
                   f"{per.label(lang)}: {result.found} found ({result.created} new, {result.updated} updated)")
            )  # fmt: skip
            console.print(_warning_table(warn, tr(lang, "预警对象", "Warnings"), lang))
            console.print(_warning_table(cand, tr(lang, "普通居民高额自付（依申请救助候选）", "Candidates for assistance"), lang))
            if export is not None:
                recorded = svc.recorded_identities(s, [w.id for w, _ in warn])
                write_push_list(warn, export, period_label=per.label(lang), lang=lang, recorded=recorded)
                console.print(tr(lang, f"推送清单已写入 {export}", f"Push list written to {export}"))


@warnings_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option("--status", help="new/pushed/at_risk/not_at_risk/assisted/closed")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="warning / candidate")] = None,
    period: Annotated[str | None, typer.Option("--period", help="发现期 / found in period")] = None,
    township: Annotated[str | None, typer.Option("--township")] = None,
    lang: Lang = "zh",
) -> None:
    """列出预警 / list warnings."""
    from yibao.app import warnings as svc

    lang = check_lang(lang)
    with database(lang) as db, db.unit_of_work() as s:
        rows = svc.list_warnings(s, svc.Filter(status=status, kind=kind, period=period, township=township), limit=100_000)
        console.print(_warning_table(rows, tr(lang, "预警名单", "Warning list"), lang, limit=200))


@warnings_app.command("show")
def show_cmd(warning_id: Annotated[int, typer.Argument()], lang: Lang = "zh") -> None:
    """一条预警及其处置记录 / one warning and its steps."""
    from yibao.app import warnings as svc
    from yibao.rules.warning_workflow import KINDS, status_label

    lang = check_lang(lang)
    with database(lang) as db, db.unit_of_work() as s:
        w = svc.get_warning(s, warning_id)
        console.print(f"{w.id} {w.psn_no} {KINDS[w.kind][0 if lang == 'zh' else 1]} {status_label(w.status, lang)}")
        console.print(tr(lang, "涉及结算：", "settlements: ") + "、".join(json.loads(w.setl_ids)))
        if w.assisted_amt:
            help_paid = f"{fmt_yuan(w.assisted_amt)} {tr(lang, '元', 'yuan')} · {w.assisted_setl_id}"
            undo = svc.help_reversals(s, [w.assisted_setl_id]).get(w.assisted_setl_id or "")
            if undo:
                help_paid += tr(lang, f"（该笔已冲正：{undo}）", f" (since reversed by {undo})")
            console.print(tr(lang, "已落实救助：", "help paid: ") + help_paid)
        table = Table(title=tr(lang, "处置记录", "Steps"))
        heads = (time_header("时间", "When", lang), tr(lang, "经办", "who"), tr(lang, "状态", "status"), tr(lang, "说明", "note"))
        for h in heads:
            table.add_column(h)
        for e in svc.events_of(s, warning_id):
            text = " ".join(x for x in (bureau_label(e.bureau, lang), svc.note_in(e.note, lang) or "", e.setl_id or "") if x)
            table.add_row(beijing_text(e.recorded_at), e.recorded_by, status_label(e.to_status, lang), text)
        console.print(table)


@warnings_app.command("push")
def push_cmd(
    bureau: Annotated[str, typer.Option("--bureau", help="rural_revitalisation,civil_affairs")],
    export: Annotated[Path, typer.Option("--export", help="推送清单 .xlsx")],
    period: Annotated[str | None, typer.Option("--period", help="只推送该期发现的 / only those found in this period")] = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """把新预警推送给其他部门并写出推送清单 / push the new warnings and write the list."""
    from yibao.app import warnings as svc
    from yibao.app.push_list import write_push_list

    lang = check_lang(lang)
    xlsx_path(export, lang, "--export")
    bureaus = tuple(b.strip() for b in bureau.split(",") if b.strip())
    with database(lang) as db, db.unit_of_work() as s:
        rows = svc.list_warnings(s, svc.Filter(status="new", kind="warning", period=period), limit=100_000)
        for w, _ in rows:
            svc.step(s, w.id, "pushed", user_name(user), bureaus=bureaus, source="cli")
        write_push_list(rows, export, period_label=period or tr(lang, "全部新预警", "all new"), lang=lang)
        s.commit()
    console.print(tr(lang, f"已推送 {len(rows)} 条，清单写入 {export}", f"Pushed {len(rows)}; list written to {export}"))


@warnings_app.command("step")
def step_cmd(
    warning_id: Annotated[int, typer.Argument()],
    to: Annotated[str, typer.Option("--to", help="pushed/at_risk/not_at_risk/assisted/closed")],
    bureau: Annotated[str | None, typer.Option("--bureau")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="倾斜救助金额（元）")] = None,
    setl_id: Annotated[str | None, typer.Option("--setl-id", help="支付救助的结算流水号")] = None,
    on: Annotated[str | None, typer.Option("--on", help="核实日期 YYYY-MM-DD（at_risk 时登记身份的起始日，默认今天）")] = None,
    policy: RunPolicy = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """把一条预警推进一步 / move a warning one step."""
    from yibao.app import warnings as svc
    from yibao.rules.warning_workflow import status_label

    lang = check_lang(lang)
    bureaus = tuple(b.strip() for b in (bureau or "").split(",") if b.strip())
    chosen = _load(policy, lang) if policy else None
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise fail(InputError("command line", "--on", on, "a date YYYY-MM-DD"), lang) from None
    with database(lang) as db:
        pack = _pack_of_runs(db, chosen, lang)
        fen = optional_yuan(amount, "command line", "--amount")
        with db.unit_of_work() as s:
            who = user_name(user)
            w = svc.step(
                s, warning_id, to, who, bureaus=bureaus, note=note, amount=fen, setl_id=setl_id, source="cli", pack=pack, on=day
            )
            s.commit()
            console.print(f"{w.id}: {status_label(w.status, lang)}")


@warnings_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="乡镇交回的推送清单 .xlsx")],
    policy: RunPolicy = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """导入乡镇核实结果 / import the townships' confirmations (all rows or none)."""
    from yibao.app.push_list import read_confirmations

    lang = check_lang(lang)
    if not file.is_file():
        raise fail(InputError("command line", "file", str(file), "an existing .xlsx file"), lang)
    chosen = _load(policy, lang) if policy else None
    with database(lang) as db, db.unit_of_work() as s, file.open("rb") as fh:
        pack = _pack_of_runs(db, chosen, lang)
        r = read_confirmations(s, fh, file.name, user_name(user), pack=pack)
        s.commit()
    yes, no = r.confirmed_at_risk, r.confirmed_not_at_risk
    zh = f"核实存在风险 {yes} 人，无风险 {no} 人，已是该结果 {r.unchanged} 人，未填 {r.blank} 行，非待核实已忽略 {r.ignored} 行"
    en = f"at risk {yes}, not at risk {no}, unchanged {r.unchanged}, blank {r.blank}, ignored {r.ignored} (not awaiting one)"
    console.print(tr(lang, zh, en))


def _day_option(text: str | None, option: str, lang: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise fail(InputError("command line", option, text, "a date YYYY-MM-DD"), lang) from None


@warnings_app.command("identity")
def identity_cmd(
    warning_id: Annotated[int, typer.Argument()],
    category: Annotated[str, typer.Option("--category", help="倾斜救助的身份类别，如 jiance")],
    first: Annotated[str, typer.Option("--from", help="起始日期 YYYY-MM-DD（不早于越线日，不晚于今天）")],
    last: Annotated[str | None, typer.Option("--to", help="终止日期 YYYY-MM-DD（不填为长期）")] = None,
    policy: RunPolicy = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """给经核实存在风险的人员登记倾斜救助身份（来源：监测预警）/ give a person confirmed at risk the tilted-assistance
    identity, so later bills pay it at settlement."""
    from yibao.app import warnings as svc
    from yibao.policy.categories import identity_label

    lang = check_lang(lang)
    start, end = _day_option(first, "--from", lang), _day_option(last, "--to", lang)
    assert start is not None
    chosen = _load(policy, lang) if policy else None
    with database(lang) as db:
        pack = _pack_of_runs(db, chosen, lang)
        with db.unit_of_work() as s:
            i = svc.grant_tilted_identity(s, pack, warning_id, category, start, end, user_name(user), source="cli")
            s.commit()
            held = tr(lang, svc.held_zh(i), svc.held_en(i))
            console.print(f"{warning_id}: {identity_label(i.category, lang)} · {held}")


@warnings_app.command("apply")
def apply_cmd(
    warning_id: Annotated[int, typer.Argument()],
    on: Annotated[str | None, typer.Option("--on", help="申请日期 YYYY-MM-DD（默认今天；回溯期在此之前）")] = None,
    policy: RunPolicy = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """依申请救助并记入预警：写入结算台账，预警转为已落实救助 / decide the person's application for assistance and
    record it as the warning's help."""
    from yibao.app import warnings as svc
    from yibao.rules.warning_workflow import status_label

    lang = check_lang(lang)
    day = _day_option(on, "--on", lang) or beijing_today()
    chosen = _load(policy, lang) if policy else None
    with database(lang) as db:
        pack = _pack_of_runs(db, chosen, lang)
        with db.unit_of_work() as s:
            w, app = svc.assist_by_application(s, pack, warning_id, day, user_name(user), source="cli")
            s.commit()
            said = tr(
                lang, f"依申请救助 {fmt_yuan(app.result.pay)} 元", f"assistance on application {fmt_yuan(app.result.pay)} yuan"
            )
            console.print(f"{w.id}: {status_label(w.status, lang)} · {said} · {app.setl_id}")


def settle_history_cmd(
    folder: Annotated[Path, typer.Argument(help="yibao synth 写出的目录 / folder written by yibao synth")],
    policy: Policy = DEFAULT_POLICY,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """把合成县的就诊逐笔结算记入台账（有费用明细时连同就诊与明细）/ settle a synthetic county's claims into the
    ledger (with their visits and fee lines when the folder has them)."""
    import polars as pl

    from yibao import synth
    from yibao.app.demo import load_institutions
    from yibao.app.history import details_from_frames, settle_history

    lang = check_lang(lang)
    pack = _load(policy, lang)
    try:
        county = synth.read(folder)
        people, claims = synth.to_people_and_claims(county)
        lines_file = folder / "fee_lines.parquet"
        details = None
        if lines_file.is_file() and "begndate" in county.claims.columns:
            episodes = county.claims.select("claim_id", "begndate", "enddate", "dise_codg")
            details = details_from_frames(episodes, pl.read_parquet(lines_file))
    except (OSError, InputError, pl.exceptions.PolarsError) as exc:
        raise fail(InputError(str(folder), "folder", str(folder), f"a folder written by yibao synth ({exc})"), lang) from None
    with database(lang) as db, Progress(console=console, transient=True) as progress:
        task = progress.add_task(tr(lang, "逐人结算", "settling"), total=len(people))
        if details is not None:
            load_institutions(db, county.institutions)  # the visits name them
        r = settle_history(db, pack, claims, user_name(user), advance=lambda n: progress.advance(task, n), details=details)
    refused = sum(r.refused.values())
    zh = f"已结算 {r.settled} 笔；未参保 {r.not_enrolled} 笔；拒付 {refused} 笔；不在库 {r.unknown_people} 人"
    en = f"settled {r.settled}; not enrolled {r.not_enrolled}; refused {refused}; unknown people {r.unknown_people}"
    console.print(tr(lang, zh, en))


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_cmd)
    app.add_typer(warnings_app, name="warnings")
    for group in app.registered_groups:
        if group.name == "db" and group.typer_instance is not None:
            group.typer_instance.command("settle-history")(settle_history_cmd)
