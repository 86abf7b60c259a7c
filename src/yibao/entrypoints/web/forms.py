"""What a page's form sends: its text fields as typed and the file chosen in it.

A page's POST handler is a plain ``def`` (FastAPI runs it in its thread pool, so its database and
file work never holds up other requests); it takes the parsed form as :data:`Posted`, a dependency
that reads the body on the event loop.
"""

from __future__ import annotations

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
