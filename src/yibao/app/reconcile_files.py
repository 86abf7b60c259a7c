"""3202 对明细账 from a file: the hospital's list as a workbook or CSV, checked row by row (every bad row named by
file, sheet, row, field and value), then reconciled against the ledger (:func:`yibao.app.reconcile.reconcile_detail`);
a run kept with its differences (:class:`~yibao.store.service_tables.ReconcileRun`), and the auditor's workbooks: the
differences of a run, the platform's totals per institution and day, the ledger verification's result."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import simplejson
import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from yibao.app import ledger, reconcile
from yibao.core import xlsx
from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t
from yibao.interfaces.workbooks.his_detail import read_detail
from yibao.interfaces.workbooks.sheets import SheetLimits
from yibao.store.service_tables import ReconcileRun
from yibao.store.tables import Person


def his_records(path: Path, limits: SheetLimits | None = None, name: str | None = None) -> list[reconcile.HisRecord]:
    """The file's settlements; ``InputErrors`` naming every bad row (its row as Excel shows it)."""
    where, rows = read_detail(path, limits, name)
    errors: list[InputError] = []
    for rec in rows:
        try:
            reconcile.parse_records([rec.values], "detail")
        except InputErrors as e:
            errors.extend(replace(x, where=f"{where} row {rec.row}") for x in e.errors)
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    return reconcile.parse_records([r.values for r in rows], where)


def reconcile_file(
    s: Session, scope: reconcile.Scope, path: Path, limits: SheetLimits | None = None, name: str | None = None
) -> dict[str, Any]:
    """The 3202 answer (:func:`yibao.app.reconcile.detail_output`) for the hospital's list in ``path``."""
    return reconcile.detail_output(reconcile.reconcile_detail(s, scope, his_records(path, limits, name)))


# ------------------------------------------------------------------ a 3202 done in the window, kept


def record_run(s: Session, scope: reconcile.Scope, file_name: str, result: dict[str, Any], by: str) -> ReconcileRun:
    """Keep a 3202 answer with its scope and file, who and when: the differences can be downloaded later."""
    run = ReconcileRun(
        fixmedins_code=scope.fixmedins_code, begin=scope.begin, end=scope.end, insutype=scope.insutype,
        clr_type=scope.clr_type, file_name=file_name[:255], result=simplejson.dumps(result, use_decimal=True, ensure_ascii=False),
        recorded_at=datetime.now(UTC), recorded_by=by,
    )  # fmt: skip
    s.add(run)
    s.flush()
    return run


def run_result(run: ReconcileRun) -> dict[str, Any]:
    """The 3202 answer kept with a run (amounts as exact decimals)."""
    result: dict[str, Any] = simplejson.loads(run.result, use_decimal=True)
    return result


def recent_runs(s: Session, limit: int = 20) -> list[ReconcileRun]:
    return list(s.scalars(sa.select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(limit)))


def _book(title: str) -> tuple[Workbook, Worksheet]:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = xlsx.sheet_title(title)
    return wb, ws


def _bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _field_name(field: str, lang: str) -> str:
    return t(lang, reconcile.FIELD_ZH.get(field, field), field)


def _said(d: dict[str, Any], lang: str) -> str:
    """A difference described: the 3202 answer's Chinese, or in English its kind and each field's two values."""
    if lang == "zh":
        return str(d["dscr"])
    return "; ".join([d["kind"], *(f"{f['field']}: platform {f['platform']}, HIS {f['his']}" for f in d["fields"])])


DIFFERENCE_HEADS = (
    ("差异类型", "kind"), ("结算ID", "setl_id"), ("就诊ID", "mdtrt_id"), ("人员编号", "psn_no"), ("字段", "field"),
    ("平台值", "platform"), ("医院值", "HIS"), ("说明", "details"),
)  # fmt: skip


def differences_workbook(run: ReconcileRun, name: str, lang: str = "zh") -> bytes:
    """The differences of a 3202 run, one row per differing field (a difference with no field, such as a settlement
    missing on one side, one row with its platform or HIS amount), and a sheet with the run's totals."""
    result = run_result(run)
    wb, ws = _book(t(lang, "差异明细", "differences"))
    xlsx.header(ws, 1, [t(lang, zh, en) for zh, en in DIFFERENCE_HEADS])
    row = 2
    for d in result["differences"]:
        kind = t(lang, reconcile.KINDS[d["kind"]], d["kind"])
        lead = [kind, d["setl_id"], d["mdtrt_id"] or "", d["psn_no"] or ""]
        if d["fields"]:
            for f in d["fields"]:
                xlsx.put(ws, row, [*lead, _field_name(f["field"], lang), f["platform"], f["his"], _said(d, lang)])
                row += 1
            continue
        side = d["platform"] or (d["his"][0] if d["his"] else {})
        amount = side.get("medfee_sumamt")
        on_platform = d["platform"] is not None
        values = [amount if on_platform else None, None if on_platform else amount]
        xlsx.put(ws, row, [*lead, _field_name("medfee_sumamt", lang), *values, _said(d, lang)])
        row += 1
    for r in range(2, row):
        for c in (6, 7):
            ws.cell(r, c).number_format = xlsx.AMOUNT
    xlsx.widths(ws, [24, 20, 20, 16, 14, 14, 14, 60])
    ws.freeze_panes = "A2"
    info, totals = result["stmtinfo"], result["totals"]
    summary = wb.create_sheet(xlsx.sheet_title(t(lang, "对账结果", "result")))
    lines = [
        (t(lang, "定点医药机构", "Institution"), f"{info['fixmedins_code']} {name}".strip()),
        (t(lang, "对账期间", "Period"), f"{info['stmt_begndate']} ~ {info['stmt_enddate']}"),
        (t(lang, "医院明细文件", "The hospital's file"), run.file_name),
        (
            t(lang, "对账结果", "Result"),
            t(lang, info["stmt_rslt_dscr"], "the lists agree" if info["stmt_rslt"] == "0" else "the lists disagree"),
        ),
        (t(lang, "对账人", "By"), run.recorded_by),
        (t(lang, "对账时间（北京时间）", "When (Beijing time)"), beijing_text(run.recorded_at)),
    ]
    for i, (k, v) in enumerate(lines, start=1):
        xlsx.put(summary, i, [k, v])
    top = len(lines) + 2
    xlsx.header(summary, top, ["", *(_field_name(f, lang) for f in TOTAL_FIELDS)])
    for i, side in enumerate(("platform", "his"), start=1):
        label = t(lang, "平台台账", "Platform ledger") if side == "platform" else t(lang, "医院", "Hospital")
        xlsx.put(summary, top + i, [label, *(totals[side][f] for f in TOTAL_FIELDS)], [None, *TOTAL_FORMATS])
    xlsx.widths(summary, [22, 40, 16, 16, 16, 12])
    return _bytes(wb)


TOTAL_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "cash_payamt", "fixmedins_setl_cnt")
TOTAL_FORMATS = (xlsx.AMOUNT, xlsx.AMOUNT, xlsx.AMOUNT, xlsx.AMOUNT, xlsx.COUNT)


def daily_workbook(rows: list[tuple[str, date, reconcile.Totals]], names: dict[str, str], lang: str = "zh") -> bytes:
    """The platform's totals per institution and day (:func:`yibao.app.reconcile.daily_totals`), yuan."""
    wb, ws = _book(t(lang, "按机构按日汇总", "per institution and day"))
    heads = [t(lang, "机构编码", "Institution code"), t(lang, "机构名称", "Institution"), t(lang, "结算日期", "Day")]
    xlsx.header(ws, 1, heads + [_field_name(f, lang) for f in TOTAL_FIELDS])
    for i, (code, day, tt) in enumerate(rows, start=2):
        money = [xlsx.yuan(getattr(tt, f)) for f in TOTAL_FIELDS[:-1]]
        xlsx.put(
            ws, i, [code, names.get(code, ""), day.isoformat(), *money, tt.fixmedins_setl_cnt], [None, None, None, *TOTAL_FORMATS]
        )
    xlsx.widths(ws, [16, 24, 12, 16, 16, 16, 16, 10])
    ws.freeze_panes = "A2"
    return _bytes(wb)


# ------------------------------------------------------------------ ledger verification


def _differing(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The accumulators where the ledger's sum and the stored value differ."""
    a, b = d["ledger"], d["stored"]
    return [{"key": k, "ledger": a.get(k), "stored": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def verification(s: Session) -> dict[str, Any]:
    """The ledger verification (:func:`yibao.app.ledger.verify`) for people to read: the person-years whose
    accumulators differ (person, year, each differing accumulator with the ledger's and the stored value, as JSON
    text), entries whose personal-account payment differs from what they consumed, and visits paid twice."""
    diffs = ledger.verify(s)
    ids = {d["person_id"] for d in diffs if "person_id" in d}
    people = {p.id: p for p in s.scalars(sa.select(Person).where(Person.id.in_(ids)))} if ids else {}
    accumulators = [
        {
            "psn_no": people[d["person_id"]].psn_no if d["person_id"] in people else str(d["person_id"]),
            "name": people[d["person_id"]].psn_name if d["person_id"] in people else "",
            "year": d["year"],
            "fields": [f | {"ledger": json.dumps(f["ledger"]), "stored": json.dumps(f["stored"])} for f in _differing(d)],
        }
        for d in diffs
        if "person_id" in d
    ]
    twice = [d for d in diffs if "standing" in d]
    account = [d for d in diffs if "consumed_acct_paid" in d]
    return {"accumulators": accumulators, "twice": twice, "account": account, "count": len(diffs)}


def verification_workbook(result: dict[str, Any], when: datetime, by: str, lang: str = "zh") -> bytes:
    """The verification result as a workbook: a summary, then one sheet per kind of difference."""
    wb, ws = _book(t(lang, "核验结果", "verification"))
    said = (
        t(
            lang,
            "台账与年度累计一致，无差异；没有重复结算的就诊。",
            "Ledger and accumulators agree: no differences, no visit paid twice.",
        )
        if not result["count"]
        else t(lang, f"发现 {result['count']} 处差异", f"{result['count']} differences")
    )
    for i, (k, v) in enumerate(
        [(t(lang, "核验时间（北京时间）", "When (Beijing time)"), beijing_text(when)), (t(lang, "核验人", "By"), by),
         (t(lang, "结果", "Result"), said)],
        start=1,
    ):  # fmt: skip
        xlsx.put(ws, i, [k, v])
    xlsx.widths(ws, [22, 60])
    acc = wb.create_sheet(xlsx.sheet_title(t(lang, "年度累计差异", "accumulators")))
    heads = [("人员编号", "psn_no"), ("姓名", "name"), ("年度", "year"), ("累计项", "accumulator"),
             ("台账重算", "from the ledger"), ("保存值", "stored")]  # fmt: skip
    xlsx.header(acc, 1, [t(lang, zh, en) for zh, en in heads])
    row = 2
    for d in result["accumulators"]:
        for f in d["fields"]:
            xlsx.put(acc, row, [d["psn_no"], d["name"], d["year"], f["key"], f["ledger"], f["stored"]])
            row += 1
    xlsx.widths(acc, [16, 10, 8, 24, 40, 40])
    money = wb.create_sheet(xlsx.sheet_title(t(lang, "个人账户差异", "personal account")))
    account_heads = [("结算ID", "setl_id"), ("个人账户支出", "acct_pay"), ("所记个人账户累计", "account consumed"),
                     ("个人负担总额", "psn_part_amt")]  # fmt: skip
    xlsx.header(money, 1, [t(lang, zh, en) for zh, en in account_heads])
    for i, d in enumerate(result["account"], start=2):
        values = [d["setl_id"], *(xlsx.yuan(d[k]) for k in ("acct_pay", "consumed_acct_paid", "psn_part_amt"))]
        xlsx.put(money, i, values, [None, xlsx.AMOUNT, xlsx.AMOUNT, xlsx.AMOUNT])
    twice = wb.create_sheet(xlsx.sheet_title(t(lang, "重复结算", "paid twice")))
    xlsx.header(
        twice, 1, [t(lang, "就诊ID", "mdtrt_id"), t(lang, "人员编号", "psn_no"), t(lang, "未撤销的结算", "standing settlements")]
    )
    for i, d in enumerate(result["twice"], start=2):
        xlsx.put(twice, i, [d["mdtrt_id"], d["psn_no"], "、".join(d["standing"])])
    return _bytes(wb)
