"""REST: identity conflicts (疑似同人异号) flagged by the identity import — list, both records, merge, keep apart,
undo — and the named change report of an import batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from yibao.app import conflicts
from yibao.app.auth import Principal
from yibao.app.imports import CHANGE_SCHEMA, batch_changes, identity_batch
from yibao.app.schemas import Text
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of
from yibao.store.db import Database

router = APIRouter(prefix="/api", tags=["registry"], responses=refusals(400, 401, 403))
MAX_ID = 2**31 - 1
ConflictId = Annotated[int, Path(ge=1, le=MAX_ID, description="疑似同人异号编号")]
Reviewer = Annotated[Principal, Depends(require("imports"))]


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=conflicts.MAX_REASON, description="处理理由（记录在案）")


class MergeIn(ReasonIn):
    keep: Text = Field(min_length=15, max_length=18, description="保留记录的身份证号（另一条并入它）")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _pair(pair: conflicts.Pair) -> dict[str, Any]:
    out: dict[str, Any] = _jsonable(asdict(pair))
    out["refusals"] = {k: [{"message": zh, "message_en": en} for zh, en in v] for k, v in pair.refusals.items()}
    return out


@router.get("/conflicts")
def list_conflicts(
    request: Request, who: Reviewer, status: Annotated[Literal["open", "kept", "merged", "all"], Query()] = "open"
) -> list[dict[str, Any]]:
    """疑似同人异号（同姓名、出生日期、村，不同身份证号）及来源 / flagged pairs with their sources."""
    with db_of(request).reading() as s:
        return [_jsonable(asdict(p)) for p in conflicts.list_conflicts(s, None if status == "all" else status)]


@router.get("/conflicts/{conflict_id}", responses=refusals(404))
def show(conflict_id: ConflictId, request: Request, who: Reviewer) -> dict[str, Any]:
    """两条记录并排（身份、参保、结算笔数、来源）、处理历史、按哪条保留可否合并 / both records, history, merge checks."""
    with db_of(request).reading() as s:
        return _pair(conflicts.get(s, conflict_id))


def _decide(request: Request, conflict_id: int, act: Callable[[Database], conflicts.Decision]) -> Any:
    try:
        act(db_of(request))
    except conflicts.DecisionRefused as exc:
        body = {"field": "conflict", "value": str(conflict_id), "message": exc.render("zh"), "message_en": exc.render("en")}
        return JSONResponse(status_code=409, content=body)
    with db_of(request).reading() as s:
        return _pair(conflicts.get(s, conflict_id))


@router.post("/conflicts/{conflict_id}/merge", responses=refusals(404, 409))
def merge(conflict_id: ConflictId, body: MergeIn, request: Request, who: Reviewer) -> Any:
    """合并为一人（保留 ``keep``）；不安全时 409 并说明原因，不作任何更改 / merge, or 409 with the reasons."""
    return _decide(request, conflict_id, lambda db: conflicts.merge(db, conflict_id, body.keep, body.reason, who.username))


@router.post("/conflicts/{conflict_id}/keep", responses=refusals(404, 409))
def keep(conflict_id: ConflictId, body: ReasonIn, request: Request, who: Reviewer) -> Any:
    """确认为不同人员（不再提示）/ keep apart: two people, not flagged again."""
    return _decide(request, conflict_id, lambda db: conflicts.keep_apart(db, conflict_id, body.reason, who.username))


@router.post("/conflicts/{conflict_id}/undo", responses=refusals(404, 409))
def undo(conflict_id: ConflictId, body: ReasonIn, request: Request, who: Reviewer) -> Any:
    """撤销上次决定 / undo the last decision."""
    return _decide(request, conflict_id, lambda db: conflicts.undo(db, conflict_id, body.reason, who.username))


@router.get("/imports/{batch_id}/changes", responses=refusals(404))
def changes(
    batch_id: Annotated[int, Path(ge=1, le=MAX_ID, description="导入批次号")], request: Request, who: Reviewer
) -> list[dict[str, Any]]:
    """一次身份数据导入的变更明细：新增、结束、变更的每个人（变更前、变更后）/ who an import changed."""
    with db_of(request).reading() as s:
        identity_batch(s, batch_id)
        return [dict(zip(CHANGE_SCHEMA, row, strict=True)) for row in batch_changes(s, batch_id)]
