"""Workbooks for the bureau and the townships (openpyxl).

- :func:`write_coverage_workbook`: 参保率 (overall, the low-income and 脱贫 target group, each
  category, exempt people by special status), 资助预算 (premiums by category and payer) and
  重复参保 (duplicate enrolments).
- :func:`write_gap_workbook`: 应保未保清单, one row per person sorted by township, village and
  household, masked ID numbers, a blank column for the township's follow-up, and a summary by
  township and village.
- :func:`place_coverage_bytes`, :func:`place_gap_bytes`, :func:`ledger_bytes`: the enrolment page's
  three views of one place (county, township or village): coverage by place with the targets met or
  not, the people not enrolled, and the 视同参保 ledger.

Amounts are written as exact yuan numbers formatted ``#,##0.00``; rates as fractions formatted
``0.00%``. A workbook is written to a temporary file and renamed, so a failure leaves nothing.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from yibao.app.coverage import DUPLICATE_LABELS, Budget, Coverage, Duplicate, GapEntry, GapList
from yibao.app.coverage_places import CoverageByPlace, LedgerEntry, Place
from yibao.app.enrolment import special_status_label
from yibao.core.clock import beijing_text
from yibao.core.i18n import t as _t
from yibao.core.idcard import mask
from yibao.core.vocab import GENDERS, INSU_STATUSES, INSUTYPES, Labels, label
from yibao.core.xlsx import AMOUNT, COUNT, PERCENT, yuan
from yibao.core.xlsx import BOLD as _BOLD
from yibao.core.xlsx import cell as _cell
from yibao.core.xlsx import header as _header
from yibao.core.xlsx import put as _put
from yibao.core.xlsx import rate as _rate
from yibao.core.xlsx import save as _save
from yibao.core.xlsx import widths as _widths
from yibao.policy.categories import group_label, identity_label
from yibao.policy.coverage import TARGET_CATEGORIES, target_met
from yibao.policy.schema import EnrolmentTargets

Column = tuple[str, str, str | None, float]
"""A sheet column: its Chinese and English header, number format and width."""

COVERAGE_COLUMNS: tuple[Column, ...] = (
    ("人员类别", "category", None, 30),
    ("人数", "persons", COUNT, 12),
    ("参保人数", "enrolled", COUNT, 12),
    ("视同参保/免缴人数", "exempt (special status)", COUNT, 18),
    ("应保未保人数", "gap", COUNT, 14),
    ("参保率", "enrolment rate", PERCENT, 12),
    ("参保率（含视同参保）", "coverage incl. exempt", PERCENT, 20),
)
BUDGET_COLUMNS: tuple[Column, ...] = (
    ("资助类别", "category", None, 26),
    ("人数", "persons", COUNT, 12),
    ("个人缴费（元）", "individual (yuan)", AMOUNT, 18),
    ("医疗救助资助（元）", "assistance fund (yuan)", AMOUNT, 20),
    ("财政补助（元）", "fiscal subsidy (yuan)", AMOUNT, 18),
    ("筹资合计（元）", "premiums (yuan)", AMOUNT, 18),
)
DUPLICATE_COLUMNS: tuple[Column, ...] = (
    ("重复类型", "kind", None, 26),
    ("乡镇（街道）", "township", None, 16),
    ("村（社区）", "village", None, 14),
    ("人员编号", "psn_no", None, 14),
    ("姓名", "name", None, 10),
    ("身份证号", "ID number", None, 22),
    ("参保险种", "schemes", None, 28),
    ("参保记录编号", "enrolment ids", None, 18),
)
GAP_COLUMNS: tuple[Column, ...] = (
    ("序号", "no.", COUNT, 7),
    ("乡镇（街道）", "township", None, 16),
    ("村（社区）", "village", None, 14),
    ("户号", "household", None, 14),
    ("姓名", "name", None, 10),
    ("性别", "sex", None, 6),
    ("出生日期", "born", "yyyy-mm-dd", 12),
    ("身份证号", "ID number", "@", 22),
    ("身份类别", "category", None, 18),
    ("参保状态", "status", None, 14),
)
GAP_AMOUNT_COLUMNS: tuple[Column, ...] = (
    ("资助类别", "subsidy category", None, 18),
    ("个人应缴（元）", "person pays (yuan)", AMOUNT, 16),
    ("医疗救助资助（元）", "assistance pays (yuan)", AMOUNT, 18),
)
"""Gap-list columns when a pack prices the premiums."""
GAP_FOLLOW_UP_COLUMNS: tuple[Column, ...] = (("跟进情况", "follow-up", None, 24), ("备注", "notes", None, 16))
"""Blank columns for the township's follow-up."""
GAP_SUMMARY_COLUMNS: tuple[Column, ...] = (
    ("乡镇（街道）", "township", None, 18),
    ("村（社区）", "village", None, 16),
    ("人数", "persons", COUNT, 10),
)


def _pair(table: Labels, key: str | None, lang: str) -> str:
    return "" if key is None else label(table, key, lang)


def category_label(code: str, lang: str = "zh") -> str:
    """A coverage row: everyone, the low-income target group, or an identity category."""
    return group_label(code, lang)


def _columns(ws: Worksheet, columns: Sequence[Column], lang: str) -> list[str | None]:
    """The header row and the column widths; returns the columns' number formats."""
    _header(ws, 1, [_t(lang, zh, en) for zh, en, _, _ in columns])
    _widths(ws, [width for _, _, _, width in columns])
    return [fmt for _, _, fmt, _ in columns]


def _lines(ws: Worksheet, row: int, texts: Sequence[str]) -> int:
    """``texts`` one per row in column A from ``row``; returns the row after the last."""
    for text in texts:
        _cell(ws, row, 1, text)
        row += 1
    return row


# ---------------------------------------------------------------------------------------------
# Coverage report
# ---------------------------------------------------------------------------------------------


def _coverage_sheet(ws: Worksheet, cov: Coverage, lang: str) -> None:
    fmts = _columns(ws, COVERAGE_COLUMNS, lang)
    items = [cov.overall, cov.low_income, *cov.by_category]
    for r, item in enumerate(items, start=2):
        values = [
            category_label(item.category, lang),
            item.persons,
            item.enrolled,
            item.exempt,
            item.gap,
            _rate(item.enrolled_rate_bp),
            _rate(item.covered_rate_bp),
        ]
        _put(ws, r, values, fmts, bold=r < 4)
    r = len(items) + 3
    _cell(ws, r, 1, _t(lang, "视同参保/免缴（按特殊状态）", "exempt by special status")).font = _BOLD
    for status, n in cov.exempt_by_status.items():
        r += 1
        _put(ws, r, [special_status_label(status, lang), n], [None, COUNT])
    _lines(
        ws,
        r + 2,
        [
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
        ],
    )
    ws.freeze_panes = "B2"


def _budget_sheet(ws: Worksheet, budget: Budget, lang: str) -> None:
    fmts = _columns(ws, BUDGET_COLUMNS, lang)
    items = [*budget.rows, budget.total]
    for r, item in enumerate(items, start=2):
        total = item.category == "all"
        values = [
            _t(lang, "合计", "total") if total else category_label(item.category, lang),
            item.persons,
            yuan(item.individual),
            yuan(item.assistance),
            yuan(item.fiscal),
            yuan(item.total),
        ]
        _put(ws, r, values, fmts, bold=total)
    basis = _t(
        lang,
        "已参保居民" if budget.basis == "enrolled" else "应参保居民（应保尽保：全部居民，除职工参保和视同参保）",
        "residents enrolled" if budget.basis == "enrolled" else "residents who should enrol (all but employees and exempt)",
    )
    _lines(
        ws,
        len(items) + 3,
        [
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
        ],
    )
    ws.freeze_panes = "B2"


def _duplicates_sheet(ws: Worksheet, duplicates: Sequence[Duplicate], lang: str) -> None:
    _columns(ws, DUPLICATE_COLUMNS, lang)
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
        _cell(ws, 2, 1, _t(lang, "未发现重复参保。", "No duplicate enrolment found."))
    ws.freeze_panes = "A2"


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


def _gap_columns(with_amounts: bool) -> tuple[Column, ...]:
    return (*GAP_COLUMNS, *(GAP_AMOUNT_COLUMNS if with_amounts else ()), *GAP_FOLLOW_UP_COLUMNS)


def gap_headers(with_amounts: bool, lang: str = "zh") -> list[str]:
    return [_t(lang, zh, en) for zh, en, _, _ in _gap_columns(with_amounts)]


def write_gap_workbook(path: Path, gaps: GapList, lang: str = "zh") -> None:
    """应保未保清单 for the townships: one row per person, grouped by township and village."""
    wb = Workbook()
    ws = wb.active
    ws.title = _t(lang, "应保未保清单", "gap list")
    with_amounts = gaps.pack_id is not None
    columns = _gap_columns(with_amounts)
    fmts = _columns(ws, columns, lang)
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
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(1, len(gaps.entries)) + 1}"
    ws.print_title_rows = "1:1"
    ws.oddHeader.center.text = _t(lang, f"{gaps.year}年度 应保未保清单", f"{gaps.year} gap list")
    ws.page_setup.orientation = "landscape"

    summary = wb.create_sheet(_t(lang, "按乡镇汇总", "by township"))
    fmts = _columns(summary, GAP_SUMMARY_COLUMNS, lang)
    per_village = Counter((e.township or "", e.village or "") for e in gaps.entries)
    per_town = Counter(e.township or "" for e in gaps.entries)
    r = 2
    for town in sorted(per_town):
        _put(summary, r, [town, _t(lang, "小计", "subtotal"), per_town[town]], fmts, bold=True)
        r += 1
        for (t, village), n in sorted(per_village.items()):
            if t == town:
                _put(summary, r, [town, village, n], fmts)
                r += 1
    _put(summary, r, [_t(lang, "合计", "total"), None, len(gaps.entries)], fmts, bold=True)
    summary.freeze_panes = "A2"

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
    _lines(about, 1, lines)
    _widths(about, [120])
    _save(wb, path)


# ---------------------------------------------------------------------------------------------
# The enrolment page's views of one place
# ---------------------------------------------------------------------------------------------

PLACE_COLUMNS: tuple[Column, ...] = (
    ("地区", "place", None, 18),
    ("人数", "persons", COUNT, 10),
    ("参保人数", "enrolled", COUNT, 10),
    ("视同参保人数", "exempt", COUNT, 12),
    ("未参保人数", "not enrolled", COUNT, 12),
    ("参保率（含视同参保）", "coverage incl. exempt", PERCENT, 14),
    ("低收入和脱贫人口", "low-income and formerly poor", COUNT, 14),
    ("其中未参保", "of them not enrolled", COUNT, 12),
    ("低收入和脱贫人口参保率", "their coverage", PERCENT, 16),
)
LEDGER_COLUMNS: tuple[Column, ...] = (
    ("序号", "no.", COUNT, 7),
    ("乡镇（街道）", "township", None, 16),
    ("村（社区）", "village", None, 14),
    ("人员编号", "psn_no", None, 14),
    ("姓名", "name", None, 10),
    ("身份证号", "ID number", "@", 22),
    ("特殊状态", "status", None, 12),
    ("依据", "evidence", None, 36),
    ("本地同时参保", "also enrolled here", None, 12),
    ("登记人", "recorded by", None, 12),
    ("登记时间（北京时间）", "recorded (Beijing time)", None, 20),
)


def place_name(place: Place, lang: str) -> str:
    """``临翔区`` style names of a view's place: the county, a township, or township / village."""
    if place.township is None:
        return _t(lang, "全县", "the county")
    town = place.township or _t(lang, "未登记乡镇", "no township")
    if place.village is None:
        return town
    return f"{town} / {place.village or _t(lang, '未登记村', 'no village')}"


def _bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _about(wb: Workbook, lines: Sequence[str], lang: str) -> None:
    about = wb.create_sheet(_t(lang, "说明", "about"))
    _lines(about, 1, lines)
    _widths(about, [120])


def place_coverage_bytes(view: CoverageByPlace, targets: EnrolmentTargets | None, lang: str = "zh") -> bytes:
    """The coverage of a place and of each place one level down, with the targets met or not."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _t(lang, "参保情况", "coverage")
    fmts = _columns(ws, PLACE_COLUMNS, lang)
    blank = _t(lang, "未登记", "none recorded")
    rows = [(place_name(view.place, lang), view.total, True)] + [(p.name or blank, p, False) for p in view.parts]
    for r, (name, pc, bold) in enumerate(rows, start=2):
        o, li = pc.overall, pc.low_income
        values = [
            name,
            o.persons,
            o.enrolled,
            o.exempt,
            o.gap,
            _rate(o.covered_rate_bp),
            li.persons,
            li.gap,
            _rate(li.covered_rate_bp),
        ]
        _put(ws, r, values, fmts, bold=bold)
    ws.freeze_panes = "B2"
    r = len(rows) + 3
    if targets is not None:
        for zh, en, row, goal in (
            ("参保率目标（全体）", "target, everyone", view.total.overall, targets.overall),
            ("参保率目标（低收入和脱贫人口）", "target, low-income and formerly poor", view.total.low_income, targets.low_income),
        ):
            met = target_met(row, goal)
            _put(
                ws,
                r,
                [_t(lang, zh, en), _rate(goal), _t(lang, "达标", "met") if met else _t(lang, "未达标", "not met")],
                [None, PERCENT, None],
                bold=True,
            )
            r += 1
    _about(
        wb,
        [
            _t(
                lang,
                f"{view.year}年度；{place_name(view.place, lang)}；身份按 {view.as_of.isoformat()}。",
                f"Year {view.year}; {place_name(view.place, lang)}; categories on {view.as_of.isoformat()}.",
            ),
            _t(
                lang,
                "参保：参保状态正常（1）；视同参保：死亡、服兵役、服刑、省外参保等已登记台账且未在本地参保；参保率含视同参保。",
                "Enrolled: psn_insu_stas 1; exempt: a recorded special status, not enrolled here; the rate counts both.",
            ),
            _t(
                lang,
                "目标见政策包 premium.targets（种子 001：基本医保参保率达96%以上，农村低收入人口和脱贫人口参保率达100%）。",
                "Targets: the pack's premium.targets (seed 001: 96% or more overall, 100% of low-income and formerly poor).",
            ),
        ],
        lang,
    )
    return _bytes(wb)


def place_gap_bytes(entries: Sequence[GapEntry], year: int, place: Place, lang: str = "zh") -> bytes:
    """The people of a place neither enrolled nor exempt (masked ID numbers, a column for the follow-up)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _t(lang, "未参保人员", "not enrolled")
    columns = (*GAP_COLUMNS, *GAP_FOLLOW_UP_COLUMNS)
    fmts = _columns(ws, columns, lang)
    for r, e in enumerate(entries, start=2):
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
        _put(ws, r, values, fmts)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, len(entries)) + 1}"
    _about(
        wb,
        [
            _t(
                lang,
                f"{year}年度；{place_name(place, lang)}；未参保人员 {len(entries)} 人。",
                f"Year {year}; {place_name(place, lang)}; {len(entries)} people not enrolled.",
            ),
            _t(
                lang,
                "名单：本年度既未参保、也未登记视同参保的人员；身份证号已脱敏。",
                "Everyone neither enrolled nor exempt for the year; ID numbers masked.",
            ),
        ],
        lang,
    )
    return _bytes(wb)


def ledger_bytes(entries: Sequence[LedgerEntry], year: int, place: Place, lang: str = "zh") -> bytes:
    """The 视同参保 ledger of a place: status, evidence, who recorded it and when (Beijing time)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _t(lang, "视同参保台账", "special statuses")
    fmts = _columns(ws, LEDGER_COLUMNS, lang)
    for r, e in enumerate(entries, start=2):
        values: list[Any] = [
            r - 1,
            e.township,
            e.village,
            e.psn_no,
            e.psn_name,
            mask(e.certno),
            special_status_label(e.status, lang),
            e.evidence,
            _t(lang, "是", "yes") if e.enrolled else _t(lang, "否", "no"),
            e.recorded_by,
            beijing_text(e.recorded_at),
        ]
        _put(ws, r, values, fmts)
    ws.freeze_panes = "A2"
    _about(
        wb,
        [
            _t(
                lang,
                f"{year}年度；{place_name(place, lang)}；{len(entries)} 人。",
                f"Year {year}; {place_name(place, lang)}; {len(entries)} people.",
            ),
            _t(
                lang,
                "种子 000：省外异地参保的人员和视同参保人员（死亡、参军、服刑等）由县、乡、村三级建立台账。",
                "Seed 000: county, township and village keep a ledger of people insured elsewhere or deemed insured.",
            ),
        ],
        lang,
    )
    return _bytes(wb)


__all__ = [
    "AMOUNT",
    "gap_headers",
    "ledger_bytes",
    "place_coverage_bytes",
    "place_gap_bytes",
    "write_coverage_workbook",
    "write_gap_workbook",
    "yuan",
]
