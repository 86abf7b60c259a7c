"""The counter's bill form: raw inputs kept as typed, parsed into the REST API's claim, errors per field.

Amounts are typed in yuan and converted exactly to fen (``yuan_to_fen``); a bill is either a summary
(total and its policy-range split) or fee lines typed by hand, or a visit a hospital system uploaded
(``mdtrt_id``), whose fee lines are read from the ledger database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from yibao.app.schemas import ClaimIn
from yibao.core import i18n
from yibao.core.errors import InputError
from yibao.core.money import fen_to_yuan_str, yuan_to_fen
from yibao.core.vocab import CHRGITM_LV, HOSP_LEVELS, MED_TYPES, PLACES
from yibao.entrypoints.web.render import translator

T = Callable[[str, str], str]

SUMMARY_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
"""The hand-typed summary, in yuan; the policy-range amount may be left empty (the rest of the total)."""
FEE_ROWS = 6
"""Fee-line rows shown on an empty bill; the window adds rows as lines are typed or pasted."""
MAX_FEE_ROWS = 200
"""At most this many fee lines on one bill typed at the counter (a form holds at most 1,000 fields; a hospital system
uploads longer bills, 2204/2301, and the REST API takes them too)."""
FEE_COLUMNS = ("code", "name", "lv", "amt")
FEE_HEADINGS: dict[str, tuple[str, str]] = {
    "code": ("医保目录编码", "List code"),
    "name": ("名称", "Name"),
    "lv": ("等级", "Class"),
    "amt": ("金额（元）", "Amount (yuan)"),
}
"""The fee-line table's column headings, in the order a spreadsheet's pasted columns fill them."""
TEXT_FIELDS = ("person", "mdtrt_id", "med_type", "fixmedins_code", "hosp_lv", "place", "setl_date", "dise_codg", "dise_name")
MAX_LEN = 64

FIELD_OF_ERROR: dict[str, str] = {
    "psn_no": "person",
    "psn_insu_stas": "person",
    "emp_tier": "person",
    "feedetail": "mdtrt_id",
    "full_pay_scp_amt": "inscp_scp_amt",
    "fee_lines": "fee_lines",
    "feedetl_sn": "fee_lines",
    "med_list_codg": "fee_lines",
    "chrgitm_lv": "fee_lines",
    "det_item_fee_sumamt": "fee_lines",
    "cnt": "fee_lines",
    "pric": "fee_lines",
    **{name: name for name in (*TEXT_FIELDS, *SUMMARY_AMOUNTS)},
}
"""Where on the form an error of the domain (``InputError.field``) is shown; anything else at the top."""


def fee_field(row: int, column: str) -> str:
    return f"fl{row}_{column}"


FIXED_FIELDS = (*TEXT_FIELDS, *SUMMARY_AMOUNTS)
FEE_CELL = re.compile(r"^fl(?P<row>[0-9]{1,3})_(?P<col>code|name|lv|amt)$")


def error_text(e: InputError, lang: str) -> str:
    """What was expected, to show beside the field (the field keeps the value the clerk typed)."""
    return i18n.t(lang, "应为：", "expected ") + e.expected_in(lang)


@dataclass
class BillForm:
    """The inputs as typed (to show again) and the errors per field (``form``: the whole bill)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    rows_sent: int = 0
    """Fee-line rows the form sent, up to the last one typed (more than :data:`MAX_FEE_ROWS` is refused)."""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> BillForm:
        """The bill's inputs; fee lines as many rows as the form sent (at least :data:`FEE_ROWS`, at most
        :data:`MAX_FEE_ROWS`), empty rows after the last typed one left out."""

        def text(name: str) -> str:
            raw = form.get(name)
            return raw.replace("\x00", "").strip()[:MAX_LEN] if isinstance(raw, str) else ""

        values = {name: text(name) for name in FIXED_FIELDS}
        typed = [int(m["row"]) for m in map(FEE_CELL.match, form.keys()) if m and m["col"] != "lv" and text(m[0])]
        sent = max(typed, default=-1) + 1
        rows = min(MAX_FEE_ROWS, max(FEE_ROWS, sent))
        values |= {fee_field(i, c): text(fee_field(i, c)) for i in range(rows) for c in FEE_COLUMNS}
        return cls(values, rows_sent=sent)

    def add(self, e: InputError, lang: str) -> None:
        where = FIELD_OF_ERROR.get(e.field, "form")
        text = error_text(e, lang)
        self.errors[where] = text if where != "form" else e.render(lang)

    @property
    def uses_visit(self) -> bool:
        return bool(self.values["mdtrt_id"])

    def fee_rows(self) -> list[dict[str, str]]:
        rows = sum(1 for name in self.values if FEE_CELL.match(name) and name.endswith("_code"))
        return [{c: self.values[fee_field(i, c)] for c in FEE_COLUMNS} | {"row": str(i)} for i in range(rows)]

    def fee_problems(self, lang: str) -> list[str]:
        """Every fee-line cell in error, said with its row, column, the value as typed or pasted and what was expected
        (``第 3 行「金额（元）」“12,5”：应为 …``)."""
        out = []
        for name, expected in self.errors.items():
            m = FEE_CELL.match(name)
            if m is None:
                continue
            row, heading, value = int(m["row"]) + 1, i18n.pick(FEE_HEADINGS[m["col"]], lang), self.values.get(name, "")
            shown = f"“{value}”" if value else i18n.t(lang, "（空）", "(empty)")
            out.append(i18n.t(lang, f"第 {row} 行「{heading}」{shown}：{expected}", f"row {row}, {heading}, {shown}: {expected}"))
        return out

    def claim_in(self, lang: str) -> ClaimIn | None:
        """The REST API's claim for a hand-typed bill, or ``None`` with ``errors`` filled."""
        t = translator(lang)
        v = self.values
        if not v["person"]:
            self.errors["person"] = t("请先选择人员", "Choose the person first")
        setl_date = self._date(t)
        for name, known in (("med_type", MED_TYPES), ("hosp_lv", HOSP_LEVELS), ("place", PLACES)):
            if v[name] and v[name] not in known:
                self.errors[name] = t("请从列表中选择", "Choose from the list")
        if not v["med_type"]:
            self.errors["med_type"] = t("请选择医疗类别", "Choose the med type")
        if not v["fixmedins_code"] and not v["hosp_lv"]:
            self.errors["hosp_lv"] = t("请选择医院等级或定点机构", "Choose the hospital level or the institution")
        lines = self._fee_lines(t)
        summary = self._summary(t, bool(lines))
        if self.errors:
            return None
        body: dict[str, Any] = {
            "psn_no": v["person"],
            "setl_date": setl_date,
            "med_type": v["med_type"],
            "fixmedins_code": v["fixmedins_code"] or None,
            "hosp_lv": int(v["hosp_lv"]) if v["hosp_lv"] else None,
            "place": v["place"] or None,
            "dise_codg": v["dise_codg"].upper(),
            "dise_name": v["dise_name"],
            "fee_lines": lines,
            "summary": summary,
        }
        try:
            return ClaimIn.model_validate(body)
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else "form"
                self.add(InputError("bill", name, err.get("input"), str(err["msg"])), lang)
            return None

    def _date(self, t: T) -> date | None:
        raw = self.values["setl_date"]
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.errors["setl_date"] = t("应为日期（YYYY-MM-DD）", "expected a date YYYY-MM-DD")
            return None

    def _fen(self, name: str, t: T, *, required: bool = False) -> int | None:
        raw = self.values[name]
        if not raw:
            if required:
                self.errors[name] = t("请填写金额（元）", "Enter the amount in yuan")
            return None
        if "," in raw:  # "1,25": never read as 125 (nor guessed to be 1.25)
            self.errors[name] = t(
                "金额不能含逗号：小数点写作“.”（如 1.25），千位不加逗号", "no commas in an amount: write 1.25 or 1234.56"
            )
            return None
        try:
            fen = yuan_to_fen(raw)
        except ValueError:
            self.errors[name] = t("应为金额（元，至多两位小数），如 1500 或 12.50", "expected yuan with at most two decimals")
            return None
        if fen < 0:
            self.errors[name] = t("金额不能为负", "expected an amount >= 0")
            return None
        return fen

    def _summary(self, t: T, has_lines: bool) -> dict[str, int | None] | None:
        amounts = {name: self._fen(name, t, required=name == "medfee_sumamt" and not has_lines) for name in SUMMARY_AMOUNTS}
        typed = any(self.values[name] for name in SUMMARY_AMOUNTS)
        if has_lines:
            if typed:
                self.errors["fee_lines"] = t(
                    "请只填写汇总金额或费用明细之一", "Enter either the summary amounts or the fee lines, not both"
                )
            return None
        total = amounts["medfee_sumamt"]
        if total is None or any(name in self.errors for name in SUMMARY_AMOUNTS):
            return None
        parts = sum(amounts[name] or 0 for name in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt"))
        scp = amounts["inscp_scp_amt"]
        shown_total, shown_parts = fen_to_yuan_str(total), fen_to_yuan_str(parts + (scp or 0))
        if scp is None and parts > total:
            self.errors["medfee_sumamt"] = t(
                f"自付部分合计 {shown_parts} 元超过医疗总费用", f"the self-paid parts ({shown_parts}) exceed the total"
            )
        elif scp is not None and parts + scp != total:
            self.errors["inscp_scp_amt"] = t(
                f"全自费 + 超限价 + 先行自付 + 政策范围内 应等于医疗总费用 {shown_total} 元，现为 {shown_parts} 元",
                f"the four parts must add up to the total {shown_total}; they add to {shown_parts}",
            )
        return {name: amounts[name] or 0 for name in SUMMARY_AMOUNTS if name != "inscp_scp_amt"} | {"inscp_scp_amt": scp}

    def _fee_lines(self, t: T) -> list[dict[str, Any]]:
        if self.rows_sent > MAX_FEE_ROWS:
            self.errors["fee_lines"] = t(
                f"窗口至多录入 {MAX_FEE_ROWS} 行费用明细（收到 {self.rows_sent} 行）；更长的明细请由医院系统上传",
                f"at most {MAX_FEE_ROWS} fee lines at the counter ({self.rows_sent} sent); the hospital uploads a longer bill",
            )
            return []
        lines = []
        for row in self.fee_rows():
            i = int(row["row"])
            if not any(row[c] for c in FEE_COLUMNS if c != "lv"):
                continue
            if not row["code"]:
                self.errors[fee_field(i, "code")] = t("请填写目录编码", "Enter the list code")
            if row["lv"] not in CHRGITM_LV:
                self.errors[fee_field(i, "lv")] = t("请选择甲/乙/丙类", "Choose class A/B/C")
            amount = self._fen(fee_field(i, "amt"), t, required=True)
            if amount is not None and row["code"] and row["lv"] in CHRGITM_LV:
                lines.append(
                    {
                        "feedetl_sn": f"W{i + 1}",
                        "med_list_codg": row["code"],
                        "med_list_name": row["name"],
                        "chrgitm_lv": row["lv"],
                        "det_item_fee_sumamt": amount,
                    }
                )
        if any(k.startswith("fl") for k in self.errors):
            self.errors.setdefault("fee_lines", t("费用明细有误，见各行", "Some fee lines are wrong (see the rows)"))
        return lines
