"""What a page's form sends: its text fields as typed and the file chosen in it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile


def clean(raw: object, limit: int = 64) -> str:
    """A form or query value as typed (NUL removed, trimmed, at most ``limit`` characters)."""
    return raw.replace("\x00", "").strip()[:limit] if isinstance(raw, str) else ""


@dataclass(frozen=True)
class Upload:
    """A file sent with a form: its name as sent and its bytes (at most one byte past the page's limit)."""

    name: str
    data: bytes
    too_large: bool


async def upload_in(form: FormData, limit: int, field: str = "file") -> Upload | None:
    """The file chosen in ``field`` (``None`` when none is), read up to ``limit`` bytes and one more to tell a larger one."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    return Upload(upload.filename, data, too_large=len(data) > limit)
