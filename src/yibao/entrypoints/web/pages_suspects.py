"""疑点 in the window: the list (filters, counts, overdue in red), one case (the finding, its evidence, the
settlements and lines, what happened with who/when/from where in Beijing time, the files) with a form for each
step the signed-in role may take, the institution's appeal with a file, and sampling for manual review.

The bureau's auditor and administrator see every 疑点 (the administrator reads only); an institution's account
signs in to these pages only and sees its own cases (another's answers "not found")."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import suspect_sampling as sampling
from yibao.app import suspects as svc
from yibao.app.auth import Principal
from yibao.app.suspect_files import KINDS, FileIn
from yibao.app.suspect_views import SAMPLE_LABEL, case_dict, detail
from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import pick
from yibao.core.money import yuan_to_fen
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web import session
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, limits_of, pack_of
from yibao.entrypoints.web.forms import Posted, clean, upload_in
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.rules import suspect_workflow as wf
from yibao.rules.suspect_workflow import NotAllowed
from yibao.store.audit_tables import SuspectCase
from yibao.store.service_tables import Institution

router = APIRouter()

MAX_ID = 2**31 - 1
LIST_LIMIT = 500
FILTER_FIELDS = ("status", "fixmedins_code", "rule_code", "overdue", "date_from", "date_to", "q", "sample_id")
ACCEPT = ",".join(e for _, endings in KINDS.values() for e in endings)


async def suspects_user(request: Request) -> Principal:
    """A dependency: the signed-in auditor or administrator (every 疑点) or institution (its own); POST forms carry
    the session's CSRF token."""
    who = await run_in_threadpool(session.current_user, request)
    if who is None:
        raise session.SignInNeeded(session.return_path(request))
    if not (session.can(who, "suspects.read") or session.can(who, "suspects.own")):
        raise session.PageRefused("suspects.read")
    if request.method not in session.SAFE_METHODS:
        await session.check_csrf(request)
    return who


Who = Annotated[Principal, Depends(suspects_user)]


def _day(text: str, errors: dict[str, str], name: str, lang: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = translator(lang)("应为日期，如 2022-03-01", "A date such as 2022-03-01")
        return None


def parse_filter(source: Mapping[str, Any], who: Principal, lang: str) -> tuple[svc.Filter, dict[str, str], dict[str, str]]:
    """(the filter, the values as typed, errors per field); a bad field is left out of the filter."""
    values = {name: clean(source.get(name), 40) for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    t = translator(lang)
    if values["status"] and values["status"] not in ("open", *wf.STATUSES):
        errors["status"] = t("未知状态", "unknown status")
    overdue = {"1": True, "0": False}.get(values["overdue"])
    sample = values["sample_id"]
    if sample and not (sample.isdigit() and 0 < int(sample) <= MAX_ID):
        errors["sample_id"] = t("应为抽查编号", "A sample number")
    f = svc.Filter(
        status=values["status"] if "status" not in errors else None,
        fixmedins_code=values["fixmedins_code"] or None,
        rule_code=values["rule_code"] or None,
        overdue=overdue,
        date_from=_day(values["date_from"], errors, "date_from", lang),
        date_to=_day(values["date_to"], errors, "date_to", lang),
        sample_id=int(sample) if sample and "sample_id" not in errors else None,
        q=values["q"] or None,
    )
    return f, values, errors


def _when(iso: str) -> str:
    return beijing_text(iso)


@router.get("/suspects", response_class=HTMLResponse)
def suspects_page(request: Request, who: Who) -> HTMLResponse:
    lang = page_lang(request)
    f, values, errors = parse_filter(request.query_params, who, lang)
    notice = ""
    drawn = request.query_params.get("drawn", "")
    if drawn.isdigit() and len(drawn) < 10:
        notice = translator(lang)(f"已抽取，抽查编号 {drawn}。", f"Drawn: sample {drawn}.")
    return _list_page(request, who, f, values, errors, notice=notice, status_code=422 if errors else 200)


def _list_page(
    request: Request, who: Principal, f: svc.Filter, values: dict[str, str], errors: dict[str, str], *,
    draw_values: dict[str, str] | None = None, draw_errors: dict[str, str] | None = None, notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    lang = page_lang(request)
    t = translator(lang)
    day = svc.today()
    with db_of(request).unit_of_work() as s:
        rows = [case_dict(c, fi, lang, day=day) for c, fi in svc.list_cases(s, who, f, day=day, limit=LIST_LIMIT)]
        counts = svc.counts(s, who, day=day)
        names = {code: name for code, name in s.execute(sa.select(Institution.fixmedins_code, Institution.fixmedins_name))}
        rules = sorted(set(s.scalars(sa.select(SuspectCase.rule_code).distinct())))
        estimate = None
        if f.sample_id and who.can("suspects.read"):
            try:
                estimate = sampling.estimate_dict(*sampling.estimate(s, f.sample_id))
            except NotFound:
                estimate = None
        recent = (
            [sampling.estimate_dict(*sampling.estimate(s, x.id)) for x in sampling.samples(s, 10)]
            if who.can("suspects.work")
            else []
        )
    bureau = who.can("suspects.read")
    context: dict[str, Any] = {
        "rows": [r | {"fixmedins_name": names.get(r["fixmedins_code"] or "", "")} for r in rows],
        "limit": LIST_LIMIT,
        "counts": [(code, wf.status_label(code, lang), counts.get(code, 0)) for code in wf.STATUSES],
        "overdue_count": counts.get("overdue", 0),
        "total": sum(n for k, n in counts.items() if k != "overdue"),
        "values": values,
        "errors": errors,
        "bureau": bureau,
        "institution_name": names.get(who.fixmedins_code or "", who.fixmedins_code or ""),
        "options": {
            "status": [("", t("全部状态", "any status")), ("open", t("未办结", "open"))]
            + [(c, wf.status_label(c, lang)) for c in wf.STATUSES],
            "fixmedins_code": [("", t("全部机构", "every institution")), *sorted(names.items())],
            "rule_code": [("", t("全部规则", "every rule")), *((r, _rule_text(r, lang)) for r in rules)],
            "overdue": [("", t("不限", "either")), ("1", t("仅逾期", "overdue only")), ("0", t("未逾期", "not overdue"))],
        },
        "query": urlencode({k: v for k, v in values.items() if v}),
        "estimate": estimate,
        "samples": recent,
        "draw_values": draw_values or {"seed": str(secrets.randbelow(1_000_000))},
        "draw_errors": draw_errors or {},
        "notice": notice,
    }
    return render(request, "suspects.html.j2", context, status_code=status_code)


def _rule_text(code: str, lang: str) -> str:
    """A rule's code as a filter option (the draws' pseudo-rule by its name)."""
    return pick(SAMPLE_LABEL, lang) if code == sampling.SAMPLE_CODE else code


@router.post("/suspects/samples", response_class=HTMLResponse)
def draw(request: Request, who: Who, form: Posted) -> Response:
    lang = page_lang(request)
    t = translator(lang)
    if not who.can("suspects.work"):
        raise session.PageRefused("suspects.work")
    fields = ("fixmedins_code", "date_from", "date_to", "rate", "seed")
    values = {k: clean(form.get(k), 32) for k in fields}
    errors: dict[str, str] = {}
    if not values["fixmedins_code"]:
        errors["fixmedins_code"] = t("请选择定点机构", "Choose the institution")
    start = _day(values["date_from"], errors, "date_from", lang)
    end = _day(values["date_to"], errors, "date_to", lang)
    for name in ("date_from", "date_to"):
        if not values[name]:
            errors[name] = t("请填写日期", "Enter the date")
    if not (values["seed"].isdigit() and len(values["seed"]) <= 18):
        errors["seed"] = t("应为非负整数", "A whole number, 0 or more")
    try:
        bp = _rate_bp(values["rate"])
    except InputError as e:
        errors["rate"], bp = error_text(e, lang), 0
    if not errors and start and end:
        try:
            with db_of(request).unit_of_work() as s:
                sample, _ = sampling.draw_sample(
                    s, values["fixmedins_code"], start, end, bp, int(values["seed"]), who.username,
                    svc.workflow_days(pack_of(request)), "web",
                )  # fmt: skip
                s.commit()
                sample_id = sample.id
        except InputError as e:
            errors[e.field if e.field in fields else "fixmedins_code"] = error_text(e, lang)
    if errors:
        f, shown, errs = parse_filter({}, who, lang)
        return _list_page(request, who, f, shown, errs, draw_values=values, draw_errors=errors, status_code=422)
    return RedirectResponse(f"/suspects?sample_id={sample_id}&drawn={sample_id}", status_code=303)


def _rate_bp(text: str) -> int:
    """A percentage as typed (at most two decimals) in basis points (the yuan-to-fen rule: two decimals, exact)."""
    try:
        bp = yuan_to_fen(text.rstrip("%"), thousands=False)
    except (ValueError, ArithmeticError):
        bp = 0
    if not 0 < bp <= 10_000:
        raise InputError(
            "抽查 / sample", "rate", text, "大于 0 且不超过 100 的百分比，至多两位小数",
            expected_en="a percentage above 0, at most 100, two decimals at most",
        )  # fmt: skip
    return bp


def _not_found(request: Request, case_id: int) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t("疑点", "suspect case"), "key": str(case_id)}, status_code=404)


@router.get("/suspects/{case_id:int}", response_class=HTMLResponse)
def suspect_page(request: Request, case_id: int, who: Who) -> HTMLResponse:
    done = request.query_params.get("done", "")
    notice = ""
    if done in wf.ACTIONS:
        lang = page_lang(request)
        notice = translator(lang)("已记录：", "Recorded: ") + wf.action_label(done, lang)
    return _page(request, who, case_id, notice=notice)


def _page(
    request: Request, who: Principal, case_id: int, *, values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, notice: str = "", status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    if case_id > MAX_ID:
        return _not_found(request, case_id)
    lang = page_lang(request)
    try:
        with db_of(request).unit_of_work() as s:
            c = detail(s, case_id, who, lang)
            name = s.scalar(sa.select(Institution.fixmedins_name).where(Institution.fixmedins_code == c["fixmedins_code"]))
    except NotFound:
        return _not_found(request, case_id)
    for e in c["events"]:
        e["when"] = _when(e["recorded_at"])
    for a in c["attachments"]:
        a["when"] = _when(a["recorded_at"])
    context = {
        "c": c, "fixmedins_name": name or "", "values": values or {}, "errors": errors or {}, "notice": notice,
        "accept": ACCEPT, "opened": _when(c["opened_at"]),
    }  # fmt: skip
    return render(request, "suspect.html.j2", context, status_code=status_code)


@router.post("/suspects/{case_id:int}/act", response_class=HTMLResponse)
def act(request: Request, case_id: int, who: Who, form: Posted) -> Response:
    if case_id > MAX_ID:
        return _not_found(request, case_id)
    lang = page_lang(request)
    t = translator(lang)
    action = clean(form.get("action"), 16)
    values = {"action": action, "note": clean(form.get("note"), 2100), "amount": clean(form.get("amount"), 20)}
    version_text = clean(form.get("version"), 10)
    errors: dict[str, str] = {}
    stale = False
    amount = None
    if values["amount"]:
        try:
            amount = yuan_to_fen(values["amount"])
        except (ValueError, ArithmeticError):
            errors["amount"] = t(
                "应为金额（元），至多两位小数，如 120.50", "An amount in yuan with at most two decimals, e.g. 120.50"
            )
    upload = upload_in(form, limits_of(request).upload_bytes)
    file = FileIn(upload.name, upload.data) if upload is not None else None
    if not errors:
        try:
            with db_of(request).unit_of_work() as s:
                svc.act(
                    s, case_id, action, who, svc.workflow_days(pack_of(request)), note=values["note"] or None,
                    amount=amount, file=file, expected_version=int(version_text) if version_text.isdigit() else None,
                    channel="web", upload_limit=limits_of(request).upload_bytes,
                )  # fmt: skip
                s.commit()
        except NotFound:
            return _not_found(request, case_id)
        except NotAllowed as refused:
            raise session.PageRefused("suspects.work" if refused.actor != "institution" else "suspects.own") from None
        except svc.StaleCase as e:
            errors["form"], stale = error_text(e, lang), True
        except InputError as e:
            errors[e.field if e.field in ("note", "amount", "file") else "form"] = error_text(e, lang)
    if errors:
        return _page(request, who, case_id, values=values, errors=errors, status_code=409 if stale else 422)
    return RedirectResponse(f"/suspects/{case_id}?done={action}#events", status_code=303)


@router.get("/suspects/{case_id:int}/files/{attachment_id:int}", response_model=None)
def attachment(request: Request, case_id: int, attachment_id: int, who: Who) -> Response:
    if case_id > MAX_ID or attachment_id > MAX_ID:
        return _not_found(request, case_id)
    try:
        with db_of(request).unit_of_work() as s:
            a = svc.attachment(s, case_id, attachment_id, who)
            data, name, media = a.data, a.filename, a.content_type
    except NotFound:
        return _not_found(request, case_id)
    return download(data, name, media, no_store=True)
