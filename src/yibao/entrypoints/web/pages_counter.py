"""The settlement counter: choose the person (and a visit a hospital uploaded) or type the bill, preview, settle once."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import audit_counter, counter_day, ledger, settlements, visits
from yibao.app.auth import Principal
from yibao.app.registry import PeopleFound, find_people, find_person, identities_on
from yibao.core import vocab
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import paren, pick
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.web import bill
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day
from yibao.entrypoints.web.forms import Posted
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.policy.categories import identity_label
from yibao.settlement.model import Settlement
from yibao.settlement.trace import render as render_trace
from yibao.store.service_tables import Institution
from yibao.store.tables import Enrolment, Person

router = APIRouter()

SETTLE = page_user("settle")
IDEM = re.compile(r"^[0-9a-f]{24}$")


@router.get("/counter", response_class=HTMLResponse)
def counter(
    request: Request,
    who: Annotated[Principal, Depends(SETTLE)],
    person: Annotated[str, Query(max_length=64)] = "",
    mdtrt_id: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    form = bill.BillForm.from_form({"person": person, "mdtrt_id": mdtrt_id})
    form.values["setl_date"] = policy_day(pack_of(request)).isoformat()
    return _page(request, form, page=page)


@router.post("/counter/preview", response_class=HTMLResponse)
def preview(request: Request, who: Annotated[Principal, Depends(SETTLE)], posted: Posted) -> HTMLResponse:
    form = bill.BillForm.from_form(posted)
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:  # never committed: a preview writes nothing
        try:
            result = _compute(s, request, who, form, lang)
        except InputError as e:
            form.add(e, lang)
            result = None
    if result is None:
        return _page(request, form, status_code=422)
    settlement, audit = result
    findings = audit_counter.findings_view(audit, lang) if audit.pack is not None else []
    return _page(request, form, result=settlement, findings=findings, idem=secrets.token_hex(12))


@router.post("/counter/settle", response_class=HTMLResponse)
def settle(request: Request, who: Annotated[Principal, Depends(SETTLE)], raw: Posted) -> Response:
    form = bill.BillForm.from_form(raw)
    idem = raw.get("idem")
    lang = page_lang(request)
    if not isinstance(idem, str) or not IDEM.match(idem):
        form.errors["form"] = translator(lang)("请先预结算，再确认结算", "Preview the bill first, then confirm")
        return _page(request, form, status_code=422)
    pack = pack_of(request)

    key = ledger.message_key("web", who.username, idem)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        if form.uses_visit:
            visit, _ = visits.visit_of_person(s, form.values["person"], form.values["mdtrt_id"])
            done = visits.settle_visit(s, pack, visit, who.username, key, "web")
        else:
            body = form.claim_in(lang)
            if body is None:
                raise _FormErrors()
            done = settlements.settle(s, pack, body, who, key, mdtrt_id=None, channel="web")
        return {"setl_id": done.entry.setl_id}, f"settle:{done.entry.setl_id}"

    try:
        answer, _ = settlements.once(db_of(request), key, "settle", who.username, form.values, work)
    except _FormErrors:
        return _page(request, form, status_code=422)
    except InputError as e:
        form.add(e, lang)
        return _page(request, form, status_code=422)
    return RedirectResponse(f"/settlements/{answer['setl_id']}?settled=1", status_code=303)


@router.get("/counter/day.xlsx")
def my_day(request: Request, who: Annotated[Principal, Depends(SETTLE)], day: Annotated[date | None, Query()] = None) -> Response:
    """The signed-in clerk's own settlements and reversals of a Beijing day (today unless ``day``), totals per fund."""
    day = day or beijing_today()
    with db_of(request).unit_of_work() as s:
        rows = counter_day.day_rows(s, who.username, day)
    lang = page_lang(request)
    data = counter_day.day_workbook(rows, who.username, day, lang, made_at=ledger.now())
    name = translator(lang)("结算日报", "settlements") + f"-{who.username}-{day.isoformat()}.xlsx"
    return download(data, name, ascii_name=f"settlements-{day.isoformat()}.xlsx", no_store=True)


class _FormErrors(Exception):
    """The bill form has errors (in ``BillForm.errors``): nothing is written."""


def _compute(
    s: Session, request: Request, who: Principal, form: bill.BillForm, lang: str
) -> tuple[Settlement, audit_counter.CounterAudit] | None:
    """The pre-settlement of the bill on the form and its audit, or ``None`` when the form has errors."""
    pack = pack_of(request)
    if form.uses_visit:
        visit, _ = visits.visit_of_person(s, form.values["person"], form.values["mdtrt_id"])
        return visits.audited_preview(s, pack, visit)
    body = form.claim_in(lang)
    if body is None:
        return None
    return settlements.preview(s, pack, body, who)


def _page(
    request: Request, form: bill.BillForm, *, result: Settlement | None = None, idem: str | None = None, status_code: int = 200,
    findings: list[dict[str, Any]] | None = None, page: int = 1,
) -> HTMLResponse:  # fmt: skip
    pack = pack_of(request)
    lang = page_lang(request)
    context: dict[str, Any] = {
        "form": form,
        "values": form.values,
        "errors": form.errors,
        "fee_rows": form.fee_rows(),
        "fee_headings": [pick(bill.FEE_HEADINGS[c], lang) for c in bill.FEE_COLUMNS],
        "fee_problems": form.fee_problems(lang),
        "options": _options(lang),
        "result": result,
        "findings": findings or [],
        "idem": idem,
        "amount_fields": ledger.AMOUNTS,
        "trace": render_trace(result.trace, lang) if result else [],
        "person": None,
        "candidates": None,
        "visits": [],
        "visit": None,
        "today": beijing_today().isoformat(),
    }
    with db_of(request).unit_of_work() as s:
        context["institutions"] = [(i.fixmedins_code, i.fixmedins_name + paren(i.fixmedins_code, lang)) for i in institutions(s)]
        key = form.values["person"]
        if key:
            found = _choose_person(s, key, form, lang, page)
            if isinstance(found, PeopleFound):
                context["candidates"] = found
            elif found is not None:
                form.values["person"] = found.psn_no
                context["person"] = _person_card(s, found, form, policy_day(pack), lang)
                context["visits"] = visits.open_visits(s, found)
                context["visit"] = next((v for v in context["visits"] if v["mdtrt_id"] == form.values["mdtrt_id"]), None)
    return render(request, "counter.html.j2", context, status_code=status_code)


def _choose_person(s: Session, key: str, form: bill.BillForm, lang: str, page: int) -> Person | PeopleFound | None:
    """The one person ``key`` names (ID number, person number, or a search only one person matches), else a page of
    the people it matches (:func:`yibao.app.registry.find_people`); ``None`` with the error on the form."""
    try:
        return find_person(s, key)
    except NotFound:
        pass
    try:
        found = find_people(s, key, page)
    except InputError as e:
        form.errors.setdefault("person", bill.error_text(e, lang))
        return None
    if found.total == 1:
        return found.people[0]
    if not found.total:
        form.errors.setdefault(
            "person",
            translator(lang)(
                "没有找到此人（请输入完整身份证号、身份证号后 4–6 位加姓名，或姓名）",
                "Nobody found (full ID number, its last 4–6 characters with the name, or the name)",
            ),
        )
        return None
    return found


def _person_card(s: Session, p: Person, form: bill.BillForm, day: date, lang: str) -> dict[str, Any]:
    """Who is being settled: identities and enrolment on the bill's date (or ``day``)."""
    try:
        bill_day = date.fromisoformat(form.values["setl_date"])
    except ValueError:
        bill_day = day
    enrolled = s.scalar(
        sa.select(sa.func.count())
        .select_from(Enrolment)
        .where(Enrolment.person_id == p.id, Enrolment.year == bill_day.year, Enrolment.psn_insu_stas == "1")
    )
    held = identities_on(s, p.id, bill_day)
    return {
        "psn_no": p.psn_no,
        "psn_name": p.psn_name,
        "certno": p.certno,
        "identities": [identity_label(i.category, lang) for i in held],
        "year": bill_day.year,
        "enrolled": bool(enrolled),
    }


def institutions(s: Session) -> list[Institution]:
    return list(s.scalars(sa.select(Institution).order_by(Institution.hosp_lv.desc(), Institution.fixmedins_code)))


def _options(lang: str) -> dict[str, list[tuple[str, str]]]:
    def pairs(known: dict[str, tuple[str, str]], with_code: bool = True) -> list[tuple[str, str]]:
        return [(k, (f"{k} " if with_code else "") + pick(said, lang)) for k, said in known.items()]

    t = translator(lang)
    return {
        "med_type": pairs(vocab.MED_TYPES),
        "hosp_lv": [("", t("（按定点机构）", "(from the institution)")), *pairs(vocab.HOSP_LEVELS, with_code=False)],
        "place": [("", t("（按定点机构）", "(from the institution)")), *pairs(vocab.PLACES, with_code=False)],
        "lv": pairs(vocab.CHRGITM_LV, with_code=False),
    }
