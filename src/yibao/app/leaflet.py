"""The policy leaflet (政策大白话问答) as a page and as a PDF on A4 or as an A5 booklet.

:func:`yibao.leaflet.build.build_leaflet` makes the leaflet from the pack; here it is rendered with the Jinja2
templates ``templates/leaflet.html.j2`` (a whole page, with a print button) and ``_leaflet_body.html.j2`` (the
leaflet itself, which the window's ``/leaflet`` page shows inside its frame), and printed to PDF from that same
HTML by :func:`yibao.app.pdf.html_to_pdf`, the font embedded.
"""

from __future__ import annotations

from datetime import date

from yibao.app.pdf import PAPERS, Paper, html_to_pdf
from yibao.app.slips import render_template
from yibao.core.errors import InputError
from yibao.leaflet.build import build_leaflet
from yibao.leaflet.model import Leaflet
from yibao.policy.in_force import covered_day
from yibao.policy.pack import PolicyPack


def paper_of(text: str) -> Paper:
    """``a4`` / ``A5`` -> the paper; anything else refused naming the choices."""
    wanted = text.strip().upper()
    for paper in PAPERS:
        if wanted == paper:
            return paper
    raise InputError("leaflet", "paper", text, "a4 or a5")


def leaflet_of(pack: PolicyPack, identity: str | None = None, lang: str = "zh", on: date | None = None) -> Leaflet:
    """The pack's leaflet on ``on`` (refused when the pack does not cover it; default: today, or the nearest day
    the pack covers)."""
    return build_leaflet(pack, covered_day(pack) if on is None else on, identity, lang)


def render_body(leaflet: Leaflet, paper: Paper = "A4") -> str:
    """The leaflet's own HTML (an ``<article>`` with its style sheet), for a page to show inside its frame."""
    style = render_template("_leaflet_style.html.j2", paper=paper)
    return style + render_template("_leaflet_body.html.j2", L=leaflet, paper=paper)


def render_html(leaflet: Leaflet, paper: Paper = "A4") -> str:
    """The leaflet as a whole printable page."""
    return render_template("leaflet.html.j2", L=leaflet, paper=paper)


def render_pdf(leaflet: Leaflet, paper: Paper = "A4") -> bytes:
    """The leaflet's page printed on ``paper`` (A5: a booklet page), the font embedded."""
    margin = 9 if paper == "A5" else 14
    return html_to_pdf(render_html(leaflet, paper), paper=paper, margin_mm=margin)
