"""Settlements to CSV and JSON files (written whole or not at all)."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from yibao.core.money import fen_to_yuan_str
from yibao.core.vocab import AMOUNT_FIELDS, field_label
from yibao.policy.categories import identity_label
from yibao.settlement.model import Settlement
from yibao.settlement.trace import render

ACCOUNT_FIELDS = ("acct_pay", "psn_cash_pay")
"""The person's share split into the personal account's payment and cash."""
CAPITATION_FIELDS = ("captn_pay", "captn_town")
"""The part of ``hifp_pay`` paid by head from a capitation township's pot, and that township (``""``: none)."""
ROW_FIELDS = (
    "claim_id", "psn_no", "setl_date", "insutype", "med_type", "line", "identity", *AMOUNT_FIELDS, *ACCOUNT_FIELDS,
    *CAPITATION_FIELDS,
)  # fmt: skip
_YUAN = frozenset((*AMOUNT_FIELDS, *ACCOUNT_FIELDS, "captn_pay"))


def settlement_row(s: Settlement) -> dict[str, Any]:
    """One flat row, amounts in fen."""
    return {n: (s.setl_date.isoformat() if n == "setl_date" else getattr(s, n)) for n in ROW_FIELDS}


def settlement_json(s: Settlement, lang: str = "zh") -> dict[str, Any]:
    return {
        "setlinfo": s.setlinfo(),
        "setldetail": [asdict(d) for d in s.setldetail],
        "line": s.line,
        "identity": s.identity,
        "fee_results": [asdict(r) for r in s.fee_results],
        "year_to_date": s.ytd_after.to_dict(),
        "consumed": s.consumed.to_dict(),
        "trace": [{"tier": t, "text": m} for t, m in render(s.trace, lang)],
    }


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if path.suffix == ".csv" else "utf-8", newline="") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_settlements(path: Path, settlements: Iterable[Settlement], lang: str = "zh") -> None:
    """CSV (amounts in yuan, headers in ``lang``) or JSON (amounts in fen, national names) by suffix."""
    items = list(settlements)
    if path.suffix.lower() == ".json":
        _atomic_write(path, lambda fh: json.dump([settlement_json(s, lang) for s in items], fh, ensure_ascii=False, indent=1))
        return

    def write_csv(fh: Any) -> None:
        w = csv.writer(fh)
        w.writerow([field_label(n, lang) if lang == "zh" else n for n in ROW_FIELDS])
        for s in items:
            row = settlement_row(s)
            w.writerow(
                [
                    fen_to_yuan_str(row[n]) if n in _YUAN else identity_label(row[n], lang) if n == "identity" else row[n]
                    for n in ROW_FIELDS
                ]
            )

    _atomic_write(path, write_csv)
