"""The FastAPI application: registry lookups now; settlement and the web window build on it."""

from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yibao import __version__
from yibao.errors import InputError, InputErrors, NotFound, error_body
from yibao.policy.pack import PolicyPack, load_pack
from yibao.registry import lookup
from yibao.registry.idcard import mask
from yibao.store.db import Database


class ChronicFilingIn(BaseModel):
    dise_codg: str = Field(description="病种编码，如 I10 高血压")
    dise_name: str | None = None
    fixmedins_code: str | None = Field(None, description="诊断机构")
    doctor: str | None = Field(None, description="诊断医师")
    begin: date


class CrossFilingIn(BaseModel):
    begin: date
    end: date | None = None
    mdtrtarea_admvs: str | None = Field(None, description="就医地行政区划")
    reason: str | None = None


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back on error."""
    db: Database = request.app.state.db
    with db.unit_of_work() as s:
        yield s


Db = Annotated[Session, Depends(get_session)]
User = Annotated[str, Header(alias="X-Yibao-User", description="经办人（鉴权见后续版本）")]


def create_app(db: Database, pack: PolicyPack | None = None) -> FastAPI:
    pack = pack or load_pack("anhui-huaibei-2022")
    app = FastAPI(
        title="yibao 医保", version=__version__, description="一站式结算、参保与身份、监测预警 / yibao medical security API"
    )
    app.state.db = db
    app.state.pack = pack

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=404 if isinstance(exc, NotFound) else 422, content=error_body(exc))

    @app.exception_handler(InputErrors)
    async def _input_errors(_request: Request, exc: InputErrors) -> JSONResponse:
        return JSONResponse(status_code=422, content={"errors": [error_body(e) for e in exc.errors]})

    def priority(day: date) -> tuple[str, ...]:
        return pack.at(day).identity_priority if pack.covers(day) else pack.at(pack.valid_from).identity_priority

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/persons")
    def search(s: Db, q: Annotated[str, Query(min_length=1, description="身份证号、人员编号或姓名")]) -> list[dict[str, Any]]:
        return [
            {"psn_no": p.psn_no, "certno": mask(p.certno), "psn_name": p.psn_name, "gend": p.gend, "brdy": p.brdy.isoformat(),
             "township": p.township, "village": p.village}
            for p in lookup.search_people(s, q)
        ]  # fmt: skip

    @app.get("/api/persons/{key}")
    def person(s: Db, key: str, on: date | None = None) -> dict[str, Any]:
        day = on or date.today()
        p = lookup.find_person(s, key)
        return asdict(lookup.person_view(s, p, day, priority(day)))

    @app.post("/api/persons/{key}/chronic-filings", status_code=201)
    def chronic(s: Db, key: str, body: ChronicFilingIn, user: User = "api") -> dict[str, Any]:
        p = lookup.find_person(s, key)
        f = lookup.add_chronic_filing(s, p, body.dise_codg, body.begin, user, dise_name=body.dise_name,
                                      fixmedins_code=body.fixmedins_code, doctor=body.doctor)  # fmt: skip
        return {
            "id": f.id,
            "psn_no": p.psn_no,
            "dise_codg": f.dise_codg,
            "begin": f.begin.isoformat(),
            "recorded_by": f.recorded_by,
        }

    @app.post("/api/persons/{key}/cross-filings", status_code=201)
    def cross(s: Db, key: str, body: CrossFilingIn, user: User = "api") -> dict[str, Any]:
        p = lookup.find_person(s, key)
        f = lookup.add_cross_filing(s, p, body.begin, body.end, user, mdtrtarea_admvs=body.mdtrtarea_admvs, reason=body.reason)
        return {"id": f.id, "psn_no": p.psn_no, "begin": f.begin.isoformat(), "end": f.end.isoformat() if f.end else None}

    @app.get("/api/persons/{key}/settlement-view")
    def settlement_view(s: Db, key: str) -> dict[str, Any]:
        """What the settlement core sees: identity periods, filings, scheme."""
        sp = lookup.settlement_person(s, lookup.find_person(s, key))
        out = asdict(sp)
        return out

    return app
