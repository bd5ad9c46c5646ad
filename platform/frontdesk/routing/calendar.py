"""Business-hours calendars and the business-time maths every SLA clock uses.

A calendar is a time zone, weekly opening hours (one or more intervals a
day, so a lunch break is a gap) and holidays (whole local days closed).
Business time is real elapsed time inside opening hours: an interval is
placed on its local day in the calendar's zone and converted to UTC, so a
daylight-saving change moves the hours with the wall clock, and an hour
that does not exist (spring forward) is not counted. No calendar means
always open: business time is wall time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from dataclasses import dataclass, field
from typing import Annotated

import msgspec

from frontdesk.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead the maths looks for opening hours before giving up (a year
# of holidays and closed weeks is a calendar mistake, not a backlog).
MAX_DAYS = 800
MAX_HOLIDAYS = 1000

HourMinute = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class CalendarSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A calendar as the API and the table hold it.

    ``hours`` maps ``mon``…``sun`` to ``[["09:00", "12:00"], ["13:00", "18:00"]]``;
    a day left out is closed. ``holidays`` are local dates, closed all day.
    """

    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    hours: dict[str, list[tuple[HourMinute, HourMinute]]] = {}
    holidays: list[dt.date] = []


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class BusinessCalendar:
    """A checked calendar, ready for the maths; ``None`` hours means always open."""

    zone: zoneinfo.ZoneInfo
    # Per weekday (Monday 0): sorted, non-overlapping (start, end) minutes of the day.
    week: tuple[tuple[tuple[int, int], ...], ...] | None
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @property
    def always_open(self) -> bool:
        return self.week is None

    def day_seconds(self) -> int:
        """A business day's length: the open time of an average open weekday."""
        if self.week is None:
            return 86_400
        open_days = [day for day in self.week if day]
        total = sum(end - start for day in open_days for start, end in day)
        return total * 60 // len(open_days)

    def _intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        assert self.week is not None
        if day in self.holidays:
            return []
        out = []
        for start, end in self.week[day.weekday()]:
            begin = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=self.zone)
            if end == 24 * 60:
                finish = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.zone)
            else:
                finish = dt.datetime.combine(day, dt.time(end // 60, end % 60), tzinfo=self.zone)
            a, b = begin.astimezone(dt.UTC), finish.astimezone(dt.UTC)
            if b > a:
                out.append((a, b))
        return out

    def add(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant ``amount`` of business time after ``start``.

        Time runs only inside opening hours; a target that ends exactly at
        closing time is due at closing time, not at the next opening.
        """
        start = start.astimezone(dt.UTC)
        if amount <= dt.timedelta(0):
            return start
        if self.week is None:
            return start + amount
        remaining = amount
        first = start.astimezone(self.zone).date() - dt.timedelta(days=1)
        for offset in range(MAX_DAYS):
            for begin, finish in self._intervals(first + dt.timedelta(days=offset)):
                if finish <= start:
                    continue
                begin = max(begin, start)
                available = finish - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        raise InvalidInput(f"the calendar has too few business hours in the next {MAX_DAYS} days")

    def is_open(self, at: dt.datetime) -> bool:
        """Whether ``at`` falls inside opening hours."""
        if self.week is None:
            return True
        at = at.astimezone(dt.UTC)
        day = at.astimezone(self.zone).date()
        return any(
            begin <= at < finish
            for offset in (-1, 0)
            for begin, finish in self._intervals(day + dt.timedelta(days=offset))
        )

    def between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Business time from ``a`` to ``b`` (zero when ``b`` is not after ``a``)."""
        a, b = a.astimezone(dt.UTC), b.astimezone(dt.UTC)
        if b <= a:
            return dt.timedelta(0)
        if self.week is None:
            return b - a
        total = dt.timedelta(0)
        day = a.astimezone(self.zone).date() - dt.timedelta(days=1)
        last = b.astimezone(self.zone).date()
        while day <= last:
            for begin, finish in self._intervals(day):
                overlap = min(finish, b) - max(begin, a)
                if overlap > dt.timedelta(0):
                    total += overlap
            day += dt.timedelta(days=1)
        return total


ALWAYS_OPEN = BusinessCalendar(zone=zoneinfo.ZoneInfo("UTC"), week=None)


def compile_calendar(spec: CalendarSpec) -> BusinessCalendar:
    """Check a calendar (400 on anything wrong) and prepare it for the maths."""
    try:
        zone = zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {spec.timezone!r}") from None
    unknown = set(spec.hours) - set(DAYS)
    if unknown:
        raise InvalidInput(f"unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
    week: list[tuple[tuple[int, int], ...]] = []
    for name in DAYS:
        intervals = sorted((_minutes(a), _minutes(b)) for a, b in spec.hours.get(name, []))
        for start, end in intervals:
            if end <= start:
                raise InvalidInput(f"{name}: an interval must end after it starts")
        for (_, end), (start, _) in itertools.pairwise(intervals):
            if start < end:
                raise InvalidInput(f"{name}: intervals overlap")
        week.append(tuple(intervals))
    if not any(week):
        raise InvalidInput("a calendar needs opening hours on at least one day")
    if len(spec.holidays) > MAX_HOLIDAYS:
        raise InvalidInput(f"at most {MAX_HOLIDAYS} holidays")
    return BusinessCalendar(zone=zone, week=tuple(week), holidays=frozenset(spec.holidays))
