"""Reconciliation (对账, 3201/3202 and REST) against a live server on SQLite and PostgreSQL.

The example HIS walks an admission (settled, cancelled, settled again, 冲正) and an outpatient
visit; three more inpatient settlements are made at the window. The HIS's own list is then
spoiled on purpose: one settlement it never recorded, one it invented, one amount off by
0.01, one it still thinks valid although the platform reversed it, one it thinks reversed
although the platform did not. Every one must be found, with the right kind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from examples.his_client import HIS, reconcile, records_from_log, walk

from tests.accounts import HOSPITAL, OTHER_HOSPITAL, PASSWORD, login
from tests.db.test_service import CERTNO, PACK, bill, seed
from tests.live import live_server
from yibao.core.money import fen_to_yuan_str
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import Message

BEGIN, END = "2022-06-01", "2022-06-30"


def yuan(fen: int) -> Decimal:
    return Decimal(fen_to_yuan_str(fen))


def window_settlements(url: str) -> list[dict[str, Any]]:
    """Three inpatient settlements made at the window for the hospital (the HIS sees them as its own)."""
    h = login(url, "clerk")
    out = []
    for day, amount in (("2022-06-05", 1_200), ("2022-06-07", 3_000), ("2022-06-09", 800)):
        r = httpx.post(f"{url}/api/settlements", json=bill(amount, day), headers=h)
        assert r.status_code == 201, r.text
        s = r.json()["setlinfo"]
        out.append({
            "setl_id": s["setl_id"], "mdtrt_id": None, "psn_no": s["psn_no"], "insutype": s["insutype"],
            "clr_type": s["med_type"], "medfee_sumamt": yuan(s["medfee_sumamt"]), "fund_pay_sumamt": yuan(s["fund_pay_sumamt"]),
            "acct_pay": Decimal("0.00"), "refd_setl_flag": "0",
        })  # fmt: skip
    return out


def by_setl_id(differences: list[dict[str, Any]]) -> dict[str, str]:
    return {d["setl_id"]: d["kind"] for d in differences}


def test_reconcile_finds_every_planted_difference_and_3201_agrees_only_with_the_right_totals(db: Database) -> None:
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        out = walk(url, "his", PASSWORD, CERTNO, "2022-06", HOSPITAL)
        a, b, c = window_settlements(url)
        own = records_from_log(out["log"])
        # the walk: inpatient S1 cancelled (2305), S2 corrected (2601), outpatient S3 valid
        first_setl = out["settle"]["output"]["setlinfo"]
        s1 = first_setl["setl_id"]
        s2 = out["resettle"]["output"]["setlinfo"]["setl_id"]
        s3 = out["opd_settle"]["output"]["setlinfo"]["setl_id"]
        assert [(r["setl_id"], r["refd_setl_flag"]) for r in own] == [(s1, "1"), (s2, "1"), (s3, "0")]

        # the platform's true totals, per insutype/clr_type, from the answers the settlements gave
        opd = out["opd_settle"]["output"]["setlinfo"]
        inpatient = {
            "medfee_sumamt": a["medfee_sumamt"] + b["medfee_sumamt"] + c["medfee_sumamt"],
            "fund_pay_sumamt": a["fund_pay_sumamt"] + b["fund_pay_sumamt"] + c["fund_pay_sumamt"],
            "acct_pay": Decimal("0.00"),
            "fixmedins_setl_cnt": 3,
        }

        # plant the differences
        his_list = [dict(r) for r in own]
        his_list[0]["refd_setl_flag"] = "0"  # S1: the HIS missed the cancellation's answer
        off = dict(a, fund_pay_sumamt=a["fund_pay_sumamt"] + Decimal("0.01"))  # A: one fen off
        gone = dict(c, refd_setl_flag="1")  # C: the HIS thinks it reversed it
        invented = {"setl_id": "S20220615INVENTED0001", "mdtrt_id": "M20220615X", "psn_no": "P1", "insutype": "390",
                    "clr_type": "21", "medfee_sumamt": Decimal("500.00"), "fund_pay_sumamt": Decimal("300.00"),
                    "acct_pay": Decimal("0.00"), "refd_setl_flag": "0"}  # fmt: skip
        his_list += [off, gone, invented]  # B is missing on the HIS side
        result = reconcile(url, "his", PASSWORD, HOSPITAL, BEGIN, END, his_list)

        detail = result["detail"]
        assert detail["infcode"] == "0", detail["err_msg"]
        diffs = detail["output"]["differences"]
        assert by_setl_id(diffs) == {
            b["setl_id"]: "missing_on_his",
            "S20220615INVENTED0001": "missing_on_platform",
            a["setl_id"]: "amount_differs",
            s1: "reversed_on_platform_only",
            c["setl_id"]: "reversed_on_his_only",
        }
        amount = next(d for d in diffs if d["kind"] == "amount_differs")
        field = {"field": "fund_pay_sumamt", "field_zh": "基金支付总额", "his": off["fund_pay_sumamt"]}
        assert amount["fields"] == [field | {"platform": a["fund_pay_sumamt"]}]
        rev = next(d for d in diffs if d["kind"] == "reversed_on_platform_only")
        assert rev["platform"]["reversed_by"].startswith("R") and rev["his"][0]["refd_setl_flag"] == "0"
        missing = next(d for d in diffs if d["kind"] == "missing_on_his")
        assert missing["platform"]["medfee_sumamt"] == b["medfee_sumamt"] and missing["his"] == []
        stmt, totals = detail["output"]["stmtinfo"], detail["output"]["totals"]
        assert stmt["stmt_rslt"] == "1" and "金额不一致 1 笔" in stmt["stmt_rslt_dscr"]
        assert totals["matched"] == 2  # S2 reversed on both sides, S3 valid on both
        medfee = inpatient["medfee_sumamt"] + opd["medfee_sumamt"]
        fund = inpatient["fund_pay_sumamt"] + opd["fund_pay_sumamt"]
        assert totals["platform"] == {
            "medfee_sumamt": medfee,
            "fund_pay_sumamt": fund,
            "acct_pay": Decimal("0.00"),
            "cash_payamt": medfee - fund,
            "fixmedins_setl_cnt": 4,
        }
        # the HIS counts S1, S3, A (one fen more) and the invented one; not C
        first_bill = Decimal(first_setl["medfee_sumamt"])
        assert totals["his"]["fixmedins_setl_cnt"] == 4
        assert totals["his"]["medfee_sumamt"] == first_bill + opd["medfee_sumamt"] + a["medfee_sumamt"] + Decimal("500.00")
        assert totals["counts"]["missing_on_his"] == 1 and totals["counts"]["duplicate_on_his"] == 0

        # 3201 per group, from the HIS's spoilt list: outpatient agrees, inpatient does not
        assert result["totals"]["390/11"]["output"]["stmtinfo"]["stmt_rslt"] == "0"
        assert result["totals"]["390/21"]["output"]["stmtinfo"]["stmt_rslt"] == "1"

        # 3201 with the right inpatient totals agrees; one fen or one settlement off disagrees
        his = HIS(url, "his", PASSWORD, HOSPITAL)
        head = {"insutype": "390", "clr_type": "21", "setl_optins": "530902", "stmt_begndate": BEGIN, "stmt_enddate": END}
        right = his.call("3201", {"data": head | inpatient})
        assert right["infcode"] == "0", right["err_msg"]
        info = right["output"]["stmtinfo"]
        assert (info["stmt_rslt"], info["diff"]) == ("0", [])
        assert (info["medfee_sumamt"], info["fixmedins_setl_cnt"]) == (inpatient["medfee_sumamt"], 3)
        wrong = his.call("3201", {"data": head | inpatient | {"medfee_sumamt": inpatient["medfee_sumamt"] - Decimal("0.01")}})
        w = wrong["output"]["stmtinfo"]
        assert w["stmt_rslt"] == "1" and [d["field"] for d in w["diff"]] == ["medfee_sumamt"]
        assert w["medfee_sumamt"] == inpatient["medfee_sumamt"]  # our figure, beside theirs
        twice = his.call("3201", {"data": head | inpatient | {"fixmedins_setl_cnt": 4}})
        assert twice["output"]["stmtinfo"]["stmt_rslt"] == "1"
        period = {"stmt_begndate": BEGIN, "stmt_enddate": END}
        all_of_it = {"medfee_sumamt": medfee, "fund_pay_sumamt": fund, "acct_pay": "0", "fixmedins_setl_cnt": "4"}
        everything = his.call("3201", {"data": period | all_of_it})
        assert everything["output"]["stmtinfo"]["stmt_rslt"] == "0"

        # a clean list agrees in 3202
        clean = [dict(r) for r in own] + [a, b, c]
        ok = his.call("3202", {"data": {"stmt_begndate": BEGIN, "stmt_enddate": END}, "detail": clean})
        assert ok["output"]["stmtinfo"]["stmt_rslt"] == "0" and ok["output"]["differences"] == []
        assert ok["output"]["totals"]["his"] == ok["output"]["totals"]["platform"]

        # REST, for fund supervision: the same answers; other roles refused
        audit = login(url, "auditor")
        june = {"fixmedins_code": HOSPITAL, "begin": BEGIN, "end": END}
        got = httpx.get(f"{url}/api/reconcile/totals", params=june, headers=audit)
        assert got.status_code == 200, got.text
        body = got.json(parse_float=Decimal)
        groups = {(g["insutype"], g["clr_type"]): g for g in body["groups"]}
        assert groups["390", "21"]["fund_pay_sumamt"] == inpatient["fund_pay_sumamt"]
        assert groups["390", "21"]["fixmedins_setl_cnt"] == 3 and groups["390", "11"]["fixmedins_setl_cnt"] == 1
        assert body["total"]["fixmedins_setl_cnt"] == 4 and body["fixmedins_name"] == "临翔区人民医院"
        rest_list = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in his_list]
        posted = httpx.post(
            f"{url}/api/reconcile/detail",
            json={"fixmedins_code": HOSPITAL, "begin": BEGIN, "end": END, "detail": rest_list},
            headers=login(url, "admin"),
        )
        assert posted.status_code == 200, posted.text
        assert by_setl_id(posted.json()["differences"]) == by_setl_id(diffs)
        for role in ("clerk", "his", "analyst"):
            r = httpx.get(f"{url}/api/reconcile/totals", params=june, headers=login(url, role))
            assert r.status_code == 403
        unknown = httpx.get(f"{url}/api/reconcile/totals", params=june | {"fixmedins_code": "H0"}, headers=audit)
        assert unknown.status_code == 404
        backwards = httpx.get(f"{url}/api/reconcile/totals", params=june | {"begin": END, "end": BEGIN}, headers=audit)
        assert backwards.status_code == 422 and backwards.json()["field"] == "end"

        # another hospital sees none of this one's settlements: all missing on the platform for it
        other = HIS(url, "his2", PASSWORD, OTHER_HOSPITAL)
        theirs = other.call("3202", {"data": {"stmt_begndate": BEGIN, "stmt_enddate": END}, "detail": clean})
        kinds = {d["kind"] for d in theirs["output"]["differences"]}
        assert kinds == {"missing_on_platform"} and theirs["output"]["totals"]["platform"]["fixmedins_setl_cnt"] == 0

        # a narrower period: A (5 June) is outside it; bad input is named
        later = his.call("3202", {"data": {"stmt_begndate": "2022-06-06", "stmt_enddate": END}, "detail": [a]})
        assert by_setl_id(later["output"]["differences"])[a["setl_id"]] == "outside_scope"
        bad = his.call("3202", {"data": {"stmt_begndate": BEGIN, "stmt_enddate": END},
                                "detail": [dict(a, medfee_sumamt="12.345"), dict(b, refd_setl_flag="9")]})  # fmt: skip
        assert bad["infcode"] == "-1" and "medfee_sumamt" in bad["err_msg"] and "refd_setl_flag" in bad["err_msg"]
        no_dates = his.call("3201", {"data": {"medfee_sumamt": "1", "fund_pay_sumamt": "1", "fixmedins_setl_cnt": 1}})
        assert no_dates["infcode"] == "-1" and "stmt_begndate" in no_dates["err_msg"]
    with db.unit_of_work() as s:  # reconciling writes nothing
        assert s.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.infno.in_(["3201", "3202"]))) == 0


def test_reversal_records_and_duplicates_from_the_his(db: Database) -> None:
    """A HIS may list the reversal itself (our R… id, negative amounts) and may list a settlement twice."""
    seed(db)
    with live_server(create_app(db, PACK)) as url:
        a, b, _ = window_settlements(url)
        r = httpx.post(f"{url}/api/settlements/{a['setl_id']}/reverse", json={"reason": "重复结算"}, headers=login(url, "clerk"))
        assert r.status_code == 201, r.text
        reversal = r.json()["setl_id"]
        his = HIS(url, "his", PASSWORD, HOSPITAL)
        neg = {"setl_id": reversal, "medfee_sumamt": -a["medfee_sumamt"], "fund_pay_sumamt": -a["fund_pay_sumamt"],
               "acct_pay": "0", "refd_setl_flag": "1"}  # fmt: skip
        listed = [a, neg, b, b]
        answer = his.call("3202", {"data": {"stmt_begndate": BEGIN, "stmt_enddate": "2022-06-08"}, "detail": listed})
        out = answer["output"]
        assert by_setl_id(out["differences"]) == {b["setl_id"]: "duplicate_on_his"}
        assert out["totals"]["matched"] == 2  # A reversed on both sides (by its reversal record), B valid on both
        assert out["totals"]["his"]["fixmedins_setl_cnt"] == 2 and out["totals"]["platform"]["fixmedins_setl_cnt"] == 1
