"""Sampling for manual review in the database: draw X% of an institution's settlements in a period with a seed,
open a 疑点 (``sampled``) for each, and estimate from the reviewed ones (:mod:`yibao.rules.suspect_sampling`).

A settlement drawn is a finding of the pseudo-rule ``SAMPLE`` (its amount: what the fund paid, the amount the
institution claimed), so a sampled case goes through the same workflow as any 疑点: cleared at review
(approved in full) or deducted (approved = claimed − recovered)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.ledger import now
from yibao.app.suspects import open_for
from yibao.core.errors import InputError, NotFound
from yibao.rules import suspect_sampling as sampling
from yibao.rules import suspect_workflow as wf
from yibao.store.audit_tables import AuditFinding, SuspectCase, SuspectSample
from yibao.store.ledger_partitions import dated
from yibao.store.service_tables import LedgerEntry

SAMPLE_CODE = "SAMPLE"
SAMPLE_TYPE = "sample"
MAX_SEED = 2**63 - 1


def _population(s: Session, fixmedins_code: str, date_from: date, date_to: date) -> list[LedgerEntry]:
    """The institution's settlements that stand (not reversed) settled in the period, by settlement id."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.reverses.is_not(None))
    q = (
        sa.select(LedgerEntry)
        .where(
            LedgerEntry.kind == "settle", LedgerEntry.fixmedins_code == fixmedins_code, dated(LedgerEntry, date_from, date_to),
            LedgerEntry.setl_id.not_in(reversed_ids),
        )
        .order_by(LedgerEntry.setl_id)
    )  # fmt: skip
    return list(s.scalars(q))


def draw_sample(
    s: Session, fixmedins_code: str, date_from: date, date_to: date, rate_bp: int, seed: int, who: str,
    workflow_days: Mapping[str, int], channel: str = "api",
) -> tuple[SuspectSample, list[SuspectCase]]:  # fmt: skip
    """Draw ``rate_bp`` basis points of the institution's settlements in the period (seeded: the same data and seed
    draw the same settlements) and open a 疑点 for each (in the caller's transaction)."""
    where = "抽查 / sample"
    if not 1 <= rate_bp <= sampling.FULL_BP:
        raise InputError(
            where, "rate", f"{rate_bp / 100}%", "大于 0 且不超过 100 的百分比", expected_en="a percentage above 0, at most 100"
        )
    if date_to < date_from:
        raise InputError(
            where,
            "date_to",
            date_to.isoformat(),
            f"不早于 {date_from.isoformat()} 的日期",
            expected_en=f"a day on or after {date_from}",
        )
    if not 0 <= seed <= MAX_SEED:
        raise InputError(where, "seed", seed, "0 至 2^63−1 的整数", expected_en="a whole number from 0 to 2^63-1")
    population = _population(s, fixmedins_code, date_from, date_to)
    if not population:
        raise InputError(
            where, "fixmedins_code", fixmedins_code, f"在 {date_from}–{date_to} 有结算的定点机构",
            expected_en=f"an institution with settlements in {date_from}..{date_to}",
        )  # fmt: skip
    by_id = {e.setl_id: e for e in population}
    picked = sampling.draw(list(by_id), rate_bp, seed)
    at = now()
    sample = SuspectSample(
        fixmedins_code=fixmedins_code, date_from=date_from, date_to=date_to, rate_bp=rate_bp, seed=seed,
        population=len(population), population_amt=sum(e.fund_pay_sumamt for e in population), drawn=len(picked),
        channel=channel, recorded_at=at, recorded_by=who,
    )  # fmt: skip
    s.add(sample)
    s.flush()
    findings = []
    for setl_id in picked:
        e = by_id[setl_id]
        f = AuditFinding(
            finding_key=f"{setl_id}|{SAMPLE_CODE}|{sample.id}", setl_id=setl_id, mdtrt_id=e.mdtrt_id, psn_no=e.psn_no,
            fixmedins_code=e.fixmedins_code, setl_date=e.setl_date, rule_code=SAMPLE_CODE, rule_type=SAMPLE_TYPE,
            result="suspicious", action="flag", stage="post", feedetl_sns="[]", amount=e.fund_pay_sumamt,
            evidence=json.dumps([f"claim:{setl_id}"]), args=json.dumps({"sample_id": sample.id}), pack_name="sample",
            run_id=None, recorded_at=at, recorded_by=who,
        )  # fmt: skip
        s.add(f)
        findings.append(f)
    s.flush()
    return sample, open_for(s, findings, workflow_days, who, channel, sample_id=sample.id)


def get_sample(s: Session, sample_id: int) -> SuspectSample:
    found = s.get(SuspectSample, sample_id)
    if found is None:
        raise NotFound("抽查 / sample", "id", sample_id, "a known sample number", expected_zh="已有的抽查编号")
    return found


def samples(s: Session, limit: int = 50) -> list[SuspectSample]:
    return list(s.scalars(sa.select(SuspectSample).order_by(SuspectSample.id.desc()).limit(limit)))


def estimate(s: Session, sample_id: int) -> tuple[SuspectSample, sampling.Estimate]:
    """The draw and what its reviewed (closed) cases say about the institution's whole period."""
    sample = get_sample(s, sample_id)
    q = sa.select(SuspectCase.amount, SuspectCase.recovered_amt).where(
        SuspectCase.sample_id == sample_id, SuspectCase.status.in_(wf.CLOSED)
    )
    reviewed = [(int(claimed), int(claimed) - int(back)) for claimed, back in s.execute(q)]
    return sample, sampling.extrapolate(sample.population_amt, reviewed)


def estimate_dict(sample: SuspectSample, est: sampling.Estimate) -> dict[str, object]:
    """The draw and its estimate as the API and the window show them (the estimate marked as one)."""
    return {
        "id": sample.id, "fixmedins_code": sample.fixmedins_code, "date_from": sample.date_from.isoformat(),
        "date_to": sample.date_to.isoformat(), "rate_bp": sample.rate_bp, "seed": sample.seed,
        "population": sample.population, "population_amt": sample.population_amt, "drawn": sample.drawn,
        "reviewed": est.reviewed, "claimed_reviewed": est.claimed_reviewed, "approved_reviewed": est.approved_reviewed,
        "unreviewed_amt": est.unreviewed_amt, "ratio_bp": est.ratio_bp,
        "estimated": True, "approved_unreviewed_est": est.approved_unreviewed, "approved_total_est": est.approved_total,
        "overclaimed_est": est.overclaimed, "recorded_at": sample.recorded_at.isoformat(), "recorded_by": sample.recorded_by,
    }  # fmt: skip
