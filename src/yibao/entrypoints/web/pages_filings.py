"""The clerk's filing forms on the person page: a 门诊慢特病 filing (a disease picked from the pack's lists, the
diagnosing institution and doctor, a start date and, when back-dated, the reason), a change of the filing's signed
institutions (once a month) and the screening record (病情信息表) of a person examined who does not qualify. Every
write is recorded with who and when; a refused form comes back on the person page with the field named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import filings
from yibao.app.auth import Principal
from yibao.app.registry import find_person
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, NotFound
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.deps import db_of, pack_of
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.pages_person import person_response
from yibao.entrypoints.web.render import page_lang
from yibao.entrypoints.web.session import page_user
from yibao.policy.in_force import policy_or_first
from yibao.store.tables import Person

router = APIRouter()

FILE = page_user("filing.write")
LIMITS = {"backdate_reason": 255, "condition": 500, "doctor": 64}


def _values(form: Posted, names: tuple[str, ...]) -> dict[str, str]:
    return {n: clean(form.get(n), LIMITS.get(n, 64) + 1) for n in names}


def _code(text: str) -> str:
    """The code of a disease picked from the list (``I10 高血压 · 门诊慢性病`` or typed ``I10``)."""
    return text.split()[0] if text.split() else ""


def _day(text: str, field: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(where, field, text, "YYYY-MM-DD 格式的日期 / a date written YYYY-MM-DD") from None


def _write(
    request: Request,
    who: Principal,
    psn_no: str,
    name: str,
    values: dict[str, str],
    done: str,
    work: Callable[[Session, Person], object],
) -> Response:
    """Run ``work`` for the person in one transaction; back to the person page, with the refusal on form ``name``."""
    try:
        with db_of(request).unit_of_work() as s:
            person = find_person(s, psn_no[:40])
            work(s, person)
            s.commit()
    except NotFound as e:
        if e.field == "psn_no":
            return person_response(request, who, psn_no)
        return _refused(request, who, psn_no, name, values, e)
    except InputError as e:
        return _refused(request, who, psn_no, name, values, e)
    return RedirectResponse(f"/persons/{psn_no}?done={done}#filings", status_code=303)


def _refused(request: Request, who: Principal, psn_no: str, name: str, values: dict[str, str], e: InputError) -> HTMLResponse:
    form = {"name": name, "values": values, "errors": {e.field: error_text(e, page_lang(request))}}
    return person_response(request, who, psn_no, extra=form, status_code=422)


FILING_FIELDS = ("dise_codg", "fixmedins_code", "doctor", "begin", "backdate_reason", "signed1", "signed2")


@router.post("/persons/{psn_no}/chronic-filings", response_class=HTMLResponse)
def file_chronic(request: Request, psn_no: str, who: Annotated[Principal, Depends(FILE)], form: Posted) -> Response:
    values = _values(form, FILING_FIELDS)

    def work(s: Session, person: Person) -> object:
        begin = _day(values["begin"], "begin", filings.WHERE)
        what = filings.FilingIn(
            _code(values["dise_codg"]),
            values["fixmedins_code"],
            values["doctor"],
            begin,
            values["backdate_reason"] or None,
            (values["signed1"], values["signed2"]),
        )
        return filings.file_chronic(s, person, policy_or_first(pack_of(request), begin), what, who.username, beijing_today())

    return _write(request, who, psn_no, "filing", values, "filed", work)


@router.post("/persons/{psn_no}/chronic-filings/{filing_id}/signed", response_class=HTMLResponse)
def change_signed(
    request: Request,
    psn_no: str,
    filing_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    who: Annotated[Principal, Depends(FILE)],
    form: Posted,
) -> Response:
    values = _values(form, ("signed1", "signed2"))

    def work(s: Session, person: Person) -> object:
        f = filings.filing_of(s, person, filing_id)
        return filings.change_signed(s, f, (values["signed1"], values["signed2"]), who.username, beijing_today())

    return _write(request, who, psn_no, f"signed-{filing_id}", values, "signed", work)


SCREENING_FIELDS = ("dise_codg", "condition", "fixmedins_code", "doctor", "examined_on")


@router.post("/persons/{psn_no}/screenings", response_class=HTMLResponse)
def screening(request: Request, psn_no: str, who: Annotated[Principal, Depends(FILE)], form: Posted) -> Response:
    values = _values(form, SCREENING_FIELDS)

    def work(s: Session, person: Person) -> object:
        day = _day(values["examined_on"], "examined_on", filings.WHERE_SCREENING)
        what = filings.ScreeningIn(
            values["condition"], values["fixmedins_code"], values["doctor"], day, _code(values["dise_codg"])
        )
        return filings.add_screening(s, person, policy_or_first(pack_of(request), day), what, who.username, beijing_today())

    return _write(request, who, psn_no, "screening", values, "screened", work)
