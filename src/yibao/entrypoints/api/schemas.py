"""Request bodies only the REST API takes (a claim's body is :class:`yibao.app.schemas.ClaimIn`)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yibao.app.schemas import Text


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=255, description="撤销原因")


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text = Field(min_length=2, max_length=64)
    password: Text = Field(min_length=8, max_length=128)
    role: Literal["clerk", "auditor", "monitoring", "analyst", "admin", "institution"]
    display_name: Text = Field("", max_length=64)
    fixmedins_code: Text | None = Field(None, max_length=32)


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_password: Text = Field(min_length=1, max_length=128, description="当前密码")
    new_password: Text = Field(min_length=8, max_length=128, description="新密码（至少 8 个字符）")
