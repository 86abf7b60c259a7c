"""The bureaus' clock: times are stored in UTC and shown in Beijing time (Asia/Shanghai) everywhere.

Every page, CLI table, slip, timeline and file that shows a recorded time goes through :func:`beijing_text`
(or :func:`beijing` for a value a workbook stores), so one minute reads the same wherever it appears.
"Today" for a bureau is :func:`beijing_today`; its UTC range, for queries on recorded times, is
:func:`beijing_day_utc`. A naive time (SQLite gives stored times back without their zone) is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from yibao.core.i18n import t

BEIJING = ZoneInfo("Asia/Shanghai")
MINUTE = "%Y-%m-%d %H:%M"
"""How a recorded time is shown: ``2022-06-20 11:20`` (Beijing time)."""
SUFFIX_ZH, SUFFIX_EN = "（北京时间）", " (Beijing time)"
"""Said after a column header of times in files and tables, e.g. ``记录时间（北京时间）``."""


def as_utc(moment: datetime | str) -> datetime:
    """A recorded time (a datetime or its ISO text; naive means UTC) as an aware UTC time."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def beijing(moment: datetime | str) -> datetime:
    """A recorded time on the bureaus' clock (aware, Asia/Shanghai)."""
    return as_utc(moment).astimezone(BEIJING)


def beijing_naive(moment: datetime | str) -> datetime:
    """A recorded time on the bureaus' clock without its zone: what a workbook cell stores (Excel has no zones)."""
    return beijing(moment).replace(tzinfo=None)


def beijing_text(moment: datetime | str | None, fmt: str = MINUTE) -> str:
    """A recorded time as shown to people (``""`` for none)."""
    if moment is None or moment == "":
        return ""
    return beijing(moment).strftime(fmt)


def beijing_today(moment: datetime | None = None) -> date:
    """The bureaus' date at ``moment`` (now when not given)."""
    return beijing(moment if moment is not None else datetime.now(UTC)).date()


def beijing_day_utc(day: date) -> tuple[datetime, datetime]:
    """A Beijing day as a UTC range ``[start, end)`` (for queries on recorded times)."""
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def beijing_midnight(day: date) -> datetime:
    """The beginning of a Beijing day, in UTC (the national ``setl_time`` of a settlement's day)."""
    return beijing_day_utc(day)[0]


def time_header(zh: str, en: str, lang: str) -> str:
    """A column header of times that says they are Beijing time."""
    return t(lang, zh + SUFFIX_ZH, en + SUFFIX_EN)
