"""The warning list and its follow-up over HTTP: run a period, list, one warning, a step, export, import."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from yibao.app import assistance, ledger, settlements
from yibao.app import warnings as svc
from yibao.app.auth import Principal, check_permitted
from yibao.app.push_list import read_confirmations
from yibao.app.schemas import Day, Text, no_nul
from yibao.app.warning_views import event_dict, push_list, warning_dicts
from yibao.core.clock import beijing_today
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
from yibao.store.monitoring_tables import WarningCase
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
        return {
            "warnings": warning_dicts(s, rows, who, lang),
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
    """导入乡镇交回的核实结果（multipart 字段 file）：全部正确才写入；非待核实的行（未推送、已办理、已办结）忽略并计数."""
    name, data = upload
    with _db(request).unit_of_work() as s:
        r = read_confirmations(s, io.BytesIO(data), name, who.username, sheet_limits(request), pack=_pack(request))
        s.commit()
    return {
        "at_risk": r.confirmed_at_risk, "not_at_risk": r.confirmed_not_at_risk, "unchanged": r.unchanged, "blank": r.blank,
        "ignored": r.ignored,
    }  # fmt: skip


@router.get("/warnings/{warning_id}", responses=refusals(404))
def one(warning_id: WarningId, request: Request, who: Reader, lang: Lang = "zh") -> dict[str, Any]:
    with _db(request).unit_of_work() as s:
        w = svc.get_warning(s, warning_id)
        p = s.get(Person, w.person_id)
        assert p is not None
        return warning_dicts(s, [(w, p)], who, lang)[0] | {"events": [event_dict(e, lang) for e in svc.events_of(s, warning_id)]}


class StepIn(BaseModel):
    to: Status = Field(description="下一状态")
    bureau: list[Text] = Field(default_factory=list, max_length=5, description="推送部门（推送时必填）")
    note: Text | None = Field(None, max_length=500, description="说明")
    amount: Text | None = Field(None, max_length=20, description="救助金额（元，assisted 时可不填：即该笔台账实际支付的金额）")
    setl_id: Text | None = Field(
        None, max_length=40, description="支付救助的台账流水号（assisted 时必填：本人支付了倾斜救助的结算，或依申请救助 A…）"
    )
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
        return warning_dicts(s, [(w, p)], who, lang)[0]


def _answer(s: Session, w: WarningCase, who: Principal, lang: str) -> dict[str, Any]:
    p = s.get(Person, w.person_id)
    assert p is not None
    return warning_dicts(s, [(w, p)], who, lang)[0]


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Text = Field(min_length=1, max_length=32, description="倾斜救助的身份类别（政策包 tilted_assistance.categories）")
    valid_from: Day = Field(description="起始日期（不早于越线日，不晚于今天）")
    valid_to: Day | None = Field(None, description="终止日期（可不填：长期）")


@router.post("/warnings/{warning_id}/identity", responses=refusals(400, 404))
def grant_identity(warning_id: WarningId, body: IdentityIn, request: Request, who: Worker, lang: Lang = "zh") -> dict[str, Any]:
    """给经核实存在风险的人员登记倾斜救助身份（来源：监测预警，起止日期），此后结算按该身份支付倾斜救助."""
    with _db(request).unit_of_work() as s:
        svc.grant_tilted_identity(
            s, _pack(request), warning_id, body.category, body.valid_from, body.valid_to, who.username, source="api"
        )
        s.commit()
        return _answer(s, svc.get_warning(s, warning_id), who, lang)


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applied_on: Day | None = Field(None, description="申请日期（默认今天；回溯期为此前的政策包规定月数）")


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=64), AfterValidator(no_nul)]


@router.post("/warnings/{warning_id}/application", status_code=201, responses=refusals(400, 404))
def apply_from_warning(
    warning_id: WarningId, body: ApplicationIn, request: Request, who: Worker, idempotency_key: IdempotencyKey = None
) -> Response:
    """依申请救助并记入预警（需 warnings.work 与 assistance 权限）：写入台账，预警转为已落实救助；同一键只办一次."""
    check_permitted(who, "assistance")
    pack = _pack(request)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        day = body.applied_on or beijing_today()
        w, app = svc.assist_by_application(s, pack, warning_id, day, who.username, source="api", msgid=idempotency_key)
        return _answer(s, w, who, "zh") | {"application": assistance.application_json(app)}, f"apply:{app.setl_id}"

    key = ledger.message_key("rest", who.username, idempotency_key) if idempotency_key is not None else None
    payload = [warning_id, body.model_dump(mode="json")]
    answer = settlements.once_json(_db(request), key, "apply", who.username, payload, work)[1]
    return Response(answer, status_code=201, media_type="application/json")
