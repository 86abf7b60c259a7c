"""HTML to PDF (WeasyPrint), with the CJK font embedded.

Everything yibao prints (the settlement slip, the back-pay slip, the policy leaflet) is rendered
to PDF from the same HTML its page in the window shows: :func:`html_to_pdf` adds a print style
sheet naming the paper and the font and lets WeasyPrint lay it out (print media: what the page
hides in print, ``@media print``, is hidden). The font is Noto Sans SC, shipped by the
``pylopdf-fonts-zh-cn`` package (SIL Open Font License), so a fresh machine without CJK fonts
still prints Chinese; WeasyPrint embeds the subset of glyphs used, and no other font.

A page that must fit on a number of sheets (a slip: one) is laid out again on a larger sheet of
the same proportions and scaled down to the paper until it fits (``max_pages``), as a copier's
"fit to page" would.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from weasyprint.document import Document

Paper = Literal["A4", "A5"]
PAPERS: tuple[Paper, ...] = ("A4", "A5")
PAPER_MM: dict[Paper, tuple[int, int]] = {"A4": (210, 297), "A5": (148, 210)}
"""Width and height of each paper, portrait, in millimetres."""
FONT_FAMILY = "YibaoSans"
"""The family name the print style sheet gives the embedded font."""
SHRINK = (1.0, 1.1, 1.2, 1.35, 1.5, 1.7, 2.0)
"""The layouts tried to fit ``max_pages``: the sheet laid out on is this many times the paper (2.0: half size)."""


@cache
def font_uri() -> str:
    """The embedded font's file as a ``file://`` URI."""
    import pylopdf_fonts_zh_cn

    return pylopdf_fonts_zh_cn.sans_path().resolve().as_uri()


def print_css(paper: Paper = "A4", margin_mm: float = 12, scale: float = 1.0) -> str:
    """The style sheet every printed page gets: the paper, its margins and the embedded font (for every
    element, so a page's own font list cannot fall back to a font the machine lacks). ``!important``:
    it is a user style sheet, which the page's own ``@page`` rule would otherwise override.

    ``scale`` > 1 lays out on a sheet that many times the paper (scaled back to the paper when written)."""
    width, height = (round(v * scale, 3) for v in PAPER_MM[paper])
    return (
        f"@font-face {{ font-family: {FONT_FAMILY}; src: url('{font_uri()}'); }}\n"
        f"@page {{ size: {width}mm {height}mm !important; margin: {round(margin_mm * scale, 3)}mm !important; }}\n"
        f"html, body, * {{ font-family: {FONT_FAMILY}, sans-serif !important; }}\n"
    )


def _layout(html: str, paper: Paper, margin_mm: float, extra_css: str, scale: float) -> Document:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()  # without it WeasyPrint ignores @font-face and takes whatever fonts the machine has
    sheets = [CSS(string=print_css(paper, margin_mm, scale) + extra_css, font_config=fonts)]
    return HTML(string=html).render(stylesheets=sheets, font_config=fonts)


def html_to_pdf(
    html: str, *, paper: Paper = "A4", margin_mm: float = 12, extra_css: str = "", max_pages: int | None = None
) -> bytes:
    """Render ``html`` (a whole document) to PDF bytes on ``paper``, the CJK font embedded.

    ``extra_css`` is added to the print style sheet. With ``max_pages``, content that runs longer is
    shrunk evenly (down to half size, :data:`SHRINK`) until it fits; past that it runs on."""
    for scale in SHRINK if max_pages is not None else (1.0,):
        document = _layout(html, paper, margin_mm, extra_css, scale)
        if max_pages is None or len(document.pages) <= max_pages:
            break
    return document.write_pdf(zoom=1 / scale)  # type: ignore[no-any-return]
