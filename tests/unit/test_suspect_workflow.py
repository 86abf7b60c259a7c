"""The 疑点 workflow (pure): every step, role refusals, time limits, overdue, and any path ends closed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.core.errors import InputError
from yibao.core.vocab import SUSPECT_ACTIONS, SUSPECT_STATUSES
from yibao.rules import suspect_workflow as wf

DAYS = {"first_review": 10, "second_review": 5, "appeal": 7, "investigation": 15, "decision": 3}
W = "疑点 YD2026000001"

# (status, action, actor, extra arguments, the next status): every transition the workflow has
TRANSITIONS = [
    ("first_review", "confirm", "auditor", {}, "second_review"),
    ("first_review", "dismiss", "auditor", {"note": "经核实，项目符合限定"}, "no_action"),
    ("second_review", "notify", "auditor", {}, "appeal"),
    ("second_review", "dismiss", "auditor", {"note": "复审排除"}, "no_action"),
    ("appeal", "appeal", "institution", {"note": "有病历为证", "has_file": True}, "investigation"),
    ("appeal", "appeal", "institution", {"note": "有病历为证"}, "investigation"),
    ("appeal", "accept", "institution", {}, "decision"),
    ("appeal", "lapse", "auditor", {"overdue": True}, "decision"),
    ("investigation", "investigate", "auditor", {"note": "调取病历核实"}, "decision"),
    ("decision", "deduct", "auditor", {"amount": 1}, "deducted"),
    ("decision", "deduct", "auditor", {"amount": 5_000}, "deducted"),
    ("decision", "no_action", "auditor", {"note": "申诉成立"}, "no_action"),
]


@pytest.mark.parametrize(("status", "action", "actor", "extra", "to"), TRANSITIONS)
def test_every_transition(status: str, action: str, actor: str, extra: dict[str, object], to: str) -> None:
    step = wf.check_action(W, status, action, actor, at_stake=5_000, **extra)  # type: ignore[arg-type]
    assert step.to == to


def test_the_transitions_listed_are_all_the_workflow_has() -> None:
    listed = {(s, a) for s, a, *_ in TRANSITIONS}
    assert listed == {(status, step.action) for status, steps in wf.STEPS.items() for step in steps}
    assert set(wf.STATUSES) == set(wf.OPEN) | set(wf.CLOSED) == set(SUSPECT_STATUSES)
    assert {step.action for steps in wf.STEPS.values() for step in steps} | {"open", "sample"} == set(SUSPECT_ACTIONS)


@pytest.mark.parametrize(("status", "action", "actor", "extra", "to"), TRANSITIONS)
def test_the_other_role_is_refused(status: str, action: str, actor: str, extra: dict[str, object], to: str) -> None:
    other = "institution" if actor == "auditor" else "auditor"
    with pytest.raises(wf.NotAllowed) as refused:
        wf.check_action(W, status, action, other, at_stake=5_000, **extra)  # type: ignore[arg-type]
    assert "无权" in refused.value.message("zh") and "may not" in refused.value.message("en")


@pytest.mark.parametrize("actor", ["admin", "clerk", "monitoring", ""])
def test_other_roles_take_no_step(actor: str) -> None:
    with pytest.raises(wf.NotAllowed):
        wf.check_action(W, "first_review", "confirm", actor, at_stake=100)


def test_a_step_the_status_does_not_allow_names_the_steps_it_does() -> None:
    with pytest.raises(InputError) as e:
        wf.check_action(W, "first_review", "deduct", "auditor", at_stake=100, amount=100)
    assert e.value.field == "action" and "初审确认疑点（confirm）" in e.value.render("zh")
    assert "confirm" in e.value.render("en") and "初审" not in e.value.render("en")
    for closed in wf.CLOSED:
        with pytest.raises(InputError) as e:
            wf.check_action(W, closed, "confirm", "auditor", at_stake=100)
        assert "已办结" in e.value.render("zh")
    with pytest.raises(InputError) as e:
        wf.check_action(W, "first_review", "open", "auditor", at_stake=100)
    with pytest.raises(InputError):
        wf.check_action(W, "first_review", "fly", "auditor", at_stake=100)


@pytest.mark.parametrize(
    ("status", "action", "actor"),
    [("first_review", "dismiss", "auditor"), ("appeal", "appeal", "institution"), ("investigation", "investigate", "auditor"),
     ("decision", "no_action", "auditor")],
)  # fmt: skip
@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_note_is_required_where_the_step_says(status: str, action: str, actor: str, note: str | None) -> None:
    with pytest.raises(InputError) as e:
        wf.check_action(W, status, action, actor, at_stake=100, note=note)
    assert e.value.field == "note"


def test_a_note_too_long_is_refused() -> None:
    with pytest.raises(InputError) as e:
        wf.check_action(W, "first_review", "confirm", "auditor", at_stake=100, note="长" * (wf.NOTE_MAX + 1))
    assert e.value.field == "note"


@pytest.mark.parametrize("amount", [None, 0, -1, 5_001])
def test_the_amount_recovered_is_above_zero_and_at_most_at_stake(amount: int | None) -> None:
    with pytest.raises(InputError) as e:
        wf.check_action(W, "decision", "deduct", "auditor", at_stake=5_000, amount=amount)
    assert e.value.field == "amount" and "50.00" in e.value.render("zh")


def test_an_amount_or_a_file_only_where_the_step_takes_one() -> None:
    with pytest.raises(InputError) as e:
        wf.check_action(W, "decision", "no_action", "auditor", at_stake=5_000, amount=100, note="x")
    assert e.value.field == "amount"
    with pytest.raises(InputError) as e:
        wf.check_action(W, "appeal", "accept", "institution", at_stake=5_000, has_file=True)
    assert e.value.field == "file"


def test_no_appeal_can_be_recorded_only_once_the_appeal_is_overdue() -> None:
    with pytest.raises(InputError) as e:
        wf.check_action(W, "appeal", "lapse", "auditor", at_stake=100)
    assert e.value.field == "action"
    assert [s.action for s in wf.allowed("appeal", "auditor")] == []
    assert [s.action for s in wf.allowed("appeal", "auditor", overdue=True)] == ["lapse"]
    assert [s.action for s in wf.allowed("appeal", "institution")] == ["appeal", "accept"]
    assert [s.action for s in wf.allowed("decision", "institution")] == []


def test_due_dates_come_from_the_packs_time_limits() -> None:
    began = date(2026, 3, 1)
    assert wf.due_date("first_review", began, DAYS) == date(2026, 3, 11)
    assert wf.due_date("second_review", began, DAYS) == date(2026, 3, 6)
    assert wf.due_date("appeal", began, DAYS) == date(2026, 3, 8)
    assert wf.due_date("investigation", began, DAYS) == date(2026, 3, 16)
    assert wf.due_date("decision", date(2026, 2, 27), DAYS) == date(2026, 3, 2)
    assert wf.due_date("deducted", began, DAYS) is None and wf.due_date("no_action", began, DAYS) is None


def test_overdue_is_after_the_due_day_on_an_open_case() -> None:
    due = date(2026, 3, 11)
    assert not wf.is_overdue("first_review", due, date(2026, 3, 11))  # the due day itself is still in time
    assert wf.is_overdue("first_review", due, date(2026, 3, 12))
    assert not wf.is_overdue("deducted", due, date(2026, 4, 1))
    assert not wf.is_overdue("first_review", None, date(2026, 4, 1))


def test_today_is_beijing_time() -> None:
    assert wf.beijing_today(datetime(2026, 3, 11, 15, 59, tzinfo=UTC)) == date(2026, 3, 11)
    assert wf.beijing_today(datetime(2026, 3, 11, 16, 0, tzinfo=UTC)) == date(2026, 3, 12)  # midnight in Beijing
    assert wf.beijing_today(datetime(2026, 3, 11, 16, 0)) == date(2026, 3, 12)  # naive: UTC


@given(
    at_stake=st.integers(min_value=1, max_value=10**12),
    picks=st.lists(st.integers(min_value=0, max_value=10**6), min_size=6, max_size=6),
    overdue=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_any_path_of_allowed_steps_ends_closed_with_recovered_at_most_at_stake(
    at_stake: int, picks: list[int], overdue: list[bool]
) -> None:
    status, recovered, taken = "first_review", 0, 0
    while wf.is_open(status):
        late = overdue[taken]
        steps = [s for actor in wf.ACTORS for s in wf.allowed(status, actor, overdue=late)]
        assert steps, status  # an open case can always move on
        step = steps[picks[taken] % len(steps)]
        amount = 1 + picks[taken] % at_stake if step.amount else None
        done = wf.check_action(W, status, step.action, step.actor, at_stake=at_stake, note="说明", amount=amount, overdue=late)
        assert done.to == step.to
        status, taken = done.to, taken + 1
        recovered = amount or recovered
    assert status in wf.CLOSED and taken <= 5
    assert (0 < recovered <= at_stake) if status == "deducted" else recovered == 0
