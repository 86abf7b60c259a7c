"""The policy leaflet (政策大白话问答) of the pack in force, for any signed-in role: an identity chooser, print,
and the PDF on A4 or as an A5 booklet (:mod:`yibao.app.leaflet`, the same HTML the page shows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from yibao.app import leaflet as leaflets
from yibao.app.auth import Principal
from yibao.core.errors import InputError
from yibao.core.i18n import t
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import pack_of, policy_day
from yibao.entrypoints.web.forms import clean
from yibao.entrypoints.web.render import page_lang, render
from yibao.entrypoints.web.session import page_user
from yibao.leaflet.build import identities
from yibao.leaflet.model import Leaflet

router = APIRouter()

SIGNED_IN = page_user()


def _leaflet(request: Request, identity: str, lang: str) -> Leaflet:
    pack = pack_of(request)
    return leaflets.leaflet_of(pack, identity or None, lang, policy_day(pack))


@router.get("/leaflet", response_class=HTMLResponse)
def leaflet_page(request: Request, who: Annotated[Principal, Depends(SIGNED_IN)]) -> HTMLResponse:
    lang = page_lang(request)
    pack = pack_of(request)
    policy = pack.at(policy_day(pack))
    values = {"identity": clean(request.query_params.get("identity"), 40)}
    errors: dict[str, str] = {}
    try:
        made = _leaflet(request, values["identity"], lang)
    except InputError as e:
        errors["identity"] = error_text(e, lang)
        values["identity"] = ""
        made = _leaflet(request, "", lang)
    choices = [("", t(lang, "全部人员", "everyone"))] + [(c, policy.category_label(c, lang)) for c in identities(policy)]
    context = {
        "values": values,
        "errors": errors,
        "choices": choices,
        "leaflet": made,
        "body": Markup(leaflets.render_body(made)),
        "query": f"?identity={made.identity}" if made.identity else "",
    }
    return render(request, "leaflet.html.j2", context, status_code=422 if errors else 200)


@router.get("/leaflet.pdf")
def leaflet_pdf(request: Request, who: Annotated[Principal, Depends(SIGNED_IN)]) -> Response:
    lang = page_lang(request)
    q = request.query_params
    try:
        paper = leaflets.paper_of(clean(q.get("paper"), 4) or "a4")
        made = _leaflet(request, clean(q.get("identity"), 40), lang)
    except InputError as e:
        return Response(error_text(e, lang), status_code=422, media_type="text/plain; charset=utf-8")
    name = f"leaflet-{made.pack_id}{'-' + made.identity if made.identity else ''}-{paper.lower()}.pdf"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(leaflets.render_pdf(made, paper), media_type="application/pdf", headers=headers)
