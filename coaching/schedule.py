"""Read side of the booking brain: which times a guest may book.

Rules, in the owner's words (the README repeats them):
- A coach offers 1-on-1 sessions only inside their availability blocks. Inside each block, session
  start times step from the block's start by the session length plus the buffer (09:00, 10:15, ...
  for 60-minute sessions with a 15-minute buffer), and a session must end inside the block.
- A session is not offered if it, widened by the buffer on both sides, touches an active booking
  (confirmed or held for payment), a Google busy slot, or one of the coach's workshops.
- Nothing starts in the past, sooner than the coach's minimum notice, or further ahead than the
  booking horizon.

Everything works on sorted lists of UTC intervals, so the cost is linear in the number of
availability blocks, bookings, busy slots and workshops, and a month costs a fixed handful of queries.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import CharField, Func, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import AvailabilityBlock, Booking, Coach, CoachBusySlot, Workshop, holds_time_q
from .timeutils import month_bounds

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, order=True)
class Slot:
    start_at: datetime
    end_at: datetime

    def local_start(self, zone: zoneinfo.ZoneInfo) -> datetime:
        return self.start_at.astimezone(zone)

    def local_end(self, zone: zoneinfo.ZoneInfo) -> datetime:
        return self.end_at.astimezone(zone)


@dataclass(frozen=True)
class WorkshopOffer:
    workshop: Workshop
    seats_left: int

    @property
    def is_full(self) -> bool:
        return self.seats_left <= 0


@dataclass
class DaySchedule:
    date: date
    slots: list[Slot] = field(default_factory=list)
    workshops: list[WorkshopOffer] = field(default_factory=list)
    in_month: bool = True

    @property
    def has_openings(self) -> bool:
        return bool(self.slots) or any(not offer.is_full for offer in self.workshops)


@dataclass
class MonthSchedule:
    year: int
    month: int
    zone: zoneinfo.ZoneInfo
    days: list[DaySchedule]
    coach: Coach | None = None

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def prev_month(self) -> tuple[int, int]:
        return (self.year - 1, 12) if self.month == 1 else (self.year, self.month - 1)

    @property
    def next_month(self) -> tuple[int, int]:
        return (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)

    def day(self, day: date) -> DaySchedule | None:
        for entry in self.days:
            if entry.date == day:
                return entry
        return None

    @property
    def weeks(self) -> list[list[DaySchedule | None]]:
        """Rows of 7 (Monday first) for a grid; None pads days outside the month."""
        lead = self.first_day.weekday()
        cells: list[DaySchedule | None] = [None] * lead + list(self.days)
        cells += [None] * (-len(cells) % 7)
        return [cells[i : i + 7] for i in range(0, len(cells), 7)]

    @property
    def slot_count(self) -> int:
        return sum(len(day.slots) for day in self.days)


# --- interval arithmetic -------------------------------------------------------------------------


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union: overlapping or touching intervals become one."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def widen(intervals: Iterable[Interval], by: timedelta) -> list[Interval]:
    if not by:
        return list(intervals)
    return [(start - by, end + by) for start, end in intervals]


def candidate_starts(availability: Sequence[Interval], *, length: timedelta, step: timedelta) -> list[Slot]:
    """Every session that fits inside availability, stepping from each block's start."""
    slots = []
    for block_start, block_end in merge_intervals(availability):
        start = block_start
        while start + length <= block_end:
            slots.append(Slot(start, start + length))
            start += step
    return slots


def remove_blocked(slots: Sequence[Slot], blockers: Sequence[Interval]) -> list[Slot]:
    """Slots (sorted) that do not overlap any blocker (merged, sorted): a two-pointer sweep."""
    free = []
    index = 0
    count = len(blockers)
    for slot in slots:
        while index < count and blockers[index][1] <= slot.start_at:
            index += 1
        if index < count and blockers[index][0] < slot.end_at:
            continue
        free.append(slot)
    return free


# --- loading ------------------------------------------------------------------------------------


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
        .annotate(seats_taken=_seats_taken(now))
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
    rows = queryset.order_by("start_at").annotate(
        start_text=_UtcIsoText("start_at"), end_text=_UtcIsoText("end_at")
    )
    return [(parse(start), parse(end)) for start, end in rows.values_list("start_text", "end_text")]


def _seats_taken(now: datetime):
    return Coalesce(Sum("bookings__seats", filter=holds_time_q(now, prefix="bookings__")), 0)


# --- the public read API -----------------------------------------------------------------------


def bookable_window(coach: Coach, *, now: datetime) -> tuple[datetime, datetime]:
    """[earliest start, latest start] a guest may book now."""
    earliest = now + timedelta(minutes=coach.min_notice_minutes)
    latest = now + timedelta(days=coach.horizon_days)
    return earliest, latest


def compute_free_slots(coach: Coach, intervals: CoachIntervals, *, start: datetime, end: datetime, now: datetime) -> list[Slot]:
    length = timedelta(minutes=coach.session_minutes)
    buffer = timedelta(minutes=coach.buffer_minutes)
    earliest, latest = bookable_window(coach, now=now)
    candidates = candidate_starts(intervals.availability, length=length, step=length + buffer)
    free = remove_blocked(candidates, intervals.blockers(buffer))
    return [
        slot
        for slot in free
        if start <= slot.start_at < end and slot.start_at >= earliest and slot.start_at <= latest and slot.start_at >= now
    ]


def free_slots(
    *, coach: Coach, start: datetime, end: datetime, now: datetime | None = None, exclude_booking: Booking | None = None
) -> list[Slot]:
    """Bookable 1-on-1 slots of `coach` starting in [start, end), sorted.

    `exclude_booking` ignores one booking (a reschedule may move a session next to its old time).
    """
    now = now or timezone.now()
    if not coach.is_active:
        return []
    intervals = load_coach_intervals(coach=coach, start=start, end=end, now=now, exclude_booking=exclude_booking)
    return compute_free_slots(coach, intervals, start=start, end=end, now=now)


def _group_by_day(
    *, year: int, month: int, zone: zoneinfo.ZoneInfo, slots: Iterable[Slot], offers: Iterable[WorkshopOffer]
) -> list[DaySchedule]:
    first = date(year, month, 1)
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    days = {first + timedelta(days=n): DaySchedule(date=first + timedelta(days=n)) for n in range((next_first - first).days)}
    for slot in slots:
        day = days.get(slot.start_at.astimezone(zone).date())
        if day is not None:
            day.slots.append(slot)
    for offer in offers:
        day = days.get(offer.workshop.start_at.astimezone(zone).date())
        if day is not None:
            day.workshops.append(offer)
    return list(days.values())


def _offers(workshops: Iterable[Workshop], *, now: datetime) -> list[WorkshopOffer]:
    return [
        WorkshopOffer(workshop=w, seats_left=max(w.capacity - w.seats_taken, 0))
        for w in workshops
        if w.is_published and w.start_at > now
    ]


def get_month_schedule(
    *, coach: Coach, year: int, month: int, tz: zoneinfo.ZoneInfo, now: datetime | None = None
) -> MonthSchedule:
    """The month grid for one coach as a viewer in `tz` sees it.

    Days are the viewer's days (a 23:30 UTC slot is on the next day in Asia/Tokyo). Free 1-on-1
    slots are merged with the coach's bookable workshops (published, not started; full ones are
    included and marked full). Runs four queries whatever the month holds.
    """
    now = now or timezone.now()
    start, end = month_bounds(year, month, tz)
    if coach.is_active:
        intervals = load_coach_intervals(coach=coach, start=start, end=end, now=now)
        slots = compute_free_slots(coach, intervals, start=start, end=end, now=now)
        workshops = intervals.workshops
    else:
        slots = []
        workshops = list(
            Workshop.objects.filter(host=coach, start_at__lt=end, end_at__gt=start).annotate(seats_taken=_seats_taken(now))
        )
    offers = [offer for offer in _offers(workshops, now=now) if start <= offer.workshop.start_at < end]
    days = _group_by_day(year=year, month=month, zone=tz, slots=slots, offers=offers)
    return MonthSchedule(year=year, month=month, zone=tz, days=days, coach=coach)


def get_workshops_month(*, year: int, month: int, tz: zoneinfo.ZoneInfo, now: datetime | None = None) -> MonthSchedule:
    """All published workshops starting in the viewer's month, with seats left. One query."""
    now = now or timezone.now()
    start, end = month_bounds(year, month, tz)
    workshops = (
        Workshop.objects.published()
        .filter(start_at__gte=start, start_at__lt=end)
        .select_related("host")
        .annotate(seats_taken=_seats_taken(now))
        .order_by("start_at")
    )
    days = _group_by_day(year=year, month=month, zone=tz, slots=[], offers=_offers(workshops, now=now))
    return MonthSchedule(year=year, month=month, zone=tz, days=days)


def seats_left(workshop: Workshop, *, now: datetime | None = None) -> int:
    now = now or timezone.now()
    taken = Booking.objects.filter(holds_time_q(now), workshop=workshop).aggregate(total=Coalesce(Sum("seats"), 0))
    return max(workshop.capacity - taken["total"], 0)
