"""The warning list and its follow-up over HTTP: run a period, list, one warning, a step, export, import."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field

from yibao.app import warnings as svc
from yibao.app.auth import Principal
from yibao.app.push_list import read_confirmations
from yibao.app.schemas import Text, no_nul
from yibao.app.warning_views import event_dict, push_list, warning_dict
from yibao.core.money import optional_yuan
from yibao.entrypoints.api.bodies import binary, multipart
from yibao.entrypoints.api.bodies import xlsx_upload as _upload
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.downloads import XLSX, download
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack
from yibao.entrypoints.common.state import sheet_limits
from yibao.rules.monitoring import parse_period
from yibao.store.tables import Person

router = APIRouter(prefix="/api", tags=["monitoring"], responses=refusals(400, 401, 403))
Reader = Annotated[Principal, Depends(require("warnings.read"))]
Worker = Annotated[Principal, Depends(require("warnings.work"))]
Lang = Annotated[Literal["zh", "en"], Query(description="zh（默认）/ en")]
MAX_ID = 2**31 - 1
"""Warning numbers are the database's 32-bit integers: a larger one is refused, not looked up."""
MAX_OFFSET = 2**31 - 1
WarningId = Annotated[int, Path(ge=1, le=MAX_ID, description="预警编号")]
QueryText = Annotated[str | None, AfterValidator(no_nul)]


class RunIn(BaseModel):
    period: Text = Field(description="监测期：月份 2022-05 或季度 2022-Q2", max_length=10)


@router.post("/monitoring/runs")
def run(body: RunIn, request: Request, who: Worker) -> dict[str, Any]:
    """运行一期预警（同期重跑不重复，金额更新）."""
    result = svc.run_monitoring(_db(request), _pack(request), parse_period(body.period), who.username, trigger="api")
    return {k: getattr(result, k) for k in ("period", "pack_id", "found", "created", "updated", "unchanged", "by_rule", "run_id")}


@router.get("/monitoring/runs")
def runs(request: Request, _who: Reader) -> list[dict[str, Any]]:
    with _db(request).unit_of_work() as s:
        return [
            {"id": r.id, "period": r.period, "pack_id": r.pack_id, "found": r.found, "created": r.created, "updated": r.updated,
             "trigger": r.trigger, "recorded_at": r.recorded_at.isoformat(), "recorded_by": r.recorded_by}
            for r in svc.last_runs(s)
        ]  # fmt: skip


Status = Literal["new", "pushed", "at_risk", "not_at_risk", "assisted", "closed"]


def _filter(
    status: Annotated[Status | None, Query(description="状态")] = None,
    kind: Annotated[Literal["warning", "candidate"] | None, Query(description="warning 预警 / candidate 依申请候选")] = None,
    period: Annotated[QueryText, Query(max_length=10, description="发现期 2022-05")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    township: Annotated[QueryText, Query(max_length=64)] = None,
    village: Annotated[QueryText, Query(max_length=64)] = None,
    q: Annotated[QueryText, Query(max_length=64, description="姓名、人员编号或身份证号")] = None,
) -> svc.Filter:
    if period:
        parse_period(period)
    return svc.Filter(status=status, kind=kind, period=period, year=year, township=township, village=village, q=q)


Filt = Annotated[svc.Filter, Depends(_filter)]


@router.get("/warnings")
def list_warnings(
    request: Request, who: Reader, f: Filt, lang: Lang = "zh",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:  # fmt: skip
    with _db(request).unit_of_work() as s:
        rows = svc.list_warnings(s, f, limit=limit, offset=offset)
        recorded = svc.recorded_identities(s, [w.id for w, _ in rows])
        return {
            "warnings": [warning_dict(w, p, who, lang, recorded.get(w.id)) for w, p in rows],
            "counts": svc.counts_by_status(s, f.kind),
        }


@router.get("/warnings/export.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export(request: Request, who: Reader, f: Filt, lang: Lang = "zh") -> Response:
    """推送清单（每个乡镇一张表，可填写核实结果后导回）."""
    with _db(request).unit_of_work() as s:
        data, name = push_list(s, f, who, lang)
    return download(data, name)


_UPLOAD = multipart(["file"], {"file": binary("乡镇交回的推送清单 .xlsx")})


@router.post("/warnings/import", openapi_extra=_UPLOAD, responses=refusals(400))
def import_confirmations(request: Request, who: Worker, upload: Annotated[tuple[str, bytes], Depends(_upload)]) -> dict[str, int]:
    """导入乡镇交回的核实结果（multipart 字段 file）：全部正确才写入."""
    name, data = upload
    with _db(request).unit_of_work() as s:
        r = read_confirmations(s, io.BytesIO(data), name, who.username, sheet_limits(request), pack=_pack(request))
        s.commit()
    return {"at_risk": r.confirmed_at_risk, "not_at_risk": r.confirmed_not_at_risk, "unchanged": r.unchanged, "blank": r.blank}


@router.get("/warnings/{warning_id}", responses=refusals(404))
def one(warning_id: WarningId, request: Request, who: Reader, lang: Lang = "zh") -> dict[str, Any]:
    with _db(request).unit_of_work() as s:
        w = svc.get_warning(s, warning_id)
        p = s.get(Person, w.person_id)
        assert p is not None
        recorded = svc.recorded_identities(s, [w.id]).get(w.id)
        return warning_dict(w, p, who, lang, recorded) | {"events": [event_dict(e, lang) for e in svc.events_of(s, warning_id)]}


class StepIn(BaseModel):
    to: Status = Field(description="下一状态")
    bureau: list[Text] = Field(default_factory=list, max_length=5, description="推送部门（推送时必填）")
    note: Text | None = Field(None, max_length=500, description="说明")
    amount: Text | None = Field(None, max_length=20, description="倾斜救助金额（元，assisted 时必填）")
    setl_id: Text | None = Field(None, max_length=40, description="支付救助的结算流水号（assisted 时必填）")
    on: date | None = Field(None, description="核实日期（at_risk 时按预警规则登记身份的起始日，默认今天）")


@router.post("/warnings/{warning_id}/steps", responses=refusals(400, 404))
def add_step(warning_id: WarningId, body: StepIn, request: Request, who: Worker, lang: Lang = "zh") -> dict[str, Any]:
    """把预警推进一步：推送 → 核实 → 救助 → 办结."""
    amount = optional_yuan(body.amount, "request", "amount")
    with _db(request).unit_of_work() as s:
        w = svc.step(
            s, warning_id, body.to, who.username, bureaus=body.bureau, note=body.note, amount=amount, setl_id=body.setl_id,
            pack=_pack(request), on=body.on,
        )  # fmt: skip
        s.commit()
        p = s.get(Person, w.person_id)
        assert p is not None
        return warning_dict(w, p, who, lang, svc.recorded_identities(s, [w.id]).get(w.id))
