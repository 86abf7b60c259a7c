"""The back-pay slip (补差结算单): one page for a back-pay payment, in Chinese.

Per corrected settlement: its date and institution, the identity it stood under and the one it was settled again
under, and per fund what it paid before, after and the difference; then the totals and the amount paid back to the
person (cash) and to their personal account. :func:`rows_of_plan` gives the same rows for a preview (nothing paid).
HTML with ``templates/backpay_slip.html.j2``; the PDF prints that page as the settlement slip does
(:func:`yibao.app.slips.pdf_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.backpay import Paid, Plan
from yibao.app.slips import pdf_of, render_template
from yibao.core.clock import beijing_text
from yibao.core.idcard import mask
from yibao.core.vocab import FIELDS, INSUTYPES, label
from yibao.policy.categories import identity_label
from yibao.settlement.backpay import AMOUNTS
from yibao.store.service_tables import Institution, LedgerEntry
from yibao.store.tables import Person

SHOWN = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay")
"""The amounts a back-pay slip shows per settlement (the funds, the person's share and its account part)."""


@dataclass(frozen=True)
class Amount:
    field: str
    label: str
    before: int
    after: int

    @property
    def diff(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class Row:
    """One corrected settlement: before and after per amount."""

    setl_id: str
    correction: str
    """The correcting entry's ``setl_id`` (empty in a preview)."""
    setl_date: date
    fixmedins_name: str
    identity_before: str
    identity_after: str
    amounts: tuple[Amount, ...]

    @property
    def refund(self) -> int:
        """Cash paid back to the person for this settlement."""
        d = {a.field: a.diff for a in self.amounts}
        return -(d["psn_part_amt"] - d["acct_pay"])

    @property
    def account_back(self) -> int:
        """Given back to the personal account."""
        return -next(a.diff for a in self.amounts if a.field == "acct_pay")


def _amounts(before: Mapping[str, int], after: Mapping[str, int]) -> tuple[Amount, ...]:
    return tuple(Amount(f, label(FIELDS, f), before[f], after[f]) for f in SHOWN)


def _names(s: Session, codes: set[str | None] | set[str]) -> dict[str, str]:
    q = sa.select(Institution.fixmedins_code, Institution.fixmedins_name).where(Institution.fixmedins_code.in_(codes))
    return {c: n for c, n in s.execute(q)}


def _name(names: dict[str, str], code: str) -> str:
    """The institution's name; a settlement at the bureau's window names none (医保经办窗口, as on the settlement slip)."""
    return names.get(code) or code or "医保经办窗口"


def rows_of_plan(s: Session, p: Plan) -> tuple[Row, ...]:
    """The rows of a preview (nothing paid yet)."""
    ids = [d.before.ref for d in p.differences]
    q = sa.select(LedgerEntry.setl_id, LedgerEntry.fixmedins_code).where(LedgerEntry.setl_id.in_(ids))
    codes = {i: c or "" for i, c in s.execute(q)}
    names = _names(s, set(codes.values()))
    return tuple(
        Row(d.before.ref, "", d.after.setl_date, _name(names, codes[d.before.ref]),
            identity_label(d.before.identity), identity_label(d.after.identity),
            _amounts(d.before.amounts, {a: getattr(d.after, a) for a in AMOUNTS}))
        for d in p.differences
    )  # fmt: skip


@dataclass(frozen=True)
class BackpaySlip:
    stem: str
    title: str
    psn_name: str
    psn_no: str
    certno_masked: str
    insutype_zh: str
    rows: tuple[Row, ...]
    recorded_by: str
    recorded_at: str
    printed_at: str

    @property
    def totals(self) -> tuple[tuple[str, int], ...]:
        return tuple((label(FIELDS, f), sum(a.diff for r in self.rows for a in r.amounts if a.field == f)) for f in SHOWN)

    @property
    def refund(self) -> int:
        return sum(r.refund for r in self.rows)

    @property
    def account_back(self) -> int:
        return sum(r.account_back for r in self.rows)


def build(s: Session, paid: Paid, *, printed_at: datetime | None = None) -> BackpaySlip:
    """The slip of a payment: per correction, the settlement as it stood before it and after it."""
    names = _names(s, {o.fixmedins_code for _, o in paid.entries})
    rows = []
    for fix, original in paid.entries:
        earlier = s.scalars(sa.select(LedgerEntry).where(LedgerEntry.corrects == original.setl_id, LedgerEntry.id < fix.id)).all()
        before = {a: getattr(original, a) + sum(getattr(e, a) for e in earlier) for a in AMOUNTS}
        after = {a: before[a] + getattr(fix, a) for a in AMOUNTS}
        was = earlier[-1].identity if earlier else original.identity
        code = original.fixmedins_code or ""
        rows.append(Row(original.setl_id, fix.setl_id, original.setl_date, _name(names, code), identity_label(was),
                        identity_label(fix.identity), _amounts(before, after)))  # fmt: skip
    person: Person = paid.person
    return BackpaySlip(
        stem=paid.stem, title="医疗费用补差结算单", psn_name=person.psn_name, psn_no=person.psn_no,
        certno_masked=mask(person.certno), insutype_zh=label(INSUTYPES, person.insutype or "390"), rows=tuple(rows),
        recorded_by=paid.recorded_by, recorded_at=beijing_text(paid.recorded_at),
        printed_at=beijing_text(printed_at or datetime.now(UTC)),
    )  # fmt: skip


def render_html(slip: BackpaySlip) -> str:
    return render_template("backpay_slip.html.j2", slip=slip)


def render_pdf(slip: BackpaySlip) -> bytes:
    """The slip's page in the window (:func:`render_html`), printed on one A4 page."""
    return pdf_of(render_html(slip))
