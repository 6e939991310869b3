"""What one kind of session asks of a coach's time: its length, its buffer, and how soon and how far
ahead it may be booked — from a session type (with the coach's notice and horizon where the type
sets none), or from a booking already made (its own snapshot length, for a reschedule).

How buffers combine: a buffer is free time a session keeps on both of its sides. A new session
keeps its type's buffer from everything (other bookings, Google busy time, workshops); an existing
booking keeps its own type's buffer from a new session. So between two sessions the larger of their
two buffers applies (`CoachIntervals.blockers`). Start times step by the type's length + buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from coaching.exceptions import NotBookable
from coaching.models import Booking, Coach, SessionType


@dataclass(frozen=True)
class SessionRules:
    length: timedelta
    buffer: timedelta
    min_notice_minutes: int
    horizon_days: int

    @property
    def step(self) -> timedelta:
        return self.length + self.buffer

    @property
    def length_minutes(self) -> int:
        return int(self.length.total_seconds() // 60)

    def bookable_window(self, *, now: datetime) -> tuple[datetime, datetime]:
        """[earliest start, latest start] a guest may book now."""
        return now + timedelta(minutes=self.min_notice_minutes), now + timedelta(days=self.horizon_days)


def session_rules(coach: Coach, session_type: SessionType) -> SessionRules:
    """The rules for booking `session_type` with `coach` (the type's notice/horizon, else the coach's)."""
    return SessionRules(
        length=timedelta(minutes=session_type.duration_minutes),
        buffer=timedelta(minutes=session_type.buffer_minutes),
        min_notice_minutes=session_type.notice_minutes_for(coach),
        horizon_days=session_type.horizon_days_for(coach),
    )


def booking_rules(booking: Booking) -> SessionRules:
    """The rules for moving a 1-on-1 `booking`: its own length as booked and its type's buffer,
    notice and horizon (a booking without a type: its length, no buffer, the coach's window)."""
    coach = booking.coach
    length = (
        timedelta(minutes=booking.session_minutes) if booking.session_minutes else booking.end_at - booking.start_at
    )
    session_type = booking.session_type
    if session_type is None:
        return SessionRules(
            length=length,
            buffer=timedelta(0),
            min_notice_minutes=coach.min_notice_minutes,
            horizon_days=coach.horizon_days,
        )
    return SessionRules(
        length=length,
        buffer=timedelta(minutes=session_type.buffer_minutes),
        min_notice_minutes=session_type.notice_minutes_for(coach),
        horizon_days=session_type.horizon_days_for(coach),
    )


def resolve_rules(
    coach: Coach, *, session_type: SessionType | None = None, rules: SessionRules | None = None
) -> SessionRules | None:
    """`rules` if given, else those of `session_type`, else of the coach's first type guests see
    (one query); None when the coach offers no type at all."""
    if rules is not None:
        return rules
    if session_type is None:
        session_type = coach.default_session_type()
        if session_type is None:
            return None
    return session_rules(coach, session_type)


def require_rules(
    coach: Coach, *, session_type: SessionType | None = None, rules: SessionRules | None = None
) -> SessionRules:
    resolved = resolve_rules(coach, session_type=session_type, rules=rules)
    if resolved is None:
        raise NotBookable(f"{coach.name} has no sessions to book right now.")
    return resolved
