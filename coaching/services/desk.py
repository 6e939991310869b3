"""The owner's desk: booking for a client (by phone, at the desk) and moving a booking, as staff.

Both go through the guests' own services (services/booking.py `create_booking`,
services/changes.py `reschedule_booking`), so the same times are offered, the same locks taken, the
same refusals raised ("just taken" is "just taken" for everyone), and the same emails, invites
(SEQUENCE) and calendar updates follow. What the desk adds is who did it (the staff user, in every
log entry), the owner's choices a guest does not have (book free, record a payment taken outside
Stripe, email a payment link; move past the guests' cut-off and limit), and the log of those choices.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.db import models, transaction
from django.utils import timezone

from coaching import policy
from coaching.exceptions import BookingNotReschedulable, InvalidDetails
from coaching.models import Booking, Coach, Notification
from coaching.money import format_money
from coaching.vocabulary import Actor, LogAction
from coaching.wallclock import format_in_zone

from .booking import BookingResult, Guest, create_booking
from .changes import reschedule_booking
from .locks import lock_booking
from .log import log_booking
from .outbox import owe


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


# --- booking for a client ----------------------------------------------------------------------------


class DeskPayment(models.TextChoices):
    """How a client the owner books will pay."""

    FREE = "free", "Free — no payment"
    OUTSIDE = "outside", "Paid outside Stripe (cash, bank transfer, card machine…)"
    LINK = "link", "Email a payment link (the client pays online; the time is held meanwhile)"


def book_for_client(
    *,
    guest: Guest,
    coach: Coach,
    start_at: datetime,
    user,
    payment: str,
    amount_paid: int = 0,
    payment_note: str = "",
    now: datetime | None = None,
    **booking_options,
) -> BookingResult:
    """Book a 1-on-1 session for a client, as staff (`user`), on a time the schedule offers.

    The booking is made by create_booking exactly as a guest's (same re-check under the coach's
    lock, same refusals), with the staff user in its log. `payment`:
    - FREE: confirmed at once, nothing due (the owner waives the price);
    - OUTSIDE: confirmed at once, `amount_paid` (minor units) and `payment_note` recorded as paid;
    - LINK: held for payment with the normal hold and a Checkout, whose link is emailed to the
      client through the outbox; the webhook confirms it when they pay.
    The client gets the usual emails (confirmation with the invite and the magic link). Raises the
    errors of create_booking, or InvalidDetails.
    """
    payment = DeskPayment(payment)
    now = now or timezone.now()
    payment_note = (payment_note or "").strip()
    if payment == DeskPayment.OUTSIDE and amount_paid <= 0:
        raise InvalidDetails("Enter the amount the client paid.")
    if payment == DeskPayment.LINK:
        return _book_with_payment_link(
            guest=guest, coach=coach, start_at=start_at, user=user, now=now, **booking_options
        )
    with transaction.atomic():
        result = create_booking(
            guest=guest,
            coach=coach,
            start_at=start_at,
            actor=Actor.OWNER,
            staff=user,
            price=0,
            now=now,
            **booking_options,
        )
        booking = result.booking
        if payment == DeskPayment.OUTSIDE:
            locked = lock_booking(booking)
            locked.amount_due = amount_paid
            locked.amount_paid = amount_paid
            locked.is_paid = True
            locked.payment_note = payment_note
            locked.save(update_fields=["amount_due", "amount_paid", "is_paid", "payment_note", "updated_at"])
            log_booking(
                locked,
                LogAction.PAID_OUTSIDE_STRIPE,
                actor=Actor.OWNER,
                user=user,
                message=f"Paid {format_money(amount_paid, locked.currency)} outside Stripe"
                + (f": {payment_note}" if payment_note else "."),
                amount=amount_paid,
                currency=locked.currency,
            )
    booking.refresh_from_db()
    return BookingResult(booking=booking)


def _book_with_payment_link(*, guest: Guest, coach: Coach, start_at: datetime, user, now: datetime, **booking_options):
    result = create_booking(
        guest=guest, coach=coach, start_at=start_at, actor=Actor.OWNER, staff=user, now=now, **booking_options
    )
    booking = result.booking
    if result.checkout_url is None:
        # A free session confirms at once: there was nothing to pay, and the client has their confirmation.
        return result
    guest_zone = zoneinfo.ZoneInfo(booking.guest_timezone)
    with transaction.atomic():
        owe(
            [
                Notification(
                    booking=booking,
                    kind="payment_link",
                    recipient=booking.guest_email,
                    dedupe_key=f"booking:{booking.pk}:payment_link",
                    context={
                        "change": "payment_link",
                        "sequence": booking.ics_sequence,
                        "start_at": booking.start_at.isoformat(),
                        "end_at": booking.end_at.isoformat(),
                        "payment_url": result.checkout_url,
                        "amount_display": format_money(booking.amount_due, booking.currency),
                        "hold_deadline": format_in_zone(booking.hold_expires_at, guest_zone),
                    },
                )
            ]
        )
        log_booking(
            booking,
            LogAction.PAYMENT_LINK_SENT,
            actor=Actor.OWNER,
            user=user,
            message=f"Payment link for {format_money(booking.amount_due, booking.currency)} emailed to the client.",
        )
    return result
