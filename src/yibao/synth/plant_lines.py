"""Planted fee-line violations: for each line rule type, a few lines put first in chosen claims.

A :class:`Plan` says which claims may carry the planting (``eligible``, over the claims' view:
med_type, hosp_lv, insutype, dise_codg, begndate, enddate, medfee_sumamt, the person's gend and age),
the lines planted (item, count, unit price, day as days after ``begndate``) and which of them the
rule must flag. Each item billed has only the knowledge rows its rule reads
(:meth:`~yibao.synth.catalogue.Catalogue.single`), so a planting makes no other finding. Each
claim carries at most one planting; 超频次 plantings are on distinct persons (it counts across a
person's claims).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.audit.model import MILLI
from yibao.synth.catalogue import Catalogue
from yibao.synth.planting import PLANTED_SCHEMA, count

UNKNOWN_CODE = "XZ99ZZZ999A999"
"""An item code no catalogue holds (目录外项目)."""
FREE_PRICE = 2_000
"""Unit price of a planted item without a payment standard, fen."""
MIN_REST = 200
"""Fen a planted claim keeps for its own lines besides the planted ones."""
AGE_MARGIN = 2
"""Years beyond an age limit (the person's age is taken on the line's day)."""


@dataclass(frozen=True)
class Line:
    code: pl.Expr
    units: int
    pric: pl.Expr
    day: int = 0
    """Days after the claim's ``begndate``."""


@dataclass(frozen=True)
class Plan:
    rule_type: str
    eligible: pl.Expr
    lines: tuple[Line, ...]
    flagged: tuple[int, ...]
    what: str
    distinct_persons: bool = False


def _price(cat: Catalogue, code: str) -> int:
    std = int(cat.std[cat.index(code)])
    return std if std else FREE_PRICE


def _line(cat: Catalogue, code: str, units: int = 1, day: int = 0, pric: int | None = None) -> Line:
    return Line(pl.lit(code), units, pl.lit(_price(cat, code) if pric is None else pric, dtype=pl.Int64), day)


def _units_above(limit_milli: int) -> int:
    return limit_milli // MILLI + 1


Builder = Callable[[Catalogue], "Plan | None"]


def _gender(cat: Catalogue) -> Plan | None:
    items = {g: [c for c in cat.single("gend") if cat.kb.item_limits[c].gend == g] for g in ("1", "2")}
    female_only, male_only = items["2"][:1], items["1"][:1]
    if not female_only and not male_only:
        return None
    men = pl.col("gend") == "1"
    eligible = (men & pl.lit(bool(female_only))) | (~men & pl.lit(bool(male_only)))
    f = female_only[0] if female_only else male_only[0]
    m = male_only[0] if male_only else female_only[0]
    code = pl.when(men).then(pl.lit(f)).otherwise(pl.lit(m))
    pric = pl.when(men).then(pl.lit(_price(cat, f))).otherwise(pl.lit(_price(cat, m))).cast(pl.Int64)
    return Plan("gender_limit", eligible, (Line(code, 1, pric),), (0,), "an item restricted to the other gender")


def _age(cat: Catalogue) -> Plan | None:
    for code in cat.single("age"):
        lim = cat.kb.item_limits[code]
        if lim.age_max is not None:
            return Plan(
                "age_limit",
                pl.col("age") >= lim.age_max + AGE_MARGIN,
                (_line(cat, code),),
                (0,),
                f"an item for ages up to {lim.age_max}",
            )
        if lim.age_min is not None and lim.age_min >= AGE_MARGIN:
            return Plan(
                "age_limit",
                pl.col("age") <= lim.age_min - AGE_MARGIN,
                (_line(cat, code),),
                (0,),
                f"an item for ages from {lim.age_min}",
            )
    return None


def _allowed(cat: Catalogue, rule_type: str, tag: str, attr: str, column: str, what: str) -> Plan | None:
    for code in cat.single(tag):
        allowed = getattr(cat.kb.item_limits[code], attr)
        return Plan(rule_type, ~pl.col(column).is_in(sorted(allowed)), (_line(cat, code),), (0,), what)
    return None


def _hosp_lv(cat: Catalogue) -> Plan | None:
    for code in cat.single("hosp_lv"):
        lv = cat.kb.item_limits[code].min_hosp_lv
        return Plan("hosp_lv_limit", pl.col("hosp_lv") < lv, (_line(cat, code),), (0,), f"an item for level {lv}+ institutions")
    return None


def _unknown(cat: Catalogue) -> Plan | None:
    if UNKNOWN_CODE in cat.codes:
        return None
    return Plan(
        "unknown_item",
        pl.lit(True),
        (Line(pl.lit(UNKNOWN_CODE), 1, pl.lit(FREE_PRICE, dtype=pl.Int64)),),
        (0,),
        "an item outside the catalogue",
    )


def _price_standard(cat: Catalogue) -> Plan | None:
    priced = [c for c in cat.codes if not cat.tags[c] and cat.std[cat.index(c)] > 0]
    if not priced:
        return None
    code = min(priced, key=lambda c: (int(cat.std[cat.index(c)]), c))
    std = int(cat.std[cat.index(code)])
    return Plan(
        "price_standard",
        pl.lit(True),
        (_line(cat, code, pric=std + max(100, std // 5)),),
        (0,),
        "a unit price above the standard",
    )


def _price_ceiling(cat: Catalogue) -> Plan | None:
    for code in cat.single("ceiling"):
        ceiling = cat.kb.price_ceilings[code]
        if cat.std[cat.index(code)] and cat.std[cat.index(code)] <= ceiling:
            continue
        return Plan(
            "price_ceiling", pl.lit(True), (_line(cat, code, pric=ceiling + 10_000),), (0,), "a unit price above the ceiling"
        )
    return None


def _over(cat: Catalogue, rule_type: str, tag: str, limits: dict[str, int], what: str, distinct: bool = False) -> Plan | None:
    for code in cat.single(tag):
        units = _units_above(limits[code])
        return Plan(rule_type, pl.lit(True), (_line(cat, code, units),), (0,), f"{units} units, {what}", distinct)
    return None


def _frequency(cat: Catalogue) -> Plan | None:
    limits = {c: min(m for _, m in ws) for c, ws in cat.kb.frequency.items()}
    return _over(cat, "frequency_limit", "frequency", limits, "above the frequency limit", distinct=True)


def _course(cat: Catalogue) -> Plan | None:
    codes = cat.single("course")
    if not codes:
        return None
    code = min(codes, key=lambda c: (cat.kb.course_days[c], c))
    days = cat.kb.course_days[code]
    lines = tuple(_line(cat, code, day=d) for d in range(days + 1))
    stay = (pl.col("enddate") - pl.col("begndate")).dt.total_days()
    return Plan("course_limit", stay >= days, lines, (days,), f"{days + 1} days of an item limited to {days}")


def _duplicate(cat: Catalogue) -> Plan | None:
    for main in cat.single("dup_main"):
        for sub in sorted(cat.kb.duplicate_subs[main]):
            if sub != main and cat.tags[sub] <= {"dup_sub"}:
                return Plan(
                    "duplicate_pair", pl.lit(True), (_line(cat, main), _line(cat, sub)), (1,), f"{sub} the same day as {main}"
                )
    return None


def _bundle(cat: Catalogue) -> Plan | None:
    for bundle, parts in sorted(cat.kb.bundles.items()):
        ok = sorted(p for p in parts if cat.tags[p] <= {"part"})
        if len(ok) >= 2:
            return Plan("bundle_split", pl.lit(True), (_line(cat, ok[0]), _line(cat, ok[1])), (0, 1), f"two parts of {bundle}")
    return None


def _required(cat: Catalogue) -> Plan | None:
    for code in cat.single("requires_item"):
        return Plan("missing_required", pl.lit(True), (_line(cat, code),), (0,), "an item without the item it requires")
    return None


def _indication(cat: Catalogue) -> Plan | None:
    for code in cat.single("indication"):
        prefixes = cat.kb.indications[code]
        matches = pl.any_horizontal(*(pl.col("dise_codg").str.starts_with(p) for p in prefixes))
        eligible = (pl.col("dise_codg").str.len_chars() > 0) & ~matches
        return Plan("diagnosis_mismatch", eligible, (_line(cat, code),), (0,), "a drug not indicated for the diagnosis")
    return None


BUILDERS: tuple[Builder, ...] = (
    _gender,
    _age,
    lambda c: _allowed(c, "med_type_limit", "med_types", "med_types", "med_type", "an item for another kind of care"),
    _hosp_lv,
    lambda c: _allowed(c, "insutype_limit", "insutype", "insutypes", "insutype", "an item for another insurance type"),
    _unknown,
    _price_standard,
    _price_ceiling,
    lambda c: _over(c, "quantity_limit", "per_line", dict(c.kb.per_line), "above the per-line limit"),
    lambda c: _over(c, "dose_limit", "per_day", dict(c.kb.per_day), "above the daily limit"),
    _frequency,
    _course,
    _duplicate,
    _bundle,
    _required,
    _indication,
)


def plans(cat: Catalogue) -> list[Plan]:
    """A plan for each line rule type the catalogue can show."""
    return [p for b in BUILDERS if (p := b(cat)) is not None]


LINE_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "row": pl.Int64,
    "pos": pl.Int64,
    "med_list_codg": pl.Utf8,
    "cnt_milli": pl.Int64,
    "pric": pl.Int64,
    "fee_ocur_date": pl.Date,
}


@dataclass
class PlantedLines:
    lines: pl.DataFrame
    """``row`` (the claim's row in the view), ``pos`` (its position, from 0), item, count, price, day."""
    records: pl.DataFrame
    types: tuple[str, ...]


def plant_lines(rng: np.random.Generator, view: pl.DataFrame, cat: Catalogue, rate: float, taken: np.ndarray) -> PlantedLines:
    """Choose claims of ``view`` (not ``taken``) for every plan and build their planted lines."""
    used = taken.copy()
    parts: list[pl.DataFrame] = []
    records: list[pl.DataFrame] = []
    all_plans = plans(cat) if rate > 0 else []
    for plan in all_plans:
        det = sum((ln.pric * ln.units for ln in plan.lines), pl.lit(0, dtype=pl.Int64))
        ok = view.select((plan.eligible & (pl.col("medfee_sumamt") >= det + MIN_REST)).fill_null(False)).to_series().to_numpy()
        idx = np.flatnonzero(ok & ~used)
        rng.shuffle(idx)
        if plan.distinct_persons and len(idx):
            idx = idx[view["psn_no"].gather(idx).is_first_distinct().to_numpy()]
        idx = np.sort(idx[: count(rate, view.height)])
        if not len(idx):
            continue
        used[idx] = True
        sel = view.select("claim_id", "psn_no", "begndate", "gend")[idx]
        for pos, ln in enumerate(plan.lines):
            parts.append(
                sel.select(
                    pl.Series("row", idx),
                    pl.lit(pos, dtype=pl.Int64).alias("pos"),
                    ln.code.alias("med_list_codg"),
                    pl.lit(ln.units * MILLI, dtype=pl.Int64).alias("cnt_milli"),
                    ln.pric.cast(pl.Int64).alias("pric"),
                    (pl.col("begndate") + pl.duration(days=ln.day)).alias("fee_ocur_date"),
                )
            )
        sns = [str(p + 1) for p in plan.flagged]
        records.append(
            sel.select(pl.lit(plan.rule_type).alias("rule_type"), "claim_id", "psn_no").with_columns(
                pl.Series("feedetl_sns", [sns], dtype=pl.List(pl.Utf8)).new_from_index(0, sel.height),
                pl.lit(plan.what).alias("what"),
            )
        )
    lines = pl.concat(parts).cast(LINE_COLUMNS) if parts else pl.DataFrame(schema=LINE_COLUMNS)  # type: ignore[arg-type]
    recs = pl.concat(records).cast(PLANTED_SCHEMA) if records else pl.DataFrame(schema=PLANTED_SCHEMA)  # type: ignore[arg-type]
    return PlantedLines(lines, recs, tuple(p.rule_type for p in all_plans))
