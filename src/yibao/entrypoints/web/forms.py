"""What a page's form sends: its text fields as typed and the file chosen in it.

A page's POST handler is a plain ``def`` (FastAPI runs it in its thread pool, so its database and
file work never holds up other requests); it takes the parsed form as :data:`Posted`, a dependency
that reads the body on the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile


def clean(raw: object, limit: int = 64) -> str:
    """A form or query value as typed (NUL removed, trimmed, at most ``limit`` characters)."""
    return raw.replace("\x00", "").strip()[:limit] if isinstance(raw, str) else ""


async def posted_form(request: Request) -> FormData:
    """A dependency: the form the page posted (read once; the CSRF check has usually read it already)."""
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True)
class Upload:
    """A file sent with a form: its name as sent and its bytes (at most one byte past the page's limit)."""

    name: str
    data: bytes
    too_large: bool


def upload_in(form: FormData, limit: int, field: str = "file") -> Upload | None:
    """The file chosen in ``field`` (``None`` when none is), read up to ``limit`` bytes and one more to tell a larger one.

    Reads the parsed form's spooled file: call it from a handler that runs in the thread pool."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    upload.file.seek(0)
    data = upload.file.read(limit + 1)
    return Upload(upload.filename, data, too_large=len(data) > limit)


IDEM = re.compile(r"^[0-9a-f]{24}$")
"""A form's once-only key (the page draws it when shown)."""
MAX_REASON = 255
"""The longest reversal reason, in characters."""


def reversal_form(reason: str, idem: str, t: Callable[[str, str], str]) -> tuple[str, str]:
    """A reversal form's reason as kept (NUL taken out, trimmed) and what is wrong with the form ("" if nothing)."""
    reason = reason.replace("\x00", "").strip()
    if not reason:
        return reason, t("请填写撤销原因", "Enter the reason for the reversal")
    if len(reason) > MAX_REASON:
        return reason, t("至多 255 个字", "At most 255 characters")
    if not IDEM.match(idem):
        return reason, t("页面已过期，请刷新后重试", "The page expired; reload it")
    return reason, ""
