"""REST: 门诊统筹人头定额 — the townships, a township's monthly statement and year-end settlement (amounts in fen), and
the year-end score. An institution's account sees its own township only (another answers 404, as one that does not
exist)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.app import capitation as svc
from yibao.app.auth import Principal
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import Who, forbidden, require
from yibao.entrypoints.common.state import db_of, pack_of

router = APIRouter(prefix="/api", tags=["capitation"], responses=refusals(400, 401, 403))
Township = Annotated[str, Path(min_length=1, max_length=svc.MAX_TOWNSHIP, description="乡镇名称")]
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="年月 YYYY-MM")]
Year = Annotated[int, Path(ge=svc.FIRST_YEAR, le=svc.LAST_YEAR, description="年度")]


def reader(who: Who) -> Principal:
    """The bureau's roles that read the statements, or an institution (its own township)."""
    if not (who.can("capitation.read") or who.can("capitation.own")):
        raise forbidden("capitation.read", who)
    return who


Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(require("capitation.write"))]


@router.get("/capitation")
def list_townships(request: Request, who: Reader) -> dict[str, Any]:
    """实行门诊统筹人头定额的乡镇及有数据的月份 / the townships and their months with data."""
    with db_of(request).reading() as s:
        return {
            "townships": [{"township": t, "months": [f"{y}-{m:02d}" for y, m in svc.months(s, t)]} for t in svc.visible(s, who)]
        }


@router.get("/capitation/{township}/{month}", responses=refusals(404))
def month_statement(request: Request, township: Township, month: Month, who: Reader) -> dict[str, Any]:
    """乡镇门诊统筹人头定额月度结算单（分）/ the township's monthly statement, amounts in fen."""
    year, mm = svc.check_month(month)
    with db_of(request).reading() as s:
        svc.check_visible(s, who, township)
        return svc.statement_json(svc.statement(s, township, year, mm, pack_of(request)))


@router.get("/capitation/{township}/{year}/year-end", responses=refusals(404))
def year_end(request: Request, township: Township, year: Year, who: Reader) -> dict[str, Any]:
    """乡镇门诊统筹人头定额年终结算（分）/ the township's year-end settlement, amounts in fen."""
    with db_of(request).reading() as s:
        svc.check_visible(s, who, township)
        return svc.year_end_json(svc.year_end(s, township, year, pack_of(request)))


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=0, le=100, strict=True, description="考核得分 0-100")
    note: str = Field("", max_length=255, description="备注")


@router.post("/capitation/{township}/{year}/score", responses=refusals(404))
def record_score(request: Request, township: Township, year: Year, body: ScoreIn, who: Writer) -> dict[str, Any]:
    """录入乡镇年度考核得分（最新一条有效）并返回年终结算 / record the year's score; the year-end settlement after it."""
    with db_of(request).unit_of_work() as s:
        svc.check_visible(s, who, township)
        svc.record_score(s, township, year, body.score, body.note.replace("\x00", ""), who.username)
        s.commit()
        return svc.year_end_json(svc.year_end(s, township, year, pack_of(request)))
