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
        allowed_en = ", ".join(f"{status_label(n, 'en')} ({n})" for n in NEXT[current]) or "none (closed)"
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
        if amount is None or amount <= 0:
            raise InputError(
                warning, "amount", amount, "倾斜救助金额（元，大于 0）", expected_en="the assistance granted (yuan, above 0)"
            )
        if not setl_id:
            raise InputError(
                warning, "setl_id", setl_id, "支付该救助的结算流水号 (setl_id)",
                expected_en="the settlement (setl_id) that paid the assistance",
            )  # fmt: skip
    if to == "closed" and current in ("new", "at_risk") and not (note and note.strip()):
        raise InputError(
            warning, "note", note, "未推送或未救助即办结时，须填写办结说明",
            expected_en="a closing note when a warning is closed without a push or assistance",
        )  # fmt: skip
    if note is not None and len(note) > 500:
        raise InputError(warning, "note", note[:20] + "…", "至多 500 个字符", expected_en="at most 500 characters")
