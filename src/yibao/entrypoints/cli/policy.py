"""``yibao policy list | show | check | calibrate``: the shipped packs, a pack's parameters, its worked cases, and
the fit of its assumed parameters to published outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.vocab import field_label
from yibao.entrypoints.cli.enrol import Lang, fail
from yibao.entrypoints.cli.output import console

if TYPE_CHECKING:
    from yibao.app.calibrate import Calibration
    from yibao.policy.calibrate import Bound, Path_
    from yibao.policy.pack import PolicyPack
    from yibao.settlement.cases import CaseCheck, Mismatch


policy_app = typer.Typer(help="政策包 / policy packs", no_args_is_help=True)

PackArg = Annotated[str, typer.Argument(help="政策包文件或内置名称 / pack file or shipped name")]


def _pack(name: str, lang: str) -> PolicyPack:
    from yibao.policy.pack import load_pack

    try:
        return load_pack(name)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None


@policy_app.command("list")
def policy_list(lang: Lang = "zh") -> None:
    """内置政策包 / shipped packs."""
    from yibao.policy.pack import load_pack, shipped_packs

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
    from yibao.policy.labels import parameters

    pack = _pack(pack_name, lang)
    day = date.fromisoformat(on) if on else None
    table = Table(title=f"{pack.title_zh if lang == 'zh' else pack.title_en} ({pack.pack_id})", show_lines=True)
    table.add_column(_t(lang, "参数", "Parameter"), style="bold")
    table.add_column(_t(lang, "键路径", "Key path"), overflow="fold")
    table.add_column(_t(lang, "生效", "From"), no_wrap=True)
    table.add_column(_t(lang, "取值（元 / %）", "Value (yuan / %)"))
    table.add_column(_t(lang, "来源", "Source"))
    for row in parameters(pack, day, lang):
        assumed = f"[yellow]{_t(lang, '假设', 'assumed')}[/]{_t(lang, '：', ': ')}{escape(row.assumed or '')}"
        src = escape(row.source) if row.source is not None else assumed
        table.add_row(escape(row.label), row.path, row.start, escape(row.value), src)
    console.print(table)
    if pack.notes:
        console.print(Panel(pack.notes.strip(), title=_t(lang, "说明", "Notes")))


def _shown(name: str, value: int | str, lang: str) -> str:
    from yibao.policy.categories import identity_label

    if name == "identity":
        return identity_label(str(value), lang)
    return str(value) if isinstance(value, str) else fmt_yuan(value)


def _mismatch_text(m: Mismatch, lang: str) -> str:
    from yibao.settlement.cases import SCALAR

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
    from yibao.policy.cases import cases_file, load_cases
    from yibao.settlement.cases import check_case

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


def _target(text: str) -> tuple[str, float]:
    """``NAME=VALUE``: a named outcome and its published percent; refused naming what was expected."""
    from yibao.app.calibrate import WHERE
    from yibao.reports.outcomes import OUTCOMES

    name, eq, value = text.partition("=")
    names = ", ".join(OUTCOMES)
    if name.strip() not in OUTCOMES:
        expected = f"NAME=VALUE with NAME one of: {names}"
        raise InputError(WHERE, "--target", text, expected, expected_zh=f"名称=取值，名称为：{names}")
    try:
        pct = Decimal(value.strip().rstrip("%")) if eq else None
    except InvalidOperation:
        pct = None
    if pct is None or not pct.is_finite() or not 0 <= pct <= 100:
        raise InputError(
            WHERE,
            "--target",
            text,
            f"{name}=VALUE with VALUE a percentage from 0 to 100, such as {name}=84.91",
            expected_zh=f"{name}=取值，取值为 0 至 100 的百分数，如 {name}=84.91",
        )
    return name.strip(), float(pct)


def _vary(text: str) -> tuple[str, Path_]:
    from yibao.app.calibrate import WHERE
    from yibao.reports.outcomes import OUTCOMES

    name, eq, leaf = text.partition("=")
    if name.strip() not in OUTCOMES or not eq or not leaf.strip():
        raise InputError(
            WHERE,
            "--vary",
            text,
            "TARGET=PARAMETER, such as basic_inpatient=lines.inpatient.ratio",
            expected_zh="目标=参数，如 basic_inpatient=lines.inpatient.ratio",
        )
    return name.strip(), tuple(leaf.strip().split("."))


def _bound(text: str) -> tuple[Path_, Bound]:
    """``PARAMETER=LO..HI`` (percent for a ratio, yuan for an amount; either end may be left open)."""
    from yibao.app.calibrate import WHERE

    leaf, eq, span = text.partition("=")
    lo, dots, hi = span.partition("..")
    try:
        if not eq or not leaf.strip() or not dots:
            raise ValueError(text)
        low, high = (float(x) if x.strip() else None for x in (lo, hi))
        if (low is not None and low < 0) or (low is not None and high is not None and high < low):
            raise ValueError(text)
    except ValueError:
        raise InputError(
            WHERE,
            "--bound",
            text,
            "PARAMETER=LO..HI, such as lines.inpatient.ratio=0..90 (either end may be left out)",
            expected_zh="参数=下限..上限，如 lines.inpatient.ratio=0..90（可省略一端）",
        ) from None
    return tuple(leaf.strip().split(".")), (low, high)


def _percent(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}%"


def _show_fit(c: Calibration, lang: str) -> None:
    from yibao.reports.outcomes import OUTCOMES

    pid = c.pack.pack_id
    table = Table(title=_t(lang, f"校准 {pid}（县：{c.county}）", f"Calibration of {pid} (county: {c.county})"))
    heads = [("目标", "target"), ("公布值", "published"), ("校准前", "before"), ("校准后", "after")]
    heads += [("残差（百分点）", "residual (points)"), ("调整的参数", "parameters moved")]
    for zh, en in heads:
        table.add_column(_t(lang, zh, en), overflow="fold")
    for f in c.fit.fits:
        o = OUTCOMES[f.target.name]
        res = "—" if f.residual is None else f"{(f.residual if abs(f.residual) >= 0.005 else 0.0):+.2f}"
        knobs = ", ".join(".".join(k) for k in (*f.target.knobs, *f.target.fallback) if k in c.fit.changes)
        table.add_row(
            f"{f.target.name}\n{o.zh if lang == 'zh' else o.en}",
            f"{f.target.value:.2f}%",
            _percent(f.before),
            _percent(f.achieved),
            res,
            knobs,
        )
    console.print(table)


@policy_app.command("calibrate")
def policy_calibrate(
    pack_name: PackArg,
    targets: Annotated[
        list[str], typer.Option("--target", help="目标=公布的百分比，如 priority_inpatient=84.91 / NAME=VALUE (percent)")
    ],
    county: Annotated[Path, typer.Option("--county", help="合成县目录（yibao synth --out）/ synthetic county folder")],
    vary: Annotated[
        list[str] | None, typer.Option("--vary", help="目标=调整的假设参数 / TARGET=PARAMETER to move instead of the default")
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="写出的政策包（默认：改写原文件）/ pack file to write")] = None,
    bound: Annotated[
        list[str] | None,
        typer.Option("--bound", help="参数=下限..上限（比例默认至多 95%）/ PARAMETER=LO..HI (ratios default to at most 95%)"),
    ] = None,
    lang: Lang = "zh",
) -> None:
    """在合成县上校准政策包的假设参数，使指定结果与公布值一致 / fit a pack's assumed parameters to published outcomes."""
    from yibao.app.calibrate import WHERE, calibrate
    from yibao.policy.calibrate import TOL_POINTS

    errors: list[InputError] = []
    wanted: dict[str, float] = {}
    moves: dict[str, list[Path_]] = {}
    for text in targets:
        try:
            name, value = _target(text)
            wanted[name] = value
        except InputError as exc:
            errors.append(exc)
    for text in vary or []:
        try:
            name, leaf = _vary(text)
            moves.setdefault(name, []).append(leaf)
        except InputError as exc:
            errors.append(exc)
    bounds: dict[Path_, Bound] = {}
    for text in bound or []:
        try:
            path, span = _bound(text)
            bounds[path] = span
        except InputError as exc:
            errors.append(exc)
    if not (county / "manifest.json").is_file() and not (county / "claims.parquet").is_file():
        errors.append(
            InputError(
                WHERE,
                "--county",
                str(county),
                "a synthetic county folder (yibao synth --out DIR)",
                expected_zh="合成县生成的目录",
            )
        )
    if errors:
        raise fail(InputErrors(errors), lang)
    try:
        result = calibrate(pack_name, wanted, county, moves, bounds)
    except (InputError, InputErrors) as exc:
        raise fail(exc, lang) from None
    _show_fit(result, lang)
    target = out or result.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(result.text, encoding="utf-8")
    console.print(_t(lang, f"已写入 {target}", f"Written: {target}"), highlight=False, soft_wrap=True)
    if not result.fit.ok:
        console.print(
            _t(
                lang,
                f"有目标未达到 ±{TOL_POINTS} 个百分点以内（见上表残差）。",
                f"Some target is not within ±{TOL_POINTS} points (see the residuals above).",
            ),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1)
