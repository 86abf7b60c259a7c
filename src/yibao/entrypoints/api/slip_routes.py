"""The settlement slip (一单制结算单) as a printable page and as a one-page PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AfterValidator

from yibao.app import slips
from yibao.app.auth import Principal
from yibao.app.schemas import no_nul
from yibao.app.settlements import slip_of
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.downloads import slip_pdf_response
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of, pack_of

router = APIRouter(tags=["settlement"], responses=refusals(401, 403, 404))
SetlId = Annotated[str, Path(description="结算ID"), AfterValidator(no_nul)]


# the PDF route first: "{setl_id}" alone would also match "S….pdf"
@router.get("/slips/{setl_id}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def slip_pdf(request: Request, setl_id: SetlId, who: Annotated[Principal, Depends(require("settle.read"))]) -> Response:
    """结算单 PDF（A4 一页）/ the settlement slip as a one-page A4 PDF."""
    return slip_pdf_response(slip_of(db_of(request), pack_of(request), setl_id, who))


@router.get("/slips/{setl_id}", response_class=Response, responses={200: {"content": {"text/html": {}}}})
def slip_html(request: Request, setl_id: SetlId, who: Annotated[Principal, Depends(require("settle.read"))]) -> HTMLResponse:
    """结算单（可打印网页，A4 一页）/ the settlement slip as a printable page."""
    return HTMLResponse(slips.render_html(slip_of(db_of(request), pack_of(request), setl_id, who)))
