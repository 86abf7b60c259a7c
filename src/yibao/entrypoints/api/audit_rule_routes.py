"""The audit rule library over HTTP: the rules in force, one rule with its changes, switching it or setting parameters;
the knowledge tables in force."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from yibao.app import audit_knowledge, audit_rules
from yibao.app.auth import Principal
from yibao.app.schemas import Text
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack

router = APIRouter(prefix="/api/audit", tags=["fund supervision"], responses=refusals(400, 401, 403))
Auditor = Annotated[Principal, Depends(require(audit_rules.PERMISSION))]
Code = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[\x21-\x7e]+$", description="规则编码")]


class RuleChangeIn(BaseModel):
    """A change to one rule: on/off and/or parameter values, with the reason (all recorded)."""

    enabled: bool | None = Field(None, description="true 启用 / false 停用；不填则不变")
    params: dict[Annotated[str, Field(max_length=32)], int] = Field(
        default_factory=dict, max_length=16, description='参数名 → 新值（如 {"days": 14}）；未列出的参数不变'
    )
    reason: Text = Field(min_length=1, max_length=audit_rules.REASON_MAX, description="变更原因")
    based_on: int | None = Field(
        None, ge=0, le=2**31 - 1, description="所见的最近一次变更编号（无变更为 0）；规则已被他人修改则拒绝"
    )


@router.get("/rules")
def list_rules(request: Request, _who: Auditor) -> list[dict[str, Any]]:
    """规则库：每条规则的属性、参数（含来源）、启用状态与最近一次变更。"""
    with _db(request).unit_of_work() as s:
        return [v.as_dict() for v in audit_rules.rules(s, _pack(request))]


@router.get("/rules/{code}", responses=refusals(404))
def one_rule(code: Code, request: Request, _who: Auditor) -> dict[str, Any]:
    """一条规则及其全部变更记录（新的在前）。"""
    with _db(request).unit_of_work() as s:
        out = audit_rules.rule(s, code, _pack(request)).as_dict()
        out["history"] = [audit_rules.change_dict(c) for c in audit_rules.history(s, code)]
        return out


@router.put("/rules/{code}", responses=refusals(404))
def change_rule(code: Code, body: RuleChangeIn, request: Request, who: Auditor) -> dict[str, Any]:
    """启用/停用规则或修改参数（与规则包文件同样校验），记录修改人、时间与原因。"""
    with _db(request).unit_of_work() as s:
        try:
            view = audit_rules.change_rule(
                s, code, enabled=body.enabled, params=body.params, reason=body.reason, by=who.username, role=who.role,
                policy=_pack(request), based_on=body.based_on,
            )  # fmt: skip
        except audit_rules.NotPermitted as e:
            detail = {"field": "role", "value": who.role, "message": e.message("zh"), "message_en": e.message("en")}
            raise HTTPException(403, detail) from None
        s.commit()
        return view.as_dict()


@router.get("/knowledge")
def knowledge_tables(request: Request, _who: Auditor) -> list[dict[str, Any]]:
    """知识库各表：规则包中的行数、在用行数与最近一次导入。"""
    with _db(request).unit_of_work() as s:
        return audit_knowledge.tables(s, _pack(request))
