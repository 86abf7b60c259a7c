"""One warning: the person, the rule, the amounts, the settlements that count, the events, and a form for
each step the workflow allows next (push, confirm, assistance, close); for a person confirmed at risk, the
tilted-assistance identity; for one who may apply, the way to the application for assistance with the warning's
window prefilled (:mod:`yibao.entrypoints.web.pages_assistance` decides it and records it on the warning)."""

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
from yibao.app.warning_views import event_dict, warning_dicts
from yibao.core.errors import InputError, NotFound
from yibao.core.money import fmt_yuan, yuan_to_fen
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.pages_warnings import READ, WORK, bureau_options, chosen_bureaus
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.policy.categories import identity_label
from yibao.policy.schema import WarningRule
from yibao.rules.warning_workflow import STATUSES, next_of, status_label
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

router = APIRouter()

MAX_ID = 2**31 - 1
FORM_OF = {"pushed": "push", "at_risk": "confirm", "not_at_risk": "confirm", "assisted": "assist", "closed": "close"}
"""The form on the page that asks for each next status (confirm at risk / not at risk share one)."""
FIELD_OF_ERROR = {
    "bureau": "bureau", "amount": "amount", "setl_id": "setl_id", "on": "confirm_on", "category": "category",
    "valid_from": "valid_from", "valid_to": "valid_to",
}  # fmt: skip
"""Where a workflow error (``InputError.field``) is shown; ``note`` goes beside the form's own note."""


@router.get("/warnings/{warning_id:int}", response_class=HTMLResponse)
def warning_page(request: Request, warning_id: int, who: Annotated[Principal, Depends(READ)]) -> HTMLResponse:
    done = request.query_params.get("done", "")
    notice = ""
    t = translator(page_lang(request))
    if done in STATUSES:
        notice = t("已记录：", "Recorded: ") + status_label(done, page_lang(request))
    elif done == "identity":
        notice = t("已登记倾斜救助身份。", "Tilted-assistance identity recorded.")
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
    amount = _amount(values["amount"], errors, lang) if to == "assisted" and values["amount"] else None
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


@router.post("/warnings/{warning_id:int}/identity", response_class=HTMLResponse)
def grant_identity(request: Request, warning_id: int, who: Annotated[Principal, Depends(WORK)], form: Posted) -> Response:
    """Give the person confirmed at risk a tilted-assistance identity (:func:`yibao.app.warnings.grant_tilted_identity`)."""
    if warning_id > MAX_ID:
        return _not_found(request, warning_id)
    lang = page_lang(request)
    values = {k: clean(form.get(k), 32) for k in ("category", "valid_from", "valid_to")}
    errors: dict[str, str] = {}
    first = _day(values["valid_from"], errors, lang, "valid_from")
    if first is None and "valid_from" not in errors:
        errors["valid_from"] = translator(lang)("请填写起始日期", "Enter the first day")
    last = _day(values["valid_to"], errors, lang, "valid_to")
    if not errors and first is not None:
        try:
            with db_of(request).unit_of_work() as s:
                pack = pack_of(request)
                svc.grant_tilted_identity(s, pack, warning_id, values["category"], first, last, who.username, source="web")
                s.commit()
        except NotFound:
            return _not_found(request, warning_id)
        except InputError as e:
            errors[FIELD_OF_ERROR.get(e.field, "form")] = error_text(e, lang)
    if errors:
        return _page(request, who, warning_id, values=values, errors=errors, status_code=422)
    return RedirectResponse(f"/warnings/{warning_id}?done=identity#events", status_code=303)


def _day(text: str, errors: dict[str, str], lang: str, name: str = "confirm_on") -> date | None:
    """A day as the form's date field ``name`` sends it (``None``: left empty)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = translator(lang)("应为日期，写作 YYYY-MM-DD", "A date written YYYY-MM-DD")
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
        row = warning_dicts(s, [(w, p)], who, lang)[0]
        events = [
            event_dict(e, lang) | {"from_label": status_label(e.from_status or "", lang)} for e in svc.events_of(s, warning_id)
        ]
        counted = _counted(s, json.loads(w.setl_ids))
        steps = next_of(w.status, w.kind)
        paying = svc.help_entries(s, w.person_id) if "assisted" in steps else []
        s.expunge_all()
    rule = _rule(request, w.rule)
    pack = pack_of(request)
    apply_on = policy_day(pack)
    terms = pack.at(apply_on).assistance
    may_apply = "assisted" in steps and terms is not None and terms.on_application is not None
    tilted = svc.tilted_categories(pack, apply_on) if w.at_risk and w.status != "closed" else ()
    context: dict[str, Any] = {
        "w": row,
        "rule": (rule.label_zh if lang == "zh" else rule.label_en) if rule else w.rule,
        "events": events,
        "counted": counted,
        "paying": [(e.setl_id, _settlement_text(e, lang)) for e in paying],
        "next": steps,
        "values": values or {"bureau": list(rule.push_to) if rule else [], "valid_from": apply_on.isoformat()},
        "apply_link": f"/persons/{w.psn_no}/assistance?on={apply_on}&warning={w.id}" if may_apply else None,
        "apply_on": apply_on,
        "tilted": [(c, identity_label(c, lang)) for c in tilted],
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
    """An entry that paid help, as the assistance form lists it: what it was and what it paid."""
    t = translator(lang)
    what = t("依申请救助", "assistance on application") if e.kind == "apply" else t("倾斜救助", "tilted assistance")
    return f"{e.setl_id} · {e.setl_date.isoformat()} · {what} {fmt_yuan(svc.help_paid(e))} {t('元', 'yuan')}"
