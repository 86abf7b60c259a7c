"""The bridge to the settlement model: a county's people and claims as the pure core's objects."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, Literal, cast

from yibao.core.identities import IdentityPeriod
from yibao.settlement.model import ChronicFiling, Claim, Period, Person, Place, PolicyRangeSummary
from yibao.synth.county import SynthCounty


def _opt_date(v: Any) -> date | None:
    return cast(date | None, v)


def to_people_and_claims(county: SynthCounty) -> tuple[dict[str, Person], list[Claim]]:
    """Build settlement-model people and claims (for cross-checks on a small county; loops in Python)."""
    idents: dict[str, list[IdentityPeriod]] = defaultdict(list)
    for psn, cat, vf, vt, src in county.identities.iter_rows():
        idents[psn].append(IdentityPeriod(cat, vf, _opt_date(vt), src))
    filings: dict[str, list[ChronicFiling]] = defaultdict(list)
    for psn, dise, begin, end in county.chronic_filings.iter_rows():
        filings[psn].append(ChronicFiling(dise, begin, _opt_date(end)))
    crosses: dict[str, list[Period]] = defaultdict(list)
    for psn, begin, end in county.cross_filings.iter_rows():
        crosses[psn].append(Period(begin, _opt_date(end)))
    people: dict[str, Person] = {}
    for row in county.people.select("psn_no", "insutype", "emp_status", "emp_tier", "psn_name", "brdy").iter_rows():
        psn, insutype, emp_status, emp_tier, name, brdy = row
        people[psn] = Person(
            psn_no=psn,
            insutype=cast(Literal["390", "310"], insutype),
            identities=tuple(idents.get(psn, ())),
            chronic_filings=tuple(filings.get(psn, ())),
            cross_region_filings=tuple(crosses.get(psn, ())),
            emp_status=cast(Literal["in_service", "retired"] | None, emp_status),
            emp_tier=cast(Literal["unit", "individual_1", "individual_2"] | None, emp_tier),
            psn_name=name,
            birth_date=brdy,
        )
    claims = [
        Claim(
            claim_id=r[0],
            psn_no=r[1],
            setl_date=r[2],
            med_type=r[3],
            hosp_lv=int(r[4]),
            place=cast(Place, r[5]),
            dise_codg=r[6],
            fixmedins_code=r[7],
            summary=PolicyRangeSummary(
                medfee_sumamt=r[8],
                fulamt_ownpay_amt=r[9],
                overlmt_selfpay=r[10],
                preselfpay_amt=r[11],
                inscp_scp_amt=r[12],
                full_pay_scp_amt=r[13],
            ),
        )
        for r in county.claims.iter_rows()
    ]
    return people, claims
