"""The follow-up of a warning: its statuses and the steps allowed between them (pure).

new → pushed (to which bureaus) → at_risk / not_at_risk (the other bureau's confirmation)
→ assisted (help paid: the ledger entry that paid it, a settlement with tilted assistance or an
application for assistance, and its amount) → closed. A candidate for assistance on application
(kind ``candidate``: an ordinary resident, no other bureau to confirm) may be assisted straight from new.
A warning not at risk, or at risk and helped otherwise, may be closed with a note.
"""

from __future__ import annotations

from yibao.core.errors import InputError
from yibao.core.vocab import WARNING_KINDS, WARNING_STATUSES, label
from yibao.policy.schema import BUREAUS

STATUSES = WARNING_STATUSES
NEXT: dict[str, tuple[str, ...]] = {
    "new": ("pushed", "closed"),
    "pushed": ("at_risk", "not_at_risk"),
    "at_risk": ("assisted", "closed"),
    "not_at_risk": ("closed",),
    "assisted": ("closed",),
    "closed": (),
}
CANDIDATE_NEXT: dict[str, tuple[str, ...]] = NEXT | {"new": ("assisted", "closed")}
"""A candidate (依申请救助候选) applies and is paid without a push or a confirmation."""
OPEN = ("new", "pushed", "at_risk", "not_at_risk", "assisted")
KINDS = WARNING_KINDS


def next_of(status: str, kind: str = "warning") -> tuple[str, ...]:
    """The steps allowed after ``status`` for a warning of ``kind``."""
    return (CANDIDATE_NEXT if kind == "candidate" else NEXT)[status]


def status_label(code: str, lang: str = "zh") -> str:
    return label(WARNING_STATUSES, code, lang)


def check_step(
    warning: str, current: str, to: str, *, bureaus: tuple[str, ...] = (), note: str | None = None, amount: int | None = None,
    setl_id: str | None = None, kind: str = "warning",
) -> None:  # fmt: skip
    """Refuse a step the workflow does not allow, naming the field and what was expected. ``assisted``: the amount,
    when given, above 0 (left out: what the entry ``setl_id`` paid, :func:`yibao.app.warnings.step`)."""
    if to not in STATUSES:
        raise InputError(warning, "to", to, f"one of {', '.join(STATUSES)}")
    allowed_next = next_of(current, kind)
    if to not in allowed_next:
        allowed = "、".join(f"{status_label(n)} ({n})" for n in allowed_next) or "无（已办结）"
        allowed_en = ", ".join(f"{status_label(n, 'en')} ({n})" for n in allowed_next) or "none (closed)"
        raise InputError(
            warning, "to", to, f"当前状态为{status_label(current)}，下一步只能是：{allowed}",
            expected_en=f"the status is {status_label(current, 'en')}; the next step can only be: {allowed_en}",
        )  # fmt: skip
    if to == "pushed":
        bureaus_zh = f"推送部门，从 {', '.join(BUREAUS)} 中选择"
        bureaus_en = f"the bureaus to push to, from {', '.join(BUREAUS)}"
        if not bureaus:
            raise InputError(warning, "bureau", "", bureaus_zh, expected_en=bureaus_en)
        unknown = [b for b in bureaus if b not in BUREAUS]
        if unknown:
            raise InputError(warning, "bureau", ",".join(unknown), bureaus_zh, expected_en=bureaus_en)
    if to == "assisted":
        if amount is not None and amount <= 0:
            raise InputError(
                warning, "amount", amount, "救助金额（元，大于 0）", expected_en="the assistance paid (yuan, above 0)"
            )
        if not setl_id:
            raise InputError(
                warning, "setl_id", setl_id, "支付该救助的台账流水号（支付了倾斜救助的结算，或依申请救助）",
                expected_en="the ledger entry that paid the help (a settlement that paid tilted assistance, or an application)",
            )  # fmt: skip
    if to == "closed" and current in ("new", "at_risk") and not (note and note.strip()):
        raise InputError(
            warning, "note", note, "未推送或未救助即办结时，须填写办结说明",
            expected_en="a closing note when a warning is closed without a push or assistance",
        )  # fmt: skip
    if note is not None and len(note) > 500:
        raise InputError(warning, "note", note[:20] + "…", "至多 500 个字符", expected_en="at most 500 characters")
