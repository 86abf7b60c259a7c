"""Files attached to a 疑点 (an institution's appeal evidence): what kind of file it really is, judged by its
bytes and not by the name or the type the sender claimed, and a file name safe to store and send back."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from yibao.core.errors import InputError

KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    "txt": ("text/plain; charset=utf-8", (".txt",)),
}
"""The kinds of file an appeal may carry: media type and the file name endings of each."""
EXPECTED = "PDF 文件、图片（PNG 或 .jpg）、文档（.docx）、Excel 表格（.xlsx）或 UTF-8 文本文件"
EXPECTED_EN = "a PDF, PNG or JPEG image, Word (.docx), Excel (.xlsx) or UTF-8 text file"
NAME_MAX = 100
_UNSAFE = re.compile(r"[^\w\u3400-\u9fff.()（）\- ]+")


@dataclass(frozen=True)
class FileIn:
    """A file as it was sent: its name and its bytes."""

    name: str
    data: bytes


def _office(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    return None


def _text(data: bytes) -> bool:
    """UTF-8 text without control characters (but tabs, line and page breaks): not a program that happens to decode."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text)


def sniff(data: bytes) -> str | None:
    """The kind of file ``data`` is (a key of :data:`KINDS`), or ``None`` for one an appeal may not carry."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _office(data)
    return "txt" if data and _text(data) else None


def safe_name(name: str, kind: str) -> str:
    """``name`` without any folder, control character or character unsafe in a file name, at most
    :data:`NAME_MAX` characters, ending as a ``kind`` file does (the ending added when it does not)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" ._") or "附件"
    endings = KINDS[kind][1]
    stem, dot, ext = base.rpartition(".")
    if not dot or "." + ext.lower() not in endings:
        stem, ext = base, endings[0][1:]
    stem = stem[: NAME_MAX - len(ext) - 1].rstrip(" .") or "附件"
    return f"{stem}.{ext}"


def checked_file(file: FileIn, limit: int, where: str) -> tuple[str, str]:
    """(safe name, media type) of a file an appeal may carry; ``InputError`` for an empty, too large or other file."""
    if not file.data:
        raise InputError(where, "file", file.name, "非空文件", expected_en="a file that is not empty")
    if len(file.data) > limit:
        most = f"{limit / 2**20:.1f}".rstrip("0").rstrip(".")
        raise InputError(where, "file", file.name, f"不超过 {most} 兆字节的文件", expected_en=f"a file of at most {most} MB")
    kind = sniff(file.data)
    if kind is None:
        raise InputError(where, "file", file.name, EXPECTED, expected_en=EXPECTED_EN)
    return safe_name(file.name, kind), KINDS[kind][0]
