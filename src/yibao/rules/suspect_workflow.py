"""The 疑点 workflow (pure): statuses, who may take which step, each step's time limit, overdue.

初审 (first_review) → 复审 (second_review) → 机构申诉 (appeal) → 调查核实 (investigation) → 处理
(decision) → closed as 扣款 (deducted, with the amount recovered: more than 0, at most the amount at
stake) or 不予处理 (no_action).

- The bureau's auditor reviews, investigates and decides; a finding clearly fine is cleared at first
  or second review (``dismiss``, closed as no action, with a note).
- The institution acts on its own 疑点 only, at the appeal step: it appeals (a text, and a file if it
  has one) or accepts without appeal (straight to the decision). Once the appeal step is overdue the
  auditor may record that no appeal came (``lapse``).
- Each open step is due ``workflow_days[step]`` days after it began (the audit pack's time limits);
  a case is overdue when today (Beijing) is after its due date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from yibao.core import clock
from yibao.core.errors import InputError
from yibao.core.vocab import SUSPECT_ACTIONS, SUSPECT_STATUSES, label

STATUSES: tuple[str, ...] = tuple(SUSPECT_STATUSES)
OPEN: tuple[str, ...] = ("first_review", "second_review", "appeal", "investigation", "decision")
CLOSED: tuple[str, ...] = ("deducted", "no_action")
ACTIONS: tuple[str, ...] = tuple(SUSPECT_ACTIONS)
ACTORS: tuple[str, ...] = ("auditor", "institution")
NOTE_MAX = 2000


@dataclass(frozen=True)
class Step:
    """An action allowed at a status: who takes it, where it leads, what it needs."""

    action: str
    actor: str
    to: str
    note: bool = False
    """A note is required."""
    amount: bool = False
    """The amount recovered is required."""
    file: bool = False
    """A file may come with it."""
    overdue_only: bool = False
    """Allowed only once the step is overdue."""


STEPS: dict[str, tuple[Step, ...]] = {
    "first_review": (
        Step("confirm", "auditor", "second_review"),
        Step("dismiss", "auditor", "no_action", note=True),
    ),
    "second_review": (
        Step("notify", "auditor", "appeal"),
        Step("dismiss", "auditor", "no_action", note=True),
    ),
    "appeal": (
        Step("appeal", "institution", "investigation", note=True, file=True),
        Step("accept", "institution", "decision"),
        Step("lapse", "auditor", "decision", overdue_only=True),
    ),
    "investigation": (Step("investigate", "auditor", "decision", note=True),),
    "decision": (
        Step("deduct", "auditor", "deducted", amount=True),
        Step("no_action", "auditor", "no_action", note=True),
    ),
    "deducted": (),
    "no_action": (),
}
"""The actions each status allows, in the order a page offers them."""


class NotAllowed(Exception):
    """The caller's role may not take this step (an institution on a bureau's step, or the other way round)."""

    def __init__(self, action: str, actor: str) -> None:
        super().__init__(f"{actor} may not {action}")
        self.action, self.actor = action, actor

    def message(self, lang: str = "zh") -> str:
        what = action_label(self.action, lang)
        if lang == "en":
            who = "an institution" if self.actor == "institution" else "the bureau's staff"
            return f"{who} may not take this step ({what})"
        who = "定点机构" if self.actor == "institution" else "医保经办人员"
        return f"{who}无权执行此步骤（{what}）"


def status_label(code: str, lang: str = "zh") -> str:
    return label(SUSPECT_STATUSES, code, lang)


def action_label(code: str, lang: str = "zh") -> str:
    return label(SUSPECT_ACTIONS, code, lang)


def beijing_today(moment: datetime) -> date:
    """The day on the bureaus' clock at ``moment`` (a naive time is UTC)."""
    return clock.beijing_today(moment)


def due_date(status: str, began: date, workflow_days: Mapping[str, int]) -> date | None:
    """When a step that began on ``began`` is due (``None`` once closed)."""
    if status not in OPEN:
        return None
    return began + timedelta(days=int(workflow_days[status]))


def is_overdue(status: str, due: date | None, today: date) -> bool:
    """An open case whose step was due before ``today`` (Beijing)."""
    return status in OPEN and due is not None and today > due


def is_open(status: str) -> bool:
    return status in OPEN


def allowed(status: str, actor: str, *, overdue: bool = False) -> tuple[Step, ...]:
    """The steps ``actor`` may take now (an institution: on its own case)."""
    return tuple(s for s in STEPS.get(status, ()) if s.actor == actor and (overdue or not s.overdue_only))


def check_action(
    where: str, status: str, action: str, actor: str, *, at_stake: int, note: str | None = None,
    amount: int | None = None, has_file: bool = False, overdue: bool = False,
) -> Step:  # fmt: skip
    """The step ``action`` takes from ``status``; ``NotAllowed`` for the wrong role, ``InputError`` for a step
    the workflow does not allow now or a value it needs (a note, the amount recovered)."""
    if action not in ACTIONS or action in ("open", "sample"):
        choices = ", ".join(a for a in ACTIONS if a not in ("open", "sample"))
        raise InputError(where, "action", action, f"one of {choices}")
    if actor not in ACTORS:
        raise NotAllowed(action, actor)
    steps = {s.action: s for s in STEPS[status]}
    step = steps.get(action)
    if step is None:
        nexts = "、".join(f"{action_label(s.action)}（{s.action}）" for s in STEPS[status]) or "无（已办结）"
        nexts_en = ", ".join(f"{action_label(s.action, 'en')} ({s.action})" for s in STEPS[status]) or "none (closed)"
        raise InputError(
            where, "action", action, f"当前状态为{status_label(status)}，可执行：{nexts}",
            expected_en=f"the status is {status_label(status, 'en')}; the steps now: {nexts_en}",
        )  # fmt: skip
    if step.actor != actor:
        raise NotAllowed(action, actor)
    if step.overdue_only and not overdue:
        raise InputError(
            where, "action", action, "申诉期限届满后才能记录未申诉",
            expected_en="no appeal can be recorded only once the appeal's time limit has passed",
        )  # fmt: skip
    text = (note or "").strip()
    if step.note and not text:
        what = "申诉理由" if action == "appeal" else "说明"
        raise InputError(where, "note", note, f"{what}（必填）", expected_en="a note (required for this step)")
    if len(text) > NOTE_MAX:
        raise InputError(where, "note", text[:20] + "…", f"至多 {NOTE_MAX} 个字符", expected_en=f"at most {NOTE_MAX} characters")
    if has_file and not step.file:
        raise InputError(where, "file", "(file)", "仅机构申诉可附文件", expected_en="a file only with an institution's appeal")
    if step.amount:
        if amount is None or amount <= 0 or amount > at_stake:
            limit = f"{at_stake // 100}.{at_stake % 100:02d}"
            raise InputError(
                where, "amount", amount, f"追回金额（元），大于 0 且不超过涉及金额 {limit} 元",
                expected_en=f"the amount recovered (yuan), above 0 and at most the {limit} yuan at stake",
            )  # fmt: skip
    elif amount is not None:
        raise InputError(where, "amount", amount, "仅扣款时填写追回金额", expected_en="an amount only when deducting")
    return step
