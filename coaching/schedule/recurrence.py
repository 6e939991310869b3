"""Recurring sessions: when each occurrence of a series falls, and which of them are free.

A series repeats in the coach's zone: "Tuesdays 18:00" stays 18:00 on the coach's wall clock on
both sides of a DST change, so its UTC instant shifts by an hour there (and a guest in another zone
may see their local time move). Each occurrence is checked with `validate_slot`, the same rule the
calendar and the booking service apply to a single session, so a series can never be offered a
time that a single booking would be refused.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from coaching.exceptions import BookingError, RecurringNotAllowed
from coaching.models import Coach, SessionType
from coaching.wallclock import local_to_utc

from .loading import CoachIntervals, load_coach_intervals
from .session_rules import SessionRules, session_rules
from .slots import validate_slot

WEEKLY = 1
FORTNIGHTLY = 2
EVERY_WEEKS_CHOICES = ((WEEKLY, "Weekly"), (FORTNIGHTLY, "Fortnightly"))


@dataclass(frozen=True)
class RecurrenceOffer:
    """How a session type may recur: every `every_weeks` weeks, at most `max_occurrences` times."""

    session_type: SessionType
    every_weeks: int
    max_occurrences: int

    @property
    def repeat_display(self) -> str:
        return "weekly" if self.every_weeks == WEEKLY else "fortnightly"


def recurrence_offer(*, coach: Coach, session_type: SessionType | None = None) -> RecurrenceOffer | None:
    """How sessions of `session_type` (default: the coach's first) with this coach may be booked as
    a series — the type's "recurring" setting — or None when they may not."""
    if not coach.is_active:
        return None
    session_type = session_type or coach.default_session_type()
    if session_type is None or not session_type.is_active or not session_type.recurring_every_weeks:
        return None
    return RecurrenceOffer(
        session_type=session_type,
        every_weeks=session_type.recurring_every_weeks,
        max_occurrences=session_type.recurring_max_occurrences,
    )


def recurrence_refusal(
    *, coach: Coach, session_type: SessionType | None = None, every_weeks: int, count: int
) -> BookingError | None:
    """Why this repeat and count cannot be booked as a series (None when they can)."""
    offer = recurrence_offer(coach=coach, session_type=session_type)
    if offer is None:
        return RecurringNotAllowed()
    if every_weeks != offer.every_weeks:
        return RecurringNotAllowed(f"These sessions can be booked {offer.repeat_display} only.")
    if not 2 <= count <= offer.max_occurrences:
        return RecurringNotAllowed(f"Please choose between 2 and {offer.max_occurrences} sessions.")
    return None


@dataclass(frozen=True)
class Occurrence:
    """One date of a series: its number (1 = the first), its time, and why it cannot be booked
    (None when it is free)."""

    number: int
    start_at: datetime
    end_at: datetime
    refusal: BookingError | None = None

    @property
    def is_free(self) -> bool:
        return self.refusal is None


def occurrence_starts(
    first_start_at: datetime, *, zone: zoneinfo.ZoneInfo, every_weeks: int, count: int
) -> list[datetime]:
    """The UTC starts of `count` occurrences, `every_weeks` weeks apart on the wall clock of `zone`.

    The first occurrence's local time is kept on every date (a time skipped by a spring-forward
    moves forward by the gap, as `local_to_utc` does for every wall time).
    """
    if every_weeks < 1 or count < 1:
        raise ValueError("A series has at least one occurrence, at least a week apart.")
    local = first_start_at.astimezone(zone)
    return [
        local_to_utc(local.date() + timedelta(weeks=every_weeks * index), local.time().replace(tzinfo=None), zone)
        for index in range(count)
    ]


def series_preview(
    *,
    coach: Coach,
    session_type: SessionType,
    first_start_at: datetime,
    count: int,
    every_weeks: int,
    now: datetime | None = None,
) -> list[Occurrence]:
    """Every occurrence of the series the guest is choosing, each with the reason it is not free
    (taken, outside the coach's hours, beyond the horizon …) or None. The first occurrence is
    checked like every other; nothing is written."""
    now = now or timezone.now()
    rules = session_rules(coach, session_type)
    starts = occurrence_starts(first_start_at, zone=coach.zone, every_weeks=every_weeks, count=count)
    intervals = series_intervals(coach, rules, starts, now=now)
    occurrences = []
    for number, start_at in enumerate(starts, start=1):
        try:
            validate_slot(coach=coach, start_at=start_at, now=now, rules=rules, intervals=intervals)
            refusal = None
        except BookingError as exc:
            refusal = exc
        occurrences.append(
            Occurrence(number=number, start_at=start_at, end_at=start_at + rules.length, refusal=refusal)
        )
    return occurrences


def series_intervals(coach: Coach, rules: SessionRules, starts: list[datetime], *, now: datetime) -> CoachIntervals:
    """The coach's availability and blockers over the whole series, in one load (four queries),
    against which every occurrence is checked."""
    return load_coach_intervals(coach=coach, start=starts[0], end=starts[-1] + rules.length, now=now, rules=rules)
