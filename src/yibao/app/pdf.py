"""HTML to PDF (WeasyPrint), with the CJK font embedded.

Everything yibao prints (the settlement slip, the back-pay slip, the policy leaflet) is rendered
to PDF from the same HTML its page in the window shows: :func:`html_to_pdf` adds a print style
sheet naming the paper and the font and lets WeasyPrint lay it out. The font is Noto Sans SC,
shipped by the ``pylopdf-fonts-zh-cn`` package (SIL Open Font License), so a fresh machine
without CJK fonts still prints Chinese; WeasyPrint embeds the subset of glyphs used.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

Paper = Literal["A4", "A5"]
PAPERS: tuple[Paper, ...] = ("A4", "A5")
FONT_FAMILY = "YibaoSans"
"""The family name the print style sheet gives the embedded font."""


@cache
def font_uri() -> str:
    """The embedded font's file as a ``file://`` URI."""
    import pylopdf_fonts_zh_cn

    return pylopdf_fonts_zh_cn.sans_path().resolve().as_uri()


def print_css(paper: Paper = "A4", margin_mm: int = 12) -> str:
    """The style sheet every printed page gets: the paper, its margins and the embedded font (for every
    element, so a page's own font list cannot fall back to a font the machine lacks)."""
    return (
        f"@font-face {{ font-family: {FONT_FAMILY}; src: url('{font_uri()}'); }}\n"
        f"@page {{ size: {paper}; margin: {margin_mm}mm; }}\n"
        f"html, body, * {{ font-family: {FONT_FAMILY}, sans-serif !important; }}\n"
    )


def html_to_pdf(html: str, *, paper: Paper = "A4", margin_mm: int = 12, extra_css: str = "") -> bytes:
    """Render ``html`` (a whole document) to PDF bytes on ``paper``, the CJK font embedded."""
    from weasyprint import CSS, HTML

    sheets = [CSS(string=print_css(paper, margin_mm) + extra_css)]
    return HTML(string=html).write_pdf(stylesheets=sheets)  # type: ignore[no-any-return]
