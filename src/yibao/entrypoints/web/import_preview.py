"""An uploaded bureau file waiting for the clerk's confirmation, and the preview of what importing it would do.

The upload is kept on the server in its own directory (a random token names it; only the clerk who
uploaded it may use it) until it is confirmed or cancelled, at most :data:`KEEP`. The preview runs the
import as a dry run: every bad cell (with the error workbook, bad cells in red) and the change report of
the good rows; nothing is written to the database.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from yibao.app.imports import ImportRefused, ImportReport, import_identities
from yibao.core.errors import InputError, InputErrors
from yibao.interfaces.workbooks.mapping import sources
from yibao.interfaces.workbooks.sheets import SheetLimits
from yibao.interfaces.workbooks.validate import CellError
from yibao.store.db import Database

ROOT = Path(tempfile.gettempdir()) / "yibao-web-imports"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
KEEP = 12 * 3600
"""Seconds an unconfirmed upload is kept."""
UNSAFE = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def bureaus() -> list[str]:
    """The bureaus whose files can be imported (民政, 乡村振兴, …), in the mapping's order."""
    return list(dict.fromkeys(sources().values()))


def safe_name(name: str) -> str:
    """The file's own name (no directories, no characters a file system refuses), at most 120 characters."""
    base = UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        return base[:120] or "upload"
    return f"{stem[: 119 - len(suffix)]}.{suffix.lower()}"


@dataclass(frozen=True)
class Pending:
    token: str
    user: str
    source: str
    file_name: str
    snapshot_as_of: str | None = None

    @property
    def directory(self) -> Path:
        return ROOT / self.token

    @property
    def path(self) -> Path:
        return self.directory / self.file_name

    @property
    def as_of(self) -> date | None:
        return date.fromisoformat(self.snapshot_as_of) if self.snapshot_as_of else None


def keep(user: str, source: str, file_name: str, data: bytes, snapshot_as_of: date | None) -> Pending:
    """Store an upload for ``user`` (and forget uploads older than :data:`KEEP`)."""
    _sweep()
    p = Pending(secrets.token_hex(16), user, source, safe_name(file_name), snapshot_as_of.isoformat() if snapshot_as_of else None)
    p.directory.mkdir(parents=True, mode=0o700)
    p.path.write_bytes(data)
    (p.directory / "pending.json").write_text(json.dumps(asdict(p), ensure_ascii=False), encoding="utf-8")
    return p


def find(token: str, user: str) -> Pending | None:
    """The upload ``token`` of ``user``; ``None`` when unknown, gone, or someone else's."""
    if not TOKEN.match(token):
        return None
    try:
        raw: dict[str, Any] = json.loads((ROOT / token / "pending.json").read_text(encoding="utf-8"))
        p = Pending(**raw)
    except (OSError, ValueError, TypeError):
        return None
    return p if p.user == user and p.token == token and p.path.is_file() else None


def drop(p: Pending) -> None:
    shutil.rmtree(p.directory, ignore_errors=True)


def _sweep() -> None:
    if not ROOT.is_dir():
        return
    cutoff = time.time() - KEEP
    for d in ROOT.iterdir():
        if d.is_dir() and TOKEN.match(d.name) and d.stat().st_mtime < cutoff:
            shutil.rmtree(d, ignore_errors=True)


def error_workbook(p: Pending) -> Path | None:
    """The error workbook of the preview (every bad cell, marked red in a copy of the sheet)."""
    path = p.directory / f"{p.path.stem}.errors.xlsx"
    return path if path.is_file() else None


@dataclass
class Preview:
    report: ImportReport | None
    """What the import would do with the good rows (``None``: nothing can be imported)."""
    cells: list[CellError] = field(default_factory=list)
    """Every bad cell: those rows are left out."""
    problems: list[str] = field(default_factory=list)
    """Why nothing can be imported (in the page's language)."""

    @property
    def can_import(self) -> bool:
        return self.report is not None and self.report.status == "dry_run"


def preview(db: Database, p: Pending, lang: str, limits: SheetLimits | None = None) -> Preview:
    """A dry run: the whole file first (every bad cell); when some are bad, the good rows only.

    ``limits``: a sheet declaring or holding more rows or cells is refused before it is read."""
    try:
        return Preview(_dry_run(db, p, skip_bad=False, limits=limits))
    except ImportRefused as e:
        cells = e.cells
    except (InputError, InputErrors) as e:
        return Preview(None, problems=e.render(lang).splitlines())
    try:
        return Preview(_dry_run(db, p, skip_bad=True, limits=limits), cells)
    except ImportRefused as e:
        reason = [c.reason if lang == "zh" else c.reason_en for c in e.cells if not c.row or c not in cells]
        return Preview(None, cells, problems=reason)


def _dry_run(db: Database, p: Pending, *, skip_bad: bool, limits: SheetLimits | None) -> ImportReport:
    return import_identities(
        db,
        p.path,
        p.source,
        skip_bad=skip_bad,
        snapshot_as_of=p.as_of,
        user=p.user,
        out_dir=p.directory,
        dry_run=True,
        limits=limits,
    )


def confirm(db: Database, p: Pending) -> ImportReport:
    """Import the good rows (``ImportRefused`` when there are none); the upload is dropped afterwards."""
    try:
        return import_identities(db, p.path, p.source, skip_bad=True, snapshot_as_of=p.as_of, user=p.user, out_dir=p.directory)
    finally:
        drop(p)
