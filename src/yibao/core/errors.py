"""Errors people can act on: where, which field, which value, what was expected."""

from __future__ import annotations

import re
from dataclasses import dataclass

ZH: tuple[tuple[str, str], ...] = (
    # what a clerk or a HIS integrator reads most often; anything else stays as written
    (r"^a psn_no or resident ID number registered in yibao$", "已在系统登记的人员编号或身份证号"),
    (r"^enrolled \(参保状态正常\) in (\d+)$", r"\1 年参保状态正常（已参保）"),
    (r"^a settlement not yet reversed \(reversed by (\w+)\)$", r"尚未撤销的结算（已被 \1 撤销）"),
    (r"^a reason for the reversal \(撤销原因\)$", "填写撤销原因"),
    (r"^a settlement id in the ledger$", "结算台账中存在的结算ID"),
    (r"^a supported transaction: (.*)$", r"支持的交易编号：\1"),
    (r"^a value \(必填\)$", "必填项"),
    (r"^a registered institution.*$", "已登记的定点医药机构"),
    (r"^your own institution(?: code)? \((\w+)\)$", r"本机构（\1）"),
    (r"^a visit \(就诊ID\) registered by your institution$", "本机构登记的就诊ID"),
    (r"^a med_type with a benefit line.*\((.*)\)$", r"政策包中有待遇的医疗类别（\1）"),
    (
        r"^fulamt_ownpay_amt \+ overlmt_selfpay \+ preselfpay_amt \+ inscp_scp_amt = medfee_sumamt(.*)$",
        r"全自费 + 超限价 + 先行自付 + 政策范围内 = 医疗总费用\1",
    ),
    (r"^the total of the uploaded fee lines \((.*)\)$", r"已上传费用明细的合计（\1 元）"),
    (r"^a new msgid / Idempotency-Key for a different request$", "不同的请求须使用新的报文ID（幂等键）"),
    (r"^either fee lines or a summary.*$", "费用明细或汇总金额二者之一"),
    (r"^an amount >= 0.*$", "不小于 0 的金额"),
    (r"^a date in the years (\d+) to (\d+)$", r"\1 至 \2 年间的日期"),
    (r"^a date on or after (\S+) .*$", r"不早于开始日期 \1 的日期"),
    (r"^a date on or after (.*)$", r"不早于 \1 的日期"),
    (r"^a date in (\d+), the year of .*$", r"\1 年内的日期（报表不跨年度，起止日期须在同一年）"),
    (r"^a month written YYYY-MM.*$", "月份，写作 YYYY-MM，例如 2022-05"),
    (r"^a month such as \d{4}-\d\d or a quarter.*$", "月份，写作 YYYY-MM（例如 2022-05），或季度 YYYY-Qn（例如 2022-Q2）"),
    (r"^a date written YYYY-MM-DD$", "日期，写作 YYYY-MM-DD，例如 2022-05-01"),
    (r"^a date YYYY-MM-DD$|^a date yyyy-MM-dd.*$", "日期（YYYY-MM-DD）"),
    (r"^Field required$", "必填项"),
    (r"^Input should be greater than or equal to (.*)$", r"不小于 \1"),
    (r"^Input should be less than or equal to (.*)$", r"不大于 \1"),
    (r"^Input should be a valid date.*$", "有效日期（YYYY-MM-DD）"),
    (r"^Input should be a valid integer.*$", "整数（金额以分为单位）"),
    (r"^Input should be a valid (number|decimal).*$", "数字"),
    (r"^Input should be (.*)$", r"取值：\1"),
    (r"^String should have at least (\d+) characters?$", r"至少 \1 个字符"),
    (r"^String should have at most (\d+) characters?$", r"至多 \1 个字符"),
    (r"^Extra inputs are not permitted$", "不允许的多余字段"),
    (r"^an open visit \(status is (\w+)\)$", r"未结算、未撤销的就诊（当前状态 \1）"),
    (r"^a discharged admission \(2402 first\)$", "已办理出院的住院（请先 2402 出院）"),
    (r"^fee lines uploaded for this visit.*$", "本次就诊已上传的费用明细（先 2204/2301 上传）"),
    (r"^the right user name and password of an active account$", "正确的用户名和密码"),
)


def expected_zh(text: str) -> str:
    """The expectation in Chinese where a phrase is known."""
    for pattern, repl in ZH:
        if re.match(pattern, text):
            return re.sub(pattern, repl, text)
    return text


@dataclass
class InputError(Exception):
    """Bad input (a pack, a CSV row, a claim): nothing is written when one is raised."""

    where: str
    """File (and row) or object the value came from."""
    field: str
    value: object
    expected: str

    def __post_init__(self) -> None:
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        value = repr(self.value)
        if len(value) > 80:
            value = value[:77] + "..."
        if lang == "zh":
            return f"{self.where}：字段 {self.field} 的值 {value} 不正确，应为：{expected_zh(self.expected)}"
        return f"{self.where}: field {self.field} has value {value}; expected {self.expected}"

    def __str__(self) -> str:
        return self.render("en")


class InputErrors(Exception):
    """Several input errors at once (a file with more than one bad row)."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        super().__init__("\n".join(e.render("en") for e in errors))

    def render(self, lang: str = "zh") -> str:
        return "\n".join(e.render(lang) for e in self.errors)


class NotFound(InputError):
    """The thing asked for does not exist (HTTP 404)."""


def error_body(e: InputError) -> dict[str, str]:
    """An error as the API returns it: the field, the value, what was expected, in both languages."""
    return {
        "field": e.field,
        "value": str(e.value),
        "expected": e.expected,
        "message": e.render("zh"),
        "message_en": e.render("en"),
    }
