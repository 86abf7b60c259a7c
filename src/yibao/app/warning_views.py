"""A warning and its follow-up steps as the REST API and the web window show them."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from yibao.app import warnings as svc
from yibao.app.auth import Principal
from yibao.app.push_list import write_push_list
from yibao.core.i18n import t
from yibao.core.vocab import SOURCES, bureau_label, label
from yibao.policy.categories import identity_label
from yibao.rules.monitoring import parse_period
from yibao.rules.warning_workflow import KINDS, status_label
from yibao.store.monitoring_tables import WarningCase, WarningEvent
from yibao.store.tables import Identity, Person


def recorded_dict(i: Identity | None, lang: str = "zh") -> dict[str, Any] | None:
    """The identity a warning's confirmation recorded: its category, the bureau it is recorded under, from when,
    and who confirmed (``None``: none recorded)."""
    if i is None:
        return None
    source = label(SOURCES, i.source_bureau, lang) if i.source_bureau else ""
    return {
        "category": i.category, "label": identity_label(i.category, lang), "source_bureau": i.source_bureau,
        "source_label": source, "valid_from": i.valid_from.isoformat(),
        "valid_to": i.valid_to.isoformat() if i.valid_to else None, "recorded_by": i.recorded_by,
        "recorded_at": i.recorded_at.isoformat(),
        "text": t(lang, f"{identity_label(i.category, lang)}（{source}，{svc.held_zh(i)}，{i.recorded_by} 登记）",
                  f"{identity_label(i.category, lang)} ({source}, {svc.held_en(i)}, recorded by {i.recorded_by})"),
    }  # fmt: skip


def warning_dicts(
    s: Session, found: Sequence[tuple[WarningCase, Person]], who: Principal, lang: str = "zh"
) -> list[dict[str, Any]]:
    """:func:`warning_dict` of each warning, with the identity its confirmation recorded and the reversal of its help."""
    recorded = svc.recorded_identities(s, [w.id for w, _ in found])
    undone = svc.help_reversals(s, [w.assisted_setl_id for w, _ in found])
    return [warning_dict(w, p, who, lang, recorded.get(w.id), undone.get(w.assisted_setl_id or "")) for w, p in found]


def warning_dict(
    w: WarningCase,
    p: Person,
    who: Principal,
    lang: str = "zh",
    recorded: Identity | None = None,
    help_reversed_by: str | None = None,
) -> dict[str, Any]:
    """One warning as the API and the web window show it (ID number masked unless the role may see it), with the
    identity its confirmation recorded (``recorded``, :func:`yibao.app.warnings.recorded_identities`) and the entry that
    reversed its recorded help, if one did (``help_reversed_by``)."""
    return {
        "id": w.id, "rule": w.rule, "kind": w.kind, "kind_label": KINDS[w.kind][0 if lang == "zh" else 1], "key": w.key,
        "psn_no": w.psn_no, "psn_name": p.psn_name, "certno": who.shown_certno(p.certno),
        "hh_no": p.hh_no, "county": p.county, "township": p.township, "village": p.village, "year": w.year,
        "identity": w.identity, "identity_label": identity_label(w.identity, lang), "first_period": w.first_period,
        "last_period": w.last_period, "measure_amt": w.measure_amt, "threshold_amt": w.threshold_amt,
        "excess_amt": w.excess_amt, "medfee_sumamt": w.medfee_sumamt, "fund_pay_sumamt": w.fund_pay_sumamt,
        "psn_part_amt": w.psn_part_amt, "hh_self_pay": w.hh_self_pay, "hh_persons": w.hh_persons,
        "crossing_setl_id": w.crossing_setl_id,
        "crossing_date": w.crossing_date.isoformat() if w.crossing_date else None, "setl_ids": json.loads(w.setl_ids),
        "status": w.status, "status_label": status_label(w.status, lang), "bureau": w.bureau,
        "bureau_label": bureau_label(w.bureau, lang), "pushed_at": w.pushed_at.isoformat() if w.pushed_at else None,
        "at_risk": w.at_risk, "assisted_amt": w.assisted_amt, "assisted_setl_id": w.assisted_setl_id,
        "help_reversed_by": help_reversed_by,
        "updated_at": w.updated_at.isoformat(), "recorded_identity": recorded_dict(recorded, lang),
    }  # fmt: skip


def event_dict(e: WarningEvent, lang: str = "zh") -> dict[str, Any]:
    return {
        "from_status": e.from_status, "to_status": e.to_status, "to_label": status_label(e.to_status, lang),
        "bureau": e.bureau, "bureau_label": bureau_label(e.bureau, lang), "note": svc.note_in(e.note, lang), "amount": e.amount,
        "setl_id": e.setl_id, "period": e.period, "source": e.source, "recorded_at": e.recorded_at.isoformat(),
        "recorded_by": e.recorded_by,
    }  # fmt: skip


def push_list(s: Session, f: svc.Filter, who: Principal, lang: str = "zh") -> tuple[bytes, str]:
    """The push list (推送清单) of the filtered warnings as .xlsx, and its file name (ID numbers as ``who`` may see them)."""
    buf = io.BytesIO()
    rows = svc.list_warnings(s, f, limit=100_000)
    period = parse_period(f.period).label(lang) if f.period else ("全部" if lang == "zh" else "all")
    recorded = svc.recorded_identities(s, [w.id for w, _ in rows])
    write_push_list(rows, buf, period_label=period, lang=lang, full_certno=who.sees_certno, recorded=recorded)
    return buf.getvalue(), f"预警推送清单-{f.period or 'all'}.xlsx"
