"""Looking people up: search by ID number or name, and one person's page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.app import assistance, backpay, filings
from yibao.app.auth import Principal
from yibao.app.position import position
from yibao.app.registry import PeopleFound, PersonView, find_people, find_person, person_view
from yibao.core import vocab
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import paren
from yibao.core.idcard import mask
from yibao.core.money import fmt_yuan
from yibao.core.vocab import field_label
from yibao.entrypoints.web.charts import Bar, share
from yibao.entrypoints.web.deps import db_of, pack_of, policy_day
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import can, page_user
from yibao.policy.categories import identity_label, lapsed_text
from yibao.rules.warning_workflow import KINDS, status_label
from yibao.store.monitoring_tables import WarningCase
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Enrolment, Person

router = APIRouter()


@router.get("/persons", response_class=HTMLResponse)
def persons(
    request: Request,
    who: Annotated[Principal, Depends(page_user("person.read"))],
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    q = q.replace("\x00", "").strip()
    error = ""
    with db_of(request).unit_of_work() as s:
        try:
            found = find_people(s, q, page)
        except InputError as e:
            found, error = PeopleFound([], 0, 1, 1), e.expected_in(page_lang(request))
        people = found.people
        if found.total == 1 and q.upper() in (people[0].certno, people[0].psn_no.upper()):
            return RedirectResponse(f"/persons/{people[0].psn_no}", status_code=303)
        enrolled = _enrolled(s, [p.id for p in people], pack_of(request).valid_from.year)
        rows = [_row(p, p.id in enrolled) for p in people]
    return render(request, "persons.html.j2", {"q": q, "rows": rows, "found": found, "error": error})


def _enrolled(s: Session, ids: list[int], year: int) -> set[int]:
    if not ids:
        return set()
    q = sa.select(Enrolment.person_id).where(Enrolment.person_id.in_(ids), Enrolment.year == year, Enrolment.psn_insu_stas == "1")
    return set(s.scalars(q))


def _row(p: Person, enrolled: bool) -> dict[str, Any]:
    return {
        "psn_no": p.psn_no,
        "certno": mask(p.certno),
        "psn_name": p.psn_name,
        "gend": p.gend,
        "brdy": p.brdy,
        "place": " ".join(x for x in (p.township, p.village) if x),
        "enrolled": enrolled,
    }


@router.get("/persons/{psn_no}", response_class=HTMLResponse)
def person_page(
    request: Request,
    psn_no: str,
    who: Annotated[Principal, Depends(page_user("person.read"))],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    done: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    return person_response(request, who, psn_no, year, {"done": done if done in DONE else ""})


DONE = frozenset({"filed", "screened", "signed"})
"""What the filing forms report after a write (``?done=``)."""


def person_response(
    request: Request,
    who: Principal,
    psn_no: str,
    year: int | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The person's page (``extra``: the filing forms' values, error and notice)."""
    pack = pack_of(request)
    day = policy_day(pack)
    lang = page_lang(request)
    with db_of(request).unit_of_work() as s:
        try:
            if "\x00" in psn_no:  # no one's number (and PostgreSQL cannot compare it)
                raise NotFound("person", "psn_no", psn_no, "a person in the registry")
            person = find_person(s, psn_no[:40])
        except NotFound:
            t = translator(lang)
            return render(request, "not_found.html.j2", {"what": t("人员", "person"), "key": psn_no[:40]}, status_code=404)
        policy = pack.at(day)
        view = person_view(s, person, day, policy, show_certno=who.sees_certno)
        y = year or day.year
        pos = position(s, pack, person, y) if who.can("position.read") else None
        settlements = _settlements(s, person.id) if can(who, "settle.read") else []
        reversals = _reversals(s, [e.setl_id for e in settlements if e.kind != "reverse"])
        warnings = _warnings(s, person.id, lang) if can(who, "warnings.read") else []
        applications = assistance.of_person(s, person.id)
        late = backpay.affected(s, pack, person.id) if can(who, "backpay") else []
        paid_back = backpay.payments_of(s, person.id) if can(who, "backpay") else []
    return render(
        request,
        "person.html.j2",
        {
            "p": view.baseinfo,
            "day": day,
            "today": beijing_today().isoformat(),
            "deciding": identity_label(view.deciding_identity, lang),
            "lapsed": [_lapsed(i, lang) for i in view.lapsed],
            "history": [_identity_item(i, day, lang) for i in view.identity_history],
            "enrolments": view.enrolments,
            "chronic": [f | {"kind_label": filings.kind_label(f["kind"], lang)} for f in view.chronic_filings],
            "screenings": view.screenings,
            "catalogue": filings.catalogue_rows(policy, lang),
            "cross": [f | {"kind_label": vocab.label(vocab.FILING_KINDS, f["kind"], lang)} for f in view.cross_filings],
            "attributes": _attributes(view, lang),
            "position": pos,
            "position_bars": _position_bars(pos, lang) if pos else [],
            "year": y,
            "settlements": settlements,
            "reversals": reversals,
            "warnings": warnings,
            "applications": applications,
            "late": late,
            "paid_back": paid_back,
            "form": {"name": "", "values": {}, "errors": {}, "done": ""} | (extra or {}),
        },
        status_code=status_code,
    )


def _attributes(view: PersonView, lang: str) -> list[dict[str, Any]]:
    """Resident tiers, institutions chosen and family-doctor contracts as rows of one table."""
    tier = vocab.label(vocab.FIELDS_PERSON, "resident_tier", lang)
    doctor = vocab.label(vocab.FIELDS_PERSON, "family_doctor", lang)
    rows = [r | {"what": tier, "value": vocab.label(vocab.RESIDENT_TIERS, r["tier"], lang)} for r in view.resident_tiers]
    rows += [
        r | {"what": vocab.label(vocab.INSTITUTION_ROLES, r["role"], lang), "value": r["fixmedins_code"]}
        for r in view.institutions
    ]
    rows += [r | {"what": doctor, "value": r["fixmedins_code"] or "—"} for r in view.family_doctor]
    return rows


def _lapsed(i: dict[str, Any], lang: str) -> str:
    return lapsed_text(i["category"], i["valid_from"], i["validity_months"], i["held_to"], lang)


def _identity_item(i: dict[str, Any], day: date, lang: str) -> dict[str, Any]:
    """A timeline entry; one recorded as valid on ``day`` whose recognition lapsed (``identity_validity``) is not current."""
    recorded = i["valid_from"] <= day.isoformat() and (i["valid_to"] is None or i["valid_to"] >= day.isoformat())
    return i | {
        "label": identity_label(i["category"], lang),
        "current": recorded and not i["lapsed"] and i["ended_at"] is None,
        "why_lapsed": _lapsed(i, lang) if i["lapsed"] else None,
    }


def _position_bars(pos: dict[str, Any], lang: str) -> list[Bar]:
    """Each payer's year-to-date payments against its cap (an uncapped payer: no track, no bar)."""
    t = translator(lang)
    bars = []
    for row in pos["payers"]:
        paid, cap = row["paid"], row["cap"]
        classes = [vocab.label(vocab.INSTITUTION_CLASSES, c, "en") for c in row.get("institutions") or ()]
        where = ", at " + ", ".join(classes) if classes else ""
        group = f" ({row['group']}{where})" if "group" in row else " (major disease)" if row.get("major") else ""
        name = row["label_zh"] if lang == "zh" else field_label(row["payer"], "en") + group
        if cap is None:
            bars.append(Bar(name, 0.0, fmt_yuan(paid) + paren(t("不封顶", "no cap"), lang)))
        else:
            text = f"{fmt_yuan(paid)} / {fmt_yuan(cap)}"
            bars.append(Bar(name, share(paid, cap), text, track=True, cls="over" if paid >= cap else ""))
        if row.get("cost_ceiling") is not None:  # 最高支付限额 on covered cost: the cost counted against it
            covered, ceiling = row["covered_cost"], row["cost_ceiling"]
            name = row["label_zh"] + "最高支付限额" if lang == "zh" else f"{field_label(row['payer'], 'en')}{group}, cost ceiling"
            text = f"{fmt_yuan(covered)} / {fmt_yuan(ceiling)}"
            bars.append(Bar(name, share(covered, ceiling), text, track=True, cls="over" if covered >= ceiling else ""))
    return bars


def _settlements(s: Session, person_id: int) -> list[LedgerEntry]:
    q = sa.select(LedgerEntry).where(LedgerEntry.person_id == person_id).order_by(LedgerEntry.id.desc()).limit(200)
    return list(s.scalars(q))


def _reversals(s: Session, setl_ids: list[str]) -> dict[str, str]:
    """Which of ``setl_ids`` a reversal undid, and by which (冲正 / 已冲正 marks on the list)."""
    if not setl_ids:
        return {}
    q = sa.select(LedgerEntry.reverses, LedgerEntry.setl_id).where(LedgerEntry.reverses.in_(setl_ids))
    return {str(original): by for original, by in s.execute(q)}


def _warnings(s: Session, person_id: int, lang: str) -> list[dict[str, Any]]:
    """The person's high-cost warnings and candidacies, newest first."""
    q = sa.select(WarningCase).where(WarningCase.person_id == person_id).order_by(WarningCase.id.desc())
    return [
        {"id": w.id, "year": w.year, "kind": KINDS[w.kind][0 if lang == "zh" else 1], "status": w.status,
         "status_label": status_label(w.status, lang), "measure_amt": w.measure_amt, "threshold_amt": w.threshold_amt,
         "first_period": w.first_period}
        for w in s.scalars(q)
    ]  # fmt: skip
