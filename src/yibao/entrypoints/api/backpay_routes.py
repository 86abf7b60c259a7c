"""REST: 补差 after a late identity — the pending list, a person's preview, paying once per Idempotency-Key, a payment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from yibao.app import backpay, ledger, settlements
from yibao.app.auth import Principal
from yibao.app.schemas import no_nul
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack

router = APIRouter(prefix="/api", tags=["backpay"], responses=refusals(400, 401, 403))
Clerk = Annotated[Principal, Depends(require("backpay"))]
PersonKey = Annotated[str, Path(max_length=64, description="人员编号或身份证号"), AfterValidator(no_nul)]
Stem = Annotated[str, Path(max_length=40, description="补差单号（B…）"), AfterValidator(no_nul)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=64), AfterValidator(no_nul)]
NOT_FOUND = refusals(404)


@router.get("/backpay")
def pending(request: Request, who: Clerk) -> list[dict[str, Any]]:
    """待补差：结算日已有新身份、但按原身份结算的人员及其结算 / everyone with settlements a late identity changes."""
    with _db(request).reading() as s:
        return backpay.pending_json(backpay.pending(s, _pack(request)))


@router.get("/persons/{key}/backpay", responses=NOT_FOUND)
def preview(request: Request, key: PersonKey, who: Clerk) -> dict[str, Any]:
    """补差预览：按结算日有效的身份依日期顺序重新结算，每笔结算、每项基金的原额、新额和差额；不写入任何数据。"""
    with _db(request).reading() as s:
        return backpay.plan_json(backpay.plan(s, _pack(request), key))


@router.post("/persons/{key}/backpay", status_code=201, responses=NOT_FOUND, response_model=dict[str, Any])
def pay(request: Request, key: PersonKey, who: Clerk, idempotency_key: IdempotencyKey = None) -> Response:
    """补差：差额以更正记录（kind backpay）写入结算台账并调整年度累计；同一 Idempotency-Key 重发只返回首次结果。"""
    pack = _pack(request)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        stem, p = backpay.pay(s, pack, key, who.username, msgid=idempotency_key)
        return {"stem": stem} | backpay.plan_json(p), f"backpay:{stem}"

    msg = ledger.message_key("rest", who.username, idempotency_key) if idempotency_key is not None else None
    text = settlements.once_json(_db(request), msg, "backpay", who.username, [key], work)[1]
    return Response(text, status_code=201, media_type="application/json")


@router.get("/backpay/{stem}", responses=NOT_FOUND)
def payment(request: Request, stem: Stem, who: Clerk) -> dict[str, Any]:
    """一次补差：每笔更正记录、所更正的结算和差额 / one back-pay payment."""
    with _db(request).unit_of_work() as s:
        return backpay.payment_json(backpay.payment(s, stem))
