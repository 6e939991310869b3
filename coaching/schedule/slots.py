"""Which 1-on-1 sessions of one coach are free, and whether one chosen start is.

`free_slots` lists them for a window; `validate_slot` answers for one start with the reason it is
refused. The booking services call `validate_slot` again under the coach's lock before writing, so
both the calendar and the write apply exactly the same rules — both get the coach's availability
from `load_coach_intervals`, which expands the weekly hours, overrides and time off (rules.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from coaching.exceptions import BeyondHorizon, InsideMinimumNotice, OutsideAvailability, SlotInPast, SlotUnavailable
from coaching.models import Booking, Coach

from .intervals import Slot, candidate_starts, merge_intervals, remove_blocked
from .loading import CoachIntervals, load_coach_intervals


def bookable_window(coach: Coach, *, now: datetime) -> tuple[datetime, datetime]:
    """[earliest start, latest start] a guest may book now."""
    earliest = now + timedelta(minutes=coach.min_notice_minutes)
    latest = now + timedelta(days=coach.horizon_days)
    return earliest, latest


def open_slots(coach: Coach, intervals: CoachIntervals, *, start: datetime, end: datetime) -> list[Slot]:
    """Sessions starting in [start, end) that nothing blocks, whatever the time now (the bookable
    window — notice and horizon — is applied by `in_bookable_window`)."""
    length = timedelta(minutes=coach.session_minutes)
    buffer = timedelta(minutes=coach.buffer_minutes)
    candidates = candidate_starts(intervals.availability, length=length, step=length + buffer)
    free = remove_blocked(candidates, intervals.blockers(buffer))
    return [slot for slot in free if start <= slot.start_at < end]


def in_bookable_window(coach: Coach, slots: list[Slot], *, now: datetime) -> list[Slot]:
    """The slots a guest may book at `now`: not in the past, nor inside the notice, nor past the horizon."""
    earliest, latest = bookable_window(coach, now=now)
    return [slot for slot in slots if max(earliest, now) <= slot.start_at <= latest]


def compute_free_slots(
    coach: Coach, intervals: CoachIntervals, *, start: datetime, end: datetime, now: datetime
) -> list[Slot]:
    return in_bookable_window(coach, open_slots(coach, intervals, start=start, end=end), now=now)


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


def validate_slot(*, coach: Coach, start_at: datetime, now: datetime, exclude_booking: Booking | None = None) -> Slot:
    """The slot starting at `start_at` exactly as the schedule offers it, or the reason it is not.

    Raises SlotInPast, InsideMinimumNotice, BeyondHorizon, OutsideAvailability or SlotUnavailable.
    """
    if start_at <= now:
        raise SlotInPast()
    if start_at < now + timedelta(minutes=coach.min_notice_minutes):
        raise InsideMinimumNotice(
            f"Sessions with {coach.name} need to be booked at least {duration_in_words(coach.min_notice_minutes)} ahead."
        )
    if start_at > now + timedelta(days=coach.horizon_days):
        raise BeyondHorizon(f"Sessions with {coach.name} can be booked up to {coach.horizon_days} days ahead.")
    length = timedelta(minutes=coach.session_minutes)
    wanted = Slot(start_at, start_at + length)
    intervals = load_coach_intervals(
        coach=coach, start=start_at, end=wanted.end_at, now=now, exclude_booking=exclude_booking
    )
    buffer = timedelta(minutes=coach.buffer_minutes)
    # The same grid as candidate_starts (steps of length + buffer from each merged block's start),
    # checked arithmetically instead of listing a long block's every slot.
    block = next(
        (b for b in merge_intervals(intervals.availability) if b[0] <= start_at and wanted.end_at <= b[1]), None
    )
    if block is None or (start_at - block[0]) % (length + buffer):
        raise OutsideAvailability()
    if any(start < wanted.end_at and wanted.start_at < end for start, end in intervals.blockers(buffer)):
        raise SlotUnavailable()
    return wanted


def duration_in_words(minutes: int) -> str:
    """'2 days', '12 hours', '90 minutes'."""
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"
