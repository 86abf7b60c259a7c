"""Reading a printed PDF back (pypdf): its pages, their size, its text and the fonts it uses."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from yibao.app.pdf import FONT_FAMILY

A4 = (595.0, 842.0)
A5 = (420.0, 595.0)
"""Paper sizes in points (1/72 inch), portrait."""
PRINT_FONTS = {FONT_FAMILY, f"{FONT_FAMILY}-Bold"}
"""The names the embedded font's subsets go by (WeasyPrint names a bold use of the face ``-Bold``)."""


def pdf_text(data: bytes) -> tuple[int, str]:
    """The number of pages and the text of all of them."""
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def page_sizes(data: bytes) -> list[tuple[float, float]]:
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(io.BytesIO(data)).pages]


def is_paper(size: tuple[float, float], paper: tuple[float, float]) -> bool:
    """The page is this paper, within 1 pt."""
    return abs(size[0] - paper[0]) <= 1 and abs(size[1] - paper[1]) <= 1


def _descriptor(font: Any) -> Any:
    """A font's /FontDescriptor (a composite /Type0 font keeps it on its descendant)."""
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor.get_object() if descriptor is not None else {}


def fonts(data: bytes) -> dict[str, bool]:
    """Each font the pages' /Resources name, without its subset tag (``ABCDEF+``): whether its program is embedded
    (its descriptor has /FontFile2, TrueType, or /FontFile3, CFF or OpenType)."""
    out: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        resources: Any = page["/Resources"].get_object()
        named = resources.get("/Font")
        for ref in named.get_object().values() if named is not None else ():
            font = ref.get_object()
            name = str(font["/BaseFont"]).lstrip("/").split("+")[-1]
            descriptor = _descriptor(font)
            out[name] = out.get(name, True) and ("/FontFile2" in descriptor or "/FontFile3" in descriptor)
    return out


def embeds_only_the_print_font(data: bytes) -> bool:
    """Every font of the document is the print font (Noto Sans SC as :data:`FONT_FAMILY`), embedded."""
    used = fonts(data)
    return bool(used) and set(used) <= PRINT_FONTS and all(used.values())
