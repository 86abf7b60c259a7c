"""The identity-import change rule (:func:`yibao.rules.identity_changes.classify`): hand-worked
rows against held records, and properties of applying a change."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from yibao.rules.identity_changes import Change, Held, classify

JAN1, MAR1, JUN30, JUL1, DEC31 = date(2022, 1, 1), date(2022, 3, 1), date(2022, 6, 30), date(2022, 7, 1), date(2022, 12, 31)


# --- hand-worked cases -------------------------------------------------------------------------


def test_nothing_held_is_added() -> None:
    assert classify([], JAN1, None) == Change("added", (), insert=True)


def test_same_start_and_same_end_is_unchanged() -> None:
    assert classify([Held(1, JAN1, None)], JAN1, None) == Change("unchanged")
    assert classify([Held(1, JAN1, JUN30)], JAN1, JUN30) == Change("unchanged")


def test_an_open_record_given_an_end_is_ended_on_the_rows_end() -> None:
    assert classify([Held(7, JAN1, None)], JAN1, JUN30) == Change("ended", ((7, JUN30),))


def test_recertified_from_a_new_start_ends_the_old_the_day_before() -> None:
    # held open since 1 January; the bureau now says it starts on 1 July
    assert classify([Held(3, JAN1, None)], JUL1, None) == Change("changed", ((3, JUN30),), insert=True)


def test_a_record_starting_after_the_rows_start_becomes_void() -> None:
    # held from 1 March; the row starts on 1 January: the old record ends on 31 December 2021
    assert classify([Held(4, MAR1, DEC31)], JAN1, None) == Change("changed", ((4, date(2021, 12, 31)),), insert=True)


def test_a_closed_record_reopened_or_shortened_is_changed() -> None:
    assert classify([Held(5, JAN1, JUN30)], JAN1, None) == Change("changed", ((5, date(2021, 12, 31)),), insert=True)
    assert classify([Held(5, JAN1, JUN30)], JAN1, date(2022, 3, 31)) == Change("changed", ((5, date(2021, 12, 31)),), insert=True)


def test_records_not_overlapping_the_row_are_left_alone() -> None:
    held = [Held(1, date(2021, 1, 1), date(2021, 12, 31)), Held(2, JUL1, None)]
    assert classify(held, JAN1, JUN30) == Change("added", (), insert=True)
    # the row touches only the second record
    assert classify(held, MAR1, None) == Change("changed", ((2, date(2022, 2, 28)),), insert=True)


def test_every_overlapping_record_ends() -> None:
    held = [Held(1, JAN1, JUN30), Held(2, MAR1, None), Held(3, date(2023, 1, 1), None)]
    assert classify(held, date(2022, 5, 1), DEC31) == Change(
        "changed", ((1, date(2022, 4, 30)), (2, date(2022, 4, 30))), insert=True
    )


def test_the_first_record_with_the_rows_start_decides() -> None:
    held = [Held(1, JAN1, None), Held(2, JAN1, JUN30)]
    assert classify(held, JAN1, JUN30) == Change("ended", ((1, JUN30),))
    assert classify(held, JAN1, None) == Change("unchanged")


# --- properties --------------------------------------------------------------------------------

BASE = date(2020, 1, 1)
days = st.integers(min_value=0, max_value=60)


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date | None]:
    start = BASE + timedelta(days=draw(days))
    length = draw(st.none() | st.integers(min_value=0, max_value=60))
    return start, None if length is None else start + timedelta(days=length)


@st.composite
def held_records(draw: st.DrawFn) -> list[Held]:
    return [Held(i, *p) for i, p in enumerate(draw(st.lists(periods(), max_size=4)), start=1)]


def _apply(held: list[Held], change: Change, row: tuple[date, date | None]) -> list[Held]:
    """The records after the change, void ones (ending before they start) left out, as the import reads them."""
    ends = dict(change.ends)
    after = [Held(h.id, h.valid_from, ends.get(h.id, h.valid_to)) for h in held]
    if change.insert:
        after.append(Held(len(held) + 1, *row))
    return [h for h in after if h.valid_to is None or h.valid_to >= h.valid_from]


def _share_a_day(a: tuple[date, date | None], b: tuple[date, date | None]) -> bool:
    last = date.max
    return a[0] <= (b[1] or last) and b[0] <= (a[1] or last)


@given(held_records(), periods())
def test_applying_a_change_holds_the_row_and_a_second_import_changes_nothing(
    held: list[Held], row: tuple[date, date | None]
) -> None:
    change = classify(held, *row)
    after = _apply(held, change, row)
    assert any((h.valid_from, h.valid_to) == row for h in after)
    assert classify(after, *row) == Change("unchanged")


@given(held_records(), periods())
def test_ends_only_shorten_held_records_and_added_rows_overlap_nothing_left(
    held: list[Held], row: tuple[date, date | None]
) -> None:
    change = classify(held, *row)
    by_id = {h.id: h for h in held}
    for rec_id, valid_to in change.ends:
        old = by_id[rec_id]
        assert old.valid_to is None or valid_to <= old.valid_to
    assert change.insert == (change.kind in ("changed", "added"))
    if change.insert:
        others = [h for h in _apply(held, change, row)[:-1] if h.id in by_id]
        assert not any(_share_a_day((h.valid_from, h.valid_to), row) for h in others)
