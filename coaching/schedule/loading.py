"""Loading what shapes a coach's free time, in a fixed handful of queries whatever the window holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, F, Func, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from coaching.models import (
    MAX_BUFFER_MINUTES,
    AvailabilityBlock,
    Booking,
    Coach,
    CoachBusySlot,
    DateOverride,
    TimeOff,
    WeeklyHours,
    Workshop,
    holds_time_q,
    offered_seats_subquery,
)
from coaching.wallclock import local_to_utc

from .intervals import Interval, merge_intervals, widen
from .rules import AvailabilityRules, OverrideRange, TimeOffSpan, WeeklyRange, time_off_span
from .session_rules import SessionRules

# Without a session's rules, blockers are loaded this far around the window (the longest session
# plus the widest buffer a booking can keep).
_WIDEST_REACH = timedelta(minutes=12 * 60 + MAX_BUFFER_MINUTES)


@dataclass
class CoachIntervals:
    """Everything that shapes one coach's free time inside a window, loaded in a fixed few queries.

    `availability` is what the rules give (weekly hours and overrides, plus blocks, minus time off);
    `rules` keeps the rules themselves for the owner's screens. `booking_buffers[i]` is the buffer
    of `bookings[i]`'s own session type.
    """

    availability: list[Interval]
    bookings: list[Interval]
    busy: list[Interval]
    workshops: list[Workshop]
    rules: AvailabilityRules | None = None
    booking_buffers: list[timedelta] | None = None

    def blockers(self, buffer: timedelta) -> list[Interval]:
        """What a new session keeping `buffer` must not touch: each booking widened by the larger of
        `buffer` and its own buffer (session_rules.py), busy time and workshops by `buffer`."""
        own = self.booking_buffers if self.booking_buffers is not None else [timedelta(0)] * len(self.bookings)
        spans = [
            (start - max(buffer, kept), end + max(buffer, kept))
            for (start, end), kept in zip(self.bookings, own, strict=True)
        ]
        spans += widen(self.busy + [(w.start_at, w.end_at) for w in self.workshops], buffer)
        return merge_intervals(spans)


def load_coach_intervals(
    *,
    coach: Coach,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    exclude_booking: Booking | None = None,
    rules: SessionRules | None = None,
) -> CoachIntervals:
    """Availability, active bookings (of every session type: they all take the coach's time), busy
    slots and hosted workshops touching [start, end).

    Blockers are loaded a session-plus-widest-buffer wider than the window so that a booking just
    outside the window still removes the slots its buffer reaches; availability for whole local days
    around it (`fetch_availability_rules`). Four queries, whatever the window holds.
    """
    now = now or timezone.now()
    margin = rules.length + max(rules.buffer, timedelta(minutes=MAX_BUFFER_MINUTES)) if rules else _WIDEST_REACH
    lo, hi = start - margin, end + margin
    availability_rules = fetch_availability_rules(coach=coach, start=lo, end=hi)
    bookings = Booking.objects.filter(holds_time_q(now), coach=coach, start_at__lt=hi, end_at__gt=lo)
    if exclude_booking is not None:
        bookings = bookings.exclude(pk=exclude_booking.pk)
    busy = CoachBusySlot.objects.filter(coach=coach, start_at__lt=hi, end_at__gt=lo)
    workshops = list(
        Workshop.objects.filter(host=coach, start_at__lt=hi, end_at__gt=lo)
        .annotate(seats_taken=seats_taken_annotation(now))
        .order_by("start_at")
    )
    booking_spans, booking_buffers = fetch_booking_spans(bookings)
    return CoachIntervals(
        availability=availability_rules.availability(),
        bookings=booking_spans,
        busy=fetch_spans(busy),
        workshops=workshops,
        rules=availability_rules,
        booking_buffers=booking_buffers,
    )


def _text(expression) -> Cast:
    return Cast(expression, output_field=CharField())


_NO_TEXT = Value(None, output_field=CharField())


def _rule_rows(queryset: QuerySet, *, kind: str, n=None, d1=None, d2=None, t1=None, t2=None, label=None) -> QuerySet:
    """One branch of the rules query: the same seven columns in the same order for every table."""
    return (
        queryset.order_by()
        .annotate(
            r_kind=Value(kind, output_field=CharField()),
            r_n=n if n is not None else Value(0, output_field=IntegerField()),
            r_d1=d1 if d1 is not None else _NO_TEXT,
            r_d2=d2 if d2 is not None else _NO_TEXT,
            r_t1=t1 if t1 is not None else _NO_TEXT,
            r_t2=t2 if t2 is not None else _NO_TEXT,
            r_label=label if label is not None else Value("", output_field=CharField()),
        )
        .values_list("r_kind", "r_n", "r_d1", "r_d2", "r_t1", "r_t2", "r_label")
    )


def fetch_availability_rules(*, coach: Coach, start: datetime, end: datetime) -> AvailabilityRules:
    """The coach's weekly hours, date overrides, time off and Bulk-add blocks for the whole local
    days around [start, end), in ONE query (UNION ALL of the four tables in a common column shape).

    A day either side is added, so that a window of availability running up to the window's edge
    is seen whole (its sessions step from its real start) whatever window the caller asked for.
    Dates and times come back as ISO text and are parsed in C, like `fetch_spans`.
    """
    zone = coach.zone
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    region_start = local_to_utc(first_day, time(0), zone)
    region_end = local_to_utc(last_day + timedelta(days=1), time(0), zone)
    blocks = _rule_rows(
        AvailabilityBlock.objects.filter(coach=coach, start_at__lt=region_end, end_at__gt=region_start),
        kind="block",
        d1=_UtcIsoText("start_at"),
        d2=_UtcIsoText("end_at"),
    )
    weekly = _rule_rows(
        WeeklyHours.objects.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=last_day),
            Q(valid_until__isnull=True) | Q(valid_until__gte=first_day),
            coach=coach,
        ),
        kind="weekly",
        n=F("weekday"),
        d1=_text("valid_from"),
        d2=_text("valid_until"),
        t1=_text("start_time"),
        t2=_text("end_time"),
    )
    overrides = _rule_rows(
        DateOverride.objects.filter(coach=coach, date__gte=first_day, date__lte=last_day),
        kind="override",
        d1=_text("date"),
        t1=_text("start_time"),
        t2=_text("end_time"),
    )
    time_off = _rule_rows(
        TimeOff.objects.filter(coach=coach, start_date__lte=last_day, end_date__gte=first_day),
        kind="time_off",
        d1=_text("start_date"),
        d2=_text("end_date"),
        t1=_text("start_time"),
        t2=_text("end_time"),
        label=F("reason"),
    )
    rules = AvailabilityRules(zone=zone, first_day=first_day, last_day=last_day)
    parse_instant, parse_day, parse_time = datetime.fromisoformat, date.fromisoformat, time.fromisoformat
    for kind, number, d1, d2, t1, t2, label in blocks.union(weekly, overrides, time_off, all=True):
        if kind == "block":
            rules.blocks.append((parse_instant(d1), parse_instant(d2)))
        elif kind == "weekly":
            rules.weekly.append(
                WeeklyRange(
                    weekday=number,
                    start=parse_time(t1),
                    end=parse_time(t2),
                    valid_from=parse_day(d1) if d1 else None,
                    valid_until=parse_day(d2) if d2 else None,
                )
            )
        elif kind == "override":
            day = parse_day(d1)
            rules.overrides.setdefault(day, []).append(
                OverrideRange(day=day, start=parse_time(t1) if t1 else None, end=parse_time(t2) if t2 else None)
            )
        else:
            start_at, end_at = time_off_span(
                parse_day(d1), parse_time(t1) if t1 else None, parse_day(d2), parse_time(t2) if t2 else None, zone
            )
            rules.time_off.append(TimeOffSpan(start_at=start_at, end_at=end_at, reason=label))
    rules.blocks.sort()
    rules.time_off.sort(key=lambda off: (off.start_at, off.end_at))
    return rules


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


def fetch_booking_spans(queryset: QuerySet) -> tuple[list[Interval], list[timedelta]]:
    """`fetch_spans` of bookings, with the buffer of each one's session type (0 without one)."""
    parse = datetime.fromisoformat
    rows = (
        queryset.order_by("start_at")
        .annotate(
            start_text=_UtcIsoText("start_at"),
            end_text=_UtcIsoText("end_at"),
            kept=Coalesce("session_type__buffer_minutes", 0),
        )
        .values_list("start_text", "end_text", "kept")
    )
    spans, buffers = [], []
    for start, end, kept in rows:
        spans.append((parse(start), parse(end)))
        buffers.append(timedelta(minutes=kept))
    return spans, buffers


def seats_taken_annotation(now: datetime):
    """Seats of confirmed bookings and unexpired holds, plus those offered to the waiting list."""
    booked = Coalesce(Sum("bookings__seats", filter=holds_time_q(now, prefix="bookings__")), 0)
    return booked + offered_seats_subquery(now)
