"""Monitoring runs and the warning list in the database: run a period, list, and move a warning on.

``run_monitoring`` reads the ledger (settlements that stand, from 1 January to the period's
end), evaluates the pack's warning rules and writes the warnings: a warning already known for
the same rule, person and key is updated in place (amounts, settlements), never duplicated. A
re-run of an earlier period does not move amounts backwards. ``step`` moves a warning along
the follow-up workflow, recording who and when; a confirmation of the risk records the identity
the warning's rule names (``confirmed_identity``) from the day the bureau confirmed, which is how
the confirmed person reaches the tiers of that identity (tilted assistance) in later settlements.
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

from yibao.app.ledger import now
from yibao.core.clock import beijing_today
from yibao.core.errors import InputError, NotFound
from yibao.core.phrasebook import Phrasebook
from yibao.policy.pack import PolicyPack
from yibao.policy.schema import Monitoring
from yibao.rules.monitoring import Period, evaluate
from yibao.rules.warning_workflow import check_step
from yibao.store.claims import from_ledger
from yibao.store.db import Database
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
    return _evaluate(session, monitoring_of(pack, period), period, over_only=True)


def _evaluate(session: Session, mon: Monitoring, period: Period, *, over_only: bool) -> pl.DataFrame:
    frame = from_ledger(session, date(period.year, 1, 1), period.end)
    return evaluate(frame, mon, period, over_only=over_only)


def run_monitoring(db: Database, pack: PolicyPack, period: Period, user: str, trigger: str = "manual") -> RunResult:
    out = RunResult(period.code, pack.pack_id)
    with db.unit_of_work() as s:
        mon = monitoring_of(pack, period)
        everyone = _evaluate(s, mon, period, over_only=False)
        found = everyone.filter(pl.col("is_over"))
        stamp = now()
        people = sa.select(Person.psn_no, Person.id).where(Person.psn_no.in_(found["psn_no"].unique().to_list()))
        ids: dict[str, int] = {psn: pid for psn, pid in s.execute(people)}
        rules = [k for k, r in mon.rules.items() if r.period == period.kind]
        yearly = {k for k in rules if mon.rules[k].scope == "year"}
        same = sa.select(WarningCase).where(WarningCase.year == period.year, WarningCase.rule.in_(rules))
        known = {(w.rule, w.person_id, w.key): w for w in s.scalars(same)}
        seen: set[int] = set()
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
                s.flush()
                _event(s, w, None, "new", user, f"monitoring:{trigger}", period=period.code, amount=w.measure_amt)
                out.created += 1
                continue
            seen.add(w.id)
            _update(s, w, row, period, user, trigger, out, "金额更新")
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
    """Amounts of a known warning as the ledger has them now; an earlier period run later changes nothing."""
    values = _values(row)
    if period.code < w.last_period or all(getattr(w, k) == v for k, v in values.items()):
        out.unchanged += 1
        return
    note = f"{what}：{w.measure_amt / 100:.2f} → {row['measure_amt'] / 100:.2f} 元"  # said in English by note_in
    for k, v in values.items():
        setattr(w, k, v)
    w.last_period, w.updated_at = period.code, now()
    _event(s, w, w.status, w.status, user, f"monitoring:{trigger}", period=period.code, amount=w.measure_amt, note=note)
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
    check_step(where, w.status, to, bureaus=tuple(bureaus), note=note, amount=amount, setl_id=setl_id)
    if to == "at_risk" and pack is not None:
        _grant_identity(s, w, pack, on or beijing_today(), user, where)
    if to == "assisted":
        assert setl_id is not None
        paid = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id.strip()))
        reversed_by = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.reverses == setl_id.strip()))
        if paid is None or paid.kind != "settle" or paid.person_id != w.person_id or reversed_by:
            raise InputError(where, "setl_id", setl_id, "a standing settlement of this person (本人未撤销的结算流水号)")
        w.assisted_amt, w.assisted_setl_id = amount, paid.setl_id
    if to == "pushed":
        w.bureau, w.pushed_at = ",".join(bureaus), now()
    if to in ("at_risk", "not_at_risk"):
        w.at_risk = to == "at_risk"
    before = w.status
    w.status, w.updated_at = to, now()
    _event(s, w, before, to, user, source, bureau=",".join(bureaus) or None, note=note, amount=amount, setl_id=setl_id)
    s.flush()
    return w


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
