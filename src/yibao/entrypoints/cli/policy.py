"""``yibao policy list | show | check``: the shipped packs, a pack's parameters, a pack's worked cases."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.vocab import field_label, identity_label
from yibao.entrypoints.cli.enrol import Lang, fail
from yibao.entrypoints.cli.output import console
from yibao.policy.cases import cases_file, load_cases
from yibao.policy.labels import path_label, value_text
from yibao.policy.pack import PolicyPack, load_pack, shipped_packs
from yibao.settlement.cases import SCALAR, CaseCheck, Mismatch, check_case

policy_app = typer.Typer(help="政策包 / policy packs", no_args_is_help=True)

PackArg = Annotated[str, typer.Argument(help="政策包文件或内置名称 / pack file or shipped name")]


def _pack(name: str, lang: str) -> PolicyPack:
    try:
        return load_pack(name)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None


@policy_app.command("list")
def policy_list(lang: Lang = "zh") -> None:
    """内置政策包 / shipped packs."""
    table = Table(title=_t(lang, "内置政策包", "Shipped packs"))
    for col in ("pack", _t(lang, "名称", "title"), _t(lang, "有效期", "valid")):
        table.add_column(col)
    for name in shipped_packs():
        p = load_pack(name)
        table.add_row(
            name, p.title_zh if lang == "zh" else p.title_en, f"{p.valid_from} – {p.valid_to or _t(lang, '至今', 'open')}"
        )
    console.print(table)


@policy_app.command("show")
def policy_show(
    pack_name: PackArg,
    on: Annotated[str | None, typer.Option("--date", help="显示某日有效的取值 YYYY-MM-DD")] = None,
    lang: Lang = "zh",
) -> None:
    """列出政策参数（名称、键路径）及其取值和来源 / every parameter (name, key path) with its value and source."""
    pack = _pack(pack_name, lang)
    day = date.fromisoformat(on) if on else None
    table = Table(title=f"{pack.title_zh if lang == 'zh' else pack.title_en} ({pack.pack_id})", show_lines=True)
    table.add_column(_t(lang, "参数", "Parameter"), style="bold")
    table.add_column(_t(lang, "键路径", "Key path"), overflow="fold")
    table.add_column(_t(lang, "生效", "From"), no_wrap=True)
    table.add_column(_t(lang, "取值（元 / %）", "Value (yuan / %)"))
    table.add_column(_t(lang, "来源", "Source"))
    for path, leaf in pack.leaves.items():
        entries = [leaf.at(day)] if day else list(leaf.values)
        for e in entries:
            if e is None:
                continue
            assumed = f"[yellow]{_t(lang, '假设', 'assumed')}[/]{_t(lang, '：', ': ')}{escape(e.assumed or '')}"
            src = escape(e.source) if e.source is not None else assumed
            name = escape(path_label(pack, path, lang))
            table.add_row(name, ".".join(path), e.start.isoformat(), escape(value_text(e.value, lang)), src)
    console.print(table)
    if pack.notes:
        console.print(Panel(pack.notes.strip(), title=_t(lang, "说明", "Notes")))


def _shown(name: str, value: int | str, lang: str) -> str:
    if name == "identity":
        return identity_label(str(value), lang)
    return str(value) if isinstance(value, str) else fmt_yuan(value)


def _mismatch_text(m: Mismatch, lang: str) -> str:
    engine = _t(lang, "逐笔结算", "scalar core") if m.engine == SCALAR else _t(lang, "批量引擎", "batch engine")
    if m.field == "parts":
        what = _t(lang, "四方支付与个人负担之和应等于医疗总费用", "payers plus patient should equal the bill")
    else:
        what = f"{field_label(m.field, lang)} {m.field}" if m.field not in ("identity", "line") else m.field
    return _t(
        lang,
        f"单号 {m.claim_id} · {engine} · {what}：应为 {_shown(m.field, m.expected, lang)}，实为 {_shown(m.field, m.got, lang)}",
        f"claim {m.claim_id} · {engine} · {what}: expected {_shown(m.field, m.expected, lang)}, "
        f"got {_shown(m.field, m.got, lang)}",
    )


def _case_line(check: CaseCheck, lang: str) -> str:
    case = check.case
    mark = "[green]✓[/]" if check.ok else "[bold red]✗[/]"
    title = escape(case.title if lang == "zh" else (case.title_en or f"case {check.number}"))
    claims, diffs = len(case.claims), len(check.mismatches)
    if check.ok:
        said = _t(lang, f"{claims} 笔结算，逐笔结算与批量引擎均与预期相符", f"{claims} claim(s), both engines as expected")
    elif check.error is not None:
        said = _t(lang, "政策包拒绝了该算例的输入", "the pack refused the case's input")
    else:
        said = _t(lang, f"{diffs} 处与预期不符", f"{diffs} difference(s) from the expected amounts")
    return f"{mark} {check.number}. {title}：{said}" if lang == "zh" else f"{mark} {check.number}. {title}: {said}"


@policy_app.command("check")
def policy_check(pack_name: PackArg, lang: Lang = "zh") -> None:
    """结算政策包旁的算例（<pack>.cases.yaml），逐笔结算与批量引擎均须与预期金额相符 / settle the pack's worked cases."""
    pack = _pack(pack_name, lang)
    path = cases_file(pack_name)
    try:
        cases = load_cases(path, pack)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None
    console.print(
        _t(lang, f"政策包 {pack.pack_id} 的算例（{path.name}）：", f"Worked cases of pack {pack.pack_id} ({path.name}):"),
        highlight=False,
        soft_wrap=True,
    )
    checks = [check_case(pack, case, n) for n, case in enumerate(cases.cases, start=1)]
    for check in checks:
        console.print(_case_line(check, lang), highlight=False, soft_wrap=True)
        for m in check.mismatches:
            console.print("    " + _mismatch_text(m, lang), markup=False, highlight=False, soft_wrap=True)
        if check.error is not None:
            console.print("    " + check.error.render(lang), markup=False, highlight=False, soft_wrap=True)
    failed = sum(not c.ok for c in checks)
    console.print(
        _t(
            lang,
            f"共 {len(checks)} 个算例：{len(checks) - failed} 个相符，{failed} 个不符。",
            f"{len(checks)} case(s): {len(checks) - failed} as expected, {failed} not.",
        ),
        highlight=False,
        soft_wrap=True,
    )
    if failed:
        raise typer.Exit(code=1)
