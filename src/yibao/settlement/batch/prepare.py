"""Claim preparation for the batch engine: validation, person keys, and per claim the deciding
identity, the filings held, the place and the benefit line.

Every choice is the policy's own (:func:`yibao.policy.deciding.identity_ranks`,
:meth:`yibao.policy.schema.Policy.benefit_line` on the distinct claim keys); what is per claim
and per person is integer work on person runs (``pid``) and sorted (person, day) keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.core.errors import InputError, InputErrors
from yibao.policy.deciding import identity_ranks, within_validity
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import PLACES, Policy
from yibao.settlement.batch.tables import INSUTYPES, ORD, TIERS, Variants, categories
from yibao.settlement.capitation import capitation_township
from yibao.settlement.model import (
    FILING_KINDS,
    FILING_PLACE,
    FLAG_FALSE,
    FLAG_TRUE,
    INSTITUTION_ROLES,
    ChronicFiling,
    Claim,
    Person,
)
from yibao.settlement.policy_range import SCP_PARTS
from yibao.settlement.settle import birth_date_refusal, not_signed_refusal

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
PLACE_IN = {"in_county": 0, "out_of_county": 1, "cross_region": 2, "cross_emergency": 3}
"""A claim's ``place`` (:data:`yibao.settlement.model.PLACES_IN`) as a code."""
EMP = {"in_service": 0, "retired": 1}
EMP_TIER_EXPECTED = "unit, individual_1 or individual_2 for employee outpatient"  # as settle() says it
RESIDENT_TIER_SCHEMA = {"psn_no": pl.Utf8, "tier": pl.Int64, "begin": pl.Date, "end": pl.Date}
INSTITUTION_SCHEMA = {"psn_no": pl.Utf8, "fixmedins_code": pl.Utf8, "role": pl.Utf8, "begin": pl.Date, "end": pl.Date}
FAMILY_DOCTOR_SCHEMA = {"psn_no": pl.Utf8, "begin": pl.Date, "end": pl.Date}
CLAIM_COLUMNS = ("claim_id", "psn_no", "setl_date", "med_type", "hosp_lv", "place", "dise_codg", "medfee_sumamt")
AMOUNT_COLUMNS = (
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "full_pay_scp_amt",
    "fixed_share_scp_amt",
    "class_b_scp_amt",
)
"""Optional amount columns (absent: 0; ``inscp_scp_amt``: the total minus the three self-paid ones)."""


@dataclass
class BatchInput:
    claims: pl.DataFrame
    people: pl.DataFrame
    identities: pl.DataFrame
    chronic_filings: pl.DataFrame
    cross_filings: pl.DataFrame
    resident_tiers: pl.DataFrame = dataclasses.field(default_factory=lambda: pl.DataFrame(schema=RESIDENT_TIER_SCHEMA))
    """Residents' contribution tiers (1 一档, 2 二档) with their dates; the people table may carry ``birth_date``."""
    institutions: pl.DataFrame = dataclasses.field(default_factory=lambda: pl.DataFrame(schema=INSTITUTION_SCHEMA))
    """Institutions people chose: ``role`` designated / linked (general outpatient) or signed (chronic outpatient)."""
    family_doctor: pl.DataFrame = dataclasses.field(default_factory=lambda: pl.DataFrame(schema=FAMILY_DOCTOR_SCHEMA))
    """Family-doctor contracts with their dates."""


def _errors(where: str, frame: pl.DataFrame, field: str, expected: str, limit: int = 20) -> list[InputError]:
    return [
        InputError(f"{where} claim {row['claim_id']}", field, row[field], expected)
        for row in frame.head(limit).select("claim_id", field).iter_rows(named=True)
    ]


def prepare(data: BatchInput, pack: PolicyPack) -> pl.DataFrame:
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
    if "major_dise_flag" not in claims.columns:  # the 重特大疾病 flag (optional column; absent or empty: not flagged)
        claims = claims.with_columns(pl.lit(False).alias("major_dise_flag"))
    elif claims["major_dise_flag"].dtype != pl.Boolean or claims["major_dise_flag"].null_count():
        claims = claims.with_columns(major_dise_flag=_flag(claims))
    if "township" not in claims.columns:  # the claim institution's township group (optional; absent or empty: none)
        claims = claims.with_columns(pl.lit("", pl.Utf8).alias("township"))
    elif claims["township"].dtype != pl.Utf8 or claims["township"].null_count():
        claims = claims.with_columns(pl.col("township").cast(pl.Utf8).fill_null(""))
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


def _flag(claims: pl.DataFrame) -> pl.Series:
    """The claims' 重特大疾病 flag (``major_dise_flag``) as booleans: 1/0, true/false, 是/否; empty: no; anything
    else refused, naming the claims."""
    s = claims["major_dise_flag"]
    if s.dtype == pl.Boolean:
        return s.fill_null(False)
    text = s.cast(pl.Utf8).fill_null("").str.strip_chars().str.to_lowercase()
    bad = ~text.is_in([*FLAG_TRUE, *FLAG_FALSE])
    if bad.any():
        raise InputErrors(_errors("claims", claims.filter(bad), "major_dise_flag", "1 or 0 (yes/no, true/false), or empty"))
    return text.is_in(FLAG_TRUE)


def _validate(c: pl.DataFrame, pack: PolicyPack) -> None:
    errs: list[InputError] = []
    end = pack.valid_to or date(9999, 12, 31)
    amounts = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
    checks = [
        (~pl.col("hosp_lv").is_in([1, 2, 3]), "hosp_lv", "1, 2 or 3"),
        (
            ~pl.col("place").cast(pl.Utf8).is_in(list(PLACE_IN)),
            "place",
            "in_county, out_of_county, cross_region or cross_emergency",
        ),
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
        *((pl.col(name) < 0, name, "between 0 and inscp_scp_amt") for name in SCP_PARTS),
        (
            pl.sum_horizontal(*SCP_PARTS) > pl.col("inscp_scp_amt"),
            "full_pay_scp_amt",
            "full_pay_scp_amt + fixed_share_scp_amt + class_b_scp_amt within inscp_scp_amt",
        ),
        (pl.min_horizontal(*amounts) < 0, "medfee_sumamt", "amounts >= 0"),
    ]
    flags = c.select(*(cond.any().alias(str(i)) for i, (cond, _, _) in enumerate(checks))).row(0)
    for flag, (cond, field, expected) in zip(flags, checks, strict=True):
        if flag:
            errs += _errors("claims", c.filter(cond), field, expected)
    if errs:
        raise InputErrors(errs)


def coded(s: pl.Series) -> tuple[I64, list[str]]:
    """A small-vocabulary text column as integer codes and the values they stand for."""
    if not isinstance(s.dtype, pl.Enum):
        s = s.cast(pl.Utf8)
        s = s.cast(pl.Enum(s.unique().sort().to_list()))
    assert isinstance(s.dtype, pl.Enum)
    return s.to_physical().to_numpy().astype(np.int64), list(s.dtype.categories)


def cover(n: int, lo: I64, hi: I64) -> BOOL:
    """Rows covered by any of the half-open ranges ``[lo, hi)``."""
    d = np.bincount(lo, minlength=n + 1) - np.bincount(hi, minlength=n + 1)
    out: BOOL = np.cumsum(d[:n]) > 0
    return out


@dataclass
class Keyed:
    """Claims keyed by person run: ``pid`` per claim and a sorted (person, day) key for range lookups."""

    n: int
    pid: I64
    key: I64
    persons: pl.DataFrame  # psn_no, _pid

    def ranges(self, table: pl.DataFrame, begin: str, end: str) -> tuple[pl.DataFrame, I64, I64]:
        """Rows of ``table`` (with psn_no) joined to claim persons, and the claim ranges their dates cover."""
        j = table.join(self.persons, on="psn_no", how="inner") if table.height else table
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


def keyed(c: pl.DataFrame, day: I64) -> Keyed:
    psn = c["psn_no"]
    new = psn.ne_missing(psn.shift(1)).to_numpy()
    pid = np.cumsum(new) - 1
    persons = pl.DataFrame({"psn_no": psn.filter(pl.Series(new)), "_pid": np.arange(int(new.sum()), dtype=np.int64)})
    return Keyed(c.height, pid, (pid << _SHIFT) | day, persons)


def lowest_over_ranges(n: int, lo: I64, hi: I64, row: I64, table: I64, column: I64, none: int) -> I64:
    """Each range ``j`` (an identity or filing row of a person, over the claims of its dates
    ``lo[j] <= i < hi[j]``) offers ``table[row[j], column[i]]`` to each claim it covers (the rank of
    the identity held in the claim's period, whether the filing covers the claim's disease); per
    claim the lowest offer, ``none`` where no range covers it. One pass over the covered pairs."""
    counts = np.maximum(hi - lo, 0)
    j = np.repeat(np.arange(counts.size), counts)
    i = lo[j] + np.arange(j.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out = np.full(n, none, np.int64)
    np.minimum.at(out, i, table[row[j], column[i]])
    return out


def deciding_identity(kc: Keyed, identities: pl.DataFrame, policies: list[Policy], period: I64) -> I64:
    """Category index of each claim's deciding identity: of the identities held on the claim's
    date (within the period's ``identity_validity``), the one its period's ``identity_priority``
    ranks highest (:func:`identity_ranks`); unranked categories bring nothing; none held: ordinary."""
    ranks = [identity_ranks(pol.identity_priority) for pol in policies]
    unranked = max(len(r) for r in ranks)
    best = np.full(kc.n, unranked, np.int64)
    by_validity: dict[tuple[tuple[str, int], ...], list[int]] = {}
    for p, pol in enumerate(policies):
        by_validity.setdefault(tuple(sorted(pol.identity_validity.items())), []).append(p)
    for validity, periods in by_validity.items():  # one pass per distinct validity (usually one)
        j, lo, hi = kc.ranges(within_validity(identities, dict(validity)), "valid_from", "valid_to")
        if j.height == 0:
            continue
        held, held_values = coded(j["category"])
        rank = np.full((len(held_values), len(policies)), unranked, np.int64)  # [category held, period]
        for p in periods:
            rank[:, p] = [ranks[p].get(v, unranked) for v in held_values]
        best = np.minimum(best, lowest_over_ranges(kc.n, lo, hi, held, rank, period, unranked))
    by_rank = np.full((len(policies), unranked + 1), ORD, np.int64)  # [period, rank]: the category, ordinary if unranked
    index = {c: i for i, c in enumerate(categories(policies))}
    for p, pol in enumerate(policies):
        by_rank[p, : len(pol.identity_priority)] = [index[c] for c in pol.identity_priority]
    decided: I64 = by_rank[period, best]
    return decided


@cache
def _covers(filed: str, disease: str) -> bool:
    """Does a filing for disease code ``filed`` cover a claim for ``disease`` (asked once per pair and process)?"""
    some_day = date(2000, 1, 1)
    return ChronicFiling(filed, some_day).covers(disease, some_day)


def places(kc: Keyed, place_in: I64, cross_filings: pl.DataFrame) -> I64:
    """Each claim's place as an index of :data:`PLACES` (:func:`yibao.settlement.model.settled_place`):
    its own, or for a cross-region claim that of the filing kind held on its day that
    :data:`FILING_KINDS` puts first, ``cross_unfiled`` if none."""
    own = np.array([PLACES.index(p) if p in PLACES else -1 for p in PLACE_IN], np.int64)[place_in]
    cross = place_in == PLACE_IN["cross_region"]
    if not cross.any():
        return own
    unfiled = len(FILING_KINDS)
    best = np.full(kc.n, unfiled, np.int64)
    if cross_filings.height:
        filings = cross_filings if "kind" in cross_filings.columns else cross_filings.with_columns(kind=pl.lit(""))
        j, lo, hi = kc.ranges(filings.with_columns(pl.col("kind").fill_null("")), "begin", "end")
        if j.height:
            codes = {k: i for i, k in enumerate(FILING_KINDS)}
            rank = j["kind"].cast(pl.Utf8).replace_strict(codes, default=-1, return_dtype=pl.Int64).to_numpy()
            if (rank < 0).any():
                bad = j["kind"][int(np.argmax(rank < 0))]
                raise InputErrors([InputError("cross_filings", "kind", bad, f"one of {list(FILING_KINDS)}")])
            if (rank == rank[0]).all():  # one kind (filings of no stated kind): covered or not, in linear time
                best = np.where(cover(kc.n, lo, hi), rank[0], unfiled)
            else:
                every = np.arange(rank.size, dtype=np.int64)
                best = lowest_over_ranges(kc.n, lo, hi, every, rank.reshape(-1, 1), np.zeros(kc.n, np.int64), unfiled)
    by_rank = np.array([PLACES.index(FILING_PLACE[k]) for k in FILING_KINDS] + [PLACES.index("cross_unfiled")], np.int64)
    out: I64 = np.where(cross, by_rank[best], own)
    return out


def chronic_filed(kc: Keyed, filings: pl.DataFrame, dise: I64, dise_values: list[str]) -> BOOL:
    """Has the person a chronic filing valid on the date for the claim's disease (:meth:`ChronicFiling.covers`)?"""
    j, lo, hi = kc.ranges(filings, "begin", "end")
    if j.height == 0:
        return np.zeros(kc.n, bool)
    filed, filed_values = coded(j["dise_codg"])
    # [filed code, claim disease]: 0 where a filing of the code covers the disease, else 1
    misses = np.array([[0 if _covers(f, d) else 1 for d in dise_values] for f in filed_values], np.int64)
    best = lowest_over_ranges(kc.n, lo, hi, filed, misses, dise, 1)
    out: BOOL = best == 0
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


def select_lines(
    c: pl.DataFrame,
    policies: list[Policy],
    line_keys: list[str],
    period: I64,
    has_filing: BOOL,
    person: dict[str, I64],
    pid: I64,
    disease: tuple[I64, list[str]],
    variant: tuple[I64, Variants],
) -> I64:
    """Each claim's benefit line: :meth:`Policy.benefit_line` once per distinct (period, scheme,
    status, med_type, disease, filing, person variant: age band and resident tier)."""
    med, med_values = coded(c["med_type"])
    var_code, var = variant
    dise, dise_values = disease
    ins_values, emp_values = ("", *INSUTYPES), (None, *EMP)
    parts = [
        (period, len(policies)),
        (person["insutype"][pid] + 1, len(ins_values)),
        (person["emp_status"][pid] + 1, len(emp_values)),
        (med, len(med_values)),
        (dise, len(dise_values)),
        (has_filing.astype(np.int64), 2),
        (var_code, var.size),
    ]
    inverse, (p_u, ins_u, emp_u, med_u, dise_u, filed_u, var_u) = _distinct(parts)
    chosen = np.full(p_u.size, -1, np.int64)
    lacks = np.zeros(p_u.size, bool)
    no_age = np.zeros(p_u.size, bool)
    unsigned = np.zeros(p_u.size, bool)
    for u in range(p_u.size):
        pol = policies[p_u[u]]
        got = pol.benefit_line(
            ins_values[ins_u[u]],
            emp_values[emp_u[u]],
            med_values[med_u[u]],
            dise_values[dise_u[u]],
            bool(filed_u[u]),
            var.of(int(var_u[u])),
        )
        if got is not None:
            chosen[u], lacks[u], no_age[u] = line_keys.index(got.key), got.lacks_filing, got.lacks_birth_date
            unsigned[u] = got.not_signed
    line: I64 = chosen[inverse]
    errs: list[InputError] = []
    lacking_age = no_age[inverse]
    if lacking_age.any():
        errs += [
            birth_date_refusal(row["psn_no"], line_keys[line[i]], row["setl_date"])
            for i, row in zip(
                np.flatnonzero(lacking_age)[:20], c.filter(pl.Series(lacking_age)).head(20).iter_rows(named=True), strict=True
            )
        ]
    elsewhere = unsigned[inverse]
    if elsewhere.any():
        rows = zip(np.flatnonzero(elsewhere)[:20], c.filter(pl.Series(elsewhere)).head(20).iter_rows(named=True), strict=True)
        errs += [
            not_signed_refusal(row["claim_id"], row.get("fixmedins_code") or "", line_keys[line[i]], row["setl_date"])
            for i, row in rows
        ]
    lacking_filing = lacks[inverse]
    if lacking_filing.any():
        errs += _errors("claims", c.filter(pl.Series(lacking_filing)), "dise_codg", "a disease with a chronic filing")
    by_tier = np.array([[key in pol.lines and pol.lines[key].needs_emp_tier for key in line_keys] for pol in policies])
    lacking_tier = (line >= 0) & by_tier[period, np.maximum(line, 0)] & (person["emp_tier"][pid] == 3)
    if lacking_tier.any():
        errs += [
            InputError(f"person {row['psn_no']} (claim {row['claim_id']})", "emp_tier", None, EMP_TIER_EXPECTED)
            for row in c.filter(pl.Series(lacking_tier))
            .unique("psn_no", keep="first", maintain_order=True)
            .head(20)
            .iter_rows(named=True)
        ]
    if (line < 0).any():
        errs += _errors("claims", c.filter(pl.Series(line < 0)), "med_type", "a med_type with a benefit line in this policy")
    if errs:
        raise InputErrors(errs)
    return line


_D, _B = pl.col("d"), pl.col("b")
_AGE = (
    pl.when(_B.is_null() | (_D < _B))
    .then(None)
    .otherwise(
        _D.dt.year().cast(pl.Int64)
        - _B.dt.year().cast(pl.Int64)
        - ((_D.dt.month() < _B.dt.month()) | ((_D.dt.month() == _B.dt.month()) & (_D.dt.day() < _B.dt.day()))).cast(pl.Int64)
    )
    .alias("age")
)
"""Completed years on the claim date ``d`` of a person born ``b`` (:func:`yibao.settlement.model.age_on`); null unknown."""


def person_variants(kc: Keyed, data: BatchInput, c: pl.DataFrame, var: Variants) -> I64:
    """Each claim's person variant (:class:`Variants`, the facts of :func:`yibao.settlement.settle.facts`): its
    age band from the person's ``birth_date`` on the claim date (:meth:`Person.age_on`; band 0: unknown), the
    resident tier held (:meth:`Person.resident_tier_on`), the claim's institution class and whether it is a
    signed one (:meth:`Person.institution_class`, :meth:`Person.signed_at`), a family-doctor contract."""
    zero = np.zeros(kc.n, np.int64)
    parts = [
        _age_bands(kc, data, c, var) if len(var.ages) > 1 else zero,
        _tiers_held(kc, data, var) if len(var.tiers) > 1 else zero,
        zero,
        cover(kc.n, *kc.ranges(data.family_doctor, "begin", "end")[1:]).astype(np.int64) if len(var.family) > 1 else zero,
        zero,
    ]
    if len(var.institutions) > 1 or len(var.signed) > 1:
        designated, linked, signed = (_at_chosen(kc, data, c, role) for role in INSTITUTION_ROLES)
        klass = np.where(designated, 0, np.where(linked, 1, 2))  # INSTITUTION_CLASSES' order
        parts[2] = klass if len(var.institutions) > 1 else zero
        parts[4] = signed.astype(np.int64) if len(var.signed) > 1 else zero
    return var.code(parts)


def _age_bands(kc: Keyed, data: BatchInput, c: pl.DataFrame, var: Variants) -> I64:
    born_in = next((n for n in ("birth_date", "brdy") if n in data.people.columns), None)  # brdy: the registry's name
    if born_in is None:
        return np.zeros(kc.n, np.int64)
    births = data.people.select("psn_no", pl.col(born_in).cast(pl.Date).alias("birth_date"))
    b = kc.persons.join(births, on="psn_no", how="left", maintain_order="left")
    ages = pl.DataFrame({"d": c["setl_date"], "b": b["birth_date"].gather(kc.pid)}).select(_AGE)["age"]
    band = 1 + np.searchsorted(np.array(var.cuts, np.int64), ages.fill_null(0).to_numpy().astype(np.int64), side="right")
    out: I64 = np.where(ages.is_not_null().to_numpy(), band, 0).astype(np.int64)
    return out


def _tiers_held(kc: Keyed, data: BatchInput, var: Variants) -> I64:
    """Index in ``var.tiers`` of the tier held: of overlapping periods the latest-starting, then the higher tier."""
    j, lo, hi = kc.ranges(data.resident_tiers, "begin", "end")
    bad = j.filter(~pl.col("tier").is_in([1, 2]) | pl.col("begin").is_null())
    if bad.height:
        expected = "1 (一档) or 2 (二档) with a begin date"
        raise InputErrors(
            [InputError(f"person {r['psn_no']}", "tier", r["tier"], expected) for r in bad.head(20).iter_rows(named=True)]
        )
    if j.height == 0:
        return np.zeros(kc.n, np.int64)
    begin = j["begin"].cast(pl.Int32).to_numpy().astype(np.int64)
    tier = j["tier"].cast(pl.Int64).to_numpy()
    offer = (((1 << _SHIFT) - begin) << 2) | (3 - tier)  # lowest: the latest begin, then the higher tier
    none = 1 << 62
    rows, column = np.arange(j.height, dtype=np.int64), np.zeros(kc.n, np.int64)
    best = lowest_over_ranges(kc.n, lo, hi, rows, offer[:, None], column, none)
    held = np.where(best == none, 0, 3 - (best & 3))
    out: I64 = np.array([var.tiers.index(t) for t in (None, 1, 2)], np.int64)[held]
    return out


def _at_chosen(kc: Keyed, data: BatchInput, c: pl.DataFrame, role: str) -> BOOL:
    """Is the claim's ``fixmedins_code`` one the person chose in ``role`` on the claim date?"""
    j, lo, hi = kc.ranges(data.institutions.filter(pl.col("role") == role), "begin", "end")
    if j.height == 0 or "fixmedins_code" not in c.columns:
        return np.zeros(kc.n, bool)
    codes = pl.concat([j["fixmedins_code"].cast(pl.Utf8), c["fixmedins_code"].cast(pl.Utf8).fill_null("")])
    coded_all, _ = coded(codes)
    chosen, at = coded_all[: j.height], coded_all[j.height :]
    size = int(coded_all.max()) + 1
    misses = np.ones((size, size), np.int64)  # [chosen code, claim code]: 0 where they are the same institution
    np.fill_diagonal(misses, 0)
    out: BOOL = lowest_over_ranges(kc.n, lo, hi, chosen, misses, at, 1) == 0
    return out


def person_arrays(kc: Keyed, people: pl.DataFrame, c: pl.DataFrame) -> dict[str, I64]:
    cols = people.columns
    pf = kc.persons.join(
        people.select(
            "psn_no",
            pl.col("insutype").cast(pl.Utf8),
            (pl.col("emp_status").cast(pl.Utf8) if "emp_status" in cols else pl.lit(None, pl.Utf8)).alias("emp_status"),
            (pl.col("emp_tier").cast(pl.Utf8) if "emp_tier" in cols else pl.lit(None, pl.Utf8)).alias("emp_tier"),
            (pl.col("acct_balance").cast(pl.Int64) if "acct_balance" in cols else pl.lit(0, pl.Int64)).alias("acct_balance"),
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
        "acct_balance": pf["acct_balance"].fill_null(0).to_numpy().astype(np.int64),
    }


def waived_deductibles(
    policies: list[Policy], line_keys: list[str], period: I64, line: I64, has_filing: BOOL, disease: tuple[I64, list[str]]
) -> BOOL:
    """Claims whose line waives its deductible for a filed special disease (:meth:`BenefitLine.waives_deductible`,
    once per period, line and distinct disease)."""
    dise, dise_values = disease
    if not any(ln.deductible_waived_for for pol in policies for ln in pol.lines.values()):
        return np.zeros(line.size, bool)
    table = np.array(
        [
            [[key in pol.lines and pol.lines[key].waives_deductible(d, True) for d in dise_values] for key in line_keys]
            for pol in policies
        ],
        bool,
    ).reshape(len(policies), len(line_keys), len(dise_values))
    out: BOOL = has_filing & table[period, line, dise]
    return out


def combined_qualified(
    kc: Keyed, filings: pl.DataFrame, policies: list[Policy], line_keys: list[str], period: I64, line: I64
) -> BOOL:
    """Claims on a line of a combined-cap block whose person's filings on the date cover two or more of the
    block's diseases (:meth:`CombinedCap.qualifies`; a filing covers a disease as :meth:`ChronicFiling.covers`)."""
    out = np.zeros(kc.n, bool)
    if not any(pol.combined_caps for pol in policies):
        return out
    j, lo, hi = kc.ranges(filings, "begin", "end")
    if j.height == 0:
        return out
    codes = j["dise_codg"].to_list()
    for p, pol in enumerate(policies):
        for block in pol.combined_caps.values():
            count = np.zeros(kc.n, np.int64)
            for disease in block.diseases:
                rows = np.array([_covers(code, disease) for code in codes], bool)
                count += cover(kc.n, lo[rows], hi[rows])
            on_block = np.isin(line, [line_keys.index(k) for k in block.lines])
            out |= (period == p) & on_block & (count >= 2)
    return out


PERSON_TOWNSHIPS = ("township", "signed_township")
"""The people table's optional township columns (:attr:`Person.township`, :attr:`Person.signed_township`)."""
_SOME_DAY = date(2000, 1, 1)


def capitation_towns(
    kc: Keyed, people: pl.DataFrame, c: pl.DataFrame, policies: list[Policy], line_keys: list[str], period: I64, line: I64
) -> tuple[I64, pl.Series]:
    """Each claim's capitation township (``""``: not under capitation) as 1/0 and as text:
    :func:`yibao.settlement.capitation.capitation_township` once per distinct (period, benefit line, the person's
    township and signed township, the claim institution's township)."""
    if not any(pol.capitation for pol in policies) or not (c["township"] != "").any():
        return np.zeros(kc.n, np.int64), pl.repeat("", kc.n, dtype=pl.Utf8, eager=True).alias("captn_town")
    cols = people.columns
    towns = [(pl.col(n).cast(pl.Utf8) if n in cols else pl.lit("", pl.Utf8)).fill_null("").alias(n) for n in PERSON_TOWNSHIPS]
    pf = kc.persons.join(people.select("psn_no", *towns), on="psn_no", how="left", maintain_order="left")
    own, own_values = coded(pf["township"].fill_null(""))
    signed, signed_values = coded(pf["signed_township"].fill_null(""))
    at, at_values = coded(c["township"])
    parts = [
        (period, len(policies)),
        (line, len(line_keys)),
        (own[kc.pid], len(own_values)),
        (signed[kc.pid], len(signed_values)),
        (at, len(at_values)),
    ]
    inverse, (p_u, line_u, own_u, signed_u, at_u) = _distinct(parts)
    chosen = [
        capitation_township(
            policies[p_u[u]],
            line_keys[line_u[u]],
            Person("", township=own_values[own_u[u]], signed_township=signed_values[signed_u[u]]),
            Claim("", "", _SOME_DAY, "", 1, township=at_values[at_u[u]]),
        )
        for u in range(p_u.size)
    ]
    town = pl.Series("captn_town", chosen, pl.Utf8).gather(inverse)
    return (town != "").to_numpy().astype(np.int64), town
