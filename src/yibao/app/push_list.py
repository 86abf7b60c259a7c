"""The push list as a workbook a township can work in, and its confirmations read back.

One sheet per township: a title naming the period and the bureaus, one row per warning with
the person, village, household, identity, the amounts, the settlements, the identity a confirmation recorded
(with its bureau and first day), then the columns the
township fills in — 核实结果 (是/否 from a drop-down), 核实人, 核实日期, 备注. Reading it back
moves each confirmed warning from pushed to at risk / not at risk, all rows or none. A list downloaded with any
filter comes back whole: a row whose warning is not (or no longer) pushed — new, already confirmed, assisted,
closed — is ignored and counted (``ignored``), never a reason to refuse the file.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from yibao.app.warnings import get_warning, held_en, held_zh, step
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.idcard import mask
from yibao.core.vocab import SOURCES, bureau_label, label
from yibao.core.xlsx import AMOUNT, cell, header, put, save, sheet_title, widths, yuan
from yibao.interfaces.workbooks.sheets import RowCount, SheetLimits, SheetRefused, check_declared
from yibao.policy.categories import identity_label
from yibao.policy.pack import PolicyPack
from yibao.rules.warning_workflow import status_label
from yibao.store.monitoring_tables import WarningCase
from yibao.store.tables import Identity, Person

COLUMNS = (
    ("no", "序号", "No.", 6),
    ("id", "预警编号", "Warning no.", 10),
    ("village", "村（社区）", "Village", 14),
    ("hh_no", "户编号", "Household", 12),
    ("name", "姓名", "Name", 10),
    ("certno", "身份证号码", "ID number", 21),
    ("identity", "身份类别", "Identity", 14),
    ("measure", "监测金额（元）", "Measured (yuan)", 14),
    ("threshold", "预警线（元）", "Line (yuan)", 12),
    ("excess", "超出（元）", "Over by (yuan)", 12),
    ("medfee", "医疗总费用（元）", "Total cost (yuan)", 14),
    ("self_pay", "个人负担（元）", "Self-pay (yuan)", 13),
    ("household", "户内本年个人负担（元）", "Household self-pay (yuan)", 14),
    ("setl", "涉及结算", "Settlements", 24),
    ("status", "当前状态", "Status", 12),
    ("recorded", "认定后登记身份", "Identity recorded on confirmation", 12),
    ("recorded_source", "身份来源及日期", "Its source and date", 24),
    ("confirm", "核实结果（是否存在返贫致贫风险：是/否）", "At risk? (yes/no)", 16),
    ("by", "核实人", "Checked by", 10),
    ("on", "核实日期", "Checked on", 12),
    ("note", "备注", "Note", 24),
)
CONFIRM_COL = 1 + [c[0] for c in COLUMNS].index("confirm")
HEADER_ROW = 3
YES, NO = ("是", "yes", "y", "1"), ("否", "no", "n", "0")


def write_push_list(
    rows: list[tuple[WarningCase, Person]], path: Path | IO[bytes], *, period_label: str, lang: str = "zh",
    full_certno: bool = True, recorded: Mapping[int, Identity] | None = None,
) -> None:  # fmt: skip
    """One sheet per township (sorted); ``full_certno`` False masks ID numbers; ``recorded``: the identity each
    warning's confirmation recorded (:func:`yibao.app.warnings.recorded_identities`), shown with its source and date."""
    wb = Workbook()
    wb.remove(wb.active)
    by_town: dict[str, list[tuple[WarningCase, Person]]] = defaultdict(list)
    for w, p in rows:
        by_town[p.township or _t(lang, "未填乡镇", "no township")].append((w, p))
    if not by_town:
        by_town[_t(lang, "无预警", "none")] = []
    for town in sorted(by_town):
        _town_sheet(wb, town, by_town[town], period_label, lang, full_certno, recorded or {})
    if isinstance(path, Path | str):
        save(wb, Path(path))
    else:
        wb.save(path)


def _town_sheet(
    wb: Workbook,
    town: str,
    rows: list[tuple[WarningCase, Person]],
    period_label: str,
    lang: str,
    full_certno: bool,
    recorded: Mapping[int, Identity],
) -> None:
    ws = wb.create_sheet(sheet_title(town, set(wb.sheetnames)))
    bureaus = sorted({b for w, _ in rows for b in (w.bureau or "").split(",") if b})
    title = _t(lang, f"{town} 高额医疗费用负担预警推送清单（{period_label}）", f"{town}: high-cost warnings ({period_label})")
    cell(ws, 1, 1, title).font = Font(bold=True, size=14)
    pushed_to = ",".join(bureaus)
    sub = _t(
        lang,
        f"推送部门：{bureau_label(pushed_to, 'zh') or '—'}。请核实后在“核实结果”列填写“是”或“否”及核实人、核实日期，交回医保局。",
        f"Pushed to: {bureau_label(pushed_to, 'en') or '—'}. Fill in yes (at risk) or no, who checked and when.",
    )
    cell(ws, 2, 1, sub).alignment = Alignment(wrap_text=False)
    header(ws, HEADER_ROW, [_t(lang, zh, en) for _, zh, en, _ in COLUMNS])
    yes, no = _t(lang, "是", "yes"), _t(lang, "否", "no")
    yes_no = DataValidation(type="list", formula1=f'"{yes},{no}"', allow_blank=True)
    ws.add_data_validation(yes_no)
    for i, (w, p) in enumerate(sorted(rows, key=lambda r: (r[1].village or "", r[1].hh_no or "", r[0].id)), start=1):
        r = HEADER_ROW + i
        values: list[Any] = [
            i, w.id, p.village, p.hh_no, p.psn_name, p.certno if full_certno else mask(p.certno),
            identity_label(w.identity, lang), yuan(w.measure_amt), yuan(w.threshold_amt), yuan(w.excess_amt),
            yuan(w.medfee_sumamt), yuan(w.psn_part_amt), yuan(w.hh_self_pay) if w.hh_self_pay is not None else None,
            _t(lang, "、", ", ").join(json.loads(w.setl_ids)), status_label(w.status, lang), *_recorded(recorded.get(w.id), lang),
            {True: yes, False: no}.get(w.at_risk, "") if w.at_risk is not None else "", None, None, None,
        ]  # fmt: skip
        put(ws, r, values, [None] * 7 + [AMOUNT] * 6)
        yes_no.add(ws.cell(row=r, column=CONFIRM_COL))
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    widths(ws, [c[3] for c in COLUMNS])
    ws.print_options.horizontalCentered = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"


def _recorded(i: Identity | None, lang: str) -> tuple[str, str]:
    """The identity a confirmation recorded and where it is recorded from (its bureau and first day), or blanks."""
    if i is None:
        return "", ""
    source = label(SOURCES, i.source_bureau, lang) if i.source_bureau else "—"
    return identity_label(i.category, lang), _t(lang, f"{source}，{held_zh(i)}", f"{source}, {held_en(i)}")


@dataclass
class ImportResult:
    confirmed_at_risk: int = 0
    confirmed_not_at_risk: int = 0
    unchanged: int = 0
    blank: int = 0
    ignored: int = 0
    """Answered rows whose warning is not pushed (new, confirmed already otherwise, assisted, closed): left as they are."""
    errors: list[InputError] = field(default_factory=list)


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime | date):
        return v.strftime("%Y-%m-%d")
    return str(v).strip()


def read_confirmations(
    s: Session, source: Path | IO[bytes], file_name: str, user: str, limits: SheetLimits | None = None,
    pack: PolicyPack | None = None,
) -> ImportResult:  # fmt: skip
    """Apply the filled-in confirmations (in the caller's transaction); any bad row refuses them all.

    ``limits`` (an upload): a sheet declaring or holding more rows or cells is refused before it is read.
    ``pack``: a confirmation of the risk records the identity the warning's rule names from the row's
    核实日期 (today when blank), see :func:`yibao.app.warnings.step`."""
    out = ImportResult()
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
        raise InputError(file_name, "file", file_name, f"an .xlsx push list exported by yibao ({type(exc).__name__})") from None
    try:
        steps = _confirmed_rows(wb, file_name, out, limits)
    except SheetRefused as exc:
        c = exc.problems[0]  # too many rows or cells: said in both languages by the sheet reader
        raise InputError(file_name, "file", file_name, c.reason, "", c.reason_en) from None
    except (KeyError, ValueError, TypeError, IndexError, OSError, SyntaxError) as exc:  # a part of the archive unreadable
        raise InputError(file_name, "file", file_name, f"an .xlsx push list exported by yibao ({type(exc).__name__})") from None
    finally:
        wb.close()
    for wid, to, where, note, day in steps:
        try:
            w = get_warning(s, wid)
        except InputError:
            out.errors.append(InputError(where, "预警编号", wid, "a known warning number"))
            continue
        if w.status == to:
            out.unchanged += 1
            continue
        if w.status != "pushed":
            out.ignored += 1
            continue
        step(s, wid, to, user, note=note or None, source=file_name, pack=pack, on=day)
        if to == "at_risk":
            out.confirmed_at_risk += 1
        else:
            out.confirmed_not_at_risk += 1
    if out.errors:
        raise InputErrors(out.errors)
    return out


Confirmation = tuple[int, str, str, str, date | None]
"""(warning number, the status it moves to, where, note, the day it was confirmed if written)."""


def _confirmed_rows(wb: Any, file_name: str, out: ImportResult, limits: SheetLimits | None) -> list[Confirmation]:
    """The confirmation of every filled-in row, sheet by sheet, row by row."""
    heads = {zh: i for i, (_, zh, _, _) in enumerate(COLUMNS)} | {en: i for i, (_, _, en, _) in enumerate(COLUMNS)}
    steps: list[Confirmation] = []
    for ws in wb.worksheets:
        check_declared(file_name, ws, limits)
        count = RowCount(file_name, ws.title, limits)
        cols: dict[int, int] = {}
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            count.row(n, len(row))
            if n < HEADER_ROW:
                continue
            if n == HEADER_ROW:
                cols = {heads[_cell_text(h)]: j for j, h in enumerate(row) if _cell_text(h) in heads}
                need = [COLUMNS[k][1] for k in (1, CONFIRM_COL - 1) if k not in cols]
                if need:
                    out.errors.append(
                        InputError(f"{file_name} / {ws.title}", "header", need, "the push list's header row (第 3 行)")
                    )
                    break
                continue
            parsed = _confirmation(_row_values(row, cols), f"{file_name} / {ws.title} 第 {n} 行", out)
            if parsed is not None:
                steps.append(parsed)
    return steps


def _row_values(row: tuple[Any, ...], cols: dict[int, int]) -> dict[int, str]:
    return {k: _cell_text(row[j]) if j < len(row) else "" for k, j in cols.items()}


def _confirmation(got: dict[int, str], where: str, out: ImportResult) -> Confirmation | None:
    """The confirmation of a filled-in row; None when blank or wrong."""
    wid, answer = got.get(1, ""), got.get(CONFIRM_COL - 1, "")
    if not wid and not answer:
        return None
    if not answer:
        out.blank += 1
        return None
    if not wid.isdigit():
        out.errors.append(InputError(where, "预警编号", wid, "the warning number printed in the list"))
        return None
    lowered = answer.lower()
    if lowered not in YES and lowered not in NO:
        out.errors.append(InputError(where, "核实结果", answer, "是 or 否"))
        return None
    who, when, remark = got.get(CONFIRM_COL, ""), got.get(CONFIRM_COL + 1, ""), got.get(CONFIRM_COL + 2, "")
    day = None
    if when:
        try:
            day = date.fromisoformat(when)
        except ValueError:
            out.errors.append(InputError(where, "核实日期", when, "a date YYYY-MM-DD"))
            return None
    note = "；".join(x for x in (f"核实人：{who}" if who else "", f"核实日期：{when}" if when else "", remark) if x)
    return int(wid), "at_risk" if lowered in YES else "not_at_risk", where, note, day
