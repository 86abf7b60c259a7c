"""When a reviewed 同人异号 pair (one person under two ID numbers) may be merged into one record.

A merge moves what the absorbed record holds (identities, enrolments, filings, chosen institutions,
contracts, personal-account balances) to the surviving record and marks the absorbed one
``merged_into``. The ledger is append-only and is never rewritten, so a merge is refused when:

- the pair is not open (already kept apart or merged: undo that decision first);
- either record is already merged into a third;
- the absorbed record has settlement history: ledger entries, visits, year-to-date accumulators,
  assistance applications, warnings or 疑点 findings name it (choose it as the survivor instead, or,
  when both records have history, the pair cannot be merged and stays two records);
- both records are enrolled for the same year, or both hold a personal-account balance for the
  same year (a double enrolment is refunded or terminated by hand first).

Undoing a merge moves the same rows back; it is refused when the survivor has been settled since
the merge (those settlements used the moved identities, and the ledger is not rewritten).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from yibao.core.i18n import Said

HISTORY: dict[str, Said] = {
    "ledger": ("结算记录", "ledger entries"),
    "visit": ("就诊登记", "visits"),
    "year_to_date": ("年度累计", "year-to-date accumulators"),
    "assistance_application": ("依申请救助", "assistance applications"),
    "warning": ("预警", "warnings"),
    "audit_finding": ("审核疑点", "audit findings"),
}
"""Tables whose rows are settlement history: never moved from one person to another."""


@dataclass(frozen=True)
class MergeFacts:
    """What the database says about a proposed merge."""

    status: str
    """The conflict's status: only ``open`` can be merged."""
    survivor_merged: bool = False
    absorbed_merged: bool = False
    absorbed_history: Mapping[str, int] = field(default_factory=dict)
    """Rows of each :data:`HISTORY` table naming the absorbed record."""
    survivor_history: Mapping[str, int] = field(default_factory=dict)
    both_enrolled: Sequence[int] = ()
    """Years both records are enrolled in."""
    both_accounts: Sequence[int] = ()
    """Years both records hold a personal-account balance for."""


def _history(counts: Mapping[str, int], lang_pair: int) -> str:
    sep = "、" if lang_pair == 0 else ", "
    return sep.join(f"{HISTORY[k][lang_pair]} {n}" for k, n in counts.items() if n)


def merge_refusals(f: MergeFacts) -> list[Said]:
    """Why the merge must not be made (empty: it may); each reason in Chinese and English."""
    out: list[Said] = []
    if f.status != "open":
        out.append(("该疑似同人异号已处理，请先撤销上次决定", "this pair was already decided: undo that decision first"))
    if f.survivor_merged or f.absorbed_merged:
        out.append(("其中一条记录已并入其他人员", "one of the records is already merged into another person"))
    if any(f.absorbed_history.values()):
        zh, en = _history(f.absorbed_history, 0), _history(f.absorbed_history, 1)
        if any(f.survivor_history.values()):
            out.append(
                (
                    f"两条记录都有结算历史（被合并记录：{zh}），结算台账不可改写，不能合并",
                    f"both records have settlement history (the absorbed one: {en}); the ledger is never rewritten",
                )
            )
        else:
            out.append(
                (
                    f"被合并记录有结算历史（{zh}），结算台账不可改写；请选择该记录作为保留记录",
                    f"the absorbed record has settlement history ({en}) and the ledger is never rewritten: "
                    "keep that record instead",
                )
            )
    both: tuple[tuple[Sequence[int], Said], ...] = (
        (
            f.both_enrolled,
            ("都有参保登记，请先办理重复参保的退费或终止", "are enrolled: refund or end the double enrolment first"),
        ),
        (f.both_accounts, ("都有个人账户余额，请先核对个人账户", "hold a personal-account balance: settle the accounts first")),
    )
    for years, (zh, en) in both:
        if years:
            zh_years, en_years = "、".join(str(y) for y in years), ", ".join(str(y) for y in years)
            out.append((f"两条记录在 {zh_years} 年{zh}", f"for {en_years} both records {en}"))
    return out


def undo_refusals(settled_since_merge: int) -> list[Said]:
    """Why a merge must not be undone (empty: it may)."""
    if settled_since_merge:
        return [
            (
                f"合并后保留记录已有 {settled_since_merge} 笔结算，结算台账不可改写，不能撤销合并",
                f"the surviving record was settled {settled_since_merge} times since the merge; the ledger is never "
                "rewritten, so the merge cannot be undone",
            )
        ]
    return []
