"""Enrolment commands: ``yibao db load-synth``, ``enrol``, ``coverage``, ``gaps``, ``special-status``.

The database is ``YIBAO_DATABASE_URL`` (an SQLite file ``yibao.db`` by default), migrated on
open. Bad input prints which field, which value and what was expected, exits with code 2 and
writes nothing.
"""

from __future__ import annotations

import getpass
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import Said
from yibao.core.i18n import t as tr
from yibao.core.idcard import mask
from yibao.core.money import fmt_yuan
from yibao.entrypoints.cli.output import NOTHING_STORED, console, refuse

if TYPE_CHECKING:
    from yibao.app import enrol_county as county
    from yibao.policy.pack import PolicyPack
    from yibao.store.db import Database


Lang = Annotated[str, typer.Option("--lang", help="zh（默认）或 en", envvar="YIBAO_LANG")]
Year = Annotated[int, typer.Option("--year", min=1990, max=2100, help="参保年度 / covered year")]
User = Annotated[str | None, typer.Option("--user", envvar="YIBAO_USER", help="经办人 / who does this (default: login name)")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="按此日所持身份分类，YYYY-MM-DD（默认当年1月1日）/ categories as held on this day")
]


def figures_table(title: str, lang: str, label: Said, *figures: Said) -> Table:
    """A table of one label column and figure columns (right-aligned), headed in ``lang``."""
    table = Table(title=title)
    table.add_column(tr(lang, *label))
    for head in figures:
        table.add_column(tr(lang, *head), justify="right")
    return table


def fail(exc: InputError | InputErrors, lang: str) -> typer.Exit:
    return refuse(exc, lang, NOTHING_STORED)


def check_lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise fail(InputError("command line", "--lang", lang, "zh or en"), "zh")
    return lang


def user_name(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no login name in some containers
        return "cli"


def _as_of(raw: str | None, lang: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise fail(InputError("command line", "--as-of", raw, "a date written YYYY-MM-DD"), lang) from None


def xlsx_path(path: Path | None, lang: str, option: str = "--xlsx") -> Path | None:
    """``path`` if it names an .xlsx file (or is None); otherwise the command stops naming ``option``."""
    if path is not None and path.suffix.lower() != ".xlsx":
        raise fail(InputError("command line", option, str(path), "a file name ending in .xlsx"), lang)
    return path


def _pack(policy: str | None, lang: str) -> PolicyPack | None:
    from yibao.policy.pack import load_pack

    if policy is None:
        return None
    try:
        return load_pack(policy)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None


@contextmanager
def database(lang: str) -> Iterator[Database]:
    from yibao.store.db import Database

    db = Database.open()
    try:
        yield db
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None
    finally:
        db.engine.dispose()


def _write(path: Path, write: Callable[[Path], object], lang: str) -> None:
    try:
        write(path)
    except OSError as exc:
        error = InputError("command line", "--xlsx", str(path), f"a file that can be written ({exc.strerror})")
        raise fail(error, lang) from None


def _cat(code: str, lang: str) -> str:
    from yibao.app import enrolment_workbook as excel

    return excel.category_label(code, lang)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def load_synth_cmd(
    folder: Annotated[Path, typer.Argument(help="yibao synth 写出的目录 / folder written by yibao synth")],
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """把合成县（人员、身份、参保、备案）批量导入数据库 / bulk-load a synthetic county into the database."""
    from yibao.app.bulk_load import load_synth

    lang = check_lang(lang)
    with database(lang) as db:
        result = load_synth(db, folder, user=user_name(user))
    table = figures_table(tr(lang, f"已导入 {folder}", f"Loaded {folder}"), lang, ("数据", "data"), ("行数", "rows"))
    for zh, en, n in (
        ("人员", "people", result.persons),
        ("身份标识", "identities", result.identities),
        ("参保记录", "enrolments", result.enrolments),
        ("门诊慢特病备案", "chronic filings", result.chronic_filings),
        ("异地就医备案", "cross-region filings", result.cross_filings),
        ("定点医疗机构", "institutions", result.institutions),
    ):
        table.add_row(tr(lang, zh, en), f"{n:,}")
    console.print(table)
    console.print(
        tr(
            lang,
            f"用时 {result.seconds:.1f} 秒；导入批次 {result.import_id}。"
            f"下一步：yibao enrol --year {result.year} --policy <政策包>",
            f"took {result.seconds:.1f} s; import batch {result.import_id}. "
            f"Next: yibao enrol --year {result.year} --policy <pack>",
        )
    )


def enrol_cmd(
    year: Year,
    policy: Annotated[str, typer.Option("--policy", "-p", help="政策包文件或内置名称 / pack file or shipped name")],
    person: Annotated[
        list[str] | None,
        typer.Option("--person", help="参保人身份证号（可多次）/ ID number, repeatable"),
    ] = None,
    registry: Annotated[
        bool, typer.Option("--registry", help="人员登记簿中的全部居民参保 / enrol every resident of the registry")
    ] = False,
    payments: Annotated[
        Path | None,
        typer.Option(
            "--payments", help="税务部门缴费明细 .xlsx：按身份证号匹配，全部导入或全不导入 / the tax bureau's payment list"
        ),
    ] = None,
    template: Annotated[
        Path | None, typer.Option("--template", help="写出缴费明细模板 .xlsx / write the payment-list template")
    ] = None,
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """居民参保并按分类资助核定保费（个人、医疗救助、财政）/ enrol residents and split their premiums.

    --registry：登记簿中全部居民；--payments：税务缴费明细；--person：指定人员；都不填：为本年度已参保居民重新核定保费。"""
    from yibao.app import enrolment as svc
    from yibao.core.xlsx import save as save_xlsx
    from yibao.interfaces.workbooks import tax_payments
    from yibao.policy.premium import premium_split

    lang = check_lang(lang)
    if sum(bool(x) for x in (person, registry, payments)) > 1:
        raise fail(
            InputError("command line", "--registry/--payments/--person", None, "at most one of them", expected_zh="三者至多选一"),
            lang,
        )
    if template is not None:
        out = xlsx_path(template, lang, "--template")
        assert out is not None
        book = tax_payments.template(year, ["530902198001010011", "张三", year, 320, None, None])
        _write(out, lambda path: save_xlsx(book, path), lang)
        console.print(tr(lang, f"已写入缴费明细模板 {out}", f"Wrote the payment-list template {out}"))
        return
    pack = _pack(policy, lang)
    assert pack is not None
    if registry or payments is not None:
        _enrol_county(year, pack, payments, user_name(user), lang)
        return
    with database(lang) as db:
        result = svc.enrol(db, year, pack, persons=person or None, user=user_name(user))
    _, premium = svc.policy_for_year(pack, year)  # enrol has checked it
    table = figures_table(
        tr(
            lang,
            f"{year}年度居民保费核定（{pack.pack_id}，身份截止日 {result.cutoff.isoformat()}）",
            f"{year} resident premiums ({pack.pack_id}, identities on {result.cutoff.isoformat()})",
        ),
        lang,
        ("资助类别", "category"),
        ("人数", "persons"),
        ("每人：个人", "each: person"),
        ("每人：救助", "each: assistance"),
        ("每人：财政", "each: fiscal"),
        ("救助资助合计（元）", "assistance total (yuan)"),
    )
    for category, n in result.by_category.items():
        split = premium_split(premium, category)
        table.add_row(
            _cat(category, lang),
            f"{n:,}",
            fmt_yuan(split.individual),
            fmt_yuan(split.assistance),
            fmt_yuan(split.fiscal),
            fmt_yuan(split.assistance * n),
        )
    table.add_section()
    table.add_row(tr(lang, "合计", "total"), f"{result.priced:,}", "", "", "", fmt_yuan(result.assistance))
    console.print(table)
    console.print(
        tr(
            lang,
            f"核定 {result.priced:,} 条参保记录；新建 {result.created:,} 条，恢复参保 {result.reactivated:,} 条。"
            f"每人保费 {fmt_yuan(premium.total)} 元 = 个人 {fmt_yuan(premium.individual)} + 财政 {fmt_yuan(premium.fiscal)}。"
            f"合计：个人缴费 {fmt_yuan(result.individual)}，医疗救助资助 {fmt_yuan(result.assistance)}，"
            f"财政补助 {fmt_yuan(result.fiscal)} 元。",
            f"priced {result.priced:,} enrolments; {result.created:,} created, {result.reactivated:,} re-enrolled. "
            f"Premium {fmt_yuan(premium.total)} = individual {fmt_yuan(premium.individual)} + fiscal {fmt_yuan(premium.fiscal)}. "
            f"Totals: individuals {fmt_yuan(result.individual)}, assistance {fmt_yuan(result.assistance)}, "
            f"fiscal {fmt_yuan(result.fiscal)} yuan.",
        )
    )
    if person is None and result.created == 0:
        console.print(
            tr(
                lang,
                "未新增参保：不带 --person 时只为已参保居民重新核定保费。"
                "为全县居民参保请加 --registry，导入税务缴费明细请用 --payments。",
                "No one was enrolled: without --person only the enrolled are re-priced. "
                "Add --registry to enrol every resident, or --payments for the tax bureau's list.",
            )
        )


def _enrol_county(year: int, pack: PolicyPack, payments: Path | None, user: str, lang: str) -> None:
    """``enrol --registry`` (with a progress bar) or ``enrol --payments FILE`` (an errors workbook beside a refused file)."""
    from yibao.app import enrol_county as county
    from yibao.interfaces.workbooks import tax_payments

    if payments is not None and not payments.is_file():
        raise fail(
            InputError("command line", "--payments", str(payments), "an existing .xlsx file", expected_zh="已有的 .xlsx 文件"),
            lang,
        )
    with database(lang) as db:
        if payments is None:
            with Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            ) as bar:
                task = bar.add_task(tr(lang, "登记簿居民参保", "enrolling the registry"), total=None)
                result = county.enrol_registry(
                    db, year, pack, user=user, progress=lambda done, of: bar.update(task, completed=done, total=of)
                )
        else:
            try:
                result = county.import_payments(db, payments, year, pack, user=user)
            except county.PaymentsRefused as refused:
                errors = payments.with_name(f"{payments.stem}.errors.xlsx")
                problems = refused.problems
                _write(errors, lambda path: tax_payments.write_problems(path, problems, lang), lang)
                for p in refused.problems[:10]:
                    console.print(
                        tr(lang, f"第 {p.row} 行", f"row {p.row}") + f" {p.certno} {p.psn_name} {p.field}: {p.reason(lang)}",
                        markup=False,
                    )
                raise fail(
                    InputError(
                        str(payments),
                        "rows",
                        len(refused.problems),
                        f"every row matched and correct; the errors workbook {errors} lists the {len(refused.problems)} problems",
                        expected_zh=f"每一行都能匹配且正确；错误清单 {errors} 列出 {len(refused.problems)} 处错误",
                    ),
                    lang,
                ) from None
    print_enrolment(result, lang)


def print_enrolment(result: county.CountyEnrolment, lang: str) -> None:
    """The counts by subsidy category and what was done."""
    from yibao.app import enrol_county as county

    source = (
        tr(lang, f"税务缴费明细（批次 #{result.batch_id}）", f"tax payment list (batch #{result.batch_id})")
        if result.batch_id
        else tr(lang, "人员登记簿", "the registry")
    )
    table = figures_table(
        tr(
            lang,
            f"{result.year}年度参保：{source}（{result.pack_id}，身份截止日 {result.cutoff.isoformat()}）",
            f"{result.year} enrolment from {source} ({result.pack_id}, identities on {result.cutoff.isoformat()})",
        ),
        lang,
        ("资助类别", "category"),
        ("参保人数", "enrolled"),
        ("本次新参保", "added now"),
        ("个人缴费（元）", "individual (yuan)"),
        ("医疗救助资助（元）", "assistance (yuan)"),
        ("财政补助（元）", "fiscal (yuan)"),
    )
    for c in result.by_category:
        table.add_row(
            _cat(c.category, lang),
            f"{c.persons:,}",
            f"{c.added:,}",
            fmt_yuan(c.individual),
            fmt_yuan(c.assistance),
            fmt_yuan(c.fiscal),
        )
    table.add_section()
    table.add_row(
        tr(lang, "合计", "total"),
        f"{result.enrolled:,}",
        f"{result.added:,}",
        fmt_yuan(sum(c.individual for c in result.by_category)),
        fmt_yuan(sum(c.assistance for c in result.by_category)),
        fmt_yuan(sum(c.fiscal for c in result.by_category)),
    )
    console.print(table)
    left = "，".join(f"{tr(lang, *county.LEFT_OUT[k])} {n:,}" for k, n in result.left_out.items())
    console.print(
        tr(
            lang,
            f"新建参保 {result.created:,} 人，恢复参保 {result.reactivated:,} 人，原已参保 {result.already:,} 人"
            f"（重新核定保费 {result.repriced:,} 条）" + (f"；未参保：{left}" if left else "") + "。",
            f"{result.created:,} new, {result.reactivated:,} re-enrolled, {result.already:,} already enrolled "
            f"({result.repriced:,} re-priced)" + (f"; left out: {left}" if left else "") + ".",
        ),
        markup=False,
    )


def _rate(bp: int | None) -> str:
    return "—" if bp is None else f"{bp // 100}.{bp % 100:02d}%"


def coverage_cmd(
    year: Year,
    as_of: AsOf = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="政策包（资助预算用；默认为核定本年度保费的政策包）/ pack for the budget")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="写出参保率报表 .xlsx / write the coverage workbook")] = None,
    lang: Lang = "zh",
) -> None:
    """参保率（总体、按身份类别）、资助预算和重复参保 / coverage rates, subsidy budget and duplicates."""
    from yibao.app import coverage as cov_svc
    from yibao.app import enrolment as svc
    from yibao.app import enrolment_workbook as excel
    from yibao.policy.coverage import DEFAULT_PRIORITY, CoverageRow

    lang = check_lang(lang)
    day = _as_of(as_of, lang)
    out = xlsx_path(xlsx, lang)
    pack = _pack(policy, lang)
    with database(lang) as db:
        if pack is None:
            pack = svc.pack_of_year(db, year)
        ranks = svc.policy_for_year(pack, year)[0] if pack is not None else None
        priority = ranks.identity_priority if ranks is not None else DEFAULT_PRIORITY
        cov = cov_svc.coverage(db, year, day, priority=priority, validity=ranks.identity_validity if ranks else None)
        budget = cov_svc.subsidy_budget(db, year, pack) if pack is not None else None
        duplicates = cov_svc.find_duplicates(db, year)
        if out is not None:
            _write(out, lambda path: excel.write_coverage_workbook(path, cov, budget, duplicates, lang), lang)

    table = figures_table(
        tr(
            lang,
            f"{year}年度参保率（身份按 {cov.as_of.isoformat()}）",
            f"{year} coverage (categories on {cov.as_of.isoformat()})",
        ),
        lang,
        ("人员类别", "category"),
        ("人数", "persons"),
        ("参保", "enrolled"),
        ("视同参保", "exempt"),
        ("应保未保", "gap"),
        ("参保率", "enrolled %"),
        ("含视同参保", "incl. exempt"),
    )

    def add(row: CoverageRow, style: str | None = None) -> None:
        table.add_row(
            _cat(row.category, lang),
            f"{row.persons:,}",
            f"{row.enrolled:,}",
            f"{row.exempt:,}",
            f"{row.gap:,}",
            _rate(row.enrolled_rate_bp),
            _rate(row.covered_rate_bp),
            style=style,
        )

    add(cov.overall, "bold")
    add(cov.low_income, "bold")
    table.add_section()
    for row in cov.by_category:
        add(row)
    console.print(table)
    if cov.exempt_by_status:
        console.print(
            tr(lang, "视同参保：", "exempt: ")
            + "，".join(f"{svc.special_status_label(k, lang)} {v:,}" for k, v in cov.exempt_by_status.items())
        )
    if budget is not None:
        bt = figures_table(
            tr(
                lang,
                f"资助预算（{budget.pack_id}，已参保居民，身份截止日 {budget.cutoff.isoformat()}，元）",
                f"Subsidy budget ({budget.pack_id}, enrolled residents, identities on {budget.cutoff.isoformat()}, yuan)",
            ),
            lang,
            ("资助类别", "category"),
            ("人数", "persons"),
            ("个人缴费", "individual"),
            ("医疗救助", "assistance"),
            ("财政补助", "fiscal"),
            ("合计", "total"),
        )
        for b in (*budget.rows, budget.total):
            if b.category == "all":
                bt.add_section()
            bt.add_row(
                tr(lang, "合计", "total") if b.category == "all" else _cat(b.category, lang),
                f"{b.persons:,}",
                fmt_yuan(b.individual),
                fmt_yuan(b.assistance),
                fmt_yuan(b.fiscal),
                fmt_yuan(b.total),
            )
        console.print(bt)
    kinds = Counter(d.kind for d in duplicates)
    if duplicates:
        console.print(
            tr(lang, "[bold yellow]重复参保：[/]", "[bold yellow]duplicate enrolments: [/]")
            + "，".join(f"{tr(lang, *cov_svc.DUPLICATE_LABELS[k])} {n:,}" for k, n in kinds.items())
        )
    else:
        console.print(tr(lang, "未发现重复参保。", "No duplicate enrolment found."))
    if out is not None:
        console.print(tr(lang, f"已写入 {out}", f"Wrote {out}"))


def gaps_cmd(
    year: Year,
    xlsx: Annotated[Path, typer.Option("--xlsx", help="写出应保未保清单 .xlsx / write the gap list workbook")],
    as_of: AsOf = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="政策包（金额用；默认为核定本年度保费的政策包）/ pack for the amounts")
    ] = None,
    lang: Lang = "zh",
) -> None:
    """应保未保清单：农村低收入和脱贫人口中未参保也未视同参保的人员 / the gap list for the townships."""
    from yibao.app import coverage as cov_svc
    from yibao.app import enrolment_workbook as excel
    from yibao.policy.categories import identity_label

    lang = check_lang(lang)
    day = _as_of(as_of, lang)
    out = xlsx_path(xlsx, lang)
    assert out is not None
    pack = _pack(policy, lang)
    with database(lang) as db:
        gaps = cov_svc.gap_list(db, year, as_of=day, pack=pack)
        _write(out, lambda path: excel.write_gap_workbook(path, gaps, lang), lang)
    per_town = Counter(e.township or "" for e in gaps.entries)
    per_cat = Counter(e.category for e in gaps.entries)
    title = tr(lang, f"{year}年度应保未保人员（按乡镇）", f"{year} gap list by township")
    table = figures_table(title, lang, ("乡镇（街道）", "township"), ("人数", "persons"))
    for town in sorted(per_town):
        table.add_row(town, f"{per_town[town]:,}")
    table.add_section()
    table.add_row(tr(lang, "合计", "total"), f"{len(gaps.entries):,}")
    console.print(table)
    if per_cat:
        console.print(
            tr(lang, "按身份：", "by category: ") + "，".join(f"{identity_label(c, lang)} {n:,}" for c, n in per_cat.items())
        )
    console.print(tr(lang, f"已写入 {out}（{len(gaps.entries):,} 人）", f"Wrote {out} ({len(gaps.entries):,} people)"))


def special_status_cmd(
    certno: Annotated[str, typer.Argument(help="身份证号 / resident ID number")],
    year: Year,
    status: Annotated[
        str, typer.Option("--status", help="deceased(死亡) / military(服兵役) / prison(服刑) / other_province(省外参保)")
    ],
    evidence: Annotated[str, typer.Option("--evidence", help="依据：文书、核实人、日期 / evidence")],
    user: User = None,
    lang: Lang = "zh",
) -> None:
    """登记视同参保/免缴的特殊状态（死亡、服兵役、服刑、省外参保）及依据 / record a special status with its evidence."""
    from yibao.app import enrolment as svc

    lang = check_lang(lang)
    with database(lang) as db:
        view = svc.record_special_status(db, certno, year, status, evidence, user_name(user))
    console.print(
        tr(
            lang,
            f"已登记：{mask(certno.strip().upper())} {year}年度 {svc.special_status_label(view.special_status, lang)}"
            f"（参保状态 {view.psn_insu_stas}；依据：{view.evidence}；经办人 {view.recorded_by}）",
            f"Recorded: {mask(certno.strip().upper())} {year} {svc.special_status_label(view.special_status, lang)} "
            f"(psn_insu_stas {view.psn_insu_stas}; evidence: {view.evidence}; by {view.recorded_by})",
        ),
        markup=False,
    )


db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
db_app.command("load-synth")(load_synth_cmd)


def register(app: typer.Typer) -> None:
    """Add the commands to ``app`` (``db load-synth`` joins an existing ``db`` group if there is one)."""
    app.command("enrol")(enrol_cmd)
    app.command("coverage")(coverage_cmd)
    app.command("gaps")(gaps_cmd)
    app.command("special-status")(special_status_cmd)
    for group in app.registered_groups:
        if group.name == "db" and group.typer_instance is not None:
            group.typer_instance.command("load-synth")(load_synth_cmd)
            return
    app.add_typer(db_app, name="db")
