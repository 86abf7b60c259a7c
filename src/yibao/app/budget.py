"""基金预算: the yearly budget per fund and month — entered, imported from the Excel template, or derived — and the
budget against actual for the fund report and the home page.

Every change of a month's amount is a ``fund_budget_change`` row (before, after, how, who, when) written in the
same transaction as the amount. An import is all or nothing: a bad row refuses the whole file, naming every bad
cell, and nothing is written. The rules (derivation, budget against actual, warnings) are
:mod:`yibao.rules.budget`; the actual spending is :func:`yibao.reports.budget.fund_actuals` over the ledger.
"""

from __future__ import annotations

import calendar
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

import polars as pl
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from yibao.app import assistance
from yibao.app.enrolment import ENROLLED
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import pick
from yibao.core.i18n import t as _t
from yibao.core.money import fen_to_yuan_str, fmt_percent, yuan_to_fen
from yibao.core.vocab import BUDGET_FUNDS
from yibao.core.xlsx import AMOUNT, header, put, widths, yuan
from yibao.interfaces.workbooks.sheets import RowCount, SheetLimits, SheetRefused, check_declared
from yibao.policy.in_force import policy_or_first
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import FundBudget
from yibao.reports.budget import BudgetInput, fund_actuals
from yibao.reports.cube import ClaimsCube
from yibao.reports.tables import RESIDENT, Context
from yibao.rules import budget as rules
from yibao.rules.claims import EVERYWHERE
from yibao.store.claims_cube_fold import claims_cube
from yibao.store.service_tables import FundBudgetChange, FundBudgetRow
from yibao.store.tables import Enrolment

WHERE = "基金预算 / budget"
SOURCES = ("entered", "imported", "derived")
FIRST_YEAR, LAST_YEAR = 1990, 2100
MAX_FEN = rules.MAX_AMOUNT
Amounts = dict[tuple[str, int], int]


# ---------------------------------------------------------------------------------------------
# Checking what is typed
# ---------------------------------------------------------------------------------------------


def check_year(value: object, where: str = WHERE, field: str = "year") -> int:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise InputError(where, field, value, f"a year from {FIRST_YEAR} to {LAST_YEAR}",
                         expected_zh=f"{FIRST_YEAR} 至 {LAST_YEAR} 之间的年度")  # fmt: skip
    return int(text)


def check_fund(value: object, where: str = WHERE, field: str = "fund") -> str:
    """A fund by its code or its Chinese or English name."""
    text = str(value).strip() if value is not None else ""
    for code in rules.FUNDS:
        if text.lower() in (code, BUDGET_FUNDS[code][0], BUDGET_FUNDS[code][1].lower()):
            return code
    names = "、".join(f"{c}（{BUDGET_FUNDS[c][0]}）" for c in rules.FUNDS)
    raise InputError(where, field, value, f"one of the funds {', '.join(rules.FUNDS)}", expected_zh=f"基金之一：{names}")


def check_month(value: object, where: str = WHERE, field: str = "month") -> int:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not 1 <= int(text) <= 12:
        raise InputError(where, field, value, "a month from 1 to 12", expected_zh="1 至 12 的月份")
    return int(text)


def check_amount(value: object, where: str = WHERE, field: str = "amount") -> int:
    """An amount in yuan (at most two decimals, not negative) as fen; a blank cell is 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        fen = yuan_to_fen(value)
    except ValueError:
        fen = -1
    if not 0 <= fen <= MAX_FEN:
        raise InputError(where, field, value, "an amount in yuan of 0 or more, at most two decimals (e.g. 125000.00)",
                         expected_zh="不小于 0 的金额（元），至多两位小数，如 125000.00")  # fmt: skip
    return fen


# ---------------------------------------------------------------------------------------------
# Reading and writing the budget
# ---------------------------------------------------------------------------------------------


def budget_of(s: Session, year: int) -> Amounts:
    """The year's budget by (fund, month); months never set are missing (0)."""
    rows = s.execute(sa.select(FundBudgetRow.fund, FundBudgetRow.month, FundBudgetRow.amount).where(FundBudgetRow.year == year))
    return {(f, int(m)): int(a) for f, m, a in rows}


def has_budget(s: Session, year: int) -> bool:
    return s.scalar(sa.select(sa.func.count()).select_from(FundBudgetRow).where(FundBudgetRow.year == year)) != 0


def set_amounts(s: Session, year: int, amounts: Mapping[tuple[str, int], int], source: str, by: str, note: str = "") -> int:
    """Write ``amounts`` (fen by (fund, month)) for ``year`` in the caller's transaction, each changed month with its
    change row; the number of months changed (an amount already standing, or 0 for a month never set, is not a change)."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r}")
    for (fund, month), amount in amounts.items():  # every amount checked before any is written
        check_fund(fund)
        check_month(month)
        if not 0 <= amount <= MAX_FEN:
            raise InputError(WHERE, f"{fund}.{month}", amount, "an amount of 0 or more fen", expected_zh="不小于 0 的金额（分）")
    now = datetime.now(UTC)
    changed = 0
    for (fund, month), amount in sorted(amounts.items()):
        row = s.get(FundBudgetRow, (year, fund, month))
        before = None if row is None else row.amount
        if before == amount or (before is None and amount == 0):  # a month never set is 0 already
            continue
        if row is None:
            s.add(FundBudgetRow(year=year, fund=fund, month=month, amount=amount, source=source, recorded_at=now,
                                recorded_by=by))  # fmt: skip
        else:
            row.amount, row.source, row.recorded_at, row.recorded_by = amount, source, now, by
        s.add(FundBudgetChange(year=year, fund=fund, month=month, before=before, after=amount, source=source,
                               note=note[:255], recorded_at=now, recorded_by=by))  # fmt: skip
        changed += 1
    s.flush()
    return changed


def spread(fund: str, year_amount: int) -> Amounts:
    """A yearly amount over the twelve months in equal parts (:func:`yibao.rules.budget.split_months`)."""
    return {(fund, m): part for m, part in zip(rules.MONTHS, rules.split_months(year_amount, [0] * 12), strict=True)}


def changes(s: Session, year: int, limit: int = 200) -> list[FundBudgetChange]:
    """The year's changes, newest first."""
    q = sa.select(FundBudgetChange).where(FundBudgetChange.year == year)
    return list(s.scalars(q.order_by(FundBudgetChange.id.desc()).limit(limit)))


def last_change(s: Session, year: int) -> FundBudgetChange | None:
    found = changes(s, year, 1)
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------
# The Excel template
# ---------------------------------------------------------------------------------------------

HEAD_YEAR = ("年度", "year")
HEAD_FUND = ("基金", "fund")
HEAD_NAME = ("基金名称", "fund name")


def month_head(m: int) -> tuple[str, str]:
    return f"{m}月", f"month {m}"


def template_bytes(year: int, amounts: Mapping[tuple[str, int], int], lang: str = "zh") -> bytes:
    """``基金预算模板.xlsx``: a row per fund (year, fund code, its name, twelve months in yuan), the year's budget
    filled in; fill it in and import it back."""
    wb = Workbook()
    ws = wb.active
    ws.title = _t(lang, "基金预算", "budget")
    heads = [HEAD_YEAR, HEAD_FUND, HEAD_NAME, *(month_head(m) for m in rules.MONTHS)]
    header(ws, 1, [pick(h, lang) for h in heads])
    for r, fund in enumerate(rules.FUNDS, start=2):
        months = [yuan(amounts.get((fund, m), 0)) for m in rules.MONTHS]
        put(ws, r, [year, fund, pick(BUDGET_FUNDS[fund], lang), *months], [None, None, None, *[AMOUNT] * 12])
    note = _t(
        lang,
        "金额单位：元（至多两位小数）；基金列填代码或名称；空格按 0 计。导入时任何一行有误则整份不导入。",
        "Amounts in yuan (two decimals at most); the fund by code or name; a blank is 0. One bad row refuses the file.",
    )
    ws.freeze_panes = "D2"
    widths(ws, [8, 12, 26, *[14] * 12])
    about = wb.create_sheet(_t(lang, "说明", "about"))
    put(about, 1, [note])
    widths(about, [110])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Imported:
    years: tuple[int, ...]
    rows: int
    changed: int


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _heads() -> dict[str, str]:
    """Header text (either language) -> the column's key (year, fund, name, or the month number)."""
    out = {h: "year" for h in HEAD_YEAR} | {h: "fund" for h in HEAD_FUND} | {h: "name" for h in HEAD_NAME}
    for m in rules.MONTHS:
        out |= {h.lower(): str(m) for h in month_head(m)}
    return out


def _rows(source: IO[bytes], file_name: str, limits: SheetLimits | None) -> list[tuple[str, dict[str, Any]]]:
    """(where, the row's cells by key) of every non-blank data row of the first sheet."""
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
        raise InputError(file_name, "file", file_name, f"an .xlsx budget template ({type(exc).__name__})",
                         expected_zh="基金预算模板（.xlsx）") from None  # fmt: skip
    try:
        ws = wb.worksheets[0]
        check_declared(file_name, ws, limits)
        count = RowCount(file_name, ws.title, limits)
        heads, cols, out = _heads(), dict[int, str](), []
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            count.row(n, len(row))
            if n == 1:
                cols = {j: heads[_text(h).lower()] for j, h in enumerate(row) if _text(h).lower() in heads}
                missing = [k for k in ("year", "fund", *map(str, rules.MONTHS)) if k not in cols.values()]
                if missing:
                    raise InputError(f"{file_name} / {ws.title}", "header", missing, "the template's header row (row 1)",
                                     expected_zh="模板的表头（第 1 行）：年度、基金、1月…12月")  # fmt: skip
                continue
            cells = {key: row[j] for j, key in cols.items() if j < len(row)}
            if any(_text(v) for k, v in cells.items() if k != "name"):
                out.append((f"{file_name} / {ws.title} 第 {n} 行", cells))
        return out
    except SheetRefused as exc:
        c = exc.problems[0]
        raise InputError(file_name, "file", file_name, c.reason, "", c.reason_en) from None
    except (KeyError, ValueError, TypeError, IndexError, OSError, SyntaxError) as exc:
        raise InputError(file_name, "file", file_name, f"an .xlsx budget template ({type(exc).__name__})",
                         expected_zh="基金预算模板（.xlsx）") from None  # fmt: skip
    finally:
        wb.close()


def read_template(source: IO[bytes], file_name: str, limits: SheetLimits | None = None) -> dict[int, Amounts]:
    """The amounts of every row of a filled-in template, by year; ``InputErrors`` naming every bad cell."""
    errors: list[InputError] = []
    out: dict[int, Amounts] = {}
    seen: dict[tuple[int, str], str] = {}
    for where, cells in _rows(source, file_name, limits):
        try:
            year = check_year(cells.get("year"), where, pick(HEAD_YEAR, "zh"))
            fund = check_fund(cells.get("fund"), where, pick(HEAD_FUND, "zh"))
        except InputError as e:
            errors.append(e)
            continue
        if (year, fund) in seen:
            errors.append(InputError(where, "基金", fund, f"one row per fund and year ({seen[(year, fund)]} has it already)",
                                     expected_zh=f"每个年度每个基金一行（{seen[(year, fund)]}已有）"))  # fmt: skip
            continue
        seen[(year, fund)] = where
        for m in rules.MONTHS:
            try:
                out.setdefault(year, {})[(fund, m)] = check_amount(cells.get(str(m)), where, month_head(m)[0])
            except InputError as e:
                errors.append(e)
    if errors:
        raise InputErrors(errors)
    if not out:
        raise InputError(file_name, "rows", 0, "at least one fund's row under the header", expected_zh="表头下至少一行基金预算")
    return out


def import_template(s: Session, source: IO[bytes], file_name: str, by: str, limits: SheetLimits | None = None) -> Imported:
    """Read the whole file first, then write every year's amounts (in the caller's transaction)."""
    years = read_template(source, file_name, limits)
    changed = sum(set_amounts(s, y, amounts, "imported", by, note=file_name) for y, amounts in years.items())
    return Imported(tuple(sorted(years)), sum(len(a) for a in years.values()) // 12, changed)


# ---------------------------------------------------------------------------------------------
# The ledger's side: premium income, actual spending, the derivation
# ---------------------------------------------------------------------------------------------


def premium_income(s: Session, year: int) -> int:
    """The resident pool's premium income of ``year``: every enrolled resident's premium as ``yibao enrol`` priced it."""
    q = sa.select(sa.func.coalesce(sa.func.sum(Enrolment.premium), 0)).where(
        Enrolment.year == year, Enrolment.insutype == RESIDENT, Enrolment.psn_insu_stas == ENROLLED
    )
    return int(s.scalar(q) or 0)


def rule_of(pack: PolicyPack | None, year: int) -> FundBudget | None:
    return None if pack is None else policy_or_first(pack, date(year, 1, 1)).budget


def actual_spending(s: Session, start: date, end: date, ctx: Context) -> Amounts:
    """Each fund's spending by month from the ledger's standing settlements dated ``start``..``end`` (the whole county)."""
    return fund_actuals(claims_cube(s, start, end, EVERYWHERE), ctx, assistance.paid(s, start, end))


def _no_rule(pack: PolicyPack | None) -> InputError:
    name = pack.pack_id if pack is not None else "(none)"
    return InputError(f"policy pack {name}", "budget", None, "a pack with a budget block (spending_growth, reserve, …)",
                      expected_zh="含基金预算参数的政策包")  # fmt: skip


@dataclass(frozen=True)
class Derivation:
    year: int
    last_year: Amounts
    income: int
    rule: FundBudget
    amounts: Amounts
    changed: int

    def note(self, lang: str = "zh") -> str:
        """The figures it was derived from (in ``lang``; the change rows keep the Chinese)."""
        spent = [fen_to_yuan_str(rules.fund_total(self.last_year, f)) for f in rules.FUNDS]
        income, growth, reserve = (
            fen_to_yuan_str(self.income),
            fmt_percent(self.rule.spending_growth),
            fmt_percent(self.rule.reserve),
        )
        return _t(
            lang,
            f"{self.year - 1} 年支出：基本医保 {spent[0]} 元、大病保险 {spent[1]} 元、医疗救助 {spent[2]} 元；"
            f"{self.year} 年筹资 {income} 元；增长率 {growth}，预留结余 {reserve}",
            f"{self.year - 1} spent: basic {spent[0]}, critical illness {spent[1]}, assistance {spent[2]} yuan; "
            f"{self.year} premium income {income} yuan; growth {growth}, reserve {reserve}",
        )


def derive(s: Session, pack: PolicyPack | None, year: int, by: str, *, write: bool = True) -> Derivation:
    """This year's budget from last year's ledger and this year's premium income (:func:`yibao.rules.budget.derive`);
    written (source ``derived``) unless ``write`` is false (a preview)."""
    rule = rule_of(pack, year)
    if rule is None or pack is None:
        raise _no_rule(pack)
    last = actual_spending(s, date(year - 1, 1, 1), date(year - 1, 12, 31), Context.from_pack(pack, date(year - 1, 1, 1)))
    income = premium_income(s, year)
    amounts = rules.derive(last, income, rule, year)
    d = Derivation(year, last, income, rule, amounts, 0)
    if not write:
        return d
    return Derivation(year, last, income, rule, amounts, set_amounts(s, year, amounts, "derived", by, note=d.note()))


def budget_input(
    s: Session, year: int, through: int, pack: PolicyPack | None, claims: ClaimsCube | None = None,
    applied: pl.DataFrame | None = None,
) -> BudgetInput:  # fmt: skip
    """The budget tables' input for ``year`` through month ``through``; ``claims`` and ``applied`` when the caller has
    already read them from 1 January to the end of that month (the whole county), else they are read here."""
    last_day = month_end(year, through)
    ctx = Context.from_pack(pack, date(year, 1, 1)) if pack is not None else Context()
    if claims is None or applied is None:
        actual = actual_spending(s, date(year, 1, 1), last_day, ctx)
    else:
        actual = fund_actuals(claims, ctx, applied)
    return BudgetInput(year, through, budget_of(s, year), actual, premium_income(s, year), rule_of(pack, year))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])
