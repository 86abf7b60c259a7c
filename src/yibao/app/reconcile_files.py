"""3202 对明细账 from a file: the hospital's list as a workbook or CSV, checked row by row (every bad row named by
file, sheet, row, field and value), then reconciled against the ledger (:func:`yibao.app.reconcile.reconcile_detail`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yibao.app import reconcile
from yibao.core.errors import InputError, InputErrors
from yibao.interfaces.workbooks.his_detail import read_detail
from yibao.interfaces.workbooks.sheets import SheetLimits


def his_records(path: Path, limits: SheetLimits | None = None, name: str | None = None) -> list[reconcile.HisRecord]:
    """The file's settlements; ``InputErrors`` naming every bad row (its row as Excel shows it)."""
    where, rows = read_detail(path, limits, name)
    errors: list[InputError] = []
    for rec in rows:
        try:
            reconcile.parse_records([rec.values], "detail")
        except InputErrors as e:
            errors.extend(replace(x, where=f"{where} row {rec.row}") for x in e.errors)
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    return reconcile.parse_records([r.values for r in rows], where)


def reconcile_file(
    s: Session, scope: reconcile.Scope, path: Path, limits: SheetLimits | None = None, name: str | None = None
) -> dict[str, Any]:
    """The 3202 answer (:func:`yibao.app.reconcile.detail_output`) for the hospital's list in ``path``."""
    return reconcile.detail_output(reconcile.reconcile_detail(s, scope, his_records(path, limits, name)))
