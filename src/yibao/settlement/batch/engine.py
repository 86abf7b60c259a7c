"""The columnar engine: a county's year of claims in one pass, fen-identical to ``settle``.

Claims are sorted per person and date. Preparation (:mod:`yibao.settlement.batch.prepare`)
gives every claim its deciding identity, place and benefit line as small integer codes, the
policy's parameters become small tables (:mod:`yibao.settlement.batch.tables`), and one compiled
pass (:mod:`yibao.settlement.batch.kernel`) walks the claims person-year by person-year, carrying
the year-to-date accumulators, and pays every tier of every claim.

Every policy choice (deciding identity, benefit line, deductible, ratio, cap, whether a tier
applies, whether a claim draws on a capitation township's pot) is made by the policy's own methods
(:mod:`yibao.policy.schema`, :mod:`yibao.policy.deciding`, :mod:`yibao.settlement.capitation`), the
ones ``settle`` asks, on the small parameter tables or the distinct claim keys; the kernel does the
arithmetic of :mod:`yibao.settlement.tiers` once more.
Money stays int64 fen; rounding is :func:`yibao.core.money.half_up`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Policy
from yibao.settlement.batch.prepare import (
    AMOUNT_COLUMNS,
    CLAIM_COLUMNS,
    PLACE_IN,
    BatchInput,
    capitation_towns,
    chronic_filed,
    coded,
    combined_qualified,
    deciding_identity,
    keyed,
    person_arrays,
    person_variants,
    places,
    prepare,
    select_lines,
    waived_deductibles,
)
from yibao.settlement.batch.result import with_derived
from yibao.settlement.batch.tables import Tables, build_tables, categories

__all__ = ["AMOUNT_COLUMNS", "CLAIM_COLUMNS", "OUTPUT_AMOUNTS", "BatchInput", "BatchResult", "settle_batch"]

I64 = npt.NDArray[np.int64]
OUTPUT_AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "psn_cash_pay", "captn_pay",
)  # fmt: skip


@dataclass
class BatchResult:
    claims: pl.DataFrame
    """One row per claim: identity, line and every payer (national names), fen."""
    year_to_date: pl.DataFrame
    """One row per person-year: the accumulators after the year's last claim."""


def _enum_column(name: str, codes: I64, values: list[str]) -> pl.Series:
    arr = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))
    return pl.Series(name, pl.from_arrow(arr)).cast(pl.Enum(values))


# ---------------------------------------------------------------- the engine


@dataclass(frozen=True)
class PackTables:
    """What settling needs of a pack whatever the claims: its periods (each dated change starts one),
    their policies, every benefit line's key and the parameter tables. :func:`pack_tables` makes it;
    ``run_batch`` makes it once for all its chunks."""

    starts: list[date]
    policies: list[Policy]
    line_keys: list[str]
    tables: Tables


def pack_tables(pack: PolicyPack) -> PackTables:
    starts = pack.change_dates()
    policies = [pack.at(d) for d in starts]
    line_keys: list[str] = []
    for pol in policies:
        line_keys += [k for k in pol.lines if k not in line_keys]
    return PackTables(starts, policies, line_keys, build_tables(policies, line_keys))


def enum_values(pt: PackTables) -> dict[str, list[str]]:
    """The values of the result's enumerated columns, in their order: ``line`` (the pack's benefit lines) and
    ``identity`` (its deciding identities). A reader of a file without the enumerations (the Spark engine's
    datasets hold them as text) casts them back with these to get the native frame, sort order included."""
    return {"line": pt.line_keys, "identity": list(categories(pt.policies))}


def warm_up(pack: PolicyPack | PackTables) -> None:
    """Compile the kernel (or load it from numba's cache) by settling no claims on ``pack``'s tables.

    :func:`yibao.settlement.batch.io.run_batch` runs this in a thread of its own as it starts, so that
    a first run's compiling overlaps reading and preparing the first chunks instead of following them.
    """
    from yibao.settlement.batch import kernel

    pt = pack if isinstance(pack, PackTables) else pack_tables(pack)
    empty = np.zeros(0, np.int64)
    kernel.settle_claims(pt.tables, kernel.Claims(**{f.name: empty for f in fields(kernel.Claims)}))


def settle_batch(pack: PolicyPack, data: BatchInput, prepared: PackTables | None = None, *, derived: bool = True) -> BatchResult:
    """Settle every claim (summarised: total and policy-range amounts), per person-year in date order.
    ``prepared``: :func:`pack_tables` of ``pack``, when the caller settles many chunks on one pack;
    ``derived=False``: the claims' stored columns only (``result.STORED``, what ``run_batch`` writes), the
    derived ones left to whoever reads the file."""
    from yibao.settlement.batch import kernel  # numba: imported (and compiled, or loaded from its cache) on first use

    pt = prepared or pack_tables(pack)
    starts, policies, line_keys, T = pt.starts, pt.policies, pt.line_keys, pt.tables
    c = prepare(data, pack)
    n = c.height
    if n == 0:
        return BatchResult(c.select(*_OUT_COLUMNS_EMPTY), pl.DataFrame())
    day = c["setl_date"].cast(pl.Int32).to_numpy().astype(np.int64)
    start_days = np.array([(d - date(1970, 1, 1)).days for d in starts], np.int64)
    period = np.searchsorted(start_days, day, side="right") - 1
    year = c["setl_date"].dt.year().to_numpy().astype(np.int64)
    kc = keyed(c, day)
    seg_start = np.ones(n, bool)
    seg_start[1:] = (kc.pid[1:] != kc.pid[:-1]) | (year[1:] != year[:-1])
    person = person_arrays(kc, data.people, c)

    cat = deciding_identity(kc, data.identities, policies, period)
    dise, dise_values = coded(c["dise_codg"])
    has_filing = chronic_filed(kc, data.chronic_filings, dise, dise_values)
    place_code, place_values = coded(c["place"])
    place = places(kc, np.array([PLACE_IN[v] for v in place_values], np.int64)[place_code], data.cross_filings)
    variant = person_variants(kc, data, c, T.variants)
    line = select_lines(c, policies, line_keys, period, has_filing, person, kc.pid, (dise, dise_values), (variant, T.variants))

    k = (period * len(line_keys) + line) * T.variants.size + variant
    captn, captn_town = capitation_towns(kc, data.people, c, policies, line_keys, period, line)
    medfee = c["medfee_sumamt"].to_numpy().astype(np.int64)
    scp = c["inscp_scp_amt"].to_numpy().astype(np.int64)
    major = np.array(  # [period, disease, flag]: Policy.is_major, 1 assistance + 2 tilted assistance
        [
            [
                [pol.is_major("assistance", d, f) + 2 * pol.is_major("tilted_assistance", d, f) for f in (False, True)]
                for d in dise_values
            ]
            for pol in policies
        ],
        np.int64,
    ).reshape(len(policies), len(dise_values), 2)
    flagged = c["major_dise_flag"].to_numpy().astype(np.int64)
    claims = kernel.Claims(
        person_year=np.cumsum(seg_start) - 1,
        k=k,
        period=period,
        cat=cat,
        place=place,
        level=c["hosp_lv"].cast(pl.Int64).to_numpy() - 1,
        insutype=person["insutype"][kc.pid],
        emp_tier=person["emp_tier"][kc.pid],
        scp=scp,
        full_pay_scp=c["full_pay_scp_amt"].to_numpy().astype(np.int64),
        pre=c["preselfpay_amt"].to_numpy().astype(np.int64),
        major=major[period, dise, flagged],
        fixed_share_scp=c["fixed_share_scp_amt"].to_numpy().astype(np.int64),
        class_b_scp=c["class_b_scp_amt"].to_numpy().astype(np.int64),
        month=c["setl_date"].dt.month().to_numpy().astype(np.int64) - 1,
        waived=waived_deductibles(policies, line_keys, period, line, has_filing, (dise, dise_values)).astype(np.int64),
        combined=combined_qualified(kc, data.chronic_filings, policies, line_keys, period, line).astype(np.int64),
        medfee=medfee,
        self_paid=(c["fulamt_ownpay_amt"].cast(pl.Int64) + c["overlmt_selfpay"].cast(pl.Int64)).to_numpy(),
        balance=person["acct_balance"][kc.pid],
        captn=captn,
    )
    settled = kernel.settle_claims(T, claims)
    dedc, hifp, hifmi, maf, oth, acct, head = settled.paid

    stored = c.select("claim_id", "psn_no", "setl_date", "med_type").with_columns(
        _enum_column("line", line, enum_values(pt)["line"]),
        _enum_column("identity", cat, enum_values(pt)["identity"]),
        pl.Series("medfee_sumamt", medfee),
        c["fulamt_ownpay_amt"].cast(pl.Int64),
        c["overlmt_selfpay"].cast(pl.Int64),
        c["preselfpay_amt"].cast(pl.Int64),
        pl.Series("act_pay_dedc", dedc),
        pl.Series("hifp_pay", hifp),
        pl.Series("hifmi_pay", hifmi),
        pl.Series("maf_pay", maf),
        pl.Series("oth_pay", oth),
        pl.Series("acct_pay", acct),
        pl.Series("captn_pay", head),
        captn_town,
    )
    out = (
        with_derived(stored.lazy()).collect() if derived else stored
    )  # year, policy range, pool self-pay, funds, own part: result.DERIVED
    firsts = np.flatnonzero(seg_start)
    ytd = pl.DataFrame({
        "psn_no": c["psn_no"].gather(firsts),
        "year": year[firsts].astype(np.int32),
        **settled.ytd_columns(T),  # every slot of the pack: one schema per chunk
    })  # fmt: skip
    return BatchResult(out, ytd)


_OUT_COLUMNS_EMPTY = ("claim_id", "psn_no", "setl_date")
