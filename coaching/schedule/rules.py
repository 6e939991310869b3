"""Availability from rules, expanded on read: weekly hours and date overrides, plus Bulk-add
blocks as one-off extras, minus time off.

The rules are wall-clock times in the coach's zone (coaching/models/hours.py). They are turned into
UTC spans here, one local day at a time through `coaching.wallclock.local_to_utc`, only for the days
a caller asks about — no nightly job writes them out, so a calendar never runs dry, and 09:00 stays
09:00 on both sides of a clock change by construction.

For each local day of the window:

1. the day's hours are its **date override** if it has one (one or more ranges), else the
   **weekly hours** of its weekday that are valid on that date;
2. **Bulk-add blocks** (concrete UTC spans) are added on top;
3. **time off**, and days overridden as "unavailable all day", are taken away from both.

What remains is the coach's availability; sessions step from the start of each remaining window
(coaching/schedule/intervals.py), and bookings, holds, busy time and workshops are subtracted from
the sessions afterwards (coaching/schedule/slots.py), exactly as for blocks alone.

Everything here is pure: coaching/schedule/loading.py reads the rows (in one query with the
blocks) and builds an `AvailabilityRules` for the window.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from coaching.models import WEEKDAY_NAMES
from coaching.wallclock import daterange, local_day_bounds, local_to_utc

from .intervals import Interval, merge_intervals

MIDNIGHT = time(0)
TimeRange = tuple[time, time]


@dataclass(frozen=True)
class WeeklyRange:
    weekday: int  # Monday = 0
    start: time
    end: time  # 00:00 = midnight
    valid_from: date | None = None
    valid_until: date | None = None

    def applies_on(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True)
class OverrideRange:
    day: date
    start: time | None = None  # both None: unavailable all day
    end: time | None = None

    @property
    def unavailable(self) -> bool:
        return self.start is None


@dataclass(frozen=True)
class TimeOffSpan:
    start_at: datetime
    end_at: datetime
    reason: str


@dataclass(frozen=True)
class DayHours:
    """A day's hours as the rules give them, before blocks and time off.

    `source`: "override" (the date has its own hours), "unavailable" (overridden as unavailable all
    day), "weekly" (the weekday's weekly hours) or "none" (no weekly hours on this weekday).
    `weekly` is what the weekly hours alone would give that day, so the owner can see what an
    override replaced.
    """

    day: date
    source: str
    ranges: tuple[TimeRange, ...]
    weekly: tuple[TimeRange, ...]

    @property
    def weekday_name(self) -> str:
        return WEEKDAY_NAMES[self.day.weekday()]


def span_on(day: date, start: time, end: time, zone: zoneinfo.ZoneInfo) -> Interval:
    """The UTC span of a wall-clock range on one local day (an end of 00:00 is that night's midnight)."""
    end_day = day + timedelta(days=1) if end == MIDNIGHT else day
    return local_to_utc(day, start, zone), local_to_utc(end_day, end, zone)


def time_off_span(
    start_date: date, start_time: time | None, end_date: date, end_time: time | None, zone: zoneinfo.ZoneInfo
) -> Interval:
    """Time off as a UTC span: no start time = from the first day's midnight, no end time = to the end
    of the last day."""
    start_at = local_to_utc(start_date, start_time or MIDNIGHT, zone)
    if end_time is None:
        end_at = local_to_utc(end_date + timedelta(days=1), MIDNIGHT, zone)
    else:
        end_at = local_to_utc(end_date, end_time, zone)
    return start_at, end_at


def subtract(intervals: Iterable[Interval], removals: Iterable[Interval]) -> list[Interval]:
    """`intervals` minus `removals` (each merged and sorted first): a linear sweep."""
    cuts = merge_intervals(removals)
    result: list[Interval] = []
    index = 0
    for start, end in merge_intervals(intervals):
        while index < len(cuts) and cuts[index][1] <= start:
            index += 1
        cursor = start
        probe = index
        while probe < len(cuts) and cuts[probe][0] < end:
            cut_start, cut_end = cuts[probe]
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result


@dataclass
class AvailabilityRules:
    """One coach's rules for the local days `first_day`..`last_day` (both included), with the
    Bulk-add blocks touching those days."""

    zone: zoneinfo.ZoneInfo
    first_day: date
    last_day: date
    weekly: list[WeeklyRange] = field(default_factory=list)
    overrides: dict[date, list[OverrideRange]] = field(default_factory=dict)
    blocks: list[Interval] = field(default_factory=list)
    time_off: list[TimeOffSpan] = field(default_factory=list)

    def days(self) -> Iterable[date]:
        return daterange(self.first_day, self.last_day)

    def weekly_on(self, day: date) -> tuple[TimeRange, ...]:
        return tuple(sorted((row.start, row.end) for row in self.weekly if row.applies_on(day)))

    def hours_on(self, day: date) -> DayHours:
        weekly = self.weekly_on(day)
        overrides = self.overrides.get(day)
        if overrides:
            if any(row.unavailable for row in overrides):
                return DayHours(day, "unavailable", (), weekly)
            ranges = tuple(sorted((row.start, row.end) for row in overrides))
            return DayHours(day, "override", ranges, weekly)
        return DayHours(day, "weekly" if weekly else "none", weekly, weekly)

    def hour_spans(self, days: Iterable[date] | None = None) -> list[Interval]:
        """Weekly hours and overrides as UTC spans, for every day of the window (or `days`)."""
        by_weekday: dict[int, list[WeeklyRange]] = {}
        for row in self.weekly:
            by_weekday.setdefault(row.weekday, []).append(row)
        spans = []
        for day in self.days() if days is None else days:
            overrides = self.overrides.get(day)
            if overrides:
                ranges = [] if any(row.unavailable for row in overrides) else [(r.start, r.end) for r in overrides]
            else:
                ranges = [(r.start, r.end) for r in by_weekday.get(day.weekday(), ()) if r.applies_on(day)]
            for start, end in ranges:
                start_at, end_at = span_on(day, start, end, self.zone)
                # A range inside a spring-forward gap has no length that day.
                if end_at > start_at:
                    spans.append((start_at, end_at))
        return spans

    def closed_spans(self) -> list[Interval]:
        """What takes availability away: time off, and days overridden as unavailable all day."""
        spans = [(off.start_at, off.end_at) for off in self.time_off]
        spans += [
            local_day_bounds(day, self.zone)
            for day, rows in self.overrides.items()
            if any(row.unavailable for row in rows)
        ]
        return merge_intervals(spans)

    def open_spans(self) -> list[Interval]:
        """Hours and blocks before time off is taken away (merged, sorted)."""
        return merge_intervals(self.hour_spans() + self.blocks)

    def availability(self) -> list[Interval]:
        """The coach's availability in the window: hours ∪ blocks − time off (merged, sorted)."""
        return subtract(self.open_spans(), self.closed_spans())
