"""What the reports read: the ledger and the registry in the database, or a batch run's folder.

Both give :func:`yibao.reports.catalogue.build_reports` the same three inputs — the claims cube
(:mod:`yibao.reports.cube`), the people cube (:mod:`yibao.reports.people`; a batch run's from its people frame,
:data:`yibao.reports.tables.PEOPLE_SCHEMA`) and the institutions' names — so a simulation is reported exactly as the
ledger is.

- **Database** (SQLAlchemy 2; SQLite or PostgreSQL): settlements that stand from ``ledger``, aggregated there into
  the claims cube (:func:`yibao.store.claims_cube.cube_from_ledger`: no settlement is read one by one; a whole year
  everywhere is read from the cube folded as the ledger grew, :mod:`yibao.store.claims_cube_fold`, which the report
  brings up to date first when it is far behind); people,
  their deciding category on 1 January, their enrolment and premiums as priced by ``yibao enrol`` (the stored split)
  from ``person``, ``identity`` and ``enrolment``, aggregated there into the people cube with the rules of
  ``yibao coverage`` (:func:`yibao.store.people_cube.people_cube_from_registry`: no person is read one by one).
- **Batch run**: a county folder written by ``yibao synth`` and the per-claim Parquet file
  written by ``yibao batch``. Premiums are the pack's split for every enrolled resident by the
  category held on the pack's cut-off day (what :func:`yibao.app.enrolment.enrol` stores).
  Claims of people not enrolled in the claim's year are left out, as the counter refuses them
  (:func:`yibao.app.history.settle_history` skips them the same way).

A report covers one calendar year at most: enrolment, premiums and the funds' accounts are
yearly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app import assistance, budget
from yibao.app import enrolment as svc
from yibao.app.suspects import recovered
from yibao.core.errors import InputError
from yibao.core.identities import ORDINARY
from yibao.policy.deciding import deciding_on
from yibao.policy.in_force import pack_in_force, policy_or_first
from yibao.policy.pack import PolicyPack
from yibao.policy.premium import premium_split
from yibao.reports.budget import BudgetInput
from yibao.reports.catalogue import ReportSet, build_reports
from yibao.reports.cube import ClaimsCube
from yibao.reports.people import PREMIUM_COLUMNS
from yibao.reports.tables import INSTITUTION_SCHEMA, PEOPLE_SCHEMA, RESIDENT, Context, ReportMeta
from yibao.rules.claims import Place, from_batch
from yibao.rules.monitoring import parse_period
from yibao.settlement.batch.io import read_table
from yibao.settlement.batch.result import read_result
from yibao.store import claims_cube_fold
from yibao.store.big_reads import roomy
from yibao.store.claims_cube_fold import claims_cube
from yibao.store.db import Database
from yibao.store.ledger_partitions import dated
from yibao.store.people_cube import people_cube_from_registry
from yibao.store.service_tables import Institution, LedgerEntry
from yibao.store.tables import Person

Step = Callable[[str], None]
"""Told what is being read (for a progress display)."""
PLACE_FIELDS = ("county", "township", "village")
EVERYWHERE = Place()


def _noop(_: str) -> None:
    return None


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


def check_period(start: date, end: date, where: str = "report", fields: tuple[str, str] = ("start", "end")) -> None:
    """``InputError`` unless ``start <= end`` within one calendar year (1990..2100, the enrolment years)."""
    if not 1990 <= start.year <= 2100:
        raise InputError(where, fields[0], start.isoformat(), "a date in the years 1990 to 2100")
    if end < start:
        raise InputError(where, fields[1], end.isoformat(), f"a date on or after {start.isoformat()} ({fields[0]})")
    if end.year != start.year:
        raise InputError(
            where, fields[1], end.isoformat(), f"a date in {start.year}, the year of {fields[0]} (a report covers one year)"
        )


def month_period(text: str, where: str = "report", field: str = "month") -> tuple[date, date]:
    """``"2022-05"`` -> 2022-05-01 .. 2022-05-31 (a quarter ``"2022-Q2"`` also works)."""
    period = parse_period(text, field, where)
    return period.start, period.end


def parse_date(text: str, where: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(where, field, text, "a date written YYYY-MM-DD") from None


# ---------------------------------------------------------------------------------------------
# The people frame, whichever source
# ---------------------------------------------------------------------------------------------


def people_frame(
    persons: pl.DataFrame, category: Mapping[str, str], enrolled: Collection[str], exempt: Collection[str], premiums: pl.DataFrame
) -> pl.DataFrame:
    """:data:`PEOPLE_SCHEMA` from the place's people, their categories, the year's status and premium rows.

    ``premiums``: one row per person with ``resident_rows``, ``subsidy_category`` and the four amounts.
    """
    enrolled_set, exempt_set = set(enrolled), set(exempt)
    status = pl.DataFrame(
        [(p, category.get(p, ORDINARY), p in enrolled_set, p in exempt_set and p not in enrolled_set) for p in persons["psn_no"]],
        schema={"psn_no": pl.Utf8, "category": pl.Utf8, "enrolled": pl.Boolean, "exempt": pl.Boolean},
        orient="row",
    )
    df = persons.select("psn_no", *PLACE_FIELDS).join(status, on="psn_no", how="left").join(premiums, on="psn_no", how="left")
    df = df.with_columns(pl.col("resident_rows", *PREMIUM_COLUMNS).fill_null(0))
    return df.select([pl.col(c).cast(t) for c, t in PEOPLE_SCHEMA.items()])


def _premium_schema() -> dict[str, pl.DataType | type[pl.DataType]]:
    return {"psn_no": pl.Utf8, "resident_rows": pl.Int64, "subsidy_category": pl.Utf8, **{c: pl.Int64 for c in PREMIUM_COLUMNS}}


PLACE_NAMES = {"county": ("县（区）", "county"), "township": ("乡镇（街道）", "township"), "village": ("村（社区）", "village"),
               "fixmedins_code": ("定点医疗机构", "institution")}  # fmt: skip
SHOWN_KNOWN = 30
"""At most this many known names are listed in a refusal."""


def check_place(place: Place, known: Mapping[str, Collection[str | None]]) -> None:
    """Refuse a place that names a township (county, village, institution) the data do not know, listing the known
    ones: a report for a place that does not exist would be all zeros and look like a real one."""
    for f, (zh, en) in PLACE_NAMES.items():
        asked = getattr(place, f)
        names = sorted({n for n in known.get(f, ()) if n})
        if asked is None or asked in names:
            continue
        listed, more = names[:SHOWN_KNOWN], len(names) > SHOWN_KNOWN
        listed_en = ", ".join(listed) + (f" … ({len(names)} in all)" if more else "") if names else "(none)"
        listed_zh = "、".join(listed) + (f"等 {len(names)} 个" if more else "") if names else "（无）"
        option = "--institution" if f == "fixmedins_code" else f"--{f}"
        raise InputError(
            "report", option, asked, f"a {en} of the data: {listed_en}", expected_zh=f"数据中已有的{zh}：{listed_zh}"
        )


def _meta(
    start: date, end: date, place: Place, source: Literal["ledger", "batch"], pack: PolicyPack | None, detail: str
) -> tuple[ReportMeta, Context]:
    ctx = Context.from_pack(pack, start) if pack is not None else Context()
    cutoff = None
    if pack is not None:
        premium = policy_or_first(pack, date(start.year, 1, 1)).premium
        cutoff = premium.cutoff_date(start.year) if premium is not None else None
    return ReportMeta(start, end, place, source, pack.pack_id if pack else None, cutoff, detail), ctx


# ---------------------------------------------------------------------------------------------
# The database
# ---------------------------------------------------------------------------------------------


def ledger_pack(db: Database, start: date, end: date, configured: PolicyPack | None = None) -> PolicyPack | None:
    """The pack that priced the year's enrolments, else the one that settled most of the period's ledger,
    else ``configured`` (:func:`yibao.policy.in_force.pack_in_force`)."""
    pack = svc.pack_of_year(db, start.year)
    if pack is not None:
        return pack
    with db.unit_of_work() as s:
        pack_id = s.scalar(
            sa.select(LedgerEntry.pack_id)
            .where(dated(LedgerEntry, start, end))
            .group_by(LedgerEntry.pack_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        )
    return pack_in_force([pack_id], configured)


def ledger_places(s: Session, place: Place) -> dict[str, list[str | None]]:
    """The registry's names of each kind of place the report asks for."""
    out: dict[str, list[str | None]] = {}
    for f in PLACE_FIELDS:
        if getattr(place, f) is not None:
            out[f] = list(s.scalars(sa.select(getattr(Person, f)).distinct()))
    if place.fixmedins_code is not None:
        out["fixmedins_code"] = list(s.scalars(sa.select(Institution.fixmedins_code)))
    return out


def institution_names(s: Session) -> pl.DataFrame:
    rows = s.execute(sa.select(Institution.fixmedins_code, Institution.fixmedins_name)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=INSTITUTION_SCHEMA, orient="row")


def ledger_reports(
    db: Database, start: date, end: date, place: Place = EVERYWHERE, *, pack: PolicyPack | None = None,
    configured: PolicyPack | None = None, step: Step = _noop,
) -> ReportSet:  # fmt: skip
    """Every report for ``start``..``end`` and ``place`` from the ledger and the registry, with ``pack``
    (default: the pack in force for the period, :func:`ledger_pack`, else ``configured``)."""
    check_period(start, end)
    if pack is None:
        step("政策包 / policy pack")
        pack = ledger_pack(db, start, end, configured)
    meta, ctx = _meta(start, end, place, "ledger", pack, db.engine.url.render_as_string(hide_password=True))
    if place == EVERYWHERE and start.month == start.day == 1:
        step("台账汇总 / ledger fold")
        claims_cube_fold.fold_if_behind(db.engine, start.year)  # the year's cube is then read from a few stored rows
    with db.unit_of_work() as s:
        roomy(s, hashes=True)  # the cubes' hash aggregates over a year's ledger and registry stay in memory
        check_place(place, ledger_places(s, place))
        step("结算台账 / ledger")
        claims = claims_cube(s, start, end, place)
        step("参保登记 / enrolment")
        people = people_cube_from_registry(s, start.year, place, ctx)
        names = institution_names(s)
        step("疑点追回 / recovered")
        back = recovered(s, start, end, {f: getattr(place, f) for f in PLACE_FIELDS})
        applied = None if place.fixmedins_code else assistance.paid(s, start, end, {f: getattr(place, f) for f in PLACE_FIELDS})
        plan = None
        if place == EVERYWHERE:
            step("基金预算 / fund budget")
            plan = _budget_input(s, start, end, pack, claims, applied)
    step("统计 / tables")
    return build_reports(claims, people, names, meta, ctx, recovered=back, applied=applied, budget=plan)


def _budget_input(
    s: Session, start: date, end: date, pack: PolicyPack | None, claims: ClaimsCube, applied: pl.DataFrame | None
) -> BudgetInput | None:
    """The year's budget against the county's spending from 1 January to ``end`` (the period's own frames when it
    starts on 1 January); none when no budget is recorded for the year (the tables are then empty, as a simulation's)."""
    if not budget.has_budget(s, start.year):
        return None
    first = date(start.year, 1, 1)
    if start != first or applied is None:
        claims, applied = claims_cube(s, first, end), assistance.paid(s, first, end)
    return budget.budget_input(s, start.year, end.month, pack, claims, applied)


# ---------------------------------------------------------------------------------------------
# A batch run: the synthetic county's folder and the batch engine's output
# ---------------------------------------------------------------------------------------------

COUNTY_COLUMNS: dict[str, tuple[str, ...]] = {
    "people": ("psn_no", *PLACE_FIELDS, "insutype"),
    "identities": ("psn_no", "category", "valid_from", "valid_to"),
    "enrolments": ("psn_no", "year", "insutype", "psn_insu_stas", "special_status"),
    "claims": ("claim_id", "fixmedins_code"),
}


def county_year(folder: Path) -> int:
    """The year a synthetic county's claims are of (its manifest's ``year``, else its first claim's)."""
    manifest = folder / "manifest.json"
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return int(json.loads(manifest.read_text(encoding="utf-8"))["year"])
    path = next((folder / f"claims{e}" for e in (".parquet", ".csv") if (folder / f"claims{e}").is_file()), None)
    days = read_table(path, ("setl_date",)) if path is not None else None
    if days is None or days.height == 0:
        raise InputError(
            str(folder), "claims", None, "a county folder with claims (its year is the report's period)",
            expected_zh="有结算单的合成县目录（报表期间取其年度）",
        )  # fmt: skip
    return int(str(days["setl_date"].min())[:4])


def _read(folder: Path, name: str, required: bool = True) -> pl.DataFrame | None:
    for ext in (".parquet", ".csv"):
        path = folder / f"{name}{ext}"
        if path.is_file():
            try:
                df = read_table(path, COUNTY_COLUMNS.get(name))
            except Exception as exc:  # any reader failure: a bad file for the user
                raise InputError(str(path), "(file)", str(exc)[:80], "a readable Parquet or CSV file") from None
            return df.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.Utf8))
    if required:
        raise InputError(str(folder), name, None, f"{name}.parquet (a county folder written by `yibao synth`)")
    return None


def _deciding_on(identities: pl.DataFrame, day: date, ctx: Context) -> dict[str, str]:
    """Per person, the deciding category on ``day`` (:func:`yibao.policy.deciding.deciding_on`)."""
    return deciding_on(identities, day, "psn_no", ctx.priority, ctx.validity)


def batch_people(
    people: pl.DataFrame, identities: pl.DataFrame, enrolments: pl.DataFrame, pack: PolicyPack, year: int, place: Place
) -> pl.DataFrame:
    """The people frame of a synthetic county: enrolment from its file, premiums priced by the pack."""
    _, premium = svc.policy_for_year(pack, year)
    ctx = Context.from_pack(pack, date(year, 1, 1))
    persons = people
    for f in PLACE_FIELDS:
        if getattr(place, f):
            persons = persons.filter(pl.col(f) == getattr(place, f))
    rows = enrolments.filter(pl.col("year") == year)
    enrolled = rows.filter(pl.col("psn_insu_stas") == svc.ENROLLED)["psn_no"].to_list()
    exempt = rows.filter(pl.col("special_status").is_not_null())["psn_no"].to_list()
    at_cutoff = _deciding_on(identities, premium.cutoff_date(year), ctx)
    resident = rows.filter((pl.col("insutype") == RESIDENT) & (pl.col("psn_insu_stas") == svc.ENROLLED)).select("psn_no")
    resident = resident.with_columns(pl.col("psn_no").replace_strict(at_cutoff, default=ORDINARY).alias("subsidy_category"))
    splits = {c: premium_split(premium, c) for c in resident["subsidy_category"].unique().to_list()}
    priced = pl.DataFrame(
        [(c, s.individual, s.assistance, s.fiscal, s.total) for c, s in splits.items()],
        schema={"subsidy_category": pl.Utf8, **{c: pl.Int64 for c in PREMIUM_COLUMNS}},
        orient="row",
    )
    premiums = (
        resident.join(priced, on="subsidy_category", how="left")
        .group_by("psn_no")
        .agg(pl.len().cast(pl.Int64).alias("resident_rows"), pl.col("subsidy_category").first(), pl.col(PREMIUM_COLUMNS).sum())
        .select(list(_premium_schema()))
    )
    category = _deciding_on(identities, date(year, 1, 1), ctx)
    return people_frame(persons, category, enrolled, exempt, premiums)


def batch_reports(
    county_dir: Path, settled: Path, pack: PolicyPack, start: date, end: date, place: Place = EVERYWHERE, *, step: Step = _noop,
    not_covered: Mapping[str, tuple[int, int]] | None = None,
) -> ReportSet:  # fmt: skip
    """Every report for a simulation: the county folder (``yibao synth``) and the settled claims (``yibao batch``);
    ``not_covered``: what the run left out, as :attr:`yibao.settlement.batch.io.BatchRun.not_covered` (said in the
    report's about lines, so the workbook says it too)."""
    check_period(start, end)
    meta, ctx = _meta(start, end, place, "batch", pack, f"{county_dir} + {settled}")
    left_out = tuple((scheme, people, claims) for scheme, (people, claims) in sorted((not_covered or {}).items()))
    meta = dataclasses.replace(meta, not_covered=left_out)
    step("合成县数据 / county files")
    frames = {name: _read(county_dir, name) for name in COUNTY_COLUMNS}
    people, identities, enrolments, claims = (frames[n] for n in COUNTY_COLUMNS)
    assert people is not None and identities is not None and enrolments is not None and claims is not None
    names = _read(county_dir, "institutions", required=False)
    known = {f: people[f].unique().to_list() for f in PLACE_FIELDS if f in people.columns}
    known["fixmedins_code"] = (claims if names is None else names)["fixmedins_code"].unique().to_list()
    check_place(place, known)
    step("结算结果 / settled claims")
    if not settled.is_file():
        raise InputError(str(settled), "settled", None, "the Parquet file written by `yibao batch`")
    try:
        result = read_result(settled)
    except Exception as exc:  # any reader failure: a bad file for the user
        raise InputError(str(settled), "(file)", str(exc)[:80], "a readable Parquet file written by `yibao batch`") from None
    enrolled_years = enrolments.filter(pl.col("psn_insu_stas") == svc.ENROLLED).select("psn_no", pl.col("year").cast(pl.Int32))
    result = result.with_columns(pl.col("year").cast(pl.Int32)).join(enrolled_years.unique(), on=["psn_no", "year"], how="semi")
    claims_frame = from_batch(result, claims, people, start, end, place)
    step("参保与筹资 / enrolment and premiums")
    people_df = batch_people(people, identities, enrolments, pack, start.year, place)
    names_df = pl.DataFrame(schema=INSTITUTION_SCHEMA) if names is None else names.select(*INSTITUTION_SCHEMA)
    step("统计 / tables")
    return build_reports(claims_frame, people_df, names_df, meta, ctx)
