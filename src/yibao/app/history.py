"""Record a county's past claims in the ledger: each settled by the pure core, as at the counter.

For the demo database and for monitoring and report runs on a synthetic county: the claims
are settled person by person in date order with :func:`yibao.settlement.settle.settle_sequence`
(the same rules as the service), each written as a ledger entry with its accumulators, in one
transaction. People who already have ledger entries for a year being loaded are refused, so a
second load changes nothing. Claims of people not enrolled that year, or that the rules refuse,
are counted and skipped, as the counter would refuse them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from yibao.app.ledger import new_entry
from yibao.app.registry import settlement_person
from yibao.core.errors import InputError
from yibao.policy.pack import PolicyPack
from yibao.settlement.model import Claim, YearToDate
from yibao.settlement.settle import settle
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, YearToDateRow
from yibao.store.tables import Enrolment, Person


@dataclass
class HistoryResult:
    settled: int = 0
    not_enrolled: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    unknown_people: int = 0


def settle_history(
    db: Database, pack: PolicyPack, claims: Iterable[Claim], user: str, *, advance: Callable[[int], None] | None = None
) -> HistoryResult:
    """Settle ``claims`` into the ledger (one transaction); ``advance(n)`` is told as people are done."""
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
        for psn_no, person_claims in by_person.items():
            person = people.get(psn_no)
            if person is None:
                out.unknown_people += 1
                continue
            sp = settlement_person(s, person)
            ytd: dict[int, YearToDate] = {}
            for claim in sorted(person_claims, key=lambda c: c.setl_date):
                year = claim.setl_date.year
                if (person.id, year) not in enrolled:
                    out.not_enrolled += 1
                    continue
                try:
                    settled = settle(pack, sp, ytd.get(year), claim)
                except InputError as e:
                    out.refused[e.field] = out.refused.get(e.field, 0) + 1
                    continue
                ytd[year] = settled.ytd_after
                s.add(new_entry(pack, person, claim, settled, user, setl_id=f"S{claim.claim_id}"))
                out.settled += 1
            for year, acc in ytd.items():
                s.add(YearToDateRow(person_id=person.id, year=year, data=json.dumps(acc.to_dict()), version=1))
            if advance:
                advance(1)
        s.commit()
    return out
