"""A clerk's day at the counter as a workbook: every ledger entry they recorded on one Beijing day (settlements,
reversals, applications for assistance), who was settled, the diagnosis, every payer, and the day's totals per fund.

A reversal's amounts are negative (as the ledger keeps them), so a total is what the day's work moved. Times are
Beijing time (``yibao.core.clock``); the day is the Beijing day, whatever the bill's own date.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session, aliased

from yibao.core import vocab
from yibao.core.clock import beijing_day_utc, beijing_naive, time_header
from yibao.core.i18n import t
from yibao.core.idcard import mask
from yibao.core.xlsx import AMOUNT, COUNT, header, put, widths, yuan
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Person

FUNDS = ("medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay")
"""The amounts of each row and of the totals: the bill, each fund, the patient's part and the personal account's."""
HEADER_ROW = 3


@dataclass(frozen=True)
class DayRow:
    entry: LedgerEntry
    psn_name: str
    certno: str
    reversed_by: str | None
    """The reversal that undid this settlement (recorded on any day), if one did."""


def day_rows(s: Session, username: str, day: date) -> list[DayRow]:
    """The entries ``username`` recorded on the Beijing day ``day``, in the order recorded."""
    start, end = beijing_day_utc(day)
    undoing = aliased(LedgerEntry)
    q = (
        sa.select(LedgerEntry, Person.psn_name, Person.certno, undoing.setl_id)
        .join(Person, Person.id == LedgerEntry.person_id)
        .outerjoin(undoing, undoing.reverses == LedgerEntry.setl_id)
        .where(LedgerEntry.recorded_by == username, LedgerEntry.recorded_at >= start, LedgerEntry.recorded_at < end)
        .order_by(LedgerEntry.id)
    )
    return [DayRow(e, name, certno, by) for e, name, certno, by in s.execute(q)]


def totals(rows: list[DayRow]) -> dict[str, int]:
    """Each of :data:`FUNDS` over the rows (reversals negative: the day's net)."""
    return {f: sum(getattr(r.entry, f) for r in rows) for f in FUNDS}


def day_workbook(rows: list[DayRow], username: str, day: date, lang: str = "zh", *, made_at: datetime) -> bytes:
    """The day's workbook: a title, one row per entry, then the totals per fund (amounts in yuan, exact)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t(lang, "结算日报", "Day")
    title = t(
        lang, f"{username} 经办结算日报 {day.isoformat()}（北京时间）", f"Settlements by {username} on {day} (Beijing time)"
    )
    put(ws, 1, [title], bold=True)
    put(ws, 2, [time_header("制表时间", "Made at", lang), beijing_naive(made_at)], [None, "yyyy-mm-dd hh:mm"])
    columns = [
        vocab.field_label("setl_id", lang), t(lang, "类型", "Kind"), t(lang, "冲正关联", "Reversal of / by"),
        time_header("记录时间", "Recorded", lang), vocab.field_label("setl_date", lang), vocab.field_label("psn_name", lang),
        t(lang, "身份证号", "ID number"), vocab.field_label("med_type", lang), vocab.field_label("dise_codg", lang),
        vocab.field_label("dise_name", lang), *(vocab.field_label(f, lang) for f in FUNDS),
    ]  # fmt: skip
    header(ws, HEADER_ROW, columns)
    money = [AMOUNT] * len(FUNDS)
    fixed = len(columns) - len(FUNDS)
    r = HEADER_ROW
    for row in rows:
        e = row.entry
        r += 1
        kind = "reversed" if row.reversed_by else e.kind
        put(
            ws, r,
            [e.setl_id, vocab.label(vocab.LEDGER_MARKS, kind, lang), e.reverses or row.reversed_by or "",
             beijing_naive(e.recorded_at), e.setl_date, row.psn_name, mask(row.certno),
             vocab.label(vocab.MED_TYPES, e.med_type, lang), e.dise_codg or "", e.dise_name or "",
             *(yuan(getattr(e, f)) for f in FUNDS)],
            [None, None, None, "yyyy-mm-dd hh:mm", "yyyy-mm-dd", *[None] * (fixed - 5), *money],
        )  # fmt: skip
    r += 1
    sums = totals(rows)
    put(ws, r, [t(lang, "合计", "Total"), len(rows), *[""] * (fixed - 2), *(yuan(sums[f]) for f in FUNDS)],
        [None, COUNT, *[None] * (fixed - 2), *money], bold=True)  # fmt: skip
    widths(ws, [24, 10, 24, 17, 12, 10, 21, 14, 10, 16, *[14] * len(FUNDS)])
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
