"""门诊统筹人头定额 statements as an Excel workbook (openpyxl): the month's sheet — a header block, the institutions'
table with its totals row, what the township owes each clinic and by when — and the year-end sheet.

Amounts are exact yuan numbers (from fen) formatted ``#,##0.00``; headers in Chinese by default, English on request.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from yibao.app.capitation import Statement, YearEndOf
from yibao.core.clock import beijing_text, time_header
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_percent
from yibao.core.xlsx import AMOUNT, BOLD, COUNT, header, put, sheet_title, widths, yuan
from yibao.rules.capitation import InstitutionMonth

INSTITUTION_HEADS: tuple[tuple[str, str], ...] = (
    ("定点机构编号", "institution code"),
    ("机构名称", "institution"),
    ("类别", "kind"),
    ("就诊人次", "visits"),
    ("医疗费用总额", "medfee_sumamt"),
    ("政策范围内费用", "inscp_scp_amt"),
    ("统筹基金支付", "hifp_pay"),
    ("按人头支付", "paid by head"),
    ("按项目支付", "paid item by item"),
    ("个人负担", "person's share"),
)
INSTITUTION_FORMATS = (None, None, None, COUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT)


def kind_text(hospital: bool, lang: str) -> str:
    return _t(lang, "镇卫生院", "township hospital") if hospital else _t(lang, "村卫生室", "village clinic")


def counted_text(counted: str, lang: str) -> str:
    if counted == "signed":
        return _t(lang, "签约家庭医生的参保居民", "enrolled residents signed with its family doctors")
    return _t(lang, "居住在本乡镇的参保居民", "enrolled residents living in the township")


def _block(ws: Worksheet, row: int, pairs: list[tuple[str, Any, str | None]]) -> int:
    """Label/value rows from ``row``; the next free row."""
    for label, value, fmt in pairs:
        put(ws, row, [label, value], [None, fmt])
        ws.cell(row, 1).font = BOLD
        row += 1
    return row


def _inst_values(r: InstitutionMonth, code: str, name: str, kind: str) -> list[Any]:
    money = [yuan(v) for v in (r.medfee_sumamt, r.inscp_scp_amt, r.hifp_pay, r.captn_pay, r.item_pay, r.psn_part_amt)]
    return [code, name, kind, r.visits, *money]


def month_sheet(ws: Worksheet, done: Statement, lang: str) -> None:
    m = done.statement
    put(ws, 1, [_t(lang, f"{m.township} {m.year} 年 {m.month} 月门诊统筹人头定额结算单",
                   f"{m.township}: outpatient capitation statement, {m.year}-{m.month:02d}")], bold=True)  # fmt: skip
    row = _block(ws, 3, [
        (_t(lang, "乡镇", "township"), m.township, None),
        (_t(lang, "结算月份", "month"), f"{m.year}-{m.month:02d}", None),
        (_t(lang, "政策包", "policy pack"), done.pack_id, None),
        (_t(lang, "计算人头", "persons counted"), counted_text(done.block.counted, lang), None),
        (_t(lang, "人头数", "persons"), m.persons, COUNT),
        (_t(lang, "人头定额标准（元/人·年）", "standard (yuan per person-year)"), yuan(m.standard_fen), AMOUNT),
        (_t(lang, "年度人头总额", "year's per-head amount"), yuan(m.year_amount), AMOUNT),
        (_t(lang, "预拨比例", "prepaid share"), fmt_percent(m.prepay_share), None),
        (_t(lang, "年度预拨总额", "year's prepayment"), yuan(m.year_prepayment), AMOUNT),
        (_t(lang, "本月预拨", "prepaid this month"), yuan(m.prepayment), AMOUNT),
        (_t(lang, "本月按人头支付", "paid by head this month"), yuan(m.total.captn_pay), AMOUNT),
        (_t(lang, "本月结余（预拨 − 按人头支付）", "balance (prepaid − paid by head)"), yuan(m.balance), AMOUNT),
    ])  # fmt: skip
    row += 1
    header(ws, row, [_t(lang, zh, en) for zh, en in INSTITUTION_HEADS])
    for r in m.institutions:
        row += 1
        put(ws, row, _inst_values(r, r.fixmedins_code, r.fixmedins_name, kind_text(r.hospital, lang)), INSTITUTION_FORMATS)
    row += 1
    put(ws, row, _inst_values(m.total, _t(lang, "合计", "total"), "", ""), INSTITUTION_FORMATS, bold=True)
    row += 2
    owed_title = _t(lang, "应拨付村卫生室", "owed to the village clinics")
    rule = (
        _t(lang, "（按加权份额分配本月预拨）", " (weighted shares of the month's prepayment)")
        if m.weighted
        else _t(lang, "（村卫生室本月按人头支付额）", " (each clinic's by-head payments of the month)")
    )
    put(ws, row, [owed_title + rule], bold=True)
    row += 1
    header(ws, row, [_t(lang, "定点机构编号", "institution code"), _t(lang, "机构名称", "institution"),
                     _t(lang, "应拨付金额", "amount owed"), _t(lang, "拨付截止日（含当日）", "due on or before")])  # fmt: skip
    for o in m.owed:
        row += 1
        put(ws, row, [o.fixmedins_code, o.fixmedins_name, yuan(o.amount), o.due.isoformat()], [None, None, AMOUNT])
    row += 1
    put(ws, row, [_t(lang, "合计", "total"), "", yuan(m.owed_total), m.due.isoformat()], [None, None, AMOUNT], bold=True)
    widths(ws, [26, 28, 16, 14, 16, 16, 16, 16, 16, 16])


def year_sheet(ws: Worksheet, done: YearEndOf, lang: str) -> None:
    y, sc = done.year_end, done.score
    put(ws, 1, [_t(lang, f"{y.township} {y.year} 年度门诊统筹人头定额年终结算",
                   f"{y.township}: outpatient capitation year-end settlement {y.year}")], bold=True)  # fmt: skip
    score = y.score if y.score is not None else _t(lang, "未录入", "not recorded")
    pairs: list[tuple[str, Any, str | None]] = [
        (_t(lang, "乡镇", "township"), y.township, None),
        (_t(lang, "年度", "year"), y.year, None),
        (_t(lang, "政策包", "policy pack"), done.pack_id, None),
        (_t(lang, "人头数", "persons"), y.persons, COUNT),
        (_t(lang, "人头定额标准（元/人·年）", "standard (yuan per person-year)"), yuan(y.standard_fen), AMOUNT),
        (_t(lang, "年度人头总额", "year's per-head amount"), yuan(y.year_amount), AMOUNT),
        (_t(lang, "已预拨（12 个月）", "prepaid (12 months)"), yuan(y.prepaid), AMOUNT),
        (_t(lang, "预留考核金", "withheld"), yuan(y.withheld), AMOUNT),
        (_t(lang, "考核得分", "score"), score, None),
        (_t(lang, "返还比例", "release"), fmt_percent(y.release_bp), None),
        (_t(lang, "返还考核金", "released"), yuan(y.released), AMOUNT),
        (_t(lang, "扣留考核金", "not released"), yuan(y.not_released), AMOUNT),
        (_t(lang, "按人头拨付合计", "paid by head to the township"), yuan(y.paid), AMOUNT),
        (_t(lang, "实际按人头支付", "by-head payments made"), yuan(y.captn_made), AMOUNT),
        (_t(lang, "结余留用（负数为超支）", "surplus kept (negative: deficit)"), yuan(y.surplus), AMOUNT),
        (_t(lang, "按项目据实结算支付", "paid item by item"), yuan(y.item_pay), AMOUNT),
    ]
    if sc is not None:
        pairs += [
            (_t(lang, "考核备注", "score note"), sc.note, None),
            (_t(lang, "录入人", "recorded by"), sc.recorded_by, None),
            (time_header("录入时间", "recorded at", lang), beijing_text(sc.recorded_at), None),
        ]
    _block(ws, 3, pairs)
    widths(ws, [34, 24])


def workbook_bytes(month: Statement | None, year: YearEndOf | None, lang: str = "zh") -> bytes:
    """The month's sheet and/or the year-end sheet as an .xlsx file."""
    wb = Workbook()
    first = True
    for part, title_zh, title_en in ((month, "月度结算单", "month"), (year, "年终结算", "year-end")):
        if part is None:
            continue
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = sheet_title(_t(lang, title_zh, title_en))
        if isinstance(part, Statement):
            month_sheet(ws, part, lang)
        else:
            year_sheet(ws, part, lang)
        first = False
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
