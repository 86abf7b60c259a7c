"""Importing the bureau's knowledge workbook (知识库): one :class:`KnowledgeImport` per sheet, all in one transaction.

An imported table replaces the pack's table of the same name for every audit from then on
(:func:`yibao.app.audit_pack.pack_in_force`); tables the workbook leaves out keep what they had. The rows are
stored as the workbook wrote them (checked), so the pack in force parses them exactly as the import did.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.audit_pack import base_pack
from yibao.app.audit_rules import check_role
from yibao.audit import knowledge as kn
from yibao.interfaces.workbooks.audit_knowledge import read_workbook
from yibao.interfaces.workbooks.sheets import SheetLimits
from yibao.policy.pack import PolicyPack
from yibao.store.audit_tables import KnowledgeImport


@dataclass(frozen=True)
class Imported:
    table: str
    sheet: str
    rows: int
    import_id: int


def import_workbook(
    s: Session,
    path: Path,
    *,
    by: str,
    role: str,
    filename: str | None = None,
    limits: SheetLimits | None = None,
) -> list[Imported]:
    """Check every sheet of the workbook, then record each table (nothing is recorded if any row is bad).

    ``InputError``/``InputErrors`` name the file, sheet, row, column and value; :class:`NotPermitted` for a role
    without ``audit.rules``. The caller commits."""
    check_role(role)
    name = filename or path.name
    found = read_workbook(path, limits, name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    now = datetime.now(UTC)
    out = []
    for sheet in found:
        row = KnowledgeImport(
            table_name=sheet.table,
            rows=json.dumps(list(sheet.rows), ensure_ascii=False),
            row_count=len(sheet.rows),
            filename=name[:255],
            sha256=digest,
            recorded_at=now,
            recorded_by=by,
        )
        s.add(row)
        s.flush()
        out.append(Imported(sheet.table, sheet.sheet, len(sheet.rows), row.id))
    return out


def tables(s: Session, policy: PolicyPack | None = None) -> list[dict[str, Any]]:
    """Each knowledge table: its rows in the pack file, and its latest import (which is in force) if any."""
    pack_rows = base_pack(policy).knowledge.rows
    latest: dict[str, KnowledgeImport] = {
        i.table_name: i for i in s.scalars(sa.select(KnowledgeImport).order_by(KnowledgeImport.id))
    }
    out = []
    for table in kn.TABLES.values():
        imp = latest.get(table.name)
        out.append(
            {
                "table": table.name,
                "zh": table.zh,
                "en": table.en,
                "pack_rows": len(pack_rows.get(table.name, ())),
                "rows_in_force": imp.row_count if imp else len(pack_rows.get(table.name, ())),
                "import": import_dict(imp) if imp else None,
            }
        )
    return out


def import_dict(i: KnowledgeImport) -> dict[str, Any]:
    at = i.recorded_at if i.recorded_at.tzinfo else i.recorded_at.replace(tzinfo=UTC)
    return {
        "id": i.id,
        "table": i.table_name,
        "rows": i.row_count,
        "filename": i.filename,
        "sha256": i.sha256,
        "recorded_at": at.isoformat(),
        "recorded_by": i.recorded_by,
    }


def recent(s: Session, limit: int = 20) -> list[KnowledgeImport]:
    return list(s.scalars(sa.select(KnowledgeImport).order_by(KnowledgeImport.id.desc()).limit(limit)))
