"""The early-warning run: who crossed a warning rule's line in a period (pure, over the claims frame).

A period is a month ("2023-05") or a quarter ("2023-Q2"). A ``year`` rule measures each person's
counted settlements from 1 January to the period's end, and raises one warning per person and
year (key ``<year>``) once the measure exceeds the line; a ``claim`` rule raises one warning per
settlement in the period whose own measure exceeds it (key ``<setl_id>``). Whether a person is
watched is decided by the identity of their latest counted settlement. Every warning lists the
settlements that count, and the one that took the person over the line.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from yibao.core.errors import InputError
from yibao.policy.schema import Monitoring, WarningRule
from yibao.settlement.batch.result import SCP_SELF_PAY

_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


@dataclass(frozen=True)
class Period:
    code: str
    """"2023-05" or "2023-Q2"."""
    start: date
    end: date

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def kind(self) -> str:
        return "quarter" if "Q" in self.code else "month"

    def label(self, lang: str = "zh") -> str:
        if self.kind == "quarter":
            q = self.code[-1]
            return f"{self.year}年第{q}季度" if lang == "zh" else f"{self.year} Q{q}"
        return f"{self.year}年{self.start.month}月" if lang == "zh" else self.code


def parse_period(text: str, field: str = "period", where: str = "monitoring") -> Period:
    """``2023-05`` (a month) or ``2023-Q2`` (a quarter); anything else is refused naming the field."""
    m = _PERIOD.match(text.strip()) if isinstance(text, str) else None
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        raise InputError(where, field, text, "a month such as 2023-05 or a quarter such as 2023-Q2 (年-月 或 年-Q季度)")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        first, last = month, month
    else:
        first = 3 * int(m.group(3)) - 2
        last = first + 2
    return Period(text.strip(), date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]))


def period_of(day: date, kind: str = "month") -> Period:
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(f"{day.year}-{day.month:02d}")


def previous_period(day: date, kind: str = "month") -> Period:
    """The last complete period before ``day`` (what a monthly run on ``day`` looks at)."""
    return period_of(period_of(day, kind).start - timedelta(days=1), kind)


WARNING_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "rule": pl.Utf8, "kind": pl.Utf8, "key": pl.Utf8, "psn_no": pl.Utf8, "year": pl.Int32, "identity": pl.Utf8,
    "measure_amt": pl.Int64, "threshold_amt": pl.Int64, "excess_amt": pl.Int64, "crossing_setl_id": pl.Utf8,
    "crossing_date": pl.Date, "setl_ids": pl.List(pl.Utf8), "claims": pl.UInt32, "medfee_sumamt": pl.Int64,
    "fund_pay_sumamt": pl.Int64, "psn_part_amt": pl.Int64, "psn_name": pl.Utf8, "certno": pl.Utf8, "hh_no": pl.Utf8,
    "county": pl.Utf8, "township": pl.Utf8, "village": pl.Utf8, "is_over": pl.Boolean, "hh_self_pay": pl.Int64,
    "hh_persons": pl.UInt32,
}  # fmt: skip


HOUSEHOLD_COLUMNS = ("hh_self_pay", "hh_persons")
"""Added once per run by :func:`households`, not per rule."""


def _measure(rule: WarningRule) -> pl.Expr:
    if rule.measure == "self_pay":
        return pl.col("psn_part_amt")
    return SCP_SELF_PAY  # per settlement, never negative (in-catalogue tiers may pay past the policy range)


def _rule_warnings(
    claims: pl.DataFrame, key: str, rule: WarningRule, line_fen: int, period: Period, over_only: bool = True
) -> pl.DataFrame:
    counted = claims.filter(
        pl.col("line").is_in(list(rule.lines)), pl.col("year") == period.year, pl.col("setl_date") <= period.end
    ).with_columns(_measure(rule).alias("m"))
    if rule.scope == "claim":
        out = counted.filter(pl.col("setl_date") >= period.start).select(
            pl.col("setl_id").alias("key"), "psn_no", "year", "identity", pl.col("m").alias("measure_amt"),
            pl.col("setl_id").alias("crossing_setl_id"), pl.col("setl_date").alias("crossing_date"),
            pl.concat_list("setl_id").alias("setl_ids"), pl.lit(1, pl.UInt32).alias("claims"), "medfee_sumamt",
            "fund_pay_sumamt", "psn_part_amt", "psn_name", "certno", "hh_no", "county", "township", "village",
        )  # fmt: skip
    else:
        ordered = counted.sort("psn_no", "setl_date", "setl_id").with_columns(pl.col("m").cum_sum().over("psn_no").alias("cum"))
        out = (
            ordered.group_by("psn_no", maintain_order=True)
            .agg(
                pl.col("year").first(),
                pl.col("identity").last(),
                pl.col("m").sum().alias("measure_amt"),
                pl.col("setl_id").filter(pl.col("cum") > line_fen).first().alias("crossing_setl_id"),
                pl.col("setl_date").filter(pl.col("cum") > line_fen).first().alias("crossing_date"),
                pl.col("setl_id").alias("setl_ids"),
                pl.len().cast(pl.UInt32).alias("claims"),
                *(pl.col(c).sum() for c in ("medfee_sumamt", "fund_pay_sumamt", "psn_part_amt")),
                *(pl.col(c).last() for c in ("psn_name", "certno", "hh_no", "county", "township", "village")),
            )
            .with_columns(pl.col("year").cast(pl.Utf8).alias("key"))
        )
    out = out.with_columns(((pl.col("measure_amt") > line_fen) & pl.col("identity").is_in(rule.categories)).alias("is_over"))
    if over_only:
        out = out.filter(pl.col("is_over"))
    return out.with_columns(
        pl.lit(key).alias("rule"),
        pl.lit(rule.kind).alias("kind"),
        pl.lit(line_fen, pl.Int64).alias("threshold_amt"),
        (pl.col("measure_amt") - line_fen).alias("excess_amt"),
    ).select([pl.col(c).cast(t) for c, t in WARNING_COLUMNS.items() if c not in HOUSEHOLD_COLUMNS])


def period_rules(monitoring: Monitoring, period: Period) -> dict[str, WarningRule]:
    """The rules a run of ``period`` evaluates: those of its kind (monthly or quarterly), by key."""
    return {key: rule for key, rule in monitoring.rules.items() if rule.period == period.kind}


def evaluate(claims: pl.DataFrame, monitoring: Monitoring, period: Period, *, over_only: bool = True) -> pl.DataFrame:
    """Every warning and candidate of ``period`` (claims from 1 January to the period's end suffice).

    ``over_only=False``: every person's (or settlement's) measure under every rule, over the line or not —
    what a known warning is updated to when its person has fallen back under the line.
    """
    frames = [
        _rule_warnings(claims, key, rule, monitoring.threshold(key), period, over_only)
        for key, rule in period_rules(monitoring, period).items()
    ]
    if not frames:
        return pl.DataFrame(schema=WARNING_COLUMNS)
    out = pl.concat(frames).join(households(claims, period), on="hh_no", how="left")
    return out.select(list(WARNING_COLUMNS)).sort("kind", "excess_amt", "psn_no", descending=[True, True, False])


def households(claims: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Per household, from 1 January to the period's end: everything its members paid themselves (all lines)
    and how many of them had settlements — what a township weighs beside one person's warning."""
    return (
        claims.filter(pl.col("year") == period.year, pl.col("setl_date") <= period.end, pl.col("hh_no").is_not_null())
        .group_by("hh_no")
        .agg(pl.col("psn_part_amt").sum().alias("hh_self_pay"), pl.col("psn_no").n_unique().cast(pl.UInt32).alias("hh_persons"))
    )
