""" "Why is this slot not offered?" — the owner's answer, for one coach and one day.

A read: it loads the same intervals the schedule uses (coaching/schedule/loading.py) and, for every session
the coach's availability would produce that day, lists what removes it: an active booking, a Google
busy slot, one of the coach's workshops (each widened by the coach's buffer, as the schedule does),
or the time rules (past, minimum notice, horizon). A day without availability says so.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from coaching.models import ACTIVE_STATUSES, Booking, Coach, CoachBusySlot
from coaching.wallclock import local_day_bounds

from .intervals import Slot, candidate_starts, merge_intervals
from .loading import load_coach_intervals
from .slots import bookable_window


@dataclass(frozen=True)
class Reason:
    kind: str  # "booking", "busy", "workshop", "past", "notice", "horizon", "inactive"
    label: str
    start_at: datetime | None = None
    end_at: datetime | None = None


@dataclass
class SlotDiagnosis:
    slot: Slot
    reasons: list[Reason] = field(default_factory=list)

    @property
    def offered(self) -> bool:
        return not self.reasons


@dataclass
class DayDiagnosis:
    coach: Coach
    day: date
    zone: zoneinfo.ZoneInfo
    availability: list[tuple[datetime, datetime]]
    slots: list[SlotDiagnosis]
    last_pull_at: datetime | None

    @property
    def offered_count(self) -> int:
        return sum(1 for entry in self.slots if entry.offered)


def _overlaps(slot: Slot, start: datetime, end: datetime, buffer: timedelta) -> bool:
    return start - buffer < slot.end_at and end + buffer > slot.start_at


def explain_day(*, coach: Coach, day: date, now: datetime | None = None) -> DayDiagnosis:
    """Every candidate session of `coach` on `day` (the coach's own calendar day) and what removes it."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(coach.timezone)
    start, end = local_day_bounds(day, zone)
    intervals = load_coach_intervals(coach=coach, start=start, end=end)
    length = timedelta(minutes=coach.session_minutes)
    buffer = timedelta(minutes=coach.buffer_minutes)
    margin = length + buffer
    # The schedule only needs the spans; the owner needs to know *which* booking and busy slot.
    bookings = list(
        Booking.objects.filter(
            coach=coach, status__in=ACTIVE_STATUSES, start_at__lt=end + margin, end_at__gt=start - margin
        ).order_by("start_at")
    )
    busy_slots = list(
        CoachBusySlot.objects.filter(coach=coach, start_at__lt=end + margin, end_at__gt=start - margin).order_by(
            "start_at"
        )
    )
    earliest, latest = bookable_window(coach, now=now)
    candidates = [
        slot
        for slot in candidate_starts(intervals.availability, length=length, step=length + buffer)
        if start <= slot.start_at < end
    ]
    diagnoses = []
    for slot in candidates:
        reasons = []
        if not coach.is_active:
            reasons.append(Reason("inactive", "The coach is inactive (takes no new bookings)."))
        if slot.start_at < now:
            reasons.append(Reason("past", "Already started or over."))
        elif slot.start_at < earliest:
            reasons.append(Reason("notice", f"Inside the minimum notice ({coach.min_notice_minutes} min)."))
        if slot.start_at > latest:
            reasons.append(Reason("horizon", f"Beyond the booking horizon ({coach.horizon_days} days)."))
        for booking in bookings:
            if _overlaps(slot, booking.start_at, booking.end_at, buffer):
                reasons.append(
                    Reason(
                        "booking",
                        f"Booking {booking.reference} ({booking.get_status_display()}, {booking.guest_name})",
                        booking.start_at,
                        booking.end_at,
                    )
                )
        for busy in busy_slots:
            if _overlaps(slot, busy.start_at, busy.end_at, buffer):
                reasons.append(Reason("busy", "Busy in Google Calendar", busy.start_at, busy.end_at))
        for workshop in intervals.workshops:
            if _overlaps(slot, workshop.start_at, workshop.end_at, buffer):
                reasons.append(Reason("workshop", f"Workshop “{workshop.title}”", workshop.start_at, workshop.end_at))
        diagnoses.append(SlotDiagnosis(slot=slot, reasons=reasons))
    availability = [(s, e) for s, e in merge_intervals(intervals.availability) if s < end and e > start]
    return DayDiagnosis(
        coach=coach,
        day=day,
        zone=zone,
        availability=availability,
        slots=diagnoses,
        last_pull_at=coach.google_last_synced_at,
    )
