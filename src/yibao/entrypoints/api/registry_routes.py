"""REST: find people, what they were on a date, their filings."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from yibao.app import filings, personal_account
from yibao.app import registry as lookup
from yibao.app.auth import Principal
from yibao.app.schemas import Day, Fen, Text, no_nul
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError
from yibao.core.idcard import mask
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import Who, require
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of
from yibao.interfaces.claim_csv import MAX_BALANCE_FEN
from yibao.policy.in_force import policy_or_first
from yibao.policy.schema import Policy
from yibao.store.tables import ChronicFiling, CrossFiling, PersonalAccount, ScreeningRecord

router = APIRouter(prefix="/api", tags=["registry"], responses=refusals(400, 401, 403))
NOT_FOUND = refusals(404)

PersonKey = Annotated[str, Path(description="人员编号或身份证号"), AfterValidator(no_nul)]


class ChronicFilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dise_codg: Text = Field(
        min_length=1, max_length=32, description="病种编码：政策包门诊慢性病或门诊特殊病目录中的病种，如 I10 高血压"
    )
    dise_name: Text | None = Field(None, max_length=128, description="不必填：病名取自目录")
    fixmedins_code: Text | None = Field(None, max_length=32, description="诊断机构编码（必填）")
    doctor: Text | None = Field(None, max_length=64, description="诊断医师（必填）")
    begin: Day
    backdate_reason: Text | None = Field(None, max_length=255, description="补办原因：开始日期早于今天时必填")
    signed: list[Annotated[Text, Field(max_length=32)]] = Field(
        [], max_length=2, description="门诊慢性病签约医疗机构编码（至多两家）"
    )

    def filing(self) -> filings.FilingIn:
        return filings.FilingIn(
            self.dise_codg, self.fixmedins_code or "", self.doctor or "", self.begin, self.backdate_reason, tuple(self.signed)
        )


class InstitutionFilingIn(ChronicFilingIn):
    certno: Text = Field(min_length=15, max_length=18, description="参保人身份证号")


class SignedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signed: list[Annotated[Text, Field(max_length=32)]] = Field(min_length=1, max_length=2, description="新的签约医疗机构编码")


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: Text = Field(min_length=1, max_length=500, description="病情及未达门诊慢性病备案条件的说明")
    fixmedins_code: Text = Field(min_length=1, max_length=32, description="检查机构编码")
    doctor: Text = Field(min_length=1, max_length=64, description="填表医师")
    examined_on: Day
    dise_codg: Text | None = Field(None, max_length=32, description="所查病种编码（可空）")


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
    add: Callable[..., ChronicFiling | CrossFiling | PersonalAccount | ScreeningRecord],
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


FILING_SHOWN = ("dise_codg", "dise_name", "kind", "fixmedins_code", "doctor", "begin", "backdate_reason", "recorded_by")


def _chronic(request: Request, key: str, body: ChronicFilingIn, who: Principal, institution: str | None = None) -> dict[str, Any]:
    def add(s: Any, p: Any, *, user: str, **_: Any) -> ChronicFiling:
        return filings.file_chronic(
            s, p, _policy(request, body.begin), body.filing(), user, beijing_today(), institution=institution
        )

    return _file(request, key, body, who, add, FILING_SHOWN)


@router.post("/persons/{key}/chronic-filings", status_code=201, responses=NOT_FOUND)
def chronic(
    request: Request, key: PersonKey, body: ChronicFilingIn, who: Annotated[Principal, Depends(require("filing.write"))]
) -> dict[str, Any]:
    """门诊慢特病备案，即时生效：病种须在政策包的门诊慢性病或门诊特殊病目录中，须有诊断机构、诊断医师和开始日期，开始日期早于
    今天须写补办原因 / chronic-disease filing, in force at once: a listed disease, the diagnosing institution and doctor,
    a start date (before today: with a reason)."""
    return _chronic(request, key, body, who)


@router.post("/institution/chronic-filings", status_code=201, responses=NOT_FOUND)
def institution_chronic(
    request: Request, body: InstitutionFilingIn, who: Annotated[Principal, Depends(require("filing.diagnose"))]
) -> dict[str, Any]:
    """定点医院以诊断机构身份办理门诊慢特病备案（按身份证号，诊断机构须为本机构）/ a hospital files, as the diagnosing
    institution, for the person with this ID number."""
    if not who.fixmedins_code:
        expected = "绑定本机构的定点机构账号 / an institution account bound to its institution"
        raise InputError("account", "fixmedins_code", who.username, expected)
    return _chronic(request, body.certno, body, who, who.fixmedins_code)


@router.post("/persons/{key}/chronic-filings/{filing_id}/signed", status_code=201, responses=NOT_FOUND)
def signed(
    request: Request,
    key: PersonKey,
    filing_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="备案编号")],
    body: SignedIn,
    who: Annotated[Principal, Depends(require("filing.write"))],
) -> dict[str, Any]:
    """变更门诊慢性病签约医疗机构（每月一次）/ change the filing's signed institutions (once a month)."""
    with _db(request).unit_of_work() as s:
        p = lookup.find_person(s, key)
        f = filings.filing_of(s, p, filing_id)
        rows = filings.change_signed(s, f, body.signed, who.username, beijing_today())
        s.commit()
        return {"id": f.id, "psn_no": p.psn_no, "signed": [r.fixmedins_code for r in rows], "from": rows[0].begin.isoformat()}


@router.post("/persons/{key}/screenings", status_code=201, responses=NOT_FOUND)
def screening(
    request: Request, key: PersonKey, body: ScreeningIn, who: Annotated[Principal, Depends(require("filing.write"))]
) -> dict[str, Any]:
    """病情信息表：经排查未达门诊慢性病备案条件者的记录，随户留存 / the screening record of a person examined who does not
    qualify, kept with the household."""

    def add(s: Any, p: Any, *, user: str, **_: Any) -> ScreeningRecord:
        r = filings.ScreeningIn(body.condition, body.fixmedins_code, body.doctor, body.examined_on, body.dise_codg)
        return filings.add_screening(s, p, _policy(request, body.examined_on), r, user, beijing_today())

    return _file(request, key, body, who, add, ("hh_no", "dise_codg", "examined_on", "recorded_by"))


@router.get("/filing-diseases")
def filing_diseases(request: Request, who: Who, on: Day | None = None) -> list[dict[str, str]]:
    """门诊慢特病病种目录（门诊慢性病、门诊特殊病），凡登录者可查 / the diseases that may be filed, by list (policy, open
    to every account)."""
    return filings.catalogue_rows(_policy(request, on or beijing_today()), "zh")


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
