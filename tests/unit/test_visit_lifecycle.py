"""The visit state table (rules/visit_lifecycle.py): every allowed step, every other step refused naming the status."""

from __future__ import annotations

import pytest

from yibao.app.national_transactions import TRANSACTIONS
from yibao.core.errors import InputError
from yibao.rules import visit_lifecycle as lc

PAIRS = [(status, action) for status in (lc.NEW, *lc.STATUSES) for action in lc.ACTIONS]


def test_the_table_knows_every_status_and_action_it_names() -> None:
    for (status, action), after in lc.TRANSITIONS.items():
        assert status in (lc.NEW, *lc.STATUSES) and action in lc.ACTIONS and after in lc.STATUSES
    assert {a for _, a in lc.TRANSITIONS} == set(lc.ACTIONS)  # every action moves some visit
    assert {after for after in lc.TRANSITIONS.values()} == set(lc.STATUSES)  # every status is reachable
    assert set(lc.OPEN) == {s for s, a in lc.TRANSITIONS if a == "upload_fees"}


def test_each_action_names_national_transactions_of_the_table() -> None:
    for name, action in lc.ACTIONS.items():
        assert action.infnos and all(i in TRANSACTIONS for i in action.infnos), name
        assert all(TRANSACTIONS[i].writes for i in action.infnos) or name.startswith("presettle"), name


@pytest.mark.parametrize(("status", "action"), list(lc.TRANSITIONS))
def test_every_allowed_step_gives_its_status(status: str, action: str) -> None:
    assert lc.step(status, action, "2201", "M1") == lc.TRANSITIONS[(status, action)]
    assert lc.allows(status, action)


@pytest.mark.parametrize(("status", "action"), [p for p in PAIRS if p not in lc.TRANSITIONS])
def test_every_other_step_is_refused_naming_the_status_in_both_languages(status: str, action: str) -> None:
    assert not lc.allows(status, action)
    with pytest.raises(InputError) as refused:
        lc.step(status, action, "2402", "M20220601X")
    e = refused.value
    assert (e.where, e.field, e.value) == ("2402", "mdtrt_id", "M20220601X")
    zh, en = e.render("zh"), e.render("en")
    assert zh.startswith("2402：字段 mdtrt_id 的值 'M20220601X' 不正确，应为：")
    assert f"当前就诊状态：{lc.STATUSES[status][0] if status else '尚未登记'}" in zh
    assert f"不能{lc.ACTIONS[action].zh}" in zh
    assert en == f"2402: field mdtrt_id has value 'M20220601X'; expected {e.expected_in('en')}"
    assert e.expected == lc.ACTIONS[action].needs_en.format(status=status or "none")


def test_the_refusals_hospital_systems_already_know_keep_their_english() -> None:
    def refusal(status: str, action: str) -> str:
        with pytest.raises(InputError) as e:
            lc.step(status, action, "w", "M")
        return e.value.expected

    assert refusal("registered", "discharge") == "an admitted visit (status is registered)"
    assert refusal("settled", "upload_fees") == "an open visit (status is settled)"
    assert refusal("cancelled", "upload_fees") == "an open visit (status is cancelled)"
    assert refusal("admitted", "settle_inpatient") == "a discharged admission (2402 first)"
    assert refusal("admitted", "settle_outpatient") == "a registered outpatient visit (status is admitted)"
    assert refusal("settled", "cancel") == "a visit not settled (cancel the settlement first)"


@pytest.mark.parametrize("status", list(lc.STATUSES))
@pytest.mark.parametrize("med_type", ["11", "14", "21", "22"])
def test_ready_to_settle_at_the_counter(status: str, med_type: str) -> None:
    expected = status == ("discharged" if med_type == "21" else "registered")
    assert lc.ready_to_settle(status, med_type, 3) is expected
    assert lc.ready_to_settle(status, med_type, 0) is False
    assert lc.settle_action(med_type, pre=True) == lc.settle_action(med_type).replace("settle", "presettle")


def test_a_reversal_opens_the_visit_as_it_was() -> None:
    assert lc.step("settled", lc.reopen_action("21", discharged=True), "w", "M") == "discharged"
    assert lc.step("settled", lc.reopen_action("21", discharged=False), "w", "M") == "registered"
    assert lc.step("settled", lc.reopen_action("11", discharged=True), "w", "M") == "registered"
