"""REST: sign in, pre-settle, settle (exactly once), reverse, read a settlement, a person's position."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from yibao.app import auth, ledger, settlements
from yibao.app.auth import Principal
from yibao.app.position import position
from yibao.app.registry import find_person
from yibao.app.schemas import ClaimIn, no_nul
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.api.schemas import AccountIn, PasswordIn, ResetIn, ReverseIn, RoleIn
from yibao.entrypoints.common.security import Who, client_address, require, throttle_of
from yibao.entrypoints.common.state import db_of as _db
from yibao.entrypoints.common.state import pack_of as _pack

router = APIRouter(prefix="/api", responses=refusals(400, 401, 403))

SetlId = Annotated[str, Path(description="结算ID"), AfterValidator(no_nul)]
PersonKey = Annotated[str, Path(description="人员编号或身份证号"), AfterValidator(no_nul)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=64), AfterValidator(no_nul)]


LOCKED = refusals(429)
"""Too many failed sign-ins: locked for a while (``Retry-After``: the seconds still to wait)."""
NOT_FOUND = refusals(404)


def _signed_in(done: auth.SignedIn) -> dict[str, Any]:
    return {
        "access_token": done.token,
        "token_type": "bearer",
        "expires_at": done.expires.isoformat(),
        "role": done.who.role,
        "username": done.who.username,
    }


@router.post("/auth/token", tags=["auth"], responses=LOCKED)
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, Any]:
    """登录：用户名和密码换取有效期 8 小时的令牌；连续输错将暂时锁定 / sign in (throttled)."""
    done = auth.sign_in(_db(request), form.username, form.password, client_address(request), throttle_of(request))
    return _signed_in(done)


@router.post("/auth/password", tags=["auth"], responses=LOCKED)
def change_password(request: Request, body: PasswordIn, who: Who) -> dict[str, Any]:
    """修改本人密码：本账号的全部令牌立即失效，返回新令牌 / change one's own password: every token of the
    account stops working at once; a new token is answered."""
    done = auth.change_password(
        _db(request), who.username, body.old_password, body.new_password, client_address(request), throttle_of(request)
    )
    return _signed_in(done)


AccountName = Annotated[str, Path(min_length=1, max_length=64, description="用户名"), AfterValidator(no_nul)]


@router.get("/accounts", tags=["auth"])
def list_accounts(request: Request, who: Annotated[Principal, Depends(require("accounts"))]) -> list[dict[str, Any]]:
    """全部账号：角色、机构、是否停用、登录锁定到何时（管理员）/ every account (admin)."""
    with _db(request).unit_of_work() as s:
        return auth.accounts(s)


def _set_active(request: Request, username: str, active: bool, who: Principal) -> dict[str, Any]:
    with _db(request).unit_of_work() as s:
        account = auth.set_active(s, username, active, who.username)
        s.commit()
    return {"username": account.username, "active": account.active}


@router.post("/accounts/{username}/disable", tags=["auth"], responses=NOT_FOUND)
def disable_account(
    request: Request, username: AccountName, who: Annotated[Principal, Depends(require("accounts"))]
) -> dict[str, Any]:
    """停用账号：其全部令牌立即失效（管理员；不能停用本人）/ disable an account: its tokens stop at once."""
    return _set_active(request, username, False, who)


@router.post("/accounts/{username}/enable", tags=["auth"], responses=NOT_FOUND)
def enable_account(
    request: Request, username: AccountName, who: Annotated[Principal, Depends(require("accounts"))]
) -> dict[str, Any]:
    """启用账号，并解除其登录锁定（管理员）/ enable an account again and lift its sign-in lock."""
    return _set_active(request, username, True, who)


@router.post("/accounts/{username}/password", tags=["auth"], responses=NOT_FOUND)
def reset_password(
    request: Request, username: AccountName, body: ResetIn, who: Annotated[Principal, Depends(require("accounts"))]
) -> dict[str, Any]:
    """重设密码（管理员）：给定或随机生成临时密码（只在本次应答中出现），本人下次登录须修改；该账号全部令牌立即失效 /
    reset a password (admin): the one given or a random temporary one (answered once); to be changed at next sign-in;
    every token of the account stops at once."""
    with _db(request).unit_of_work() as s:
        account, password = auth.reset_password(s, username, who.username, body.password)
        s.commit()
    return {"username": account.username, "temporary_password": None if body.password else password}


@router.post("/accounts/{username}/role", tags=["auth"], responses=NOT_FOUND)
def change_role(
    request: Request, username: AccountName, body: RoleIn, who: Annotated[Principal, Depends(require("accounts"))]
) -> dict[str, Any]:
    """变更角色（管理员；定点机构账号须绑定已登记的机构）：该账号全部令牌立即失效 / change an account's role (admin):
    every token of the account stops at once."""
    with _db(request).unit_of_work() as s:
        account = auth.set_role(s, username, body.role, who.username, body.fixmedins_code)
        s.commit()
    return {"username": account.username, "role": account.role, "fixmedins_code": account.fixmedins_code}


@router.get("/accounts/events", tags=["auth"])
def account_events(
    request: Request,
    who: Annotated[Principal, Depends(require("accounts"))],
    username: Annotated[str | None, Query(max_length=64, description="只看此账号"), AfterValidator(no_nul)] = None,
) -> list[dict[str, Any]]:
    """账号变更记录（新建、停用、启用、变更角色、重设密码、本人修改密码），新的在前；时间为 UTC / the audit trail of
    the accounts, newest first (UTC)."""
    with _db(request).unit_of_work() as s:
        return auth.account_events(s, username)


@router.post("/accounts", tags=["auth"], status_code=201)
def add_account(request: Request, body: AccountIn, who: Annotated[Principal, Depends(require("accounts"))]) -> dict[str, str]:
    """新建账号（管理员）/ create an account (admin)."""
    with _db(request).unit_of_work() as s:
        a = auth.create_account(
            s,
            body.username,
            body.password,
            body.role,
            who.username,
            display_name=body.display_name,
            fixmedins_code=body.fixmedins_code,
            temporary=body.temporary,
        )
        s.commit()
    return {"username": a.username, "role": a.role}


def _json(body: bytes, status_code: int = 200) -> Response:
    """An answer serialised once (:func:`yibao.app.settlements.dump`), not again by FastAPI: the operation's
    ``response_model`` still documents it."""
    return Response(body, status_code=status_code, media_type="application/json")


@router.post("/settlements/preview", tags=["settlement"], responses=NOT_FOUND, response_model=dict[str, Any])
def preview(request: Request, body: ClaimIn, who: Annotated[Principal, Depends(require("settle"))]) -> Response:
    """预结算：计算各级支付，不写入任何数据 / pre-settle, writes nothing."""
    with _db(request).reading() as s:
        result, audit = settlements.preview(s, _pack(request), body, who)
    return _json(settlements.dump(settlements.settlement_json(result, audit=audit)))


def _key(who: Principal, idempotency_key: str | None) -> str | None:
    return ledger.message_key("rest", who.username, idempotency_key) if idempotency_key is not None else None


@router.post("/settlements", tags=["settlement"], status_code=201, responses=NOT_FOUND, response_model=dict[str, Any])
def settle(
    request: Request,
    body: ClaimIn,
    who: Annotated[Principal, Depends(require("settle"))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """结算：写入结算台账并累计年度额度；同一 Idempotency-Key 重发只返回首次结果。"""
    pack = _pack(request)

    def work(s: Session) -> tuple[dict[str, Any], str]:
        done = settlements.settle(s, pack, body, who, idempotency_key, mdtrt_id=body.mdtrt_id)
        answer = settlements.settlement_json(done.settlement, done.entry.setl_id, audit=done.audit)
        return answer, f"settle:{done.entry.setl_id}"

    key = _key(who, idempotency_key)
    payload = body.model_dump(mode="json")
    return _json(settlements.once_json(_db(request), key, "settle", who.username, payload, work)[1], 201)


@router.get("/settlements/{setl_id}", tags=["settlement"], responses=NOT_FOUND)
def get_settlement(
    request: Request, setl_id: SetlId, who: Annotated[Principal, Depends(require("settle.read"))]
) -> dict[str, Any]:
    """查询一笔结算（含撤销记录）/ one ledger entry."""
    with _db(request).unit_of_work() as s:
        return settlements.entry_view(s, setl_id, who)


@router.post(
    "/settlements/{setl_id}/reverse", tags=["settlement"], status_code=201, responses=NOT_FOUND, response_model=dict[str, Any]
)
def reverse(
    request: Request,
    setl_id: SetlId,
    body: ReverseIn,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """撤销结算（须填写原因，需 reverse 权限；依申请救助 A… 需 assistance 权限）：退回占用的全部额度；重复撤销将被拒绝。"""

    def work(s: Session) -> tuple[dict[str, Any], str]:
        entry = settlements.reverse(s, setl_id, body.reason, who, idempotency_key)
        return ledger.entry_dict(entry), f"reverse:{entry.setl_id}"

    key = _key(who, idempotency_key)
    return _json(settlements.once_json(_db(request), key, "reverse", who.username, [setl_id, body.reason], work)[1], 201)


@router.get("/persons/{key}/position", tags=["settlement"], responses=NOT_FOUND)
def person_position(
    request: Request, key: PersonKey, who: Annotated[Principal, Depends(require("position.read"))], year: int | None = None
) -> dict[str, Any]:
    """本年度各支付方已支付额与封顶线/限额 / year-to-date position per payer against its cap."""
    y = year or beijing_today().year
    if not 2000 <= y <= 2100:
        raise InputError("position", "year", y, "a year between 2000 and 2100")
    with _db(request).unit_of_work() as s:
        return position(s, _pack(request), find_person(s, key), y)


@router.get("/ledger/verify", tags=["settlement"])
def verify(request: Request, who: Annotated[Principal, Depends(require("ledger.verify"))]) -> dict[str, Any]:
    """用台账重算全部年度累计并比对 / recompute accumulators from the ledger."""
    with _db(request).unit_of_work() as s:
        diffs = ledger.verify(s)
    return {"differences": diffs, "ok": not diffs}
