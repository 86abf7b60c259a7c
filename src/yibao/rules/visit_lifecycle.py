"""The life of a visit (就诊) on the national interface: its statuses and the steps between them (pure).

A visit starts registered (2201 门诊挂号) or admitted (2401 入院办理); an admission is discharged
(2402); a registered outpatient visit or a discharged admission is settled (2207 / 2304, or at the
counter); reversing the settlement (2208 / 2305 / 2601, or at the window) opens the visit again as
it was. A visit not settled may be cancelled (2202). Fee lines are uploaded while it is open and
a pre-settlement (2206 / 2303) is allowed where a settlement would be. :data:`TRANSITIONS` lists every
step; :func:`step` refuses any other, naming the visit's status in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.core.errors import InputError
from yibao.core.vocab import VISIT_STATUSES, label

NEW = ""
"""The status before a visit exists."""

STATUSES = VISIT_STATUSES
OPEN = ("registered", "admitted", "discharged")
"""A visit that may still take fee lines and be settled."""


@dataclass(frozen=True)
class Action:
    """What moves a visit: the national transactions that do it, its name, and what it needs (as refused)."""

    infnos: tuple[str, ...]
    zh: str
    en: str
    needs_zh: str
    needs_en: str
    """The English refusal; ``{status}`` is the visit's status (texts HIS integrators already know)."""


_DISCHARGED = ("已办理出院的住院（请先 2402 出院）", "a discharged admission (2402 first)")
_REGISTERED = ("已挂号的门诊", "a registered outpatient visit (status is {status})")
_OPEN = ("未结算、未撤销的就诊", "an open visit (status is {status})")
_SETTLED = ("已结算的就诊", "a settled visit (status is {status})")
_NOT_SETTLED = ("未结算的就诊（请先撤销结算）", "a visit not settled (cancel the settlement first)")
_REVERSALS = ("2208", "2305", "2601")

ACTIONS: dict[str, Action] = {
    "register": Action(("2201",), "门诊挂号", "outpatient registration", "", ""),
    "admit": Action(("2401",), "入院办理", "admission", "", ""),
    "discharge": Action(("2402",), "出院办理", "discharge", "在院的住院", "an admitted visit (status is {status})"),
    "upload_fees": Action(("2204", "2301"), "费用明细上传", "fee upload", *_OPEN),
    "presettle_outpatient": Action(("2206",), "门诊预结算", "outpatient pre-settlement", *_REGISTERED),
    "presettle_inpatient": Action(("2303",), "住院预结算", "inpatient pre-settlement", *_DISCHARGED),
    "settle_outpatient": Action(("2207",), "门诊结算", "outpatient settlement", *_REGISTERED),
    "settle_inpatient": Action(("2304",), "住院结算", "inpatient settlement", *_DISCHARGED),
    "reopen_outpatient": Action(_REVERSALS, "撤销结算", "settlement reversal", *_SETTLED),
    "reopen_inpatient": Action(_REVERSALS, "撤销结算", "settlement reversal", *_SETTLED),
    "cancel": Action(("2202", "2601"), "撤销就诊", "visit cancellation", *_NOT_SETTLED),
}
"""Each step a visit can take; ``needs_zh`` / ``needs_en`` say what a refused one needed."""

TRANSITIONS: dict[tuple[str, str], str] = {
    (NEW, "register"): "registered",
    (NEW, "admit"): "admitted",
    ("admitted", "discharge"): "discharged",
    **{(status, "upload_fees"): status for status in OPEN},  # fee lines leave an open visit as it was
    ("registered", "presettle_outpatient"): "registered",
    ("discharged", "presettle_inpatient"): "discharged",
    ("registered", "settle_outpatient"): "settled",
    ("discharged", "settle_inpatient"): "settled",
    ("settled", "reopen_outpatient"): "registered",
    ("settled", "reopen_inpatient"): "discharged",
    # any visit not settled may be cancelled; a repeated cancel (or a 2601 after one) changes nothing
    **{(status, "cancel"): "cancelled" for status in (*OPEN, "cancelled")},
}
"""(status, action) -> the status after it; nothing else is allowed."""

INPATIENT_MED_TYPE = "21"
"""普通住院: the med_type a counter clerk settles as an admission (discharged first)."""


def status_label(code: str, lang: str = "zh") -> str:
    return label(VISIT_STATUSES, code, lang)


def step(status: str, action: str, where: str, mdtrt_id: str) -> str:
    """The status after ``action``; an ``InputError`` naming ``mdtrt_id`` and the status (Chinese and English) if not allowed."""
    after = TRANSITIONS.get((status, action))
    if after is not None:
        return after
    a = ACTIONS[action]
    now_zh = status_label(status) if status else "尚未登记"
    raise InputError(
        where,
        "mdtrt_id",
        mdtrt_id,
        a.needs_en.format(status=status or "none"),
        expected_zh=f"{a.needs_zh}（当前就诊状态：{now_zh}，不能{a.zh}）",
    )


def allows(status: str, action: str) -> bool:
    return (status, action) in TRANSITIONS


def settle_action(med_type: str, *, pre: bool = False) -> str:
    """How the counter settles a visit: an inpatient stay (普通住院) as an admission, anything else as outpatient."""
    kind = "inpatient" if med_type == INPATIENT_MED_TYPE else "outpatient"
    return f"{'presettle' if pre else 'settle'}_{kind}"


def reopen_action(med_type: str, discharged: bool) -> str:
    """How a reversal opens a visit again: a discharged inpatient stay as discharged, anything else as registered."""
    return "reopen_inpatient" if med_type == INPATIENT_MED_TYPE and discharged else "reopen_outpatient"


def ready_to_settle(status: str, med_type: str, fee_lines: int) -> bool:
    """The counter may settle the visit now: its status allows the settlement and it has fee lines."""
    return allows(status, settle_action(med_type)) and fee_lines > 0
