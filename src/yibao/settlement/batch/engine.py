"""The columnar engine: a county's year of claims in one pass, fen-identical to ``settle``.

Claims are sorted per person and date. Everything per claim (deciding identity, benefit
line, ratios, deductibles, bands) is gathered from small parameter tables with array
indexing; everything that accumulates over a person's year is a segmented cumulative sum:

* yearly deductibles and critical-illness / assistance thresholds are measured on the
  cumulative in-year base, so ``base before`` is a segmented cumsum and the payable part is
  elementwise (``above_threshold``);
* caps count payments: within a run of claims whose cap is the same, what has been paid
  after claim *i* is ``max(p0, min(cap, p0 + S_i))`` (``S`` the run's cumulative raw amount,
  ``p0`` what was paid before the run). Runs break only where a person's cap changes within
  the year (an identity change that adds or removes a tilt, an employee tier, a dated
  parameter), so the loop is over run ordinals (rarely more than two), never over claims.

Every policy choice (deciding identity, benefit line, deductible, ratio, cap, whether a tier
applies) is made by the policy's own methods (:mod:`yibao.policy.schema`,
:mod:`yibao.policy.deciding`), the ones ``settle`` asks, on the small parameter tables or the
distinct claim keys; only the arithmetic is vectorised here. Money stays int64 fen; rounding is
:func:`yibao.core.money.half_up`, the one rule, on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from yibao.core.errors import InputError, InputErrors
from yibao.core.identities import CATEGORIES, ORDINARY
from yibao.core.money import BP, half_up
from yibao.policy.deciding import deciding_identities
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import LEVELS, PLACES, TIER_NAMES, Policy

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
INF = np.int64(1) << np.int64(60)
CATS: tuple[str, ...] = tuple(CATEGORIES)
CAT_INDEX = {c: i for i, c in enumerate(CATS)}
ORD = CAT_INDEX[ORDINARY]
TIERS: tuple[str | None, ...] = ("unit", "individual_1", "individual_2", None)
PLACE_IN = {"in_county": 0, "out_of_county": 1, "cross_region": 2}
EMP = {"in_service": 0, "retired": 1}
INSUTYPES = ("390", "310")

CLAIM_COLUMNS = ("claim_id", "psn_no", "setl_date", "med_type", "hosp_lv", "place", "dise_codg", "medfee_sumamt")
AMOUNT_COLUMNS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "full_pay_scp_amt")
OUTPUT_AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt",
)  # fmt: skip


@dataclass
class BatchInput:
    claims: pl.DataFrame
    people: pl.DataFrame
    identities: pl.DataFrame
    chronic_filings: pl.DataFrame
    cross_filings: pl.DataFrame


@dataclass
class BatchResult:
    claims: pl.DataFrame
    """One row per claim: identity, line and every payer (national names), fen."""
    year_to_date: pl.DataFrame
    """One row per person-year: the accumulators after the year's last claim."""


# ---------------------------------------------------------------- vector arithmetic


def _apply_ratio(amount: I64, ratio: I64) -> I64:
    return half_up(amount * ratio, BP)


def _seg_cumsum_before(x: I64, starts: BOOL) -> I64:
    """Per segment (a new one wherever ``starts``), the sum of ``x`` over earlier rows."""
    cs = np.cumsum(x)
    excl = cs - x
    seg = np.cumsum(starts) - 1
    out: I64 = excl - excl[np.flatnonzero(starts)][seg]
    return out


def _seg_capped(raw: I64, cap: I64, starts: BOOL) -> I64:
    """What a payer with per-claim ``cap`` pays of ``raw``, counting payments per segment."""
    n = raw.size
    if n == 0:
        return raw.copy()
    run_start = starts.copy()
    run_start[1:] |= cap[1:] != cap[:-1]
    s_incl = _seg_cumsum_before(raw, run_start) + raw
    run_idx = np.flatnonzero(run_start)
    run_of = np.cumsum(run_start) - 1
    run_end = np.append(run_idx[1:], n) - 1
    seg_first = starts[run_idx]  # run opens a segment
    p0 = np.zeros(run_idx.size, dtype=np.int64)
    # ordinal of each run within its segment
    seg_of_run = np.cumsum(seg_first) - 1
    k = np.arange(run_idx.size) - np.flatnonzero(seg_first)[seg_of_run]
    c_run = cap[run_idx]
    for kk in range(1, int(k.max()) + 1):
        sel = np.flatnonzero(k == kk)
        prev = sel - 1
        p0[sel] = np.maximum(p0[prev], np.minimum(c_run[prev], p0[prev] + s_incl[run_end[prev]]))
    p = np.maximum(p0[run_of], np.minimum(cap, p0[run_of] + s_incl))
    before = np.empty_like(p)
    before[0] = 0
    before[1:] = p[:-1]
    before[starts] = 0
    out: I64 = p - before
    return out


def _above(before: I64, base: I64, threshold: I64) -> I64:
    out: I64 = np.maximum(before + base, threshold) - np.maximum(before, threshold)
    return out


def _banded(lo: I64, hi: I64, starts: I64, ratios: I64) -> I64:
    """Σ over bands of overlap([lo, hi), band) x ratio, rounded once. ``starts``/``ratios``: (n, B)."""
    nb = starts.shape[1]
    if nb == 1:  # one band from 0: a flat ratio on the segment
        return half_up(np.maximum(hi - np.maximum(lo, starts[:, 0]), 0) * np.clip(ratios[:, 0], 0, BP), BP)
    total = np.zeros(lo.size, dtype=np.int64)
    for b in range(nb):
        end = starts[:, b + 1] if b + 1 < nb else np.full(lo.size, INF)
        a = np.maximum(lo, starts[:, b])
        e = np.minimum(hi, end)
        total += np.maximum(e - a, 0) * np.clip(ratios[:, b], 0, BP)
    return half_up(total, BP)


def _grouped(mask: BOOL, seg_id: I64) -> tuple[npt.NDArray[np.intp], BOOL]:
    """Indices of ``mask`` rows and segment starts within that subset (person-years stay contiguous)."""
    idx = np.flatnonzero(mask)
    sub = seg_id[idx]
    starts = np.ones(idx.size, dtype=bool)
    starts[1:] = sub[1:] != sub[:-1]
    return idx, starts


# ---------------------------------------------------------------- parameter tables


@dataclass
class _Tables:
    """Small arrays indexed by (period, line) combination ``k``, identity, level, place …, filled
    from the policy's own rules (``deductible_for``, ``ratio_bands_for``, ``cap_for``, ``tier_applies``)."""

    line_keys: list[str]
    kind: I64  # [k] 0 none, 1 admission, 2 year
    ded: I64  # [k, cat, ordinal 0..2, level 0..2]: the identity's deductible
    band_start: I64  # [k, B]
    band_ratio: I64  # [k, cat, place 0..3, level 0..2, B] (unclamped: base + identity points + band points)
    cap: I64  # [k, cat, tier 0..3] (INF: no cap)
    cap_group: I64  # [k]
    ded_group: I64  # [k]
    full_pay: BOOL  # [k]
    applies: BOOL  # [payer tier 0 ci / 1 ma / 2 ta, k, insutype 0 res / 1 emp, cat]
    ci_ded: I64  # [p, cat]
    ci_cap: I64  # [p, cat]
    ci_band_start: I64  # [p, B]
    ci_band_ratio: I64  # [p, cat, B]
    ci_above: BOOL  # [p]
    ma_ded: I64  # [p, cat]
    ma_ratio: I64  # [p, cat]
    ma_cap: I64  # [p, cat]
    ta_thr: I64  # [p]
    ta_ratio: I64  # [p]
    ta_cap: I64  # [p, cat]
    groups: list[str]


def _pad_bands(rows: list[list[int]]) -> I64:
    width = max(len(r) for r in rows)
    starts = np.full((len(rows), width), INF, dtype=np.int64)
    for i, r in enumerate(rows):
        starts[i, : len(r)] = r
    return starts


def _fen(cap: int | None) -> int:
    return int(INF) if cap is None else cap


def _line_tables(policies: list[Policy], line_keys: list[str], groups: list[str]) -> dict[str, Any]:
    """The basic-insurance tables per (period, line), identity, place, level and tier."""
    P, L, C = len(policies), len(line_keys), len(CATS)
    K = P * L
    width = max(max((len(ln.ratio_bands) for ln in pol.lines.values()), default=1) for pol in policies) or 1

    def gid(name: str) -> int:
        if name not in groups:
            groups.append(name)
        return groups.index(name)

    t: dict[str, Any] = {
        "kind": np.zeros(K, np.int64),
        "ded": np.zeros((K, C, 3, 3), np.int64),
        "band_ratio": np.zeros((K, C, 4, 3, width), np.int64),
        "cap": np.full((K, C, 4), INF, np.int64),
        "cap_group": np.zeros(K, np.int64),
        "ded_group": np.zeros(K, np.int64),
        "full_pay": np.zeros(K, bool),
        "applies": np.zeros((len(TIER_NAMES), K, len(INSUTYPES), C), bool),
    }
    starts: list[list[int]] = [[0] for _ in range(K)]
    for p, pol in enumerate(policies):
        for l_i, key in enumerate(line_keys):
            line = pol.lines.get(key)
            if line is None:
                continue
            k = p * L + l_i
            t["kind"][k] = {"none": 0, "admission": 1, "year": 2}[line.deductible_kind]
            t["cap_group"][k] = gid("cap:" + line.cap_key(key))
            t["ded_group"][k] = gid("ded:" + line.deductible_key(key))
            t["full_pay"][k] = bool(line.full_pay_items)
            starts[k] = [b.start for b in line.ratio_bands] or [0]
            for c, cat in enumerate(CATS):
                for o, lv in ((o, lv) for o in range(3) for lv in LEVELS):
                    t["ded"][k, c, o, lv - 1] = line.deductible_for(cat, lv, o + 1)
                for pl_i, place in enumerate(PLACES):
                    for lv in LEVELS:
                        ratios = [r for _, r in line.ratio_bands_for(cat, place, lv)]
                        t["band_ratio"][k, c, pl_i, lv - 1, : len(ratios)] = ratios
                for t_i, tier in enumerate(TIERS):
                    t["cap"][k, c, t_i] = _fen(line.cap_for(cat, tier))
                for (n, name), (i, ins) in ((a, b) for a in enumerate(TIER_NAMES) for b in enumerate(INSUTYPES)):
                    t["applies"][n, k, i, c] = pol.tier_applies(name, key, ins, cat)
    t["band_start"] = _pad_bands(starts)
    return t


def _tier_tables(policies: list[Policy]) -> dict[str, Any]:
    """Critical illness, assistance and tilted assistance per period and identity."""
    P, C = len(policies), len(CATS)
    width = max((len(pol.critical_illness.bands) for pol in policies if pol.critical_illness), default=1)
    t: dict[str, Any] = {
        "ci_ded": np.zeros((P, C), np.int64),
        "ci_cap": np.full((P, C), INF, np.int64),
        "ci_band_ratio": np.zeros((P, C, width), np.int64),
        "ci_above": np.zeros(P, bool),
        "ma_ded": np.zeros((P, C), np.int64),
        "ma_ratio": np.zeros((P, C), np.int64),
        "ma_cap": np.full((P, C), INF, np.int64),
        "ta_thr": np.zeros(P, np.int64),
        "ta_ratio": np.zeros(P, np.int64),
        "ta_cap": np.full((P, C), INF, np.int64),
    }
    starts: list[list[int]] = []
    for p, pol in enumerate(policies):
        ci, ma, ta = pol.critical_illness, pol.assistance, pol.tilted_assistance
        starts.append([b.start for b in ci.bands] if ci else [0])
        for c, cat in enumerate(CATS):
            if ci is not None:
                t["ci_ded"][p, c] = ci.deductible_for(cat)
                t["ci_cap"][p, c] = _fen(ci.cap_for(cat))
                ratios = [r for _, r in ci.bands_for(cat)]
                t["ci_band_ratio"][p, c, : len(ratios)] = ratios
            if ma is not None:
                t["ma_cap"][p, c] = ma.cap_for(cat)
                if cat in ma.categories:
                    t["ma_ded"][p, c], t["ma_ratio"][p, c] = ma.categories[cat].deductible, ma.categories[cat].ratio
            if ta is not None:
                t["ta_cap"][p, c] = ta.cap_for(cat)
        t["ci_above"][p] = ci is not None and ci.band_basis == "above_deductible"
        if ta is not None:
            t["ta_thr"][p], t["ta_ratio"][p] = ta.threshold, ta.ratio
    t["ci_band_start"] = _pad_bands(starts)
    return t


def _tables(policies: list[Policy], line_keys: list[str]) -> _Tables:
    groups: list[str] = []
    return _Tables(line_keys=line_keys, groups=groups, **_line_tables(policies, line_keys, groups), **_tier_tables(policies))


# ---------------------------------------------------------------- claim preparation


def _errors(where: str, frame: pl.DataFrame, field: str, expected: str, limit: int = 20) -> list[InputError]:
    return [
        InputError(f"{where} claim {row['claim_id']}", field, row[field], expected)
        for row in frame.head(limit).select("claim_id", field).iter_rows(named=True)
    ]


def _prepare(data: BatchInput, pack: PolicyPack) -> pl.DataFrame:
    claims = data.claims
    missing = [c for c in CLAIM_COLUMNS if c not in claims.columns]
    if missing:
        raise InputErrors([InputError("claims", "columns", claims.columns, f"columns {list(CLAIM_COLUMNS)}; missing {missing}")])
    fill = [pl.lit(0, pl.Int64).alias(c) for c in AMOUNT_COLUMNS if c not in claims.columns and c != "inscp_scp_amt"]
    claims = claims.with_columns(fill)
    if "inscp_scp_amt" not in claims.columns:
        claims = claims.with_columns(pl.lit(None, pl.Int64).alias("inscp_scp_amt"))
    if claims["inscp_scp_amt"].null_count():
        claims = claims.with_columns(
            pl.col("inscp_scp_amt").fill_null(
                pl.col("medfee_sumamt") - pl.col("fulamt_ownpay_amt") - pl.col("overlmt_selfpay") - pl.col("preselfpay_amt")
            )
        )
    if claims["dise_codg"].null_count() or claims["place"].null_count():
        claims = claims.with_columns(pl.col("dise_codg").fill_null(""), pl.col("place").fill_null("in_county"))
    ordered = claims.select(
        pl.col("psn_no").is_sorted()
        & ~((pl.col("psn_no") == pl.col("psn_no").shift(1)) & (pl.col("setl_date") < pl.col("setl_date").shift(1))).any()
    ).item()
    if not ordered:
        claims = claims.with_row_index("_row").sort("psn_no", "setl_date", "_row").drop("_row")
    _validate(claims, pack)
    return claims


def _validate(c: pl.DataFrame, pack: PolicyPack) -> None:
    errs: list[InputError] = []
    end = pack.valid_to or date(9999, 12, 31)
    amounts = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
    checks = [
        (~pl.col("hosp_lv").is_in([1, 2, 3]), "hosp_lv", "1, 2 or 3"),
        (~pl.col("place").cast(pl.Utf8).is_in(list(PLACE_IN)), "place", "in_county, out_of_county or cross_region"),
        (
            (pl.col("setl_date") < pack.valid_from) | (pl.col("setl_date") > end),
            "setl_date",
            f"a date the pack covers ({pack.valid_from} .. {end})",
        ),
        (
            (pl.sum_horizontal(*amounts[1:], "inscp_scp_amt") != pl.col("medfee_sumamt")) | (pl.col("inscp_scp_amt") < 0),
            "inscp_scp_amt",
            "fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt = medfee_sumamt",
        ),
        (
            (pl.col("full_pay_scp_amt") < 0) | (pl.col("full_pay_scp_amt") > pl.col("inscp_scp_amt")),
            "full_pay_scp_amt",
            "between 0 and inscp_scp_amt",
        ),
        (pl.min_horizontal(*amounts) < 0, "medfee_sumamt", "amounts >= 0"),
    ]
    flags = c.select(*(cond.any().alias(str(i)) for i, (cond, _, _) in enumerate(checks))).row(0)
    for flag, (cond, field, expected) in zip(flags, checks, strict=True):
        if flag:
            errs += _errors("claims", c.filter(cond), field, expected)
    if errs:
        raise InputErrors(errs)


def _codes(s: pl.Series) -> tuple[I64, list[str]]:
    """A small-vocabulary text column as integer codes and the values they stand for."""
    if not isinstance(s.dtype, pl.Enum):
        s = s.cast(pl.Utf8)
        s = s.cast(pl.Enum(s.unique().sort().to_list()))
    assert isinstance(s.dtype, pl.Enum)
    return s.to_physical().to_numpy().astype(np.int64), list(s.dtype.categories)


def _cover(n: int, lo: I64, hi: I64) -> BOOL:
    """Rows covered by any of the half-open ranges ``[lo, hi)``."""
    d = np.bincount(lo, minlength=n + 1) - np.bincount(hi, minlength=n + 1)
    out: BOOL = np.cumsum(d[:n]) > 0
    return out


@dataclass
class _Keyed:
    """Claims keyed by person run: ``pid`` per claim and a sorted (person, day) key for range lookups."""

    n: int
    pid: I64
    key: I64
    persons: pl.DataFrame  # psn_no, _pid

    def ranges(self, table: pl.DataFrame, begin: str, end: str) -> tuple[pl.DataFrame, I64, I64]:
        """Rows of ``table`` (with psn_no) joined to claim persons, and the claim ranges their dates cover."""
        j = table.join(self.persons, on="psn_no", how="inner")
        if j.height == 0:
            return j, np.zeros(0, np.int64), np.zeros(0, np.int64)
        pid = j["_pid"].to_numpy().astype(np.int64) << _SHIFT
        b = j[begin].cast(pl.Int32).to_numpy().astype(np.int64)
        e = j[end].cast(pl.Int32).fill_null((1 << _SHIFT) - 1).to_numpy().astype(np.int64)
        top = (1 << _SHIFT) - 1
        lo = np.searchsorted(self.key, pid | np.clip(b, 0, top), side="left")
        hi = np.searchsorted(self.key, pid | np.clip(e, 0, top), side="right")
        hi = np.where(e < b, lo, hi)
        return j, lo.astype(np.int64), hi.astype(np.int64)


_SHIFT = 20  # days since 1970 fit in 20 bits until 4840


def _keyed(c: pl.DataFrame, day: I64) -> _Keyed:
    psn = c["psn_no"]
    new = psn.ne_missing(psn.shift(1)).to_numpy()
    pid = np.cumsum(new) - 1
    persons = pl.DataFrame({"psn_no": psn.filter(pl.Series(new)), "_pid": np.arange(int(new.sum()), dtype=np.int64)})
    return _Keyed(c.height, pid, (pid << _SHIFT) | day, persons)


def _deciding_identity(kc: _Keyed, identities: pl.DataFrame, policies: list[Policy], period: I64) -> I64:
    """Category index of each claim's deciding identity: :func:`deciding_identities` over the
    identities held on the claim's date."""
    out = np.full(kc.n, ORD, np.int64)
    if identities.height == 0:
        return out
    j, lo, hi = kc.ranges(identities, "valid_from", "valid_to")
    counts = np.maximum(hi - lo, 0)
    row = np.repeat(np.arange(counts.size), counts)
    claim = lo[row] + np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    held = pl.DataFrame({"claim": claim, "category": j["category"].cast(pl.Utf8).gather(row)})
    for p, pol in enumerate(policies):
        in_p = held if len(policies) == 1 else held.filter(pl.Series(period[claim] == p))
        decided = deciding_identities(in_p, "claim", pol.identity_priority)
        out[decided["claim"].to_numpy()] = decided["category"].replace_strict(CAT_INDEX, return_dtype=pl.Int64).to_numpy()
    return out


def _prefix_table(values: list[str], prefixes: tuple[str, ...]) -> BOOL:
    return np.array([any(v.upper().startswith(p.upper()) for p in prefixes) for v in values], dtype=bool)


def _chronic_filed(kc: _Keyed, filings: pl.DataFrame, dise: I64, dise_values: list[str]) -> BOOL:
    """Has the person a chronic filing valid on the date for the claim's disease?"""
    out = np.zeros(kc.n, bool)
    if filings.height == 0:
        return out
    j, lo, hi = kc.ranges(filings, "begin", "end")
    codes = j["dise_codg"].cast(pl.Utf8).to_numpy()
    for code in np.unique(codes):
        match = _prefix_table(dise_values, (str(code),)) & (np.array(dise_values) != "")
        out |= _cover(kc.n, lo[codes == code], hi[codes == code]) & match[dise]
    return out


def _distinct(parts: list[tuple[I64, int]]) -> tuple[I64, list[I64]]:
    """Distinct combinations of small codes ``(codes, how many values)``: each row's combination
    number, and each combination's codes part by part."""
    key = np.zeros(parts[0][0].size, np.int64)
    size = 1
    for codes, radix in parts:
        key = key * radix + codes
        size *= radix
    if size <= 1 << 24:  # a presence table: linear, no sort
        present = np.zeros(size, bool)
        present[key] = True
        uniq = np.flatnonzero(present)
        lookup = np.zeros(size, np.int64)
        lookup[uniq] = np.arange(uniq.size)
        inverse: I64 = lookup[key]
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
    decoded = []
    for _, radix in reversed(parts):
        decoded.append(uniq % radix)
        uniq = uniq // radix
    return inverse, decoded[::-1]


def _select_lines(
    c: pl.DataFrame,
    policies: list[Policy],
    line_keys: list[str],
    period: I64,
    has_filing: BOOL,
    person: dict[str, I64],
    pid: I64,
    disease: tuple[I64, list[str]],
) -> I64:
    """Each claim's benefit line: :meth:`Policy.benefit_line` once per distinct (period, scheme,
    status, med_type, disease, filing)."""
    med, med_values = _codes(c["med_type"])
    dise, dise_values = disease
    ins_values, emp_values = ("", *INSUTYPES), (None, *EMP)
    parts = [
        (period, len(policies)),
        (person["insutype"][pid] + 1, len(ins_values)),
        (person["emp_status"][pid] + 1, len(emp_values)),
        (med, len(med_values)),
        (dise, len(dise_values)),
        (has_filing.astype(np.int64), 2),
    ]
    inverse, (p_u, ins_u, emp_u, med_u, dise_u, filed_u) = _distinct(parts)
    chosen = np.full(p_u.size, -1, np.int64)
    lacks = np.zeros(p_u.size, bool)
    for u in range(p_u.size):
        pol = policies[p_u[u]]
        got = pol.benefit_line(
            ins_values[ins_u[u]], emp_values[emp_u[u]], med_values[med_u[u]], dise_values[dise_u[u]], bool(filed_u[u])
        )
        if got is not None:
            chosen[u], lacks[u] = line_keys.index(got.key), got.lacks_filing
    line: I64 = chosen[inverse]
    errs: list[InputError] = []
    lacking_filing = lacks[inverse]
    if lacking_filing.any():
        errs += _errors("claims", c.filter(pl.Series(lacking_filing)), "dise_codg", "a disease with a chronic filing")
    by_tier = np.array([[key in pol.lines and pol.lines[key].needs_emp_tier for key in line_keys] for pol in policies])
    lacking_tier = (line >= 0) & by_tier[period, np.maximum(line, 0)] & (person["emp_tier"][pid] == 3)
    if lacking_tier.any():
        errs += _errors(
            "claims", c.filter(pl.Series(lacking_tier)), "psn_no", "a person with emp_tier (unit, individual_1, individual_2)"
        )
    if (line < 0).any():
        errs += _errors("claims", c.filter(pl.Series(line < 0)), "med_type", "a med_type with a benefit line in this policy")
    if errs:
        raise InputErrors(errs)
    return line


def _person_arrays(kc: _Keyed, people: pl.DataFrame, c: pl.DataFrame) -> dict[str, I64]:
    cols = people.columns
    pf = kc.persons.join(
        people.select(
            "psn_no",
            pl.col("insutype").cast(pl.Utf8),
            (pl.col("emp_status").cast(pl.Utf8) if "emp_status" in cols else pl.lit(None, pl.Utf8)).alias("emp_status"),
            (pl.col("emp_tier").cast(pl.Utf8) if "emp_tier" in cols else pl.lit(None, pl.Utf8)).alias("emp_tier"),
        ),
        on="psn_no",
        how="left",
        maintain_order="left",
    )
    unknown = pf.filter(pl.col("insutype").is_null())
    if unknown.height:
        bad = c.filter(pl.col("psn_no").is_in(unknown["psn_no"].implode()))
        raise InputErrors(_errors("claims", bad, "psn_no", "a person in the people table"))
    return {
        "insutype": pf["insutype"].replace_strict({"390": 0, "310": 1}, default=-1, return_dtype=pl.Int64).to_numpy(),
        "emp_status": pf["emp_status"].replace_strict(EMP, default=-1, return_dtype=pl.Int64).to_numpy(),
        "emp_tier": pf["emp_tier"]
        .replace_strict({t: i for i, t in enumerate(TIERS) if t}, default=3, return_dtype=pl.Int64)
        .to_numpy(),
    }


def _enum_column(name: str, codes: I64, values: list[str]) -> pl.Series:
    arr = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))
    return pl.Series(name, pl.from_arrow(arr)).cast(pl.Enum(values))


# ---------------------------------------------------------------- the engine


def settle_batch(pack: PolicyPack, data: BatchInput) -> BatchResult:
    """Settle every claim (summarised: total and policy-range amounts), per person-year in date order."""
    starts = pack.change_dates()
    policies = [pack.at(d) for d in starts]
    line_keys: list[str] = []
    for pol in policies:
        line_keys += [k for k in pol.lines if k not in line_keys]
    c = _prepare(data, pack)
    n = c.height
    if n == 0:
        return BatchResult(c.select(*_OUT_COLUMNS_EMPTY), pl.DataFrame())
    day = c["setl_date"].cast(pl.Int32).to_numpy().astype(np.int64)
    start_days = np.array([(d - date(1970, 1, 1)).days for d in starts], np.int64)
    period = np.searchsorted(start_days, day, side="right") - 1
    year = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    kc = _keyed(c, day)
    seg_start = np.ones(n, bool)
    seg_start[1:] = (kc.pid[1:] != kc.pid[:-1]) | (year[1:] != year[:-1])
    seg_id = np.cumsum(seg_start) - 1
    person = _person_arrays(kc, data.people, c)

    cat = _deciding_identity(kc, data.identities, policies, period)
    dise, dise_values = _codes(c["dise_codg"])
    has_filing = _chronic_filed(kc, data.chronic_filings, dise, dise_values)
    place_code, place_values = _codes(c["place"])
    place_in = np.array([PLACE_IN[v] for v in place_values], np.int64)[place_code]
    cross = place_in == 2
    filed = np.zeros(n, bool)
    if cross.any() and data.cross_filings.height:
        _, lo, hi = kc.ranges(data.cross_filings, "begin", "end")
        filed = _cover(n, lo, hi)
    place = np.where(cross, np.where(filed, 2, 3), place_in)
    line = _select_lines(c, policies, line_keys, period, has_filing, person, kc.pid, (dise, dise_values))

    T = _tables(policies, line_keys)
    k = period * len(line_keys) + line
    lv = c["hosp_lv"].cast(pl.Int64).to_numpy() - 1
    ins = person["insutype"][kc.pid]
    tier = person["emp_tier"][kc.pid]
    medfee = c["medfee_sumamt"].to_numpy().astype(np.int64)
    scp = c["inscp_scp_amt"].to_numpy().astype(np.int64)
    full = np.where(T.full_pay[k], c["full_pay_scp_amt"].to_numpy().astype(np.int64), 0)
    normal = scp - full

    # basic insurance: deductible
    kind = T.kind[k]
    adm = kind == 1
    count_before = _seg_cumsum_before(adm.astype(np.int64), seg_start)
    ded_amt = T.ded[k, cat, np.where(adm, np.minimum(count_before, 2), 0), lv]
    dedc = np.where(adm, np.minimum(normal, ded_amt), 0)
    ded_base_groups: dict[int, I64] = {}
    dgroup = T.ded_group[k]
    for g in np.unique(dgroup[kind == 2]):
        idx, st = _grouped((kind == 2) & (dgroup == g), seg_id)
        before = _seg_cumsum_before(normal[idx], st)
        dedc[idx] = normal[idx] - _above(before, normal[idx], ded_amt[idx])
        ded_base_groups[int(g)] = np.where((kind == 2) & (dgroup == g), normal, 0)
    # ratio and bands, then the cap per cap group
    raw = _banded(dedc, normal, T.band_start[k], T.band_ratio[k, cat, place, lv]) + full
    hifp = np.zeros(n, np.int64)
    capv = T.cap[k, cat, tier]
    cgroup = T.cap_group[k]
    for g in np.unique(cgroup):
        idx, st = _grouped(cgroup == g, seg_id)
        hifp[idx] = _seg_capped(raw[idx], capv[idx], st)

    # critical illness
    ci_on = T.applies[0, k, ins, cat]
    ci_base = np.where(ci_on, scp - hifp, 0)
    hifmi = np.zeros(n, np.int64)
    idx, st = _grouped(ci_on, seg_id)
    if idx.size:
        b = ci_base[idx]
        p_i, c_i = period[idx], cat[idx]
        before = _seg_cumsum_before(b, st)
        d = T.ci_ded[p_i, c_i]
        lo, hi = np.maximum(before, d), np.maximum(before + b, d)
        shift = np.where(T.ci_above[p_i], d, 0)
        ci_raw = _banded(lo - shift, hi - shift, T.ci_band_start[p_i], T.ci_band_ratio[p_i, c_i])
        hifmi[idx] = _seg_capped(ci_raw, T.ci_cap[p_i, c_i], st)

    # medical assistance, then tilted assistance
    maf_on = T.applies[1, k, ins, cat]
    maf_base = np.where(maf_on, scp - hifp - hifmi, 0)
    maf = _threshold_tier(maf_on, maf_base, seg_id, T.ma_ded[period, cat], T.ma_ratio[period, cat], T.ma_cap[period, cat])
    ta_on = T.applies[2, k, ins, cat]
    ta_base = np.where(ta_on, scp - hifp - hifmi - maf, 0)
    oth = _threshold_tier(ta_on, ta_base, seg_id, T.ta_thr[period], T.ta_ratio[period], T.ta_cap[period, cat])

    funds = hifp + hifmi + maf + oth
    out = c.select("claim_id", "psn_no", "setl_date", "med_type").with_columns(
        pl.Series("year", year, pl.Int32),
        _enum_column("line", line, line_keys),
        _enum_column("identity", cat, list(CATS)),
        pl.Series("medfee_sumamt", medfee),
        c["fulamt_ownpay_amt"].cast(pl.Int64),
        c["overlmt_selfpay"].cast(pl.Int64),
        c["preselfpay_amt"].cast(pl.Int64),
        pl.Series("inscp_scp_amt", scp),
        pl.Series("act_pay_dedc", dedc),
        pl.Series("hifp_pay", hifp),
        pl.Series("pool_prop_selfpay", scp - dedc - hifp),
        pl.Series("hifmi_pay", hifmi),
        pl.Series("maf_pay", maf),
        pl.Series("oth_pay", oth),
        pl.Series("fund_pay_sumamt", funds),
        pl.Series("psn_part_amt", medfee - funds),
    )
    consumed = {
        "admissions": adm.astype(np.int64), "ci_base": ci_base, "ci_paid": hifmi, "maf_base": maf_base,
        "maf_paid": maf, "tilt_base": ta_base, "tilt_paid": oth,
    }  # fmt: skip
    for g, arr in ded_base_groups.items():
        consumed["deductible_base." + T.groups[g].removeprefix("ded:")] = arr
    for g in np.unique(cgroup):
        consumed["basic_paid." + T.groups[int(g)].removeprefix("cap:")] = np.where(cgroup == g, hifp, 0)
    firsts = np.flatnonzero(seg_start)
    ytd = pl.DataFrame({
        "psn_no": c["psn_no"].gather(firsts),
        "year": year[firsts].astype(np.int32),
        **{name: np.add.reduceat(arr, firsts) for name, arr in consumed.items()},
    })  # fmt: skip
    return BatchResult(out, ytd)


_OUT_COLUMNS_EMPTY = ("claim_id", "psn_no", "setl_date")


def _threshold_tier(on: BOOL, base: I64, seg_id: I64, threshold: I64, ratio: I64, cap: I64) -> I64:
    pay = np.zeros(base.size, np.int64)
    idx, st = _grouped(on, seg_id)
    if idx.size:
        b = base[idx]
        above = _above(_seg_cumsum_before(b, st), b, threshold[idx])
        pay[idx] = _seg_capped(_apply_ratio(above, ratio[idx]), cap[idx], st)
    return pay
