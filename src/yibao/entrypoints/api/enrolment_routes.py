"""REST: a year's coverage by place against the targets; enrolling the registry; the tax bureau's payment list."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from yibao.app import coverage_places as places
from yibao.app import enrol_county as county
from yibao.app.auth import Principal
from yibao.app.enrolment import policy_for_year
from yibao.app.schemas import no_nul
from yibao.core.errors import InputError, error_body
from yibao.entrypoints.api.bodies import binary, multipart
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of, limits_of, pack_of, sheet_limits
from yibao.interfaces.workbooks.tax_payments import RowProblem
from yibao.policy.coverage import CoverageRow, target_met

router = APIRouter(prefix="/api/enrolment", tags=["enrolment"], responses=refusals(400, 401, 403))

Reader = Annotated[Principal, Depends(require("enrolment.read"))]
Clerk = Annotated[Principal, Depends(require("enrolment"))]
Year = Annotated[int, Query(ge=1990, le=2100, description="参保年度")]
PlaceName = Annotated[str | None, Query(max_length=64, description="乡镇（村须同时给出乡镇）"), AfterValidator(no_nul)]


def _row(r: CoverageRow) -> dict[str, Any]:
    return {
        "persons": r.persons,
        "enrolled": r.enrolled,
        "exempt": r.exempt,
        "gap": r.gap,
        "covered_rate_bp": r.covered_rate_bp,
        "enrolled_rate_bp": r.enrolled_rate_bp,
    }


@router.get("/coverage", responses=refusals(422))
def coverage(request: Request, who: Reader, year: Year, township: PlaceName = None, village: PlaceName = None) -> dict[str, Any]:
    """参保情况：全县、乡镇或村（含下一级），及参保率目标是否达标（视同参保计入）."""
    try:
        policy = policy_for_year(pack_of(request), year)[0]
    except InputError:
        policy = None
    ranks: dict[str, Any] = {"priority": policy.identity_priority, "validity": policy.identity_validity} if policy else {}
    view = places.coverage_by_place(
        db_of(request), year, places.Place(township, village if township is not None else None), **ranks
    )
    targets = policy.premium.targets if policy is not None and policy.premium is not None else None
    return {
        "year": year,
        "as_of": view.as_of.isoformat(),
        "township": view.place.township,
        "village": view.place.village,
        "overall": _row(view.total.overall),
        "low_income": _row(view.total.low_income),
        "parts": [{"name": p.name, "overall": _row(p.overall), "low_income": _row(p.low_income)} for p in view.parts],
        "targets": None
        if targets is None
        else {
            "overall_bp": targets.overall,
            "overall_met": target_met(view.total.overall, targets.overall),
            "low_income_bp": targets.low_income,
            "low_income_met": target_met(view.total.low_income, targets.low_income),
        },
    }


class RegistryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1990, le=2100, description="参保年度")
    dry_run: bool = Field(False, description="只预览，不写入")


@router.post("/registry", responses=refusals(422))
def enrol_registry(request: Request, who: Clerk, body: RegistryIn) -> dict[str, Any]:
    """人员登记簿中的全部居民参保，按政策包核定保费和分类资助；重复执行不会改动任何记录."""
    result = county.enrol_registry(db_of(request), body.year, pack_of(request), user=who.username, dry_run=body.dry_run)
    return result.as_dict()


_UPLOAD = multipart(["file"], {"file": binary("税务部门缴费明细 .xlsx（模板见 /enrolment/payments/template.xlsx）")})


@router.post("/payments", openapi_extra=_UPLOAD, responses=refusals(422))
async def enrol_payments(request: Request, who: Clerk, year: Year, dry_run: bool = False) -> Any:
    """导入税务部门缴费明细（multipart 字段 file）：按身份证号匹配；任何一行有误则整个文件不导入，逐行列出."""
    most = limits_of(request).upload_bytes
    try:
        form = await request.form()
    except Exception:  # starlette's own parse errors for a body that is not multipart
        raise InputError("request", "file", None, "multipart/form-data 上传的 .xlsx 文件（字段 `file`）") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("request", "file", upload, "multipart/form-data 上传的 .xlsx 文件（字段 `file`）")
    data = await upload.read(most + 1)
    if len(data) > most:
        raise InputError(
            "request",
            "file",
            upload.filename,
            f"an .xlsx file of at most {most // 2**20} MB",
            expected_zh=f"不超过 {most // 2**20} 兆字节的 .xlsx 文件",
        )
    name = upload.filename or "payments.xlsx"
    return await run_in_threadpool(_payments, request, who, year, dry_run, name, data)


def _payments(request: Request, who: Principal, year: int, dry_run: bool, name: str, data: bytes) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payments.xlsx"
        path.write_bytes(data)
        args = (db_of(request), path, year, pack_of(request))
        kw: dict[str, Any] = {"user": who.username, "name": name, "limits": sheet_limits(request)}
        if dry_run:
            checked = county.preview_payments(*args, **kw)
            if checked.result is None:
                return _refused(name, checked.problems)
            return {"rows": checked.rows, "paid": checked.paid, "problems": [], "result": checked.result.as_dict()}
        try:
            return county.import_payments(*args, **kw).as_dict()
        except county.PaymentsRefused as refused:
            return _refused(name, refused.problems)


def _refused(name: str, problems: Sequence[RowProblem]) -> JSONResponse:
    """422: the refusal as every other (field, message), with every refused row (row, ID number, name, problem)."""
    first = problems[0]
    error = InputError(
        f"{name} row {first.row}",
        "rows",
        len(problems),
        f"every row matched and correct ({len(problems)} refused; see problems)",
        expected_zh=f"每一行都能匹配且正确（{len(problems)} 处错误，逐行列出）",
    )
    return JSONResponse(status_code=422, content=error_body(error) | {"problems": [asdict(p) for p in problems]})
