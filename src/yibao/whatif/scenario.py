"""Policy what-if: one county-year settled under a baseline and a reform, compared.

Pure functions over the batch engine's tables; no files. The figures an analyst asks for:
spending by payer, by identity category, people over the monitoring threshold, mean and 95th
percentile of a person's yearly self-pay, the share with catastrophic spending (self-pay above
a stated share of the person's income), and the people who lose most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from yibao.core.money import half_up, round_half_up_div
from yibao.policy.pack import PolicyPack
from yibao.settlement.batch.result import SCP_SELF_PAY

PAYERS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "medfee_sumamt")


@dataclass(frozen=True)
class Settings:
    threshold_fen: int = 700_000
    """Monitoring threshold on a person's yearly inpatient policy-range self-pay (Lincang: 7,000 yuan)."""
    monitored: tuple[str, ...] = ("tekun", "dibao", "dibao_edge", "fanpin", "jiance", "tuopin")
    catastrophic_bp: int = 4_000
    """Self-pay above this share of the person's yearly income is catastrophic (40% by default)."""
    losers: int = 20


def settings_for(pack: PolicyPack, threshold_fen: int | None = None, catastrophic_bp: int | None = None) -> Settings:
    """The monitoring line and watched categories of the pack's first warning rule (7,000 yuan without one);
    ``threshold_fen`` and ``catastrophic_bp`` override."""
    mon = pack.at(pack.valid_from).monitoring
    rule = next((k for k, r in mon.rules.items() if r.kind == "warning"), None) if mon else None
    s = Settings()
    if mon is not None and rule is not None:
        s = replace(s, threshold_fen=mon.threshold(rule), monitored=mon.rules[rule].categories)
    if threshold_fen is not None:
        s = replace(s, threshold_fen=threshold_fen)
    if catastrophic_bp is not None:
        s = replace(s, catastrophic_bp=catastrophic_bp)
    return s


def schemes_of(pack: PolicyPack) -> set[str]:
    """The schemes (insutype) the pack has benefit lines for on any of its dates (:meth:`PolicyPack.schemes`)."""
    return set(pack.schemes())


def covered_people(people: pl.DataFrame, pack: PolicyPack) -> pl.DataFrame:
    """The people of a county the pack covers (its schemes); the batch engine leaves the others' claims out
    (:attr:`yibao.settlement.batch.io.BatchRun.not_covered`)."""
    if "insutype" not in people.columns:
        return people
    return people.filter(pl.col("insutype").cast(pl.Utf8).is_in(sorted(pack.schemes())))


@dataclass
class Comparison:
    by_payer: pl.DataFrame
    by_identity: pl.DataFrame
    summary: pl.DataFrame
    losers: pl.DataFrame
    over_threshold: pl.DataFrame


def person_years(claims: pl.DataFrame) -> pl.DataFrame:
    """Per person-year: self-pay, inpatient policy-range self-pay, funds, and the last identity held."""
    return claims.group_by("psn_no", "year", maintain_order=True).agg(
        pl.col("psn_part_amt").sum().alias("self_pay"),
        SCP_SELF_PAY.filter(pl.col("med_type").cast(pl.Utf8) == "21").sum()
        .alias("inpatient_scp_self_pay"),
        pl.col("fund_pay_sumamt").sum().alias("funds"),
        pl.col("medfee_sumamt").sum().alias("cost"),
        pl.col("identity").cast(pl.Utf8).last().alias("identity"),
        pl.len().alias("claims"),
    )  # fmt: skip


def _pair(base: pl.DataFrame, reform: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    return base.join(reform, on=on, how="full", coalesce=True, suffix="_reform").fill_null(0)


def compare(base: pl.DataFrame, reform: pl.DataFrame, people: pl.DataFrame, s: Settings = Settings()) -> Comparison:
    """``base`` and ``reform``: the batch engine's per-claim tables for the same claims."""
    totals = [pl.col(p).sum() for p in PAYERS]
    b_tot, r_tot = base.select(totals), reform.select(totals)
    by_payer = pl.DataFrame({
        "payer": list(PAYERS),
        "baseline": [int(b_tot[p][0]) for p in PAYERS],
        "reform": [int(r_tot[p][0]) for p in PAYERS],
    }).with_columns((pl.col("reform") - pl.col("baseline")).alias("change"))  # fmt: skip

    bp, rp = person_years(base), person_years(reform)
    income = people.select(
        "psn_no", *([pl.col("income_fen")] if "income_fen" in people.columns else [pl.lit(None, pl.Int64).alias("income_fen")])
    )
    extra = [c for c in ("psn_name", "village", "township", "hh_no") if c in people.columns]
    both = bp.join(
        rp.select("psn_no", "year", "self_pay", "inpatient_scp_self_pay", "funds"), on=["psn_no", "year"], suffix="_reform"
    ).join(income.join(people.select("psn_no", *extra), on="psn_no"), on="psn_no", how="left")
    cat_limit = pl.col("income_fen") * s.catastrophic_bp // 10_000
    flags = both.with_columns(
        (pl.col("inpatient_scp_self_pay") > s.threshold_fen).alias("over"),
        (pl.col("inpatient_scp_self_pay_reform") > s.threshold_fen).alias("over_reform"),
        (pl.col("self_pay") > cat_limit).fill_null(False).alias("catastrophic"),
        (pl.col("self_pay_reform") > cat_limit).fill_null(False).alias("catastrophic_reform"),
        (pl.col("self_pay_reform") - pl.col("self_pay")).alias("loss"),
        pl.col("identity").is_in(list(s.monitored)).alias("monitored"),
    )
    by_identity = (
        flags.group_by("identity")
        .agg(
            pl.len().alias("persons"),
            pl.col("funds").sum().alias("funds"),
            pl.col("funds_reform").sum().alias("funds_reform"),
            pl.col("self_pay").sum().alias("self_pay"),
            pl.col("self_pay_reform").sum().alias("self_pay_reform"),
            half_up(pl.col("self_pay").sum(), pl.len()).alias("mean_self_pay"),
            half_up(pl.col("self_pay_reform").sum(), pl.len()).alias("mean_self_pay_reform"),
            pl.col("over").sum().alias("over_threshold"),
            pl.col("over_reform").sum().alias("over_threshold_reform"),
        )
        .sort(["persons", "identity"], descending=[True, False])  # ties by code: group_by's order is not stable
    )

    def stats(col: str) -> list[int]:
        sp = flags[col]
        if sp.len() == 0:
            return [0, 0]
        return [round_half_up_div(int(sp.sum()), sp.len()), int(sp.quantile(0.95, "nearest") or 0)]

    mb, mr = stats("self_pay"), stats("self_pay_reform")
    n = max(flags.height, 1)
    summary = pl.DataFrame({
        "measure": ["persons_with_claims", "mean_self_pay", "p95_self_pay", "over_threshold_monitored", "over_threshold_all",
                    "catastrophic_share_bp"],
        "baseline": [flags.height, mb[0], mb[1], int(flags.filter(pl.col("monitored"))["over"].sum()), int(flags["over"].sum()),
                     int(flags["catastrophic"].sum()) * 10_000 // n],
        "reform": [flags.height, mr[0], mr[1], int(flags.filter(pl.col("monitored"))["over_reform"].sum()),
                   int(flags["over_reform"].sum()), int(flags["catastrophic_reform"].sum()) * 10_000 // n],
    }).with_columns((pl.col("reform") - pl.col("baseline")).alias("change"))  # fmt: skip
    losers = (
        flags.sort("loss", descending=True)
        .head(s.losers)
        .filter(pl.col("loss") > 0)
        .select("psn_no", *extra, "identity", "self_pay", "self_pay_reform", "loss", "income_fen")
    )
    over = (
        flags.filter(pl.col("over_reform") & pl.col("monitored"))
        .sort("inpatient_scp_self_pay_reform", descending=True)
        .select("psn_no", *extra, "identity", "inpatient_scp_self_pay", "inpatient_scp_self_pay_reform")
    )
    return Comparison(by_payer, by_identity, summary, losers, over)
