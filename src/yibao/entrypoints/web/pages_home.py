"""The home page: today's settlements per payer, key figures, and each role's short list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from yibao.app.auth import Principal
from yibao.core.clock import beijing_day_utc, beijing_today
from yibao.core.money import fmt_percent, fmt_yuan
from yibao.core.vocab import field_label
from yibao.entrypoints.web import stats
from yibao.entrypoints.web.charts import relative_bars
from yibao.entrypoints.web.deps import db_of, pack_of
from yibao.entrypoints.web.render import page_lang, render
from yibao.entrypoints.web.session import page_user

router = APIRouter()

HomeExtra = Callable[[Request, Principal], dict[str, Any]]
HOME_EXTRAS: list[HomeExtra] = []
"""More context for the home page (e.g. open warnings): other page modules append a function here; the
template ``home_warnings.html.j2``, when it exists, is included in the home page's ``home_warnings`` block."""

PAYER_CSS = {"hifp_pay": "p-basic", "hifmi_pay": "p-ci", "maf_pay": "p-maf", "oth_pay": "p-tilt", "psn_part_amt": "p-self"}


def payer_bars(by_payer: dict[str, int], lang: str) -> list[Any]:
    return relative_bars([(field_label(p, lang), by_payer[p], fmt_yuan(by_payer[p]), PAYER_CSS[p]) for p in stats.PAYERS])


@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: Annotated[Principal, Depends(page_user())]) -> HTMLResponse:
    db = db_of(request)
    policy_year = pack_of(request).valid_from.year
    lang = page_lang(request)
    today = beijing_today()
    start, end = beijing_day_utc(today)
    mine = who.username if who.role == "clerk" else None
    with db.unit_of_work() as s:
        day = stats.totals(s, stats.recorded_between(start, end))
        year = stats.totals(s, stats.settled_in(policy_year))
        own = stats.totals(s, stats.recorded_between(start, end), user=mine) if mine else None
        rows = stats.recent(s, start, user=mine) if who.can("settle.read") else []
        reversals = stats.recent(s, start, kind="reverse") if who.can("ledger.verify") else []
        people = stats.names(s, {r.psn_no for r in rows + reversals}) if who.can("person.read") else {}
        figures = stats.register_figures(s, policy_year)
    context: dict[str, Any] = {
        "today": today,
        "day": day,
        "year": year,
        "own": own,
        "day_bars": payer_bars(day.by_payer, lang),
        "year_bars": payer_bars(year.by_payer, lang),
        "rows": rows,
        "reversals": reversals,
        "people": people,
        "figures": figures,
        "policy_year": policy_year,
        "fmt_percent": fmt_percent,
    }
    for extra in HOME_EXTRAS:
        context.update(extra(request, who))
    return render(request, "home.html.j2", context)
