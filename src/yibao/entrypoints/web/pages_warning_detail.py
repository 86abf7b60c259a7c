"""One warning: the person, the rule, the amounts, the settlements that count, the events, and a form for
each step the workflow allows next (push, confirm, assistance, close)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import warnings as svc
from yibao.app.auth import Principal
from yibao.app.warning_views import event_dict, warning_dict
from yibao.core.errors import InputError, NotFound
from yibao.core.money import fmt_yuan, yuan_to_fen
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.pages_warnings import READ, WORK, bureau_options, chosen_bureaus
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.policy.schema import WarningRule
from yibao.rules.warning_workflow import NEXT, STATUSES, status_label
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

router = APIRouter()

MAX_ID = 2**31 - 1
FORM_OF = {"pushed": "push", "at_risk": "confirm", "not_at_risk": "confirm", "assisted": "assist", "closed": "close"}
"""The form on the page that asks for each next status (confirm at risk / not at risk share one)."""
FIELD_OF_ERROR = {"bureau": "bureau", "amount": "amount", "setl_id": "setl_id", "on": "confirm_on"}
"""Where a workflow error (``InputError.field``) is shown; ``note`` goes beside the form's own note."""


@router.get("/warnings/{warning_id:int}", response_class=HTMLResponse)
def warning_page(request: Request, warning_id: int, who: Annotated[Principal, Depends(READ)]) -> HTMLResponse:
    done = request.query_params.get("done", "")
    notice = ""
    if done in STATUSES:
        notice = translator(page_lang(request))("已记录：", "Recorded: ") + status_label(done, page_lang(request))
    return _page(request, who, warning_id, notice=notice)


@router.post("/warnings/{warning_id:int}/step", response_class=HTMLResponse)
def step(request: Request, warning_id: int, who: Annotated[Principal, Depends(WORK)], form: Posted) -> Response:
    if warning_id > MAX_ID:  # no such warning (and beyond the database's integers)
        return _not_found(request, warning_id)
    lang = page_lang(request)
    t = translator(lang)
    to = clean(form.get("to"), 16)
    name = FORM_OF.get(to)
    if name is None:
        return _page(request, who, warning_id, errors={"form": t("未知的下一步", "Unknown next step")}, status_code=422)
    values = {
        "note": clean(form.get(f"{name}_note"), 600),
        "amount": clean(form.get("amount"), 20),
        "setl_id": clean(form.get("setl_id"), 40),
        "confirm_on": clean(form.get("confirm_on"), 10),
    }
    errors: dict[str, str] = {}
    bureaus = chosen_bureaus([clean(b) for b in form.getlist("bureau")], errors, lang) if to == "pushed" else []
    amount = _amount(values["amount"], errors, lang) if to == "assisted" else None
    on = _day(values["confirm_on"], errors, lang) if to == "at_risk" else None
    if not errors:
        try:
            with db_of(request).unit_of_work() as s:
                note, setl_id = values["note"] or None, values["setl_id"] or None
                svc.step(
                    s, warning_id, to, who.username, bureaus=bureaus, note=note, amount=amount, setl_id=setl_id, source="web",
                    pack=pack_of(request), on=on,
                )  # fmt: skip
                s.commit()
        except NotFound:
            return _not_found(request, warning_id)
        except InputError as e:
            where = FIELD_OF_ERROR.get(e.field, f"{name}_note" if e.field == "note" else "form")
            errors[where] = error_text(e, lang)
    if errors:
        kept = {
            f"{name}_note": values["note"], "amount": values["amount"], "setl_id": values["setl_id"],
            "confirm_on": values["confirm_on"],
        }  # fmt: skip
        return _page(request, who, warning_id, values=kept | {"bureau": bureaus}, errors=errors, status_code=422)
    return RedirectResponse(f"/warnings/{warning_id}?done={to}#events", status_code=303)


def _day(text: str, errors: dict[str, str], lang: str) -> date | None:
    """The day the risk was confirmed, as the form's date field sends it (``None``: left empty, today)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors["confirm_on"] = translator(lang)("应为日期，写作 YYYY-MM-DD", "A date written YYYY-MM-DD")
        return None


def _amount(text: str, errors: dict[str, str], lang: str) -> int | None:
    t = translator(lang)
    if not text:
        errors["amount"] = t("请填写倾斜救助金额（元）", "Enter the amount of assistance (yuan)")
        return None
    try:
        fen = yuan_to_fen(text)
    except (ValueError, ArithmeticError):
        errors["amount"] = t(
            "应为金额（元），至多两位小数，如 1200.50", "An amount in yuan with at most two decimals, e.g. 1200.50"
        )
        return None
    if fen <= 0:
        errors["amount"] = t("金额应大于 0", "The amount must be more than 0")
        return None
    return fen


def _not_found(request: Request, warning_id: int) -> HTMLResponse:
    t = translator(page_lang(request))
    return render(request, "not_found.html.j2", {"what": t("预警", "warning"), "key": str(warning_id)}, status_code=404)


def _standing(s: Session, person_id: int) -> list[LedgerEntry]:
    """The person's settlements that stand (not reversed), newest first: what assistance may be paid by."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.reverses.is_not(None))
    q = (
        sa.select(LedgerEntry)
        .where(LedgerEntry.person_id == person_id, LedgerEntry.kind == "settle", LedgerEntry.setl_id.not_in(reversed_ids))
        .order_by(LedgerEntry.setl_date.desc(), LedgerEntry.id.desc())
        .limit(200)
    )
    return list(s.scalars(q))


def _counted(s: Session, setl_ids: list[str]) -> list[LedgerEntry]:
    if not setl_ids:
        return []
    q = sa.select(LedgerEntry).where(LedgerEntry.setl_id.in_(setl_ids)).order_by(LedgerEntry.setl_date, LedgerEntry.id)
    return list(s.scalars(q))


def _page(
    request: Request,
    who: Principal,
    warning_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    if warning_id > MAX_ID:
        return _not_found(request, warning_id)
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        w = s.get(WarningCase, warning_id)
        if w is None:
            return _not_found(request, warning_id)
        p = s.get(Person, w.person_id)
        assert p is not None
        row = warning_dict(w, p, who, lang, svc.recorded_identities(s, [w.id]).get(w.id))
        events = [
            event_dict(e, lang) | {"from_label": status_label(e.from_status or "", lang)} for e in svc.events_of(s, warning_id)
        ]
        counted = _counted(s, json.loads(w.setl_ids))
        standing = _standing(s, w.person_id) if "assisted" in NEXT[w.status] else []
        s.expunge_all()
    rule = _rule(request, w.rule)
    context: dict[str, Any] = {
        "w": row,
        "rule": (rule.label_zh if lang == "zh" else rule.label_en) if rule else w.rule,
        "events": events,
        "counted": counted,
        "standing": [(e.setl_id, _settlement_text(e, lang)) for e in standing],
        "next": NEXT[w.status],
        "values": values or {"bureau": list(rule.push_to) if rule else []},
        "errors": errors or {},
        "bureaus": bureau_options(lang),
        "notice": notice,
    }
    return render(request, "warning.html.j2", context, status_code=status_code)


def _rule(request: Request, key: str) -> WarningRule | None:
    pack = pack_of(request)
    mon = pack.at(pack.valid_from).monitoring
    return mon.rules.get(key) if mon else None


def _settlement_text(e: LedgerEntry, lang: str) -> str:
    t = translator(lang)
    return f"{e.setl_id} · {e.setl_date.isoformat()} · {t('总费用', 'total')} {fmt_yuan(e.medfee_sumamt)} {t('元', 'yuan')}"
