"""A file to download over HTTP: its media type and a Content-Disposition that keeps a Chinese file name;
a settlement slip's PDF, shown in the browser."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from yibao.app.slips import Slip, render_pdf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(name: str, *, ascii_name: str = "", no_store: bool = False) -> dict[str, str]:
    """The headers of an attachment named ``name`` (UTF-8), with ``ascii_name`` for old clients if given."""
    disposition = "attachment; " + (f'filename="{ascii_name}"; ' if ascii_name else "") + f"filename*=UTF-8''{quote(name)}"
    return {"Content-Disposition": disposition} | ({"Cache-Control": "no-store"} if no_store else {})


def download(data: bytes, name: str, media_type: str = XLSX, *, ascii_name: str = "", no_store: bool = False) -> Response:
    """``data`` as an attachment named ``name`` (:func:`attachment`)."""
    return Response(data, media_type=media_type, headers=attachment(name, ascii_name=ascii_name, no_store=no_store))


def slip_pdf_response(slip: Slip) -> Response:
    """The settlement slip as its one-page PDF, shown in the browser (``slip-<setl_id>.pdf`` when saved)."""
    headers = {"Content-Disposition": f'inline; filename="slip-{slip.setl_id}.pdf"'}
    return Response(render_pdf(slip), media_type="application/pdf", headers=headers)
