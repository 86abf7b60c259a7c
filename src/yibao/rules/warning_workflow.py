"""The follow-up of a warning: its statuses and the steps allowed between them (pure).

new → pushed (to which bureaus) → at_risk / not_at_risk (the other bureau's confirmation)
→ assisted (tilted assistance granted: amount and the settlement that paid it) → closed.
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
OPEN = ("new", "pushed", "at_risk", "not_at_risk", "assisted")
KINDS = WARNING_KINDS


def status_label(code: str, lang: str = "zh") -> str:
    return label(WARNING_STATUSES, code, lang)


def check_step(
    warning: str, current: str, to: str, *, bureaus: tuple[str, ...] = (), note: str | None = None, amount: int | None = None,
    setl_id: str | None = None,
) -> None:  # fmt: skip
    """Refuse a step the workflow does not allow, naming the field and what was expected."""
    if to not in STATUSES:
        raise InputError(warning, "to", to, f"one of {', '.join(STATUSES)}")
    if to not in NEXT[current]:
        allowed = "、".join(f"{status_label(n)} ({n})" for n in NEXT[current]) or "无（已办结）"
        raise InputError(warning, "to", to, f"当前状态为{status_label(current)}，下一步只能是：{allowed}")
    if to == "pushed":
        if not bureaus:
            raise InputError(warning, "bureau", "", f"推送部门，从 {', '.join(BUREAUS)} 中选择")
        unknown = [b for b in bureaus if b not in BUREAUS]
        if unknown:
            raise InputError(warning, "bureau", ",".join(unknown), f"推送部门，从 {', '.join(BUREAUS)} 中选择")
    if to == "assisted":
        if amount is None or amount <= 0:
            raise InputError(warning, "amount", amount, "倾斜救助金额（元，大于 0）")
        if not setl_id:
            raise InputError(warning, "setl_id", setl_id, "支付该救助的结算流水号 (setl_id)")
    if to == "closed" and current in ("new", "at_risk") and not (note and note.strip()):
        raise InputError(warning, "note", note, "未推送或未救助即办结时，须填写办结说明")
    if note is not None and len(note) > 500:
        raise InputError(warning, "note", note[:20] + "…", "至多 500 个字符")
