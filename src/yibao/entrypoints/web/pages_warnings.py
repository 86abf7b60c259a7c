"""The warning list: filter, counts per status, run a period, push to bureaus, the push list as Excel and
the townships' confirmations back. One warning's page and its next steps are in :mod:`yibao.entrypoints.web.pages_warning`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.app import warnings as svc
from yibao.app.auth import Principal
from yibao.app.push_list import read_confirmations
from yibao.app.warning_views import push_list, warning_dicts
from yibao.core import i18n
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of, sheet_limits
from yibao.entrypoints.web.forms import clean, upload_in
from yibao.entrypoints.web.pages_home import HOME_EXTRAS
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import can, page_user
from yibao.policy.schema import BUREAUS
from yibao.rules.monitoring import parse_period
from yibao.rules.warning_workflow import KINDS, OPEN, STATUSES, status_label
from yibao.store.monitoring_tables import MonitoringRun, WarningCase
from yibao.store.tables import Person

router = APIRouter()

READ = page_user("warnings.read")
WORK = page_user("warnings.work")
LIST_LIMIT = 500
MAX_UPLOAD = 10 * 1024 * 1024
FILTER_FIELDS = ("status", "kind", "period", "township", "q")
CONFIRMED = re.compile(r"^(\d{1,6})\.(\d{1,6})\.(\d{1,6})\.(\d{1,6})\.(\d{1,6})$")
"""``?confirmed=at_risk.not_at_risk.unchanged.blank.ignored`` after an import of confirmations."""


def bureau_options(lang: str) -> list[tuple[str, str]]:
    return [(code, pick(said, lang)) for code, said in BUREAUS.items()]


def chosen_bureaus(values: list[str], errors: dict[str, str], lang: str) -> list[str]:
    """The ticked bureaus; an error beside ``bureau`` when none (or an unknown one) is ticked."""
    picked = [b for b in values if b in BUREAUS]
    if not picked or len(picked) != len(values):
        errors["bureau"] = translator(lang)("请选择推送部门", "Choose the bureaus to push to")
    return picked


def parse_filter(source: Mapping[str, Any], lang: str) -> tuple[svc.Filter, dict[str, str], dict[str, str]]:
    """(the filter, the values as typed, errors per field); a bad field is left out of the filter."""
    values = {name: clean(source.get(name)) for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    t = translator(lang)
    if values["status"] and values["status"] not in STATUSES:
        errors["status"] = t("未知状态", "unknown status")
    if values["kind"] and values["kind"] not in KINDS:
        errors["kind"] = t("未知类型", "unknown kind")
    period = None
    if values["period"]:
        try:
            period = parse_period(values["period"]).code
        except InputError as e:
            errors["period"] = error_text(e, lang)
    f = svc.Filter(
        status=values["status"] if "status" not in errors else None,
        kind=values["kind"] if "kind" not in errors else None,
        period=period,
        township=values["township"] or None,
        q=values["q"] or None,
    )
    return f, values, errors


def query_of(values: Mapping[str, str], **extra: object) -> str:
    """The filter (and ``extra``) as a query string, empty fields left out."""
    pairs = {k: v for k, v in values.items() if k in FILTER_FIELDS and v} | {k: v for k, v in extra.items() if v}
    return urlencode(pairs)


@dataclass(frozen=True)
class ListPost:
    """A form posted from the warning list: the page's language, the form and the list's filter it carries."""

    lang: str
    form: FormData
    filter: svc.Filter
    values: dict[str, str]
    errors: dict[str, str]

    def t(self, zh: str, en: str) -> str:
        return i18n.t(self.lang, zh, en)

    def done(self, **extra: object) -> RedirectResponse:
        """Back to the list with the same filter, saying what was done (``extra``, for :func:`_notice`)."""
        return RedirectResponse(f"/warnings?{query_of(self.values, **extra)}", status_code=303)


async def list_post(request: Request) -> ListPost:
    """A dependency: the form posted from the warning list, its filter parsed (on the event loop: the handlers
    that take it are plain ``def`` and do their database work in the thread pool)."""
    lang = page_lang(request)
    form = await request.form()
    return ListPost(lang, form, *parse_filter(form, lang))


Posted = Annotated[ListPost, Depends(list_post)]


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, who: Annotated[Principal, Depends(READ)]) -> HTMLResponse:
    lang = page_lang(request)
    f, values, errors = parse_filter(request.query_params, lang)
    return _list_page(request, who, f, values, errors, notice=_notice(request, lang), status_code=422 if errors else 200)


@router.get("/warnings/export.xlsx", response_model=None)
def export(request: Request, who: Annotated[Principal, Depends(READ)]) -> Response:
    lang = page_lang(request)
    f, values, errors = parse_filter(request.query_params, lang)
    if errors:
        return _list_page(request, who, f, values, errors, status_code=422)
    with db_of(request).unit_of_work() as s:
        data, name = push_list(s, f, who, lang)
    return download(data, name, no_store=True)


@router.post("/warnings/run", response_class=HTMLResponse)
def run(request: Request, who: Annotated[Principal, Depends(WORK)], p: Posted) -> Response:
    typed = clean(p.form.get("run_period"), 10)
    try:
        result = svc.run_monitoring(db_of(request), pack_of(request), parse_period(typed, "run_period"), who.username, "web")
    except InputError as e:
        return _refused(request, who, p, {"run_period": error_text(e, p.lang)}, run_period=typed)
    return p.done(ran=result.run_id)


@router.post("/warnings/push", response_class=HTMLResponse)
def push(request: Request, who: Annotated[Principal, Depends(WORK)], p: Posted) -> Response:
    typed_ids = [clean(v, 12) for v in p.form.getlist("ids")]
    ids = [int(v) for v in typed_ids if v.isdigit()]
    push_errors: dict[str, str] = {}
    if not ids or len(ids) != len(typed_ids):
        push_errors["ids"] = p.t("请勾选要推送的预警", "Tick the warnings to push")
    bureaus = chosen_bureaus([clean(v) for v in p.form.getlist("bureau")], push_errors, p.lang)
    if not push_errors:
        try:
            with db_of(request).unit_of_work() as s:
                for wid in ids:
                    svc.step(s, wid, "pushed", who.username, bureaus=bureaus, source="web")
                s.commit()
        except InputError as e:
            push_errors["ids"] = f"{e.where}：{error_text(e, p.lang)}"
    if push_errors:
        return _refused(request, who, p, push_errors, selected={"ids": typed_ids, "bureau": bureaus})
    return p.done(pushed=len(ids))


@router.post("/warnings/import", response_class=HTMLResponse)
def import_confirmations(request: Request, who: Annotated[Principal, Depends(WORK)], p: Posted) -> Response:
    file = upload_in(p.form, MAX_UPLOAD)
    problems: list[str] = []
    if file is None:
        problems.append(p.t("请选择乡镇交回的推送清单（.xlsx）", "Choose the push list a township sent back (.xlsx)"))
    elif file.too_large:
        problems.append(p.t("文件过大（至多 10 MB）", "The file is too large (10 MB at most)"))
    else:
        try:
            with db_of(request).unit_of_work() as s:
                data, name = io.BytesIO(file.data), file.name[:120]
                done = read_confirmations(s, data, name, who.username, sheet_limits(request), pack=pack_of(request))
                s.commit()
        except InputErrors as e:
            problems = [x.render(p.lang) for x in e.errors]
        except InputError as e:
            problems = [e.render(p.lang)]
    if problems:
        return _refused(request, who, p, {}, upload_errors=problems)
    counted = (done.confirmed_at_risk, done.confirmed_not_at_risk, done.unchanged, done.blank, done.ignored)
    return p.done(confirmed=".".join(map(str, counted)))


def _refused(request: Request, who: Principal, p: ListPost, errors: dict[str, str], **shown: Any) -> HTMLResponse:
    """The list again (422) with what was posted and why it was refused."""
    return _list_page(request, who, p.filter, p.values, p.errors | errors, status_code=422, **shown)


def _notice(request: Request, lang: str) -> str:
    """What the last action did, from the redirect's query (``ran``, ``pushed``, ``confirmed``)."""
    t = translator(lang)
    q = request.query_params
    ran, pushed, confirmed = q.get("ran", ""), q.get("pushed", ""), CONFIRMED.match(q.get("confirmed", ""))
    if ran.isdigit() and len(ran) < 10:
        with db_of(request).unit_of_work() as s:
            r = s.get(MonitoringRun, int(ran))
        if r is not None:
            return t(
                f"已运行监测期 {r.period}：发现 {r.found} 人次，新增 {r.created}，更新 {r.updated}。",
                f"Ran {r.period}: {r.found} found, {r.created} new, {r.updated} updated.",
            )
    if pushed.isdigit() and len(pushed) < 7:
        return t(f"已推送 {pushed} 条预警。", f"Pushed {pushed} warnings.")
    if confirmed:
        a, n, same, blank, ignored = confirmed.groups()
        return t(
            f"已导入核实结果：存在风险 {a}，无风险 {n}，未变 {same}，未填写 {blank}，非待核实已忽略 {ignored}。",
            f"Confirmations imported: {a} at risk, {n} not at risk, {same} unchanged, {blank} blank, "
            f"{ignored} ignored (not awaiting a confirmation).",
        )
    return ""


def _townships(s: Session) -> list[str]:
    q = sa.select(Person.township).join(WarningCase, WarningCase.person_id == Person.id).distinct().order_by(Person.township)
    return [x for x in s.scalars(q) if x]


def _list_page(
    request: Request,
    who: Principal,
    f: svc.Filter,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    selected: dict[str, list[str]] | None = None,
    upload_errors: list[str] | None = None,
    run_period: str = "",
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    with db_of(request).unit_of_work() as s:
        found = svc.list_warnings(s, f, limit=LIST_LIMIT)
        rows = warning_dicts(s, found, who, lang)
        counts = svc.counts_by_status(s, f.kind)
        runs = svc.last_runs(s, 6)
        towns = _townships(s)
    rule_label = _rule_labels(request, lang)
    pushable = {r["id"] for r in rows if r["status"] == "new"} if can(who, "warnings.work") else set()
    context: dict[str, Any] = {
        "rows": [r | {"rule_label": rule_label.get(r["rule"], r["rule"])} for r in rows],
        "limit": LIST_LIMIT,
        "counts": [(code, status_label(code, lang), counts.get(code, 0)) for code in STATUSES],
        "total": sum(counts.values()),
        "runs": runs,
        "values": values,
        "run_values": {"run_period": run_period or values["period"]},
        "errors": errors,
        "options": {
            "status": [("", t("全部状态", "any status"))] + [(c, status_label(c, lang)) for c in STATUSES],
            "kind": [("", t("全部类型", "any kind"))] + [(c, pick(said, lang)) for c, said in KINDS.items()],
            "township": [("", t("全部乡镇", "every township"))] + [(x, x) for x in towns],
            "bureau": bureau_options(lang),
        },
        "pushable": pushable,
        "selected": selected or {"ids": [], "bureau": []},
        "upload_errors": upload_errors or [],
        "query": query_of(values),
        "notice": notice,
        "open_statuses": OPEN,
    }
    return render(request, "warnings.html.j2", context, status_code=status_code)


def _rule_labels(request: Request, lang: str) -> dict[str, str]:
    pack = pack_of(request)
    mon = pack.at(pack.valid_from).monitoring
    if mon is None:
        return {}
    return {key: rule.label_zh if lang == "zh" else rule.label_en for key, rule in mon.rules.items()}


def home_warnings(request: Request, who: Principal) -> dict[str, Any]:
    """The home page's warnings section: open warnings by status (roles that may read warnings)."""
    if not can(who, "warnings.read"):
        return {}
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        counts = svc.counts_by_status(s, None)
    rows = [(code, status_label(code, lang), counts.get(code, 0)) for code in OPEN]
    return {"open_warnings": rows, "open_total": sum(n for _, _, n in rows)}


HOME_EXTRAS.append(home_warnings)
