"""Loading what shapes a coach's free time, in a fixed handful of queries whatever the window holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import CharField, Func, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.models import (
    AvailabilityBlock,
    Booking,
    Coach,
    CoachBusySlot,
    Workshop,
    holds_time_q,
    offered_seats_subquery,
)

from .intervals import Interval, merge_intervals, widen


@dataclass
class CoachIntervals:
    """Everything that shapes one coach's free time inside a window, loaded in a fixed few queries."""

    availability: list[Interval]
    bookings: list[Interval]
    busy: list[Interval]
    workshops: list[Workshop]

    def blockers(self, buffer: timedelta) -> list[Interval]:
        spans = self.bookings + self.busy + [(w.start_at, w.end_at) for w in self.workshops]
        return merge_intervals(widen(spans, buffer))


def load_coach_intervals(
    *, coach: Coach, start: datetime, end: datetime, now: datetime | None = None, exclude_booking: Booking | None = None
) -> CoachIntervals:
    """Availability, active bookings, busy slots and hosted workshops touching [start, end).

    Blockers are loaded a session-plus-buffer wider than the window so that a booking just outside
    the window still removes the slots its buffer reaches. Four queries, whatever the window holds.
    """
    now = now or timezone.now()
    margin = timedelta(minutes=coach.session_minutes + coach.buffer_minutes)
    availability = fetch_spans(
        AvailabilityBlock.objects.filter(coach=coach, start_at__lt=end + margin, end_at__gt=start - margin)
    )
    lo, hi = start - margin, end + margin
    bookings = Booking.objects.filter(holds_time_q(now), coach=coach, start_at__lt=hi, end_at__gt=lo)
    if exclude_booking is not None:
        bookings = bookings.exclude(pk=exclude_booking.pk)
    busy = CoachBusySlot.objects.filter(coach=coach, start_at__lt=hi, end_at__gt=lo)
    workshops = list(
        Workshop.objects.filter(host=coach, start_at__lt=hi, end_at__gt=lo)
        .annotate(seats_taken=seats_taken_annotation(now))
        .order_by("start_at")
    )
    return CoachIntervals(
        availability=availability,
        bookings=fetch_spans(bookings),
        busy=fetch_spans(busy),
        workshops=workshops,
    )


class _UtcIsoText(Func):
    """A datetime column as ISO-8601 text with its UTC offset, so Python's C-level
    `datetime.fromisoformat` builds the aware value directly. SQLite stores naive UTC text;
    PostgreSQL's timestamptz is rendered in UTC."""

    template = "(%(expressions)s || '+00:00')"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="((%(expressions)s AT TIME ZONE 'UTC')::text || '+00:00')", **extra_context
        )


def fetch_spans(queryset: QuerySet) -> list[Interval]:
    """(start_at, end_at) pairs of a queryset, sorted by start, without per-value ORM conversion.

    A month holds thousands of these, and the drivers' datetime conversion (Django's SQLite
    converter; Django's Python-level timestamptz loader on psycopg) costs several times the whole
    interval sweep, so the rows come back as ISO text and are parsed in C.
    """
    parse = datetime.fromisoformat
    rows = queryset.order_by("start_at").annotate(start_text=_UtcIsoText("start_at"), end_text=_UtcIsoText("end_at"))
    return [(parse(start), parse(end)) for start, end in rows.values_list("start_text", "end_text")]


def seats_taken_annotation(now: datetime):
    """Seats of confirmed bookings and unexpired holds, plus those offered to the waiting list."""
    booked = Coalesce(Sum("bookings__seats", filter=holds_time_q(now, prefix="bookings__")), 0)
    return booked + offered_seats_subquery(now)
