"""Test data for the 疑点 tests: two hospitals with accounts, people, settlements in the ledger written as rows,
and findings (AuditFinding rows, as an audit run or the counter writes them) opened as 疑点."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from tests.accounts import HOSPITAL, OTHER_HOSPITAL, seed_accounts
from yibao.app import suspects as svc
from yibao.audit.pack import load_audit_pack
from yibao.store.audit_tables import AuditFinding, SuspectCase
from yibao.store.db import Database
from yibao.store.service_tables import FeeLineRow, LedgerEntry, Visit
from yibao.store.tables import Person

PACK_FILE = Path(__file__).resolve().parent / "suspects_pack.yaml"
PACK = load_audit_pack(str(PACK_FILE))
DAYS = dict(PACK.workflow_days)
AT = datetime(2022, 6, 1, tzinfo=UTC)
ARGS = {"days": 15, "gap": 3, "group": "I10", "prev": "S0001"}
"""A 分解住院 finding's message arguments: re-admitted 3 days after the stay S0001, same disease group I10."""
ZERO_AMOUNTS = (
    "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay",
    "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt",
)  # fmt: skip


def person(n: int, township: str = "忙畔乡") -> Person:
    return Person(
        psn_no=f"P{n}", certno=f"53090219800101{n:04d}", psn_name=f"参保人{n}", gend="1", brdy=date(1980, 1, 1),
        county="临翔区", township=township, village="一村", insutype="390", recorded_at=AT, recorded_by="test",
    )  # fmt: skip


def settlement(p: Person, setl_id: str, hospital: str, day: date, fund_pay: int, *, kind: str = "settle") -> LedgerEntry:
    return LedgerEntry(
        setl_id=setl_id, kind=kind, mdtrt_id=f"M{setl_id}", person_id=p.id, psn_no=p.psn_no, fixmedins_code=hospital,
        year=day.year, setl_date=day, insutype="390", med_type="21", line="inpatient", identity="ordinary", hosp_lv=2,
        place="in_county", pack_id="test", medfee_sumamt=fund_pay * 2, fund_pay_sumamt=fund_pay, consumed="{}",
        setldetail="[]", fee_results="[]", trace="[]", recorded_at=AT, recorded_by="test", **dict.fromkeys(ZERO_AMOUNTS, 0),
    )  # fmt: skip


def finding(e: LedgerEntry, rule: str = "ZY001", amount: int = 5_000, evidence: tuple[str, ...] = ()) -> AuditFinding:
    return AuditFinding(
        finding_key=f"{e.setl_id}|{rule}|", setl_id=e.setl_id, mdtrt_id=e.mdtrt_id, psn_no=e.psn_no,
        fixmedins_code=e.fixmedins_code, setl_date=e.setl_date, rule_code=rule, rule_type="split_admission",
        result="suspicious", action="flag", stage="post", feedetl_sns=json.dumps(["1"]), amount=amount,
        evidence=json.dumps(sorted([f"claim:{e.setl_id}", *evidence])), args=json.dumps(ARGS),
        pack_name=PACK.name, run_id=None, recorded_at=AT, recorded_by="test",
    )  # fmt: skip


def seed(db: Database, *, population: int = 0) -> dict[str, int]:
    """Accounts; one 疑点 of each hospital (ids ``mine`` (HOSPITAL) and ``theirs`` (OTHER_HOSPITAL)), the first with
    an earlier settlement as evidence and a fee line; ``population`` more settlements of HOSPITAL in May 2022
    (fund payments 1000, 2000, …) to draw samples from."""
    seed_accounts(db)
    with db.unit_of_work() as s:
        people = [person(1), person(2, "南美乡")]
        s.add_all(people)
        s.flush()
        earlier = settlement(people[0], "S0001", HOSPITAL, date(2022, 3, 1), 40_000)
        later = settlement(people[0], "S0002", HOSPITAL, date(2022, 3, 10), 30_000)
        other = settlement(people[1], "S0003", OTHER_HOSPITAL, date(2022, 3, 12), 20_000)
        s.add_all([earlier, later, other])
        for n in range(population):
            s.add(settlement(people[n % 2], f"T{n:04d}", HOSPITAL, date(2022, 5, 1 + n % 28), 1_000 * (n + 1)))
        s.add(
            Visit(
                mdtrt_id=later.mdtrt_id, person_id=people[0].id, psn_no="P1", fixmedins_code=HOSPITAL, insutype="390",
                med_type="21", begntime=date(2022, 3, 5), status="settled", recorded_at=AT, recorded_by="test",
            )
        )  # fmt: skip
        s.flush()
        s.add(
            FeeLineRow(
                mdtrt_id=later.mdtrt_id, feedetl_sn="1", med_list_codg="001101000010000", med_list_name="床位费",
                chrgitm_lv="01", det_item_fee_sumamt=5_000, cnt="1", pric=5_000, fee_ocur_date=date(2022, 3, 9),
                cancelled=False, setl_id="S0002", recorded_at=AT, recorded_by="test",
            )
        )  # fmt: skip
        found = [finding(later, evidence=("claim:S0001",)), finding(other, amount=8_000)]
        s.add_all(found)
        s.flush()
        mine, theirs = svc.open_cases(s, found, PACK, "auditor", "cli")
        s.commit()
        return {"mine": mine.id, "theirs": theirs.id}


def case(db: Database, case_id: int) -> SuspectCase:
    with db.unit_of_work() as s:
        c = s.get(SuspectCase, case_id)
        assert c is not None
        s.expunge(c)
        return c
