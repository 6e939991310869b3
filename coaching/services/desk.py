"""The owner's desk: booking for a client (by phone, at the desk) and moving a booking, as staff.

Both go through the guests' own services (services/booking.py `create_booking`,
services/changes.py `reschedule_booking`), so the same times are offered, the same locks taken, the
same refusals raised ("just taken" is "just taken" for everyone), and the same emails, invites
(SEQUENCE) and calendar updates follow. What the desk adds is who did it (the staff user, in every
log entry), the owner's choices a guest does not have (book free, record a payment taken outside
Stripe, email a payment link; move past the guests' cut-off and limit), and the log of those choices.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coaching import policy
from coaching.exceptions import BookingNotReschedulable
from coaching.models import Booking
from coaching.vocabulary import Actor, LogAction

from .changes import reschedule_booking
from .log import log_booking


def move_refusal(booking: Booking, *, now: datetime | None = None) -> str:
    """What the guests' rules (reschedule cut-off, most moves) say against moving this booking now,
    '' when nothing: the owner sees it, and may override it."""
    if booking.coach_id is None:
        return ""
    refusal = policy.guest_reschedule_refusal(booking, now=now)
    return "" if refusal == "Only confirmed bookings can be moved." else refusal


def move_booking(
    *, booking: Booking, new_start_at: datetime, user, override_policy: bool = False, now: datetime | None = None
) -> Booking:
    """Move a confirmed 1-on-1 booking to another time the schedule offers, as staff.

    Guarantees: the same checks, emails (reschedule + the coach's), invite SEQUENCE and Google
    update as a guest's reschedule; the guests' reschedule cut-off and limit apply unless
    `override_policy`, and an override is logged with the rule it overrode, in the same
    transaction as the move. Raises BookingNotReschedulable or the slot errors of create_booking.
    """
    now = now or timezone.now()
    refusal = move_refusal(booking, now=now)
    if refusal and not override_policy:
        raise BookingNotReschedulable(f"{refusal} Tick “Override the booking policy” to move it anyway.")
    with transaction.atomic():
        moved = reschedule_booking(booking=booking, new_start_at=new_start_at, actor=Actor.OWNER, user=user, now=now)
        if refusal:
            log_booking(
                moved,
                LogAction.POLICY_OVERRIDDEN,
                actor=Actor.OWNER,
                user=user,
                message=f"Moved by staff past the guests' rule: {refusal}",
                rule=refusal,
            )
    booking.refresh_from_db()
    return moved
