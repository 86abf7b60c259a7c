"""REST: 基金预算 — the year's budget per fund and month, its changes, set, import the template, derive.

Budget against actual and its warnings are the reports ``GET /api/reports/budget`` and ``/api/reports/budget_warnings``."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from yibao.app import budget as svc
from yibao.app.auth import Principal
from yibao.app.report_sources import ledger_pack
from yibao.core.errors import InputError
from yibao.entrypoints.api.bodies import binary, multipart, xlsx_upload
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.downloads import XLSX, download
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack
from yibao.entrypoints.common.state import sheet_limits
from yibao.rules import budget as rules

router = APIRouter(prefix="/api", tags=["budget"], responses=refusals(400, 401, 403))
Reader = Annotated[Principal, Depends(require("reports"))]
Writer = Annotated[Principal, Depends(require("budget.write"))]
Year = Annotated[int, Path(ge=svc.FIRST_YEAR, le=svc.LAST_YEAR, description="预算年度")]


def budget_json(year: int, amounts: dict[tuple[str, int], int], changes: list[Any]) -> dict[str, Any]:
    """The year's budget in fen (``funds``: fund -> twelve monthly amounts) and its latest changes."""
    return {
        "year": year,
        "funds": {f: [amounts.get((f, m), 0) for m in rules.MONTHS] for f in rules.FUNDS},
        "changes": [
            {"fund": c.fund, "month": c.month, "before": c.before, "after": c.after, "source": c.source, "note": c.note,
             "recorded_at": c.recorded_at.isoformat(), "recorded_by": c.recorded_by}
            for c in changes
        ],
    }  # fmt: skip


@router.get("/budget/{year}")
def show(request: Request, year: Year, who: Reader) -> dict[str, Any]:
    """一个年度的基金预算（分，按基金和月份）和最近的变动 / the year's budget and its changes."""
    with _db(request).reading() as s:
        return budget_json(year, svc.budget_of(s, year), svc.changes(s, year, 50))


class MonthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fund: str = Field(max_length=32, description="basic / critical / assistance")
    month: int = Field(ge=1, le=12)
    amount: int = Field(ge=0, le=svc.MAX_FEN, description="金额（分）", strict=True)


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    months: list[MonthIn] = Field(min_length=1, max_length=36, description="要设的月份预算（分）")


@router.put("/budget/{year}")
def set_months(request: Request, year: Year, body: BudgetIn, who: Writer) -> dict[str, Any]:
    """设定基金预算（分）：所列月份全部写入或全部不写入，每一变动记录经办人和时间 / set months of the budget."""
    amounts: dict[tuple[str, int], int] = {}
    for i, m in enumerate(body.months):
        key = (svc.check_fund(m.fund, "request", f"months[{i}].fund"), m.month)
        if key in amounts:
            raise InputError(
                "request",
                f"months[{i}]",
                f"{m.fund} {m.month}",
                "each fund and month once",
                expected_zh="每个基金每个月只出现一次",
            )
        amounts[key] = m.amount
    with _db(request).unit_of_work() as s:
        changed = svc.set_amounts(s, year, amounts, "entered", who.username)
        s.commit()
        return budget_json(year, svc.budget_of(s, year), []) | {"changed": changed}


@router.get("/budget/{year}/template.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def template(request: Request, year: Year, who: Reader) -> Response:
    """基金预算模板（已填入该年度现有预算）/ the Excel template, filled in with the year's budget."""
    with _db(request).reading() as s:
        data = svc.template_bytes(year, svc.budget_of(s, year))
    return download(data, f"基金预算模板-{year}.xlsx", ascii_name=f"budget-{year}.xlsx")


_UPLOAD = multipart(["file"], {"file": binary("填好的基金预算模板 .xlsx")})


@router.post("/budget/import", openapi_extra=_UPLOAD, responses=refusals(400))
def import_template(request: Request, who: Writer, upload: Annotated[tuple[str, bytes], Depends(xlsx_upload)]) -> dict[str, Any]:
    """导入基金预算模板（multipart 字段 file）：任何一行有误则整份不导入 / import the template, all rows or none."""
    name, data = upload
    with _db(request).unit_of_work() as s:
        done = svc.import_template(s, io.BytesIO(data), name, who.username, sheet_limits(request))
        s.commit()
    return {"years": list(done.years), "rows": done.rows, "changed": done.changed}


@router.post("/budget/{year}/derive")
def derive(
    request: Request, year: Year, who: Writer, dry_run: Annotated[bool, Query(description="只测算，不写入")] = False
) -> dict[str, Any]:
    """按上年实际支出和本年筹资测算预算（规则见 README 基金预算；参数取自政策包）/ derive the budget."""
    pack = ledger_pack(_db(request), date(year, 1, 1), date(year, 12, 31), _pack(request))
    with _db(request).unit_of_work() as s:
        d = svc.derive(s, pack, year, who.username, write=not dry_run)
        s.commit()
    return budget_json(year, d.amounts, []) | {
        "changed": d.changed,
        "income": d.income,
        "note": d.note("zh"),
        "note_en": d.note("en"),
        "dry_run": dry_run,
    }
