"""REST reconciliation (对账) for fund supervision: the ledger's totals, and a hospital's list against the ledger.

Amounts here are in yuan with two decimals, exactly as on the national interface (3201/3202),
because the lists come from hospital systems that keep yuan; a hospital's own system uses
3201/3202 on ``POST /api/hsa`` instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import simplejson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field

from yibao.app import reconcile
from yibao.app.auth import Principal
from yibao.app.schemas import Day, Text, no_nul
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.store.service_tables import Institution

router = APIRouter(prefix="/api/reconcile", tags=["reconciliation"], responses=refusals(400, 401, 403, 404))

Code = Annotated[Text, Field(min_length=1, max_length=8)]
QueryText = Annotated[str, AfterValidator(no_nul)]


class HisSettlementIn(BaseModel):
    """One settlement as the hospital's system has it (3202 明细)."""

    setl_id: Text = Field(min_length=1, max_length=64, description="结算ID")
    mdtrt_id: Text | None = Field(None, max_length=64, description="就诊ID")
    psn_no: Text | None = Field(None, max_length=64, description="人员编号")
    medfee_sumamt: Decimal = Field(description="医疗费总额（元）", max_digits=16, decimal_places=2)
    fund_pay_sumamt: Decimal = Field(description="基金支付总额（元）", max_digits=16, decimal_places=2)
    acct_pay: Decimal = Field(Decimal("0.00"), description="个人账户支出（元）", max_digits=16, decimal_places=2)
    refd_setl_flag: Literal["0", "1"] = Field("0", description="退费结算标志：0 结算 / 1 已撤销")


class DetailIn(BaseModel):
    """对明细账：a period of one institution and the hospital's list of its settlements."""

    fixmedins_code: Text = Field(min_length=1, max_length=32, description="定点医药机构编号")
    begin: Day = Field(description="对账开始日期（结算日期，含）")
    end: Day = Field(description="对账结束日期（含）")
    insutype: Code | None = Field(None, description="险种：390 城乡居民 / 310 职工；空为全部")
    clr_type: Code | None = Field(None, description="清算类别（即结算返回的 clr_type：11 / 14 / 21）；空为全部")
    detail: list[HisSettlementIn] = Field(max_length=200_000, description="医院的结算明细")


def _reply(body: dict[str, Any]) -> Response:
    return Response(simplejson.dumps(body, use_decimal=True, ensure_ascii=False), media_type="application/json")


@router.get("/totals")
def totals(
    request: Request,
    who: Annotated[Principal, Depends(require("reconcile"))],
    fixmedins_code: Annotated[QueryText, Query(min_length=1, max_length=32, description="定点医药机构编号")],
    begin: Annotated[Day, Query(description="开始日期（结算日期，含）")],
    end: Annotated[Day, Query(description="结束日期（含）")],
    insutype: Annotated[QueryText | None, Query(max_length=8, description="险种；空为全部")] = None,
    clr_type: Annotated[QueryText | None, Query(max_length=8, description="清算类别；空为全部")] = None,
) -> Response:
    """对总账：台账中本机构在期间内按险种、清算类别汇总（已扣除撤销）；金额单位：元。"""
    data = {"begin": begin.isoformat(), "end": end.isoformat(), "insutype": insutype, "clr_type": clr_type}
    with _db(request).unit_of_work() as s:
        scope = reconcile.parse_scope(s, fixmedins_code, data, "reconcile totals", "begin", "end")
        groups = reconcile.ledger_totals(s, scope)
        inst = s.get(Institution, fixmedins_code)
        name = inst.fixmedins_name if inst else None
    return _reply(
        {
            "fixmedins_code": fixmedins_code,
            "fixmedins_name": name,
            "begin": scope.begin.isoformat(),
            "end": scope.end.isoformat(),
            "groups": [{"insutype": k[0], "clr_type": k[1], **t.yuan()} for k, t in groups.items()],
            "total": reconcile.total(groups.values()).yuan(),
        }
    )


@router.get("/daily")
def daily(
    request: Request,
    who: Annotated[Principal, Depends(require("reconcile"))],
    begin: Annotated[Day, Query(description="开始日期（结算日期，含）")],
    end: Annotated[Day, Query(description="结束日期（含；至多 92 天）")],
    fixmedins_code: Annotated[QueryText | None, Query(max_length=32, description="定点医药机构编号；空为全部")] = None,
) -> Response:
    """按机构按日汇总：台账中各机构每个结算日的总额（已扣除撤销，与 3201 同口径）；金额单位：元。"""
    with _db(request).unit_of_work() as s:
        rows = reconcile.daily_totals(s, begin, end, fixmedins_code)
    days = [{"fixmedins_code": code, "setl_date": day.isoformat(), **t.yuan()} for code, day, t in rows]
    return _reply({"begin": begin.isoformat(), "end": end.isoformat(), "days": days})


@router.post("/detail")
def detail(request: Request, body: DetailIn, who: Annotated[Principal, Depends(require("reconcile"))]) -> Response:
    """对明细账：医院的结算明细与台账逐笔比对，列出每一处差异（平台无、医院无、金额不一致、单方撤销等）。"""
    data = body.model_dump(mode="json", exclude={"detail"})
    records = [d.model_dump(mode="json") for d in body.detail]
    with _db(request).unit_of_work() as s:
        scope = reconcile.parse_scope(s, body.fixmedins_code, data, "reconcile detail", "begin", "end")
        result = reconcile.reconcile_detail(s, scope, reconcile.parse_records(records))
    return _reply(reconcile.detail_output(result))
