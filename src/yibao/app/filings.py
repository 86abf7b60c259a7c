"""门诊慢特病备案 with the pack's disease lists, the signed institutions on a filing, and the screening record.

One rule for every entrypoint (window, REST, the national interface 2503, the command line): a filing names a disease
of the pack's 门诊慢性病 or 门诊特殊病 list (``filing_diseases``) and takes that list as its kind, the diagnosing
institution and doctor, and a start date; a start before the day of filing needs a reason, kept with the filing. A
hospital files only as the diagnosing institution (seed 000: 医院诊断确认后即时办理). The signed institutions
(门诊慢性病签约医疗机构: a hospital and a township health centre) change at most once a month (seed 004). People
examined who do not qualify get a screening record (病情信息表, seed 004), kept with their household.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.stamps import recorded
from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import pick
from yibao.policy.schema import FILING_LISTS, FilingDisease, FilingList, Policy
from yibao.store.tables import ChronicFiling, InstitutionChoice, Person, ScreeningRecord

WHERE = "门诊慢特病备案 / chronic filing"
WHERE_SIGNED = "签约医疗机构 / signed institutions"
WHERE_SCREENING = "病情信息表 / screening record"
MAX_REASON = 255
MAX_CONDITION = 500
MAX_SIGNED = 2
"""Seed 004: one hospital and one township health centre."""
LIST_LABELS: dict[str, tuple[str, str]] = {
    "chronic": ("门诊慢性病", "chronic disease"),
    "special": ("门诊特殊病", "special disease"),
    "": ("未分列（名录前备案）", "not listed (filed before the lists)"),
}
"""A filing's kind: the list its disease stands in."""


def kind_label(kind: str, lang: str) -> str:
    return pick(LIST_LABELS.get(kind, (kind, kind)), lang)


def _text(value: str | None, field: str, where: str, expected: tuple[str, str], max_len: int) -> str:
    """``value`` without NUL, trimmed, required and at most ``max_len`` characters; ``expected`` in (zh, en)."""
    text = (value or "").replace("\x00", "").strip()
    if not text or len(text) > max_len:
        zh, en = expected
        raise InputError(where, field, value, f"{zh}（至多 {max_len} 个字符） / {en} (at most {max_len} characters)")
    return text


def catalogue_text(policy: Policy, lang: str = "en") -> str:
    """The accepted codes, list by list, as a refusal names them."""
    cat = policy.filing_diseases
    if cat is None:
        return ""
    sep = "；" if lang == "zh" else "; "
    return sep.join(f"{kind_label(k, lang)}{'：' if lang == 'zh' else ': '}{' '.join(cat.codes(k))}" for k in FILING_LISTS)


def _not_listed(policy: Policy, where: str, value: object) -> InputError:
    zh, en = catalogue_text(policy, "zh"), catalogue_text(policy, "en")
    if not zh:
        en = "a disease code such as I10"
        return InputError(where, "dise_codg", value, en, "病种编码，如 I10", en)
    return InputError(
        where,
        "dise_codg",
        value,
        f"a disease of the lists ({en})",
        f"门诊慢特病病种目录中的病种（{zh}）",
        f"a disease of the lists ({en})",
    )


def listed_disease(policy: Policy, dise_codg: str | None, where: str = WHERE) -> tuple[str, FilingDisease | None]:
    """The code (upper case) and its listed disease; refused naming the accepted lists when the pack lists
    diseases and this is none of them (``None``: the pack lists none, any code is taken)."""
    code = (dise_codg or "").replace("\x00", "").strip().upper()
    cat = policy.filing_diseases
    if not code or len(code) > 32:
        raise _not_listed(policy, where, dise_codg)
    if cat is None:
        return code, None
    found = cat.find(code)
    if found is None:
        raise _not_listed(policy, where, code)
    return code, found[1]


def list_of(policy: Policy, code: str) -> FilingList | None:
    cat = policy.filing_diseases
    found = cat.find(code) if cat else None
    return found[0] if found else None


@dataclass(frozen=True)
class FilingIn:
    """What a filing says, from whichever entrypoint."""

    dise_codg: str
    fixmedins_code: str
    doctor: str
    begin: date
    backdate_reason: str | None = None
    signed: tuple[str, ...] = ()
    end: date | None = None


def _signed_codes(codes: Sequence[str], where: str) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(c.replace("\x00", "").strip() for c in codes if c and c.strip()))
    if len(out) > MAX_SIGNED or any(len(c) > 32 for c in out):
        raise InputError(
            where, "signed", list(codes), "至多两家签约医疗机构（一家医院、一家镇卫生院） / at most two institution codes"
        )
    return out


def file_chronic(
    session: Session, person: Person, policy: Policy, f: FilingIn, user: str, today: date, *, institution: str | None = None
) -> ChronicFiling:
    """File ``f`` for ``person`` under ``policy``'s lists on ``today``; ``institution``: the hospital account filing,
    which must be the diagnosing institution."""
    code, disease = listed_disease(policy, f.dise_codg)
    open_same = session.scalar(
        sa.select(ChronicFiling).where(
            ChronicFiling.person_id == person.id, ChronicFiling.dise_codg == code, ChronicFiling.end.is_(None)
        )
    )
    if open_same is not None:
        raise InputError(
            WHERE,
            "dise_codg",
            code,
            f"尚未备案的病种（自 {open_same.begin} 已备案） / a disease not already filed (filed since {open_same.begin})",
        )
    inst = _text(f.fixmedins_code, "fixmedins_code", WHERE, ("诊断机构编码", "the diagnosing institution's code"), 32)
    if institution is not None and inst != institution:
        raise InputError(
            WHERE,
            "fixmedins_code",
            inst,
            f"本机构 {institution}（医院只能以诊断机构身份备案） / your own institution {institution}",
        )
    doctor = _text(f.doctor, "doctor", WHERE, ("诊断医师", "the diagnosing doctor"), 64)
    reason = None
    if f.begin < today:
        reason = _text(
            f.backdate_reason,
            "backdate_reason",
            WHERE,
            (f"开始日期早于今天（{today}）时的补办原因", f"a reason, as the start is before today ({today})"),
            MAX_REASON,
        )
    if f.end is not None and f.end < f.begin:
        raise InputError(WHERE, "end", f.end.isoformat(), f"不早于开始日期 {f.begin} / a date on or after {f.begin}")
    signed = _signed_codes(f.signed, WHERE)
    filing = ChronicFiling(
        person_id=person.id,
        dise_codg=code,
        dise_name=disease.name_zh if disease else None,
        fixmedins_code=inst,
        doctor=doctor,
        begin=f.begin,
        end=f.end,
        kind=list_of(policy, code) or "",
        backdate_reason=reason,
    )
    recorded(session, filing, user)
    for c in signed:
        recorded(session, _signed(person, filing, c, f.begin), user)
    return filing


def _signed(person: Person, filing: ChronicFiling, code: str, begin: date) -> InstitutionChoice:
    return InstitutionChoice(person_id=person.id, fixmedins_code=code, role="signed", filing_id=filing.id, begin=begin)


def signed_of(session: Session, filing_ids: Sequence[int]) -> dict[int, list[InstitutionChoice]]:
    """The signed institutions chosen on each filing, oldest first."""
    out: dict[int, list[InstitutionChoice]] = {i: [] for i in filing_ids}
    if filing_ids:
        q = sa.select(InstitutionChoice).where(InstitutionChoice.filing_id.in_(filing_ids)).order_by(InstitutionChoice.id)
        for c in session.scalars(q):
            out[c.filing_id or 0].append(c)
    return out


def filing_of(session: Session, person: Person, filing_id: int) -> ChronicFiling:
    """The person's chronic filing ``filing_id`` (``NotFound`` when it is not one of theirs)."""
    f = session.get(ChronicFiling, filing_id)
    if f is None or f.person_id != person.id:
        raise NotFound(WHERE_SIGNED, "filing", filing_id, f"此人的门诊慢特病备案 / a chronic filing of {person.psn_no}")
    return f


def change_signed(
    session: Session, filing: ChronicFiling, codes: Sequence[str], user: str, today: date
) -> list[InstitutionChoice]:
    """The filing's signed institutions from ``today`` on (those held end the day before): once a month (seed 004:
    门诊慢性病签约医疗机构原则上一月可变更一次), a second change in the month refused naming the last one."""
    last = filing.signed_changed_on
    if last is not None and (last.year, last.month) == (today.year, today.month):
        nxt = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
        raise InputError(
            WHERE_SIGNED,
            "signed",
            list(codes),
            f"每月变更一次：本月已于 {last} 变更，下次可自 {nxt} 起 / one change a month: last changed on {last}, "
            f"next from {nxt}",
        )
    new = _signed_codes(codes, WHERE_SIGNED)
    if not new:
        raise InputError(WHERE_SIGNED, "signed", list(codes), "一至两家签约医疗机构编码 / one or two institution codes")
    if filing.end is not None and filing.end < today:
        raise InputError(
            WHERE_SIGNED, "filing", filing.id, f"有效的备案（已于 {filing.end} 终止） / a filing in force (ended {filing.end})"
        )
    person = session.get(Person, filing.person_id)
    assert person is not None
    held = session.scalars(
        sa.select(InstitutionChoice).where(InstitutionChoice.filing_id == filing.id, InstitutionChoice.end.is_(None))
    )
    for c in held:
        c.end = max(c.begin, today) - timedelta(days=1)
    filing.signed_changed_on = today
    return [recorded(session, _signed(person, filing, c, max(today, filing.begin)), user) for c in new]


@dataclass(frozen=True)
class ScreeningIn:
    condition: str
    fixmedins_code: str
    doctor: str
    examined_on: date
    dise_codg: str | None = None


def add_screening(session: Session, person: Person, policy: Policy, r: ScreeningIn, user: str, today: date) -> ScreeningRecord:
    """病情信息表: ``person`` examined on ``r.examined_on`` and found not to meet the filing conditions."""
    condition = _text(
        r.condition,
        "condition",
        WHERE_SCREENING,
        ("病情及未达备案条件的说明", "the condition found and why it does not qualify"),
        MAX_CONDITION,
    )
    inst = _text(r.fixmedins_code, "fixmedins_code", WHERE_SCREENING, ("检查机构编码", "the examining institution's code"), 32)
    doctor = _text(r.doctor, "doctor", WHERE_SCREENING, ("填表医师", "the doctor who filled it in"), 64)
    if r.examined_on > today:
        raise InputError(
            WHERE_SCREENING, "examined_on", r.examined_on.isoformat(), f"不晚于今天（{today}） / on or before {today}"
        )
    code = (r.dise_codg or "").replace("\x00", "").strip().upper() or None
    if code is not None and len(code) > 32:
        raise InputError(WHERE_SCREENING, "dise_codg", r.dise_codg, "至多 32 个字符的病种编码 / a disease code")
    found = policy.filing_diseases.find(code) if code and policy.filing_diseases else None
    row = ScreeningRecord(
        person_id=person.id,
        hh_no=person.hh_no,
        dise_codg=code,
        dise_name=found[1].name_zh if found else None,
        condition=condition,
        fixmedins_code=inst,
        doctor=doctor,
        examined_on=r.examined_on,
    )
    return recorded(session, row, user)


def screenings_of(session: Session, person: Person) -> list[dict[str, Any]]:
    """The screening records of the person and, when known, the rest of the household, newest first."""
    who = ScreeningRecord.person_id == person.id
    if person.hh_no:
        who = sa.or_(who, ScreeningRecord.hh_no == person.hh_no)
    q = (
        sa.select(ScreeningRecord, Person.psn_name, Person.psn_no)
        .join(Person, Person.id == ScreeningRecord.person_id)
        .where(who)
        .order_by(ScreeningRecord.examined_on.desc(), ScreeningRecord.id.desc())
    )
    return [
        {
            "id": r.id,
            "psn_no": psn_no,
            "psn_name": name,
            "own": r.person_id == person.id,
            "hh_no": r.hh_no,
            "dise_codg": r.dise_codg,
            "dise_name": r.dise_name,
            "condition": r.condition,
            "fixmedins_code": r.fixmedins_code,
            "doctor": r.doctor,
            "examined_on": r.examined_on.isoformat(),
            "recorded_by": r.recorded_by,
            "recorded_at": r.recorded_at.isoformat(),
        }
        for r, name, psn_no in session.execute(q)
    ]


def catalogue_rows(policy: Policy, lang: str) -> list[dict[str, str]]:
    """The pack's listed diseases for a page or a picker: code, names, list and its label."""
    cat = policy.filing_diseases
    if cat is None:
        return []
    return [
        {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "name": pick((d.name_zh, d.name_en), lang),
         "list": kind, "list_label": kind_label(kind, lang)}
        for kind, d in cat.entries()
    ]  # fmt: skip
