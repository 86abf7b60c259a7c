"""疑点 over HTTP: the list and one case (the bureau's auditor and administrator all of them, an institution its own
only: another's answers 404 as one that does not exist), a step (role-checked and recorded), an institution's
appeal with a file (multipart), the files, and sampling for manual review with its estimate."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from yibao.app import suspect_sampling as sampling
from yibao.app import suspects as svc
from yibao.app.auth import Principal
from yibao.app.schemas import Day, Text, no_nul
from yibao.app.suspect_files import FileIn
from yibao.app.suspect_views import case_dict, detail
from yibao.core.errors import InputError, error_body
from yibao.core.money import optional_yuan
from yibao.entrypoints.api.bodies import binary, multipart
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.downloads import download
from yibao.entrypoints.common.security import Who, forbidden, require
from yibao.entrypoints.common.state import db_of, limits_of, pack_of
from yibao.rules.suspect_workflow import STATUSES, NotAllowed
from yibao.store.audit_tables import SuspectCase

router = APIRouter(prefix="/api", tags=["suspects"], responses=refusals(400, 401, 403))
MAX_ID = 2**31 - 1
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="疑点编号（id）")]
FileId = Annotated[int, Path(ge=1, le=MAX_ID, description="附件编号")]
SampleId = Annotated[int, Path(ge=1, le=MAX_ID, description="抽查编号")]
Lang = Annotated[Literal["zh", "en"], Query(description="zh（默认）/ en")]
QueryText = Annotated[str | None, AfterValidator(no_nul)]
Status = Literal["open", "first_review", "second_review", "appeal", "investigation", "decision", "deducted", "no_action"]
assert set(Status.__args__) == {"open", *STATUSES}  # type: ignore[attr-defined]


def reader(who: Who) -> Principal:
    """The bureau's roles that read 疑点, or an institution (its own)."""
    if not (who.can("suspects.read") or who.can("suspects.own")):
        raise forbidden("suspects.read", who)
    return who


Reader = Annotated[Principal, Depends(reader)]
Worker = Annotated[Principal, Depends(require("suspects.work"))]


def _filter(
    who: Reader,
    status: Annotated[Status | None, Query(description="状态；open 为全部未办结")] = None,
    fixmedins_code: Annotated[QueryText, Query(max_length=32, description="定点机构编号")] = None,
    rule_code: Annotated[QueryText, Query(max_length=16, description="规则编号")] = None,
    overdue: Annotated[bool | None, Query(description="true 仅逾期 / false 仅未逾期")] = None,
    date_from: Annotated[Day | None, Query(description="结算日期起")] = None,
    date_to: Annotated[Day | None, Query(description="结算日期止")] = None,
    sampled: Annotated[bool | None, Query(description="抽查立案")] = None,
    sample_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="抽查编号")] = None,
    q: Annotated[QueryText, Query(max_length=40, description="疑点号、结算流水号或人员编号")] = None,
) -> svc.Filter:
    return svc.Filter(status, fixmedins_code, rule_code, overdue, date_from, date_to, sampled, sample_id, q)


@router.get("/suspects")
def list_suspects(
    request: Request, who: Reader, f: Annotated[svc.Filter, Depends(_filter)], lang: Lang = "zh",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:  # fmt: skip
    """疑点列表（定点机构只见本机构的）：逾期的 ``overdue`` 为 true."""
    day = svc.today()
    with db_of(request).unit_of_work() as s:
        rows = svc.list_cases(s, who, f, day=day, limit=limit, offset=offset)
        return {"suspects": [case_dict(c, fi, lang, day=day) for c, fi in rows], "counts": svc.counts(s, who, day=day)}


@router.get("/suspects/{case_id}", responses=refusals(404))
def one(case_id: CaseId, request: Request, who: Reader, lang: Lang = "zh") -> dict[str, Any]:
    """一个疑点：规则、说明、证据（相关结算、明细）、处理经过（谁、何时、渠道）、附件、当前可执行的步骤."""
    with db_of(request).unit_of_work() as s:
        return detail(s, case_id, who, lang)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["confirm", "notify", "dismiss", "accept", "lapse", "investigate", "deduct", "no_action"] = Field(
        description="步骤：confirm 初审确认 / notify 复审确认并通知申诉 / dismiss 审核排除 / accept 机构认可 / "
        "lapse 申诉期满 / investigate 调查核实完毕 / deduct 扣款 / no_action 不予处理（申诉请用 /appeal）"
    )
    note: Text | None = Field(None, max_length=2000, description="说明（排除、调查、不予处理时必填）")
    amount: Text | None = Field(None, max_length=20, description="追回金额（元，扣款时必填）")
    expected_version: int | None = Field(None, ge=0, le=MAX_ID, description="读取时的版本（他人已处理则 409）")


def _acted(request: Request, who: Principal, lang: str, take: Callable[[Session], SuspectCase]) -> Any:
    """Take a step in one transaction: 403 for the wrong role, 409 when someone acted first, else the case as it is now."""
    try:
        with db_of(request).unit_of_work() as s:
            case_id = take(s).id
            s.commit()
    except NotAllowed as refused:
        body = {"field": "action", "value": refused.action, "message": refused.message("zh"), "message_en": refused.message("en")}
        return JSONResponse(status_code=403, content={"detail": body})
    except svc.StaleCase as stale:
        return JSONResponse(status_code=409, content=error_body(stale))
    with db_of(request).unit_of_work() as s:
        return detail(s, case_id, who, lang)


@router.post("/suspects/{case_id}/actions", responses=refusals(403, 404, 409))
def act(case_id: CaseId, body: ActionIn, request: Request, who: Reader, lang: Lang = "zh") -> Any:
    """把疑点推进一步（按角色校验并记录）。机构申诉（附文件）请用 ``/appeal``."""
    amount = optional_yuan(body.amount, "request", "amount")
    days = svc.workflow_days(pack_of(request))

    def take(s: Session) -> SuspectCase:
        return svc.act(
            s, case_id, body.action, who, days, note=body.note, amount=amount, expected_version=body.expected_version,
            channel="api",
        )  # fmt: skip

    return _acted(request, who, lang, take)


_APPEAL = multipart(
    ["note"],
    {
        "note": {"type": "string", "maxLength": 2000, "description": "申诉理由"},
        "file": binary("证明材料（PDF、图片、Word、Excel 或文本）"),
        "expected_version": {"type": "integer", "minimum": 0, "description": "读取时的版本"},
    },
)


async def appeal_form(request: Request) -> tuple[str | None, FileIn | None, int | None]:
    """A dependency: the appeal's text, file (read up to the upload limit and one byte more) and version."""
    expected = "以 multipart/form-data 上传：申诉理由（字段 `note`），证明材料（字段 `file`，可选）"
    try:
        form = await request.form()
    except Exception:  # starlette raises its own parse errors for a body that is not multipart
        raise InputError(
            "request", "body", None, expected, expected_en="multipart/form-data: note, and file (optional)"
        ) from None
    note = form.get("note")
    version = form.get("expected_version")
    if version is not None and not (isinstance(version, str) and version.isdigit() and len(version) < 10):
        raise InputError(
            "request", "expected_version", version, "读取时的版本（非负整数）", expected_en="the version read (0 or more)"
        )
    upload, file = form.get("file"), None
    if upload is not None and not isinstance(upload, str) and upload.filename:
        data = await upload.read(limits_of(request).upload_bytes + 1)
        file = FileIn(upload.filename, data)
    text = note.replace("\x00", "") if isinstance(note, str) else None
    return text, file, int(version) if isinstance(version, str) else None


@router.post("/suspects/{case_id}/appeal", openapi_extra=_APPEAL, responses=refusals(403, 404, 409))
def appeal(
    case_id: CaseId, request: Request, who: Reader,
    form: Annotated[tuple[str | None, FileIn | None, int | None], Depends(appeal_form)], lang: Lang = "zh",
) -> Any:  # fmt: skip
    """定点机构对本机构的疑点申诉：申诉理由和证明材料（multipart 字段 note、file）."""
    note, file, version = form
    days = svc.workflow_days(pack_of(request))
    limit = limits_of(request).upload_bytes

    def take(s: Session) -> SuspectCase:
        return svc.act(
            s, case_id, "appeal", who, days, note=note, file=file, expected_version=version, channel="api",
            upload_limit=limit,
        )  # fmt: skip

    return _acted(request, who, lang, take)


@router.get(
    "/suspects/{case_id}/attachments/{attachment_id}",
    response_class=Response,
    responses=refusals(404) | {200: {"content": {"application/octet-stream": {}}}},
)
def attachment(case_id: CaseId, attachment_id: FileId, request: Request, who: Reader) -> Response:
    """疑点的附件（按内容判定的类型，作为附件下载）."""
    with db_of(request).unit_of_work() as s:
        a = svc.attachment(s, case_id, attachment_id, who)
        data, name, media = a.data, a.filename, a.content_type
    return download(data, name, media, no_store=True)


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fixmedins_code: Text = Field(min_length=1, max_length=32, description="定点机构编号")
    date_from: Day = Field(description="结算日期起")
    date_to: Day = Field(description="结算日期止")
    rate: Text = Field(max_length=8, description="抽取比例（百分比，至多两位小数，如 10 或 2.5）")
    seed: int = Field(ge=0, le=sampling.MAX_SEED, description="随机种子（同一数据、同一种子抽中相同结算）")


def rate_bp(text: str, where: str = "request") -> int:
    """A percentage typed (at most two decimals) in basis points."""
    try:
        value = Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0 or value > 100 or value != value.quantize(Decimal("0.01")):
        raise InputError(
            where, "rate", text, "大于 0 且不超过 100 的百分比，至多两位小数", expected_en="a percentage above 0, at most 100"
        )
    return int(value * 100)


@router.post("/suspect-samples", responses=refusals(403))
def draw(body: SampleIn, request: Request, who: Worker) -> dict[str, Any]:
    """抽查：按比例随机（给定种子）抽取定点机构一段时间的结算，逐笔立案复核."""
    bp = rate_bp(body.rate)
    days = svc.workflow_days(pack_of(request))
    with db_of(request).unit_of_work() as s:
        sample, opened = sampling.draw_sample(
            s, body.fixmedins_code, body.date_from, body.date_to, bp, body.seed, who.username, days, "api"
        )
        s.commit()
        _, est = sampling.estimate(s, sample.id)
        return sampling.estimate_dict(sample, est) | {"cases": [c.id for c in opened]}


@router.get("/suspect-samples/{sample_id}", responses=refusals(404))
def estimate(sample_id: SampleId, request: Request, who: Reader) -> dict[str, Any]:
    """抽查及其估算：已复核结算的核定/申报比例外推至其余结算（估算值）."""
    if not who.can("suspects.read"):
        raise forbidden("suspects.read", who)
    with db_of(request).unit_of_work() as s:
        sample, est = sampling.estimate(s, sample_id)
        return sampling.estimate_dict(sample, est)
