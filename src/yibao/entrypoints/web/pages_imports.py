"""Identity imports from other bureaus: upload a workbook, see the validation and the change report (nothing
written yet), then confirm (the good rows are imported) or cancel; earlier imports and their reports."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from yibao.app.auth import Principal
from yibao.app.imports import KIND, ImportRefused, batch_change_count, batch_changes, changes_file, report_changes
from yibao.core import i18n
from yibao.core.errors import NotFound
from yibao.core.vocab import IMPORT_CHANGES, SOURCES, label
from yibao.entrypoints.common.downloads import XLSX, attachment, download
from yibao.entrypoints.web import import_preview as up
from yibao.entrypoints.web.deps import db_of, limits_of, sheet_limits
from yibao.entrypoints.web.forms import Posted, clean, upload_in
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.interfaces.workbooks.import_changes import after_text
from yibao.store.tables import ImportBatch

router = APIRouter()

IMPORTS = page_user("imports")
REPORT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("rows_read", "读取行数", "rows read"),
    ("rows_accepted", "可导入行数", "rows accepted"),
    ("rows_rejected", "拒绝行数（有错，不导入）", "rows rejected (bad, left out)"),
    ("rows_duplicate", "重复行（与前行完全相同，已忽略）", "duplicate rows (ignored)"),
    ("rows_skipped", "非身份类别行（按映射跳过）", "rows skipped by the mapping"),
    ("people_new", "新增人员", "people new"),
    ("people_updated", "补全人员信息（乡镇、村、户编号）", "people with place filled in"),
    ("identities_added", "身份新增", "identities added"),
    ("identities_ended", "身份结束", "identities ended"),
    ("ended_by_snapshot", "其中：完整名册中缺失而结束", "of which missing from the full roster"),
    ("identities_changed", "身份变更（旧记录截止，新记录开始）", "identities changed (old ended, new started)"),
    ("identities_unchanged", "身份不变", "identities unchanged"),
    ("conflicts", "疑似同人异号（待核查，未合并）", "conflicts: same person, other ID (for review)"),
)
CHANGES_SHOWN = 200
"""Named changes listed on the page (all of them in the workbook)."""
OPTIONAL_ROWS = ("rows_rejected", "rows_duplicate", "rows_skipped", "ended_by_snapshot", "people_updated", "conflicts")


def megabytes(n: int) -> str:
    """A byte limit as the page says it: ``50`` for 50 MB, ``0.5`` for half of one."""
    return f"{n / 2**20:g}"


def report_rows(report: dict[str, Any], lang: str) -> list[tuple[str, str, int]]:
    """The change report as (key, label, count) rows."""
    n = {key: int(report.get(key) or 0) for key, _, _ in REPORT_ROWS}
    counts = n | {"rows_accepted": n["rows_read"] - n["rows_rejected"] - n["rows_duplicate"] - n["rows_skipped"]}
    return [(key, i18n.t(lang, zh, en), counts[key]) for key, zh, en in REPORT_ROWS]


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, who: Annotated[Principal, Depends(IMPORTS)]) -> HTMLResponse:
    t = translator(page_lang(request))
    q = request.query_params
    batch = q.get("batch", "")
    notice = t("已取消，未导入任何数据。", "Cancelled; nothing was imported.") if q.get("cancelled") else ""
    return _page(request, batch=int(batch) if batch.isdigit() and len(batch) < 10 else None, notice=notice)


@router.post("/imports/preview", response_class=HTMLResponse)
def preview(request: Request, who: Annotated[Principal, Depends(IMPORTS)], form: Posted) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    values = {"source": clean(form.get("source"), 32), "snapshot_as_of": clean(form.get("snapshot_as_of"), 10)}
    errors: dict[str, str] = {}
    if values["source"] not in up.bureaus():
        errors["source"] = t("请选择来源部门", "Choose the bureau the file comes from")
    as_of = None
    if values["snapshot_as_of"]:
        try:
            as_of = date.fromisoformat(values["snapshot_as_of"])
        except ValueError:
            errors["snapshot_as_of"] = t("应为日期 YYYY-MM-DD，如 2022-06-30", "A date YYYY-MM-DD, e.g. 2022-06-30")
    most = limits_of(request).upload_bytes
    file = upload_in(form, most)
    if file is None or not file.data:
        errors["file"] = t("请选择部门报送的 .xlsx 或 .csv 文件", "Choose the bureau's .xlsx or .csv file")
    elif file.too_large:
        errors["file"] = t(f"文件过大（至多 {megabytes(most)} MB）", f"The file is too large ({megabytes(most)} MB at most)")
    if file is None or errors:
        return _page(request, values=values, errors=errors, status_code=422)
    pending = up.keep(who.username, values["source"], file.name, file.data, as_of)
    result = up.preview(db_of(request), pending, lang, sheet_limits(request))
    refused = 200 if result.can_import else 422  # the file refused whole: nothing can be imported
    if not result.can_import and up.error_workbook(pending) is None:  # nothing to confirm or download
        up.drop(pending)
        return _page(request, values=values, result=result, status_code=refused)
    return _page(request, values=values, pending=pending, result=result, status_code=refused)


@router.post("/imports/{token}/confirm", response_class=HTMLResponse)
def confirm(request: Request, token: str, who: Annotated[Principal, Depends(IMPORTS)]) -> Response:
    pending = up.find(token, who.username)
    if pending is None:
        return _gone(request)
    try:
        report = up.confirm(db_of(request), pending)
    except ImportRefused as e:
        lang = page_lang(request)
        problems = [c.reason if lang == "zh" else c.reason_en for c in e.cells]
        return _page(request, errors={"file": "；".join(problems[:5])}, status_code=422)
    return RedirectResponse(f"/imports?batch={report.batch_id}", status_code=303)


@router.post("/imports/{token}/cancel")
def cancel(request: Request, token: str, who: Annotated[Principal, Depends(IMPORTS)]) -> Response:
    pending = up.find(token, who.username)
    if pending is not None:
        up.drop(pending)
    return RedirectResponse("/imports?cancelled=1", status_code=303)


@router.get("/imports/{token}/errors.xlsx", response_model=None)
def error_workbook(request: Request, token: str, who: Annotated[Principal, Depends(IMPORTS)]) -> Response:
    pending = up.find(token, who.username)
    path = up.error_workbook(pending) if pending else None
    if pending is None or path is None:
        return _gone(request)
    return FileResponse(path, media_type=XLSX, headers=attachment(path.name, no_store=True))


@router.get("/imports/{batch_id}/changes.xlsx", response_model=None)
def changes_workbook(
    request: Request, batch_id: Annotated[int, Path(ge=1, le=2**31 - 1)], who: Annotated[Principal, Depends(IMPORTS)]
) -> Response:
    """The batch's named change report as a workbook."""
    lang = page_lang(request)
    try:
        with db_of(request).reading() as s:
            name, data = changes_file(s, batch_id, lang)
    except NotFound:
        t = translator(lang)
        return render(
            request, "not_found.html.j2", {"what": t("导入批次", "import batch"), "key": str(batch_id)}, status_code=404
        )
    return download(data, name, ascii_name=f"import-changes-{batch_id}.xlsx", no_store=True)


def _gone(request: Request) -> HTMLResponse:
    t = translator(page_lang(request))
    what = t("待确认的导入（已确认、已取消或已过期）", "pending import (confirmed, cancelled or expired)")
    return render(request, "not_found.html.j2", {"what": what, "key": "—"}, status_code=404)


def _page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    pending: up.Pending | None = None,
    result: up.Preview | None = None,
    batch: int | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        recent = list(s.scalars(sa.select(ImportBatch).where(ImportBatch.kind == KIND).order_by(ImportBatch.id.desc()).limit(10)))
        shown = s.get(ImportBatch, batch) if batch is not None else None
        shown = shown if shown is not None and shown.kind == KIND else None
        if shown is not None:
            changes, changes_total = batch_changes(s, shown.id, CHANGES_SHOWN), batch_change_count(s, shown.id)
        s.expunge_all()
    if result and result.report:
        changes = report_changes(result.report, CHANGES_SHOWN)
        changes_total = result.report.changes.height if result.report.changes is not None else 0
    elif shown is None:
        changes, changes_total = [], 0
    report = result.report.as_dict() if result and result.report else json.loads(shown.report) if shown else None
    context: dict[str, Any] = {
        "values": values or {"source": "", "snapshot_as_of": ""},
        "errors": errors or {},
        "bureaus": [("", translator(lang)("（请选择）", "(choose)"))] + [(b, label(SOURCES, b, lang)) for b in up.bureaus()],
        "pending": pending,
        "result": result,
        "error_file": up.error_workbook(pending) if pending else None,
        "batch": shown,
        "report": report,
        "report_rows": report_rows(report, lang) if report else [],
        "optional_rows": OPTIONAL_ROWS,
        "recent": recent,
        "notice": notice,
        "changes": changes,
        "changes_total": changes_total,
        "change_label": lambda code: label(IMPORT_CHANGES, code, lang),
        "after_text": lambda change, after: after_text(change, after, lang),
    }
    return render(request, "imports.html.j2", context, status_code=status_code)
