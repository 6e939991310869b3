"""The desk's time picker: one week of a coach's free times, from the same schedule guests book
from (coaching/schedule `free_slots`), shown in the coach's zone with the zone named.

Used by "Book for a client" and "Move a booking". The week is in the URL (`?week=YYYY-MM-DD`), so
Previous/Next week are plain links; the chosen start comes back as a UTC ISO instant and is checked
again by the service under the coach's lock, exactly as a guest's is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from coaching.models import Booking, Coach
from coaching.schedule import Slot, free_slots
from coaching.wallclock import daterange, local_day_bounds
from coaching.zones import zone_title

WEEK = 7


@dataclass
class PickerDay:
    date: date
    slots: list[Slot] = field(default_factory=list)


@dataclass
class SlotWeek:
    coach: Coach
    first_day: date
    days: list[PickerDay]
    zone_title: str

    @property
    def previous_week(self) -> date:
        return self.first_day - timedelta(days=WEEK)

    @property
    def next_week(self) -> date:
        return self.first_day + timedelta(days=WEEK)

    @property
    def slot_count(self) -> int:
        return sum(len(day.slots) for day in self.days)


def read_week(value: str | None, *, coach: Coach, now: datetime | None = None) -> date:
    """The first day of the week asked for, or today in the coach's zone (a bad value is today)."""
    today = (now or timezone.now()).astimezone(coach.zone).date()
    chosen = parse_date(value or "") if value else None
    return chosen if chosen is not None and chosen >= today - timedelta(days=WEEK) else today


def slot_week(
    *,
    coach: Coach,
    first_day: date,
    now: datetime | None = None,
    exclude_booking: Booking | None = None,
    **schedule_options,
) -> SlotWeek:
    """Seven days of the coach's free times from `first_day` (the coach's days), grouped by day."""
    now = now or timezone.now()
    zone = coach.zone
    start, _ = local_day_bounds(first_day, zone)
    _, end = local_day_bounds(first_day + timedelta(days=WEEK - 1), zone)
    slots = free_slots(coach=coach, start=start, end=end, now=now, exclude_booking=exclude_booking, **schedule_options)
    days = {day: PickerDay(date=day) for day in daterange(first_day, first_day + timedelta(days=WEEK - 1))}
    for slot in slots:
        if exclude_booking is not None and slot.start_at == exclude_booking.start_at:
            continue  # its own time is not somewhere to move to
        day = days.get(slot.start_at.astimezone(zone).date())
        if day is not None:
            day.slots.append(slot)
    return SlotWeek(coach=coach, first_day=first_day, days=list(days.values()), zone_title=zone_title(zone, start))


def read_start(value: str | None) -> datetime | None:
    """The start instant a picker's radio button sent (aware), or None."""
    moment = parse_datetime(value or "")
    return moment if moment is not None and moment.tzinfo is not None else None
