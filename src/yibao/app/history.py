"""Record a county's past claims in the ledger: each settled by the pure core, as at the counter.

For the demo database and for monitoring and report runs on a synthetic county: the claims
are settled person by person in date order with :func:`yibao.settlement.settle.settle_sequence`
(the same rules as the service), each written as a ledger entry with its accumulators, in one
transaction. People who already have ledger entries for a year being loaded are refused, so a
second load changes nothing. Claims of people not enrolled that year, or that the rules refuse,
are counted and skipped, as the counter would refuse them.

A past claim is recorded on its own day — its ledger entry, visit and fee lines at the beginning of the
settlement's day in Beijing (the national ``setl_time``) — not at the moment of the load, so "today's
settlements" (the home page) are the window's and the interface's work of today, never a loaded history.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from yibao.app.ledger import new_entry
from yibao.app.registry import account_balances, settlement_person
from yibao.audit.model import AuditLine
from yibao.core.clock import beijing_midnight
from yibao.core.errors import InputError
from yibao.policy.pack import PolicyPack
from yibao.settlement.model import Claim, YearToDate
from yibao.settlement.settle import settle
from yibao.store.db import Database
from yibao.store.service_tables import FeeLineRow, Institution, LedgerEntry, Visit, YearToDateRow
from yibao.store.tables import Enrolment, Person


@dataclass(frozen=True)
class ClaimDetail:
    """What the hospital sent besides the summary: the stay's days, the diagnosis and the dated fee lines.

    With it a past claim is recorded as the counter records one — a visit (就诊) and its fee lines beside
    the ledger entry — so that the audit after settlement sees it like any other settlement.
    """

    begndate: date
    enddate: date
    dise_codg: str
    lines: tuple[AuditLine, ...]


def details_from_frames(episodes: pl.DataFrame, lines: pl.DataFrame) -> dict[str, ClaimDetail]:
    """Claim details from an episodes frame (claim_id, begndate, enddate, dise_codg) and a fee-lines frame
    (:data:`yibao.audit.model.LINE_SCHEMA`)."""
    by_claim: dict[str, list[AuditLine]] = defaultdict(list)
    for r in lines.sort(["claim_id", "line_no"]).iter_rows(named=True):
        by_claim[r["claim_id"]].append(
            AuditLine(
                r["feedetl_sn"], r["med_list_codg"], r["fee_ocur_date"], r["cnt_milli"], r["pric"], r["det_item_fee_sumamt"]
            )
        )
    return {
        r["claim_id"]: ClaimDetail(r["begndate"], r["enddate"], r["dise_codg"] or "", tuple(by_claim.get(r["claim_id"], ())))
        for r in episodes.iter_rows(named=True)
    }


def _cnt_text(cnt_milli: int) -> str:
    return str(Decimal(cnt_milli) / 1000)


def _detail_rows(
    claim: Claim, person: Person, detail: ClaimDetail, setl_id: str, user: str
) -> tuple[dict[str, object], list[dict[str, object]]]:
    at = beijing_midnight(claim.setl_date)
    mdtrt_id = "M" + claim.claim_id
    visit = {
        "mdtrt_id": mdtrt_id, "person_id": person.id, "psn_no": person.psn_no, "fixmedins_code": claim.fixmedins_code,
        "insutype": person.insutype, "med_type": claim.med_type, "ipt_otp_no": claim.claim_id, "begntime": detail.begndate,
        "endtime": detail.enddate, "dise_codg": detail.dise_codg or None, "status": "settled", "recorded_at": at,
        "recorded_by": user,
    }  # fmt: skip
    lines: list[dict[str, object]] = [
        {
            "mdtrt_id": mdtrt_id,
            "feedetl_sn": ln.feedetl_sn,
            "med_list_codg": ln.med_list_codg,
            "med_list_name": None,
            "chrgitm_lv": "01",
            "det_item_fee_sumamt": ln.det_item_fee_sumamt,
            "cnt": _cnt_text(ln.cnt_milli),
            "pric": ln.pric,
            "fee_ocur_date": ln.fee_ocur_date,
            "cancelled": False,
            "setl_id": setl_id,
            "recorded_at": at,
            "recorded_by": user,
        }
        for ln in detail.lines
    ]
    return visit, lines


@dataclass
class HistoryResult:
    settled: int = 0
    not_enrolled: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    unknown_people: int = 0


def settle_history(
    db: Database,
    pack: PolicyPack,
    claims: Iterable[Claim],
    user: str,
    *,
    advance: Callable[[int], None] | None = None,
    details: Mapping[str, ClaimDetail] | None = None,
) -> HistoryResult:
    """Settle ``claims`` into the ledger (one transaction); ``advance(n)`` is told as people are done.

    A claim with an entry in ``details`` is also recorded as a settled visit with its fee lines
    (the visit ``M<claim_id>``, the settlement ``S<claim_id>``)."""
    visits: list[dict[str, object]] = []
    fee_lines: list[dict[str, object]] = []
    by_person: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        by_person[c.psn_no].append(c)
    out = HistoryResult()
    with db.unit_of_work() as s:
        people = {p.psn_no: p for p in s.scalars(sa.select(Person).where(Person.psn_no.in_(list(by_person))))}
        years = {c.setl_date.year for cs in by_person.values() for c in cs}
        enrolled_q = sa.select(Enrolment.person_id, Enrolment.year).where(
            Enrolment.psn_insu_stas == "1", Enrolment.year.in_(years)
        )
        enrolled = {(pid, year) for pid, year in s.execute(enrolled_q)}
        taken = s.execute(
            sa.select(LedgerEntry.psn_no, LedgerEntry.year).where(LedgerEntry.year.in_(years)).limit(1)
        ).first()  # fmt: skip
        if taken is not None:
            raise InputError(
                "ledger", "year", taken[1], f"a year with no settlements yet (person {taken[0]} already has some): loaded before?"
            )
        balances = account_balances(s, years)
        township_of = sa.select(Institution.fixmedins_code, Institution.township).where(Institution.township.is_not(None))
        towns: dict[str, str] = {code: town for code, town in s.execute(township_of) if town}
        for psn_no, person_claims in by_person.items():
            person = people.get(psn_no)
            if person is None:
                out.unknown_people += 1
                continue
            sp = settlement_person(s, person)
            ytd: dict[int, YearToDate] = {}
            for claim in sorted(person_claims, key=lambda c: c.setl_date):
                if not claim.township and claim.fixmedins_code in towns:  # a township institution's capitation group
                    claim = replace(claim, township=towns[claim.fixmedins_code])
                year = claim.setl_date.year
                if (person.id, year) not in enrolled:
                    out.not_enrolled += 1
                    continue
                try:
                    settled = settle(pack, replace(sp, acct_balance=balances.get((person.id, year), 0)), ytd.get(year), claim)
                except InputError as e:
                    out.refused[e.field] = out.refused.get(e.field, 0) + 1
                    continue
                ytd[year] = settled.ytd_after
                detail = (details or {}).get(claim.claim_id)
                mdtrt_id = None
                if detail is not None and claim.fixmedins_code:
                    visit, lines = _detail_rows(claim, person, detail, f"S{claim.claim_id}", user)
                    visits.append(visit)
                    fee_lines.extend(lines)
                    mdtrt_id = str(visit["mdtrt_id"])
                at = beijing_midnight(claim.setl_date)
                s.add(
                    new_entry(pack, person, claim, settled, user, setl_id=f"S{claim.claim_id}", mdtrt_id=mdtrt_id, recorded_at=at)
                )
                out.settled += 1
            for year, acc in ytd.items():
                s.add(YearToDateRow(person_id=person.id, year=year, data=json.dumps(acc.to_dict()), version=1))
            if advance:
                advance(1)
        if visits:
            s.execute(sa.insert(Visit), visits)
        if fee_lines:
            s.execute(sa.insert(FeeLineRow), fee_lines)
        s.commit()
    return out
