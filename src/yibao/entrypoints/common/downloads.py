"""A file to download over HTTP: its media type and a Content-Disposition that keeps a Chinese file name."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(data: bytes, name: str, media_type: str = XLSX, *, ascii_name: str = "", no_store: bool = False) -> Response:
    """``data`` as an attachment named ``name`` (UTF-8), with ``ascii_name`` for old clients if given."""
    disposition = "attachment; " + (f'filename="{ascii_name}"; ' if ascii_name else "") + f"filename*=UTF-8''{quote(name)}"
    headers = {"Content-Disposition": disposition} | ({"Cache-Control": "no-store"} if no_store else {})
    return Response(data, media_type=media_type, headers=headers)
