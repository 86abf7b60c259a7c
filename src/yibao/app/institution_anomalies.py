"""Institution anomalies from the ledger (机构异常监测): the query, the data read, the charts.

For a year (or one month of it), the claims frame (:func:`yibao.store.claims.from_ledger`) is read from
:data:`yibao.audit.institutions.Params.trend_months` months before the period (each month's own past,
and earlier discharges for the readmissions) to its end, with each admission's dates (the visit's
``begntime``/``endtime``), the settled fee lines and the catalogue's kind of each item (the audit pack in
force). :func:`yibao.audit.institutions.analyse` compares; flags are kept for the period's months only.
Peers are the institutions of the same ``hosp_lv`` (the ``institution`` table, else the ledger's).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.audit_pack import pack_in_force
from yibao.audit.indicators import BY_CODE
from yibao.audit.institutions import (
    DEFAULT_PARAMS,
    DIRECTION_LABELS,
    FEE_KINDS,
    FEES_SCHEMA,
    KIND_LABELS,
    Anomalies,
    Params,
    analyse,
    indicator_label,
    month_index,
    shown,
)
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import pick
from yibao.core.vocab import HOSP_LEVELS, label
from yibao.policy.pack import PolicyPack
from yibao.store.audit_tables import KnowledgeImport
from yibao.store.claims import from_ledger
from yibao.store.ledger_partitions import dated
from yibao.store.service_tables import FeeLineRow, Institution, LedgerEntry, Visit
from yibao.store.tables import Enrolment, Person

if TYPE_CHECKING:
    from yibao.reports.charts import Chart

WHERE = "request"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
LEVELS = (1, 2, 3)
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class Query:
    year: int
    month: str | None = None
    level: int | None = None
    indicator: str | None = None

    @property
    def months(self) -> list[str]:
        return [self.month] if self.month else [f"{self.year}-{m:02d}" for m in range(1, 13)]


def check_query(
    year: int, month: str | None = None, level: int | None = None, indicator: str | None = None, *, where: str = WHERE,
    prefix: str = "",
) -> Query:  # fmt: skip
    """The query, or an ``InputError`` naming where (the request, the command line), the field (``prefix`` +
    its name: ``--month`` on the command line), the value and what was expected."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InputError(where, prefix + "year", year, f"a year {MIN_YEAR}..{MAX_YEAR}", f"{MIN_YEAR}至{MAX_YEAR}之间的年度")
    if month and (not MONTH.match(month) or int(month[:4]) != year):
        expected = f"a month of {year} written YYYY-MM, e.g. {year}-06"
        raise InputError(where, prefix + "month", month, expected, f"{year}年内的月份，格式 YYYY-MM，如 {year}-06")
    if level is not None and level not in LEVELS:
        raise InputError(where, prefix + "level", level, "a hospital level 1, 2 or 3", "医院等级 1、2 或 3")
    if indicator and indicator not in BY_CODE:
        raise InputError(
            where, prefix + "indicator", indicator, "one of " + ", ".join(BY_CODE), "指标之一：" + "、".join(BY_CODE)
        )
    return Query(year, month or None, level, indicator or None)


@dataclass(frozen=True)
class Result:
    """The analysis and what the views need beside it."""

    query: Query
    anomalies: Anomalies
    names: Mapping[str, str]
    levels: Mapping[str, int]
    made_at: datetime
    """When the ledger was read (UTC)."""
    townships: Mapping[str, str] = field(default_factory=dict)
    """The capitation township (``institution.township``) of the institutions that belong to one."""

    def ranked(self) -> pl.DataFrame:
        """The ranked flags narrowed by the query's level and indicator (ranks kept)."""
        df = self.anomalies.institutions.ranked
        if self.query.level is not None:
            df = df.filter(pl.col("group") == str(self.query.level))
        if self.query.indicator:
            df = df.filter(pl.col("indicator") == self.query.indicator)
        return df

    def name(self, code: str) -> str:
        return self.names.get(code, code)


def _first_month(q: Query, params: Params) -> date:
    first = month_index(q.months[0]) - params.trend_months
    return date(first // 12, first % 12 + 1, 1)


def _last_day(month: str) -> date:
    nxt = month_index(month) + 1
    return date.fromordinal(date(nxt // 12, nxt % 12 + 1, 1).toordinal() - 1)


def _levels(s: Session) -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """Names, levels and capitation townships (those that have one) of the registered institutions."""
    names, levels, townships = {}, {}, {}
    cols = (Institution.fixmedins_code, Institution.fixmedins_name, Institution.hosp_lv, Institution.township)
    for code, name, lv, town in s.execute(sa.select(*cols)):
        names[code], levels[code] = name, int(lv)
        if town:
            townships[code] = town
    return names, levels, townships


def _ledger_levels(s: Session, start: date, end: date) -> dict[str, int]:
    """Levels the ledger recorded, for institutions not in the institution table."""
    q = (
        sa.select(LedgerEntry.fixmedins_code, sa.func.max(LedgerEntry.hosp_lv))
        .where(dated(LedgerEntry, start, end), LedgerEntry.hosp_lv.is_not(None))
        .group_by(LedgerEntry.fixmedins_code)
    )
    return {code: int(lv) for code, lv in s.execute(q) if code and lv is not None}


def _stays(s: Session, start: date, end: date) -> pl.DataFrame:
    q = (
        sa.select(LedgerEntry.setl_id, Visit.begntime, Visit.endtime)
        .join(Visit, Visit.mdtrt_id == LedgerEntry.mdtrt_id)
        .where(LedgerEntry.kind == "settle", dated(LedgerEntry, start, end))
    )
    schema = {"setl_id": pl.Utf8, "begndate": pl.Date, "enddate": pl.Date}
    return pl.DataFrame([tuple(r) for r in s.execute(q)], schema=schema, orient="row")


def _fees(s: Session, start: date, end: date, kinds: Mapping[str, str]) -> pl.DataFrame:
    """Per settlement: its fee lines' total and the fee of each kind (:data:`FEES_SCHEMA`), summed by the database
    (a row per settlement, not per line)."""
    fee = FeeLineRow.det_item_fee_sumamt
    by_kind = [
        sa.func.sum(sa.case((FeeLineRow.med_list_codg.in_([c for c, k in kinds.items() if k == kind]), fee), else_=0))
        for kind in FEE_KINDS
    ]
    q = (
        sa.select(FeeLineRow.setl_id, sa.func.sum(fee), *by_kind)
        .join(LedgerEntry, LedgerEntry.setl_id == FeeLineRow.setl_id)
        .where(
            FeeLineRow.cancelled.is_(False),
            LedgerEntry.kind == "settle",
            dated(LedgerEntry, start, end),
        )
        .group_by(FeeLineRow.setl_id)
    )
    rows = [(r[0], *(int(x or 0) for x in r[1:])) for r in s.execute(q)]
    return pl.DataFrame(rows, schema=FEES_SCHEMA, orient="row")


def _township_enrolled(s: Session, year: int) -> dict[str, int]:
    """The registry's persons enrolled (正常参保) in ``year``, per township: the township view's denominators."""
    q = (
        sa.select(Person.township, sa.func.count(sa.distinct(Enrolment.person_id)))
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.year == year, Enrolment.psn_insu_stas == "1", Person.township.is_not(None))
        .group_by(Person.township)
    )
    return {str(town): int(n) for town, n in s.execute(q) if town}


def _kinds(s: Session, policy: PolicyPack | None) -> dict[str, str]:
    """The catalogue's kind of each item in the audit pack in force (none when no pack can be read)."""
    try:
        pack = pack_in_force(s, policy)
    except (InputError, OSError):
        return {}
    return {code: str(row["kind"]) for code, row in pack.knowledge.catalogue.items() if row.get("kind")}


def institution_anomalies(s: Session, q: Query, policy: PolicyPack | None = None, params: Params = DEFAULT_PARAMS) -> Result:
    """The analysis of ``q``'s months from the ledger (see the module docstring)."""
    start, end = _first_month(q, params), _last_day(q.months[-1])
    claims = from_ledger(s, start, end)
    names, levels, townships = _levels(s)
    levels = {**_ledger_levels(s, start, end), **levels}
    kinds = _kinds(s, policy)
    fees = _fees(s, start, end, kinds) if kinds else None
    stays = _stays(s, start, end)
    result = analyse(
        claims, levels, months=q.months, stays=stays if stays.height else None, fees=fees,
        township_enrolled=_township_enrolled(s, q.year) or None, params=params,
    )  # fmt: skip
    return Result(q, result, names, levels, datetime.now(UTC), townships)


def institution_detail(r: Result, code: str) -> pl.DataFrame:
    """The institution's indicators over the query's months (``NotFound`` when it has none)."""
    ind = r.anomalies.indicators.filter((pl.col("code") == code) & pl.col("month").is_in(r.query.months))
    if ind.height == 0:
        raise NotFound(WHERE, "fixmedins_code", code, "an institution with settlements in the period", "期间内有结算的定点机构")
    return ind


def chart_data(r: Result, code: str, indicator: str) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """An institution's monthly values of ``indicator``, its peers' bands and its flagged months."""
    ind = institution_detail(r, code).filter(pl.col("indicator") == indicator)
    group = str(r.levels.get(code, ""))
    bands = r.anomalies.institutions.bands.filter((pl.col("group") == group) & (pl.col("indicator") == indicator))
    ranked = r.anomalies.institutions.ranked
    flagged = ranked.filter((pl.col("code") == code) & (pl.col("indicator") == indicator))["month"].to_list()
    return ind.select("month", "value"), bands, flagged


def draw_chart(r: Result, code: str, indicator: str, lang: str = "zh") -> Chart:
    """An institution's indicator against its peers' band (``.svg`` at once, ``.png`` on request)."""
    from yibao.reports.institution_charts import indicator_chart  # matplotlib on demand: the server starts fast

    values, bands, flagged = chart_data(r, code, indicator)
    return indicator_chart(r.name(code), indicator, r.query.months, values, bands, flagged, lang)


def _fence(row: Mapping[str, Any], fig: Callable[[str], str]) -> str:
    """The fence a flag crossed (the far one when it crossed that), or ``—`` for a trend-only flag."""
    if row["kind"] == "trend":
        return "—"
    side = "upper" if row["direction"] == "high" else "lower"
    return fig(f"{side}_far" if row["kind"] == "far" else side)


def shown_row(r: Result, row: Mapping[str, Any], lang: str = "zh") -> dict[str, str]:
    """A ranked flag as a reader sees it (the command's table, the page's list): words and formatted figures."""
    unit = str(row["unit"])

    def fig(name: str) -> str:
        return shown(row[name], unit, lang)

    score = row["score_milli"]
    rise = row["trend_rise_bp"]
    return {
        "rank": str(row["rank"]),
        "code": str(row["code"]),
        "name": r.name(str(row["code"])),
        "level": label(HOSP_LEVELS, row["group"], lang),
        "month": str(row["month"]),
        "indicator": indicator_label(str(row["indicator"]), lang),
        "value": fig("value"),
        "band": f"{fig('q1')} – {fig('median')} – {fig('q3')}" if row["peers"] is not None else "—",
        "fences": f"{fig('lower')} – {fig('upper')}" if row["peers"] is not None else "—",
        "far_fences": f"{fig('lower_far')} – {fig('upper_far')}" if row["peers"] is not None else "—",
        "peers": str(row["peers"]) if row["peers"] is not None else "—",
        "median": fig("median") if row["peers"] is not None else "—",
        "fence": _fence(row, fig),
        "direction": pick(DIRECTION_LABELS[str(row["direction"])], lang),
        "direction_code": str(row["direction"]),
        "kind_code": str(row["kind"]),
        "kind": pick(KIND_LABELS[str(row["kind"])], lang),
        "score": f"{score / 1000:.2f}" if score is not None else "—",
        "trend": (f"+{rise / 100:.0f}%" if rise is not None else "—"),
        "trend_base": shown(row["trend_base"], unit, lang),
        "basis": f"{row['num']}/{row['den']}",
    }


CACHE_KEEP = 8
"""Analyses kept: the page, its charts and the API ask for the same one in a row."""
_cache: OrderedDict[tuple[object, ...], Result] = OrderedDict()
_cache_lock = threading.Lock()


def _ledger_state(s: Session) -> tuple[object, ...]:
    """What an analysis depends on that can change: the ledger, the visits, the fee lines, the imported knowledge."""
    return tuple(
        s.execute(
            sa.select(
                sa.select(sa.func.max(LedgerEntry.id), sa.func.count()).select_from(LedgerEntry).subquery(),
                sa.select(sa.func.max(FeeLineRow.id)).scalar_subquery(),
                sa.select(sa.func.count()).select_from(Visit).where(Visit.endtime.is_not(None)).scalar_subquery(),
                sa.select(sa.func.max(KnowledgeImport.id)).scalar_subquery(),
            )
        ).one()
    )


def cached_anomalies(s: Session, q: Query, policy: PolicyPack | None = None) -> Result:
    """:func:`institution_anomalies`, reused while the ledger, visits, fee lines and knowledge are unchanged."""
    bind = s.get_bind()
    key = (q, id(bind), str(bind.engine.url), _ledger_state(s))
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    result = institution_anomalies(s, q, policy)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_KEEP:
            _cache.popitem(last=False)
    return result


def township_view(r: Result, lang: str) -> list[dict[str, Any]]:
    """The township view: each township (the patients'), its flagged indicators (in rank order) and the institutions
    that serve it (:func:`yibao.audit.institutions.served_townships`) with their flags, in words for ``lang``."""
    a = r.anomalies
    per_inst = dict(zip(a.summary["code"].to_list(), a.summary["flags"].to_list(), strict=True))
    flags = a.townships.ranked
    towns = sorted({t for t in a.served["township"].to_list() if t} | set(flags["code"].to_list()))
    out = []
    for town in towns:
        own = flags.filter(pl.col("code") == town)
        serving = a.served.filter((pl.col("township") == town) & pl.col("served"))
        out.append({
            "township": town,
            "flags": [
                {"month": f["month"], "indicator": indicator_label(f["indicator"], lang),
                 "value": shown(f["value"], f["unit"], lang), "median": shown(f["median"], f["unit"], lang),
                 "direction": f["direction"]}
                for f in own.iter_rows(named=True)
            ],
            "institutions": [
                {"code": row["fixmedins_code"], "name": r.name(row["fixmedins_code"]),
                 "share": shown(row["share_bp"], "bp", lang), "flags": per_inst.get(row["fixmedins_code"], 0)}
                for row in serving.iter_rows(named=True)
            ],
        })  # fmt: skip
    return out
