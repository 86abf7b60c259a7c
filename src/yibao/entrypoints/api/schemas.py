"""Request bodies only the REST API takes (a claim's body is :class:`yibao.app.schemas.ClaimIn`)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yibao.app.schemas import Text


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=255, description="撤销原因")


Role = Literal["clerk", "auditor", "monitoring", "analyst", "admin", "institution"]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text = Field(min_length=2, max_length=64)
    password: Text = Field(min_length=8, max_length=128)
    role: Role
    display_name: Text = Field("", max_length=64)
    fixmedins_code: Text | None = Field(None, max_length=32, description="定点机构账号所属的已登记机构")
    temporary: bool = Field(False, description="首次登录时须修改密码")


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    fixmedins_code: Text | None = Field(None, max_length=32, description="定点机构账号所属的已登记机构")


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Text | None = Field(
        None, min_length=8, max_length=128, description="新的临时密码；不填则随机生成，只在应答中出现一次"
    )


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_password: Text = Field(min_length=1, max_length=128, description="当前密码")
    new_password: Text = Field(min_length=8, max_length=128, description="新密码（至少 8 个字符）")
