"""The settlement slip (一单制结算单): one page a clerk prints and the patient takes home.

:func:`build_slip` reads one ledger entry (a settlement or a reversal) and makes a plain view
model: the institution, the person (name and masked ID number, never the full one), the
visit and dates, the benefit line and identity in Chinese, the bill, every payer
(``fund_pay_type``) with what it paid, the patient's part, a short trace of how it was
computed, and whether the settlement was reversed. :func:`render_html` prints it with the
Jinja2 template ``templates/slip.html.j2`` (one A4 page, a print button hidden in print);
:func:`render_pdf` prints that same page to a one-page A4 PDF (:func:`yibao.app.pdf.html_to_pdf`,
the CJK font embedded).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.assistance import LINE as APPLICATION_LINE
from yibao.app.assistance import CountedBill
from yibao.app.assistance import get as get_application
from yibao.app.ledger import stored_steps, trace_view
from yibao.app.pdf import html_to_pdf
from yibao.audit.types import RULE_TYPES
from yibao.core.clock import beijing_text
from yibao.core.errors import InputError, InputErrors, NotFound
from yibao.core.idcard import mask
from yibao.core.money import fmt_yuan
from yibao.core.vocab import (
    CHRGITM_LV,
    FUND_PAY_TYPES,
    GENDERS,
    HOSP_LEVELS,
    INSUTYPES,
    MED_TYPES,
    PLACES,
    label,
)
from yibao.policy.categories import identity_label
from yibao.policy.in_force import pack_in_force
from yibao.policy.pack import PolicyPack
from yibao.settlement.plain import Figures, explain_figures
from yibao.store.audit_tables import AuditFinding
from yibao.store.service_tables import FeeLineRow, Institution, LedgerEntry, Visit
from yibao.store.tables import Person

BILL = (
    ("medfee_sumamt", "医疗费用总额"),
    ("fulamt_ownpay_amt", "全自费金额"),
    ("overlmt_selfpay", "超限价自费"),
    ("preselfpay_amt", "先行自付金额"),
    ("inscp_scp_amt", "政策范围内费用"),
    ("act_pay_dedc", "本次起付线"),
)
MAX_FEE_ROWS = 12
"""Fee lines printed one by one; the rest are summed on one row (the slip stays one page)."""


@dataclass(frozen=True)
class Figure:
    code: str
    label: str
    fen: int

    @property
    def yuan(self) -> str:
        return fmt_yuan(self.fen)


@dataclass(frozen=True)
class Payer:
    fund_pay_type: str
    name: str
    base: int
    """The amount this fund worked on (its ``inscp_scp_amt``)."""
    paid: int
    remaining: int | None
    """What the fund may still pay this year after this settlement (``None``: no cap)."""


@dataclass(frozen=True)
class FeeRow:
    sn: str
    code: str
    name: str
    level: str
    amount: int
    fulamt_ownpay: int
    preselfpay: int
    overlmt: int
    inscp: int
    audit_rule: str = ""
    """The audit rule that made the line self-paid at the counter (``GL001 超限定性别``), if one did."""


@dataclass(frozen=True)
class TraceLine:
    tier: str
    text: str


@dataclass(frozen=True)
class Slip:
    setl_id: str
    kind: str
    """settle / reverse."""
    title: str
    status: str
    """valid / reversed (a settlement), reversal (a reversal entry)."""
    status_zh: str
    reversed_by: str | None
    reversal_reason: str | None
    reversal_time: str | None
    reverses: str | None
    fixmedins_code: str
    fixmedins_name: str
    hosp_lv_zh: str
    place_zh: str
    psn_name: str
    certno_masked: str
    psn_no: str
    gend_zh: str
    insutype: str
    insutype_zh: str
    med_type: str
    med_type_zh: str
    line: str
    line_zh: str
    identity: str
    identity_zh: str
    mdtrt_id: str
    ipt_otp_no: str
    dise_codg: str
    begin_date: str
    end_date: str
    setl_date: str
    bill: tuple[Figure, ...]
    medfee_sumamt: int
    payers: tuple[Payer, ...]
    fund_pay_sumamt: int
    psn_part_amt: int
    acct_pay: int
    psn_cash_pay: int
    self_parts: tuple[Figure, ...]
    """What the patient's part is made of: 全自费 + 先行自付 + 超限价 + what the funds left of the policy range."""
    fee_rows: tuple[FeeRow, ...]
    fee_more: int
    fee_more_amount: int
    trace: tuple[TraceLine, ...]
    """The trace lines stored with the entry, in order."""
    trace_short: tuple[TraceLine, ...]
    """The same, one line per tier."""
    pack_id: str
    recorded_at: str
    recorded_by: str
    printed_at: str
    counted: tuple[CountedBill, ...] = ()
    """An application for assistance (依申请救助): the bills it counted (its slip lists them, not fee lines)."""
    dise_name: str = ""
    """The diagnosis's name beside ``dise_codg`` (病种), as the ledger keeps it."""
    explanation: tuple[str, ...] = ()
    """本次结算说明: the settlement in the plain sentences of the policy leaflet (:func:`yibao.settlement.plain.explain`);
    empty on a reversal, an application and an entry stored before traces were kept as steps."""

    @property
    def is_application(self) -> bool:
        return self.line == APPLICATION_LINE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local(ts: datetime) -> str:
    return beijing_text(ts)


def _line_label(pack: PolicyPack | None, entry: LedgerEntry) -> str:
    if entry.line == APPLICATION_LINE:
        return "依申请救助"
    priced = pack_in_force([entry.pack_id], pack if pack is not None and pack.pack_id == entry.pack_id else None)
    if priced is not None:
        with contextlib.suppress(InputError, InputErrors):
            line = priced.at(entry.setl_date).lines.get(entry.line)
            if line is not None:
                return line.label_zh
    return entry.line


def _short_trace(lines: list[TraceLine]) -> tuple[TraceLine, ...]:
    out: list[TraceLine] = []
    for t in lines:
        if out and out[-1].tier == t.tier:
            out[-1] = TraceLine(t.tier, out[-1].text + "；" + t.text)
        else:
            out.append(t)
    return tuple(out)


def _audit_refused(s: Session, setl_id: str) -> dict[str, str]:
    """Each line the audit made self-paid at the counter: its rule's code and name (``GL001 超限定性别``)."""
    out: dict[str, str] = {}
    rows = s.execute(
        sa.select(AuditFinding.rule_code, AuditFinding.rule_type, AuditFinding.feedetl_sns)
        .where(AuditFinding.setl_id == setl_id, AuditFinding.stage == "during", AuditFinding.action == "self_pay")
        .order_by(AuditFinding.rule_code)
    )
    for code, rtype, sns in rows:
        name = RULE_TYPES[rtype].label[0] if rtype in RULE_TYPES else ""
        for sn in json.loads(sns):
            out.setdefault(str(sn), f"{code} {name}".strip())
    return out


def _fee_rows(s: Session, entry: LedgerEntry, source: LedgerEntry) -> tuple[tuple[FeeRow, ...], int, int]:
    results: list[dict[str, Any]] = json.loads(source.fee_results)
    names: dict[str, str] = {}
    if source.mdtrt_id:
        rows = s.execute(
            sa.select(FeeLineRow.feedetl_sn, FeeLineRow.med_list_name, FeeLineRow.setl_id)
            .where(FeeLineRow.mdtrt_id == source.mdtrt_id)
            .order_by(FeeLineRow.id)
        )
        for sn, name, setl_id in rows:
            if name and (sn not in names or setl_id == source.setl_id):
                names[sn] = name
    refused = _audit_refused(s, source.setl_id)
    sign = -1 if entry.kind == "reverse" else 1
    all_rows = [
        FeeRow(
            str(r["feedetl_sn"]),
            str(r["med_list_codg"]),
            names.get(str(r["feedetl_sn"]), ""),
            label(CHRGITM_LV, r["chrgitm_lv"]),
            sign * int(r["det_item_fee_sumamt"]),
            sign * int(r["fulamt_ownpay_amt"]),
            sign * int(r["preselfpay_amt"]),
            sign * int(r["overlmt_selfpay"]),
            sign * int(r["inscp_scp_amt"]),
            refused.get(str(r["feedetl_sn"]), ""),
        )
        for r in results
    ]
    shown = all_rows if len(all_rows) <= MAX_FEE_ROWS else all_rows[: MAX_FEE_ROWS - 1]
    rest = all_rows[len(shown) :]
    return tuple(shown), len(rest), sum(r.amount for r in rest)


def build_slip(s: Session, setl_id: str, pack: PolicyPack | None = None, *, printed_at: datetime | None = None) -> Slip:
    """The slip of one ledger entry; ``NotFound`` for an unknown ``setl_id``."""
    entry = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id))
    if entry is None:
        raise NotFound("slip", "setl_id", setl_id, "a settlement id in the ledger")
    # a reversal prints the original's payers and fee lines, negated, under its own id
    source = entry
    if entry.kind == "reverse" and entry.reverses:
        source = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == entry.reverses)) or entry
    sign = -1 if entry.kind == "reverse" else 1
    person = s.get(Person, entry.person_id)
    inst = s.get(Institution, entry.fixmedins_code) if entry.fixmedins_code else None
    visit = s.get(Visit, entry.mdtrt_id) if entry.mdtrt_id else None
    reversal = None
    if entry.kind == "settle":
        reversal = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.reverses == entry.setl_id))
    applied = source.kind == "apply"
    if entry.kind == "apply":
        reversal = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.reverses == entry.setl_id))
    name = "医疗救助依申请救助单" if applied else "医疗费用一站式结算单"
    if entry.kind == "reverse":
        title = "依申请救助撤销单" if applied else "医疗费用结算撤销单"
        status, status_zh = "reversal", f"撤销凭证（冲销{'救助' if applied else '结算'} {entry.reverses}）"
    elif reversal is not None:
        title, status, status_zh = name, "reversed", f"已撤销（{reversal.setl_id}）"
    else:
        title, status, status_zh = name, "valid", "有效"
    rev = reversal if reversal is not None else (entry if entry.kind == "reverse" else None)

    payers = tuple(
        Payer(
            str(d["fund_pay_type"]),
            label(FUND_PAY_TYPES, d["fund_pay_type"]),
            sign * int(d["inscp_scp_amt"]),
            sign * int(d["fund_payamt"]),
            None if d.get("crt_payb_lmt_amt") is None else int(d["crt_payb_lmt_amt"]),
        )
        for d in json.loads(source.setldetail)
    )
    fee_rows, fee_more, fee_more_amount = _fee_rows(s, entry, source)
    trace = [TraceLine(t["tier"], t["zh"]) for t in trace_view(source.trace)]
    if entry.kind == "reverse":
        why = f"撤销结算 {entry.reverses}，原因：{entry.reason or ''}；退回该笔结算占用的全部年度额度"
        trace.insert(0, TraceLine("撤销", why))
    in_range_self = entry.psn_part_amt - entry.fulamt_ownpay_amt - entry.preselfpay_amt - entry.overlmt_selfpay
    self_parts = tuple(
        Figure(code, name, fen)
        for code, name, fen in (
            ("fulamt_ownpay_amt", "全自费", entry.fulamt_ownpay_amt),
            ("preselfpay_amt", "先行自付", entry.preselfpay_amt),
            ("overlmt_selfpay", "超限价自费", entry.overlmt_selfpay),
            ("inscp_self", "政策范围内个人自付", in_range_self),
        )
        if fen
    )
    application = get_application(s, source.setl_id) if applied else None
    bill = tuple(Figure(code, name, getattr(entry, code)) for code, name in BILL)
    if application is not None:  # its base and pay (an application adds no cost: its bill amounts are 0)
        base = sign * application.result.base
        bill = (Figure("base", "计算基数（政策范围内个人自付）", base), Figure("maf_pay", "本次救助", entry.maf_pay))
    begin = visit.begntime if visit else entry.setl_date
    end: date | None = visit.endtime if visit else None
    # as settled (older entries: the institution's)
    level = source.hosp_lv if source.hosp_lv is not None else (inst.hosp_lv if inst else None)
    place = source.place or (inst.place if inst else None)
    return Slip(
        setl_id=entry.setl_id,
        kind=entry.kind,
        title=title,
        status=status,
        status_zh=status_zh,
        reversed_by=reversal.setl_id if reversal is not None else None,
        reversal_reason=rev.reason if rev is not None else None,
        reversal_time=_local(rev.recorded_at) if rev is not None else None,
        reverses=entry.reverses,
        fixmedins_code=entry.fixmedins_code or "",
        fixmedins_name=inst.fixmedins_name if inst else (entry.fixmedins_code or "医保经办窗口"),
        hosp_lv_zh=label(HOSP_LEVELS, level) if level is not None else "",
        place_zh=label(PLACES, place) if place else "",
        psn_name=person.psn_name if person else "",
        certno_masked=mask(person.certno) if person else "",
        psn_no=entry.psn_no,
        gend_zh=label(GENDERS, person.gend) if person and person.gend in GENDERS else "",
        insutype=entry.insutype,
        insutype_zh=label(INSUTYPES, entry.insutype),
        med_type=entry.med_type,
        med_type_zh=label(MED_TYPES, entry.med_type),
        line=entry.line,
        line_zh=_line_label(pack, entry),
        identity=entry.identity,
        identity_zh=identity_label(entry.identity),
        mdtrt_id=entry.mdtrt_id or "",
        ipt_otp_no=(visit.ipt_otp_no or "") if visit else "",
        dise_codg=entry.dise_codg or ((visit.dise_codg or "") if visit else ""),
        dise_name=entry.dise_name or "",
        begin_date=begin.isoformat(),
        end_date=end.isoformat() if end else "",
        setl_date=entry.setl_date.isoformat(),
        bill=bill,
        medfee_sumamt=entry.medfee_sumamt,
        payers=payers,
        fund_pay_sumamt=entry.fund_pay_sumamt,
        psn_part_amt=entry.psn_part_amt,
        acct_pay=entry.acct_pay,
        psn_cash_pay=entry.psn_part_amt - entry.acct_pay,
        self_parts=self_parts,
        fee_rows=fee_rows,
        fee_more=fee_more,
        fee_more_amount=fee_more_amount,
        trace=tuple(trace),
        trace_short=_short_trace(trace),
        pack_id=entry.pack_id,
        recorded_at=_local(entry.recorded_at),
        recorded_by=entry.recorded_by,
        printed_at=_local(printed_at or datetime.now(UTC)),
        counted=application.bills if application is not None else (),
        explanation=_explanation(entry),
    )


def _explanation(entry: LedgerEntry) -> tuple[str, ...]:
    """本次结算说明 of a settlement (a reversal or an application has none), from its figures and stored trace."""
    steps = stored_steps(entry.trace) if entry.kind == "settle" else []
    return tuple(explain_figures(Figures.of(entry), steps, "zh")) if steps else ()


# ------------------------------------------------------------------ HTML

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("yibao", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
)
_env.filters["yuan"] = fmt_yuan


def render_html(slip: Slip) -> str:
    return render_template("slip.html.j2", slip=slip)


def render_template(name: str, **context: Any) -> str:
    """A slip's template (``templates/``, amounts with the ``yuan`` filter)."""
    return _env.get_template(name).render(**context)


# ------------------------------------------------------------------ PDF


def pdf_of(html: str) -> bytes:
    """A slip's page (settlement or back-pay) as printed: one A4 page, shrunk to fit rather than spill onto a second.
    What differs on paper (the print button hidden) is the page's own ``@media print`` style, as when the window prints it."""
    return html_to_pdf(html, paper="A4", margin_mm=10, max_pages=1)


def render_pdf(slip: Slip) -> bytes:
    """The slip's page in the window (:func:`render_html`), printed on one A4 page."""
    return pdf_of(render_html(slip))
