"""What an audit looks at and what it finds. Amounts in integer fen, counts in thousandths (exact).

The columnar engine takes the same facts as frames (:data:`CLAIM_SCHEMA`, :data:`LINE_SCHEMA`,
:data:`PERSON_SCHEMA`) and answers with a frame of :data:`FINDING_SCHEMA`; :func:`findings_frame`
and :func:`findings_from_frame` convert between the two forms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import polars as pl

Result = Literal["violation", "suspicious", "unevaluable"]
RESULTS: tuple[Result, ...] = ("violation", "suspicious", "unevaluable")
"""违规 (refused at settlement), 可疑 (settles, opens a 疑点), 无法判断 (data the rule needs is missing)."""

INPATIENT_MED_TYPES = frozenset({"21"})
"""``med_type`` of an admission; every other type is an outpatient visit or a purchase."""

MILLI = 1000
"""Counts are held in thousandths: ``cnt_milli`` 1500 is 1.5 units."""


@dataclass(frozen=True)
class AuditLine:
    """One fee line as the audit sees it (费用明细 with its date)."""

    feedetl_sn: str
    med_list_codg: str
    fee_ocur_date: date
    cnt_milli: int
    pric: int
    """Unit price, fen."""
    det_item_fee_sumamt: int


@dataclass(frozen=True)
class AuditClaim:
    """A settlement (or one about to be made): an admission or an outpatient visit with its lines.

    ``seq`` orders claims as they were settled (the ledger's order); an earlier claim has a
    smaller ``seq``. For an outpatient visit ``begndate`` and ``enddate`` are the visit's day.
    """

    claim_id: str
    seq: int
    psn_no: str
    fixmedins_code: str
    hosp_lv: int
    insutype: str
    med_type: str
    begndate: date
    enddate: date
    setl_date: date
    dise_codg: str = ""
    lines: tuple[AuditLine, ...] = ()

    @property
    def inpatient(self) -> bool:
        return self.med_type in INPATIENT_MED_TYPES


@dataclass(frozen=True)
class PersonFacts:
    psn_no: str
    gend: str
    """1 male, 2 female (``gend``)."""
    brdy: date
    death_date: date | None = None
    """From the registry's special status 死亡, when recorded."""

    def age_on(self, day: date) -> int:
        return day.year - self.brdy.year - ((day.month, day.day) < (self.brdy.month, self.brdy.day))


@dataclass(frozen=True)
class Stay:
    """An admission registered (2401) and not yet settled: ``enddate`` None while still in hospital."""

    mdtrt_id: str
    fixmedins_code: str
    begndate: date
    enddate: date | None = None


@dataclass(frozen=True)
class History:
    """What was known about the person when a claim is audited: the claims settled before it
    (smaller ``seq``, not reversed) and the admissions registered but not yet settled."""

    claims: tuple[AuditClaim, ...] = ()
    stays: tuple[Stay, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One rule's finding on one claim.

    ``feedetl_sns`` are the claim's lines concerned (empty for a claim-level finding); ``amount`` is
    the fen at stake; ``evidence`` names what else made the finding (``claim:S123``,
    ``item:002303000010000``, ``date:2022-03-01`` …), sorted; ``args`` fill the rule type's
    message (:mod:`yibao.audit.messages`).
    """

    rule_code: str
    rule_type: str
    result: Result
    claim_id: str
    feedetl_sns: tuple[str, ...]
    amount: int
    evidence: tuple[str, ...] = ()
    args: Mapping[str, str | int] = field(default_factory=dict)

    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.claim_id, self.rule_code, self.feedetl_sns)


CLAIM_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "claim_id": pl.Utf8,
    "seq": pl.Int64,
    "psn_no": pl.Utf8,
    "fixmedins_code": pl.Utf8,
    "hosp_lv": pl.Int32,
    "insutype": pl.Utf8,
    "med_type": pl.Utf8,
    "begndate": pl.Date,
    "enddate": pl.Date,
    "setl_date": pl.Date,
    "dise_codg": pl.Utf8,
}
LINE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "claim_id": pl.Utf8,
    "line_no": pl.Int32,
    "feedetl_sn": pl.Utf8,
    "med_list_codg": pl.Utf8,
    "fee_ocur_date": pl.Date,
    "cnt_milli": pl.Int64,
    "pric": pl.Int64,
    "det_item_fee_sumamt": pl.Int64,
}
"""``line_no`` is the line's position in its claim (0, 1, …): the order lines are counted in."""
PERSON_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "psn_no": pl.Utf8,
    "gend": pl.Utf8,
    "brdy": pl.Date,
    "death_date": pl.Date,
}
FINDING_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "rule_code": pl.Utf8,
    "rule_type": pl.Utf8,
    "result": pl.Utf8,
    "claim_id": pl.Utf8,
    "feedetl_sns": pl.List(pl.Utf8),
    "amount": pl.Int64,
    "evidence": pl.List(pl.Utf8),
    "args": pl.Utf8,
}
"""``args`` is the finding's message arguments as JSON (keys sorted)."""


@dataclass(frozen=True)
class Frames:
    """The columnar form of many claims: one frame each of claims, lines and people."""

    claims: pl.DataFrame
    lines: pl.DataFrame
    people: pl.DataFrame


def frames_of(claims: Iterable[AuditClaim], people: Iterable[PersonFacts]) -> Frames:
    """The frames of ``claims`` and ``people`` (for tests and the counter's small inputs)."""
    cl = list(claims)
    claim_rows = [{k: getattr(c, k) for k in CLAIM_SCHEMA} for c in cl]
    line_rows = [
        {"claim_id": c.claim_id, "line_no": i, **{k: getattr(ln, k) for k in LINE_SCHEMA if k not in ("claim_id", "line_no")}}
        for c in cl
        for i, ln in enumerate(c.lines)
    ]
    person_rows = [{k: getattr(p, k) for k in PERSON_SCHEMA} for p in people]
    return Frames(
        pl.DataFrame(claim_rows, schema=CLAIM_SCHEMA),
        pl.DataFrame(line_rows, schema=LINE_SCHEMA),
        pl.DataFrame(person_rows, schema=PERSON_SCHEMA),
    )


def findings_frame(findings: Iterable[Finding]) -> pl.DataFrame:
    import json

    rows = [
        {
            "rule_code": f.rule_code,
            "rule_type": f.rule_type,
            "result": f.result,
            "claim_id": f.claim_id,
            "feedetl_sns": list(f.feedetl_sns),
            "amount": f.amount,
            "evidence": list(f.evidence),
            "args": json.dumps(dict(f.args), sort_keys=True, ensure_ascii=False),
        }
        for f in findings
    ]
    return pl.DataFrame(rows, schema=FINDING_SCHEMA)


def findings_from_frame(df: pl.DataFrame) -> list[Finding]:
    import json

    return [
        Finding(
            r["rule_code"],
            r["rule_type"],
            r["result"],
            r["claim_id"],
            tuple(r["feedetl_sns"]),
            int(r["amount"]),
            tuple(r["evidence"]),
            json.loads(r["args"]),
        )
        for r in df.iter_rows(named=True)
    ]
