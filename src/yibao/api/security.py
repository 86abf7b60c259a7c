"""Who is calling and what they may do: bearer tokens, roles, Chinese refusals."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.service.auth import Principal, principal_for
from yibao.store.db import Database

bearer = HTTPBearer(auto_error=False, description="POST /api/auth/token 取得令牌 / get a token there")


def current_principal(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    if cred is None:
        raise HTTPException(
            401,
            {"field": "Authorization", "message": "请先登录（缺少令牌）", "message_en": "sign in first"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    db: Database = request.app.state.db
    with db.unit_of_work() as s:
        who = principal_for(s, cred.credentials)
    if who is None:
        raise HTTPException(
            401,
            {"field": "Authorization", "message": "令牌无效或已过期，请重新登录", "message_en": "token invalid or expired"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = who
    return who


def require(permission: str) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not who.can(permission):
            raise HTTPException(
                403,
                {
                    "field": "role",
                    "value": who.role,
                    "expected": permission,
                    "message": f"当前角色（{who.role}）无权执行此操作（{permission}）",
                    "message_en": f"role {who.role} may not do {permission}",
                },
            )
        return who

    return check


Who = Annotated[Principal, Depends(current_principal)]
