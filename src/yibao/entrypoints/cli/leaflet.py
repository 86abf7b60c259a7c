"""``yibao leaflet PACK``: the plain-language policy leaflet (政策大白话问答) of a pack, as HTML or PDF."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t
from yibao.entrypoints.cli.enrol import Lang, check_lang
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, refuse


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("command line", "--date", text, "a date written YYYY-MM-DD") from None


def leaflet(
    pack_name: Annotated[str, typer.Argument(metavar="PACK", help="政策包文件或内置名称 / pack file or shipped name")],
    identity: Annotated[
        str | None, typer.Option("--identity", help="只印某类人员（如 dibao、低保对象）/ one identity only")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html（默认）或 pdf")] = "html",
    paper: Annotated[str, typer.Option("--paper", help="a4（默认）或 a5（小册子）/ a4 or a5 booklet")] = "a4",
    on: Annotated[str | None, typer.Option("--date", help="按某日有效的政策 YYYY-MM-DD（默认今天或政策包最近的一天）")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="写入文件（HTML 缺省时输出到屏幕）/ output file")] = None,
    lang: Lang = "zh",
) -> None:
    """政策大白话问答：由政策包生成，举例按结算规则算出 / the policy leaflet, its examples settled by the pack."""
    from yibao.app import leaflet as leaflets
    from yibao.policy.pack import load_pack

    check_lang(lang)
    try:
        if fmt not in ("html", "pdf"):
            raise InputError("command line", "--format", fmt, "html or pdf")
        if fmt == "pdf" and out is None:
            raise InputError("command line", "--out", None, "a file to write the PDF to (-o leaflet.pdf)")
        size = leaflets.paper_of(paper)
        pack = load_pack(pack_name)
        made = leaflets.leaflet_of(pack, identity, lang, _day(on))
    except (InputError, InputErrors) as exc:
        raise refuse(exc, lang, NOTHING_WRITTEN) from None
    if fmt == "pdf":
        assert out is not None
        data = leaflets.render_pdf(made, size)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    else:
        html = leaflets.render_html(made, size)
        if out is None:
            sys.stdout.write(html)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    n = len(made.examples)
    console.print(t(lang, f"已写入 {out}（{n} 个算例，均按政策包结算）", f"Wrote {out} ({n} worked examples, each settled)"))
