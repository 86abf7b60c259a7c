"""The example HIS client walks the national interface against a live server (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import sqlalchemy as sa
from examples.his_client import walk

from tests.accounts import HOSPITAL, PASSWORD, login
from tests.db.test_service import CERTNO, PACK, seed
from tests.live import live_server
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry


def test_his_client_walk_admission_to_settlement_cancel_and_correction(db: Database) -> None:
    seed(db)  # 杨桂芳, 低保, enrolled 2022; hospital H53090200001 is level 2, in county
    with live_server(create_app(db, PACK)) as url:
        out = walk(url, "his", PASSWORD, CERTNO, "2022-06", HOSPITAL)
        verify = httpx.get(f"{url}/api/ledger/verify", headers=login(url, "auditor")).json()
    assert out["info"]["infcode"] == "0"
    assert [i["psn_idet_type"] for i in out["info"]["output"]["idetinfo"]] == ["dibao"]
    lines = {r["feedetl_sn"]: r for r in out["upload"]["output"]["result"]}
    # 乙类 24,000 with the 10% self-pay-first share: 2,400 first, 21,600 in range; 丙类 6,000 fully self-paid
    assert (lines["2"]["preselfpay_amt"], lines["2"]["inscp_scp_amt"]) == (Decimal("2400.00"), Decimal("21600.00"))
    assert lines["3"]["fulamt_ownpay_amt"] == Decimal("6000.00")
    s = out["settle"]["output"]["setlinfo"]
    # policy range 1,800 + 21,600 + 7,000 = 30,400; basic (30,400 - 500) x 91.8% = 27,448.20; left 2,951.80
    # CI tilt: 2,951.80 is below the 7,500 deductible: 0; assistance 2,951.80 x 75% = 2,213.85;
    # patient 38,800 - 27,448.20 - 0 - 2,213.85 = 9,137.95
    assert (s["medfee_sumamt"], s["inscp_scp_amt"], s["hifp_pay"], s["hifmi_pay"], s["maf_pay"], s["psn_part_amt"]) == (
        Decimal("38800.00"),
        Decimal("30400.00"),
        Decimal("27448.20"),
        Decimal("0"),
        Decimal("2213.85"),
        Decimal("9137.95"),
    )
    assert {d["fund_pay_type"] for d in out["settle"]["output"]["setldetail"]} >= {"390100", "390200", "610100"}
    pre = out["pre"]["output"]["setlinfo"]
    assert {k: v for k, v in pre.items() if k != "setl_id"} == {k: v for k, v in s.items() if k != "setl_id"}
    assert out["again"] == out["settle"] | {
        "refmsg_time": out["again"]["refmsg_time"],
        "respond_time": out["again"]["respond_time"],
    }
    assert out["cancel"]["infcode"] == "0"
    assert out["cancel_twice"]["infcode"] == "-1" and "setl_id" in out["cancel_twice"]["err_msg"]
    assert out["resettle"]["infcode"] == "0" and out["resettle"]["output"]["setlinfo"]["hifp_pay"] == Decimal("27448.20")
    assert out["correction"]["infcode"] == "0"
    assert out["opd_settle"]["infcode"] == "0"
    assert out["bad"]["infcode"] == "-1" and "infno" in out["bad"]["err_msg"]
    assert verify["ok"] is True
    with db.unit_of_work() as session:
        kinds = [k for (k,) in session.execute(sa.select(LedgerEntry.kind).order_by(LedgerEntry.id))]
    assert kinds == ["settle", "reverse", "settle", "reverse", "settle"]


def test_national_refuses_other_institutions_and_unknown_people_without_writing(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        h = login(url, "his")
        env = {
            "infno": "2401",
            "msgid": "X1",
            "fixmedins_code": "H53090200002",
            "input": {"mdtrtinfo": {"psn_no": "P1", "begntime": "2022-06-01", "med_type": "21"}},
        }
        r = httpx.post(f"{url}/api/hsa", json=env, headers=h).json()
        assert r["infcode"] == "-1" and "fixmedins_code" in r["err_msg"]
        env2 = env | {
            "fixmedins_code": HOSPITAL,
            "msgid": "X2",
            "input": {"mdtrtinfo": {"psn_no": "NOBODY", "begntime": "2022-06-01"}},
        }
        r2 = httpx.post(f"{url}/api/hsa", json=env2, headers=h).json()
        assert r2["infcode"] == "-1" and "psn_no" in r2["err_msg"]
        assert httpx.post(f"{url}/api/hsa", content=b"{not json", headers=h).json()["infcode"] == "-1"
        assert httpx.post(f"{url}/api/hsa", json=env2, headers=login(url, "analyst")).status_code == 403
    with db.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0
