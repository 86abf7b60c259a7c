"""The institution indicators (机构异常监测) by code: each one's unit and what it is computed from.

Apart from :mod:`yibao.audit.institutions`, which computes them (with Polars), so that what lists the codes
(``yibao audit institutions --indicator``'s help) loads nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["bp", "fen", "milli_day"]
SCALE: dict[Unit, int] = {"bp": 10_000, "fen": 1, "milli_day": 1000}


@dataclass(frozen=True)
class Indicator:
    code: str
    unit: Unit
    needs: Literal["claims", "stays", "fees"]
    """What the indicator is computed from (without stays or fees those indicators are left out)."""


INDICATORS: tuple[Indicator, ...] = (
    Indicator("admission_rate", "bp", "claims"),
    Indicator("cost_per_admission", "fen", "claims"),
    Indicator("avg_los", "milli_day", "stays"),
    Indicator("readmit_15d", "bp", "stays"),
    Indicator("drug_share", "bp", "fees"),
    Indicator("exam_share", "bp", "fees"),
    Indicator("material_share", "bp", "fees"),
    Indicator("selfpay_share", "bp", "claims"),
    Indicator("persons_per_visit", "bp", "claims"),
)
BY_CODE: dict[str, Indicator] = {i.code: i for i in INDICATORS}
ORDER: dict[str, int] = {i.code: n for n, i in enumerate(INDICATORS)}
