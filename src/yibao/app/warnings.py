"""Monitoring runs and the warning list in the database: run a period, list, and move a warning on.

``run_monitoring`` reads the ledger (settlements that stand, from 1 January to the period's
end), evaluates the pack's warning rules and writes the warnings: a warning already known for
the same rule, person and key is updated in place (amounts, settlements), never duplicated. A
re-run of an earlier period does not move amounts backwards. ``step`` moves a warning along
the follow-up workflow, recording who and when; a confirmation of the risk records the identity
the warning's rule names (``confirmed_identity``) from the day the bureau confirmed, which is how
the confirmed person reaches the tiers of that identity (tilted assistance) in later settlements.

Warnings that end in help:

- ``assisted`` names the ledger entry that paid the help (:func:`paying_entry`): a standing settlement of the
  person that paid tilted assistance (``oth_pay``), or a standing application for assistance (``apply``);
  the amount recorded is what that entry paid. :func:`assist_by_application` decides an application through
  :mod:`yibao.app.assistance` (the one path that writes ``apply`` entries) and records it on the warning in
  the same transaction.
- :func:`grant_tilted_identity`: a person confirmed at risk is given an identity of the pack's tilted-assistance
  categories (source ``监测预警``, with its first and last day, who and when), so later bills pay it at settlement.
- A closed warning whose measure rises in a later run is re-opened (closed → new, the rise on its timeline): the
  help recorded stays on it, the new burden is followed up again; a fall is noted, the warning stays closed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app import assistance
from yibao.app.ledger import now
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, NotFound
from yibao.core.identities import IdentityPeriod
from yibao.core.money import fmt_yuan
from yibao.core.phrasebook import Phrasebook
from yibao.policy.categories import identity_label
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Monitoring
from yibao.rules.monitoring import Period, evaluate, period_rules
from yibao.rules.warning_workflow import check_step
from yibao.store.big_reads import roomy
from yibao.store.claims import from_ledger
from yibao.store.db import Database
from yibao.store.monitoring_bounds import fold
from yibao.store.monitoring_reads import found
from yibao.store.monitoring_tables import MonitoringRun, WarningCase, WarningEvent
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Identity, Person

AMOUNT_FIELDS = (
    "measure_amt", "threshold_amt", "excess_amt", "medfee_sumamt", "fund_pay_sumamt", "psn_part_amt", "hh_self_pay", "hh_persons",
)  # fmt: skip


@dataclass
class RunResult:
    period: str
    pack_id: str
    found: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None


def monitoring_of(pack: PolicyPack, period: Period) -> Monitoring:
    if not pack.covers(period.end):
        raise InputError(
            "monitoring", "period", period.code, f"a period inside the pack {pack.pack_id} ({pack.valid_from}–{pack.valid_to})"
        )
    mon = pack.at(period.end).monitoring
    if mon is None:
        raise InputError(pack.pack_id, "monitoring", None, "warning rules in the pack (policy.monitoring.rules)")
    return mon


def find(session: Session, period: Period, pack: PolicyPack) -> pl.DataFrame:
    """The warnings of ``period`` as the rules see the ledger now (writes nothing)."""
    return evaluate_ledger(session, monitoring_of(pack, period), period, over_only=True)


def evaluate_ledger(
    session: Session, mon: Monitoring, period: Period, *, over_only: bool, prefilter: bool = True
) -> pl.DataFrame:
    """The rules' verdicts on the people who can have a warning (:func:`yibao.store.monitoring_reads.candidates`:
    over a line, with their households; with ``over_only=False`` also those already warned this year, whom a run
    updates). Only those people's settlements are read; the rules decide as on the whole ledger.

    ``prefilter=False``: every settlement of the year is read (the reference the prefilter is tested against)."""
    roomy(session, jit=False)  # compiling the plans costs seconds, more than the reads they would speed up
    persons = found(session, mon, period, with_known=not over_only) if prefilter else None
    frame = from_ledger(session, date(period.year, 1, 1), period.end, persons=persons)
    return evaluate(frame, mon, period, over_only=over_only)


def run_monitoring(
    db: Database, pack: PolicyPack, period: Period, user: str, trigger: str = "manual", *, prefilter: bool = True
) -> RunResult:
    """Evaluate the period's rules and write the warnings (``prefilter``: see :func:`evaluate_ledger`). The ledger
    rows written since the last run are folded into the people's bounds first (:func:`yibao.store.monitoring_bounds.fold`)."""
    out = RunResult(period.code, pack.pack_id)
    if prefilter:
        fold(db.engine)
    with db.unit_of_work() as s:
        mon = monitoring_of(pack, period)
        everyone = evaluate_ledger(s, mon, period, over_only=False, prefilter=prefilter)
        found = everyone.filter(pl.col("is_over"))
        stamp = now()
        people = sa.select(Person.psn_no, Person.id).where(Person.psn_no.in_(found["psn_no"].unique().to_list()))
        ids: dict[str, int] = {psn: pid for psn, pid in s.execute(people)}
        rules = period_rules(mon, period)
        yearly = {k for k, rule in rules.items() if rule.scope == "year"}
        same = sa.select(WarningCase).where(WarningCase.year == period.year, WarningCase.rule.in_(list(rules)))
        known = {(w.rule, w.person_id, w.key): w for w in s.scalars(same)}
        seen: set[int] = set()
        created: list[WarningCase] = []
        for row in found.iter_rows(named=True):
            out.found += 1
            out.by_rule[row["rule"]] = out.by_rule.get(row["rule"], 0) + 1
            w = known.get((row["rule"], ids[row["psn_no"]], row["key"]))
            if w is None:
                w = WarningCase(
                    rule=row["rule"], kind=row["kind"], key=row["key"], person_id=ids[row["psn_no"]], psn_no=row["psn_no"],
                    year=row["year"], first_period=period.code, last_period=period.code, status="new", updated_at=stamp,
                    recorded_at=stamp, recorded_by=user, **_values(row),
                )  # fmt: skip
                s.add(w)
                created.append(w)
                out.created += 1
                continue
            seen.add(w.id)
            _update(s, w, row, period, user, trigger, out, "金额更新")
        s.flush()  # the new warnings in a few statements (their ids for their first events), not one each
        for w in created:
            _event(s, w, None, "new", user, f"monitoring:{trigger}", period=period.code, amount=w.measure_amt)
        # known warnings whose person is no longer over the line (a reversal, a correction): amounts follow the ledger
        unseen = [w for w in known.values() if w.id not in seen and w.rule in yearly]
        mine = everyone.filter(pl.col("psn_no").is_in([w.psn_no for w in unseen]))
        now_of = {(r["rule"], r["psn_no"], r["key"]): r for r in mine.iter_rows(named=True)}
        for w in unseen:
            row = now_of.get((w.rule, w.psn_no, w.key)) or _nothing(w)
            what = "已低于预警线" if row["measure_amt"] <= row["threshold_amt"] else "身份已不在监测范围"
            _update(s, w, row, period, user, trigger, out, what)
        run = MonitoringRun(
            period=period.code, pack_id=pack.pack_id, found=out.found, created=out.created, updated=out.updated,
            trigger=trigger, recorded_at=stamp, recorded_by=user,
        )  # fmt: skip
        s.add(run)
        s.flush()
        out.run_id = run.id
        s.commit()
    return out


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {f: row[f] for f in AMOUNT_FIELDS} | {
        "identity": row["identity"], "crossing_setl_id": row["crossing_setl_id"], "crossing_date": row["crossing_date"],
        "setl_ids": json.dumps(row["setl_ids"]),
    }  # fmt: skip


def _nothing(w: WarningCase) -> dict[str, Any]:
    """A warning's figures once none of its settlements count any more (all reversed)."""
    zero = dict.fromkeys(("measure_amt", "medfee_sumamt", "fund_pay_sumamt", "psn_part_amt"), 0)
    return zero | {"hh_self_pay": w.hh_self_pay, "hh_persons": w.hh_persons} | {
        "threshold_amt": w.threshold_amt, "excess_amt": -w.threshold_amt, "identity": w.identity,
        "crossing_setl_id": None, "crossing_date": None, "setl_ids": [],
    }  # fmt: skip


MONITORING_NOTES_EN = Phrasebook(
    "en",
    (
        ("金额更新：{} → {} 元", "amount updated: {} → {} yuan"),
        ("已低于预警线：{} → {} 元", "now below the line: {} → {} yuan"),
        ("身份已不在监测范围：{} → {} 元", "the identity is no longer watched: {} → {} yuan"),
        ("办结后金额上升，重新打开：{} → {} 元", "risen after closing, re-opened: {} → {} yuan"),
        ("办结后金额变化：{} → {} 元", "changed after closing: {} → {} yuan"),
        ("登记倾斜救助身份：{date} 至 {}", "tilted-assistance identity recorded: {} to {}"),
        ("依申请救助：{} 元", "assistance on application: {} yuan"),
    ),
)
"""The notes the monthly run writes on a warning it updates, in English (notes people write stay as written)."""


def note_in(note: str | None, lang: str) -> str | None:
    """An event's note in ``lang``: the monthly run's own notes are said in English too."""
    if note is None or lang == "zh":
        return note
    return MONITORING_NOTES_EN.say(note) or note


def _update(
    s: Session, w: WarningCase, row: dict[str, Any], period: Period, user: str, trigger: str, out: RunResult, what: str
) -> None:
    """Amounts of a known warning as the ledger has them now; an earlier period run later changes nothing.

    A closed warning whose measure rises is re-opened (closed → new); any other change is noted on its timeline."""
    values = _values(row)
    if period.code < w.last_period or all(getattr(w, k) == v for k, v in values.items()):
        out.unchanged += 1
        return
    before = w.status
    if before == "closed":
        what = "办结后金额上升，重新打开" if row["measure_amt"] > w.measure_amt else "办结后金额变化"
        if row["measure_amt"] > w.measure_amt:
            w.status = "new"
    note = f"{what}：{w.measure_amt / 100:.2f} → {row['measure_amt'] / 100:.2f} 元"  # said in English by note_in
    for k, v in values.items():
        setattr(w, k, v)
    w.last_period, w.updated_at = period.code, now()
    _event(s, w, before, w.status, user, f"monitoring:{trigger}", period=period.code, amount=w.measure_amt, note=note)
    out.updated += 1


def _event(
    s: Session, w: WarningCase, before: str | None, after: str, user: str, source: str, *, period: str | None = None,
    bureau: str | None = None, note: str | None = None, amount: int | None = None, setl_id: str | None = None,
) -> None:  # fmt: skip
    s.add(
        WarningEvent(
            warning_id=w.id,
            from_status=before,
            to_status=after,
            bureau=bureau,
            note=note,
            amount=amount,
            setl_id=setl_id,
            period=period,
            source=source[:255],
            recorded_at=now(),
            recorded_by=user,
        )
    )


def get_warning(s: Session, warning_id: int, *, lock: bool = False) -> WarningCase:
    q = sa.select(WarningCase).where(WarningCase.id == warning_id)
    if lock and s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    w = s.scalar(q)
    if w is None:
        raise NotFound("warning", "id", warning_id, "a known warning number (预警编号)")
    return w


def confirmed_identity(pack: PolicyPack, w: WarningCase) -> str | None:
    """The identity the warning's rule has a confirmation record (``None``: none, or the pack has no such rule)."""
    day = w.crossing_date or date(w.year, 1, 1)
    if not pack.covers(day):
        return None
    mon = pack.at(day).monitoring
    rule = mon.rules.get(w.rule) if mon is not None else None
    return rule.confirmed_identity if rule is not None else None


def grant_source(warning_id: int) -> str:
    """The ``source_file`` of the identity a confirmation of warning ``warning_id`` records (:func:`_grant_identity`)."""
    return f"预警 {warning_id}"


def recorded_identities(s: Session, warning_ids: Sequence[int]) -> dict[int, Identity]:
    """The identity each warning's confirmation recorded (the rule's ``confirmed_identity``), by warning number;
    a warning whose person already held it on the day recorded none and is left out."""
    by_source = {grant_source(i): i for i in warning_ids}
    out: dict[int, Identity] = {}
    names = list(by_source)
    for lo in range(0, len(names), 500):  # the warnings of a push list in chunks: bound parameters stay few
        q = sa.select(Identity).where(Identity.source_file.in_(names[lo : lo + 500])).order_by(Identity.id)
        out |= {by_source[i.source_file]: i for i in s.scalars(q) if i.source_file is not None}
    return out


def help_reversals(s: Session, setl_ids: Sequence[str | None]) -> dict[str, str]:
    """The reversal of each recorded help entry that has since been reversed (help setl_id -> reversing setl_id): a
    warning keeps the help it recorded, and says so when that entry no longer stands."""
    wanted = sorted({i for i in setl_ids if i})
    out: dict[str, str] = {}
    for lo in range(0, len(wanted), 500):
        q = sa.select(LedgerEntry.reverses, LedgerEntry.setl_id).where(LedgerEntry.reverses.in_(wanted[lo : lo + 500]))
        out |= {str(orig): str(undo) for orig, undo in s.execute(q)}
    return out


def held_zh(i: Identity) -> str:
    """An identity's days, in Chinese: 自 … 起, or 自 … 至 …."""
    return f"自 {i.valid_from} 至 {i.valid_to}" if i.valid_to else f"自 {i.valid_from} 起"


def held_en(i: Identity) -> str:
    return f"from {i.valid_from} to {i.valid_to}" if i.valid_to else f"from {i.valid_from}"


def _grant_identity(s: Session, w: WarningCase, pack: PolicyPack, on: date, user: str, where: str) -> None:
    """Record the rule's ``confirmed_identity`` for the person from ``on`` (unless already held that day)."""
    category = confirmed_identity(pack, w)
    if category is None:
        return
    if on > beijing_today() or (w.crossing_date is not None and on < w.crossing_date):
        crossed = w.crossing_date.isoformat() if w.crossing_date else "—"
        raise InputError(
            where, "on", on.isoformat(), f"核实日期（YYYY-MM-DD）：不早于越线日 {crossed}，不晚于今天",
            expected_en=f"the day the risk was confirmed (YYYY-MM-DD): not before the day the line was crossed ({crossed}), "
            "not after today",
        )  # fmt: skip
    held = s.scalar(
        sa.select(Identity.id).where(
            Identity.person_id == w.person_id, Identity.category == category, Identity.valid_from <= on,
            sa.or_(Identity.valid_to.is_(None), Identity.valid_to >= on),
        )
    )  # fmt: skip
    if held is not None:
        return
    bureau = pack.at(w.crossing_date or date(w.year, 1, 1)).category_bureau(category)
    s.add(
        Identity(
            person_id=w.person_id, category=category, valid_from=on, valid_to=None, source_bureau=bureau,
            source_file=grant_source(w.id), recorded_at=now(), recorded_by=user,
        )
    )  # fmt: skip


def step(
    s: Session, warning_id: int, to: str, user: str, *, bureaus: Sequence[str] = (), note: str | None = None,
    amount: int | None = None, setl_id: str | None = None, source: str = "api", pack: PolicyPack | None = None,
    on: date | None = None,
) -> WarningCase:  # fmt: skip
    """Move a warning one step along the workflow (in the caller's transaction).

    ``at_risk`` with ``pack``: the identity the warning's rule names (``confirmed_identity``) is recorded for
    the person from ``on``, the day the bureau confirmed (default today)."""
    w = get_warning(s, warning_id, lock=True)
    where = f"预警 {warning_id}"
    note = note.strip() if note else None
    check_step(where, w.status, to, bureaus=tuple(bureaus), note=note, amount=amount, setl_id=setl_id, kind=w.kind)
    if to == "at_risk" and pack is not None:
        _grant_identity(s, w, pack, on or beijing_today(), user, where)
    if to == "assisted":
        assert setl_id is not None
        entry, paid = paying_entry(s, w, setl_id)
        if amount is not None and amount != paid:
            raise InputError(
                where, "amount", fmt_yuan(amount), f"该笔台账实际支付的救助金额 {fmt_yuan(paid)} 元（可不填）",
                expected_en=f"the amount that entry paid, {fmt_yuan(paid)} yuan (may be left out)",
            )  # fmt: skip
        amount, setl_id = paid, entry.setl_id
        w.assisted_amt, w.assisted_setl_id = paid, entry.setl_id
    if to == "pushed":
        w.bureau, w.pushed_at = ",".join(bureaus), now()
    if to in ("at_risk", "not_at_risk"):
        w.at_risk = to == "at_risk"
    before = w.status
    w.status, w.updated_at = to, now()
    _event(s, w, before, to, user, source, bureau=",".join(bureaus) or None, note=note, amount=amount, setl_id=setl_id)
    s.flush()
    return w


HELP_KINDS = ("settle", "apply")
"""The ledger entries that pay help a warning may record: a settlement (its tilted assistance, ``oth_pay``) and an
application for assistance (:data:`yibao.app.assistance.KIND`, its ``maf_pay``)."""


def help_paid(e: LedgerEntry) -> int:
    """What a ledger entry paid that a warning records as help (0: none)."""
    if e.kind == assistance.KIND:
        return e.maf_pay
    return e.oth_pay if e.kind == "settle" else 0


def paying_entry(s: Session, w: WarningCase, setl_id: str) -> tuple[LedgerEntry, int]:
    """The entry ``setl_id`` and what it paid, when it may end warning ``w`` in help: the person's own, standing,
    a settlement that paid tilted assistance or an application for assistance; refused naming why otherwise."""
    where, key = f"预警 {w.id}", setl_id.strip()
    e = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == key))
    if e is None or e.person_id != w.person_id or e.kind not in HELP_KINDS:
        raise InputError(
            where, "setl_id", key, "a settlement (that paid tilted assistance) or an application of this person",
            expected_zh="本人的结算（支付了倾斜救助）或依申请救助的流水号",
        )  # fmt: skip
    undone = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.reverses == key))
    if undone is not None:
        raise InputError(
            where, "setl_id", key, f"an entry that stands (this one was reversed by {undone})",
            expected_zh=f"未撤销的台账流水号（该笔已由 {undone} 撤销）",
        )  # fmt: skip
    paid = help_paid(e)
    if paid <= 0:
        raise InputError(
            where, "setl_id", key, "a settlement that paid tilted assistance (this one paid none) or an application",
            expected_zh="支付了倾斜救助的结算（该笔结算倾斜救助为 0）或依申请救助",
        )  # fmt: skip
    return e, paid


def help_entries(s: Session, person_id: int, limit: int = 200) -> list[LedgerEntry]:
    """The person's standing entries that paid help (:func:`help_paid`), newest first: what ``assisted`` may name."""
    reversed_ids = sa.select(LedgerEntry.reverses).where(LedgerEntry.reverses.is_not(None))
    paid = sa.or_(
        sa.and_(LedgerEntry.kind == "settle", LedgerEntry.oth_pay > 0),
        sa.and_(LedgerEntry.kind == assistance.KIND, LedgerEntry.maf_pay > 0),
    )
    q = (
        sa.select(LedgerEntry)
        .where(LedgerEntry.person_id == person_id, paid, LedgerEntry.setl_id.not_in(reversed_ids))
        .order_by(LedgerEntry.setl_date.desc(), LedgerEntry.id.desc())
        .limit(limit)
    )
    return list(s.scalars(q))


def assist_by_application(
    s: Session, pack: PolicyPack, warning_id: int, applied_on: date, user: str, *, source: str = "api",
    msgid: str | None = None,
) -> tuple[WarningCase, assistance.Application]:  # fmt: skip
    """Decide the person's application for assistance of ``applied_on`` (:func:`yibao.app.assistance.decide`, the
    look-back window before that day) and record it as the warning's help, in the caller's transaction. Refused
    (nothing written) when the warning may not be assisted now or the application pays nothing."""
    w = get_warning(s, warning_id, lock=True)
    check_step(f"预警 {warning_id}", w.status, "assisted", setl_id="-", kind=w.kind)
    app = assistance.decide(s, pack, w.psn_no, applied_on, user, msgid=msgid)
    assert app.setl_id is not None
    note = f"依申请救助：{fmt_yuan(app.result.pay)} 元"  # said in English by note_in
    return step(s, warning_id, "assisted", user, setl_id=app.setl_id, note=note, source=source), app


TILTED_SOURCE = "监测预警"
"""The ``source_bureau`` of an identity given from a warning (:func:`grant_tilted_identity`)."""


def tilted_categories(pack: PolicyPack, day: date) -> tuple[str, ...]:
    """The categories the pack pays tilted assistance to on ``day`` (none: the pack has no tilted assistance)."""
    if not pack.covers(day):
        return ()
    ta = pack.at(day).tilted_assistance
    return tuple(ta.categories) if ta is not None else ()


def grant_tilted_identity(
    s: Session, pack: PolicyPack, warning_id: int, category: str, valid_from: date, valid_to: date | None, user: str,
    *, source: str = "api",
) -> Identity:  # fmt: skip
    """Give the person of a warning confirmed at risk an identity of the pack's tilted-assistance categories, from
    ``valid_from`` to ``valid_to`` (``None``: open), source :data:`TILTED_SOURCE`, who and when; noted on the
    warning's timeline. Refused (nothing written) unless the warning is confirmed at risk and still open, the
    category is one the pack pays tilted assistance to on ``valid_from``, the days are in order (not before the
    line was crossed, not after today), and the identity would decide the person's bills (it ranks above every
    identity the person holds that day, and the person does not already get tilted assistance)."""
    w = get_warning(s, warning_id, lock=True)
    where = f"预警 {warning_id}"
    if not w.at_risk or w.status == "closed":
        raise InputError(
            where, "status", w.status, "经核实存在返贫致贫风险、尚未办结的预警",
            expected_en="a warning confirmed at risk and not closed",
        )  # fmt: skip
    crossed = w.crossing_date or date(w.year, 1, 1)
    if valid_from < crossed or valid_from > beijing_today():
        raise InputError(
            where, "valid_from", valid_from.isoformat(), f"起始日期（YYYY-MM-DD）：不早于越线日 {crossed}，不晚于今天",
            expected_en=f"the first day (YYYY-MM-DD): not before the day the line was crossed ({crossed}), not after today",
        )  # fmt: skip
    if valid_to is not None and valid_to < valid_from:
        raise InputError(
            where, "valid_to", valid_to.isoformat(), f"终止日期不早于起始日期 {valid_from}（可不填：长期）",
            expected_en=f"a last day not before the first ({valid_from}); may be left out (open)",
        )  # fmt: skip
    allowed = tilted_categories(pack, valid_from)
    if category not in allowed:
        names = "、".join(identity_label(c) for c in allowed) or "无（政策包没有倾斜救助）"
        names_en = ", ".join(identity_label(c, "en") for c in allowed) or "none (the pack has no tilted assistance)"
        raise InputError(
            where, "category", category, f"倾斜救助的身份类别：{names}", expected_en=f"a tilted-assistance category: {names_en}"
        )
    policy = pack.at(valid_from)
    held = s.scalars(
        sa.select(Identity).where(
            Identity.person_id == w.person_id, Identity.valid_from <= valid_from,
            sa.or_(Identity.valid_to.is_(None), Identity.valid_to >= valid_from),
        )
    ).all()  # fmt: skip
    periods = tuple(IdentityPeriod(i.category, i.valid_from, i.valid_to) for i in held)
    deciding = policy.deciding_identity(periods, valid_from)
    if deciding in allowed or policy.deciding_identity((*periods, IdentityPeriod(category, valid_from)), valid_from) != category:
        now_said, now_en = identity_label(deciding), identity_label(deciding, "en")
        raise InputError(
            where, "category", category, f"高于本人当日身份（{now_said}）的倾斜救助身份类别（本人尚未享受倾斜救助）",
            expected_en=f"a tilted-assistance category ranked above the person's identity that day ({now_en}), "
            "who does not already get tilted assistance",
        )  # fmt: skip
    identity = Identity(
        person_id=w.person_id, category=category, valid_from=valid_from, valid_to=valid_to, source_bureau=TILTED_SOURCE,
        source_file=grant_source(w.id), recorded_at=now(), recorded_by=user,
    )  # fmt: skip
    s.add(identity)
    until = valid_to.isoformat() if valid_to else "…"
    note = f"登记倾斜救助身份：{valid_from} 至 {until}"  # said in English by note_in; the identity is shown beside it
    _event(s, w, w.status, w.status, user, source, note=note)
    w.updated_at = now()
    s.flush()
    return identity


@dataclass(frozen=True)
class Filter:
    status: str | None = None
    kind: str | None = None
    rule: str | None = None
    period: str | None = None
    """first_period (the run that found it)."""
    year: int | None = None
    township: str | None = None
    village: str | None = None
    q: str | None = None
    """Name, psn_no or ID number."""


def list_warnings(s: Session, f: Filter = Filter(), *, limit: int = 500, offset: int = 0) -> list[tuple[WarningCase, Person]]:
    q = sa.select(WarningCase, Person).join(Person, Person.id == WarningCase.person_id)
    for col, value in (
        (WarningCase.status, f.status), (WarningCase.kind, f.kind), (WarningCase.rule, f.rule),
        (WarningCase.first_period, f.period), (WarningCase.year, f.year), (Person.township, f.township),
        (Person.village, f.village),
    ):  # fmt: skip
        if value not in (None, ""):
            q = q.where(col == value)
    if f.q:
        term = f.q.strip()
        q = q.where(sa.or_(Person.psn_name.contains(term), Person.psn_no == term, Person.certno == term.upper()))
    q = q.order_by(WarningCase.kind.desc(), WarningCase.excess_amt.desc(), WarningCase.id).limit(limit).offset(offset)
    return [(w, p) for w, p in s.execute(q)]


def events_of(s: Session, warning_id: int) -> list[WarningEvent]:
    return list(s.scalars(sa.select(WarningEvent).where(WarningEvent.warning_id == warning_id).order_by(WarningEvent.id)))


def counts_by_status(s: Session, kind: str | None = "warning") -> dict[str, int]:
    q = sa.select(WarningCase.status, sa.func.count()).group_by(WarningCase.status)
    if kind:
        q = q.where(WarningCase.kind == kind)
    return {status: n for status, n in s.execute(q)}


def last_runs(s: Session, limit: int = 12) -> list[MonitoringRun]:
    return list(s.scalars(sa.select(MonitoringRun).order_by(MonitoringRun.id.desc()).limit(limit)))
