"""When a reviewed 同人异号 pair may be merged (:mod:`yibao.rules.identity_merge`): the rule alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yibao.rules.identity_merge import HISTORY, MergeFacts, merge_refusals, undo_refusals

counts = st.fixed_dictionaries({name: st.integers(0, 3) for name in HISTORY})
years = st.lists(st.integers(2018, 2024), max_size=2, unique=True)


@given(
    status=st.sampled_from(["open", "kept", "merged"]),
    survivor_merged=st.booleans(),
    absorbed_merged=st.booleans(),
    absorbed=counts,
    survivor=counts,
    enrolled=years,
    accounts=years,
)
def test_a_merge_is_refused_exactly_when_one_of_the_rules_says_so(
    status: str,
    survivor_merged: bool,
    absorbed_merged: bool,
    absorbed: dict[str, int],
    survivor: dict[str, int],
    enrolled: list[int],
    accounts: list[int],
) -> None:
    facts = MergeFacts(status, survivor_merged, absorbed_merged, absorbed, survivor, enrolled, accounts)
    reasons = merge_refusals(facts)
    expected = [
        status != "open",
        survivor_merged or absorbed_merged,
        any(absorbed.values()),
        bool(enrolled),
        bool(accounts),
    ]
    assert len(reasons) == sum(expected)  # one reason per rule broken, none otherwise
    assert all(zh and en and zh != en for zh, en in reasons)


def test_the_reasons_name_the_history_and_the_years() -> None:
    facts = MergeFacts("open", absorbed_history={"ledger": 2, "visit": 1}, both_enrolled=[2021, 2022])
    assert merge_refusals(facts) == [
        (
            "被合并记录有结算历史（结算记录 2、就诊登记 1），结算台账不可改写；请选择该记录作为保留记录",
            "the absorbed record has settlement history (ledger entries 2, visits 1) and the ledger is never rewritten: "
            "keep that record instead",
        ),
        ("两条记录在 2021、2022 年都有参保登记，请先办理重复参保的退费或终止",
         "for 2021, 2022 both records are enrolled: refund or end the double enrolment first"),
    ]  # fmt: skip
    both = MergeFacts("open", absorbed_history={"ledger": 1}, survivor_history={"warning": 1})
    assert merge_refusals(both)[0][0].startswith("两条记录都有结算历史")
    assert undo_refusals(0) == [] and "3" in undo_refusals(3)[0][0]
