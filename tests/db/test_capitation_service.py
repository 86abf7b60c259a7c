"""Capitation through the settlement service over real HTTP (SQLite and PostgreSQL): a township clinic's
outpatient claim by a resident of that township draws on the shared pot, the ledger keeps what was paid by
head, a reversal gives it back, and a resident of another township or a claim at the county hospital is
settled item by item (issue 17, must-have 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import sqlalchemy as sa

from tests.accounts import login, seed_accounts
from tests.live import live_server
from yibao.core.idcard import check_digit
from yibao.entrypoints.http import create_app
from yibao.policy import load_pack
from yibao.store.db import Database
from yibao.store.service_tables import Institution, LedgerEntry
from yibao.store.tables import Enrolment, Identity, Person

PACK = load_pack("shandong-zibo-2020")
TOWN = "演示镇"
CLINIC, TOWN_HOSPITAL, COUNTY = "V3703000001", "H3703000001", "H3703000009"


def _certno(n: int) -> str:
    base = f"37030219700101{n:03d}"
    return base + check_digit(base)


def seed(db: Database) -> None:
    seed_accounts(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        s.add_all(
            [
                Institution(fixmedins_code=CLINIC, fixmedins_name="东村卫生室", hosp_lv=1, place="in_county", township=TOWN),
                Institution(
                    fixmedins_code=TOWN_HOSPITAL, fixmedins_name="演示镇卫生院", hosp_lv=1, place="in_county", township=TOWN
                ),
                Institution(fixmedins_code=COUNTY, fixmedins_name="演示县人民医院", hosp_lv=2, place="in_county"),
            ]
        )
        for n, (psn_no, township, poor) in enumerate((("Z1", TOWN, True), ("Z2", "别的镇", False)), start=1):
            p = Person(
                psn_no=psn_no, certno=_certno(n), psn_name=f"居民{n}", gend="1", brdy=date(1970, 1, 1), township=township,
                recorded_at=now, recorded_by="seed",
            )  # fmt: skip
            s.add(p)
            s.flush()
            s.add(Enrolment(person_id=p.id, year=2020, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by="seed"))
            if poor:
                s.add(
                    Identity(
                        person_id=p.id, category="pinkun", valid_from=date(2019, 1, 1), source_bureau="扶贫", recorded_at=now,
                        recorded_by="seed",
                    )
                )  # fmt: skip
        s.commit()


def bill(psn_no: str, yuan: int, code: str, day: str) -> dict[str, object]:
    return {
        "psn_no": psn_no,
        "setl_date": day,
        "med_type": "11",
        "fixmedins_code": code,
        "summary": {"medfee_sumamt": yuan * 100},
    }


def test_a_township_clinic_claim_draws_on_the_pot_and_the_ledger_keeps_it(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "clerk")

        def settle(psn_no: str, yuan: int, code: str, day: str) -> dict[str, object]:
            r = httpx.post(f"{url}/api/settlements", json=bill(psn_no, yuan, code, day), headers=h, timeout=60)
            assert r.status_code == 201, r.text
            body: dict[str, object] = r.json()
            return body

        # Zibo outpatient pooling, level 1 in county: 50%, no deductible. Z1 (建档立卡) lives in 演示镇.
        first = settle("Z1", 300, CLINIC, "2020-03-02")  # 150 paid, all by head (limit 200)
        assert first["capitation"] == {"township": TOWN, "captn_pay": 15_000, "item_pay": 0}
        second = settle("Z1", 300, TOWN_HOSPITAL, "2020-03-09")  # 150: 50 by head (the pot shared with the clinic), 100 item
        assert second["capitation"] == {"township": TOWN, "captn_pay": 5_000, "item_pay": 10_000}
        # the county hospital is no township institution: the line's own 200-yuan cap, which the 300 paid this year
        # on the outpatient line already passed (item by item above the limit is for the township's pot only): 0
        county = settle("Z1", 300, COUNTY, "2020-03-16")
        assert "capitation" not in county and county["setlinfo"]["hifp_pay"] == 0  # type: ignore[index]
        other = settle("Z2", 300, CLINIC, "2020-03-02")  # lives in another township: not counted, item by item
        assert "capitation" not in other and other["setlinfo"]["hifp_pay"] == 15_000  # type: ignore[index]
        undo = httpx.post(
            f"{url}/api/settlements/{second['setl_id']}/reverse", json={"reason": "重复结算"}, headers=h, timeout=60
        )
        assert undo.status_code == 201, undo.text
        again = settle("Z1", 300, TOWN_HOSPITAL, "2020-03-10")  # the 50 given back is paid by head again
        assert again["capitation"] == {"township": TOWN, "captn_pay": 5_000, "item_pay": 10_000}
    with db.unit_of_work() as s:
        rows = s.execute(
            sa.select(LedgerEntry.psn_no, LedgerEntry.kind, LedgerEntry.hifp_pay, LedgerEntry.captn_pay, LedgerEntry.captn_town)
            .order_by(LedgerEntry.id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("Z1", "settle", 15_000, 15_000, TOWN),
        ("Z1", "settle", 15_000, 5_000, TOWN),
        ("Z1", "settle", 0, 0, None),
        ("Z2", "settle", 15_000, 0, None),
        ("Z1", "reverse", -15_000, -5_000, TOWN),
        ("Z1", "settle", 15_000, 5_000, TOWN),
    ]
