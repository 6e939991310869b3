"""The first time a guest can book: the calendar's "Next available" jump.

Kept beside `month` (which shows one month) because a month can be empty while the coach has
times the month after, or past the horizon of an empty month; this answers "where next?" without
walking the calendar month by month.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from coaching.models import Coach, SessionType, Workshop

from .intervals import Slot
from .loading import load_coach_intervals, seats_taken_annotation
from .session_rules import resolve_rules
from .slots import compute_free_slots


def next_free_slot(
    *, coach: Coach, after: datetime, now: datetime | None = None, session_type: SessionType | None = None
) -> Slot | None:
    """The first slot of `coach` for `session_type` (default: the coach's first) a guest may book
    that starts at or after `after` (never before the minimum notice), or None when nothing is free
    up to the booking horizon.

    Loads the window from there to the horizon once, so it costs the same four queries as one month,
    whatever lies in between (an empty month, a holiday, a fully booked week).
    """
    now = now or timezone.now()
    if not coach.is_active:
        return None
    rules = resolve_rules(coach, session_type=session_type)
    if rules is None:
        return None
    earliest, latest = rules.bookable_window(now=now)
    start = max(after, earliest, now)
    if start > latest:
        return None
    end = latest + timedelta(microseconds=1)  # a slot may start at the horizon itself
    intervals = load_coach_intervals(coach=coach, start=start, end=end, now=now, rules=rules)
    slots = compute_free_slots(rules, intervals, start=start, end=end, now=now)
    return slots[0] if slots else None


def workshops_with_seats(
    *, after: datetime, now: datetime | None = None, exclude: Workshop | None = None, limit: int = 3
) -> list[Workshop]:
    """The first `limit` published workshops starting at or after `after` (none already started)
    that still have a seat, earliest first: the "next workshop" jump, and what a sold-out
    workshop's page offers instead. One query."""
    now = now or timezone.now()
    workshops = (
        Workshop.objects.published()
        .filter(start_at__gte=max(after, now))
        .select_related("host")
        .annotate(seats_taken=seats_taken_annotation(now))
        .filter(capacity__gt=F("seats_taken"))
        .order_by("start_at")
    )
    if exclude is not None:
        workshops = workshops.exclude(pk=exclude.pk)
    return list(workshops[:limit])
