"""The settlement slip (一单制结算单) as a printable page and as a one-page PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from yibao.app import slips
from yibao.app.auth import Principal
from yibao.core.errors import NotFound
from yibao.entrypoints.common.security import require
from yibao.policy.pack import PolicyPack
from yibao.store.db import Database

router = APIRouter(tags=["settlement"])


def slip_for(request: Request, setl_id: str, who: Principal) -> slips.Slip:
    db: Database = request.app.state.db
    pack: PolicyPack = request.app.state.pack
    if not 1 <= len(setl_id) <= 40:
        raise NotFound("slip", "setl_id", setl_id[:40], "a settlement id in the ledger")
    with db.unit_of_work() as s:
        slip = slips.build_slip(s, setl_id, pack)
        s.rollback()
    if who.role == "institution" and slip.fixmedins_code != who.fixmedins_code:
        raise NotFound("slip", "setl_id", setl_id, "a settlement of your own institution")
    return slip


# the PDF route first: "{setl_id}" alone would also match "S….pdf"
@router.get("/slips/{setl_id}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def slip_pdf(request: Request, setl_id: str, who: Annotated[Principal, Depends(require("settle.read"))]) -> Response:
    """结算单 PDF（A4 一页）/ the settlement slip as a one-page A4 PDF."""
    slip = slip_for(request, setl_id, who)
    return Response(
        slips.render_pdf(slip),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="slip-{slip.setl_id}.pdf"'},
    )


@router.get("/slips/{setl_id}", response_class=HTMLResponse)
def slip_html(request: Request, setl_id: str, who: Annotated[Principal, Depends(require("settle.read"))]) -> HTMLResponse:
    """结算单（可打印网页，A4 一页）/ the settlement slip as a printable page."""
    return HTMLResponse(slips.render_html(slip_for(request, setl_id, who)))
