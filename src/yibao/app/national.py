"""The national interface (医疗保障信息平台 定点医药机构接口): ``infno`` transactions on the ledger.

The handlers are here; :data:`yibao.app.national_transactions.TRANSACTIONS` lists every transaction
(infno, name, handler, whether it writes, its request). A visit's steps follow the state table
:mod:`yibao.rules.visit_lifecycle`.

Amounts cross this interface in yuan with two decimals, as HIS systems send and expect them;
they are parsed exactly (``Decimal``) into fen and printed back exactly. A comma in an amount is
refused (``"1,25"`` is neither 1.25 nor 125 yuan): HIS systems send numbers.

Times are Beijing time: ``yyyyMMddHHmmssSSS`` in the envelope (``refmsg_time``, ``respond_time``),
``yyyy-MM-dd HH:mm:ss`` in the data. yibao dates a settlement by its claim's day (the discharge, or the
outpatient visit): ``setl_time`` is that day at 00:00:00, the day 3201/3202 reconcile it on. Dates
(``brdy``, ``psn_insu_date``) are ``yyyy-MM-dd``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app import filings, ledger, visits
from yibao.app.audit_counter import CounterAudit, hsa_result
from yibao.app.auth import Principal
from yibao.app.personal_account import account_year
from yibao.app.registry import account_balance, find_person, identities_on, settlement_person
from yibao.core.clock import BEIJING, beijing_today
from yibao.core.errors import InputError, NotFound
from yibao.core.idcard import mask
from yibao.core.money import fen_to_yuan_str, yuan_to_fen
from yibao.policy.categories import identity_label as label
from yibao.policy.in_force import policy_or_first
from yibao.policy.pack import PolicyPack
from yibao.rules import visit_lifecycle as lifecycle
from yibao.settlement.model import Claim, Settlement, yes_no
from yibao.settlement.policy_range import policy_range
from yibao.settlement.settle import select_line
from yibao.store.service_tables import FeeLineRow, Institution, LedgerEntry, Message, Visit
from yibao.store.tables import ChronicFiling, Enrolment, Person

Output = dict[str, Any]
Handler = Callable[[Session, "Context", dict[str, Any]], tuple[Output, str | None]]
"""A transaction: the session, who sends it for which institution, its ``input``; its output and effect."""


class Context:
    def __init__(self, pack: PolicyPack, who: Principal, fixmedins_code: str, msgid: str):
        self.pack, self.who, self.fixmedins_code, self.msgid = pack, who, fixmedins_code, msgid


def yuan(fen: int) -> Decimal:
    return Decimal(fen_to_yuan_str(fen))


def _req(data: dict[str, Any], key: str, where: str) -> Any:
    v = data.get(key)
    if v is None or v == "":
        raise InputError(where, key, v, "a value (必填)")
    return v


def _date(v: Any, where: str, key: str) -> date:
    text = str(v).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(where, key, v, "a date yyyy-MM-dd (or yyyy-MM-dd HH:mm:ss)") from None


MAX_YUAN = 10**9
"""The largest amount the interface takes (10 亿元, as the REST API's 10**11 fen); larger is an error, never a 500."""
MAX_CNT = 10**6


def _text(v: Any, where: str, key: str, max_len: int) -> str:
    """A value stored as text: refused when longer than its column."""
    text = str(v)
    if len(text) > max_len:
        raise InputError(where, key, v, f"至多 {max_len} 个字符 / at most {max_len} characters")
    return text


def _size(v: Any) -> Decimal | None:
    """``abs(v)`` as a number, without turning it into fen; ``None`` when it is no finite number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Decimal(abs(v))
    try:
        d = Decimal(str(v).strip())  # a comma is no number here: refused by _fen
    except (ArithmeticError, ValueError):
        return None
    return d.copy_abs() if d.is_finite() else None  # copy_abs: exact, no context to overflow


def _fen(v: Any, where: str, key: str) -> int:
    size = _size(v)  # first: an exponent like 1E+999999999 must not become an integer of a billion digits
    if size is not None and size > MAX_YUAN:
        raise InputError(where, key, v, f"至多 {MAX_YUAN} 元的金额 / an amount of at most {MAX_YUAN} yuan")
    try:
        fen = yuan_to_fen(v, thousands=False)
    except ValueError as exc:
        raise InputError(where, key, v, f"an amount in yuan with at most 2 decimals ({exc})") from None
    if fen < 0:
        raise InputError(where, key, v, "an amount >= 0")
    return fen


def _data(inp: dict[str, Any], key: str = "data") -> dict[str, Any]:
    d = inp.get(key)
    if not isinstance(d, dict):
        raise InputError("input", key, d, f"an object input.{key}")
    return d


def _person(s: Session, data: dict[str, Any], where: str) -> Person:
    key = data.get("psn_no") or data.get("certno") or data.get("mdtrt_cert_no")
    if not key:
        raise InputError(where, "psn_no", None, "psn_no, certno or mdtrt_cert_no")
    return find_person(s, str(key))


def _visit(s: Session, ctx: Context, data: dict[str, Any], where: str, known: Visit | None = None) -> Visit:
    """The visit ``data`` names, of the sending institution, locked for this transaction (``known`` when it is that visit)."""
    mdtrt_id = str(_req(data, "mdtrt_id", where))
    v = known if known is not None and known.mdtrt_id == mdtrt_id else visits.locked(s, mdtrt_id)
    if v is None or v.fixmedins_code != ctx.fixmedins_code:
        raise NotFound(where, "mdtrt_id", mdtrt_id, "a visit (就诊ID) registered by your institution")
    if data.get("psn_no") and data["psn_no"] != v.psn_no:
        raise InputError(where, "psn_no", data["psn_no"], f"the visit's person ({v.psn_no})")
    return v


# ------------------------------------------------------------------ 1101 person information


def _time(day: date) -> str:
    """A day as the interface's date-time (``yyyy-MM-dd HH:mm:ss``, Beijing time): its beginning."""
    return f"{day.isoformat()} 00:00:00"


def _age(p: Person, day: date) -> int:
    return day.year - p.brdy.year - ((day.month, day.day) < (p.brdy.month, p.brdy.day))


def _psn_type(p: Person, insutype: str) -> str:
    """人员类别: the registry's, else 1101 在职 for employees (310) and 1500 城乡居民 for residents."""
    return p.psn_type or ("1101" if insutype == "310" else "1500")


def person_info(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp)
    p = _person(s, data, "1101")
    today = beijing_today()
    asked = str(data.get("certno") or data.get("mdtrt_cert_no") or "")
    enrol = s.scalars(sa.select(Enrolment).where(Enrolment.person_id == p.id).order_by(Enrolment.year)).all()
    idents = identities_on(s, p.id, today)

    def balc(e: Enrolment) -> Decimal:
        account = account_year(s, p.id, e.year, ledger.year_to_date(s, p.id, e.year).acct_paid) if e.insutype == "310" else None
        return yuan(account["left"]) if account else Decimal("0.00")

    return {
        "baseinfo": {
            "psn_no": p.psn_no,
            "psn_cert_type": "01",
            "certno": p.certno if asked.upper() == p.certno else mask(p.certno),
            "psn_name": p.psn_name,
            "gend": p.gend,
            "naty": "",
            "brdy": p.brdy.isoformat(),
            "age": _age(p, today),
        },
        "insuinfo": [
            {
                "insutype": e.insutype,
                "psn_type": _psn_type(p, e.insutype),
                "balc": balc(e),
                "psn_insu_stas": e.psn_insu_stas,
                "psn_insu_date": f"{e.year}-01-01",
                "paus_insu_date": None,
                "insuplc_admdvs": ctx.pack.admdvs,
                "year": e.year,
            }
            for e in enrol
        ],
        "idetinfo": [
            {
                "psn_idet_type": i.category,
                "psn_type_lv": None,
                "memo": label(i.category),
                "begntime": _time(i.valid_from),
                "endtime": _time(i.valid_to) if i.valid_to else None,
            }
            for i in idents
        ],
    }, None


# ------------------------------------------------------------------ visits


def _new_visit(s: Session, ctx: Context, p: Person, data: dict[str, Any], med_type: str, where: str, action: str) -> Visit:
    inst = s.get(Institution, ctx.fixmedins_code)
    if inst is None:
        raise InputError(where, "fixmedins_code", ctx.fixmedins_code, "a registered institution")
    begin = _date(_req(data, "begntime", where), where, "begntime")
    v = Visit(
        mdtrt_id="M" + begin.strftime("%Y%m%d") + uuid.uuid4().hex[:12].upper(),
        person_id=p.id,
        psn_no=p.psn_no,
        fixmedins_code=ctx.fixmedins_code,
        insutype=_text(data.get("insutype") or p.insutype, where, "insutype", 3),
        med_type=med_type,
        ipt_otp_no=_text(data.get("ipt_otp_no") or data.get("ipt_no") or "", where, "ipt_otp_no", 40) or None,
        begntime=begin,
        endtime=None,
        dise_codg=_text(data.get("dise_codg") or data.get("dscg_maindiag_code") or "", where, "dise_codg", 32) or None,
        status=lifecycle.step(lifecycle.NEW, action, where, ""),
        recorded_at=ledger.now(),
        recorded_by=ctx.who.username,
    )
    ledger.check_enrolled(s, p, begin)
    s.add(v)
    s.flush()
    return v


def register(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp)
    p = _person(s, data, "2201")
    v = _new_visit(s, ctx, p, data, _text(data.get("med_type") or "11", "2201", "med_type", 8), "2201", "register")
    return {"data": {"mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no, "ipt_otp_no": v.ipt_otp_no}}, f"visit:{v.mdtrt_id}"


def admit(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp, "mdtrtinfo")
    p = _person(s, data, "2401")
    v = _new_visit(s, ctx, p, data, _text(data.get("med_type") or "21", "2401", "med_type", 8), "2401", "admit")
    return {"data": {"mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no, "ipt_otp_no": v.ipt_otp_no}}, f"visit:{v.mdtrt_id}"


def discharge(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp, "dscginfo")
    v = _visit(s, ctx, data, "2402")
    after = lifecycle.step(v.status, "discharge", "2402", v.mdtrt_id)
    end = _date(_req(data, "endtime", "2402"), "2402", "endtime")
    if end < v.begntime:
        raise InputError("2402", "endtime", end.isoformat(), f"a date on or after admission ({v.begntime})")
    v.endtime, v.status = end, after
    if data.get("dise_codg"):
        v.dise_codg = _text(data["dise_codg"], "2402", "dise_codg", 32)
    return {}, f"discharge:{v.mdtrt_id}"


def cancel_visit(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp)
    visits.move(_visit(s, ctx, data, "2202"), "cancel", "2202")
    return {}, None


# ------------------------------------------------------------------ fee lines


def upload_fees(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    details = inp.get("feedetail")
    if not isinstance(details, list) or not details:
        raise InputError("feedetail", "feedetail", details, "a non-empty list input.feedetail")
    results, sns = [], []
    visit: Visit | None = None
    new_rows = []
    for i, d in enumerate(details):
        where = f"feedetail[{i}]"
        if not isinstance(d, dict):
            raise InputError(where, "feedetail", d, "an object")
        v = _visit(s, ctx, d, where, visit)
        if visit is not None and v.mdtrt_id != visit.mdtrt_id:
            raise InputError(where, "mdtrt_id", v.mdtrt_id, f"the same visit in one upload ({visit.mdtrt_id})")
        lifecycle.step(v.status, "upload_fees", where, v.mdtrt_id)
        visit = v
        sn = _text(_req(d, "feedetl_sn", where), where, "feedetl_sn", 40)
        lv = str(_req(d, "chrgitm_lv", where))
        if lv not in ("01", "02", "03"):
            raise InputError(where, "chrgitm_lv", lv, "01 甲类 / 02 乙类 / 03 丙类")
        amount = _fen(_req(d, "det_item_fee_sumamt", where), where, "det_item_fee_sumamt")
        try:
            cnt = Decimal(str(d.get("cnt", 1)))
        except ArithmeticError:
            raise InputError(where, "cnt", d.get("cnt"), "a number") from None
        if not cnt.is_finite() or not 0 <= cnt <= MAX_CNT or len(str(cnt)) > 24:
            raise InputError(where, "cnt", d.get("cnt"), f"0 至 {MAX_CNT} 的数（至多 24 个字符）/ a number from 0 to {MAX_CNT}")
        pric = _fen(d["pric"], where, "pric") if d.get("pric") not in (None, "") else None
        dup = s.scalar(
            sa.select(FeeLineRow.id).where(
                FeeLineRow.mdtrt_id == v.mdtrt_id, FeeLineRow.feedetl_sn == sn, FeeLineRow.cancelled.is_(False)
            )
        )
        if dup is not None or sn in sns:
            raise InputError(where, "feedetl_sn", sn, "a fee line number not yet uploaded for this visit")
        sns.append(sn)
        new_rows.append(
            FeeLineRow(
                mdtrt_id=v.mdtrt_id,
                feedetl_sn=sn,
                med_list_codg=_text(_req(d, "med_list_codg", where), where, "med_list_codg", 64),
                med_list_name=_text(d.get("med_list_name") or "", where, "med_list_name", 128),
                chrgitm_lv=lv,
                det_item_fee_sumamt=amount,
                cnt=str(cnt),
                pric=pric,
                fee_ocur_date=_date(d["fee_ocur_time"], where, "fee_ocur_time") if d.get("fee_ocur_time") else None,
                cancelled=False,
                recorded_at=ledger.now(),
                recorded_by=ctx.who.username,
            )
        )
    assert visit is not None
    s.add_all(new_rows)
    s.flush()
    claim = visits.claim_of(s, visit, "UPLOAD")
    person = settlement_person(s, find_person(s, visit.psn_no))
    fee = ctx.pack.at(claim.setl_date).fee
    pr = policy_range(fee, select_line(ctx.pack.at(claim.setl_date), person, claim).line, claim)
    by_sn = {r.feedetl_sn: r for r in pr.lines}
    for row in new_rows:
        r, ceiling = by_sn[row.feedetl_sn], fee.price_ceilings.get(row.med_list_codg)
        results.append(
            {
                "feedetl_sn": row.feedetl_sn,
                "det_item_fee_sumamt": yuan(r.det_item_fee_sumamt),
                "cnt": Decimal(row.cnt),
                "pric": yuan(row.pric) if row.pric is not None else None,
                "pric_uplmt_amt": yuan(ceiling) if ceiling is not None else None,
                "chrgitm_lv": r.chrgitm_lv,
                "selfpay_prop": Decimal(r.selfpay_prop) / 10000,
                "fulamt_ownpay_amt": yuan(r.fulamt_ownpay_amt),
                "overlmt_amt": yuan(r.overlmt_selfpay),
                "preselfpay_amt": yuan(r.preselfpay_amt),
                "inscp_scp_amt": yuan(r.inscp_scp_amt),
            }
        )
    # the line numbers are in the stored answer (2601 reads them there): an effect of any length fits its column
    return {"result": results}, f"fees:{visit.mdtrt_id}"


def cancel_fees(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp)
    v = _visit(s, ctx, data, "fee cancel")
    which = str(data.get("feedetl_sn") or data.get("chrg_bchno") or "0000")
    q = sa.select(FeeLineRow).where(
        FeeLineRow.mdtrt_id == v.mdtrt_id, FeeLineRow.cancelled.is_(False), FeeLineRow.setl_id.is_(None)
    )
    if which != "0000":
        q = q.where(FeeLineRow.feedetl_sn == which)
    rows = s.scalars(q).all()
    if not rows:
        raise InputError("fee cancel", "feedetl_sn", which, "unsettled fee lines of this visit (0000 for all)")
    for r in rows:
        r.cancelled = True
    return {}, None


# ------------------------------------------------------------------ settlement


CLR_WAY = "1"
"""清算方式: 1 按项目 (fee for service), the only way yibao settles."""
UNMODELLED_FUNDS = ("cvlserv_pay", "hifes_pay", "hifob_pay", "acct_mulaid_pay", "hosp_part_amt")
"""Payers of the specification's ``setlinfo`` yibao does not model (civil-servant subsidy, enterprise supplement,
large-amount, account mutual aid, the hospital's share): always zero. The personal account is modelled: ``acct_pay``
and ``psn_cash_pay`` come from the settlement, ``balc`` (余额) is the account's balance left for the year after it."""


def _setlinfo(s: Session, ctx: Context, st: Settlement, setl_id: str | None, v: Visit, data: dict[str, Any]) -> Output:
    """The ``setlinfo`` and ``setldetail`` of the specification's 2206/2207/2303/2304 answer."""
    p = s.get(Person, v.person_id)
    assert p is not None
    own = data.get("medins_setl_id")
    info: Output = {
        "mdtrt_id": v.mdtrt_id, "setl_id": setl_id, "psn_no": p.psn_no, "psn_name": p.psn_name, "psn_cert_type": "01",
        "certno": mask(p.certno), "gend": p.gend, "naty": "", "brdy": p.brdy.isoformat(), "age": _age(p, st.setl_date),
        "insutype": st.insutype, "psn_type": _psn_type(p, st.insutype), "cvlserv_flag": "0",
    }  # fmt: skip
    info |= {k: (yuan(x) if isinstance(x, int) else x) for k, x in st.setlinfo().items() if k not in info}
    info |= {fund: Decimal("0.00") for fund in UNMODELLED_FUNDS}
    balance = account_balance(s, p.id, st.setl_date.year)
    info["balc"] = yuan(max(0, balance - st.ytd_after.acct_paid) if balance is not None else 0)
    info |= {
        "setl_time": _time(st.setl_date),
        # 医药机构结算ID: the hospital's own number when it sends one, else its msgid (as the specification says)
        "medins_setl_id": _text(own, "settle", "medins_setl_id", 64) if own not in (None, "") else ctx.msgid,
        "clr_optins": ctx.pack.admdvs,
        "clr_way": CLR_WAY,
        "clr_type": v.med_type,
    }
    detail = [
        {
            "fund_pay_type": d.fund_pay_type,
            "inscp_scp_amt": yuan(d.inscp_scp_amt),
            "crt_payb_lmt_amt": yuan(d.crt_payb_lmt_amt) if d.crt_payb_lmt_amt is not None else None,
            "fund_payamt": yuan(d.fund_payamt),
            "setl_proc_info": d.setl_proc_info,
        }
        for d in st.setldetail
    ]
    return {"setlinfo": info, "setldetail": detail}


def ready(s: Session, ctx: Context, data: dict[str, Any], where: str, action: str) -> tuple[Visit, Claim]:
    """The visit named in ``data`` and its claim, when its status allows ``action`` and the total sent (if any) agrees.

    A mid-stay settlement (``mid_setl_flag`` 1) is refused: yibao settles an admission once discharged.
    """
    flag = data.get("mid_setl_flag")
    if flag not in (None, "", "0", 0):
        raise InputError(
            where,
            "mid_setl_flag",
            flag,
            "0, a settlement at discharge (mid-stay settlement, 1, is not offered: discharge with 2402 first)",
            expected_zh="0，出院结算（本平台不办理中途结算 1：请先 2402 出院再结算）",
        )
    v = _visit(s, ctx, data, where)
    claim = visits.claim_to_settle(s, v, action, where, ledger.new_setl_id())
    major = str(data.get("major_dise_flag") or "")
    try:
        claim = replace(claim, major_dise_flag=yes_no(major))  # 重特大疾病: the assistance tiers' major terms
    except ValueError:
        raise InputError(where, "major_dise_flag", major, "1 (a major disease) or 0", expected_zh="1（重特大疾病）或 0") from None
    claim = _diagnosis(claim, data, where)
    total = sum(fl.det_item_fee_sumamt for fl in claim.fee_lines)
    if data.get("medfee_sumamt") not in (None, ""):
        sent = _fen(data["medfee_sumamt"], where, "medfee_sumamt")
        if sent != total:
            raise InputError(
                where, "medfee_sumamt", data["medfee_sumamt"], f"the total of the uploaded fee lines ({fen_to_yuan_str(total)})"
            )
    return v, claim


def _diagnosis(claim: Claim, data: dict[str, Any], where: str) -> Claim:
    """The claim with the diagnosis the settlement request sends (``dise_codg``, ``dise_name``), which the ledger keeps
    and the slip prints (病种); the visit's own code (2201/2401/2402) when the request sends none."""
    code = _text(data.get("dise_codg") or "", where, "dise_codg", 32).strip().upper() or claim.dise_codg
    name = _text(data.get("dise_name") or "", where, "dise_name", 128).strip()
    return replace(claim, dise_codg=code, dise_name=name)


def _with_audit(out: Output, audit: CounterAudit | None, mdtrt_id: str) -> Output:
    """The answer with the audit's findings in the national form (``audit.result``, as 3101/3102 answer), when it ran."""
    if audit is not None and audit.pack is not None:
        out["audit"] = {"result": hsa_result(audit, mdtrt_id)}
    return out


def presettle(s: Session, ctx: Context, inp: dict[str, Any], action: str) -> tuple[Output, str | None]:
    data = _data(inp, "mdtrtinfo" if "mdtrtinfo" in inp and "data" not in inp else "data")
    v, claim = ready(s, ctx, data, "pre-settle", action)
    settlement, audit = visits.preview_claim(s, ctx.pack, claim, None, v)
    return _with_audit(_setlinfo(s, ctx, settlement, None, v, data), audit, v.mdtrt_id), None


def do_settle(s: Session, ctx: Context, inp: dict[str, Any], action: str) -> tuple[Output, str | None]:
    data = _data(inp)
    v, claim = ready(s, ctx, data, "settle", action)
    done = visits.record_settlement(s, ctx.pack, v, claim, action, ctx.who.username, ctx.msgid, "api")
    out = _setlinfo(s, ctx, done.settlement, claim.claim_id, v, data)
    return _with_audit(out, done.audit, v.mdtrt_id), f"settle:{claim.claim_id}"


def undo_settlement(s: Session, ctx: Context, setl_id: str, reason: str) -> LedgerEntry:
    return visits.undo_settlement(s, setl_id, reason, ctx.who.username, ctx.msgid, ctx.fixmedins_code)


def cancel_settlement(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    data = _data(inp)
    setl_id = str(_req(data, "setl_id", "settle cancel"))
    rev = undo_settlement(s, ctx, setl_id, str(data.get("reason") or "机构撤销结算"))
    return {
        "setlinfo": {
            "setl_id": rev.setl_id,
            "reverses": setl_id,
            "medfee_sumamt": yuan(rev.medfee_sumamt),
            "fund_pay_sumamt": yuan(rev.fund_pay_sumamt),
            "psn_part_amt": yuan(rev.psn_part_amt),
            "acct_pay": yuan(rev.acct_pay),
            "psn_cash_pay": yuan(rev.psn_part_amt - rev.acct_pay),
        }
    }, f"reverse:{rev.setl_id}"


def correct(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    """2601 冲正: undo what an earlier message did, found by its msgid."""
    data = _data(inp)
    omsgid = str(_req(data, "omsgid", "2601"))
    original = s.get(Message, ledger.message_key("hsa", ctx.fixmedins_code, omsgid))
    if original is None or not original.effect:
        raise NotFound("2601", "omsgid", omsgid, "the msgid of an earlier transaction of yours that changed something")
    if data.get("oinfno") and str(data["oinfno"]) != original.infno:
        raise InputError("2601", "oinfno", data["oinfno"], f"the original infno ({original.infno})")
    kind, _, ref = original.effect.partition(":")
    if kind == "settle":
        rev = undo_settlement(s, ctx, ref, f"冲正 {omsgid}")
        return {"data": {"omsgid": omsgid, "setl_id": rev.setl_id}}, f"reverse:{rev.setl_id}"
    if kind == "visit":
        cancel_visit(s, ctx, {"data": {"mdtrt_id": ref}})
        return {"data": {"omsgid": omsgid, "mdtrt_id": ref}}, None
    if kind == "fees":
        mdtrt_id, _, listed = ref.partition(":")  # "fees:M…:1,2,3" as recorded before the line numbers moved
        sns = listed.split(",") if listed else [r["feedetl_sn"] for r in json.loads(original.response)["result"]]
        for sn in sns:
            cancel_fees(s, ctx, {"data": {"mdtrt_id": mdtrt_id, "feedetl_sn": sn}})
        return {"data": {"omsgid": omsgid}}, None
    raise InputError("2601", "omsgid", omsgid, f"a transaction that can be corrected (this one was {original.infno})")


# ------------------------------------------------------------------ 2503 / 5301 门诊慢特病备案


def chronic_filing(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    """2503 人员慢特病备案: the sending hospital files, as the diagnosing institution (``ide_fixmedins_no``), on its
    doctor's diagnosis (``diag_dr_codg``/``diag_dr_name``, ``hosp_ide_date``), a disease of the pack's lists
    (``opsp_dise_code``) from ``begndate``; a ``begndate`` before today needs the reason in ``memo``. The answer's
    ``trt_dcla_detl_sn`` (待遇申报明细流水号) is the filing's number."""
    data = _data(inp)
    p = _person(s, data, "2503")
    ide = str(data.get("ide_fixmedins_no") or "")  # required, and the sender's own (filings.file_chronic)
    begin = _date(_req(data, "begndate", "2503"), "2503", "begndate")
    end = _date(data["enddate"], "2503", "enddate") if data.get("enddate") else None
    doctor = str(data.get("diag_dr_name") or data.get("diag_dr_codg") or "")
    memo = data.get("memo")
    code = str(_req(data, "opsp_dise_code", "2503"))
    what = filings.FilingIn(code, ide, doctor, begin, None if memo is None else str(memo), (), end)
    policy = policy_or_first(ctx.pack, begin)
    try:
        f = filings.file_chronic(s, p, policy, what, ctx.who.username, beijing_today(), institution=ctx.fixmedins_code)
    except InputError as exc:  # the national field names
        raise replace(exc, where="2503", field=_NATIONAL_FILING_FIELDS.get(exc.field, exc.field)) from None
    out = {"trt_dcla_detl_sn": str(f.id), "psn_no": p.psn_no, "opsp_dise_code": f.dise_codg, "opsp_dise_name": f.dise_name or ""}
    return {"data": out}, f"filing:{f.id}"


_NATIONAL_FILING_FIELDS = {
    "dise_codg": "opsp_dise_code",
    "fixmedins_code": "ide_fixmedins_no",
    "doctor": "diag_dr_name",
    "backdate_reason": "memo",
    "begin": "begndate",
    "end": "enddate",
}


def chronic_filings_of(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    """5301 人员慢特病备案查询: the person's filings (disease, name, dates)."""
    p = _person(s, _data(inp), "5301")
    rows = s.scalars(sa.select(ChronicFiling).where(ChronicFiling.person_id == p.id).order_by(ChronicFiling.begin))
    detail = [
        {"opsp_dise_code": f.dise_codg, "opsp_dise_name": f.dise_name or "", "begndate": f.begin.isoformat(),
         "enddate": f.end.isoformat() if f.end else None}
        for f in rows
    ]  # fmt: skip
    return {"feedetail": detail}, None


def envelope_ok(msgid: str, output: Output) -> Output:
    return {"infcode": "0", "inf_refmsgid": msgid, "refmsg_time": _ts(), "respond_time": _ts(), "err_msg": None, "output": output}


def envelope_error(msgid: str, message: str) -> Output:
    return {"infcode": "-1", "inf_refmsgid": msgid, "refmsg_time": _ts(), "respond_time": _ts(), "err_msg": message, "output": {}}


def _ts() -> str:
    """Now in Beijing time, as the envelope writes it (``yyyyMMddHHmmssSSS``)."""
    return datetime.now(BEIJING).strftime("%Y%m%d%H%M%S%f")[:17]
