"""疑似同人异号 in the window: the pairs the identity import flagged, both records side by side with their sources,
and the decision — merge into one record, keep apart, or undo the last decision — each with who, when and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.app import conflicts
from yibao.app.auth import Principal
from yibao.core.errors import InputError, NotFound
from yibao.core.vocab import CONFLICT_ACTIONS, CONFLICT_STATUSES, label
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.store.db import Database

router = APIRouter()

REVIEW = page_user("imports")
MAX_ID = 2**31 - 1
ConflictId = Annotated[int, Path(ge=1, le=MAX_ID)]
SHOWN = ("open", "kept", "merged", "all")


def _labels(lang: str) -> dict[str, Any]:
    return {
        "status_label": lambda code: label(CONFLICT_STATUSES, code, lang),
        "action_label": lambda code: label(CONFLICT_ACTIONS, code, lang),
    }


@router.get("/conflicts", response_class=HTMLResponse)
def conflicts_page(request: Request, who: Annotated[Principal, Depends(REVIEW)]) -> HTMLResponse:
    lang = page_lang(request)
    status = request.query_params.get("status", "open")
    status = status if status in SHOWN else "open"
    with db_of(request).reading() as s:
        pairs = conflicts.list_conflicts(s, None if status == "all" else status)
        counts = conflicts.counts(s)
    context = {"pairs": pairs, "counts": counts, "status": status, "shown": SHOWN} | _labels(lang)
    return render(request, "conflicts.html.j2", context)


def _detail(request: Request, conflict_id: int, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            notice: str = "", status_code: int = 200) -> HTMLResponse:  # fmt: skip
    lang = page_lang(request)
    t = translator(lang)
    try:
        with db_of(request).reading() as s:
            pair = conflicts.get(s, conflict_id)
    except NotFound:
        what = t("疑似同人异号", "identity conflict")
        return render(request, "not_found.html.j2", {"what": what, "key": str(conflict_id)}, status_code=404)
    context = {
        "pair": pair,
        "errors": errors or {},
        "values": values or {"keep": "", "reason": ""},
        "notice": notice,
        "max_reason": conflicts.MAX_REASON,
    } | _labels(lang)
    return render(request, "conflict.html.j2", context, status_code=status_code)


@router.get("/conflicts/{conflict_id}", response_class=HTMLResponse)
def conflict_page(request: Request, conflict_id: ConflictId, who: Annotated[Principal, Depends(REVIEW)]) -> HTMLResponse:
    done = request.query_params.get("done", "")
    return _detail(request, conflict_id, notice=done if done in CONFLICT_ACTIONS else "")


def _decide(
    request: Request, conflict_id: int, form: Posted, action: str, act: Callable[[Database, str, str], conflicts.Decision]
) -> Response:
    """Make one decision from the posted form; the page again with the reasons when it is refused (nothing written)."""
    lang = page_lang(request)
    values = {
        "keep": clean(form.get("keep"), 18),
        "reason": clean(form.get("reason"), conflicts.MAX_REASON + 1),
        "action": action,
    }
    try:
        act(db_of(request), values["keep"], values["reason"])
    except conflicts.DecisionRefused as exc:
        return _detail(request, conflict_id, errors={action: exc.render(lang)}, values=values, status_code=409)
    except NotFound:
        return _detail(request, conflict_id, status_code=404)
    except InputError as exc:
        return _detail(request, conflict_id, errors={action: error_text(exc, lang)}, values=values, status_code=422)
    return RedirectResponse(f"/conflicts/{conflict_id}?done={action}", status_code=303)


@router.post("/conflicts/{conflict_id}/merge", response_class=HTMLResponse)
def merge(request: Request, conflict_id: ConflictId, who: Annotated[Principal, Depends(REVIEW)], form: Posted) -> Response:
    return _decide(
        request, conflict_id, form, "merge", lambda db, keep, why: conflicts.merge(db, conflict_id, keep, why, who.username)
    )


@router.post("/conflicts/{conflict_id}/keep", response_class=HTMLResponse)
def keep(request: Request, conflict_id: ConflictId, who: Annotated[Principal, Depends(REVIEW)], form: Posted) -> Response:
    return _decide(
        request, conflict_id, form, "keep", lambda db, _k, why: conflicts.keep_apart(db, conflict_id, why, who.username)
    )


@router.post("/conflicts/{conflict_id}/undo", response_class=HTMLResponse)
def undo(request: Request, conflict_id: ConflictId, who: Annotated[Principal, Depends(REVIEW)], form: Posted) -> Response:
    return _decide(request, conflict_id, form, "undo", lambda db, _k, why: conflicts.undo(db, conflict_id, why, who.username))
