"""Demo data for a fresh start: a small synthetic county and one account per role.

``yibao serve`` calls :func:`ensure_demo` when the database has no accounts yet, so a fresh
clone answers at once. The accounts (documented in the README) are for trying yibao only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from yibao import synth
from yibao.app.audit_pack import base_pack
from yibao.app.audit_runs import run_audit
from yibao.app.auth import create_account
from yibao.app.demo_township import TownshipInfo, load_township
from yibao.app.history import details_from_frames, settle_history
from yibao.app.institutions import checked_townships
from yibao.app.warnings import run_monitoring
from yibao.policy.in_force import configured_pack
from yibao.policy.pack import PolicyPack
from yibao.rules.monitoring import parse_period
from yibao.store.db import Database
from yibao.store.service_tables import Account, Institution
from yibao.store.tables import Person
from yibao.synth.fee_lines import with_fee_lines

DEMO_YEAR = 2022
DEMO_HOSPITAL = "H53090200001"
DEMO_PLANT_RATE = 0.004
"""Share of the demo's claims per audit rule type given a planted violation, for the auditor's desk."""
DEMO_SERIOUS_ILLNESSES = 3
"""Watched people given one admission with drugs outside the catalogue, for the monitoring officer's list."""
DEMO_OUTSIDE_CATALOGUE = 1_000_000
"""What each of them pays for those drugs (fen): 10,000 yuan, above the shipped self-pay lines (7,500 yuan in Huaibei)."""
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    # username, password, role, display name
    ("clerk", "clerk-demo-2022", "clerk", "经办员 李敏"),
    ("auditor", "auditor-demo-2022", "auditor", "审核员 王强"),
    ("monitor", "monitor-demo-2022", "monitoring", "监测员 张丽"),
    ("analyst", "analyst-demo-2022", "analyst", "分析员 赵磊"),
    ("admin", "admin-demo-2022", "admin", "管理员"),
    ("his", "his-demo-2022", "institution", "临翔区人民医院 HIS"),
)


@dataclass
class DemoInfo:
    created: bool
    persons: int
    township: TownshipInfo | None = None
    """The demo township loaded beside the county (Zibo 2020, capitation)."""


def load_institutions(db: Database, institutions: pl.DataFrame) -> int:
    """The synthetic county's institutions not yet known (their count); a ``township`` column, when there, is checked
    (:func:`yibao.app.institutions.checked_townships`) before anything is written."""
    institutions = checked_townships(institutions, "institutions")
    with db.unit_of_work() as s:
        known = set(s.scalars(sa.select(Institution.fixmedins_code)))
        rows = [r for r in institutions.iter_rows(named=True) if r["fixmedins_code"] not in known]
        s.add_all(
            Institution(
                fixmedins_code=r["fixmedins_code"],
                fixmedins_name=r["fixmedins_name"],
                hosp_lv=int(r["hosp_lv"]),
                place=r["place"],
                admdvs=r["admdvs"],
                township=r.get("township"),
            )
            for r in rows
        )
        s.commit()
    return len(rows)


def ensure_demo(db: Database, persons: int = 2000, seed: int = 1, pack: PolicyPack | None = None) -> DemoInfo:
    """Load the demo county, the demo township and accounts unless the database already has accounts.

    The county's claims of the demo year are settled into the ledger with ``pack`` (the
    Huaibei pack by default) and the monitoring is run for each month, so the warning list,
    the reports and people's positions have something to show. The demo township
    (:mod:`yibao.app.demo_township`) has its own people and year, settled with the Zibo 2020 pack.
    """
    with db.unit_of_work() as s:
        if s.scalar(sa.select(sa.func.count()).select_from(Account)):
            return DemoInfo(False, 0)
    from yibao.app.bulk_load import load_synth
    from yibao.app.enrolment import enrol

    county = synth.generate(persons, DEMO_YEAR, seed)
    pack = pack or configured_pack()
    county = _plant_serious_illnesses(county, pack)
    audited = with_fee_lines(county, base_pack(pack), DEMO_PLANT_RATE)
    county = replace(county, claims=audited.claims.select(county.claims.columns))
    with tempfile.TemporaryDirectory() as tmp:
        synth.write(county, Path(tmp))
        load_synth(db, Path(tmp), user="demo")
    load_institutions(db, county.institutions)
    _record_deaths(db, audited.people)
    if pack.covers(date(DEMO_YEAR, 1, 1)) and pack.at(date(DEMO_YEAR, 1, 1)).premium is not None:
        enrol(db, DEMO_YEAR, pack, user="demo")  # premiums priced and split between the person and subsidies
    _people, claims = synth.to_people_and_claims(county)
    episodes = audited.claims.select("claim_id", "begndate", "enddate", "dise_codg")
    settle_history(db, pack, claims, "demo", details=details_from_frames(episodes, audited.fee_lines))
    run_audit(db, pack, date(DEMO_YEAR, 1, 1), date(DEMO_YEAR, 12, 31), "demo", "schedule")
    if pack.covers(date(DEMO_YEAR, 12, 31)) and pack.at(date(DEMO_YEAR, 12, 31)).monitoring is not None:
        for month in range(1, 13):
            run_monitoring(db, pack, parse_period(f"{DEMO_YEAR}-{month:02d}"), "demo", trigger="schedule")
    township = load_township(db)  # the Zibo 2020 township under capitation, beside the county (its own people and year)
    with db.unit_of_work() as s:
        for username, password, role, name in DEMO_ACCOUNTS:
            create_account(
                s,
                username,
                password,
                role,
                "demo",
                display_name=name,
                fixmedins_code=DEMO_HOSPITAL if role == "institution" else None,
            )
        s.commit()
    return DemoInfo(True, persons, township)


def _record_deaths(db: Database, people: pl.DataFrame) -> None:
    """The registry's day of death for the synthetic people who died (audit rule 死亡后就医)."""
    dead = people.filter(pl.col("death_date").is_not_null()).select("psn_no", "death_date")
    with db.unit_of_work() as s:
        for psn_no, day in dead.iter_rows():
            s.execute(sa.update(Person).where(Person.psn_no == psn_no).values(death_date=day))
        s.commit()


def demo_people(db: Database, n: int = 3) -> list[tuple[str, str, str]]:
    """A few enrolled residents to try settlements with: (certno, name, deciding category)."""
    from yibao.store.tables import Enrolment, Identity, Person

    with db.unit_of_work() as s:
        q = (
            sa.select(Person.certno, Person.psn_name, sa.func.min(Identity.category))
            .join(Enrolment, Enrolment.person_id == Person.id)
            .outerjoin(Identity, Identity.person_id == Person.id)
            .where(Enrolment.year == DEMO_YEAR, Enrolment.psn_insu_stas == "1", Person.insutype == "390")
            .group_by(Person.id, Person.certno, Person.psn_name)
            .order_by(Person.id)
            .limit(n)
        )
        return [(c, name, cat or "ordinary") for c, name, cat in s.execute(q)]


def _plant_serious_illnesses(county: synth.SynthCounty, pack: PolicyPack) -> synth.SynthCounty:
    """The county with a few watched people's first admission carrying drugs outside the catalogue.

    Under the shipped packs, calibrated to the reimbursement the seeds report, the tiers leave people in
    hardship little to pay, so a small demo county would have no warning at all. A few serious illnesses
    with costly drugs the catalogue does not list (靶向药 and the like, paid by the patient alone) are what
    real warning lists hold; :data:`DEMO_SERIOUS_ILLNESSES` of the people the pack's warning rules watch
    (the first by ``psn_no`` with an admission) get :data:`DEMO_OUTSIDE_CATALOGUE` more, all self-paid,
    on their first admission. The same county, seed and pack give the same planting.
    """
    day = date(DEMO_YEAR, 12, 31)
    monitoring = pack.at(day).monitoring if pack.covers(day) else None
    if monitoring is None:
        return county
    watched = {c for rule in monitoring.rules.values() if rule.kind == "warning" for c in rule.categories}
    people = county.identities.filter(pl.col("category").is_in(sorted(watched)))["psn_no"].unique()
    admissions = county.claims.filter((pl.col("med_type") == "21") & pl.col("psn_no").is_in(people.implode()))
    first = admissions.sort("psn_no", "setl_date", "claim_id").unique("psn_no", keep="first", maintain_order=True)
    planted = first.head(DEMO_SERIOUS_ILLNESSES)["claim_id"].implode()
    extra = pl.when(pl.col("claim_id").is_in(planted)).then(DEMO_OUTSIDE_CATALOGUE).otherwise(0)
    claims = county.claims.with_columns(pl.col("medfee_sumamt") + extra, pl.col("fulamt_ownpay_amt") + extra)
    return replace(county, claims=claims)
