"""Reconciliation and ledger verification in the window (auditor, admin): 3201 对总账 (the ledger's totals of an
institution's period by 险种 and 清算类别, beside the hospital's if given), 3202 对明细账 (the hospital's list
uploaded and compared settlement by settlement, every difference named) and the ledger's verification (every
person-year's accumulators recomputed from the ledger; visits paid twice)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yibao.app import reconcile
from yibao.app.auth import Principal
from yibao.app.reconcile_files import (
    daily_workbook,
    differences_workbook,
    recent_runs,
    reconcile_file,
    record_run,
    verification,
    verification_workbook,
)
from yibao.core.errors import InputError, InputErrors, NotFound
from yibao.core.i18n import t as say
from yibao.core.vocab import INSUTYPES, MED_TYPES, label
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web.deps import db_of, limits_of, sheet_limits
from yibao.entrypoints.web.forms import Posted, clean, upload_in
from yibao.entrypoints.web.pages_imports import megabytes
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.interfaces.workbooks.his_detail import template_bytes
from yibao.interfaces.workbooks.sheets import SheetRefused
from yibao.store.service_tables import Institution, LedgerEntry, ReconcileRun, YearToDateRow

router = APIRouter()
RECONCILER = page_user("reconcile")
VERIFIER = page_user("ledger.verify")
SCOPE_FIELDS = ("fixmedins_code", "begin", "end", "insutype", "clr_type")
HIS_TOTALS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "fixmedins_setl_cnt")
SHOWN_ERRORS = 50


def _choices(s: Session, lang: str) -> dict[str, list[tuple[str, str]]]:
    t = translator(lang)
    insts = s.execute(sa.select(Institution.fixmedins_code, Institution.fixmedins_name).order_by(Institution.fixmedins_code))
    return {
        "institutions": [("", t("（请选择）", "(choose)"))] + [(c, f"{c} {n}") for c, n in insts],
        "insutypes": [("", t("全部", "all"))] + [(k, f"{k} {label(INSUTYPES, k, lang)}") for k in ("390", "310")],
        "clr_types": [("", t("全部", "all"))] + [(k, f"{k} {label(MED_TYPES, k, lang)}") for k in MED_TYPES],
    }


def _scope_values(source: Any) -> dict[str, str]:
    return {k: clean(source.get(k), 32) for k in SCOPE_FIELDS}


def _error_of(e: InputError, lang: str) -> str:
    return say(lang, "应为：", "expected ") + e.expected_in(lang)


def _scope(s: Session, values: dict[str, str], errors: dict[str, str], lang: str) -> reconcile.Scope | None:
    try:
        return reconcile.parse_scope(s, values["fixmedins_code"], values, "reconcile", "begin", "end")
    except InputError as e:
        errors[e.field if e.field in SCOPE_FIELDS else "form"] = _error_of(e, lang)
        return None


def _institution_name(s: Session, code: str) -> str:
    inst = s.get(Institution, code)
    return inst.fixmedins_name if inst else ""


# ------------------------------------------------------------------ 3201 totals


def _his_totals(values: dict[str, str], errors: dict[str, str], lang: str) -> reconcile.Totals | None:
    """The hospital's totals when the form gives them (all but 个人账户 needed), else ``None``."""
    given = {k: values[f"his_{k}"] for k in HIS_TOTALS if values.get(f"his_{k}")}
    if not given:
        return None
    parsed: dict[str, int] = {}
    for k in HIS_TOTALS:
        raw = given.get(k, "0" if k == "acct_pay" else None)
        try:
            parse = reconcile.parse_count if k == "fixmedins_setl_cnt" else reconcile.parse_amount
            parsed[k] = parse(raw, "reconcile", k)
        except InputError as e:
            errors[f"his_{k}"] = _error_of(e, lang)
    if errors:
        return None
    return reconcile.Totals(
        parsed["medfee_sumamt"], parsed["fund_pay_sumamt"], parsed["acct_pay"], 0, parsed["fixmedins_setl_cnt"]
    )


@router.get("/reconcile", response_class=HTMLResponse)
def totals_page(request: Request, who: Annotated[Principal, Depends(RECONCILER)]) -> HTMLResponse:
    """对总账: the form, and with an institution and period chosen the ledger's totals (and the comparison)."""
    lang = page_lang(request)
    q = request.query_params
    values = _scope_values(q) | {f"his_{k}": clean(q.get(f"his_{k}"), 24) for k in HIS_TOTALS}
    errors: dict[str, str] = {}
    result: dict[str, Any] | None = None
    with db_of(request).unit_of_work() as s:
        choices = _choices(s, lang)
        if values["fixmedins_code"] or values["begin"]:
            scope = _scope(s, values, errors, lang)
            his = _his_totals(values, errors, lang)
            if scope is not None and not errors:
                groups = reconcile.ledger_totals(s, scope)
                ours = reconcile.total(groups.values())
                result = {
                    "name": _institution_name(s, scope.fixmedins_code),
                    "groups": [{"insutype": k[0], "clr_type": k[1], "totals": v} for k, v in groups.items()],
                    "total": ours,
                    "compared": reconcile.totals_output(scope, his, ours, None)["stmtinfo"] if his else None,
                }
    status = 422 if errors else 200
    context = {"tab": "totals", "values": values, "errors": errors, "result": result, **choices}
    return render(request, "reconcile_totals.html.j2", context, status_code=status)


# ------------------------------------------------------------------ the platform's totals per institution and day


def _daily(request: Request, lang: str) -> tuple[dict[str, str], dict[str, str], list[Any] | None, dict[str, str]]:
    """The form's values, its errors, the rows (when a period is given) and the institutions' names."""
    q = request.query_params
    values = {k: clean(q.get(k), 32) for k in ("fixmedins_code", "begin", "end")}
    errors: dict[str, str] = {}
    rows: list[Any] | None = None
    with db_of(request).unit_of_work() as s:
        names = {code: name for code, name in s.execute(sa.select(Institution.fixmedins_code, Institution.fixmedins_name))}
        if values["begin"] or values["end"]:
            try:
                begin = reconcile.parse_date(values["begin"], "reconcile", "begin")
                end = reconcile.parse_date(values["end"], "reconcile", "end")
                if values["fixmedins_code"] and values["fixmedins_code"] not in names:
                    raise NotFound(
                        "reconcile", "fixmedins_code", values["fixmedins_code"], "an existing institution",
                        expected_zh="已登记的定点医药机构",
                    )  # fmt: skip
                rows = reconcile.daily_totals(s, begin, end, values["fixmedins_code"] or None)
            except InputError as e:
                errors[e.field if e.field in values else "form"] = _error_of(e, lang)
    return values, errors, rows, names


@router.get("/reconcile/daily", response_class=HTMLResponse)
def daily_page(request: Request, who: Annotated[Principal, Depends(RECONCILER)]) -> HTMLResponse:
    """按机构按日: the platform's totals (3201's figures) per institution and settlement day, net of reversals."""
    lang = page_lang(request)
    values, errors, rows, names = _daily(request, lang)
    with db_of(request).unit_of_work() as s:
        choices = _choices(s, lang)
    context = {
        "tab": "daily", "values": values, "errors": errors, "rows": rows, "names": names,
        "total": reconcile.total(r[2] for r in rows) if rows else None, "institutions": choices["institutions"],
    }  # fmt: skip
    return render(request, "reconcile_daily.html.j2", context, status_code=422 if errors else 200)


@router.get("/reconcile/daily.xlsx", response_model=None)
def daily_download(request: Request, who: Annotated[Principal, Depends(RECONCILER)]) -> Response:
    lang = page_lang(request)
    values, errors, rows, names = _daily(request, lang)
    if errors or rows is None:
        return daily_page(request, who)
    name = f"按机构按日汇总-{values['begin']}-{values['end']}.xlsx"
    return download(daily_workbook(rows, names, lang), name, ascii_name="reconcile-daily.xlsx", no_store=True)


# ------------------------------------------------------------------ 3202 detail


def _detail_page(
    request: Request,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    total: int = 0,
    result: dict[str, Any] | None = None,
    name: str = "",
    file_name: str = "",
    run_id: int = 0,
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        choices = _choices(s, lang)
        runs = recent_runs(s)
    context = {
        "tab": "detail", "values": values, "errors": errors or {}, "problems": problems or [], "total": total,
        "result": result, "name": name, "file_name": file_name, "kinds": reconcile.KINDS, "run_id": run_id,
        "runs": runs, **choices,
    }  # fmt: skip
    return render(request, "reconcile_detail.html.j2", context, status_code=status_code)


@router.get("/reconcile/detail", response_class=HTMLResponse)
def detail_form(request: Request, who: Annotated[Principal, Depends(RECONCILER)]) -> HTMLResponse:
    return _detail_page(request, _scope_values(request.query_params))


@router.get("/reconcile/detail/template.xlsx", response_model=None)
def detail_template(request: Request, who: Annotated[Principal, Depends(RECONCILER)]) -> Response:
    return download(template_bytes(), "对明细账模板.xlsx", ascii_name="reconcile-detail-template.xlsx")


@router.post("/reconcile/detail", response_class=HTMLResponse)
def detail_run(request: Request, who: Annotated[Principal, Depends(RECONCILER)], form: Posted) -> HTMLResponse:
    """对明细账: the hospital's list (a file) against the ledger, every difference named."""
    lang = page_lang(request)
    t = translator(lang)
    values = _scope_values(form)
    errors: dict[str, str] = {}
    most = limits_of(request).upload_bytes
    file = upload_in(form, most)
    if file is None or not file.data:
        errors["file"] = t(
            "请选择医院导出的结算明细（.xlsx 或 .csv）", "Choose the hospital's list of settlements (.xlsx or .csv)"
        )
    elif file.too_large:
        errors["file"] = t(f"文件过大（至多 {megabytes(most)} MB）", f"The file is too large ({megabytes(most)} MB at most)")
    problems: list[str] = []
    total = 0
    result: dict[str, Any] | None = None
    run_id = 0
    name = ""
    with db_of(request).unit_of_work() as s:  # the page is rendered after it (one unit of work at a time)
        scope = _scope(s, values, errors, lang)
        if scope is not None and file is not None and not errors:
            name = _institution_name(s, scope.fixmedins_code)
            suffix = Path(file.name).suffix.lower() if Path(file.name).suffix.lower() in (".csv", ".txt") else ".xlsx"
            with tempfile.TemporaryDirectory(prefix="yibao-3202-") as tmp:
                path = Path(tmp) / f"upload{suffix}"
                path.write_bytes(file.data)
                try:
                    result = reconcile_file(s, scope, path, sheet_limits(request), file.name)
                    run_id = record_run(s, scope, file.name, result, who.username).id
                    s.commit()
                except (InputError, InputErrors) as e:
                    bad = e.errors if isinstance(e, InputErrors) else [e]
                    problems, total = [x.render(lang) for x in bad[:SHOWN_ERRORS]], len(bad)
                except SheetRefused as e:
                    problems, total = [t(p.reason, p.reason_en) for p in e.problems], len(e.problems)
    if result is None or file is None:
        return _detail_page(request, values, errors=errors, problems=problems, total=total, status_code=422)
    return _detail_page(request, values, result=result, name=name, file_name=file.name, run_id=run_id)


@router.get("/reconcile/runs/{run_id}.xlsx", response_model=None)
def run_workbook(request: Request, run_id: int, who: Annotated[Principal, Depends(RECONCILER)]) -> Response:
    """The differences of a 3202 done in the window, as a workbook."""
    with db_of(request).unit_of_work() as s:
        run = s.get(ReconcileRun, run_id)
        if run is None:
            what = translator(page_lang(request))("对账记录", "reconciliation")
            return render(request, "not_found.html.j2", {"what": what, "key": str(run_id)}, status_code=404)
        data = differences_workbook(run, _institution_name(s, run.fixmedins_code), page_lang(request))
    name = f"对明细账差异-{run.fixmedins_code}-{run.begin.isoformat()}-{run.end.isoformat()}.xlsx"
    return download(data, name, ascii_name=f"reconcile-{run.id}.xlsx", no_store=True)


# ------------------------------------------------------------------ ledger verification


@router.get("/reconcile/verify", response_class=HTMLResponse)
def verify_page(request: Request, who: Annotated[Principal, Depends(VERIFIER)]) -> HTMLResponse:
    """台账核验: with ``run=1`` every person-year's accumulators recomputed from the ledger and compared."""
    ran = request.query_params.get("run") == "1"
    result: dict[str, Any] | None = None
    with db_of(request).unit_of_work() as s:
        entries = s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0
        years = s.scalar(sa.select(sa.func.count()).select_from(YearToDateRow)) or 0
        if ran:
            result = verification(s)
    context = {"tab": "verify", "entries": entries, "years": years, "result": result}
    return render(request, "ledger_verify.html.j2", context)


@router.get("/reconcile/verify.xlsx", response_model=None)
def verify_workbook(request: Request, who: Annotated[Principal, Depends(VERIFIER)]) -> Response:
    """台账核验 run now, its result as a workbook."""
    with db_of(request).unit_of_work() as s:
        result = verification(s)
    data = verification_workbook(result, datetime.now(UTC), who.username, page_lang(request))
    return download(data, "台账核验结果.xlsx", ascii_name="ledger-verification.xlsx", no_store=True)
