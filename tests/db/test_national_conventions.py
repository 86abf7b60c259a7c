"""The national interface as an HIS written from the public specification reads it, on SQLite and PostgreSQL.

Times in Beijing time (``yyyy-MM-dd HH:mm:ss`` in the data, ``yyyyMMddHHmmssSSS`` in the envelope);
``setlinfo`` with the person and the fields the specification lists (zero for funds yibao does not model);
2301's rows echo ``cnt``, ``pric`` and ``pric_uplmt_amt``; ``mid_setl_flag`` refused when it asks for a
mid-stay settlement; amounts with a comma refused naming the field (here and at the counter); every
error said wholly in Chinese.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.accounts import PASSWORD
from tests.browser.test_access import BILL, csrf_of
from tests.db.test_fuzz import _line, snapshot
from tests.db.test_national_transactions import Hospital
from tests.db.test_service import CERTNO, PACK
from tests.unit.test_languages import mixed
from yibao.core.idcard import mask
from yibao.core.money import fen_to_yuan_str
from yibao.store.db import Database

DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
BEIJING = timezone(timedelta(hours=8))
CEILED = "002303000010000"
"""The item the Anhui pack gives a unit-price ceiling."""


def _visit(h: Hospital, infno: str = "2201", day: str = "2022-05-01") -> str:
    part = "data" if infno == "2201" else "mdtrtinfo"
    out = h.send(infno, {part: {"psn_no": "P1", "begntime": day, "med_type": "11" if infno == "2201" else "21"}})
    return str(out["output"]["data"]["mdtrt_id"])


def _refused(out: dict[str, Any], field: str, *words: str) -> str:
    assert out["infcode"] == "-1", out
    message = str(out["err_msg"])
    assert f"字段 {field} " in message and all(w in message for w in words), message
    assert not mixed([message], "zh", [field]), message  # the field is named as the interface spells it
    return message


def test_settlement_answers_carry_the_person_and_the_fields_of_the_specification(db: Database) -> None:
    h = Hospital(db)
    m = _visit(h)
    assert h.send("2204", {"feedetail": [_line(m)]})["infcode"] == "0"
    pre = h.send("2206", {"data": {"mdtrt_id": m, "medins_setl_id": "HIS-0001"}})["output"]["setlinfo"]
    out = h.send("2207", {"data": {"mdtrt_id": m, "medins_setl_id": "HIS-0001"}})
    info = out["output"]["setlinfo"]
    assert {k: v for k, v in pre.items() if k != "setl_id"} == {k: v for k, v in info.items() if k != "setl_id"}
    assert (info["psn_name"], info["certno"], info["psn_cert_type"], info["gend"], info["brdy"]) == (
        "杨桂芳",
        mask(CERTNO),
        "01",
        "2",
        "1962-07-04",
    )
    assert info["age"] == 59  # on the settlement's day, 2022-05-01
    assert (info["psn_type"], info["insutype"], info["clr_type"]) == ("1500", "390", "11")
    assert (info["medins_setl_id"], info["clr_optins"], info["clr_way"]) == ("HIS-0001", PACK.admdvs, "1")
    assert info["setl_time"] == "2022-05-01 00:00:00"
    for fund in ("cvlserv_pay", "hifes_pay", "hifob_pay", "acct_mulaid_pay", "hosp_part_amt", "acct_pay", "balc"):
        assert info[fund] == Decimal("0.00"), fund
    assert info["cvlserv_flag"] == "0"
    # without its own settlement number, medins_setl_id holds the sender's msgid (as the specification says)
    n = _visit(h, day="2022-05-02")
    assert h.send("2204", {"feedetail": [_line(n)]})["infcode"] == "0"
    again = h.send("2207", {"data": {"mdtrt_id": n}})
    assert again["output"]["setlinfo"]["medins_setl_id"] == again["inf_refmsgid"] == f"T{h.sent}"


def test_times_are_beijing_time(db: Database) -> None:
    h = Hospital(db)
    out = h.send("1101", {"data": {"psn_no": "P1"}})
    for key in ("refmsg_time", "respond_time"):
        assert re.fullmatch(r"\d{17}", out[key]), out[key]
        sent = datetime.strptime(out[key][:14], "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
        assert abs(sent - datetime.now(BEIJING)) < timedelta(hours=1), (key, out[key])  # UTC would be 8 hours off
    ident = out["output"]["idetinfo"][0]
    assert ident["begntime"] == "2021-01-01 00:00:00" and ident["endtime"] is None
    for e in out["output"]["insuinfo"]:
        assert DATETIME.fullmatch(e["psn_insu_date"] + " 00:00:00")


def test_fee_upload_echoes_count_price_and_the_price_ceiling(db: Database) -> None:
    h = Hospital(db)
    m = _visit(h, "2401")
    ceiling = PACK.at(date(2022, 5, 1)).fee.price_ceilings[CEILED]
    lines = [
        _line(m, "1") | {"cnt": "2", "pric": "50.00"},
        _line(m, "2") | {"med_list_codg": CEILED, "cnt": "1.5", "pric": "40.00", "det_item_fee_sumamt": "60.00"},
        _line(m, "3"),
    ]
    rows = {r["feedetl_sn"]: r for r in h.send("2301", {"feedetail": lines})["output"]["result"]}
    assert (rows["1"]["cnt"], rows["1"]["pric"], rows["1"]["pric_uplmt_amt"]) == (Decimal("2"), Decimal("50.00"), None)
    assert (rows["2"]["cnt"], rows["2"]["pric"]) == (Decimal("1.5"), Decimal("40.00"))
    assert rows["2"]["pric_uplmt_amt"] == Decimal(fen_to_yuan_str(ceiling))
    assert (rows["3"]["cnt"], rows["3"]["pric"]) == (Decimal("1"), None)  # a line sent without them: 1, no price


def test_a_mid_stay_settlement_is_refused_and_flag_0_is_a_settlement_at_discharge(db: Database) -> None:
    h = Hospital(db)
    m = _visit(h, "2401")
    assert h.send("2301", {"feedetail": [_line(m)]})["infcode"] == "0"
    before = snapshot(db)
    for infno in ("2303", "2304"):
        _refused(h.send(infno, {"data": {"mdtrt_id": m, "mid_setl_flag": "1"}}), "mid_setl_flag", "中途结算")
        _refused(h.send(infno, {"data": {"mdtrt_id": m, "mid_setl_flag": "Y2"}}), "mid_setl_flag")
    assert snapshot(db) == before
    assert h.send("2402", {"dscginfo": {"mdtrt_id": m, "endtime": "2022-05-03"}})["infcode"] == "0"
    assert h.send("2304", {"data": {"mdtrt_id": m, "mid_setl_flag": "0"}})["infcode"] == "0"


@pytest.mark.parametrize("amount", ["1,25", "1,250.00", "1,250"])
def test_an_amount_with_a_comma_is_refused_naming_the_field(db: Database, amount: str) -> None:
    """``"1,25"`` was read as 125.00 yuan; the interface takes numbers, so no comma at all is read."""
    h = Hospital(db)
    m = _visit(h)
    before = snapshot(db)
    _refused(h.send("2204", {"feedetail": [_line(m) | {"det_item_fee_sumamt": amount}]}), "det_item_fee_sumamt", "逗号")
    _refused(h.send("2204", {"feedetail": [_line(m) | {"pric": amount}]}), "pric", "逗号")
    assert snapshot(db) == before
    assert h.send("2204", {"feedetail": [_line(m)]})["infcode"] == "0"
    _refused(h.send("2206", {"data": {"mdtrt_id": m, "medfee_sumamt": amount}}), "medfee_sumamt", "逗号")
    _refused(h.send("2207", {"data": {"mdtrt_id": m, "medfee_sumamt": amount}}), "medfee_sumamt", "逗号")
    period = {"stmt_begndate": "2022-01-01", "stmt_enddate": "2022-12-31", "fixmedins_setl_cnt": "0"}
    totals = {"medfee_sumamt": amount, "fund_pay_sumamt": "0"}
    _refused(h.send("3201", {"data": period | totals}), "medfee_sumamt", "逗号")


def test_the_counter_refuses_an_amount_with_a_comma(db: Database) -> None:
    h = Hospital(db)  # seeds P1 and the accounts
    clerk = TestClient(h.app)
    form = clerk.get("/login").text
    signed = clerk.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf": csrf_of(form)}, follow_redirects=False)
    assert signed.status_code == 303
    token = csrf_of(clerk.get("/").text)
    for changes in ({"medfee_sumamt": "1,25"}, {"medfee_sumamt": "", "fl0_code": "X1", "fl0_lv": "01", "fl0_amt": "1,25"}):
        r = clerk.post("/counter/preview", data=BILL | {"person": "P1", "csrf": token} | changes)
        assert r.status_code == 422, r.status_code
        assert "逗号" in r.text and "125.00" not in r.text
    ok = clerk.post("/counter/preview", data=BILL | {"person": "P1", "csrf": token, "medfee_sumamt": "1.25"})
    assert ok.status_code == 200 and "1.25" in ok.text


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("1101", {"data": {}}, "psn_no"),
    ("1101", {"data": {"psn_no": "P404"}}, "psn_no"),
    ("2201", {"data": {"psn_no": "P1"}}, "begntime"),
    ("2201", {"data": {"psn_no": "P1", "begntime": "2022-13-45"}}, "begntime"),
    ("2201", {"data": {"psn_no": "P1", "begntime": "2019-05-01"}}, "psn_insu_stas"),
    ("2201", {"data": {"psn_no": "P1", "begntime": "2022-05-01", "med_type": "1" * 9}}, "med_type"),
    ("2204", {"feedetail": []}, "feedetail"),
    ("2204", {"feedetail": [{"mdtrt_id": "M404", "feedetl_sn": "1"}]}, "mdtrt_id"),
    ("2206", {"data": {"mdtrt_id": "M404"}}, "mdtrt_id"),
    ("2207", {"data": {}}, "mdtrt_id"),
    ("2208", {"data": {"setl_id": "S404"}}, "setl_id"),
    ("2402", {"dscginfo": {"mdtrt_id": "M404", "endtime": "2022-05-01"}}, "mdtrt_id"),
    ("2601", {"data": {"omsgid": "T404"}}, "omsgid"),
    ("3201", {"data": {"stmt_begndate": "2022-01-01"}}, "stmt_enddate"),
    ("3202", {"data": {"stmt_begndate": "2022-01-01", "stmt_enddate": "2022-12-31"}, "detail": [{"setl_id": ""}]}, "setl_id"),
    ("9999", {"data": {}}, "infno"),
]
"""Requests each transaction refuses, and the field it names."""


def test_every_refusal_of_the_national_interface_is_said_in_chinese(db: Database) -> None:
    h = Hospital(db)
    m = _visit(h)
    visit_bad: list[tuple[str, dict[str, Any], str]] = [
        ("2204", {"feedetail": [_line(m) | {"chrgitm_lv": "09"}]}, "chrgitm_lv"),
        ("2204", {"feedetail": [_line(m) | {"det_item_fee_sumamt": "1.234"}]}, "det_item_fee_sumamt"),
        ("2204", {"feedetail": [_line(m) | {"det_item_fee_sumamt": "-1"}]}, "det_item_fee_sumamt"),
        ("2204", {"feedetail": [_line(m) | {"cnt": "1e99"}]}, "cnt"),
        ("2204", {"feedetail": [_line(m) | {"det_item_fee_sumamt": "1" * 12}]}, "det_item_fee_sumamt"),
        ("2207", {"data": {"mdtrt_id": m}}, "feedetail"),
        ("2402", {"dscginfo": {"mdtrt_id": m, "endtime": "2022-05-02"}}, "mdtrt_id"),
    ]
    for infno, inp, field in [*BAD, *visit_bad]:
        _refused(h.send(infno, inp), field)
