"""The refusals the REST API answers, documented in the OpenAPI schema: which 4xx, when, and the body it carries.

Every operation lists its refusals with ``responses=refusals(...)``: a refusal names the field it refuses
and says why in Chinese (``message``) and English (``message_en``); 401 and 403 carry the same under
``detail`` (FastAPI's ``HTTPException``), as does a body that cannot be parsed at all (400).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Refusal(BaseModel):
    """One refused value."""

    field: str = Field(description="被拒绝的字段 / the field refused")
    value: str | None = Field(None, description="收到的值 / the value received")
    expected: str | None = Field(None, description="应为（英文）/ what was expected")
    expected_zh: str | None = Field(None, description="应为（中文）")
    message: str = Field(description="中文说明")
    message_en: str | None = Field(None, description="in English")


class Refused(Refusal):
    """A refusal (the first refused value at the top level, every one of them in ``errors``)."""

    errors: list[Refusal] | None = Field(None, description="每个被拒绝的值 / every refused value")
    retry_after: int | None = Field(None, description="秒后可重试（登录被锁定）/ seconds until sign-in is unlocked")


class Denied(BaseModel):
    """Who is calling was refused (401, 403), or the body could not be read at all (400)."""

    detail: Refusal | str


WHY: dict[int, tuple[str, type[BaseModel]]] = {
    400: ("请求体无法解析（不是所声明的 JSON 或表单）/ the body cannot be parsed", Denied),
    401: ("未登录或令牌无效、已过期 / no token, or an invalid or expired one", Denied),
    403: ("当前角色无权执行此操作 / the caller's role may not do this", Denied),
    404: ("要找的对象不存在（或不属于调用方）/ what was asked for does not exist (or is not the caller's)", Refused),
    409: ("与已有记录冲突 / conflicts with what is recorded", Refused),
    422: ("请求中的值不正确：说明字段和原因 / a value of the request is wrong: the field and why", Refused),
    429: ("登录失败次数过多，暂时锁定（Retry-After：还需等待的秒数）/ too many failed sign-ins: locked for a while", Refused),
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for an operation that may answer ``codes`` (422 always: every operation checks its input)."""
    return {code: {"description": WHY[code][0], "model": WHY[code][1]} for code in sorted({*codes, 422})}
