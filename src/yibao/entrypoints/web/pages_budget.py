"""基金预算 in the window: the year's budget per fund and month — typed in, imported from the Excel template (all rows
or none), or derived from last year's spending and this year's premium income — with every change's who and when;
budget against actual and its warnings are in the reports page (and the home page's warnings)."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import budget as svc
from yibao.app.auth import Principal
from yibao.app.report_sources import ledger_pack
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.money import fen_to_yuan_str, fmt_percent
from yibao.core.vocab import BUDGET_FUNDS, BUDGET_SOURCES
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day, sheet_limits
from yibao.entrypoints.web.forms import Posted, clean, upload_in
from yibao.entrypoints.web.pages_home import HOME_EXTRAS
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.reports.budget import warning_text
from yibao.rules import budget as rules

router = APIRouter()

READ = page_user("reports")
WRITE = page_user("budget.write")
MAX_UPLOAD = 10 * 1024 * 1024
DONE = re.compile(r"^(set|imported|derived)\.(\d{1,3})$")


def cell(fund: str, month: int) -> str:
    """The grid's field for one fund and month."""
    return f"a-{fund}-{month}"


def _year(raw: object, fallback: int) -> tuple[int, str]:
    """The year asked for (``fallback`` when none) and what is wrong with it ("" when nothing)."""
    text = clean(raw, 8)
    if not text:
        return fallback, ""
    try:
        return svc.check_year(text), ""
    except InputError:
        return fallback, text


def _page(request: Request, year: int, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          upload_errors: list[str] | None = None, derive_error: str = "", notice: str = "",
          status_code: int = 200) -> HTMLResponse:  # fmt: skip
    lang = page_lang(request)
    with db_of(request).reading() as s:
        amounts = svc.budget_of(s, year)
        changes = svc.changes(s, year, 100)
    shown = {cell(f, m): fen_to_yuan_str(amounts.get((f, m), 0)) for f in rules.FUNDS for m in rules.MONTHS}
    rule = svc.rule_of(pack_of(request), year)
    context: dict[str, Any] = {
        "year": year,
        "funds": [(f, pick(BUDGET_FUNDS[f], lang)) for f in rules.FUNDS],
        "months": rules.MONTHS,
        "cell": cell,
        "values": shown | (values or {}),
        "errors": errors or {},
        "totals": {f: rules.fund_total(amounts, f) for f in rules.FUNDS},
        "has_budget": bool(amounts),
        "changes": changes,
        "fund_label": lambda code: pick(BUDGET_FUNDS.get(code, (code, code)), lang),
        "source_label": lambda code: pick(BUDGET_SOURCES.get(code, (code, code)), lang),
        "rule": rule,
        "growth": fmt_percent(rule.spending_growth) if rule else "",
        "reserve": fmt_percent(rule.reserve) if rule else "",
        "upload_errors": upload_errors or [],
        "derive_error": derive_error,
        "notice": notice,
    }
    return render(request, "budget.html.j2", context, status_code=status_code)


def _notice(request: Request, lang: str) -> str:
    m = DONE.match(request.query_params.get("done", ""))
    if not m:
        return ""
    t, n = translator(lang), m[2]
    return {
        "set": t(f"已保存：{n} 个月的预算有变动。", f"Saved: {n} months changed."),
        "imported": t(f"已导入模板：{n} 个月的预算有变动。", f"Template imported: {n} months changed."),
        "derived": t(f"已按规则测算并写入：{n} 个月的预算有变动。", f"Derived and saved: {n} months changed."),
    }[m[1]]


@router.get("/budget", response_class=HTMLResponse)
def budget_page(request: Request, who: Annotated[Principal, Depends(READ)]) -> HTMLResponse:
    lang = page_lang(request)
    year, bad = _year(request.query_params.get("year"), policy_day(pack_of(request)).year)
    if bad:
        msg = translator(lang)(f"年度应为 {svc.FIRST_YEAR}–{svc.LAST_YEAR}", f"A year from {svc.FIRST_YEAR} to {svc.LAST_YEAR}")
        return _page(request, year, errors={"year": msg}, status_code=422)
    return _page(request, year, notice=_notice(request, lang))


def _done(year: int, what: str, n: int) -> RedirectResponse:
    return RedirectResponse(f"/budget?year={year}&done={what}.{n}", status_code=303)


@router.post("/budget", response_class=HTMLResponse)
def save(request: Request, who: Annotated[Principal, Depends(WRITE)], form: Posted) -> Response:
    """The grid typed in (yuan): every cell checked first; one bad cell and nothing is written."""
    lang = page_lang(request)
    year, bad = _year(form.get("year"), policy_day(pack_of(request)).year)
    typed = {cell(f, m): clean(form.get(cell(f, m)), 24) for f in rules.FUNDS for m in rules.MONTHS}
    errors: dict[str, str] = {}
    if bad:
        errors["year"] = translator(lang)("年度有误", "Bad year")
    amounts: dict[tuple[str, int], int] = {}
    for f in rules.FUNDS:
        for m in rules.MONTHS:
            try:
                amounts[(f, m)] = svc.check_amount(typed[cell(f, m)], "budget", cell(f, m))
            except InputError as e:
                errors[cell(f, m)] = error_text(e, lang)
    if errors:
        return _page(request, year, values=typed, errors=errors, status_code=422)
    with db_of(request).unit_of_work() as s:
        changed = svc.set_amounts(s, year, amounts, "entered", who.username)
        s.commit()
    return _done(year, "set", changed)


@router.get("/budget/template.xlsx", response_model=None)
def template(request: Request, who: Annotated[Principal, Depends(READ)]) -> Response:
    lang = page_lang(request)
    year, _ = _year(request.query_params.get("year"), policy_day(pack_of(request)).year)
    with db_of(request).reading() as s:
        data = svc.template_bytes(year, svc.budget_of(s, year), lang)
    return download(data, f"基金预算模板-{year}.xlsx", ascii_name=f"budget-{year}.xlsx", no_store=True)


@router.post("/budget/import", response_class=HTMLResponse)
def import_template(request: Request, who: Annotated[Principal, Depends(WRITE)], form: Posted) -> Response:
    lang = page_lang(request)
    t = translator(lang)
    year, _ = _year(form.get("year"), policy_day(pack_of(request)).year)
    file = upload_in(form, MAX_UPLOAD)
    problems: list[str] = []
    if file is None:
        problems.append(t("请选择填好的基金预算模板（.xlsx）", "Choose the filled-in budget template (.xlsx)"))
    elif file.too_large:
        problems.append(t("文件过大（至多 10 MB）", "The file is too large (10 MB at most)"))
    else:
        try:
            with db_of(request).unit_of_work() as s:
                done = svc.import_template(s, io.BytesIO(file.data), file.name[:120], who.username, sheet_limits(request))
                s.commit()
        except InputErrors as e:
            problems = [x.render(lang) for x in e.errors]
        except InputError as e:
            problems = [e.render(lang)]
    if problems:
        return _page(request, year, upload_errors=problems, status_code=422)
    return _done(done.years[0] if year not in done.years else year, "imported", done.changed)


@router.post("/budget/derive", response_class=HTMLResponse)
def derive(request: Request, who: Annotated[Principal, Depends(WRITE)], form: Posted) -> Response:
    lang = page_lang(request)
    year, bad = _year(form.get("year"), policy_day(pack_of(request)).year)
    if bad:
        return _page(request, year, derive_error=translator(lang)("年度有误", "Bad year"), status_code=422)
    db = db_of(request)
    try:
        pack = ledger_pack(db, date(year, 1, 1), date(year, 12, 31), pack_of(request))
        with db.unit_of_work() as s:
            d = svc.derive(s, pack, year, who.username)
            s.commit()
    except InputError as e:
        return _page(request, year, derive_error=e.render(lang), status_code=422)
    return _done(year, "derived", d.changed)


def home_budget(request: Request, who: Principal) -> dict[str, Any]:
    """The home page's budget warnings (roles that read reports): the latest month's, of the policy year's budget."""
    if not who.can("reports"):
        return {}
    pack = pack_of(request)
    year = policy_day(pack).year
    today = beijing_today()
    if year > today.year:
        return {}
    through = 12 if year < today.year else today.month
    db = db_of(request)
    with db.reading() as s:
        if not svc.has_budget(s, year):
            return {}
    in_force = ledger_pack(db, date(year, 1, 1), date(year, 12, 31), pack)
    with db.reading() as s:
        plan = svc.budget_input(s, year, through, in_force)
    lang = page_lang(request)
    latest = [w for w in plan.warnings() if w.month == through]
    lines = [warning_text(w.kind, w.fund, f"{year}-{w.month:02d}", w.measured_bp, w.line_bp, lang) for w in latest]
    end = svc.month_end(year, through).isoformat()
    return {"budget_year": year, "budget_through": through, "budget_end": end, "budget_alerts": lines}


HOME_EXTRAS.append(home_budget)
