"""REST: 依申请救助 — preview an application, decide it (exactly once per Idempotency-Key), read, reverse."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from yibao.app import assistance, ledger, settlements
from yibao.app.auth import Principal
from yibao.app.registry import find_person
from yibao.app.schemas import Day, Text, no_nul
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.api.schemas import ReverseIn
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack

router = APIRouter(prefix="/api", tags=["assistance"], responses=refusals(400, 401, 403))
Clerk = Annotated[Principal, Depends(require("assistance"))]
Reader = Annotated[Principal, Depends(require("person.read"))]
Lang = Annotated[Literal["zh", "en"], Query(description="zh（默认）/ en")]
SetlId = Annotated[str, Path(max_length=40, description="申请的结算ID（A…）"), AfterValidator(no_nul)]
PersonKey = Annotated[str, Path(max_length=64, description="人员编号或身份证号"), AfterValidator(no_nul)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=64), AfterValidator(no_nul)]
NOT_FOUND = refusals(404)


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psn_no: Text = Field(min_length=1, max_length=64, description="人员编号或身份证号")
    applied_on: Day | None = Field(None, description="申请日期（默认今天）")


def _json(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


@router.post("/assistance/applications/preview", responses=NOT_FOUND, response_model=dict[str, Any])
def preview(request: Request, body: ApplicationIn, who: Clerk, lang: Lang = "zh") -> Response:
    """依申请救助预览：回溯期内计入的结算、计算基数和救助金额，不写入任何数据 / preview, writes nothing."""
    with _db(request).reading() as s:
        app = assistance.apply_for_assistance(s, _pack(request), body.psn_no, body.applied_on, who.username)
    return _json(settlements.dump(assistance.application_json(app, lang)))


@router.post("/assistance/applications", status_code=201, responses=NOT_FOUND, response_model=dict[str, Any])
def decide(request: Request, body: ApplicationIn, who: Clerk, idempotency_key: IdempotencyKey = None) -> Response:
    """依申请救助：写入结算台账并计入年度救助限额；同一 Idempotency-Key 重发只返回首次结果。"""
    pack = _pack(request)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        done = assistance.apply_for_assistance(s, pack, body.psn_no, body.applied_on, who.username, confirm=True,
                                               msgid=idempotency_key)  # fmt: skip
        return assistance.application_json(done), f"apply:{done.setl_id}"

    key = ledger.message_key("rest", who.username, idempotency_key) if idempotency_key is not None else None
    payload = body.model_dump(mode="json")
    return _json(settlements.once_json(_db(request), key, "apply", who.username, payload, work)[1], 201)


@router.get("/assistance/applications/{setl_id}", responses=NOT_FOUND)
def get_application(request: Request, setl_id: SetlId, who: Reader, lang: Lang = "zh") -> dict[str, Any]:
    """一笔依申请救助：计入的结算、基数、救助金额和计算过程 / one application."""
    with _db(request).unit_of_work() as s:
        return assistance.application_json(assistance.get(s, setl_id), lang)


@router.get("/persons/{key}/applications", responses=NOT_FOUND)
def person_applications(request: Request, key: PersonKey, who: Reader) -> list[dict[str, Any]]:
    """该人员的依申请救助记录（含撤销）/ the person's applications, newest first."""
    with _db(request).unit_of_work() as s:
        return assistance.of_person(s, find_person(s, key).id)


@router.post("/assistance/applications/{setl_id}/reverse", status_code=201, responses=NOT_FOUND, response_model=dict[str, Any])
def reverse(request: Request, setl_id: SetlId, body: ReverseIn, who: Clerk, idempotency_key: IdempotencyKey = None) -> Response:
    """撤销依申请救助（须填写原因）：退回占用的年度救助限额，所计入的结算可再次申请。"""

    def work(s: Session) -> tuple[dict[str, Any], str]:
        entry = assistance.reverse(s, setl_id, body.reason, who.username, msgid=idempotency_key)
        return ledger.entry_dict(entry), f"reverse:{entry.setl_id}"

    key = ledger.message_key("rest", who.username, idempotency_key) if idempotency_key is not None else None
    return _json(settlements.once_json(_db(request), key, "reverse", who.username, [setl_id, body.reason], work)[1], 201)
