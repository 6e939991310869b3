"""The owner's preview of the days ahead: for each of a coach's next days, the hours the rules give
(weekly, override, unavailable, none), any time off, and the session start times guests can book —
computed by the same functions as the guests' calendar, in the coach's zone, in four queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from coaching.models import Coach
from coaching.wallclock import local_day_bounds

from .intervals import Slot
from .loading import load_coach_intervals
from .rules import DayHours, TimeOffSpan
from .session_rules import resolve_rules
from .slots import compute_free_slots


@dataclass
class PreviewDay:
    date: date
    hours: DayHours
    time_off: list[TimeOffSpan] = field(default_factory=list)
    blocks: int = 0  # Bulk-added blocks touching the day
    slots: list[Slot] = field(default_factory=list)


def preview_days(*, coach: Coach, days: int = 14, now: datetime | None = None) -> list[PreviewDay]:
    """The coach's next `days` local days, starting today in the coach's zone."""
    now = now or timezone.now()
    zone = coach.zone
    today = now.astimezone(zone).date()
    start = local_day_bounds(today, zone)[0]
    end = local_day_bounds(today + timedelta(days=days - 1), zone)[1]
    rules = resolve_rules(coach)
    intervals = load_coach_intervals(coach=coach, start=start, end=end, now=now, rules=rules)
    slots = compute_free_slots(rules, intervals, start=start, end=end, now=now) if coach.is_active and rules else []
    rules = intervals.rules
    result = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        day_start, day_end = local_day_bounds(day, zone)
        result.append(
            PreviewDay(
                date=day,
                hours=rules.hours_on(day),
                time_off=[off for off in rules.time_off if off.start_at < day_end and off.end_at > day_start],
                blocks=sum(1 for s, e in rules.blocks if s < day_end and e > day_start),
                slots=[slot for slot in slots if day_start <= slot.start_at < day_end],
            )
        )
    return result
