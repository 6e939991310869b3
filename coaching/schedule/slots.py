"""Which 1-on-1 sessions of one coach are free for one session type, and whether one chosen start is.

Length, stepping and buffer come from the session type (or a booking's own length, when it moves);
notice and horizon from the type, else the coach (session_rules.py). Bookings of every type of the
coach block each other.

`free_slots` lists them for a window; `validate_slot` answers for one start with the reason it is
refused. The booking services call `validate_slot` again under the coach's lock before writing, so
both the calendar and the write apply exactly the same rules — both get the coach's availability
from `load_coach_intervals`, which expands the weekly hours, overrides and time off (rules.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from coaching.exceptions import BeyondHorizon, InsideMinimumNotice, OutsideAvailability, SlotInPast, SlotUnavailable
from coaching.models import Booking, Coach, SessionType

from .intervals import Slot, candidate_starts, merge_intervals, remove_blocked
from .loading import CoachIntervals, load_coach_intervals
from .session_rules import SessionRules, require_rules, resolve_rules


def bookable_window(
    coach: Coach, *, now: datetime, session_type: SessionType | None = None, rules: SessionRules | None = None
) -> tuple[datetime, datetime]:
    """[earliest start, latest start] a guest may book now (for `session_type`, default: the
    coach's first; a coach without a type: the coach's own notice and horizon)."""
    resolved = resolve_rules(coach, session_type=session_type, rules=rules)
    if resolved is None:
        return now + timedelta(minutes=coach.min_notice_minutes), now + timedelta(days=coach.horizon_days)
    return resolved.bookable_window(now=now)


def open_slots(rules: SessionRules, intervals: CoachIntervals, *, start: datetime, end: datetime) -> list[Slot]:
    """Sessions of `rules`' length starting in [start, end) that nothing blocks, whatever the time
    now (the bookable window — notice and horizon — is applied by `in_bookable_window`)."""
    candidates = candidate_starts(intervals.availability, length=rules.length, step=rules.step)
    free = remove_blocked(candidates, intervals.blockers(rules.buffer))
    return [slot for slot in free if start <= slot.start_at < end]


def in_bookable_window(rules: SessionRules, slots: list[Slot], *, now: datetime) -> list[Slot]:
    """The slots a guest may book at `now`: not in the past, nor inside the notice, nor past the horizon."""
    earliest, latest = rules.bookable_window(now=now)
    return [slot for slot in slots if max(earliest, now) <= slot.start_at <= latest]


def compute_free_slots(
    rules: SessionRules, intervals: CoachIntervals, *, start: datetime, end: datetime, now: datetime
) -> list[Slot]:
    return in_bookable_window(rules, open_slots(rules, intervals, start=start, end=end), now=now)


def free_slots(
    *,
    coach: Coach,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    session_type: SessionType | None = None,
    rules: SessionRules | None = None,
    exclude_booking: Booking | None = None,
) -> list[Slot]:
    """Bookable 1-on-1 slots of `coach` for `session_type` (default: the coach's first type guests
    see; or explicit `rules`, e.g. a booking's own) starting in [start, end), sorted.

    `exclude_booking` ignores one booking (a reschedule may move a session next to its old time).
    """
    now = now or timezone.now()
    if not coach.is_active:
        return []
    rules = resolve_rules(coach, session_type=session_type, rules=rules)
    if rules is None:
        return []
    intervals = load_coach_intervals(
        coach=coach, start=start, end=end, now=now, exclude_booking=exclude_booking, rules=rules
    )
    return compute_free_slots(rules, intervals, start=start, end=end, now=now)


def validate_slot(
    *,
    coach: Coach,
    start_at: datetime,
    now: datetime,
    session_type: SessionType | None = None,
    rules: SessionRules | None = None,
    exclude_booking: Booking | None = None,
    intervals: CoachIntervals | None = None,
) -> Slot:
    """The slot starting at `start_at` exactly as the schedule offers it for `session_type` (or
    `rules`; default: the coach's first type), or the reason it is not. `intervals`: already loaded
    for a window covering the slot (a recurring series checks all its dates against one load).

    Raises SlotInPast, InsideMinimumNotice, BeyondHorizon, OutsideAvailability, SlotUnavailable, or
    NotBookable when the coach offers no session type.
    """
    rules = require_rules(coach, session_type=session_type, rules=rules)
    if start_at <= now:
        raise SlotInPast()
    if start_at < now + timedelta(minutes=rules.min_notice_minutes):
        raise InsideMinimumNotice(
            f"Sessions with {coach.name} need to be booked at least {duration_in_words(rules.min_notice_minutes)} ahead."
        )
    if start_at > now + timedelta(days=rules.horizon_days):
        raise BeyondHorizon(f"Sessions with {coach.name} can be booked up to {rules.horizon_days} days ahead.")
    wanted = Slot(start_at, start_at + rules.length)
    if intervals is None:
        intervals = load_coach_intervals(
            coach=coach, start=start_at, end=wanted.end_at, now=now, exclude_booking=exclude_booking, rules=rules
        )
    # The same grid as candidate_starts (steps of length + buffer from each merged block's start),
    # checked arithmetically instead of listing a long block's every slot.
    block = next(
        (b for b in merge_intervals(intervals.availability) if b[0] <= start_at and wanted.end_at <= b[1]), None
    )
    if block is None or (start_at - block[0]) % rules.step:
        raise OutsideAvailability()
    if any(start < wanted.end_at and wanted.start_at < end for start, end in intervals.blockers(rules.buffer)):
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
