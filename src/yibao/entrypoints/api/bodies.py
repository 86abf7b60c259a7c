"""Request bodies the OpenAPI document describes by hand: uploads the route reads from the form itself."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from yibao.core.errors import InputError


def binary(description: str) -> dict[str, Any]:
    """A file field of a multipart form."""
    return {"type": "string", "format": "binary", "description": description}


def multipart(required: list[str], properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``openapi_extra`` for a route that takes a multipart form with these fields."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


MAX_UPLOAD = 10 * 1024 * 1024
"""An uploaded workbook (a push list sent back, a budget template: a few thousand rows at most)."""


async def xlsx_upload(request: Request) -> tuple[str, bytes]:
    """A dependency: the name and bytes of the uploaded workbook (read on the event loop, at most :data:`MAX_UPLOAD`)."""
    try:
        form = await request.form()
    except Exception:  # starlette raises its own parse errors for a body that is not multipart
        raise InputError("request", "file", None, "multipart/form-data 上传的 .xlsx 文件（字段 `file`）") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("request", "file", upload, "multipart/form-data 上传的 .xlsx 文件（字段 `file`）")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        most = MAX_UPLOAD // 2**20
        expected = f"an .xlsx file of at most {most} MB"
        raise InputError("request", "file", upload.filename, expected, expected_zh=f"不超过 {most} 兆字节的 .xlsx 文件")
    return upload.filename or "upload.xlsx", data
