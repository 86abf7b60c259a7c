"""Workbooks for the bureau and the townships (openpyxl).

- :func:`write_coverage_workbook`: 参保率 (overall, the low-income and 脱贫 target group, each
  category, exempt people by special status), 资助预算 (premiums by category and payer) and
  重复参保 (duplicate enrolments).
- :func:`write_gap_workbook`: 应保未保清单, one row per person sorted by township, village and
  household, masked ID numbers, a blank column for the township's follow-up, and a summary by
  township and village.

Amounts are written as exact yuan numbers formatted ``#,##0.00``; rates as fractions formatted
``0.00%``. A workbook is written to a temporary file and renamed, so a failure leaves nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from yibao.app.coverage import DUPLICATE_LABELS, Budget, Coverage, Duplicate, GapList
from yibao.app.enrolment import special_status_label
from yibao.core.i18n import t as _t
from yibao.core.vocab import GENDERS, INSU_STATUSES, INSUTYPES, Labels, group_label, identity_label, label
from yibao.core.xlsx import AMOUNT, COUNT, PERCENT, yuan
from yibao.core.xlsx import BOLD as _BOLD
from yibao.core.xlsx import header as _header
from yibao.core.xlsx import put as _put
from yibao.core.xlsx import rate as _rate
from yibao.core.xlsx import save as _save
from yibao.core.xlsx import widths as _widths
from yibao.policy.coverage import TARGET_CATEGORIES, CoverageRow


def _pair(table: Labels, key: str | None, lang: str) -> str:
    return "" if key is None else label(table, key, lang)


def category_label(code: str, lang: str = "zh") -> str:
    """A coverage row: everyone, the low-income target group, or an identity category."""
    return group_label(code, lang)


# ---------------------------------------------------------------------------------------------
# Coverage report
# ---------------------------------------------------------------------------------------------


def _coverage_sheet(ws: Worksheet, cov: Coverage, lang: str) -> None:
    heads = [
        _t(lang, "人员类别", "category"),
        _t(lang, "人数", "persons"),
        _t(lang, "参保人数", "enrolled"),
        _t(lang, "视同参保/免缴人数", "exempt (special status)"),
        _t(lang, "应保未保人数", "gap"),
        _t(lang, "参保率", "enrolment rate"),
        _t(lang, "参保率（含视同参保）", "coverage incl. exempt"),
    ]
    _header(ws, 1, heads)
    fmts = [None, COUNT, COUNT, COUNT, COUNT, PERCENT, PERCENT]

    def row(r: int, item: CoverageRow, bold: bool = False) -> None:
        _put(
            ws,
            r,
            [
                category_label(item.category, lang),
                item.persons,
                item.enrolled,
                item.exempt,
                item.gap,
                _rate(item.enrolled_rate_bp),
                _rate(item.covered_rate_bp),
            ],
            fmts,
        )
        if bold:
            for col in range(1, len(heads) + 1):
                ws.cell(row=r, column=col).font = _BOLD

    row(2, cov.overall, bold=True)
    row(3, cov.low_income, bold=True)
    r = 4
    for item in cov.by_category:
        row(r, item)
        r += 1
    r += 1
    ws.cell(row=r, column=1, value=_t(lang, "视同参保/免缴（按特殊状态）", "exempt by special status")).font = _BOLD
    for status, n in cov.exempt_by_status.items():
        r += 1
        _put(ws, r, [special_status_label(status, lang), n], [None, COUNT])
    r += 2
    notes = [
        _t(
            lang,
            f"{cov.year}年度；人员类别按 {cov.as_of.isoformat()} 所持身份（多重身份取最高一项）。",
            f"Year {cov.year}; categories as held on {cov.as_of.isoformat()} (highest-ranking one).",
        ),
        _t(
            lang,
            "参保：参保状态为正常（1）；视同参保/免缴：死亡、服兵役、服刑、省外参保等已登记台账且未在本地参保。",
            "Enrolled: psn_insu_stas 1; exempt: a recorded special status (deceased, military, prison, other province).",
        ),
        _t(
            lang,
            "目标（种子 001，海南 2023）：基本医保参保率 96% 以上，农村低收入人口和脱贫人口 100%。",
            "Targets (seed 001, Hainan 2023): 96% or more overall; 100% of rural low-income and formerly poor people.",
        ),
    ]
    for note in notes:
        ws.cell(row=r, column=1, value=note)
        r += 1
    ws.freeze_panes = "B2"
    _widths(ws, [30, 12, 12, 18, 14, 12, 20])


def _budget_sheet(ws: Worksheet, budget: Budget, lang: str) -> None:
    heads = [
        _t(lang, "资助类别", "category"),
        _t(lang, "人数", "persons"),
        _t(lang, "个人缴费（元）", "individual (yuan)"),
        _t(lang, "医疗救助资助（元）", "assistance fund (yuan)"),
        _t(lang, "财政补助（元）", "fiscal subsidy (yuan)"),
        _t(lang, "筹资合计（元）", "premiums (yuan)"),
    ]
    _header(ws, 1, heads)
    fmts = [None, COUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT]
    r = 2
    for item in (*budget.rows, budget.total):
        _put(
            ws,
            r,
            [
                category_label(item.category, lang) if item.category != "all" else _t(lang, "合计", "total"),
                item.persons,
                yuan(item.individual),
                yuan(item.assistance),
                yuan(item.fiscal),
                yuan(item.total),
            ],
            fmts,
        )
        r += 1
    for col in range(1, len(heads) + 1):
        ws.cell(row=r - 1, column=col).font = _BOLD
    r += 1
    basis = _t(
        lang,
        "已参保居民" if budget.basis == "enrolled" else "应参保居民（应保尽保：全部居民，除职工参保和视同参保）",
        "residents enrolled" if budget.basis == "enrolled" else "residents who should enrol (all but employees and exempt)",
    )
    for note in (
        _t(
            lang,
            f"{budget.year}年度；政策包 {budget.pack_id}；口径：{basis}。",
            f"Year {budget.year}; pack {budget.pack_id}; basis: {basis}.",
        ),
        _t(
            lang,
            f"资助类别按截止日 {budget.cutoff.isoformat()} 所持身份确定（当年缴费，次年享受）。",
            f"Subsidy category by the identity held on the cut-off day {budget.cutoff.isoformat()}.",
        ),
    ):
        ws.cell(row=r, column=1, value=note)
        r += 1
    ws.freeze_panes = "B2"
    _widths(ws, [26, 12, 18, 20, 18, 18])


def _duplicates_sheet(ws: Worksheet, duplicates: Sequence[Duplicate], lang: str) -> None:
    heads = [
        _t(lang, "重复类型", "kind"),
        _t(lang, "乡镇（街道）", "township"),
        _t(lang, "村（社区）", "village"),
        _t(lang, "人员编号", "psn_no"),
        _t(lang, "姓名", "name"),
        _t(lang, "身份证号", "ID number"),
        _t(lang, "参保险种", "schemes"),
        _t(lang, "参保记录编号", "enrolment ids"),
    ]
    _header(ws, 1, heads)
    for r, d in enumerate(duplicates, start=2):
        _put(
            ws,
            r,
            [
                _pair(DUPLICATE_LABELS, d.kind, lang),
                d.township,
                d.village,
                d.psn_no,
                d.psn_name,
                d.certno_masked,
                _t(lang, "、", ", ").join(_pair(INSUTYPES, i, lang) for i in d.insutypes),
                ", ".join(str(i) for i in d.enrolment_ids),
            ],
        )
    if not duplicates:
        ws.cell(row=2, column=1, value=_t(lang, "未发现重复参保。", "No duplicate enrolment found."))
    ws.freeze_panes = "A2"
    _widths(ws, [26, 16, 14, 14, 10, 22, 28, 18])


def write_coverage_workbook(
    path: Path, cov: Coverage, budget: Budget | None, duplicates: Sequence[Duplicate], lang: str = "zh"
) -> None:
    """The coverage report: 参保率, 资助预算 (when a pack priced it) and 重复参保."""
    wb = Workbook()
    ws = wb.active
    ws.title = _t(lang, "参保率", "coverage")
    _coverage_sheet(ws, cov, lang)
    if budget is not None:
        _budget_sheet(wb.create_sheet(_t(lang, "资助预算", "subsidy budget")), budget, lang)
    _duplicates_sheet(wb.create_sheet(_t(lang, "重复参保", "duplicates")), duplicates, lang)
    _save(wb, path)


# ---------------------------------------------------------------------------------------------
# Gap list
# ---------------------------------------------------------------------------------------------


def gap_headers(with_amounts: bool, lang: str = "zh") -> list[str]:
    heads = [
        _t(lang, "序号", "no."),
        _t(lang, "乡镇（街道）", "township"),
        _t(lang, "村（社区）", "village"),
        _t(lang, "户号", "household"),
        _t(lang, "姓名", "name"),
        _t(lang, "性别", "sex"),
        _t(lang, "出生日期", "born"),
        _t(lang, "身份证号", "ID number"),
        _t(lang, "身份类别", "category"),
        _t(lang, "参保状态", "status"),
    ]
    if with_amounts:
        heads += [
            _t(lang, "资助类别", "subsidy category"),
            _t(lang, "个人应缴（元）", "person pays (yuan)"),
            _t(lang, "医疗救助资助（元）", "assistance pays (yuan)"),
        ]
    return [*heads, _t(lang, "跟进情况", "follow-up"), _t(lang, "备注", "notes")]


def write_gap_workbook(path: Path, gaps: GapList, lang: str = "zh") -> None:
    """应保未保清单 for the townships: one row per person, grouped by township and village."""
    wb = Workbook()
    ws = wb.active
    ws.title = _t(lang, "应保未保清单", "gap list")
    with_amounts = gaps.pack_id is not None
    heads = gap_headers(with_amounts, lang)
    _header(ws, 1, heads)
    fmts: list[str | None] = [COUNT, None, None, None, None, None, "yyyy-mm-dd", "@", None, None]
    if with_amounts:
        fmts += [None, AMOUNT, AMOUNT]
    for r, e in enumerate(gaps.entries, start=2):
        values: list[Any] = [
            r - 1,
            e.township,
            e.village,
            e.hh_no,
            e.psn_name,
            _pair(GENDERS, e.gend, lang),
            e.brdy,
            e.certno_masked,
            identity_label(e.category, lang),
            _pair(INSU_STATUSES, e.psn_insu_stas, lang) if e.psn_insu_stas else _t(lang, "无参保登记", "no enrolment"),
        ]
        if with_amounts:
            values += [
                identity_label(e.subsidy_category, lang) if e.subsidy_category else "",
                yuan(e.individual) if e.individual is not None else None,
                yuan(e.assistance) if e.assistance is not None else None,
            ]
        _put(ws, r, values, fmts)
    ws.freeze_panes = "A2"
    last = get_column_letter(len(heads))
    ws.auto_filter.ref = f"A1:{last}{max(1, len(gaps.entries)) + 1}"
    widths = [7, 16, 14, 14, 10, 6, 12, 22, 18, 14]
    if with_amounts:
        widths += [18, 16, 18]
    _widths(ws, [*widths, 24, 16])
    ws.print_title_rows = "1:1"
    ws.oddHeader.center.text = _t(lang, f"{gaps.year}年度 应保未保清单", f"{gaps.year} gap list")
    ws.page_setup.orientation = "landscape"

    summary = wb.create_sheet(_t(lang, "按乡镇汇总", "by township"))
    _header(summary, 1, [_t(lang, "乡镇（街道）", "township"), _t(lang, "村（社区）", "village"), _t(lang, "人数", "persons")])
    per_village = Counter((e.township or "", e.village or "") for e in gaps.entries)
    per_town = Counter(e.township or "" for e in gaps.entries)
    r = 2
    for town in sorted(per_town):
        _put(summary, r, [town, _t(lang, "小计", "subtotal"), per_town[town]], [None, None, COUNT])
        for col in (1, 2, 3):
            summary.cell(row=r, column=col).font = _BOLD
        r += 1
        for (t, village), n in sorted(per_village.items()):
            if t == town:
                _put(summary, r, [town, village, n], [None, None, COUNT])
                r += 1
    _put(summary, r, [_t(lang, "合计", "total"), None, len(gaps.entries)], [None, None, COUNT])
    for col in (1, 2, 3):
        summary.cell(row=r, column=col).font = _BOLD
    summary.freeze_panes = "A2"
    _widths(summary, [18, 16, 10])

    about = wb.create_sheet(_t(lang, "说明", "about"))
    lines = [
        _t(lang, f"年度：{gaps.year}", f"Year: {gaps.year}"),
        _t(
            lang,
            f"名单：{gaps.as_of.isoformat()} 持有农村低收入或脱贫身份（"
            + "、".join(identity_label(c, "zh") for c in TARGET_CATEGORIES)
            + "），本年度既未参保、也未登记视同参保（死亡、服兵役、服刑、省外参保）的人员。",
            f"People holding a low-income or formerly-poor category on {gaps.as_of.isoformat()} who are neither enrolled "
            "nor recorded as exempt (deceased, military service, prison, insured in another province) for the year.",
        ),
        _t(lang, "身份证号已脱敏；请按户号上门核实并在“跟进情况”中登记。", "ID numbers are masked; follow up per household."),
        _t(lang, f"人数：{len(gaps.entries)}", f"Persons: {len(gaps.entries)}"),
    ]
    if gaps.pack_id is not None and gaps.cutoff is not None:
        lines.append(
            _t(
                lang,
                f"金额按政策包 {gaps.pack_id}，资助类别按 {gaps.cutoff.isoformat()} 所持身份确定。",
                f"Amounts from pack {gaps.pack_id}; subsidy category as held on {gaps.cutoff.isoformat()}.",
            )
        )
    for r, text in enumerate(lines, start=1):
        about.cell(row=r, column=1, value=text)
    _widths(about, [120])
    _save(wb, path)


__all__ = ["AMOUNT", "gap_headers", "write_coverage_workbook", "write_gap_workbook", "yuan"]
