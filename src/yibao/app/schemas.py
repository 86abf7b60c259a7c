"""A claim as a request states it (the REST API's body, the counter's bill): text without NUL, amounts in integer fen (分)."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict
from pydantic_core import PydanticCustomError

Fen = Annotated[int, Strict()]
"""An amount in integer fen (分), a JSON integer only: ``"600.00"`` or ``600.0`` is refused, never read as 600 fen."""
T = TypeVar("T")


def no_nul(value: T) -> T:
    """Refuse text with NUL characters: PostgreSQL can neither store nor compare it."""
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("text_nul", "不含 NUL（\\x00）字符的文本 / text without NUL (\\x00) characters")
    return value


Text = Annotated[str, AfterValidator(no_nul)]
"""A string of the API: any text but NUL."""
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: object) -> object:
    """Refuse a date not written ``YYYY-MM-DD`` (pydantic would read a number as a Unix timestamp: ``-5e-113`` as 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise PydanticCustomError("date_iso", "YYYY-MM-DD 格式的日期 / a date written YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(iso_day)]
"""A date of the API, written ``YYYY-MM-DD``."""


class FeeLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feedetl_sn: Text = Field(min_length=1, max_length=40, description="费用明细流水号")
    med_list_codg: Text = Field(min_length=1, max_length=64, description="医保目录编码")
    med_list_name: Text = Field("", max_length=128)
    chrgitm_lv: Literal["01", "02", "03"] = Field(description="收费项目等级：01 甲类 / 02 乙类 / 03 丙类")
    det_item_fee_sumamt: Fen = Field(ge=0, le=10**11, description="明细项目费用总额（分）")
    cnt: Decimal = Field(Decimal(1), ge=0, le=10**6, description="数量")
    pric: Fen | None = Field(None, ge=0, le=10**11, description="单价（分）")


class SummaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medfee_sumamt: Fen = Field(ge=0, le=10**11, description="医疗费总额（分）")
    fulamt_ownpay_amt: Fen = Field(0, ge=0, le=10**11)
    overlmt_selfpay: Fen = Field(0, ge=0, le=10**11)
    preselfpay_amt: Fen = Field(0, ge=0, le=10**11)
    inscp_scp_amt: Fen | None = Field(None, ge=0, le=10**11)
    full_pay_scp_amt: Fen = Field(0, ge=0, le=10**11)
    fixed_share_scp_amt: Fen = Field(0, ge=0, le=10**11, description="按固定比例支付项目的政策范围内费用（分）")
    class_b_scp_amt: Fen = Field(0, ge=0, le=10**11, description="其余政策范围内费用中的乙类部分（分）")


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psn_no: Text = Field(min_length=1, max_length=32, description="人员编号或身份证号")
    setl_date: Day = Field(description="结算日期")
    med_type: Text = Field(min_length=2, max_length=8, description="医疗类别：11 普通门诊 / 14 门诊慢特病 / 21 普通住院")
    fixmedins_code: Text | None = Field(None, max_length=32, description="定点医药机构编码（机构账号可省略）")
    hosp_lv: Literal[1, 2, 3] | None = Field(None, description="医院等级；省略时取机构登记的等级")
    place: Literal["in_county", "out_of_county", "cross_region", "cross_emergency"] | None = Field(
        None, description="就医地（cross_emergency：异地急诊抢救）；省略时取机构登记"
    )
    dise_codg: Text = Field("", max_length=32, description="病种/诊断编码（ICD-10），记入结算台账并打印在结算单上")
    dise_name: Text = Field("", max_length=128, description="病种/诊断名称")
    major_dise_flag: bool = Field(False, description="重特大疾病标志：医疗救助、倾斜救助按重特大疾病标准")
    mdtrt_id: Text | None = Field(None, max_length=40)
    fee_lines: list[FeeLineIn] = Field(default_factory=list, max_length=5000)
    summary: SummaryIn | None = None
