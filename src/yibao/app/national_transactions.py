"""Every national-interface transaction in one table: infno → Chinese name, handler, whether it writes, its request.

``POST /api/hsa`` looks a transaction up here and nowhere else: a transaction that writes runs
exactly once per ``msgid`` (:func:`yibao.app.settlements.once`), one that only reads runs in a unit
of work that is never committed. A new transaction is one more row (and its handler).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from yibao.app import national, reconcile
from yibao.app.national import Handler

_TEXT: dict[str, Any] = {"type": "string", "maxLength": 64}
_AMOUNT: dict[str, Any] = {"type": ["number", "string"], "description": "元，两位小数 / yuan, two decimals"}
_COUNT: dict[str, Any] = {"type": ["integer", "string"], "description": "笔数 / a count"}


def _object(texts: tuple[str, ...], amounts: tuple[str, ...] = (), counts: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {k: _TEXT for k in texts} | {k: _AMOUNT for k in amounts} | {k: _COUNT for k in counts}
    return {"type": "object", "properties": properties}


_PERSON = _object(("psn_no", "certno", "mdtrt_cert_no"))
_VISIT = _object(
    ("psn_no", "certno", "mdtrt_cert_no", "mdtrt_id", "med_type", "insutype", "begntime", "endtime", "dise_codg", "ipt_otp_no")
)
_DISCHARGE = _object(("mdtrt_id", "psn_no", "endtime", "dise_codg"))
_CANCEL_FEES = _object(("mdtrt_id", "psn_no", "feedetl_sn", "chrg_bchno"))
_SETTLE = _object(
    ("mdtrt_id", "psn_no", "mid_setl_flag", "medins_setl_id", "major_dise_flag", "dise_codg", "dise_name"), ("medfee_sumamt",)
)
_UNSETTLE = _object(("setl_id", "reason"))
_CORRECT = _object(("omsgid", "oinfno"))
_FEE = _object(
    ("mdtrt_id", "psn_no", "feedetl_sn", "chrgitm_lv", "med_list_codg", "med_list_name", "fee_ocur_time"),
    ("det_item_fee_sumamt", "cnt", "pric"),
)
_STATEMENT = _object(
    ("stmt_begndate", "stmt_enddate", "insutype", "clr_type", "setl_optins", "clr_optins"),
    ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "cash_payamt"),
    ("fixmedins_setl_cnt",),
)
_CHRONIC_FILING = _object(
    (
        *("psn_no", "certno", "insutype", "opsp_dise_code", "opsp_dise_name", "tel", "addr", "insu_optins"),
        *("ide_fixmedins_no", "ide_fixmedins_name", "hosp_ide_date", "diag_dr_codg", "diag_dr_name", "begndate", "enddate"),
        "memo",
    )
)
_HIS_SETTLEMENT = _object(("setl_id", "mdtrt_id", "psn_no", "refd_setl_flag"), ("medfee_sumamt", "fund_pay_sumamt", "acct_pay"))


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


@dataclass(frozen=True)
class Transaction:
    infno: str
    name_zh: str
    handler: Handler
    writes: bool
    """Changes the ledger, a visit or its fee lines: runs exactly once per msgid (the answer is kept)."""
    request: dict[str, dict[str, Any]]
    """The parts of ``input`` it reads, each with its JSON schema."""


_FEES = {"feedetail": _list(_FEE)}
_STATEMENT_DETAIL = {"data": _STATEMENT, "detail": _list(_HIS_SETTLEMENT)}
_presettle_outpatient = partial(national.presettle, action="presettle_outpatient")
_presettle_inpatient = partial(national.presettle, action="presettle_inpatient")
_settle_outpatient = partial(national.do_settle, action="settle_outpatient")
_settle_inpatient = partial(national.do_settle, action="settle_inpatient")

TRANSACTIONS: dict[str, Transaction] = {
    t.infno: t
    for t in (
        Transaction("1101", "人员信息获取", national.person_info, False, {"data": _PERSON}),
        Transaction("2201", "门诊挂号", national.register, True, {"data": _VISIT}),
        Transaction("2202", "门诊挂号撤销", national.cancel_visit, True, {"data": _VISIT}),
        Transaction("2204", "门诊费用明细信息上传", national.upload_fees, True, _FEES),
        Transaction("2205", "门诊费用明细信息撤销", national.cancel_fees, True, {"data": _CANCEL_FEES}),
        Transaction("2206", "门诊预结算", _presettle_outpatient, False, {"data": _SETTLE}),
        Transaction("2207", "门诊结算", _settle_outpatient, True, {"data": _SETTLE}),
        Transaction("2208", "门诊结算撤销", national.cancel_settlement, True, {"data": _UNSETTLE}),
        Transaction("2401", "入院办理", national.admit, True, {"mdtrtinfo": _VISIT}),
        Transaction("2402", "出院办理", national.discharge, True, {"dscginfo": _DISCHARGE}),
        Transaction("2301", "住院费用明细信息上传", national.upload_fees, True, _FEES),
        Transaction("2302", "住院费用明细信息撤销", national.cancel_fees, True, {"data": _CANCEL_FEES}),
        Transaction("2303", "住院预结算", _presettle_inpatient, False, {"data": _SETTLE, "mdtrtinfo": _SETTLE}),
        Transaction("2304", "住院结算", _settle_inpatient, True, {"data": _SETTLE}),
        Transaction("2305", "住院结算撤销", national.cancel_settlement, True, {"data": _UNSETTLE}),
        Transaction("2503", "人员慢特病备案", national.chronic_filing, True, {"data": _CHRONIC_FILING}),
        Transaction("2601", "冲正交易", national.correct, True, {"data": _CORRECT}),
        Transaction("3201", "医药机构费用结算对总账", reconcile.handle_3201, False, {"data": _STATEMENT}),
        Transaction("3202", "医药机构费用结算对明细账", reconcile.handle_3202, False, _STATEMENT_DETAIL),
        Transaction("5301", "人员慢特病备案查询", national.chronic_filings_of, False, {"data": _PERSON}),
    )
}
"""Every transaction ``POST /api/hsa`` takes, by infno."""


def input_schema() -> dict[str, Any]:
    """The JSON schema of ``input`` for any transaction: every part any transaction reads, with all its fields."""
    parts: dict[str, dict[str, Any]] = {}
    for t in TRANSACTIONS.values():
        for name, schema in t.request.items():
            known = parts.get(name)
            if known is None:
                parts[name] = schema
            elif known.get("type") == "object":
                parts[name] = known | {"properties": known["properties"] | schema["properties"]}
    return {"type": "object", "properties": parts}
