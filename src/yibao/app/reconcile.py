"""Reconciliation (对账): a hospital's books against the settlement ledger.

Every day a hospital (HIS) and the platform must agree on the money; after duplicate
submissions, time-outs or records lost on one side they often do not. Two transactions:

* **3201 对总账** — totals for a period (``stmt_begndate``..``stmt_enddate``, inclusive, by
  ``setl_date``) by ``insutype`` and ``clr_type``: ``medfee_sumamt``, ``fund_pay_sumamt``,
  ``acct_pay`` and ``fixmedins_setl_cnt``. The platform's figures come from the ledger, net of
  reversals (a reversal row carries the negated amounts and the original's ``setl_date``, so a
  reversed settlement counts for nothing, in amounts and in the count). ``stmt_rslt`` answers
  ``"0"`` agree / ``"1"`` disagree, with our figures beside theirs.
* **3202 对明细账** — the HIS's list of settlements (``setl_id, mdtrt_id, psn_no, medfee_sumamt,
  fund_pay_sumamt, acct_pay, refd_setl_flag``) against the ledger: every difference with its
  kind (:data:`KINDS`), the fields that differ with both values, and the totals of both sides.

``clr_type`` (清算类别) is the ``clr_type`` the settlement answer (2207/2304) gave the HIS: the
visit's ``med_type`` (11 普通门诊, 14 门诊慢特病, 21 普通住院). ``acct_pay`` (个人账户支出) is the ledger's:
what employees' personal accounts paid of their share; ``cash_payamt`` is the share less it.

``refd_setl_flag`` on a HIS record: ``"0"`` a valid settlement, ``"1"`` a reversed one. Both
usual ways to list a reversal are understood: the original ``setl_id`` flagged ``"1"``, or the
reversal's own record (our ``R…`` id, or negative amounts) flagged ``"1"`` beside the original.
A settlement made and reversed on one side and unknown to the other (a 2601 冲正 after a
time-out) moves no money and is not a difference; it is counted in ``unlisted_reversed``.

Amounts are fen inside this module; :func:`handle_3201` / :func:`handle_3202` (listed in
:data:`yibao.app.national_transactions.TRANSACTIONS`) and the REST routes speak yuan with two
decimals, exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app import national
from yibao.app.national import Context, Output
from yibao.core.errors import InputError, InputErrors, NotFound
from yibao.core.money import fmt_yuan, yuan_to_fen
from yibao.store.ledger_partitions import dated
from yibao.store.service_tables import Institution, LedgerEntry

KINDS: dict[str, str] = {
    "missing_on_platform": "平台无此结算（医院有、平台无）",
    "missing_on_his": "医院无此结算（平台有、医院无）",
    "amount_differs": "金额不一致",
    "reversed_on_platform_only": "平台已撤销，医院仍记为有效",
    "reversed_on_his_only": "医院记为已撤销，平台仍有效",
    "outside_scope": "平台有此结算，但不在本次对账范围（结算日期、险种或清算类别不同）",
    "details_differ": "就诊ID或人员编号不一致",
    "duplicate_on_his": "医院明细中重复出现",
}
"""Kinds of difference, with the Chinese a finance clerk reads."""

AMOUNT_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
FIELD_ZH = {
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支出",
    "cash_payamt": "现金支付金额",
    "fixmedins_setl_cnt": "结算笔数",
    "mdtrt_id": "就诊ID",
    "psn_no": "人员编号",
}
MAX_FEN = 10**15
"""Largest amount accepted (10 trillion yuan): anything larger is a typing error."""


def clr_type_of(med_type: str) -> str:
    """The 清算类别 of a settlement: what 2207/2304 answered as ``clr_type`` (the visit's med_type)."""
    return med_type


@dataclass(frozen=True)
class Scope:
    """What is reconciled: one institution, a period of settlement dates, optionally one insutype/clr_type."""

    fixmedins_code: str
    begin: date
    end: date
    insutype: str | None = None
    clr_type: str | None = None

    def covers(self, entry: LedgerEntry) -> bool:
        return (
            entry.fixmedins_code == self.fixmedins_code
            and self.begin <= entry.setl_date <= self.end
            and (self.insutype is None or entry.insutype == self.insutype)
            and (self.clr_type is None or clr_type_of(entry.med_type) == self.clr_type)
        )

    def out_of_scope_reason(self, entry: LedgerEntry) -> str:
        reasons = []
        if not self.begin <= entry.setl_date <= self.end:
            reasons.append(f"结算日期 {entry.setl_date.isoformat()} 不在 {self.begin.isoformat()}至{self.end.isoformat()}")
        if self.insutype is not None and entry.insutype != self.insutype:
            reasons.append(f"险种 {entry.insutype}（对账险种 {self.insutype}）")
        if self.clr_type is not None and clr_type_of(entry.med_type) != self.clr_type:
            reasons.append(f"清算类别 {clr_type_of(entry.med_type)}（对账类别 {self.clr_type}）")
        return "；".join(reasons)


@dataclass(frozen=True)
class Totals:
    """Totals of a set of settlements, fen; ``cash_payamt`` is what patients paid (个人负担 less 个人账户)."""

    medfee_sumamt: int = 0
    fund_pay_sumamt: int = 0
    acct_pay: int = 0
    cash_payamt: int = 0
    fixmedins_setl_cnt: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.medfee_sumamt + other.medfee_sumamt,
            self.fund_pay_sumamt + other.fund_pay_sumamt,
            self.acct_pay + other.acct_pay,
            self.cash_payamt + other.cash_payamt,
            self.fixmedins_setl_cnt + other.fixmedins_setl_cnt,
        )

    def yuan(self) -> dict[str, Any]:
        return {
            "medfee_sumamt": national.yuan(self.medfee_sumamt),
            "fund_pay_sumamt": national.yuan(self.fund_pay_sumamt),
            "acct_pay": national.yuan(self.acct_pay),
            "cash_payamt": national.yuan(self.cash_payamt),
            "fixmedins_setl_cnt": self.fixmedins_setl_cnt,
        }


def total(items: Iterable[Totals]) -> Totals:
    out = Totals()
    for t in items:
        out = out + t
    return out


# ------------------------------------------------------------------ totals from the ledger


HOSPITAL_SIDE = LedgerEntry.kind != "backpay"
"""Entries a hospital's totals hold: a back-pay (补差) the bureau pays itself, the HIS never had it."""


def _sums() -> tuple[Any, ...]:
    """The ledger's sums that make :class:`Totals` (a reversal row carries negated amounts and counts -1)."""
    sign = sa.case((LedgerEntry.kind == "reverse", -1), else_=1)
    return (
        sa.func.sum(LedgerEntry.medfee_sumamt),
        sa.func.sum(LedgerEntry.fund_pay_sumamt),
        sa.func.sum(LedgerEntry.psn_part_amt),
        sa.func.sum(LedgerEntry.acct_pay),
        sa.func.sum(sign),
    )


def _totals_of(medfee: Any, fund: Any, psn: Any, acct_sum: Any, count: Any) -> Totals:
    """The row of :func:`_sums` as totals; what patients paid in cash is their share less the personal account."""
    acct = int(acct_sum or 0)
    return Totals(int(medfee or 0), int(fund or 0), acct, int(psn or 0) - acct, int(count or 0))


def ledger_totals(s: Session, scope: Scope) -> dict[tuple[str, str], Totals]:
    """The platform's totals by (insutype, clr_type), net of reversals, from the ledger (back-pay left out)."""
    q = (
        sa.select(LedgerEntry.insutype, LedgerEntry.med_type, *_sums())
        .where(
            LedgerEntry.fixmedins_code == scope.fixmedins_code,
            dated(LedgerEntry, scope.begin, scope.end),
            HOSPITAL_SIDE,
        )
        .group_by(LedgerEntry.insutype, LedgerEntry.med_type)
    )
    if scope.insutype is not None:
        q = q.where(LedgerEntry.insutype == scope.insutype)
    out: dict[tuple[str, str], Totals] = {}
    for insutype, med_type, *sums in s.execute(q):
        key = (insutype, clr_type_of(med_type))
        if scope.clr_type is not None and key[1] != scope.clr_type:
            continue
        out[key] = out.get(key, Totals()) + _totals_of(*sums)
    return dict(sorted(out.items()))


DAILY_MAX_DAYS = 92
"""The longest period of the per-institution, per-day totals (a quarter): a longer one is refused, not truncated."""


def daily_totals(s: Session, begin: date, end: date, fixmedins_code: str | None = None) -> list[tuple[str, date, Totals]]:
    """The platform's totals per institution and settlement day (net of reversals, as 3201 counts them), in order of
    institution and day; every institution, or only ``fixmedins_code``."""
    if end < begin:
        raise InputError(
            "reconcile",
            "end",
            end.isoformat(),
            f"a day on or after {begin.isoformat()}",
            expected_zh=f"不早于 {begin.isoformat()} 的日期",
        )
    if (end - begin).days >= DAILY_MAX_DAYS:
        raise InputError(
            "reconcile", "end", end.isoformat(), f"a period of at most {DAILY_MAX_DAYS} days",
            expected_zh=f"不超过 {DAILY_MAX_DAYS} 天的期间",
        )  # fmt: skip
    q = (
        sa.select(LedgerEntry.fixmedins_code, LedgerEntry.setl_date, *_sums())
        .where(dated(LedgerEntry, begin, end), HOSPITAL_SIDE)
        .group_by(LedgerEntry.fixmedins_code, LedgerEntry.setl_date)
        .order_by(LedgerEntry.fixmedins_code, LedgerEntry.setl_date)
    )
    if fixmedins_code is not None:
        q = q.where(LedgerEntry.fixmedins_code == fixmedins_code)
    return [(code, day, _totals_of(*sums)) for code, day, *sums in s.execute(q)]


def field_diffs(his: Totals, ours: Totals, fields: Iterable[str]) -> list[dict[str, Any]]:
    """The fields where two totals differ, each with both values (yuan; counts as numbers)."""
    out = []
    for f in fields:
        a, b = getattr(his, f), getattr(ours, f)
        if a != b:
            conv = (lambda v: v) if f == "fixmedins_setl_cnt" else national.yuan
            out.append({"field": f, "field_zh": FIELD_ZH[f], "his": conv(a), "platform": conv(b)})
    return out


# ------------------------------------------------------------------ parsing (yuan in, fen inside)


def parse_amount(v: Any, where: str, key: str) -> int:
    """Exact yuan (at most two decimals, any sign: a reversal record may be negative) to fen."""
    if v is None or v == "":
        raise InputError(where, key, v, "an amount in yuan (必填)")
    try:
        fen = yuan_to_fen(v, thousands=False)  # a HIS sends numbers: no comma is read
    except (ValueError, ArithmeticError) as exc:  # ArithmeticError: Decimal overflow on absurd exponents
        raise InputError(where, key, v, f"an amount in yuan with at most 2 decimals ({exc})") from None
    if abs(fen) > MAX_FEN:
        raise InputError(where, key, v, "an amount below 10,000,000,000,000 yuan")
    return fen


def parse_date(v: Any, where: str, key: str) -> date:
    text = "" if v is None else str(v).strip()
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(where, key, v, "a date yyyy-MM-dd (or yyyy-MM-dd HH:mm:ss)") from None
    if not 1900 <= day.year <= 2200:
        raise InputError(where, key, v, "a date between 1900 and 2200")
    return day


def parse_count(v: Any, where: str, key: str) -> int:
    text = "" if v is None or isinstance(v, bool) else str(v).strip()
    if not text.isdigit() or len(text) > 12:
        raise InputError(where, key, v, "a whole number of settlements >= 0")
    return int(text)


def _code(v: Any, where: str, key: str) -> str | None:
    if v is None or v == "":
        return None
    text = str(v).strip() if isinstance(v, str | int) and not isinstance(v, bool) else ""
    if not text or len(text) > 8:
        raise InputError(where, key, v, "a code such as 390 (insutype) or 21 (clr_type)")
    return text


def parse_scope(s: Session, fixmedins_code: str, data: dict[str, Any], where: str, begin_key: str, end_key: str) -> Scope:
    """Institution, period and optional insutype/clr_type; the institution must be registered."""
    if not fixmedins_code or s.get(Institution, fixmedins_code) is None:
        raise NotFound(where, "fixmedins_code", fixmedins_code, "a registered institution (定点医药机构)")
    begin = parse_date(data.get(begin_key), where, begin_key)
    end = parse_date(data.get(end_key), where, end_key)
    if end < begin:
        raise InputError(where, end_key, data.get(end_key), f"a date on or after {begin_key} ({begin.isoformat()})")
    return Scope(
        fixmedins_code,
        begin,
        end,
        _code(data.get("insutype"), where, "insutype"),
        _code(data.get("clr_type"), where, "clr_type"),
    )


@dataclass(frozen=True)
class HisRecord:
    """One settlement as the HIS has it (fen)."""

    row: int
    setl_id: str
    mdtrt_id: str | None
    psn_no: str | None
    medfee_sumamt: int
    fund_pay_sumamt: int
    acct_pay: int
    refd_setl_flag: str

    def as_output(self) -> dict[str, Any]:
        return {
            "setl_id": self.setl_id,
            "mdtrt_id": self.mdtrt_id,
            "psn_no": self.psn_no,
            "medfee_sumamt": national.yuan(self.medfee_sumamt),
            "fund_pay_sumamt": national.yuan(self.fund_pay_sumamt),
            "acct_pay": national.yuan(self.acct_pay),
            "refd_setl_flag": self.refd_setl_flag,
        }


def _text(v: Any, where: str, key: str, required: bool) -> str | None:
    if v is None or v == "":
        if required:
            raise InputError(where, key, v, "a value (必填)")
        return None
    text = str(v).strip() if isinstance(v, str | int) and not isinstance(v, bool) else ""
    if not text or len(text) > 64:
        raise InputError(where, key, v, "a text of 1-64 characters")
    return text


def parse_records(detail: Any, where: str = "detail") -> list[HisRecord]:
    """The HIS's list; every bad row is named (all of them, not only the first)."""
    if not isinstance(detail, list):
        raise InputError(where, where, detail, f"a list input.{where} of settlements (may be empty)")
    out: list[HisRecord] = []
    errors: list[InputError] = []
    for i, d in enumerate(detail):
        at = f"{where}[{i}]"
        try:
            if not isinstance(d, dict):
                raise InputError(at, where, d, "an object")
            flag = str(d.get("refd_setl_flag") if d.get("refd_setl_flag") not in (None, "") else "0")
            if flag not in ("0", "1"):
                raise InputError(at, "refd_setl_flag", d.get("refd_setl_flag"), '"0" settlement / "1" reversed (退费结算标志)')
            setl_id = _text(d.get("setl_id"), at, "setl_id", True)
            assert setl_id is not None
            acct = d.get("acct_pay")
            out.append(
                HisRecord(
                    i,
                    setl_id,
                    _text(d.get("mdtrt_id"), at, "mdtrt_id", False),
                    _text(d.get("psn_no"), at, "psn_no", False),
                    parse_amount(d.get("medfee_sumamt"), at, "medfee_sumamt"),
                    parse_amount(d.get("fund_pay_sumamt"), at, "fund_pay_sumamt"),
                    0 if acct is None or acct == "" else parse_amount(acct, at, "acct_pay"),
                    flag,
                )
            )
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return out


# ------------------------------------------------------------------ detail reconciliation


@dataclass
class Difference:
    kind: str
    setl_id: str
    mdtrt_id: str | None
    psn_no: str | None
    fields: list[dict[str, Any]] = field(default_factory=list)
    his: list[dict[str, Any]] = field(default_factory=list)
    platform: dict[str, Any] | None = None
    dscr: str = ""

    def as_output(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kind_zh": KINDS[self.kind],
            "setl_id": self.setl_id,
            "mdtrt_id": self.mdtrt_id,
            "psn_no": self.psn_no,
            "fields": self.fields,
            "his": self.his,
            "platform": self.platform,
            "dscr": self.dscr,
        }


@dataclass
class DetailResult:
    scope: Scope
    differences: list[Difference]
    his_totals: Totals
    platform_totals: Totals
    matched: int
    """Settlements found on both sides in agreement (valid on both, or reversed on both)."""
    unlisted_reversed: int
    """Settled and reversed on one side, unknown to the other: no money moved, not a difference."""

    @property
    def agree(self) -> bool:
        return not self.differences and self.his_totals == self.platform_totals

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for d in self.differences:
            out[d.kind] += 1
        return out


def _platform_view(e: LedgerEntry, reversed_by: str | None) -> dict[str, Any]:
    return {
        "setl_id": e.setl_id,
        "mdtrt_id": e.mdtrt_id,
        "psn_no": e.psn_no,
        "setl_date": e.setl_date.isoformat(),
        "insutype": e.insutype,
        "clr_type": clr_type_of(e.med_type),
        "medfee_sumamt": national.yuan(e.medfee_sumamt),
        "fund_pay_sumamt": national.yuan(e.fund_pay_sumamt),
        "acct_pay": national.yuan(e.acct_pay),
        "reversed_by": reversed_by,
    }


def _entries(s: Session, where: Any, ids: list[str] | None = None) -> list[LedgerEntry]:
    if ids is None:
        return list(s.scalars(sa.select(LedgerEntry).where(where)))
    out: list[LedgerEntry] = []
    for i in range(0, len(ids), 500):
        out.extend(s.scalars(sa.select(LedgerEntry).where(where, LedgerEntry.setl_id.in_(ids[i : i + 500]))))
    return out


def _reversals(s: Session, setl_ids: list[str]) -> dict[str, str]:
    """Original setl_id -> the reversal's setl_id, for those reversed."""
    out: dict[str, str] = {}
    for i in range(0, len(setl_ids), 500):
        chunk = setl_ids[i : i + 500]
        rows = s.execute(sa.select(LedgerEntry.reverses, LedgerEntry.setl_id).where(LedgerEntry.reverses.in_(chunk)))
        out.update({orig: rev for orig, rev in rows if orig is not None})
    return out


def _money(r: HisRecord) -> dict[str, int]:
    return {f: getattr(r, f) for f in AMOUNT_FIELDS}


def reconcile_detail(s: Session, scope: Scope, records: list[HisRecord]) -> DetailResult:
    """Every settlement of the HIS's list against the ledger, and every ledger settlement in scope against the list."""
    own = LedgerEntry.fixmedins_code == scope.fixmedins_code
    listed = sorted({r.setl_id for r in records})
    known = {e.setl_id: e for e in _entries(s, own, listed)}
    # a reversal record the HIS lists under our R… id stands for its original
    originals = sorted({e.reverses for e in known.values() if e.kind == "reverse" and e.reverses} - set(known))
    known.update({e.setl_id: e for e in _entries(s, own, originals)})
    period = sa.and_(own, LedgerEntry.kind == "settle", dated(LedgerEntry, scope.begin, scope.end))
    in_scope = {e.setl_id: e for e in _entries(s, period) if scope.covers(e)}
    all_settles = sorted({k for k, e in known.items() if e.kind == "settle"} | set(in_scope))
    reversed_by = _reversals(s, all_settles)

    # the HIS's records per settlement (its original setl_id), in list order
    by_key: dict[str, list[HisRecord]] = {}
    reversal_record: dict[int, bool] = {}
    for r in records:
        e = known.get(r.setl_id)
        is_rev = r.refd_setl_flag == "1" and ((e is not None and e.kind == "reverse") or r.medfee_sumamt < 0)
        reversal_record[r.row] = is_rev
        key = e.reverses if e is not None and e.kind == "reverse" and e.reverses else r.setl_id
        by_key.setdefault(key, []).append(r)

    his_totals = Totals()
    for r in records:
        if r.refd_setl_flag == "0":
            cash = r.medfee_sumamt - r.fund_pay_sumamt - r.acct_pay
            his_totals = his_totals + Totals(r.medfee_sumamt, r.fund_pay_sumamt, r.acct_pay, cash, 1)
        elif reversal_record[r.row]:  # a reversal record takes its settlement back, whatever sign the HIS wrote
            med, fund, acct = -abs(r.medfee_sumamt), -abs(r.fund_pay_sumamt), -abs(r.acct_pay)
            his_totals = his_totals + Totals(med, fund, acct, med - fund - acct, -1)
    platform_totals = total(ledger_totals(s, scope).values())

    diffs: list[Difference] = []
    matched = unlisted = 0
    for key, recs in by_key.items():
        first = next((r for r in recs if not reversal_record[r.row]), recs[0])
        seen: dict[str, int] = {}
        for r in recs:
            seen[r.setl_id] = seen.get(r.setl_id, 0) + 1
        for sid, n in seen.items():
            if n > 1:
                twins = [r.as_output() for r in recs if r.setl_id == sid]
                text = f"医院明细中 {sid} 出现 {n} 次"
                diffs.append(Difference("duplicate_on_his", sid, first.mdtrt_id, first.psn_no, [], twins, None, text))
        his_reversed = any(r.refd_setl_flag == "1" for r in recs)
        his_out = [r.as_output() for r in recs]
        e = known.get(key)
        if e is None or e.kind != "settle":
            if his_reversed and not any(r.refd_setl_flag == "0" or reversal_record[r.row] for r in recs):
                unlisted += 1  # reversed on the HIS, never settled here: no money moved
                continue
            text = f"平台台账中没有本机构的结算 {key}"
            diffs.append(Difference("missing_on_platform", key, first.mdtrt_id, first.psn_no, [], his_out, None, text))
            continue
        rev = reversed_by.get(key)
        plat = _platform_view(e, rev)
        if not scope.covers(e):
            text = scope.out_of_scope_reason(e)
            diffs.append(Difference("outside_scope", key, e.mdtrt_id, e.psn_no, [], his_out, plat, text))
            continue
        if rev is not None and not his_reversed:
            text = f"平台已由 {rev} 撤销该结算（{fmt_yuan(e.medfee_sumamt)}元），医院仍记为有效"
            diffs.append(Difference("reversed_on_platform_only", key, e.mdtrt_id, e.psn_no, [], his_out, plat, text))
            continue
        if rev is None and his_reversed:
            text = f"医院记为已撤销，平台结算 {key}（{fmt_yuan(e.medfee_sumamt)}元）仍有效"
            diffs.append(Difference("reversed_on_his_only", key, e.mdtrt_id, e.psn_no, [], his_out, plat, text))
            continue
        if rev is not None:
            matched += 1  # reversed on both
            continue
        ours = {f: getattr(e, f) for f in AMOUNT_FIELDS}
        theirs = _money(first)
        money = [
            {"field": f, "field_zh": FIELD_ZH[f], "his": national.yuan(theirs[f]), "platform": national.yuan(ours[f])}
            for f in AMOUNT_FIELDS
            if theirs[f] != ours[f]
        ]
        other = [
            {"field": f, "field_zh": FIELD_ZH[f], "his": getattr(first, f), "platform": getattr(e, f)}
            for f in ("mdtrt_id", "psn_no")
            if getattr(first, f) is not None and getattr(first, f) != getattr(e, f)
        ]
        if money:
            text = "；".join(f"{d['field_zh']} 医院 {d['his']} 元，平台 {d['platform']} 元" for d in money)
            diffs.append(Difference("amount_differs", key, e.mdtrt_id, e.psn_no, money + other, his_out, plat, text))
        elif other:
            text = "；".join(f"{d['field_zh']} 医院 {d['his']}，平台 {d['platform']}" for d in other)
            diffs.append(Difference("details_differ", key, e.mdtrt_id, e.psn_no, other, his_out, plat, text))
        else:
            matched += 1
    for key, e in sorted(in_scope.items(), key=lambda kv: (kv[1].setl_date, kv[0])):
        if key in by_key:
            continue
        rev = reversed_by.get(key)
        if rev is not None:
            unlisted += 1  # settled and reversed here (e.g. 2601 after a time-out): no money moved
            continue
        text = f"医院明细中没有平台结算 {key}（{e.setl_date.isoformat()}，{fmt_yuan(e.medfee_sumamt)}元）"
        diffs.append(Difference("missing_on_his", key, e.mdtrt_id, e.psn_no, [], [], _platform_view(e, None), text))
    order = list(KINDS)
    diffs.sort(key=lambda d: (order.index(d.kind), d.setl_id))
    return DetailResult(scope, diffs, his_totals, platform_totals, matched, unlisted)


def detail_output(result: DetailResult) -> dict[str, Any]:
    """The answer of 3202 and of ``POST /api/reconcile/detail`` (yuan)."""
    sc = result.scope
    return {
        "stmtinfo": {
            "fixmedins_code": sc.fixmedins_code,
            "stmt_begndate": sc.begin.isoformat(),
            "stmt_enddate": sc.end.isoformat(),
            "insutype": sc.insutype,
            "clr_type": sc.clr_type,
            "stmt_rslt": "0" if result.agree else "1",
            "stmt_rslt_dscr": _dscr(result),
        },
        "differences": [d.as_output() for d in result.differences],
        "totals": {
            "his": result.his_totals.yuan(),
            "platform": result.platform_totals.yuan(),
            "diff": field_diffs(result.his_totals, result.platform_totals, (*AMOUNT_FIELDS, "fixmedins_setl_cnt")),
            "counts": result.counts(),
            "matched": result.matched,
            "unlisted_reversed": result.unlisted_reversed,
        },
    }


def _dscr(result: DetailResult) -> str:
    if result.agree:
        return f"明细账平：{result.matched} 笔一致"
    parts = [f"{KINDS[k]} {n} 笔" for k, n in result.counts().items() if n]
    if result.his_totals != result.platform_totals:
        parts.append("合计不一致")
    return "明细账不平：" + "；".join(parts)


# ------------------------------------------------------------------ totals reconciliation (3201)


def totals_output(scope: Scope, his: Totals, ours: Totals, setl_optins: str | None) -> dict[str, Any]:
    diffs = field_diffs(his, ours, (*AMOUNT_FIELDS, "fixmedins_setl_cnt"))
    if diffs:
        dscr = "总账不平：" + "；".join(f"{d['field_zh']} 医院 {d['his']}，平台 {d['platform']}" for d in diffs)
    else:
        dscr = f"总账平：{ours.fixmedins_setl_cnt} 笔，医疗费总额 {fmt_yuan(ours.medfee_sumamt)} 元"
    return {
        "stmtinfo": {
            "setl_optins": setl_optins,
            "stmt_rslt": "1" if diffs else "0",
            "stmt_rslt_dscr": dscr,
            "fixmedins_code": scope.fixmedins_code,
            "insutype": scope.insutype,
            "clr_type": scope.clr_type,
            "stmt_begndate": scope.begin.isoformat(),
            "stmt_enddate": scope.end.isoformat(),
            "medfee_sumamt": national.yuan(ours.medfee_sumamt),
            "fund_pay_sumamt": national.yuan(ours.fund_pay_sumamt),
            "acct_pay": national.yuan(ours.acct_pay),
            "fixmedins_setl_cnt": ours.fixmedins_setl_cnt,
            "his": {k: v for k, v in his.yuan().items() if k != "cash_payamt"},
            "diff": diffs,
        }
    }


def handle_3201(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    """3201 医药机构费用结算对总账."""
    data = inp.get("data")
    if not isinstance(data, dict):
        raise InputError("3201", "data", data, "an object input.data")
    scope = parse_scope(s, ctx.fixmedins_code, data, "3201", "stmt_begndate", "stmt_enddate")
    acct = data.get("acct_pay")
    his = Totals(
        parse_amount(data.get("medfee_sumamt"), "3201", "medfee_sumamt"),
        parse_amount(data.get("fund_pay_sumamt"), "3201", "fund_pay_sumamt"),
        0 if acct is None or acct == "" else parse_amount(acct, "3201", "acct_pay"),
        0,
        parse_count(data.get("fixmedins_setl_cnt"), "3201", "fixmedins_setl_cnt"),
    )
    ours = total(ledger_totals(s, scope).values())
    setl_optins = str(data.get("setl_optins") or ctx.pack.admdvs or "") or None
    return totals_output(scope, his, ours, setl_optins), None


def handle_3202(s: Session, ctx: Context, inp: dict[str, Any]) -> tuple[Output, str | None]:
    """3202 医药机构费用结算对明细账: a ``data`` header and the ``detail`` list (instead of a file)."""
    data = inp.get("data")
    if not isinstance(data, dict):
        raise InputError("3202", "data", data, "an object input.data")
    scope = parse_scope(s, ctx.fixmedins_code, data, "3202", "stmt_begndate", "stmt_enddate")
    records = parse_records(inp.get("detail"))
    result = reconcile_detail(s, scope, records)
    out = detail_output(result)
    # the header's own totals, when sent, are checked against the platform as in 3201
    if data.get("medfee_sumamt") not in (None, "") or data.get("fixmedins_setl_cnt") not in (None, ""):
        fields = []
        header = {}
        for f in ("medfee_sumamt", "fund_pay_sumamt", "cash_payamt"):
            if data.get(f) not in (None, ""):
                header[f] = parse_amount(data[f], "3202", f)
                fields.append(f)
        if data.get("fixmedins_setl_cnt") not in (None, ""):
            header["fixmedins_setl_cnt"] = parse_count(data["fixmedins_setl_cnt"], "3202", "fixmedins_setl_cnt")
            fields.append("fixmedins_setl_cnt")
        header_diffs = field_diffs(Totals(**header), result.platform_totals, fields)
        out["totals"]["header_diff"] = header_diffs
        if header_diffs:
            out["stmtinfo"]["stmt_rslt"] = "1"
            out["stmtinfo"]["stmt_rslt_dscr"] += "；报文头合计与平台不一致"
    out["stmtinfo"]["clr_optins"] = str(data.get("clr_optins") or ctx.pack.admdvs or "") or None
    return out, None
