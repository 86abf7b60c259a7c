"""REST: sign in, pre-settle, settle (exactly once), reverse, read a settlement, a person's position."""

import hashlib
import json
from datetime import date
from typing import Annotated, Any

import simplejson
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import AfterValidator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.app import auth, ledger
from yibao.app.auth import Principal
from yibao.app.position import position
from yibao.app.registry import find_person
from yibao.core.errors import InputError, NotFound
from yibao.entrypoints.api.schemas import AccountIn, ClaimIn, ReverseIn, no_nul
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack
from yibao.settlement.model import Claim, FeeLine, PolicyRangeSummary, Settlement
from yibao.settlement.trace import render
from yibao.store.db import Database
from yibao.store.service_tables import Institution, LedgerEntry, Message
from yibao.store.tables import Person

router = APIRouter(prefix="/api")

SetlId = Annotated[str, Path(description="结算ID"), AfterValidator(no_nul)]
PersonKey = Annotated[str, Path(description="人员编号或身份证号"), AfterValidator(no_nul)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=64), AfterValidator(no_nul)]


@router.post("/auth/token", tags=["auth"])
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, Any]:
    """登录：用户名和密码换取有效期 8 小时的令牌 / sign in."""
    with _db(request).unit_of_work() as s:
        tok, expires = auth.sign_in(s, form.username, form.password)
        who = auth.principal_for(s, tok)
    assert who is not None
    return {
        "access_token": tok,
        "token_type": "bearer",
        "expires_at": expires.isoformat(),
        "role": who.role,
        "username": who.username,
    }


@router.post("/accounts", tags=["auth"], status_code=201)
def add_account(request: Request, body: AccountIn, who: Annotated[Principal, Depends(require("accounts"))]) -> dict[str, str]:
    """新建账号（管理员）/ create an account (admin)."""
    with _db(request).unit_of_work() as s:
        a = auth.create_account(
            s,
            body.username,
            body.password,
            body.role,
            who.username,
            display_name=body.display_name,
            fixmedins_code=body.fixmedins_code,
        )
        return {"username": a.username, "role": a.role}


def to_claim(s: Session, body: ClaimIn, who: Principal, claim_id: str) -> tuple[Claim, str | None, Person]:
    """The pure core's claim from a request: the institution's level and place, the person's number (and the person)."""
    code = body.fixmedins_code
    if who.role == "institution":
        if code and code != who.fixmedins_code:
            raise InputError("claim", "fixmedins_code", code, f"your own institution ({who.fixmedins_code})")
        code = who.fixmedins_code
    inst = s.get(Institution, code) if code else None
    if code and inst is None:
        raise InputError("claim", "fixmedins_code", code, "a registered institution (定点医药机构)")
    hosp_lv = body.hosp_lv or (inst.hosp_lv if inst else None)
    if hosp_lv is None:
        raise InputError("claim", "hosp_lv", None, "1, 2 or 3, or a registered fixmedins_code")
    place = body.place or (inst.place if inst else "in_county")
    person = find_person(s, body.psn_no)
    lines = tuple(
        FeeLine(f.feedetl_sn, f.med_list_codg, f.det_item_fee_sumamt, f.chrgitm_lv, f.cnt, f.pric, f.med_list_name)
        for f in body.fee_lines
    )
    summary = PolicyRangeSummary(**body.summary.model_dump()) if body.summary else None
    claim = Claim(
        claim_id,
        person.psn_no,
        body.setl_date,
        body.med_type,
        hosp_lv,
        place,  # type: ignore[arg-type]
        body.dise_codg,
        lines,
        summary,
        code or "",
    )
    return claim, code, person


def settlement_json(s: Settlement, setl_id: str | None = None, lang: str = "zh") -> dict[str, Any]:
    return {
        "setl_id": setl_id,
        "setlinfo": s.setlinfo() | ({"setl_id": setl_id} if setl_id else {}),
        "setldetail": [d.__dict__ for d in s.setldetail],
        "line": s.line,
        "identity": s.identity,
        "fee_results": [f.__dict__ | {"cnt": None} for f in s.fee_results],
        "trace": [{"tier": t, "text": m} for t, m in render(s.trace, lang)],
        "year_to_date": s.ytd_after.to_dict(),
    }


@router.post("/settlements/preview", tags=["settlement"])
def preview(request: Request, body: ClaimIn, who: Annotated[Principal, Depends(require("settle"))]) -> dict[str, Any]:
    """预结算：计算各级支付，不写入任何数据 / pre-settle, writes nothing."""
    with _db(request).unit_of_work() as s:
        claim, _, person = to_claim(s, body, who, "PREVIEW")
        result = ledger.preview(s, _pack(request), claim, person=person)
        s.rollback()
    return settlement_json(result)


def _request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def once(db: Database, key: str, infno: str, sender: str, payload: Any, work: Any) -> tuple[dict[str, Any], bool]:
    """Run ``work(session) -> (response, effect)`` exactly once for ``key``: a repeat returns the first answer."""
    digest = _request_hash(payload)
    with db.unit_of_work() as s:
        seen = s.get(Message, key)
        if seen is not None:
            if seen.request_sha256 != digest:
                raise InputError("request", "msgid", key, "a new msgid / Idempotency-Key for a different request")
            return simplejson.loads(seen.response, use_decimal=True), False
    try:
        with db.unit_of_work() as s:
            response, effect = work(s)
            s.add(
                Message(
                    msgid=key,
                    infno=infno,
                    sender=sender,
                    request_sha256=digest,
                    response=simplejson.dumps(response, use_decimal=True, ensure_ascii=False),
                    effect=effect,
                    recorded_at=ledger.now(),
                )
            )
            s.flush()
    except IntegrityError:
        with db.unit_of_work() as s:  # a concurrent twin won: answer as it did
            seen = s.get(Message, key)
            if seen is None:
                raise
            return simplejson.loads(seen.response, use_decimal=True), False
    return response, True


@router.post("/settlements", tags=["settlement"], status_code=201)
def settle(
    request: Request,
    body: ClaimIn,
    who: Annotated[Principal, Depends(require("settle"))],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """结算：写入结算台账并累计年度额度；同一 Idempotency-Key 重发只返回首次结果。"""
    pack = _pack(request)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        setl_id = ledger.new_setl_id()
        claim, code, person = to_claim(s, body, who, setl_id)
        done = ledger.settle_claim(
            s, pack, claim, who.username, mdtrt_id=body.mdtrt_id, fixmedins_code=code, msgid=idempotency_key, setl_id=setl_id,
            person=person,
        )  # fmt: skip
        return settlement_json(done.settlement, setl_id), f"settle:{setl_id}"

    if idempotency_key is None:
        with _db(request).unit_of_work() as s:
            return work(s)[0]
    key = ledger.message_key("rest", who.username, idempotency_key)
    response, _ = once(_db(request), key, "settle", who.username, body.model_dump(mode="json"), work)
    return response


def _visible(entry_code: str | None, who: Principal) -> None:
    if who.role == "institution" and entry_code != who.fixmedins_code:
        raise NotFound("settlement", "setl_id", "", "a settlement of your own institution")


@router.get("/settlements/{setl_id}", tags=["settlement"])
def get_settlement(
    request: Request, setl_id: SetlId, who: Annotated[Principal, Depends(require("settle.read"))]
) -> dict[str, Any]:
    """查询一笔结算（含撤销记录）/ one ledger entry."""
    with _db(request).unit_of_work() as s:
        entry = ledger.get_entry(s, setl_id)
        _visible(entry.fixmedins_code, who)
        out = ledger.entry_dict(entry)
        rev = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.reverses == setl_id))
        out["reversed_by"] = rev
        return out


@router.post("/settlements/{setl_id}/reverse", tags=["settlement"], status_code=201)
def reverse(
    request: Request,
    setl_id: SetlId,
    body: ReverseIn,
    who: Annotated[Principal, Depends(require("reverse"))],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """撤销结算（须填写原因）：退回该笔结算占用的全部额度；重复撤销将被拒绝。"""

    def work(s: Session) -> tuple[dict[str, Any], str]:
        _visible(ledger.get_entry(s, setl_id).fixmedins_code, who)
        entry = ledger.reverse_settlement(s, setl_id, body.reason, who.username, msgid=idempotency_key)
        return ledger.entry_dict(entry), f"reverse:{entry.setl_id}"

    if idempotency_key is None:
        with _db(request).unit_of_work() as s:
            return work(s)[0]
    response, _ = once(
        _db(request),
        ledger.message_key("rest", who.username, idempotency_key),
        "reverse",
        who.username,
        [setl_id, body.reason],
        work,
    )
    return response


@router.get("/persons/{key}/position", tags=["settlement"])
def person_position(
    request: Request, key: PersonKey, who: Annotated[Principal, Depends(require("position.read"))], year: int | None = None
) -> dict[str, Any]:
    """本年度各支付方已支付额与封顶线/限额 / year-to-date position per payer against its cap."""
    y = year or date.today().year
    if not 2000 <= y <= 2100:
        raise InputError("position", "year", y, "a year between 2000 and 2100")
    with _db(request).unit_of_work() as s:
        return position(s, _pack(request), find_person(s, key), y)


@router.get("/ledger/verify", tags=["settlement"])
def verify(request: Request, who: Annotated[Principal, Depends(require("ledger.verify"))]) -> dict[str, Any]:
    """用台账重算全部年度累计并比对 / recompute accumulators from the ledger."""
    with _db(request).unit_of_work() as s:
        diffs = ledger.verify(s)
    return {"differences": diffs, "ok": not diffs}
