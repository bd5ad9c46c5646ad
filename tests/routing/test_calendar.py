"""Business-time maths: the edges the SLA clocks depend on.

The issue's example ("a ticket arriving Friday 17:59 with a 4 h target due
Monday 11:59 for 9–18 hours") does not add up for a 9:00–18:00 day: one
minute is left on Friday, and 3 h 59 min from Monday 09:00 is 12:59. A lunch
break only makes it later. Monday 11:59 is what an 08:00–18:00 day gives, so
both are checked: 12:59 for 9–18 and 11:59 for 8–18.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.errors import InvalidInput
from frontdesk.routing.calendar import DAYS, BusinessCalendar, CalendarSpec, compile_calendar

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def weekdays(
    *intervals: tuple[str, str], tz: str = "Asia/Shanghai", holidays: tuple[dt.date, ...] = ()
) -> BusinessCalendar:
    return compile_calendar(
        CalendarSpec(
            timezone=tz, hours={d: list(intervals) for d in DAYS[:5]}, holidays=list(holidays)
        )
    )


def local(tz: zoneinfo.ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)  # type: ignore[misc]


FRIDAY_1759 = local(SHANGHAI, 2026, 11, 27, 17, 59)  # a Friday


def test_friday_1759_plus_4_hours_on_9_to_18_is_monday_1259() -> None:
    cal = weekdays(("09:00", "18:00"))
    due = cal.add(FRIDAY_1759, dt.timedelta(hours=4))
    assert due == local(SHANGHAI, 2026, 11, 30, 12, 59)
    assert cal.between(FRIDAY_1759, due) == dt.timedelta(hours=4)


def test_the_issues_monday_1159_is_an_8_to_18_day() -> None:
    cal = weekdays(("08:00", "18:00"))
    assert cal.add(FRIDAY_1759, dt.timedelta(hours=4)) == local(SHANGHAI, 2026, 11, 30, 11, 59)


def test_a_lunch_break_is_not_business_time() -> None:
    cal = weekdays(("09:00", "12:00"), ("13:00", "18:00"))
    assert cal.add(FRIDAY_1759, dt.timedelta(hours=4)) == local(SHANGHAI, 2026, 11, 30, 13, 59)


def test_a_holiday_is_skipped() -> None:
    cal = weekdays(("09:00", "18:00"), holidays=(dt.date(2026, 11, 30),))
    assert cal.add(FRIDAY_1759, dt.timedelta(hours=4)) == local(SHANGHAI, 2026, 12, 1, 12, 59)


def test_closing_time_exactly_is_due_at_closing_not_next_morning() -> None:
    cal = weekdays(("09:00", "18:00"))
    start = local(SHANGHAI, 2026, 11, 27, 17, 0)
    assert cal.add(start, dt.timedelta(hours=1)) == local(SHANGHAI, 2026, 11, 27, 18, 0)


def test_arriving_at_night_starts_counting_at_opening() -> None:
    cal = weekdays(("09:00", "18:00"))
    start = local(SHANGHAI, 2026, 11, 24, 23, 30)  # Tuesday night
    assert cal.add(start, dt.timedelta(minutes=30)) == local(SHANGHAI, 2026, 11, 25, 9, 30)


def test_hours_follow_the_wall_clock_across_a_daylight_saving_change() -> None:
    # Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    cal = weekdays(("09:00", "18:00"), tz="Europe/Berlin")
    start = local(BERLIN, 2026, 3, 27, 17, 0)  # Friday, 16:00 UTC
    due = cal.add(start, dt.timedelta(hours=4))
    assert due == local(BERLIN, 2026, 3, 30, 12, 0)
    assert due.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 10, 0, tzinfo=dt.UTC)
    assert cal.between(start, due) == dt.timedelta(hours=4)


def test_an_hour_that_does_not_exist_is_not_counted() -> None:
    always = compile_calendar(
        CalendarSpec(timezone="Europe/Berlin", hours={d: [("00:00", "24:00")] for d in DAYS})
    )
    start = local(BERLIN, 2026, 3, 28, 23, 30)
    # 23:30 CET + 3 h of real time = 03:30 CEST (02:00–03:00 was skipped).
    assert always.add(start, dt.timedelta(hours=3)) == local(BERLIN, 2026, 3, 29, 3, 30)
    assert always.between(start, local(BERLIN, 2026, 3, 29, 3, 30)) == dt.timedelta(hours=3)


def test_a_business_day_is_the_average_open_day() -> None:
    assert weekdays(("09:00", "18:00")).day_seconds() == 9 * 3600
    assert weekdays(("09:00", "12:00"), ("13:00", "18:00")).day_seconds() == 8 * 3600


@pytest.mark.parametrize(
    "spec",
    [
        CalendarSpec(timezone="Mars/Olympus", hours={"mon": [("09:00", "18:00")]}),
        CalendarSpec(hours={"mon": [("18:00", "09:00")]}),
        CalendarSpec(hours={"mon": [("09:00", "13:00"), ("12:00", "18:00")]}),
        CalendarSpec(hours={"funday": [("09:00", "18:00")]}),
        CalendarSpec(hours={}),
    ],
)
def test_a_bad_calendar_is_refused(spec: CalendarSpec) -> None:
    with pytest.raises(InvalidInput):
        compile_calendar(spec)


LUNCH = weekdays(
    ("09:00", "12:00"),
    ("13:00", "18:00"),
    tz="Europe/Berlin",
    holidays=(dt.date(2026, 3, 30), dt.date(2026, 10, 26)),
)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),
        max_value=dt.datetime(2027, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 20),
)
def test_between_undoes_add(start: dt.datetime, minutes: int) -> None:
    amount = dt.timedelta(minutes=minutes)
    due = LUNCH.add(start, amount)
    assert due >= start
    assert LUNCH.between(start, due) == amount
