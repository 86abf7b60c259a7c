"""补差 in the window: the list of everyone with settlements a late identity changes, a person's preview (per
settlement and fund, before / after / difference), confirm once, the payment's page and its slip (HTML and PDF)."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import backpay, backpay_slip, ledger, settlements
from yibao.app.auth import Principal
from yibao.core.errors import InputError, NotFound
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of
from yibao.entrypoints.web.forms import IDEM
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user

router = APIRouter()

PAY = page_user("backpay")
KEY = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
"""A person's number or a payment's id as the window takes it in a path."""


def _not_found(request: Request, key: str, what: tuple[str, str]) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t(*what), "key": key[:40]}, status_code=404)


@router.get("/backpay", response_class=HTMLResponse)
def pending_page(request: Request, who: Annotated[Principal, Depends(PAY)]) -> HTMLResponse:
    """Everyone with settlements to re-settle after a late identity (待补差)."""
    with db_of(request).reading() as s:
        people = backpay.pending(s, pack_of(request))
    return render(request, "backpay.html.j2", {"mode": "list", "people": people})


def _preview(request: Request, psn_no: str, errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    lang = page_lang(request)
    with db_of(request).reading() as s:
        try:
            plan = backpay.plan(s, pack_of(request), psn_no)
            problem = ""
        except InputError as e:
            if isinstance(e, NotFound):
                raise
            plan, problem = None, error_text(e, lang)
        rows = backpay_slip.rows_of_plan(s, plan) if plan is not None else ()
        person = plan.person if plan is not None else None
        s.expunge_all()
    context = {"mode": "preview", "psn_no": psn_no, "plan": plan, "person": person, "rows": rows,
               "refund": plan.refund if plan else 0, "idem": secrets.token_hex(12),
               "errors": (errors or {}) | ({"plan": problem} if problem else {})}  # fmt: skip
    return render(request, "backpay.html.j2", context, status_code=422 if problem else status)


@router.get("/persons/{psn_no}/backpay", response_class=HTMLResponse)
def preview(request: Request, psn_no: str, who: Annotated[Principal, Depends(PAY)]) -> HTMLResponse:
    """The person's back-pay as it would be paid: per settlement and fund, before, after and the difference."""
    if not KEY.match(psn_no):
        return _not_found(request, psn_no, ("人员", "person"))
    try:
        return _preview(request, psn_no)
    except NotFound:
        return _not_found(request, psn_no, ("人员", "person"))


@router.post("/persons/{psn_no}/backpay", response_class=HTMLResponse)
def confirm(
    request: Request, psn_no: str, who: Annotated[Principal, Depends(PAY)], idem: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Pay the back-pay previewed, exactly once per preview (a double submit pays once)."""
    if not KEY.match(psn_no):
        return _not_found(request, psn_no, ("人员", "person"))
    t = translator(page_lang(request))
    if not IDEM.match(idem):
        return _preview(request, psn_no, {"confirm": t("请先预览，再确认", "Preview first, then confirm")}, 422)
    key = ledger.message_key("web", who.username, idem)
    pack = pack_of(request)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        stem, _ = backpay.pay(s, pack, psn_no, who.username, msgid=key)
        return {"stem": stem}, f"backpay:{stem}"

    try:
        answer, _ = settlements.once(db_of(request), key, "backpay", who.username, [psn_no], work)
    except NotFound:
        return _not_found(request, psn_no, ("人员", "person"))
    except InputError as e:
        return _preview(request, psn_no, {"confirm": error_text(e, page_lang(request))}, 422)
    if answer["stem"] is None:
        return _preview(request, psn_no, {"confirm": t("没有需要补差的结算", "Nothing to pay back")}, 409)
    return RedirectResponse(f"/backpay/{answer['stem']}?paid=1", status_code=303)


def _paid(request: Request, stem: str) -> backpay_slip.BackpaySlip | None:
    if not KEY.match(stem):
        return None
    with db_of(request).unit_of_work() as s:
        try:
            return backpay_slip.build(s, backpay.payment(s, stem))
        except NotFound:
            return None


@router.get("/backpay/{stem}", response_class=HTMLResponse)
def payment_page(request: Request, stem: str, who: Annotated[Principal, Depends(PAY)], paid: str = "") -> HTMLResponse:
    """One back-pay payment: per settlement and fund, before, after and the difference; the slip."""
    slip = _paid(request, stem)
    if slip is None:
        return _not_found(request, stem, ("补差", "back-pay"))
    context = {"mode": "paid", "slip": slip, "rows": slip.rows, "refund": slip.refund, "psn_no": slip.psn_no, "notice": paid}
    return render(request, "backpay.html.j2", context)


@router.get("/backpay/{stem}/slip", response_class=HTMLResponse)
def slip_page(request: Request, stem: str, who: Annotated[Principal, Depends(PAY)]) -> Response:
    slip = _paid(request, stem)
    if slip is None:
        return _not_found(request, stem, ("补差", "back-pay"))
    return HTMLResponse(backpay_slip.render_html(slip))


@router.get("/backpay/{stem}/slip.pdf")
def slip_pdf(request: Request, stem: str, who: Annotated[Principal, Depends(PAY)]) -> Response:
    slip = _paid(request, stem)
    if slip is None:
        return _not_found(request, stem, ("补差", "back-pay"))
    headers = {"Content-Disposition": f'inline; filename="backpay-{slip.stem}.pdf"'}
    return Response(backpay_slip.render_pdf(slip), media_type="application/pdf", headers=headers)
