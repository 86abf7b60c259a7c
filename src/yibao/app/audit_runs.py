"""Audit after settlement (事后): the audit pack's rules over a date range of the ledger, columnar.

:func:`run_audit` reads the standing settlements of the range as frames (:func:`yibao.app.audit_facts.ledger_frames`),
with as much of the ledger before the range as the rules' windows reach (a 分解住院 on 3 January needs the
stay of late December), runs every rule of the ``post`` stage once over them, and keeps the findings on
claims settled in the range. It records the run (:class:`AuditRun`) and each finding not yet on record
(``finding_key`` is unique: a finding the counter already recorded, or an earlier run, is left as it is,
so running twice creates nothing new), and opens a 疑点 for each new finding except those the rule could
not evaluate (无法判断: data it needs is missing; recorded for the auditor, nothing to review).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
import sqlalchemy as sa

from yibao.app import suspects
from yibao.app.audit_counter import finding_key, finding_row
from yibao.app.audit_facts import earliest_day, ledger_frames, lookback_start
from yibao.app.audit_pack import pack_in_force
from yibao.app.ledger import now
from yibao.audit.engine import audit_frames
from yibao.audit.model import Finding, findings_from_frame
from yibao.core.errors import InputError
from yibao.policy.pack import PolicyPack
from yibao.store.audit_tables import AuditFinding, AuditRun
from yibao.store.db import Database
from yibao.store.ledger_partitions import dated
from yibao.store.service_tables import LedgerEntry

STAGE = "post"
Progress = Callable[[str], None]
"""Told each step as it starts (``read``, ``audit``, ``write``): for a progress display."""


@dataclass(frozen=True)
class RunResult:
    run_id: int
    pack_name: str
    claims: int
    lines: int
    findings: tuple[Finding, ...]
    """Every finding on the range's claims, new or already on record."""
    created: int
    cases: int


def _entries(date_from: date, date_to: date) -> sa.Select[str, str | None, str, str | None, date]:
    """What a finding row takes from each settlement of the range."""
    return sa.select(
        LedgerEntry.setl_id, LedgerEntry.mdtrt_id, LedgerEntry.psn_no, LedgerEntry.fixmedins_code, LedgerEntry.setl_date
    ).where(dated(LedgerEntry, date_from, date_to), LedgerEntry.kind == "settle")


def _no_progress(step: str) -> None:
    return None


def run_audit(
    db: Database,
    policy: PolicyPack | None,
    date_from: date,
    date_to: date,
    who: str,
    channel: str,
    progress: Progress = _no_progress,
) -> RunResult:
    """Audit the settlements of ``date_from``…``date_to`` (settlement days, inclusive) and record what is new."""
    if date_to < date_from:
        raise InputError("audit run", "date_to", date_to.isoformat(), f"a day on or after date_from ({date_from})")
    with db.unit_of_work() as s:
        progress("read")
        pack = pack_in_force(s, policy)
        since = lookback_start(pack, earliest_day(s, date_from, date_to))
        frames = ledger_frames(s, since, date_to)
        in_range = frames.claims.filter(pl.col("setl_date").is_between(date_from, date_to)).select("claim_id")
        progress("audit")
        found_df = audit_frames(pack, frames, STAGE).join(in_range, on="claim_id", how="semi")
        found = findings_from_frame(found_df)
        progress("write")
        known = set(
            s.scalars(
                sa.select(AuditFinding.finding_key).where(AuditFinding.setl_date >= date_from, AuditFinding.setl_date <= date_to)
            )
        )
        new = [f for f in found if finding_key(f.claim_id, f) not in known]
        entries = {e.setl_id: e for e in s.execute(_entries(date_from, date_to))}
        run = AuditRun(
            stage=STAGE, date_from=date_from, date_to=date_to, pack_name=pack.name, claims=in_range.height,
            lines=frames.lines.join(in_range, on="claim_id", how="semi").height, findings=len(found), created=len(new),
            channel=channel, recorded_at=now(), recorded_by=who,
        )  # fmt: skip
        s.add(run)
        s.flush()
        rows = [finding_row(f, entries[f.claim_id], pack.name, STAGE, "flag", who, run.id) for f in new]
        s.add_all(rows)
        s.flush()
        cases = suspects.open_cases(s, [r for r in rows if r.result != "unevaluable"], pack, who, channel)
        s.commit()
        return RunResult(run.id, pack.name, run.claims, run.lines, tuple(found), len(new), len(cases))
