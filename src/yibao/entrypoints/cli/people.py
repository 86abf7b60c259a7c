"""``yibao person``, ``yibao filing`` and ``yibao serve``."""

from __future__ import annotations

import copy
import getpass
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table

from yibao.core import vocab
from yibao.core.clock import beijing_text, beijing_today, time_header
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.settings import DEFAULT_POLICY, POLICY_ENV, Settings
from yibao.entrypoints.cli.output import NOTHING_CHANGED, console, refuse
from yibao.entrypoints.cli.output import err_console as err

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from yibao.store.tables import ChronicFiling, CrossFiling, FamilyDoctorContract, InstitutionChoice, Person, ResidentTier


person_app = typer.Typer(help="人员查询 / people", no_args_is_help=True)
filing_app = typer.Typer(help="门诊慢特病备案、异地就医备案 / filings", no_args_is_help=True)

Lang = Annotated[str, typer.Option("--lang", envvar="YIBAO_LANG")]
UserOpt = Annotated[str, typer.Option("--user", help="经办人（默认当前系统用户）")]
OS_USER = getpass.getuser()
SERVICE_APP = "yibao.entrypoints.http:app_from_settings"
"""What ``yibao serve`` runs: the service built from the configuration, imported by uvicorn (no import here)."""
WORKER_HEALTHCHECK_SECONDS = 60
"""How long a worker process may take to answer uvicorn's health check before it is restarted. uvicorn's 5 s
killed workers still starting (importing, loading the pack) on a busy two-core machine, again and again."""


def _fail(exc: InputError | InputErrors, lang: str) -> typer.Exit:
    return refuse(exc, lang, NOTHING_CHANGED)


def _day(text: str | None, lang: str, field: str = "date") -> date:
    if not text:
        return beijing_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(InputError("command line", field, text, "a date YYYY-MM-DD"), lang) from None


Filing = TypeVar("Filing", "ChronicFiling", "CrossFiling", "ResidentTier", "InstitutionChoice", "FamilyDoctorContract")


def _filed(key: str, lang: str, add: Callable[[Session, Person], Filing]) -> tuple[Person, Filing]:
    """The person ``key`` and the filing ``add`` records for them, committed (nothing on bad input)."""
    from yibao.app import registry as lookup
    from yibao.store.db import Database

    db = Database.open()
    try:
        with db.unit_of_work() as s:
            p = lookup.find_person(s, key)
            f = add(s, p)
            s.commit()
            return p, f
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None


@person_app.command("show")
def show(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号")],
    on: Annotated[str | None, typer.Option("--date", help="查询哪一天的身份（默认今天）")] = None,
    policy: Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV)] = DEFAULT_POLICY,
    lang: Lang = "zh",
) -> None:
    """人员信息：某日有效的身份、身份变动历史、参保、备案。"""
    from yibao.app import registry as lookup
    from yibao.policy.categories import identity_label as label
    from yibao.policy.categories import lapsed_text
    from yibao.policy.in_force import policy_or_first
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    day = _day(on, lang)
    pack = load_pack(policy)
    db = Database.open()
    try:
        with db.unit_of_work() as s:
            view = lookup.person_view(s, lookup.find_person(s, key), day, policy_or_first(pack, day))
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    b = view.baseinfo
    console.print(f"[bold]{b['psn_name']}[/] {b['certno']} · {b['psn_no']} · {b.get('township') or ''}{b.get('village') or ''}")
    console.print(_t(lang, f"{day} 的身份：", f"Identity on {day}: ") + label(view.deciding_identity, lang))
    for i in view.lapsed:
        console.print(lapsed_text(i["category"], i["valid_from"], i["validity_months"], i["held_to"], lang), soft_wrap=True)
    table = Table(title=_t(lang, "身份变动（从不覆盖）", "Identity history (never overwritten)"))
    for col in (
        _t(lang, "类别", "category"),
        _t(lang, "起", "from"),
        _t(lang, "止", "to"),
        _t(lang, "来源", "source"),
        time_header("登记", "Recorded", lang),
        time_header("终止", "Ended", lang),
    ):
        table.add_column(col)
    for i in view.identity_history:
        source = f"{i['source_bureau']} {i['source_file'] or ''}"
        recorded = f"{i['recorded_by']} {beijing_text(i['recorded_at'])}"
        ended = f"{i['ended_by'] or ''} {beijing_text(i['ended_at'])}"
        table.add_row(label(i["category"], lang), i["valid_from"], i["valid_to"] or "", source, recorded, ended)
    console.print(table)
    for f in view.chronic_filings:
        console.print(_t(lang, "慢特病备案：", "Chronic filing: ") + f"{f['dise_codg']} {f['dise_name'] or ''} {f['begin']}")
    for r in view.resident_tiers:
        tier = vocab.label(vocab.RESIDENT_TIERS, r["tier"], lang)
        console.print(_t(lang, "缴费档次：", "Contribution tier: ") + f"{tier} {r['begin']}–{r['end'] or ''}")
    for r in view.institutions:
        what = vocab.label(vocab.INSTITUTION_ROLES, r["role"], lang)
        console.print(f"{what}{_t(lang, '：', ': ')}{r['fixmedins_code']} {r['begin']}–{r['end'] or ''}")
    for r in view.family_doctor:
        console.print(_t(lang, "家庭医生签约：", "Family-doctor contract: ") + f"{r['begin']}–{r['end'] or ''}")
    for r in view.accounts:
        zh = f"个人账户余额：{r['year']} 年度 {fmt_yuan(r['balance_fen'])} 元（{r['source']}，{r['recorded_by']}）"
        en = f"Personal account balance: {r['year']} {fmt_yuan(r['balance_fen'])} yuan ({r['source']}, {r['recorded_by']})"
        console.print(_t(lang, zh, en), markup=False)


@filing_app.command("chronic")
def chronic(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号")],
    dise_codg: Annotated[str, typer.Option("--disease", help="病种编码：政策包门诊慢性病或门诊特殊病目录中的病种，如 I10")],
    institution: Annotated[str, typer.Option("--institution", help="诊断机构编码")],
    doctor: Annotated[str, typer.Option("--doctor", help="诊断医师")],
    begin: Annotated[str | None, typer.Option("--from", help="开始日期（默认今天，即时生效）")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="补办原因：开始日期早于今天时必填")] = None,
    signed: Annotated[list[str] | None, typer.Option("--signed", help="门诊慢性病签约医疗机构编码（至多两家，可重复）")] = None,
    policy: Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV)] = DEFAULT_POLICY,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """办理门诊慢特病备案（即时生效；病种须在政策包目录中）。"""
    from yibao.app import filings
    from yibao.policy.in_force import policy_or_first
    from yibao.policy.pack import load_pack

    day = _day(begin, lang, "from")
    pol = policy_or_first(load_pack(policy), day)
    what = filings.FilingIn(dise_codg, institution, doctor, day, reason, tuple(signed or ()))
    p, f = _filed(key, lang, lambda s, p: filings.file_chronic(s, p, pol, what, user, beijing_today()))
    kind = filings.kind_label(f.kind, lang)
    console.print(
        _t(lang, f"已备案（{kind}）：{p.psn_name} {f.dise_codg} {f.dise_name or ''}，自 {f.begin} 起生效",
           f"Filed ({kind}): {p.psn_name} {f.dise_codg} from {f.begin}")
    )  # fmt: skip


@filing_app.command("cross")
def cross(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号")],
    begin: Annotated[str | None, typer.Option("--from")] = None,
    end: Annotated[str | None, typer.Option("--to")] = None,
    area: Annotated[str | None, typer.Option("--area", help="就医地行政区划代码")] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="备案类别：long_term 异地长期居住，referral 转诊，temporary 临时外出就医（默认未注明）")
    ] = "",
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """办理异地就医备案。"""
    from yibao.app import registry as lookup

    b = _day(begin, lang, "from")
    e = _day(end, lang, "to") if end else None
    p, f = _filed(
        key, lang, lambda s, p: lookup.add_cross_filing(s, p, b, e, user, mdtrtarea_admvs=area, reason=reason, kind=kind)
    )
    what = vocab.label(vocab.FILING_KINDS, f.kind, lang)
    console.print(
        _t(lang, f"已备案异地就医（{what}）：{p.psn_name} {f.begin}–{f.end or '长期'}",
           f"Filed cross-region ({what}): {p.psn_name} {f.begin}–{f.end or 'open'}")
    )  # fmt: skip


@filing_app.command("tier")
def resident_tier(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号")],
    tier: Annotated[int, typer.Argument(help="缴费档次：1 一档，2 二档")],
    begin: Annotated[str | None, typer.Option("--from", help="起始日期（通常为缴费年度的 1 月 1 日）")] = None,
    end: Annotated[str | None, typer.Option("--to", help="截止日期（通常为该年度 12 月 31 日）")] = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """登记城乡居民医保缴费档次（一档/二档）。"""
    from yibao.app import registry as lookup

    b = _day(begin, lang, "from")
    e = _day(end, lang, "to") if end else None
    p, r = _filed(key, lang, lambda s, p: lookup.add_resident_tier(s, p, tier, b, e, user))
    name = vocab.label(vocab.RESIDENT_TIERS, r.tier, lang)
    console.print(
        _t(
            lang,
            f"已登记缴费档次：{p.psn_name} {name} {r.begin}–{r.end or '长期'}",
            f"Recorded: {p.psn_name} {name} {r.begin}–{r.end or 'open'}",
        )
    )


@filing_app.command("institution")
def institution(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号")],
    code: Annotated[str, typer.Argument(help="定点医药机构编码 fixmedins_code")],
    role: Annotated[
        str, typer.Option("--role", help="designated 门诊统筹选定机构 / linked 关联机构 / signed 门诊慢性病签约机构")
    ],
    begin: Annotated[str | None, typer.Option("--from", help="起始日期（默认今天）")] = None,
    end: Annotated[str | None, typer.Option("--to", help="截止日期")] = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """登记参保人选定或签约的医疗机构（门诊统筹选定机构、门诊慢性病签约机构，可按月变更）。"""
    from yibao.app import registry as lookup

    b = _day(begin, lang, "from")
    e = _day(end, lang, "to") if end else None
    p, r = _filed(key, lang, lambda s, p: lookup.add_institution_choice(s, p, code, role, b, e, user))
    what = vocab.label(vocab.INSTITUTION_ROLES, r.role, lang)
    zh = f"已登记{what}：{p.psn_name} {r.fixmedins_code} {r.begin}–{r.end or '长期'}"
    console.print(_t(lang, zh, f"Recorded ({what}): {p.psn_name} {r.fixmedins_code} {r.begin}–{r.end or 'open'}"))


@filing_app.command("doctor")
def family_doctor(
    key: Annotated[str, typer.Argument(help="身份证号或人员编号")],
    begin: Annotated[str | None, typer.Option("--from", help="签约起始日期（默认今天）")] = None,
    end: Annotated[str | None, typer.Option("--to", help="签约截止日期")] = None,
    institution: Annotated[str | None, typer.Option("--institution", help="签约医生所在机构编码")] = None,
    user: UserOpt = OS_USER,
    lang: Lang = "zh",
) -> None:
    """登记家庭医生签约。"""
    from yibao.app import registry as lookup

    b = _day(begin, lang, "from")
    e = _day(end, lang, "to") if end else None
    p, r = _filed(key, lang, lambda s, p: lookup.add_family_doctor(s, p, b, e, user, fixmedins_code=institution))
    zh = f"已登记家庭医生签约：{p.psn_name} {r.begin}–{r.end or '长期'}"
    console.print(_t(lang, zh, f"Recorded a family-doctor contract: {p.psn_name} {r.begin}–{r.end or 'open'}"))


def default_workers() -> int:
    """The CPU cores this process may run on (its affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    policy: Annotated[str, typer.Option("--policy", "-p", envvar=POLICY_ENV)] = DEFAULT_POLICY,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="数据库为空时载入演示县和演示账号")] = True,
    schedule: Annotated[bool, typer.Option("--schedule/--no-schedule", help="每月自动运行高额费用预警")] = True,
    workers: Annotated[int | None, typer.Option("--workers", "-w", min=1, help="工作进程数（默认：本机可用的 CPU 核数）")] = None,
    lang: Lang = "zh",
) -> None:
    """启动服务（FastAPI + uvicorn）。数据库见 YIBAO_DATABASE_URL，默认 SQLite 文件 yibao.db。

    演示数据在主进程中准备一次，然后启动 ``--workers`` 个工作进程（uvicorn）；每月预警只在其中一个进程运行。"""
    import uvicorn

    from yibao.app.demo import DEMO_ACCOUNTS, demo_people, ensure_demo
    from yibao.policy.categories import identity_label as label
    from yibao.policy.pack import load_pack
    from yibao.store.db import Database

    settings = replace(Settings.from_env(), policy=policy, schedule=schedule)
    db = Database.open(settings.database_url)
    pack = load_pack(policy)
    if demo:
        with console.status(_t(lang, "准备演示数据……", "Preparing demo data...")):
            info = ensure_demo(db, pack=pack)
        if info.created:
            console.print(
                _t(
                    lang,
                    f"已载入演示县：{info.persons} 人，{len(DEMO_ACCOUNTS)} 个演示账号",
                    f"Demo county loaded: {info.persons} people",
                )
            )
        if info.township is not None:
            town = info.township
            console.print(
                _t(
                    lang,
                    f"已载入演示乡镇：{town.township}（淄博 {town.year}，门诊统筹人头定额）"
                    f"{town.persons} 人，{town.claims} 笔结算",
                    f"Demo township loaded: {town.township} (Zibo {town.year}, outpatient capitation), "
                    f"{town.persons} people, {town.claims} settlements",
                )
            )
        table = Table(title=_t(lang, "演示账号（仅供试用）", "Demo accounts (for trying only)"))
        for col in (_t(lang, "用户名", "user"), _t(lang, "密码", "password"), _t(lang, "角色", "role")):
            table.add_column(col)
        for username, password, role, _name in DEMO_ACCOUNTS:
            table.add_row(username, password, role)
        console.print(table)
        for certno, name, category in demo_people(db):
            console.print(
                _t(
                    lang,
                    f"演示参保人：{name} {certno}（{label(category, lang)}）",
                    f"Demo resident: {name} {certno} ({category})",
                )
            )
    url = db.engine.url.render_as_string(hide_password=True)
    processes = workers or default_workers()
    console.print(
        _t(
            lang,
            f"yibao 服务：http://{host}:{port}/  接口文档：http://{host}:{port}/docs  数据库：{url}  工作进程：{processes}",
            f"yibao: http://{host}:{port}/  API docs: http://{host}:{port}/docs  database: {url}  workers: {processes}",
        )
    )
    from yibao.entrypoints.common.logmask import MaskIdNumbers

    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["filters"] = {"mask_ids": {"()": MaskIdNumbers}}
    for handler in log_config["handlers"].values():
        handler["filters"] = ["mask_ids"]
    db.engine.dispose()
    os.environ.update(settings.environ())  # the service builds itself from these (SERVICE_APP, a factory)
    # proxy headers (the client's address and scheme) are believed only from a proxy the configuration trusts
    uvicorn.run(
        SERVICE_APP,
        factory=True,
        host=host,
        port=port,
        log_level="info",
        log_config=log_config,
        proxy_headers=settings.trust_proxy,
        workers=processes,  # each builds the service from the environment above; the schedule runs in one
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def verify(
    since_last: Annotated[
        bool,
        typer.Option(
            "--since-last",
            help="只核对上次无差异核对以来新写入的台账记录涉及的年度累计、结算和就诊 / only what the ledger rows written "
            "since the last clean check belong to",
        ),
    ] = False,
    lang: Lang = "zh",
) -> None:
    """用结算台账重算全部年度累计额并与保存值比对（应无差异）。"""
    from yibao.app.ledger import verify as verify_ledger
    from yibao.app.ledger import verify_since_last
    from yibao.store.db import Database

    db = Database.open()
    rows = None
    if since_last:
        checked = verify_since_last(db.engine)
        rows, diffs = checked.rows, checked.differences
    else:
        with db.unit_of_work() as s:
            diffs = verify_ledger(s)
    if diffs:
        err.print(_t(lang, f"[bold red]发现 {len(diffs)} 处差异：[/]", f"[bold red]{len(diffs)} differences:[/]"))
        for d in diffs:
            if "standing" in d:  # a visit paid twice
                ids = "、".join(d["standing"]) if lang == "zh" else ", ".join(d["standing"])
                err.print(
                    _t(
                        lang,
                        f"就诊 {d['mdtrt_id']}（{d['psn_no']}）有 {len(d['standing'])} 笔未撤销的结算：{ids}",
                        f"visit {d['mdtrt_id']} ({d['psn_no']}) has {len(d['standing'])} standing settlements: {ids}",
                    ),
                    markup=False,
                )
            elif "consumed_acct_paid" in d:  # the entry's account payment against what it consumed
                acct, used, part = (fmt_yuan(d[k]) for k in ("acct_pay", "consumed_acct_paid", "psn_part_amt"))
                err.print(
                    _t(
                        lang,
                        f"结算 {d['setl_id']}：个人账户支出 {acct} 元，所记个人账户累计 {used} 元，个人负担 {part} 元",
                        f"settlement {d['setl_id']}: acct_pay {acct} yuan, account accumulator consumed {used} yuan, "
                        f"psn_part_amt {part} yuan",
                    ),
                    markup=False,
                )
            else:
                err.print(d, markup=False)
        raise typer.Exit(1)
    if rows is not None:
        zh = f"上次核对以来新写入 {rows:,} 笔台账记录，所涉部分一致，无差异。"
        console.print(_t(lang, zh, f"{rows:,} ledger rows written since the last check: what they touch agrees."))
        return
    console.print(_t(lang, "台账与年度累计一致，无差异。", "Ledger and accumulators agree: no differences."))
