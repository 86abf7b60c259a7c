"""Fee lines for a synthetic county, with violations planted at a stated rate (:func:`with_fee_lines`).

Starting from the county's claims:

1. admissions get their stay (``begndate`` … ``enddate`` = ``setl_date``), visits their day
   (:func:`yibao.synth.stays.with_stays`);
2. claims that would make a 就医行为 finding by accident are dropped (:func:`~yibao.synth.stays.clean_episodes`);
3. episode violations are planted by adding claims and days of death (:mod:`yibao.synth.planting`);
4. line violations are planted as the first lines of chosen claims (:mod:`yibao.synth.plant_lines`);
5. every claim gets its clean lines: for an admission a bed-day line and about four lines a day of
   stay, for a visit one to a dozen lines; items from the pack's catalogue that no rule restricts
   for the claim's kind (:mod:`yibao.synth.catalogue`), billed at their payment standard, on days
   within the stay; the last line, a drug, takes what is left so that the lines add up **exactly**
   to the claim's ``medfee_sumamt`` (fen).

Everything is drawn in whole columns (numpy) from a stream of its own, so the county itself is the
same with or without fee lines, and the same arguments give the same lines. ``planted`` has one row
per finding the plantings must make (:data:`~yibao.synth.planting.PLANTED_SCHEMA`); with
``plant_rate`` 0 the county is clean: the shipped pack finds nothing in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from yibao.audit.model import MILLI
from yibao.audit.pack import AuditPack
from yibao.synth.catalogue import MED_TYPES, Catalogue, catalogue_of
from yibao.synth.county import SynthCounty
from yibao.synth.draws import Arr, epoch_day
from yibao.synth.plant_lines import plant_lines
from yibao.synth.planting import PLANTED_SCHEMA, plant_episodes
from yibao.synth.stays import clean_episodes, person_ids, with_stays

FEE_LINE_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "claim_id": pl.Utf8,
    "feedetl_sn": pl.Utf8,
    "line_no": pl.Int32,
    "med_list_codg": pl.Utf8,
    "fee_ocur_date": pl.Date,
    "cnt_milli": pl.Int64,
    "pric": pl.Int64,
    "det_item_fee_sumamt": pl.Int64,
}
"""``feedetl_sn`` is the line's number in its claim (1, 2, …); ``cnt_milli`` the count in thousandths; fen."""

_LINES_PER_DAY = 4
_MAX_UNITS = 100


@dataclass(frozen=True)
class AuditCounty:
    """A county's claims (with stays), their fee lines, people (with ``death_date``) and what was planted."""

    claims: pl.DataFrame
    fee_lines: pl.DataFrame
    people: pl.DataFrame
    planted: pl.DataFrame
    dropped: int
    """Claims of the county left out so that no episode finding happens by accident."""
    plant_rate: float
    planted_types: tuple[str, ...]


def with_fee_lines(county: SynthCounty, pack: AuditPack, plant_rate: float = 0.0) -> AuditCounty:
    """The county with fee lines drawn from ``pack``'s catalogue and violations planted at ``plant_rate`` per type."""
    if not 0.0 <= plant_rate <= 0.05:
        raise ValueError(f"plant_rate must be between 0 and 0.05, got {plant_rate}")
    rng = np.random.default_rng(np.random.SeedSequence([county.seed, county.persons, county.year, 0xFEE]))
    cat = catalogue_of(pack.knowledge)
    y0 = epoch_day(date(county.year, 1, 1))
    claims = with_stays(rng, county.claims, county.people, y0)
    clean = clean_episodes(claims)
    hf = [int(r.param("percentile")) for r in pack.enabled("post") if r.type == "high_frequency"]
    ep = plant_episodes(rng, clean, person_ids(county.people), plant_rate, county.year, min(hf, default=99))
    all_claims = pl.concat([clean, *ep.claims]).sort(["pid", "setl_date", "ord"]).drop("pid", "ord")
    people = county.people.join(ep.deaths, on="psn_no", how="left")
    view = all_claims.join(people.select("psn_no", "gend", "brdy", "insutype"), on="psn_no", how="left").with_columns(
        ((pl.col("begndate") - pl.col("brdy")).dt.total_days() // 366).alias("age")
    )
    taken = view.select(pl.col("claim_id").is_in(ep.touched) | pl.col("claim_id").str.starts_with("Q")).to_series().to_numpy()
    planted_lines = plant_lines(rng, view, cat, plant_rate, taken)
    lines = draw_lines(rng, view, cat, planted_lines.lines)
    planted = pl.concat([*ep.records, planted_lines.records]) if plant_rate > 0 else pl.DataFrame(schema=PLANTED_SCHEMA)
    types = tuple(sorted(set(planted["rule_type"].to_list())))
    return AuditCounty(
        claims=all_claims,
        fee_lines=lines,
        people=people,
        planted=planted.sort(["rule_type", "claim_id"]),
        dropped=claims.height - clean.height,
        plant_rate=plant_rate,
        planted_types=types,
    )


def _sum_by(index: Arr, values: Arr, n: int) -> Arr:
    """Sums of integer ``values`` per ``index`` (exact: every sum is far below 2**53)."""
    return np.rint(np.bincount(index, weights=values, minlength=n)).astype(np.int64)


def draw_lines(rng: np.random.Generator, view: pl.DataFrame, cat: Catalogue, planted: pl.DataFrame) -> pl.DataFrame:
    """Every claim's lines (planted first, then bed-day and clean lines, then the balancing drug)."""
    n = view.height
    med = view["med_type"].to_numpy()
    m = np.select([med == code for code in MED_TYPES], list(range(len(MED_TYPES))), default=0)
    inpatient = med == "21"
    beg = view["begndate"].cast(pl.Int32).to_numpy().astype(np.int64)
    end = view["enddate"].cast(pl.Int32).to_numpy().astype(np.int64)
    stay = end - beg
    total = view["medfee_sumamt"].to_numpy().astype(np.int64)
    lv = view["hosp_lv"].to_numpy().astype(np.int64)

    # planted lines come first
    p_row = planted["row"].to_numpy()
    p_det = planted["cnt_milli"].to_numpy() * planted["pric"].to_numpy() // MILLI
    k = np.bincount(p_row, minlength=n).astype(np.int64)
    budget = total - _sum_by(p_row, p_det, n)

    # bed-day line, then clean lines
    bed_item = np.array([cat.beds.get(int(v), -1) for v in range(4)], dtype=np.int64)[np.clip(lv, 0, 3)]
    has_bed = inpatient & (bed_item >= 0)
    n_reg = np.where(
        inpatient,
        np.clip(_LINES_PER_DAY * (stay + 1) + rng.poisson(8, n), 4, 240),
        1 + rng.poisson(np.where(med == "14", 3.3, 4.3), n),
    ).astype(np.int64)
    n_mid = has_bed + n_reg
    mid_start = np.cumsum(n_mid) - n_mid
    size = int(n_mid.sum())
    mid_claim = np.repeat(np.arange(n, dtype=np.int32), n_mid)  # 32-bit where it fits: half the memory to touch
    j = np.arange(size, dtype=np.int32) - mid_start.astype(np.int32)[mid_claim]
    is_bed = (j == 0) & has_bed[mid_claim]

    pools = [cat.pools[code] for code in MED_TYPES]
    pool_all = np.concatenate(pools).astype(np.int32)
    pool_size = np.array([len(p) for p in pools])
    pool_off = np.cumsum(pool_size) - pool_size
    mc = m.astype(np.int8)[mid_claim]
    item = pool_all[pool_off[mc] + np.minimum((rng.random(size) * pool_size[mc]).astype(np.int32), pool_size[mc] - 1)]
    del mc
    item = np.where(is_bed, bed_item.astype(np.int32)[mid_claim], item)
    beg32, stay32 = beg.astype(np.int32), stay.astype(np.int32)
    day = np.where(is_bed, 0, (rng.random(size) * (stay32[mid_claim] + 1)).astype(np.int32)) + beg32[mid_claim]

    w = rng.exponential(size=size)
    w_res = rng.exponential(size=n)
    weight_sum = np.bincount(mid_claim, weights=w, minlength=n) + w_res
    share = np.floor(budget[mid_claim] * w / weight_sum[mid_claim]).astype(np.int64)
    del w
    std = cat.std[item]
    priced = std > 0
    units = np.where(priced, np.clip(np.rint(share / np.maximum(std, 1)), 1, _MAX_UNITS), 1 + rng.integers(0, 3, size))
    units = np.where(is_bed, np.maximum(stay32[mid_claim], 1), units).astype(np.int64)
    pric = np.where(priced, std, np.maximum(share // units, 1)).astype(np.int64)
    del share, std, priced
    det = units * pric

    # keep the lines that fit, leaving at least a fen for the balancing drug
    cs = np.cumsum(det)
    base = np.concatenate(([0], cs))[mid_start]
    keep = (cs - base[mid_claim]) <= budget[mid_claim] - 1
    kept_det = _sum_by(mid_claim[keep], det[keep], n)
    n_kept = np.bincount(mid_claim[keep], minlength=n).astype(np.int64)
    residual = budget - kept_det
    res_item = cat.residual[np.minimum((rng.random(n) * len(cat.residual)).astype(np.int64), len(cat.residual) - 1)]

    per_claim = k + n_kept + 1
    start = np.cumsum(per_claim) - per_claim
    total_lines = int(per_claim.sum())

    # scatter the three parts into place: planted lines, the kept lines, the balancing drug
    extra = sorted(set(planted["med_list_codg"].to_list()) - set(cat.codes))
    codes = pl.Series([*cat.codes, *extra], dtype=pl.Utf8)
    code_index = {c: i for i, c in enumerate(codes.to_list())}
    out_item = np.empty(total_lines, dtype=np.int32)
    out_day = np.empty(total_lines, dtype=np.int64)
    out_cnt = np.empty(total_lines, dtype=np.int64)
    out_pric = np.empty(total_lines, dtype=np.int64)
    p_pos = start[p_row] + planted["pos"].to_numpy()
    kept_claim = mid_claim[keep]
    k_pos = start[kept_claim] + k[kept_claim] + j[keep]
    r_pos = start + k + n_kept
    out_item[p_pos] = np.array([code_index[c] for c in planted["med_list_codg"].to_list()], dtype=np.int32)
    out_item[k_pos] = item[keep]
    out_item[r_pos] = res_item
    out_day[p_pos] = planted["fee_ocur_date"].cast(pl.Int32).to_numpy()
    out_day[k_pos] = day[keep]
    out_day[r_pos] = end
    out_cnt[p_pos] = planted["cnt_milli"].to_numpy()
    out_cnt[k_pos] = units[keep] * MILLI
    out_cnt[r_pos] = MILLI
    out_pric[p_pos] = planted["pric"].to_numpy()
    out_pric[k_pos] = pric[keep]
    out_pric[r_pos] = residual
    claim_of = np.repeat(np.arange(n), per_claim)
    line_no = (np.arange(total_lines) - start[claim_of]).astype(np.int32)
    return pl.DataFrame(
        {
            "claim_id": view["claim_id"].gather(claim_of),
            "feedetl_sn": pl.Series(line_no + 1).cast(pl.Utf8),
            "line_no": line_no,
            "med_list_codg": codes.gather(out_item),
            "fee_ocur_date": pl.Series(out_day.astype(np.int32)).cast(pl.Date),
            "cnt_milli": out_cnt,
            "pric": out_pric,
            "det_item_fee_sumamt": out_cnt * out_pric // MILLI,
        },
        schema=FEE_LINE_COLUMNS,
    )
