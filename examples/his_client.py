"""An example hospital system (HIS) client of yibao's national interface.

Walks one admission from person lookup to settlement and its cancellation, the way a HIS
does it, then an outpatient visit, and a 冲正 (2601) of a settlement by its message id:

    python examples/his_client.py --url http://127.0.0.1:8000 --user his --password 'his-demo-2022' --certno 5309...

The service's address is ``--url``, else the environment variable ``YIBAO_URL``, else
http://127.0.0.1:8000 (where ``yibao serve`` listens by default).

Every step prints the transaction, the answer code and the key amounts (yuan).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

_seq = itertools.count(1)


class HIS:
    def __init__(self, url: str, user: str, password: str, fixmedins_code: str = ""):
        self.url = url.rstrip("/")
        r = httpx.post(f"{self.url}/api/auth/token", data={"username": user, "password": password}, timeout=30)
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.fixmedins_code = fixmedins_code
        self.log: list[dict[str, Any]] = []

    def call(self, infno: str, inp: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        msgid = msgid or f"{self.fixmedins_code or 'HIS'}{datetime.now():%Y%m%d%H%M%S}{next(_seq):06d}"
        env = {
            "infno": infno,
            "msgid": msgid,
            "mdtrtarea_admvs": "530902",
            "insuplc_admdvs": "530902",
            "recer_sys_code": "HIS",
            "infver": "V1.0",
            "opter": "demo",
            "opter_type": "1",
            "inf_time": f"{datetime.now():%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.fixmedins_code,
            "sign_no": "",
            "input": inp,
        }
        r = httpx.post(
            f"{self.url}/api/hsa",
            content=json.dumps(env, default=str, ensure_ascii=False).encode(),
            headers=self.headers | {"Content-Type": "application/json"},
            timeout=60,
        )
        r.raise_for_status()
        out: dict[str, Any] = json.loads(r.text, parse_float=Decimal)
        self.log.append(
            {"infno": infno, "msgid": msgid, "infcode": out["infcode"], "err_msg": out["err_msg"], "output": out["output"]}
        )
        mark = "✓" if out["infcode"] == "0" else "✗"
        print(f"{mark} {infno} msgid={msgid} {out['err_msg'] or ''}")
        return out


def fees(mdtrt_id: str, psn_no: str) -> list[dict[str, Any]]:
    return [
        {
            "feedetl_sn": "1",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "med_list_codg": "001201000010000",
            "med_list_name": "床位费",
            "chrgitm_lv": "01",
            "det_item_fee_sumamt": "1800.00",
            "cnt": "18",
            "pric": "100.00",
        },
        {
            "feedetl_sn": "2",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "med_list_codg": "XL01XCB001A001",
            "med_list_name": "注射用紫杉醇",
            "chrgitm_lv": "02",
            "det_item_fee_sumamt": "24000.00",
            "cnt": "8",
            "pric": "3000.00",
        },
        {
            "feedetl_sn": "3",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "med_list_codg": "F0001",
            "med_list_name": "进口特需耗材",
            "chrgitm_lv": "03",
            "det_item_fee_sumamt": "6000.00",
            "cnt": "1",
            "pric": "6000.00",
        },
        {
            "feedetl_sn": "4",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "med_list_codg": "001102000010000",
            "med_list_name": "检查化验",
            "chrgitm_lv": "01",
            "det_item_fee_sumamt": "7000.00",
            "cnt": "1",
            "pric": "7000.00",
        },
    ]


def walk(url: str, user: str, password: str, certno: str, day: str = "2022-06", fixmedins_code: str = "") -> dict[str, Any]:
    """The whole walk; returns what a test needs to check."""
    his = HIS(url, user, password, fixmedins_code)
    run = uuid.uuid4().hex[:8].upper()  # message ids are unique per run: a rerun is new traffic
    info = his.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno}})
    psn_no = info["output"]["baseinfo"]["psn_no"]
    adm = his.call(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": psn_no,
                "insutype": "390",
                "med_type": "21",
                "begntime": f"{day}-01 09:00:00",
                "ipt_no": "ZY0001",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": certno,
            },
            "diseinfo": [],
        },
    )
    mdtrt_id = adm["output"]["data"]["mdtrt_id"]
    upload = his.call("2301", {"feedetail": fees(mdtrt_id, psn_no)})
    his.call("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "endtime": f"{day}-12 10:00:00", "dise_codg": "C34"}})
    # the HIS's own settlement number (医药机构结算ID) for this stay: the answers echo it as medins_setl_id
    ours = {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": "38800.00", "medins_setl_id": f"ZY0001-{run}"}
    pre = his.call("2303", {"data": ours})
    settle = his.call("2304", {"data": ours}, msgid=f"WALK-{run}-2304-A")
    again = his.call("2304", {"data": ours}, msgid=f"WALK-{run}-2304-A")
    setl_id = settle["output"]["setlinfo"]["setl_id"]
    cancel = his.call("2305", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}})
    cancel_twice = his.call("2305", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}})
    resettle = his.call("2304", {"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id}}, msgid=f"WALK-{run}-2304-B")
    correction = his.call("2601", {"data": {"psn_no": psn_no, "omsgid": f"WALK-{run}-2304-B", "oinfno": "2304"}})
    # an outpatient visit
    reg = his.call(
        "2201",
        {
            "data": {
                "psn_no": psn_no,
                "insutype": "390",
                "begntime": f"{day}-20 08:30:00",
                "med_type": "11",
                "ipt_otp_no": "MZ0001",
            }
        },
    )
    opd = reg["output"]["data"]["mdtrt_id"]
    his.call(
        "2204",
        {
            "feedetail": [
                {
                    "feedetl_sn": "1",
                    "mdtrt_id": opd,
                    "psn_no": psn_no,
                    "med_list_codg": "XJ01CA04",
                    "med_list_name": "阿莫西林胶囊",
                    "chrgitm_lv": "01",
                    "det_item_fee_sumamt": "86.50",
                    "cnt": "2",
                    "pric": "43.25",
                }
            ]
        },
    )
    his.call("2206", {"data": {"psn_no": psn_no, "mdtrt_id": opd, "medfee_sumamt": "86.50"}})
    opd_settle = his.call("2207", {"data": {"psn_no": psn_no, "mdtrt_id": opd, "medfee_sumamt": "86.50"}})
    bad = his.call("9999", {"data": {}})
    return {
        "info": info,
        "upload": upload,
        "pre": pre,
        "settle": settle,
        "again": again,
        "cancel": cancel,
        "cancel_twice": cancel_twice,
        "resettle": resettle,
        "correction": correction,
        "opd_settle": opd_settle,
        "bad": bad,
        "log": his.log,
    }


RECORD_FIELDS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag")


def records_from_log(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The HIS's own list of settlements, as it would keep it from the answers it got.

    A settlement (2207/2304) adds a record; a cancellation (2208/2305) or a 冲正 (2601) of the
    settlement's message marks it ``refd_setl_flag`` "1". Failed calls change nothing.
    """
    records: dict[str, dict[str, Any]] = {}
    by_msgid: dict[str, str] = {}
    for x in log:
        if x["infcode"] != "0":
            continue
        out = x["output"]
        if x["infno"] in ("2207", "2304"):
            s = out["setlinfo"]
            by_msgid[x["msgid"]] = s["setl_id"]
            records[s["setl_id"]] = {
                "setl_id": s["setl_id"],
                "mdtrt_id": s["mdtrt_id"],
                "psn_no": s["psn_no"],
                "insutype": s["insutype"],
                "clr_type": s["clr_type"],
                "setl_date": s["setl_time"],
                "medfee_sumamt": s["medfee_sumamt"],
                "fund_pay_sumamt": s["fund_pay_sumamt"],
                "acct_pay": s["acct_pay"],
                "refd_setl_flag": "0",
            }
        elif x["infno"] in ("2208", "2305") and out["setlinfo"]["reverses"] in records:
            records[out["setlinfo"]["reverses"]]["refd_setl_flag"] = "1"
        elif x["infno"] == "2601" and by_msgid.get(out["data"]["omsgid"]) in records:
            records[by_msgid[out["data"]["omsgid"]]]["refd_setl_flag"] = "1"
    return list(records.values())


def reconcile(
    url: str, user: str, password: str, fixmedins_code: str, begin: str, end: str, his_records: list[dict[str, Any]]
) -> dict[str, Any]:
    """End-of-period reconciliation (对账) the way a HIS does it, from its own records.

    ``his_records``: the HIS's settlements (``setl_id, mdtrt_id, psn_no, insutype, clr_type,
    medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag``; amounts in yuan). Sends 3201 (对总账)
    with its totals for every (insutype, clr_type) it has, then 3202 (对明细账) with the whole list;
    returns the answers: ``totals`` by "insutype/clr_type", ``detail``, and ``log``.
    """
    his = HIS(url, user, password, fixmedins_code)
    zero = Decimal("0.00")
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in his_records:
        key = (str(r.get("insutype") or "390"), str(r.get("clr_type") or ""))
        g = groups.setdefault(key, {"medfee_sumamt": zero, "fund_pay_sumamt": zero, "acct_pay": zero, "fixmedins_setl_cnt": 0})
        if str(r.get("refd_setl_flag") or "0") == "0":
            for f in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay"):
                g[f] += Decimal(str(r.get(f) or 0))
            g["fixmedins_setl_cnt"] += 1
    totals = {}
    for (insutype, clr_type), g in sorted(groups.items()):
        data = {
            "insutype": insutype,
            "clr_type": clr_type or None,
            "setl_optins": "530902",
            "stmt_begndate": begin,
            "stmt_enddate": end,
            **g,
        }
        totals[f"{insutype}/{clr_type}"] = his.call("3201", {"data": data})
    whole = {f: sum((g[f] for g in groups.values()), zero) for f in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")}
    header = {
        "stmt_begndate": begin,
        "stmt_enddate": end,
        "medfee_sumamt": whole["medfee_sumamt"],
        "fund_pay_sumamt": whole["fund_pay_sumamt"],
        "cash_payamt": whole["medfee_sumamt"] - whole["fund_pay_sumamt"] - whole["acct_pay"],
        "fixmedins_setl_cnt": sum(g["fixmedins_setl_cnt"] for g in groups.values()),
    }
    detail = his.call("3202", {"data": header, "detail": [{k: r.get(k) for k in RECORD_FIELDS} for r in his_records]})
    for d in detail["output"].get("differences", []):
        print(f"  {d['kind']}: {d['setl_id']} {d['dscr']}")
    return {"totals": totals, "detail": detail, "log": his.log}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--url",
        default=os.environ.get("YIBAO_URL") or "http://127.0.0.1:8000",
        help="the service (default: $YIBAO_URL, else http://127.0.0.1:8000)",
    )
    ap.add_argument("--user", default="his")
    ap.add_argument("--password", default="his-demo-2022")
    ap.add_argument("--certno", required=True, help="a resident ID number of an enrolled person")
    ap.add_argument("--month", default="2022-06", help="the month of the visits (yyyy-mm)")
    args = ap.parse_args()
    out = walk(args.url, args.user, args.password, args.certno, args.month)
    s = out["settle"]["output"].get("setlinfo", {})
    print(
        f"住院结算 {s.get('setl_id')}: 总费用 {s.get('medfee_sumamt')} 基本 {s.get('hifp_pay')} 大病 {s.get('hifmi_pay')} "
        f"救助 {s.get('maf_pay')} 个人 {s.get('psn_part_amt')}"
    )
    failed = [x for x in out["log"] if x["infcode"] != "0" and x["infno"] not in ("2305", "9999")]
    # end of month: reconcile from the HIS's own records, with one settlement "lost" on the HIS side
    records = records_from_log(out["log"])
    lost = next(r for r in records if str(r.get("refd_setl_flag")) == "0")
    print(f"对账（故意漏记一笔 {lost['setl_id']}）：")
    rec = reconcile(
        args.url, args.user, args.password, "", f"{args.month}-01", f"{args.month}-28", [r for r in records if r is not lost]
    )
    found = {d["setl_id"]: d["kind"] for d in rec["detail"]["output"].get("differences", [])}
    if found.get(lost["setl_id"]) != "missing_on_his":
        failed.append({"infno": "3202", "err_msg": "the planted difference was not found"})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
