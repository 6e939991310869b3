"""Attendance: did the client turn up? Marked by the owner (or the coach) once the session has started.

Only a confirmed booking whose start has passed can be marked; marking again changes the answer
(a no-show who turns up late becomes "attended"), and each change is one entry in the booking log.
No email goes out: attendance is the business's own record.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coaching.exceptions import AttendanceNotMarkable
from coaching.models import Booking
from coaching.vocabulary import Actor, LogAction

from .locks import lock_booking
from .log import log_booking

LOG_ACTIONS = {
    Booking.Attendance.ATTENDED: LogAction.ATTENDED,
    Booking.Attendance.NO_SHOW: LogAction.NO_SHOW,
    Booking.Attendance.NOT_MARKED: LogAction.ATTENDANCE_CLEARED,
}


def attendance_refusal(booking: Booking, *, now: datetime | None = None) -> str:
    """Why attendance cannot be marked on this booking now ('' when it can)."""
    now = now or timezone.now()
    if booking.status != Booking.Status.CONFIRMED:
        return (
            f"Attendance can be marked only for confirmed bookings; this one is {booking.get_status_display().lower()}."
        )
    if booking.start_at > now:
        return "Attendance can be marked once the session has started."
    return ""


def mark_attendance(
    *, booking: Booking, attendance: str, user=None, actor: str = Actor.OWNER, now: datetime | None = None
) -> Booking:
    """Record whether the client attended (`Booking.Attendance`: attended, no-show, or not marked).

    Guarantees: only a confirmed booking that has started is marked; the change and who made it are
    in the booking log; marking the same answer twice logs once. Raises AttendanceNotMarkable.
    """
    now = now or timezone.now()
    attendance = Booking.Attendance(attendance)
    with transaction.atomic():
        locked = lock_booking(booking)
        refusal = attendance_refusal(locked, now=now)
        if refusal:
            raise AttendanceNotMarkable(refusal)
        if locked.attendance != attendance:
            locked.attendance = attendance
            locked.attendance_marked_at = now if attendance else None
            locked.save(update_fields=["attendance", "attendance_marked_at", "updated_at"])
            log_booking(
                locked,
                LOG_ACTIONS[attendance],
                actor=actor,
                user=user,
                message=f"Marked {attendance.label.lower()}." if attendance else "Attendance cleared.",
            )
    booking.refresh_from_db()
    return locked
