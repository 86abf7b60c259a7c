"""参保 in the window: coverage of the county, a township or a village (drill down) with the enrolment-rate
targets met or not, the people not enrolled, the 视同参保 ledger, each as Excel; and for the clerk, enrolling
the county from the registry and importing the tax bureau's payment list, each shown first and written only
when confirmed.

Reading needs ``enrolment.read`` (clerk, monitoring, analyst, admin); the lists of people (gap list, ledger)
need ``person.read`` as well, so the analyst sees the figures only. Enrolling needs ``enrolment`` (clerk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from yibao.app import coverage_places as places
from yibao.app import enrol_county as county
from yibao.app import enrolment_workbook as excel
from yibao.app.auth import Principal
from yibao.app.enrolment import policy_for_year, special_status_label
from yibao.core.errors import InputError, InputErrors
from yibao.entrypoints.common.downloads import XLSX, attachment, download
from yibao.entrypoints.web import import_preview as up
from yibao.entrypoints.web.deps import db_of, limits_of, pack_of, policy_day, sheet_limits
from yibao.entrypoints.web.forms import Posted, clean, upload_in
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import PageRefused, can, page_user
from yibao.interfaces.workbooks import tax_payments
from yibao.policy.coverage import DEFAULT_PRIORITY, target_met
from yibao.policy.schema import EnrolmentTargets, Policy

router = APIRouter()

READ = page_user("enrolment.read")
ENROL = page_user("enrolment")
VIEWS = ("coverage", "gaps", "ledger")
PAYMENTS = "tax"
"""The pending upload's source: a payment list (its year follows, ``tax:2022``)."""


@dataclass(frozen=True)
class Asked:
    """What the page is asked for: the year, the place and the view."""

    year: int
    place: places.Place
    view: str

    def url(self, path: str = "/enrolment", **change: Any) -> str:
        values: dict[str, Any] = {"year": self.year, "township": self.place.township, "village": self.place.village}
        values |= {"view": self.view} | change
        return path + "?" + urlencode({k: v for k, v in values.items() if v is not None and v != ""})


def _policy(request: Request, year: int) -> Policy | None:
    """The app's pack in force on 1 January of ``year`` (``None`` when it does not cover the year)."""
    try:
        return policy_for_year(pack_of(request), year)[0]
    except InputError:
        return None


def _ask(request: Request) -> tuple[Asked, dict[str, str]]:
    """The query as asked (the latest enrolled year, the county, coverage by default) and what is wrong with it."""
    t = translator(page_lang(request))
    q = request.query_params
    errors: dict[str, str] = {}
    fallback = places.latest_year(db_of(request), policy_day(pack_of(request)).year)
    raw = clean(q.get("year"), 8)
    year = fallback
    if raw:
        if raw.isdigit() and 1990 <= int(raw) <= 2100:
            year = int(raw)
        else:
            errors["year"] = t("应为 1990 到 2100 之间的年度", "A year between 1990 and 2100")
    township = clean(q.get("township"), 64) if "township" in q else None
    village = clean(q.get("village"), 64) if "village" in q and township is not None else None
    view = clean(q.get("view"), 16) or "coverage"
    if view not in VIEWS:
        view = "coverage"
    return Asked(year, places.Place(township, village), view), errors


def _no_place(lang: str) -> str:
    return translator(lang)("人员登记簿中没有这个乡镇或村。", "The registry has no such township or village.")


def _targets(policy: Policy | None) -> EnrolmentTargets | None:
    return policy.premium.targets if policy is not None and policy.premium is not None else None


def _ranks(policy: Policy | None) -> dict[str, Any]:
    if policy is None:
        return {"priority": DEFAULT_PRIORITY}
    return {"priority": policy.identity_priority, "validity": policy.identity_validity}


def _page(request: Request, who: Principal, *, extra: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    lang = page_lang(request)
    query, errors = _ask(request)
    db = db_of(request)
    policy = _policy(request, query.year)
    targets = _targets(policy)
    context: dict[str, Any] = {
        "q": query,
        "errors": errors,
        "place_name": excel.place_name(query.place, lang),
        "view": None,
        "gaps": None,
        "ledger": None,
        "targets": None,
        "people_allowed": can(who, "person.read"),
        "may_enrol": can(who, "enrolment"),
        "pack_id": pack_of(request).pack_id,
        "pack_covers": policy is not None,
        "left_out_labels": county.LEFT_OUT,
        "status_label": lambda code: special_status_label(code, lang),
        "preview": None,
        "result": None,
        "payment": None,
        "pending": None,
        "batches": county.payment_batches(db, 5),
        "notice": "",
        "upload_errors": [],
    }
    try:
        view = places.coverage_by_place(db, query.year, query.place, **_ranks(policy))
    except InputError:
        context["errors"] = errors | {"place": _no_place(lang)}
        return render(request, "enrolment.html.j2", context | (extra or {}), status_code=404)
    context["view"] = view
    if targets is not None:
        context["targets"] = [
            ("overall", targets.overall, view.total.overall, target_met(view.total.overall, targets.overall)),
            ("low_income", targets.low_income, view.total.low_income, target_met(view.total.low_income, targets.low_income)),
        ]
    if context["people_allowed"] and query.view == "gaps":
        context["gaps"] = places.not_enrolled(db, query.year, query.place, **_ranks(policy))
    if context["people_allowed"] and query.view == "ledger":
        context["ledger"] = places.special_ledger(db, query.year, query.place)
    return render(request, "enrolment.html.j2", context | (extra or {}), status_code=status_code)


@router.get("/enrolment", response_class=HTMLResponse)
def enrolment_page(request: Request, who: Annotated[Principal, Depends(READ)]) -> HTMLResponse:
    return _page(request, who)


# ---------------------------------------------------------------------------------------------
# Excel out of each view
# ---------------------------------------------------------------------------------------------


def _name(query: Asked, what: tuple[str, str], lang: str) -> str:
    """``2022年度参保情况-全县.xlsx`` / ``2022 coverage-the county.xlsx``."""
    year = translator(lang)(f"{query.year}年度", f"{query.year} ")
    return f"{year}{translator(lang)(*what)}-{excel.place_name(query.place, lang).replace(' / ', '-')}.xlsx"


def _refused_download(request: Request, who: Principal, problem: str) -> HTMLResponse:
    return _page(request, who, extra={"notice": ""} | {"errors": {"place": problem}}, status_code=404)


@router.get("/enrolment/coverage.xlsx", response_model=None)
def coverage_xlsx(request: Request, who: Annotated[Principal, Depends(READ)]) -> Response:
    lang = page_lang(request)
    query, _ = _ask(request)
    policy = _policy(request, query.year)
    try:
        view = places.coverage_by_place(db_of(request), query.year, query.place, **_ranks(policy))
    except InputError:
        return _refused_download(request, who, _no_place(lang))
    data = excel.place_coverage_bytes(view, _targets(policy), lang)
    return download(data, _name(query, ("参保情况", "coverage"), lang), ascii_name=f"coverage-{query.year}.xlsx", no_store=True)


PEOPLE = page_user("person.read")
"""The lists of people (gap list, ledger) as Excel: ``person.read`` as well as ``enrolment.read``."""


@router.get("/enrolment/gaps.xlsx", response_model=None)
def gaps_xlsx(request: Request, who: Annotated[Principal, Depends(PEOPLE)]) -> Response:
    lang = page_lang(request)
    if not can(who, "enrolment.read"):
        raise PageRefused("enrolment.read")
    query, _ = _ask(request)
    policy = _policy(request, query.year)
    try:
        entries = places.not_enrolled(db_of(request), query.year, query.place, **_ranks(policy))
    except InputError:
        return _refused_download(request, who, _no_place(lang))
    data = excel.place_gap_bytes(entries, query.year, query.place, lang)
    return download(
        data, _name(query, ("未参保人员", "not enrolled"), lang), ascii_name=f"not-enrolled-{query.year}.xlsx", no_store=True
    )


@router.get("/enrolment/ledger.xlsx", response_model=None)
def ledger_xlsx(request: Request, who: Annotated[Principal, Depends(PEOPLE)]) -> Response:
    lang = page_lang(request)
    if not can(who, "enrolment.read"):
        raise PageRefused("enrolment.read")
    query, _ = _ask(request)
    try:
        entries = places.special_ledger(db_of(request), query.year, query.place)
    except InputError:
        return _refused_download(request, who, _no_place(lang))
    data = excel.ledger_bytes(entries, query.year, query.place, lang)
    return download(
        data,
        _name(query, ("视同参保台账", "special-status ledger"), lang),
        ascii_name=f"special-ledger-{query.year}.xlsx",
        no_store=True,
    )


# ---------------------------------------------------------------------------------------------
# Enrolling from the registry: shown first, then confirmed
# ---------------------------------------------------------------------------------------------


def _year_of(form: Any) -> int | None:
    raw = clean(form.get("year"), 8)
    return int(raw) if raw.isdigit() and 1990 <= int(raw) <= 2100 else None


@router.post("/enrolment/registry", response_class=HTMLResponse)
def enrol_registry(request: Request, who: Annotated[Principal, Depends(ENROL)], form: Posted) -> HTMLResponse:
    """``step=preview``: what enrolling the registry would do (nothing written); ``step=confirm``: do it."""
    lang = page_lang(request)
    t = translator(lang)
    year = _year_of(form)
    confirm = clean(form.get("step"), 16) == "confirm"
    if year is None:
        return _page(request, who, extra={"notice": t("请填写参保年度", "Enter the year")}, status_code=422)
    try:
        result = county.enrol_registry(db_of(request), year, pack_of(request), user=who.username, dry_run=not confirm)
    except (InputError, InputErrors) as e:
        problem = e.render(lang)
        return _page(request, who, extra={"upload_errors": [problem]}, status_code=422)
    return _page(request, who, extra={"preview" if not confirm else "result": result})


# ---------------------------------------------------------------------------------------------
# The tax bureau's payment list: template, upload and check, confirm or cancel
# ---------------------------------------------------------------------------------------------


@router.get("/enrolment/payments/template.xlsx", response_model=None)
def payment_template(request: Request, who: Annotated[Principal, Depends(ENROL)]) -> Response:
    query, _ = _ask(request)
    data = tax_payments.template_bytes(query.year, ["530902198001010011", "张三", query.year, 320, None, None])
    return download(data, tax_payments.TEMPLATE_NAME, ascii_name="tax-payments-template.xlsx")


def _pending_year(p: up.Pending) -> int | None:
    kind, _, year = p.source.partition(":")
    return int(year) if kind == PAYMENTS and year.isdigit() else None


def _payment_preview(request: Request, who: Principal, p: up.Pending, year: int) -> HTMLResponse:
    lang = page_lang(request)
    try:
        checked = county.preview_payments(
            db_of(request), p.path, year, pack_of(request), user=who.username, name=p.file_name, limits=sheet_limits(request)
        )
    except (InputError, InputErrors) as e:
        up.drop(p)
        problem = e.render(lang)
        return _page(request, who, extra={"upload_errors": [problem]}, status_code=422)
    if checked.problems:
        tax_payments.write_problems(p.directory / f"{p.path.stem}.errors.xlsx", checked.problems, lang)
    return _page(request, who, extra={"payment": checked, "pending": p}, status_code=200 if checked.can_import else 422)


@router.post("/enrolment/payments", response_class=HTMLResponse)
def payments_upload(request: Request, who: Annotated[Principal, Depends(ENROL)], form: Posted) -> HTMLResponse:
    t = translator(page_lang(request))
    year = _year_of(form)
    most = limits_of(request).upload_bytes
    file = upload_in(form, most)
    problems: list[str] = []
    if year is None:
        problems.append(t("请填写参保年度", "Enter the year"))
    if file is None or not file.data:
        problems.append(t("请选择税务部门的缴费明细 .xlsx 文件", "Choose the tax bureau's payment list (.xlsx)"))
    elif file.too_large:
        problems.append(t(f"文件过大（至多 {most / 2**20:g} MB）", f"The file is too large ({most / 2**20:g} MB at most)"))
    if problems or file is None or year is None:
        return _page(request, who, extra={"upload_errors": problems}, status_code=422)
    pending = up.keep(who.username, f"{PAYMENTS}:{year}", file.name, file.data, None)
    return _payment_preview(request, who, pending, year)


def _gone(request: Request) -> HTMLResponse:
    t = translator(page_lang(request))
    what = t("待确认的缴费明细（已确认、已取消或已过期）", "pending payment list (confirmed, cancelled or expired)")
    return render(request, "not_found.html.j2", {"what": what, "key": "—"}, status_code=404)


@router.post("/enrolment/payments/{token}/confirm", response_class=HTMLResponse)
def payments_confirm(request: Request, token: str, who: Annotated[Principal, Depends(ENROL)]) -> HTMLResponse:
    p = up.find(token, who.username)
    year = _pending_year(p) if p is not None else None
    if p is None or year is None:
        return _gone(request)
    try:
        result = county.import_payments(
            db_of(request), p.path, year, pack_of(request), user=who.username, name=p.file_name, limits=sheet_limits(request)
        )
    except county.PaymentsRefused:  # the registry changed since the preview: show the problems again
        return _payment_preview(request, who, p, year)
    except (InputError, InputErrors) as e:
        lang = page_lang(request)
        up.drop(p)
        problem = e.render(lang)
        return _page(request, who, extra={"upload_errors": [problem]}, status_code=422)
    up.drop(p)
    return _page(request, who, extra={"result": result})


@router.post("/enrolment/payments/{token}/cancel", response_class=HTMLResponse)
def payments_cancel(request: Request, token: str, who: Annotated[Principal, Depends(ENROL)]) -> HTMLResponse:
    p = up.find(token, who.username)
    if p is not None:
        up.drop(p)
    t = translator(page_lang(request))
    return _page(request, who, extra={"notice": t("已取消，未导入任何数据。", "Cancelled; nothing was imported.")})


@router.get("/enrolment/payments/{token}/errors.xlsx", response_model=None)
def payments_errors(request: Request, token: str, who: Annotated[Principal, Depends(ENROL)]) -> Response:
    p = up.find(token, who.username)
    path = up.error_workbook(p) if p else None
    if p is None or path is None:
        return _gone(request)
    return FileResponse(path, media_type=XLSX, headers=attachment(path.name, no_store=True))
