"""The bureaus' clock: a stored (UTC) time in Beijing time, hand-computed (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from yibao.core.clock import beijing, beijing_day_utc, beijing_midnight, beijing_text, beijing_today, time_header


def test_one_stored_minute_reads_the_same_in_every_form() -> None:
    aware = datetime(2026, 12, 2, 3, 20, tzinfo=UTC)
    naive = datetime(2026, 12, 2, 3, 20)  # SQLite gives stored times back without their zone: UTC
    other = datetime(2026, 12, 1, 22, 20, tzinfo=timezone(timedelta(hours=-5)))  # the same instant elsewhere
    for moment in (aware, naive, other, aware.isoformat(), naive.isoformat(), "2026-12-02 03:20:00.000000"):
        assert beijing_text(moment) == "2026-12-02 11:20", moment
    assert beijing_text(None) == "" and beijing_text("") == ""
    assert beijing(aware).utcoffset() == timedelta(hours=8)


def test_the_beijing_day_begins_at_16_00_utc_the_day_before() -> None:
    assert beijing_today(datetime(2026, 3, 11, 15, 59, tzinfo=UTC)) == date(2026, 3, 11)
    assert beijing_today(datetime(2026, 3, 11, 16, 0, tzinfo=UTC)) == date(2026, 3, 12)
    assert beijing_text(datetime(2026, 3, 11, 16, 0), "%Y-%m-%d") == "2026-03-12"
    start, end = beijing_day_utc(date(2026, 3, 12))
    assert (start, end) == (datetime(2026, 3, 11, 16, tzinfo=UTC), datetime(2026, 3, 12, 16, tzinfo=UTC))
    assert beijing_midnight(date(2022, 1, 1)) == datetime(2021, 12, 31, 16, tzinfo=UTC)


def test_a_time_column_says_beijing_time() -> None:
    assert time_header("记录时间", "Recorded", "zh") == "记录时间（北京时间）"
    assert time_header("记录时间", "Recorded", "en") == "Recorded (Beijing time)"


def test_a_refused_date_is_written_as_a_clerk_writes_it() -> None:
    from yibao.core.errors import InputError

    e = InputError("claims", "setl_date", date(2022, 5, 16), "a date in the pack's years")
    assert "'2022-05-16'" in e.render("zh") and "datetime" not in e.render("en")
