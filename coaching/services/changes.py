"""Changing a booking after it is made: cancel (with the refund the policy or the owner gives) and
reschedule (a 1-on-1 session to another offered time)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coaching import policy
from coaching.exceptions import BookingNotCancellable, BookingNotReschedulable
from coaching.models import Booking, Refund
from coaching.schedule import booking_rules, validate_slot
from coaching.signals import announce
from coaching.vocabulary import Actor, Change, LogAction

from .booking import coach_bookings_near
from .holds import expire_checkout_quietly, release_lapsed_holds
from .locks import booking_transaction, lock_booking, lock_coach
from .log import log_booking
from .refunds import request_refund

logger = logging.getLogger(__name__)


def cancel_booking(
    *,
    booking: Booking,
    actor: str,
    user=None,
    refund: bool | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Cancel an active booking and free its time.

    `refund`: None follows the owner's policy (full before the cut-off, none after); True refunds
    everything still refundable (owner's choice); False refunds nothing. Guests are held to the
    policy's cancellation rules. The refund is owed in the same transaction and sent to the provider
    after it commits (services/refunds.py): a failing refund is retried, logged on the booking and,
    if it never goes through, reported to the owner. Raises BookingNotCancellable.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_booking(booking)
        if not locked.is_active:
            raise BookingNotCancellable(f"This booking is already {locked.get_status_display().lower()}.")
        if actor == Actor.GUEST:
            refusal = policy.guest_cancel_refusal(locked, now=now)
            if refusal:
                raise BookingNotCancellable(refusal)
            refund = None
        if refund is None:
            refund_amount = policy.refund_due_on_cancel(locked, now=now)
        else:
            refund_amount = policy.refundable_amount(locked) if refund else 0
        was_pending = locked.status == Booking.Status.PENDING_PAYMENT
        cancel_locked_booking(locked, actor=actor, user=user, refund_amount=refund_amount, reason=reason, now=now)
    if was_pending:
        expire_checkout_quietly(locked)
    locked.refresh_from_db()
    return locked


def cancel_locked_booking(
    locked: Booking,
    *,
    actor: str,
    user=None,
    refund_amount: int,
    reason: str,
    now: datetime,
    change: Change = Change.CANCELLED,
    refund_reason: str = "",
) -> Refund | None:
    """Cancel an active booking whose row the caller has locked, inside the caller's transaction:
    status, invite SEQUENCE, log, the announcement (its emails and calendar updates) and the refund
    owed (sent after commit; returned, or None when nothing is refunded). The caller closes a held
    checkout after commit."""
    locked.status = Booking.Status.CANCELLED
    locked.cancelled_at = now
    locked.hold_expires_at = None
    locked.ics_sequence += 1
    locked.save(update_fields=["status", "cancelled_at", "hold_expires_at", "ics_sequence", "updated_at"])
    log_booking(locked, LogAction(change), actor=actor, user=user, message=reason, refund_due=refund_amount)
    announce(locked, change, actor=actor, refund_amount=refund_amount, reason=reason)
    return request_refund(
        booking=locked, amount=refund_amount, actor=actor, user=user, reason=refund_reason or reason or "Cancellation"
    )


def reschedule_booking(
    *, booking: Booking, new_start_at: datetime, actor: str, user=None, now: datetime | None = None
) -> Booking:
    """Move a confirmed 1-on-1 booking to another offered slot, atomically.

    The booking keeps its reference and payment; the new time is taken and the old one released in
    the same row update, so there is no moment when the guest holds neither or both. Guests are held
    to the policy's reschedule cut-off and limit. Raises BookingNotReschedulable, or the slot errors
    of create_booking.
    """
    now = now or timezone.now()
    with booking_transaction():
        if booking.coach_id is None:
            raise BookingNotReschedulable("Workshop seats cannot be moved to another date; you can cancel instead.")
        coach = lock_coach(booking.coach)
        locked = lock_booking(booking)
        refuse_move(locked, actor=actor, now=now)
        if new_start_at == locked.start_at:
            raise BookingNotReschedulable("That is already this booking's time.")
        # The booking keeps its type and its length as booked, whatever the type says today.
        slot = validate_slot(
            coach=coach, start_at=new_start_at, now=now, rules=booking_rules(locked), exclude_booking=locked
        )
        release_lapsed_holds(coach_bookings_near(coach, slot).exclude(pk=locked.pk), now=now)
        old_start_at, old_end_at = locked.start_at, locked.end_at
        locked.start_at, locked.end_at = slot.start_at, slot.end_at
        locked.reschedule_count += 1
        locked.ics_sequence += 1
        locked.save(update_fields=["start_at", "end_at", "reschedule_count", "ics_sequence", "updated_at"])
        log_booking(
            locked,
            LogAction.RESCHEDULED,
            actor=actor,
            user=user,
            message=f"Moved from {old_start_at:%Y-%m-%d %H:%M} UTC to {slot.start_at:%Y-%m-%d %H:%M} UTC.",
            old_start_at=old_start_at,
            new_start_at=slot.start_at,
        )
        announce(locked, Change.RESCHEDULED, actor=actor, old_start_at=old_start_at, old_end_at=old_end_at)
    booking.refresh_from_db()
    return locked


def refuse_move(locked: Booking, *, actor: str, now: datetime) -> None:
    """Raise BookingNotReschedulable when `actor` may not move this (locked) booking now: guests are
    held to the policy's cut-off and limit; the owner may move any confirmed booking."""
    if actor == Actor.GUEST:
        refusal = policy.guest_reschedule_refusal(locked, now=now)
        if refusal:
            raise BookingNotReschedulable(refusal)
    elif locked.status != Booking.Status.CONFIRMED:
        raise BookingNotReschedulable("Only confirmed bookings can be moved.")
