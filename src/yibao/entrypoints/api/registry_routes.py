"""REST: find people, what they were on a date, their filings."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from yibao.app import personal_account
from yibao.app import registry as lookup
from yibao.app.auth import Principal
from yibao.app.schemas import Day, Fen, Text, no_nul
from yibao.core.clock import beijing_today
from yibao.core.idcard import mask
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of
from yibao.interfaces.claim_csv import MAX_BALANCE_FEN
from yibao.policy.in_force import policy_or_first
from yibao.policy.schema import Policy
from yibao.store.tables import ChronicFiling, CrossFiling, PersonalAccount

router = APIRouter(prefix="/api", tags=["registry"], responses=refusals(400, 401, 403))
NOT_FOUND = refusals(404)

PersonKey = Annotated[str, Path(description="人员编号或身份证号"), AfterValidator(no_nul)]


class ChronicFilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dise_codg: Text = Field(min_length=1, max_length=32, description="病种编码，如 I10 高血压")
    dise_name: Text | None = Field(None, max_length=128)
    fixmedins_code: Text | None = Field(None, max_length=32, description="诊断机构")
    doctor: Text | None = Field(None, max_length=64, description="诊断医师")
    begin: Day


class CrossFilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    begin: Day
    end: Day | None = None
    mdtrtarea_admvs: Text | None = Field(None, max_length=16, description="就医地行政区划")
    reason: Text | None = Field(None, max_length=64)
    kind: Literal["long_term", "referral", "temporary", ""] = Field(
        "", description="备案类别：long_term 异地长期居住，referral 转诊，temporary 临时外出就医；空为未注明"
    )


class PersonalAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1990, le=2100, description="年度：余额为该年度结算前的个人账户余额")
    balance_fen: Fen = Field(ge=0, le=MAX_BALANCE_FEN, description="个人账户余额（分）")


def _policy(request: Request, day: date) -> Policy:
    return policy_or_first(pack_of(request), day)


@router.get("/persons")
def search(
    request: Request,
    who: Annotated[Principal, Depends(require("person.read"))],
    response: Response,
    q: Annotated[
        str,
        Query(min_length=1, max_length=64, description="身份证号、身份证号后 4–6 位加姓名（后 6 位可单独）、人员编号或姓名"),
        AfterValidator(no_nul),
    ],
    page: Annotated[int, Query(ge=1, le=100_000, description="第几页")] = 1,
    per_page: Annotated[int, Query(ge=1, le=200, description="每页人数")] = 50,
) -> list[dict[str, Any]]:
    """查找人员，分页；总数在响应头 X-Total-Count（列表中身份证号一律脱敏）/ search people a page at a time, the count of
    all matches in the X-Total-Count header (ID numbers masked)."""
    with _db(request).unit_of_work() as s:
        found = lookup.find_people(s, q, page, per_page)
        response.headers["X-Total-Count"] = str(found.total)
        return [
            {
                "psn_no": p.psn_no,
                "certno": mask(p.certno),
                "psn_name": p.psn_name,
                "gend": p.gend,
                "brdy": p.brdy.isoformat(),
                "township": p.township,
                "village": p.village,
            }
            for p in found.people
        ]


@router.get("/persons/{key}", responses=NOT_FOUND)
def person(
    request: Request, key: PersonKey, who: Annotated[Principal, Depends(require("person.read"))], on: Day | None = None
) -> dict[str, Any]:
    """某日的人员信息：有效身份、身份历史、参保、备案 / a person as of a date."""
    day = on or beijing_today()
    with _db(request).unit_of_work() as s:
        p = lookup.find_person(s, key)
        return asdict(lookup.person_view(s, p, day, _policy(request, day), show_certno=who.sees_certno))


def _file(
    request: Request,
    key: str,
    body: BaseModel,
    who: Principal,
    add: Callable[..., ChronicFiling | CrossFiling | PersonalAccount],
    shown: tuple[str, ...],
) -> dict[str, Any]:
    """Add the filing ``body`` describes (its fields are ``add``'s parameters) to the person ``key`` and commit;
    the answer is the filing's id, the person's psn_no and the filing's fields ``shown`` (dates as ISO text)."""
    with _db(request).unit_of_work() as s:
        p = lookup.find_person(s, key)
        f = add(s, p, user=who.username, **body.model_dump())
        s.commit()
        fields = {name: getattr(f, name) for name in shown}
        return {"id": f.id, "psn_no": p.psn_no} | {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}


@router.post("/persons/{key}/chronic-filings", status_code=201, responses=NOT_FOUND)
def chronic(
    request: Request, key: PersonKey, body: ChronicFilingIn, who: Annotated[Principal, Depends(require("filing.write"))]
) -> dict[str, Any]:
    """门诊慢特病备案，即时生效 / chronic-disease filing, in force at once."""
    return _file(request, key, body, who, lookup.add_chronic_filing, ("dise_codg", "begin", "recorded_by"))


@router.post("/persons/{key}/cross-filings", status_code=201, responses=NOT_FOUND)
def cross(
    request: Request, key: PersonKey, body: CrossFilingIn, who: Annotated[Principal, Depends(require("filing.write"))]
) -> dict[str, Any]:
    """异地就医备案 / cross-region care filing."""
    return _file(request, key, body, who, lookup.add_cross_filing, ("begin", "end", "kind"))


@router.post("/persons/{key}/personal-accounts", status_code=201, responses=NOT_FOUND)
def account(
    request: Request, key: PersonKey, body: PersonalAccountIn, who: Annotated[Principal, Depends(require("filing.write"))]
) -> dict[str, Any]:
    """职工个人账户某年度的余额（该年度结算前；再次登记以最新一条为准）/ an employee's personal-account balance for a
    year, before its claims (the latest recorded counts)."""

    def add(s: Any, p: Any, *, user: str, year: int, balance_fen: int) -> PersonalAccount:
        return personal_account.add_balance(s, p, year, balance_fen, user, "api")

    return _file(request, key, body, who, add, ("year", "balance_fen", "recorded_by"))


@router.get("/persons/{key}/settlement-view", responses=NOT_FOUND)
def settlement_view(
    request: Request, key: PersonKey, who: Annotated[Principal, Depends(require("person.read"))]
) -> dict[str, Any]:
    """结算核心看到的人员：身份期间、备案、险种 / what the settlement core sees."""
    with _db(request).unit_of_work() as s:
        return asdict(lookup.settlement_person(s, lookup.find_person(s, key)))
