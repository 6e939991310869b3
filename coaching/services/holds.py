"""Unpaid holds and what the payment provider says about them: paid, failed, expired, abandoned.

A paid booking starts as a PENDING_PAYMENT hold; only a verified webhook event (handled in
services/stripe_events.py) confirms it. A hold that is not paid in time frees its time at once for
the schedule; the functions here write the expiry properly (log, guest email) and close the
provider's checkout. Money is never kept without a booking: a payment that arrives for a time that
is gone is refunded.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coaching import policy
from coaching.exceptions import PaymentUnavailable
from coaching.models import Booking
from coaching.schedule import booking_rules, load_coach_intervals, seats_left
from coaching.signals import announce
from coaching.vocabulary import Actor, Change, LogAction

from . import payment
from .locks import lock_booking, lock_coach, lock_workshop, set_lock_timeout
from .log import log_booking
from .refunds import request_refund

logger = logging.getLogger(__name__)


def release_hold(*, booking: Booking, actor: str, reason: str = "", change: Change = Change.EXPIRED) -> bool:
    """End an unpaid hold. Returns False if there is nothing to do (it is no longer a hold).

    `change` says why: EXPIRED (not paid in time) and PAYMENT_FAILED leave it EXPIRED;
    CHECKOUT_CANCELLED (the guest went back from the checkout) records it as CANCELLED, by the
    guest's own choice, so the log and the admin do not call it a lapse.
    """
    with transaction.atomic():
        locked = lock_booking(booking)
        if locked.status != Booking.Status.PENDING_PAYMENT:
            return False
        fields = ["status", "hold_expires_at", "updated_at"]
        if change == Change.CHECKOUT_CANCELLED:
            locked.status = Booking.Status.CANCELLED
            locked.cancelled_at = timezone.now()
            fields.append("cancelled_at")
        else:
            locked.status = Booking.Status.EXPIRED
        locked.hold_expires_at = None
        locked.save(update_fields=fields)
        log_booking(locked, LogAction(change), actor=actor, message=reason or "Unpaid hold released.")
        announce(locked, change, actor=actor)
    booking.refresh_from_db()
    return True


def expire_holds(*, now: datetime | None = None) -> int:
    """Release every PENDING_PAYMENT hold whose time is up and close its checkout. Returns how many."""
    now = now or timezone.now()
    due = list(Booking.objects.lapsed_holds(now).order_by("id"))
    released = 0
    for booking in due:
        if release_hold(booking=booking, actor=Actor.TASK, reason="Not paid within the hold time."):
            released += 1
            expire_checkout_quietly(booking)
    return released


def release_lapsed_holds(bookings, *, now: datetime) -> None:
    """Properly expire unpaid holds whose time is up before taking their place (inside the caller's
    transaction, under its lock).

    The schedule already offers their time; this writes the expiry (log, guest email) and keeps the
    PostgreSQL exclusion constraint, which still sees them as pending, from refusing the new booking.
    """
    for hold in bookings.lapsed_holds(now).order_by("pk"):
        if release_hold(booking=hold, actor=Actor.SYSTEM, reason="Not paid within the hold time."):
            transaction.on_commit(functools.partial(expire_checkout_quietly, hold))


def expire_checkout_quietly(booking: Booking) -> None:
    try:
        payment.expire_checkout(booking=booking)
    except Exception:  # Stripe also expires the session on its own; a late payment is handled.
        logger.exception("Could not expire checkout for %s", booking.reference)


def release_unstarted_hold(booking: Booking) -> None:
    """A checkout that never opened: give the slot back at once, silently (the guest sees the error)."""
    with transaction.atomic():
        locked = lock_booking(booking)
        if locked.status == Booking.Status.PENDING_PAYMENT:
            locked.status = Booking.Status.EXPIRED
            locked.hold_expires_at = None
            locked.save(update_fields=["status", "hold_expires_at", "updated_at"])
            log_booking(
                locked,
                LogAction.CHECKOUT_FAILED,
                actor=Actor.SYSTEM,
                message="Checkout could not be opened; hold released.",
            )
    booking.refresh_from_db()


def abandon_checkout(*, booking: Booking) -> bool:
    """The guest left the checkout ("back"/"cancel"): the booking is cancelled by the guest, its
    slot free again at once, and the provider's session closed. No email (see services/outbox.py)."""
    released = release_hold(
        booking=booking,
        actor=Actor.GUEST,
        reason="Guest left the checkout without paying.",
        change=Change.CHECKOUT_CANCELLED,
    )
    if released:
        try:
            payment.expire_checkout(booking=booking)
        except PaymentUnavailable:
            logger.warning("Could not expire checkout of %s; it lapses on its own", booking.reference)
    return released


def confirm_paid_booking(
    *,
    booking: Booking,
    amount_paid: int,
    payment_intent_id: str = "",
    actor: str = Actor.WEBHOOK,
    now: datetime | None = None,
) -> Booking:
    """Record a successful payment and confirm the booking. Idempotent and safe to run concurrently.

    A payment for a hold that already expired re-confirms the booking if its time (or seats) is
    still free; otherwise the whole payment is owed back (a refund sent after commit) and the guest
    told. A payment for a booking cancelled meanwhile is refunded too. Never keeps money without a
    booking. Locks in the usual order (coach or workshop, then booking) and calls no outside service.
    """
    now = now or timezone.now()
    with transaction.atomic():
        set_lock_timeout()
        # The host first, then the booking: the same order as booking and rescheduling take.
        if booking.workshop_id:
            lock_workshop(booking.workshop)
        else:
            lock_coach(booking.coach)
        locked = lock_booking(booking)
        if locked.is_paid and locked.stripe_payment_intent_id == (payment_intent_id or locked.stripe_payment_intent_id):
            if locked.status == Booking.Status.CONFIRMED or locked.amount_refunded or locked.refunds.exists():
                return locked
        first_payment = not locked.is_paid
        locked.is_paid = True
        locked.amount_paid = max(locked.amount_paid, amount_paid)
        locked.stripe_payment_intent_id = payment_intent_id or locked.stripe_payment_intent_id
        fields = ["is_paid", "amount_paid", "stripe_payment_intent_id", "updated_at"]
        if first_payment:
            log_booking(
                locked,
                LogAction.PAID,
                actor=actor,
                message="Payment received.",
                amount=amount_paid,
                currency=locked.currency,
            )

        if locked.status == Booking.Status.PENDING_PAYMENT:
            _confirm(locked, fields, actor=actor, now=now, message="Confirmed by payment.")
        elif locked.status == Booking.Status.EXPIRED and _still_free(locked, now=now):
            if locked.workshop_id:
                # A lapsed seat keeps the time it was held at; the workshop may have moved since.
                locked.start_at, locked.end_at = locked.workshop.start_at, locked.workshop.end_at
                fields += ["start_at", "end_at"]
            _confirm(
                locked,
                fields,
                actor=actor,
                now=now,
                message="Payment arrived after the hold expired; time still free, so re-confirmed.",
            )
        else:
            locked.save(update_fields=fields)
            if locked.status != Booking.Status.CONFIRMED:
                log_booking(
                    locked,
                    LogAction.LATE_PAYMENT_UNPLACEABLE,
                    actor=actor,
                    message="Payment arrived for a booking that is no longer active and whose time is taken; "
                    "refunding in full.",
                )
                request_refund(
                    booking=locked,
                    amount=policy.refundable_amount(locked),
                    actor=actor,
                    reason="Late payment for a released booking",
                )
    return locked


def _confirm(booking: Booking, fields: list[str], *, actor: str, now: datetime, message: str) -> None:
    booking.status = Booking.Status.CONFIRMED
    booking.confirmed_at = now
    booking.hold_expires_at = None
    booking.save(update_fields=fields + ["status", "confirmed_at", "hold_expires_at"])
    log_booking(booking, LogAction.CONFIRMED, actor=actor, message=message)
    announce(booking, Change.PAYMENT_RECEIVED, actor=actor)
    announce(booking, Change.CONFIRMED, actor=actor)


def _still_free(booking: Booking, *, now: datetime) -> bool:
    """Can a released booking take its place again (ignoring notice: the guest paid in good faith)?
    The caller holds the coach's (or workshop's) lock."""
    if booking.start_at <= now:
        return False
    if booking.workshop_id:
        return seats_left(booking.workshop, now=now) >= booking.seats
    rules = booking_rules(booking)
    intervals = load_coach_intervals(
        coach=booking.coach, start=booking.start_at, end=booking.end_at, now=now, exclude_booking=booking, rules=rules
    )
    return not any(start < booking.end_at and end > booking.start_at for start, end in intervals.blockers(rules.buffer))
