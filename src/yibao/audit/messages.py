"""A finding as people read it: its rule type's name and its message, in Chinese or English.

The message is the rule type's template (:data:`yibao.audit.types.RULE_TYPES`) filled from the
finding's ``args``:

- an argument ending in ``_fen`` is an amount in fen, shown in yuan with 2 decimals (``12.50元`` /
  ``12.50 yuan``);
- ``window`` (a time window code) also gives ``window_label`` and ``window_label_en`` from
  :data:`yibao.core.vocab.AUDIT_WINDOWS` unless the finding gives them;
- an empty argument is shown as 无 / none, an argument the template needs but the finding lacks as —.

A finding whose result is 无法判断 (``unevaluable``) says so first; a rule type may have its own
wording for that case (:data:`UNEVALUABLE`), for example 分解住院 without a diagnosis, where the
usual message would claim a disease group it could not compare.
"""

from __future__ import annotations

from collections.abc import Mapping

from yibao.audit.model import Finding
from yibao.audit.types import RULE_TYPES
from yibao.core.i18n import Said, pick, t
from yibao.core.money import fmt_yuan
from yibao.core.vocab import AUDIT_WINDOWS, label

UNEVALUABLE: dict[str, Said] = {
    "split_admission": (
        "出院 {gap} 天后再次入院（{days} 天内），前次住院 {prev}；缺少诊断编码，无法判断是否同病种",
        "re-admitted {gap} days after discharge (within {days}), previous stay {prev}; "
        "a diagnosis is missing, so the disease groups cannot be compared",
    ),
}
"""Rule types' messages for a finding that could not be evaluated, where the usual one would mislead."""


class _Args(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def rule_label(rule_type: str, lang: str = "zh") -> str:
    """The rule type's name (超限定性别 / restricted to the other gender); an unknown type as it is."""
    known = RULE_TYPES.get(rule_type)
    return rule_type if known is None else pick(known.label, lang)


def yuan(fen: int, lang: str = "zh") -> str:
    """``1250`` → ``12.50元`` / ``12.50 yuan``."""
    return fmt_yuan(fen) + t(lang, "元", " yuan")


def _bare(window_en: str) -> str:
    """``a calendar month`` → ``calendar month`` (the English label without its article)."""
    for article in ("a ", "an ", "one "):
        if window_en.startswith(article):
            return window_en[len(article) :]
    return window_en


def shown_args(args: Mapping[str, object], lang: str = "zh") -> dict[str, str]:
    """The finding's ``args`` as text for the template in ``lang``."""
    out = _Args()
    for key, value in args.items():
        if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
            out[key] = yuan(value, lang)
        elif value is None or value == "":
            out[key] = t(lang, "无", "none")
        else:
            out[key] = str(value)
    window = args.get("window")
    if window is not None:
        out.setdefault("window_label", label(AUDIT_WINDOWS, window, "zh"))
        out.setdefault("window_label_en", _bare(label(AUDIT_WINDOWS, window, "en")))
    return out


def render(rule_type: str, args: Mapping[str, object], lang: str = "zh", result: str = "violation") -> str:
    """The message of a finding of ``rule_type`` with ``args`` (and ``result``) in ``lang``."""
    known = RULE_TYPES.get(rule_type)
    if known is None:
        return rule_type
    shown = shown_args(args, lang)
    if result != "unevaluable":
        return pick(known.message, lang).format_map(shown)
    own = UNEVALUABLE.get(rule_type)
    if own is not None:
        return pick(own, lang).format_map(shown)
    return t(lang, "无法判断（缺少所需数据）：", "cannot evaluate (data missing): ") + pick(known.message, lang).format_map(shown)


def message(finding: Finding, lang: str = "zh") -> str:
    """``finding``'s message in ``lang`` (Chinese by default)."""
    return render(finding.rule_type, finding.args, lang, finding.result)
