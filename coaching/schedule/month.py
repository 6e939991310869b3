"""The month grid: free 1-on-1 slots and workshop offers, grouped by day in the viewer's zone.

One grouping serves every calendar on the site: a coach's booking calendar, the all-workshops
calendar and a guest's "move my booking" calendar.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from coaching.models import Booking, Coach, SessionType, Workshop
from coaching.wallclock import days_of_month, following_month, month_bounds, previous_month

from .intervals import Slot
from .loading import load_coach_intervals, seats_taken_annotation
from .session_rules import SessionRules, booking_rules, resolve_rules
from .slots import free_slots, in_bookable_window, open_slots
from .workshops import listing_state


@dataclass(frozen=True)
class WorkshopOffer:
    workshop: Workshop
    seats_left: int

    @property
    def is_full(self) -> bool:
        return self.seats_left <= 0

    @property
    def state(self) -> str:
        """ "seats", "waitlist" or "sold_out" (schedule/workshops.py, listing_state)."""
        return listing_state(self.workshop, seats_left=self.seats_left)


@dataclass
class DaySchedule:
    date: date
    slots: list[Slot] = field(default_factory=list)
    workshops: list[WorkshopOffer] = field(default_factory=list)
    in_month: bool = True
    # Where choosing this day leads; the web layer fills it in (the booking page or a move page).
    url: str = ""

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
    session_type: SessionType | None = None
    rules: SessionRules | None = None
    # The shared cache's key for this month's parts when it came through schedule/cache.py, and
    # until when the clock alone leaves this grid as it is (`schedule/cache.py`, `still_true_until`).
    cache_key: str = ""
    valid_until: datetime | None = None

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def prev_month(self) -> tuple[int, int]:
        return previous_month(self.year, self.month)

    @property
    def next_month(self) -> tuple[int, int]:
        return following_month(self.year, self.month)

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

    @property
    def workshop_offers(self) -> list[WorkshopOffer]:
        return [offer for day in self.days for offer in day.workshops]


def group_by_day(
    *, year: int, month: int, zone: zoneinfo.ZoneInfo, slots: Iterable[Slot], offers: Iterable[WorkshopOffer] = ()
) -> list[DaySchedule]:
    """Every day of the month in `zone`, each holding the slots and offers that start on it there."""
    days = {day: DaySchedule(date=day) for day in days_of_month(year, month)}
    for slot in slots:
        entry = days.get(slot.start_at.astimezone(zone).date())
        if entry is not None:
            entry.slots.append(slot)
    for offer in offers:
        entry = days.get(offer.workshop.start_at.astimezone(zone).date())
        if entry is not None:
            entry.workshops.append(offer)
    return list(days.values())


def _offers(workshops: Iterable[Workshop], *, now: datetime) -> list[WorkshopOffer]:
    return [
        WorkshopOffer(workshop=w, seats_left=max(w.capacity - w.seats_taken, 0))
        for w in workshops
        if w.is_published and w.start_at > now
    ]


@dataclass
class MonthParts:
    """What a coach's month grid is made of before the clock is applied: the sessions nothing blocks
    (whatever the hour) and the workshops the coach hosts, with seats taken as of `at`.

    Only lapsing holds and waiting-list offers change them as time passes (`schedule/cache.py`
    keeps them no longer than that); the bookable window and "not started yet" are applied on read.
    """

    slots: list[Slot]
    workshops: list[Workshop]
    at: datetime
    rules: SessionRules | None = None  # the session type's, whose length and buffer made `slots`
    lapse_at: datetime | None = None  # when time alone changes them (set by the cache)


def load_month_parts(
    *, coach: Coach, year: int, month: int, tz: zoneinfo.ZoneInfo, now: datetime, rules: SessionRules | None
) -> MonthParts:
    """Four queries whatever the month holds (one for an inactive coach or one offering no session
    type: its hosted workshops only). `rules`: the session type's length, buffer, notice, horizon."""
    start, end = month_bounds(year, month, tz)
    if coach.is_active and rules is not None:
        intervals = load_coach_intervals(coach=coach, start=start, end=end, now=now, rules=rules)
        return MonthParts(
            slots=open_slots(rules, intervals, start=start, end=end),
            workshops=intervals.workshops,
            at=now,
            rules=rules,
        )
    workshops = list(
        Workshop.objects.filter(host=coach, start_at__lt=end, end_at__gt=start).annotate(
            seats_taken=seats_taken_annotation(now)
        )
    )
    return MonthParts(slots=[], workshops=workshops, at=now)


def month_from_parts(
    parts: MonthParts,
    *,
    coach: Coach,
    year: int,
    month: int,
    tz: zoneinfo.ZoneInfo,
    now: datetime,
    session_type: SessionType | None = None,
) -> MonthSchedule:
    """The grid at `now`: the slots inside the bookable window, the workshops not started yet."""
    start, end = month_bounds(year, month, tz)
    slots = in_bookable_window(parts.rules, parts.slots, now=now) if parts.rules is not None else []
    offers = [offer for offer in _offers(parts.workshops, now=now) if start <= offer.workshop.start_at < end]
    days = group_by_day(year=year, month=month, zone=tz, slots=slots, offers=offers)
    return MonthSchedule(
        year=year, month=month, zone=tz, days=days, coach=coach, session_type=session_type, rules=parts.rules
    )


def get_month_schedule(
    *,
    coach: Coach,
    year: int,
    month: int,
    tz: zoneinfo.ZoneInfo,
    now: datetime | None = None,
    session_type: SessionType | None = None,
) -> MonthSchedule:
    """The month grid for one coach and one session type (default: the coach's first type guests
    see, one more query) as a viewer in `tz` sees it.

    Days are the viewer's days (a 23:30 UTC slot is on the next day in Asia/Tokyo). Free 1-on-1
    slots are merged with the coach's bookable workshops (published, not started; full ones are
    included and marked full). Runs four queries whatever the month holds. (Guest pages read it
    through `schedule/cache.py`, which keeps the parts where every web process sees them.)
    """
    now = now or timezone.now()
    if session_type is None and coach.is_active:
        session_type = coach.default_session_type()
    rules = resolve_rules(coach, session_type=session_type) if session_type is not None else None
    parts = load_month_parts(coach=coach, year=year, month=month, tz=tz, now=now, rules=rules)
    return month_from_parts(parts, coach=coach, year=year, month=month, tz=tz, now=now, session_type=session_type)


def get_workshops_month(*, year: int, month: int, tz: zoneinfo.ZoneInfo, now: datetime | None = None) -> MonthSchedule:
    """All published workshops starting in the viewer's month, with seats left. One query."""
    now = now or timezone.now()
    start, end = month_bounds(year, month, tz)
    workshops = (
        Workshop.objects.published()
        .filter(start_at__gte=start, start_at__lt=end)
        .select_related("host")
        .annotate(seats_taken=seats_taken_annotation(now))
        .order_by("start_at")
    )
    days = group_by_day(year=year, month=month, zone=tz, slots=[], offers=_offers(workshops, now=now))
    return MonthSchedule(year=year, month=month, zone=tz, days=days)


def get_move_schedule(
    *, booking: Booking, year: int, month: int, tz: zoneinfo.ZoneInfo, now: datetime | None = None
) -> MonthSchedule:
    """The month grid of times a 1-on-1 booking can move to, as a viewer in `tz` sees it.

    The coach's free slots for the booking's own length and type (booking_rules), computed as if
    this booking were not there (it may move next to its old time), minus its current time.
    """
    start, end = month_bounds(year, month, tz)
    rules = booking_rules(booking)
    slots = [
        slot
        for slot in free_slots(coach=booking.coach, start=start, end=end, now=now, rules=rules, exclude_booking=booking)
        if slot.start_at != booking.start_at
    ]
    days = group_by_day(year=year, month=month, zone=tz, slots=slots)
    return MonthSchedule(
        year=year, month=month, zone=tz, days=days, coach=booking.coach, session_type=booking.session_type, rules=rules
    )
