"""The auditor's rule library (规则库): every rule in force with its source and parameters, one rule's page with
its change form (on/off, parameters, reason) and history; the knowledge workbook's upload and template."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import audit_knowledge, audit_rules
from yibao.app.auth import Principal
from yibao.core.errors import InputError, InputErrors, NotFound
from yibao.core.i18n import t as say
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web.deps import db_of, limits_of, pack_of, sheet_limits
from yibao.entrypoints.web.forms import Posted, clean, upload_in
from yibao.entrypoints.web.pages_imports import megabytes
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.interfaces.workbooks.audit_knowledge import template_bytes
from yibao.interfaces.workbooks.sheets import SheetRefused

router = APIRouter()
AUDITOR = page_user(audit_rules.PERMISSION)
CODE_MAX = 16
SHOWN_ERRORS = 50
"""At most this many bad rows are listed on the page (the count says how many there are)."""


def _row(view: audit_rules.RuleView, lang: str) -> dict[str, Any]:
    c = view.last_change
    return {
        "view": view,
        "said": audit_rules.labels(view, lang),
        "params": [
            {
                "name": p.name,
                "label": audit_rules.param_label(p.name, lang),
                "value": p.value,
                "pack_value": p.pack_value,
                "provenance": audit_rules.provenance_parts(p.pack_provenance, lang),
                "changed": p.changed,
            }
            for p in view.params
        ],
        "provenance": audit_rules.provenance_parts(view.rule.provenance, lang),
        "changed_by": c.recorded_by if c is not None else "",
        "changed_at": c.recorded_at if c is not None else None,
    }


@router.get("/audit/rules", response_class=HTMLResponse)
def rules_page(request: Request, who: Annotated[Principal, Depends(AUDITOR)]) -> HTMLResponse:
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        rows = [_row(v, lang) for v in audit_rules.rules(s, pack_of(request))]
        changes = audit_rules.history(s, limit=10)
        s.expunge_all()
    off = sum(1 for r in rows if not r["view"].rule.enabled)
    context = {"rows": rows, "changes": changes, "off": off, "params_text": lambda c: audit_rules.params_text(c, lang)}
    return render(request, "audit_rules.html.j2", context)


def _not_found(request: Request, code: str) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t("审核规则", "audit rule"), "key": code}, status_code=404)


def _rule_page(
    request: Request,
    code: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    try:
        with db_of(request).unit_of_work() as s:
            row = _row(audit_rules.rule(s, code, pack_of(request)), lang)
            changes = audit_rules.history(s, code)
            s.expunge_all()
    except NotFound:
        return _not_found(request, code)
    shown = values or {
        "enabled": "on" if row["view"].rule.enabled else "off",
        **{f"param_{p['name']}": str(p["value"]) for p in row["params"]},
        "reason": "",
    }
    context = {
        "row": row, "changes": changes, "values": shown, "errors": errors or {}, "notice": notice,
        "params_text": lambda c: audit_rules.params_text(c, lang),
    }  # fmt: skip
    return render(request, "audit_rule.html.j2", context, status_code=status_code)


@router.get("/audit/rules/{code}", response_class=HTMLResponse)
def rule_page(request: Request, code: str, who: Annotated[Principal, Depends(AUDITOR)]) -> HTMLResponse:
    code = clean(code, CODE_MAX)
    t = translator(page_lang(request))
    notice = t("已保存，变更已记录。", "Saved; the change is recorded.") if request.query_params.get("saved") else ""
    return _rule_page(request, code, notice=notice)


@router.post("/audit/rules/{code}", response_class=HTMLResponse)
def change_rule(request: Request, code: str, who: Annotated[Principal, Depends(AUDITOR)], form: Posted) -> Response:
    """Switch the rule and set its parameters as the form says; refused values are shown beside their fields."""
    code = clean(code, CODE_MAX)
    lang = page_lang(request)
    values = {k: clean(v, 500 if k == "reason" else 32) for k, v in form.items() if k != "csrf" and isinstance(v, str)}
    seen = values.pop("based_on", "")
    enabled = {"on": True, "off": False}.get(values.get("enabled", ""))
    params = {k.removeprefix("param_"): v for k, v in values.items() if k.startswith("param_")}
    try:
        with db_of(request).unit_of_work() as s:
            audit_rules.change_rule(
                s, code, enabled=enabled, params=params, reason=values.get("reason", ""), by=who.username, role=who.role,
                policy=pack_of(request), based_on=int(seen) if seen.isdigit() and len(seen) < 10 else None,
            )  # fmt: skip
            s.commit()
    except NotFound:
        return _not_found(request, code)
    except InputError as e:
        where = f"param_{e.field.removeprefix('params.')}" if e.field.startswith("params.") else e.field
        key = where if where in values or where == "reason" else "form"
        said = say(lang, "应为：", "expected ") + e.expected_in(lang)
        text = e.render(lang) if key == "form" else f"{e.value!r}：{said}" if lang == "zh" else f"{e.value!r}: {said}"
        return _rule_page(request, code, values=values, errors={key: text}, status_code=422)
    return RedirectResponse(f"/audit/rules/{code}?saved=1", status_code=303)


# ------------------------------------------------------------------ the knowledge workbook


def _knowledge_page(
    request: Request, *, problems: list[str] | None = None, total: int = 0, notice: str = "", status_code: int = 200
) -> HTMLResponse:
    with db_of(request).unit_of_work() as s:
        tables = audit_knowledge.tables(s, pack_of(request))
        recent = audit_knowledge.recent(s)
        s.expunge_all()
    context = {
        "tables": tables,
        "recent": recent,
        "problems": problems or [],
        "total": total,
        "notice": notice,
    }
    return render(request, "audit_knowledge.html.j2", context, status_code=status_code)


@router.get("/audit/knowledge", response_class=HTMLResponse)
def knowledge_page(request: Request, who: Annotated[Principal, Depends(AUDITOR)]) -> HTMLResponse:
    n = request.query_params.get("imported", "")
    t = translator(page_lang(request))
    notice = (
        t(f"已导入 {n} 张表，审核即时使用新表。", f"{n} tables imported; audits use them from now on.") if n.isdigit() else ""
    )
    return _knowledge_page(request, notice=notice[:200])


@router.get("/audit/knowledge/template.xlsx", response_model=None)
def knowledge_template(request: Request, who: Annotated[Principal, Depends(AUDITOR)]) -> Response:
    return download(template_bytes(), "知识库导入模板.xlsx", ascii_name="audit-knowledge-template.xlsx")


@router.post("/audit/knowledge", response_class=HTMLResponse)
def knowledge_upload(request: Request, who: Annotated[Principal, Depends(AUDITOR)], form: Posted) -> Response:
    """Import the workbook: every sheet checked, all recorded at once, or nothing and every bad row listed."""
    lang = page_lang(request)
    t = translator(lang)
    most = limits_of(request).upload_bytes
    file = upload_in(form, most)
    if file is None or not file.data:
        return _knowledge_page(
            request, problems=[t("请选择知识库工作簿（.xlsx）", "Choose the knowledge workbook (.xlsx)")], status_code=422
        )
    if file.too_large:
        problem = t(f"文件过大（至多 {megabytes(most)} MB）", f"The file is too large ({megabytes(most)} MB at most)")
        return _knowledge_page(request, problems=[problem], status_code=422)
    with tempfile.TemporaryDirectory(prefix="yibao-knowledge-") as tmp:
        path = Path(tmp) / "upload.xlsx"
        path.write_bytes(file.data)
        try:
            with db_of(request).unit_of_work() as s:
                done = audit_knowledge.import_workbook(
                    s, path, by=who.username, role=who.role, filename=file.name, limits=sheet_limits(request)
                )
                s.commit()
        except (InputError, InputErrors) as e:
            errors = e.errors if isinstance(e, InputErrors) else [e]
            shown = [x.render(lang) for x in errors[:SHOWN_ERRORS]]
            return _knowledge_page(request, problems=shown, total=len(errors), status_code=422)
        except SheetRefused as e:
            return _knowledge_page(request, problems=[t(p.reason, p.reason_en) for p in e.problems], status_code=422)
    return RedirectResponse(f"/audit/knowledge?imported={len(done)}", status_code=303)
