""" "Why is this slot not offered?" — the owner's answer, for one coach and one day.

A read: it loads the same intervals and rules the schedule uses (coaching/schedule/loading.py) and
shows the day's windows — the weekly hours or the date override, Bulk-add blocks, time off — and
the availability they leave. Then, for every session those windows would produce that day (from the
weekly hours, the override, the blocks, before and after time off), it lists what removes it:

- the rules: time off (with its reason), a date override (unavailable all day, or other hours),
  a start that is no longer on the session grid once time off has cut a window;
- an active booking or a hold still running for payment (a lapsed hold frees its time at once, as
  for guests), a Google busy slot, one of the coach's workshops (each widened by the buffer);
- the time rules (past, minimum notice, horizon), or an inactive coach.

An owner may also ask about one time of the day ("why not 08:00?"); a time outside every window
gets "outside weekly hours" (or the override's hours). A session with no reason is offered, and a
test checks that exactly those are the slots guests see.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from coaching.models import Booking, Coach, CoachBusySlot, SessionType, holds_time_q
from coaching.wallclock import format_days_in_zone, local_day_bounds, local_to_utc

from .intervals import Interval, Slot, candidate_starts, merge_intervals
from .loading import CoachIntervals, load_coach_intervals
from .rules import DayHours, TimeRange, span_on
from .session_rules import SessionRules, resolve_rules
from .slots import duration_in_words


@dataclass(frozen=True)
class Reason:
    # "outside_hours", "override", "time_off", "off_grid", "booking", "busy", "workshop",
    # "past", "notice", "horizon", "inactive"
    kind: str
    label: str
    start_at: datetime | None = None
    end_at: datetime | None = None
    # How the owner entered the span, when that reads better than start–end (time off: whole days).
    when: str = ""


@dataclass
class SlotDiagnosis:
    slot: Slot
    reasons: list[Reason] = field(default_factory=list)

    @property
    def offered(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Window:
    """One of the day's windows as the owner entered it: "block" (Bulk add) or "time_off"."""

    kind: str
    start_at: datetime
    end_at: datetime
    label: str = ""
    when: str = ""


@dataclass
class DayDiagnosis:
    coach: Coach
    day: date
    zone: zoneinfo.ZoneInfo
    hours: DayHours
    blocks: list[Window]
    time_off: list[Window]
    availability: list[Interval]
    slots: list[SlotDiagnosis]
    last_pull_at: datetime | None
    asked: SlotDiagnosis | None = None

    @property
    def offered_count(self) -> int:
        return sum(1 for entry in self.slots if entry.offered)

    @property
    def hours_text(self) -> str:
        return ranges_text(self.hours.ranges)

    @property
    def weekly_text(self) -> str:
        return ranges_text(self.hours.weekly)


def ranges_text(ranges: tuple[TimeRange, ...]) -> str:
    return ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in ranges)


def _overlaps(slot: Slot, start: datetime, end: datetime, buffer: timedelta = timedelta(0)) -> bool:
    return start - buffer < slot.end_at and end + buffer > slot.start_at


def _inside(slot: Slot, spans: list[Interval]) -> Interval | None:
    return next(((s, e) for s, e in spans if s <= slot.start_at and slot.end_at <= e), None)


class _Explainer:
    """Reasons for sessions of one coach on one day, from one load of the schedule's intervals."""

    def __init__(self, *, coach: Coach, day: date, now: datetime, intervals: CoachIntervals, session: SessionRules):
        self.coach, self.day, self.now = coach, day, now
        self.zone = coach.zone
        self.rules = intervals.rules
        self.session = session
        self.intervals = intervals
        self.length = session.length
        self.buffer = session.buffer
        self.step = session.step
        self.hours = self.rules.hours_on(day)
        self.day_start, self.day_end = local_day_bounds(day, self.zone)
        self.open = self.rules.open_spans()
        self.net = intervals.availability
        self.time_off = self.rules.time_off
        self.net_grid = set(self.on_the_day(self.net))
        margin = self.step
        lo, hi = self.day_start - margin, self.day_end + margin
        # The schedule only needs the spans; the owner needs to know *which* booking and busy slot.
        # Only bookings that hold their time now count: a lapsed hold is free for guests already.
        self.bookings = list(
            Booking.objects.filter(holds_time_q(now), coach=coach, start_at__lt=hi, end_at__gt=lo)
            .select_related("session_type")
            .order_by("start_at")
        )
        self.busy = list(CoachBusySlot.objects.filter(coach=coach, start_at__lt=hi, end_at__gt=lo).order_by("start_at"))
        self.earliest, self.latest = session.bookable_window(now=now)

    def on_the_day(self, spans: list[Interval]) -> list[Slot]:
        return [
            slot
            for slot in candidate_starts(spans, length=self.length, step=self.step)
            if self.day_start <= slot.start_at < self.day_end
        ]

    def weekly_spans(self) -> list[Interval]:
        """What the weekly hours alone would give on the day (to show what an override replaced)."""
        return [span_on(self.day, start, end, self.zone) for start, end in self.hours.weekly]

    def structural_reasons(self, slot: Slot) -> list[Reason]:
        """Why the rules themselves do not put a session here (empty if they do)."""
        if slot in self.net_grid:
            return []
        reasons = [
            Reason(
                "time_off",
                f"Time off: {off.reason}",
                off.start_at,
                off.end_at,
                when=format_days_in_zone(off.start_at, off.end_at, self.zone),
            )
            for off in self.time_off
            if _overlaps(slot, off.start_at, off.end_at)
        ]
        if self.hours.source == "unavailable":
            reasons.append(Reason("override", "Date override: unavailable all day."))
        if _inside(slot, self.open) is None:
            if self.hours.source == "override" and _inside(slot, self.weekly_spans()) is not None:
                reasons.append(
                    Reason(
                        "override",
                        f"Date override: the hours on this date are {ranges_text(self.hours.ranges)} "
                        f"instead of the weekly {ranges_text(self.hours.weekly)}.",
                    )
                )
            elif self.hours.source != "unavailable":
                reasons.append(Reason("outside_hours", self.outside_hours_label()))
        if not reasons:
            window = _inside(slot, self.net)
            if window is not None:
                first = window[0].astimezone(self.zone)
                reasons.append(
                    Reason(
                        "off_grid",
                        f"Not a session start: in the window from {first:%H:%M}, sessions start at "
                        f"{first:%H:%M} and then every {duration_in_words(int(self.step.total_seconds() // 60))}.",
                    )
                )
            else:
                reasons.append(Reason("outside_hours", self.outside_hours_label()))
        return reasons

    def outside_hours_label(self) -> str:
        weekday = self.hours.weekday_name
        if self.hours.source == "override":
            return f"Outside this date's override hours ({ranges_text(self.hours.ranges)})."
        if self.hours.source == "none":
            return f"Outside weekly hours: no weekly hours on {weekday}s."
        return f"Outside weekly hours ({weekday}: {ranges_text(self.hours.ranges)})."

    def blocker_reasons(self, slot: Slot) -> list[Reason]:
        coach, buffer = self.coach, self.buffer
        reasons = []
        if not coach.is_active:
            reasons.append(Reason("inactive", "The coach is inactive (takes no new bookings)."))
        if slot.start_at < self.now:
            reasons.append(Reason("past", "Already started or over."))
        elif slot.start_at < self.earliest:
            reasons.append(Reason("notice", f"Inside the minimum notice ({self.session.min_notice_minutes} min)."))
        if slot.start_at > self.latest:
            reasons.append(Reason("horizon", f"Beyond the booking horizon ({self.session.horizon_days} days)."))
        for booking in self.bookings:
            kept = timedelta(minutes=booking.session_type.buffer_minutes if booking.session_type else 0)
            if _overlaps(slot, booking.start_at, booking.end_at, max(buffer, kept)):
                reasons.append(
                    Reason(
                        "booking",
                        f"Booking {booking.reference} ({booking.get_status_display()}, {booking.guest_name})",
                        booking.start_at,
                        booking.end_at,
                    )
                )
        for busy in self.busy:
            if _overlaps(slot, busy.start_at, busy.end_at, buffer):
                reasons.append(Reason("busy", "Busy in Google Calendar", busy.start_at, busy.end_at))
        for workshop in self.intervals.workshops:
            if _overlaps(slot, workshop.start_at, workshop.end_at, buffer):
                reasons.append(Reason("workshop", f"Workshop “{workshop.title}”", workshop.start_at, workshop.end_at))
        return reasons

    def explain(self, slot: Slot) -> SlotDiagnosis:
        return SlotDiagnosis(slot=slot, reasons=self.structural_reasons(slot) + self.blocker_reasons(slot))

    def candidates(self) -> list[Slot]:
        # Sessions the day's windows would give before time off, and what the weekly hours alone
        # would give (an override replaces them): the owner asks about those too.
        others = self.on_the_day(self.open) + self.on_the_day(merge_intervals(self.weekly_spans() + self.rules.blocks))
        return sorted(self.net_grid | set(others))


def explain_day(
    *,
    coach: Coach,
    day: date,
    now: datetime | None = None,
    at: time | None = None,
    session_type: SessionType | None = None,
) -> DayDiagnosis:
    """Every candidate session of `coach` for `session_type` (default: the coach's first) on `day`
    (the coach's own calendar day) and what removes it; with `at`, also that one start time of the
    day, whatever the windows say."""
    now = now or timezone.now()
    zone = coach.zone
    start, end = local_day_bounds(day, zone)
    session = resolve_rules(coach, session_type=session_type) or SessionRules(
        length=timedelta(hours=1),
        buffer=timedelta(0),
        min_notice_minutes=coach.min_notice_minutes,
        horizon_days=coach.horizon_days,
    )
    intervals = load_coach_intervals(coach=coach, start=start, end=end, now=now, rules=session)
    explainer = _Explainer(coach=coach, day=day, now=now, intervals=intervals, session=session)
    diagnoses = [explainer.explain(slot) for slot in explainer.candidates()]
    asked = None
    if at is not None:
        asked_start = local_to_utc(day, at, zone)
        asked = next((entry for entry in diagnoses if entry.slot.start_at == asked_start), None)
        if asked is None:
            asked = explainer.explain(Slot(asked_start, asked_start + explainer.length))
    rules = intervals.rules
    return DayDiagnosis(
        coach=coach,
        day=day,
        zone=zone,
        hours=explainer.hours,
        blocks=[Window("block", s, e) for s, e in rules.blocks if s < end and e > start],
        time_off=[
            Window(
                "time_off", off.start_at, off.end_at, off.reason, format_days_in_zone(off.start_at, off.end_at, zone)
            )
            for off in rules.time_off
            if off.start_at < end and off.end_at > start
        ],
        availability=[(s, e) for s, e in intervals.availability if s < end and e > start],
        slots=diagnoses,
        last_pull_at=coach.google_last_synced_at,
        asked=asked,
    )
