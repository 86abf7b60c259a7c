"""The batch engine's result files: what is stored, what is derived on read, and the one reader.

``run_batch`` writes one row per claim with the claim key, the claim's own attributes (person,
date, medical type: so that the file stands alone without the input it came from), its inputs
(total and the three self-paid parts) and what settling decided (benefit line, deciding
identity, deductible, the four payers). Everything else is arithmetic on those columns, the
same rule every time, done on read by :func:`scan_result` / :func:`read_result`:

* ``year`` — the settlement date's year;
* ``inscp_scp_amt`` — total less the three self-paid parts (the input is refused unless they add up);
* ``pool_prop_selfpay`` — policy range less deductible less basic insurance;
* ``fund_pay_sumamt`` — the sum of the four payers;
* ``psn_part_amt`` — total less the funds;
* ``psn_cash_pay`` — the person's part less the personal account's payment (``acct_pay``, stored; a file
  written before the account was modelled has none: read as 0);
* ``captn_pay``, ``captn_town`` — the part of ``hifp_pay`` paid by head from a capitation township's pot and
  that township (stored; a file written before capitation was settled has none: read as 0 and ``""``).

The year-to-date accumulators go to ``<stem>.ytd.parquet`` beside it (:func:`ytd_path`), stored whole.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import polars as pl

STORED = (
    "claim_id", "psn_no", "setl_date", "med_type", "line", "identity", "medfee_sumamt", "fulamt_ownpay_amt",
    "overlmt_selfpay", "preselfpay_amt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "acct_pay",
    "captn_pay", "captn_town",
)  # fmt: skip
"""The columns of the result file, in file order."""

COLUMNS = (
    "claim_id", "psn_no", "setl_date", "med_type", "year", "line", "identity", "medfee_sumamt", "fulamt_ownpay_amt",
    "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "hifmi_pay",
    "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "captn_pay", "captn_town",
)  # fmt: skip
"""The columns of a settled claim (``settle_batch``'s ``claims``, ``read_result``), in order."""

_c = pl.col
DERIVED: tuple[tuple[str, pl.Expr], ...] = (
    ("year", _c("setl_date").dt.year().cast(pl.Int32)),
    ("inscp_scp_amt", _c("medfee_sumamt") - _c("fulamt_ownpay_amt") - _c("overlmt_selfpay") - _c("preselfpay_amt")),
    ("fund_pay_sumamt", _c("hifp_pay") + _c("hifmi_pay") + _c("maf_pay") + _c("oth_pay")),
    ("pool_prop_selfpay", _c("inscp_scp_amt") - _c("act_pay_dedc") - _c("hifp_pay")),
    ("psn_part_amt", _c("medfee_sumamt") - _c("fund_pay_sumamt")),
    ("acct_pay", pl.lit(0, pl.Int64)),
    ("psn_cash_pay", _c("psn_part_amt") - _c("acct_pay")),
    ("captn_pay", pl.lit(0, pl.Int64)),
    ("captn_town", pl.lit("", pl.Utf8)),
)
"""Each derived column from the stored ones (and the derived ones before it), in that order."""

SCP_SELF_PAY: pl.Expr = pl.max_horizontal(pl.lit(0, pl.Int64), _c("inscp_scp_amt") - _c("fund_pay_sumamt"))
"""The policy-range self-pay left to the person, per settled claim, never negative: the frame twin of
:func:`yibao.settlement.model.scp_self_pay` (monitoring, what-if)."""


def with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The stored columns with the derived ones added (those already present are kept), in :data:`COLUMNS` order."""
    names = set(frame.collect_schema().names())
    for name, expr in DERIVED:
        if name not in names:
            frame = frame.with_columns(expr.alias(name))
            names.add(name)
    return frame.select(COLUMNS)


def scan_result(path: Path) -> pl.LazyFrame:
    """A result file of ``yibao batch`` (or ``run_batch``; or the folder of part files ``--engine spark`` writes)
    with every column of :data:`COLUMNS`, lazily."""
    return with_derived(pl.scan_parquet(path / "*.parquet" if path.is_dir() else path))


def read_result(path: Path, columns: tuple[str, ...] | list[str] | None = None) -> pl.DataFrame:
    """A result file of ``yibao batch`` (or ``run_batch``) with every column of :data:`COLUMNS`
    (or just ``columns``), the derived ones computed from the stored ones."""
    lf = scan_result(path)
    return (lf.select(columns) if columns is not None else lf).collect()


def ytd_location(out: str) -> str:
    """The year-to-date file (or dataset) written beside a result: ``…/result.parquet`` -> ``…/result.ytd.parquet``;
    ``out`` a local path or a URL (``hdfs://…``: the Spark engine's datasets)."""
    head, slash, name = out.rstrip("/").rpartition("/")
    return f"{head}{slash}{PurePosixPath(name).stem}.ytd.parquet"


def ytd_path(out: Path) -> Path:
    """The year-to-date file written beside a result file: ``result.parquet`` -> ``result.ytd.parquet``."""
    return Path(ytd_location(str(out)))
