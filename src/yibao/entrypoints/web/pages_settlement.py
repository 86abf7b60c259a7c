"""One settlement: every payer, the trace, the slip, and the reversal with a reason."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import ledger, settlements, slips
from yibao.app.auth import NotPermitted, Principal
from yibao.core import vocab
from yibao.core.errors import InputError, NotFound
from yibao.entrypoints.common.downloads import slip_pdf_response
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of
from yibao.entrypoints.web.forms import reversal_form
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import PageRefused, page_user
from yibao.settlement.settle import FUND_PAY_TYPE
from yibao.store.service_tables import Institution, LedgerEntry
from yibao.store.tables import Person

router = APIRouter()

SETL_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
TIER_EN = dict(vocab.TIERS.values())
FUND_TIER = {code: tier for (tier, _), code in FUND_PAY_TYPE.items()}
"""The payer (tier) of each ``fund_pay_type``."""
"""The ledger keeps tier names in Chinese and each sentence in Chinese and English (entries before 0.2 in Chinese only)."""


@router.get("/settlements/{setl_id}", response_class=HTMLResponse)
def settlement_page(
    request: Request,
    setl_id: str,
    who: Annotated[Principal, Depends(page_user("settle.read"))],
    settled: str = "",
    reversed: str = "",
) -> HTMLResponse:
    return _page(request, setl_id, notice="settled" if settled else "reversed" if reversed else "")


@router.post("/settlements/{setl_id}/reverse", response_class=HTMLResponse)
def reverse(
    request: Request,
    setl_id: str,
    who: Annotated[Principal, Depends(page_user("reverse"))],
    reason: Annotated[str, Form(max_length=1000)] = "",
    idem: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if not SETL_ID.match(setl_id):
        return _not_found(request, setl_id)
    lang = page_lang(request)
    t = translator(lang)
    reason, problem = reversal_form(reason, idem, t)
    values = {"reason": reason}
    if problem:
        return _page(request, setl_id, values, {"reason": problem}, status_code=422)

    key = ledger.message_key("web", who.username, idem)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        done = settlements.reverse(s, setl_id, reason, who, key)  # a hospital's visit opens again for a new settlement
        return {"setl_id": done.setl_id}, f"reverse:{done.setl_id}"

    try:
        settlements.once(db_of(request), key, "reverse", who.username, [setl_id, reason], work)
    except NotPermitted as e:  # an application for assistance needs ``assistance``
        raise PageRefused(e.permission) from None
    except NotFound:
        return _not_found(request, setl_id)
    except InputError as e:
        return _page(request, setl_id, values, {"reason": error_text(e, lang)}, status_code=422)
    return RedirectResponse(f"/settlements/{setl_id}?reversed=1", status_code=303)


@router.get("/settlements/{setl_id}/slip", response_class=HTMLResponse)
def slip_page(request: Request, setl_id: str, who: Annotated[Principal, Depends(page_user("settle.read"))]) -> Response:
    """The existing one-page A4 slip (``/slips/{setl_id}`` for API tokens), for a signed-in window."""
    if not SETL_ID.match(setl_id):
        return _not_found(request, setl_id)
    try:
        return HTMLResponse(slips.render_html(settlements.slip_of(db_of(request), pack_of(request), setl_id, who)))
    except NotFound:
        return _not_found(request, setl_id)


@router.get("/settlements/{setl_id}/slip.pdf")
def slip_pdf(request: Request, setl_id: str, who: Annotated[Principal, Depends(page_user("settle.read"))]) -> Response:
    if not SETL_ID.match(setl_id):
        return _not_found(request, setl_id)
    try:
        slip = settlements.slip_of(db_of(request), pack_of(request), setl_id, who)
    except NotFound:
        return _not_found(request, setl_id)
    return slip_pdf_response(slip)


def _not_found(request: Request, setl_id: str) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t("结算", "settlement"), "key": setl_id[:40]}, status_code=404)


def _page(
    request: Request,
    setl_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> HTMLResponse:
    if not SETL_ID.match(setl_id):
        return _not_found(request, setl_id)
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        entry = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id))
        if entry is None:
            return _not_found(request, setl_id)
        person = s.get(Person, entry.person_id)
        inst = s.get(Institution, entry.fixmedins_code) if entry.fixmedins_code else None
        reversed_by = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.reverses == setl_id))
        s.expunge_all()
    data = ledger.entry_dict(entry)
    context = {
        "e": entry,
        "person": person,
        "institution": inst,
        "reversed_by": reversed_by,
        "amount_fields": ledger.AMOUNTS,
        "trace": [
            (TIER_EN.get(step["tier"], step["tier"]) if lang == "en" else step["tier"], step.get(lang) or step["zh"])
            for step in data["trace"]
        ],
        "setldetail": [
            d | {"label": _fund_label(d["fund_pay_type"], lang), "note": _fund_note(d, data["trace"], lang)}
            for d in data["setldetail"]
        ],
        "values": values or {},
        "errors": errors or {},
        "idem": secrets.token_hex(12),
        "notice": notice,
        "policy_title": _pack_title(request, entry.pack_id, lang),
    }
    return render(request, "settlement.html.j2", context, status_code=status_code)


def _tier(zh: str, lang: str) -> str:
    return TIER_EN.get(zh, zh) if lang == "en" else zh


def _fund_note(detail: dict[str, Any], trace: list[dict[str, str]], lang: str) -> str:
    """How the fund's payment was computed: ``setl_proc_info`` (Chinese), or its trace steps in English."""
    if lang == "zh":
        return str(detail["setl_proc_info"])
    tier = FUND_TIER.get(str(detail["fund_pay_type"]))
    name = vocab.TIERS[tier][0] if tier else None
    return "; ".join(step["en"] for step in trace if step["tier"] == name and step.get("en"))


def _fund_label(code: str, lang: str) -> str:
    return vocab.label(vocab.FUND_PAY_TYPES, code, lang)


def _pack_title(request: Request, pack_id: str, lang: str) -> str:
    pack = pack_of(request)
    if pack.pack_id != pack_id:
        return pack_id
    return pack.title_zh if lang == "zh" else pack.title_en
