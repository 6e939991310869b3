"""Making a booking: a 1-on-1 session or workshop seats, free (confirmed at once) or paid (a hold).

The slot (or the seats) is re-checked under the coach's (or workshop's) lock exactly as the
schedule offers it; only then is the row written. The payment provider is called after the
transaction commits, never while a lock is held.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from coaching.exceptions import BookingError, InvalidDetails, NotBookable, PaymentUnavailable
from coaching.intake import clean_answers
from coaching.models import MAX_BUFFER_MINUTES, Booking, Coach, SessionType, WaitlistEntry, Workshop
from coaching.schedule import Slot, seats_left, validate_slot, workshop_refusal
from coaching.signals import announce
from coaching.vocabulary import Actor, Change, LogAction
from coaching.zones import zone_from_name

from . import payment
from .holds import release_lapsed_holds, release_unstarted_hold
from .locks import booking_transaction, lock_coach
from .log import log_booking
from .waitlist_offers import claimable_offer, settle_workshop, take_offer

logger = logging.getLogger(__name__)

MAX_SEATS_PER_BOOKING = 20


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    phone: str = ""
    notes: str = ""
    timezone: str = "UTC"


class Tender(Protocol):
    """Something other than the checkout that pays for a booking, in the booking's own transaction:
    a package credit (services/packages.py) or a promotion code (services/promotions.py)."""

    note: str  # for the booking log, once charged

    def charge(self, booking: Booking, *, now: datetime) -> None:
        """Before the booking is saved: lock what pays, refuse (BookingError) if it cannot, and set
        the booking's `amount_due` to what is left for the guest to pay."""

    def spent(self, booking: Booking, *, now: datetime) -> None:
        """After it is saved (same transaction): record what paid for it."""


@dataclass
class BookingResult:
    booking: Booking
    checkout_url: str | None = None


def create_booking(
    *,
    guest: Guest,
    coach: Coach | None = None,
    start_at: datetime | None = None,
    session_type: SessionType | None = None,
    answers: Mapping[str, object] | None = None,
    workshop: Workshop | None = None,
    seats: int = 1,
    user=None,
    actor: str = Actor.GUEST,
    offer: WaitlistEntry | None = None,
    tender: Tender | None = None,
    now: datetime | None = None,
    staff=None,
    price: int | None = None,
) -> BookingResult:
    """Book a 1-on-1 slot (`coach` + `session_type` + `start_at`) or `seats` in a `workshop`.

    `session_type` must be an active type the coach offers (default: the coach's first type guests
    see); the booking snapshots its title, length, price and meeting place. `answers` (POST-like,
    coaching/intake.py) must answer the type's required questions; a phone session needs the
    guest's phone number.

    Guarantees: the slot is re-checked under lock exactly as the schedule offers it; a free booking
    comes back CONFIRMED; a paid one comes back PENDING_PAYMENT with a hold of
    BOOKING_HOLD_MINUTES and a checkout URL. Workshop seats offered to the waiting list count as
    taken, except those of `offer` (a waiting-list entry claiming its offer: its seats are used and
    the offer marked claimed, in the same transaction). A `tender` (package credit, promotion code)
    pays all or part of the price inside the same transaction; nothing left to pay confirms at once.
    Raises a BookingError subclass with a guest-readable message (slot taken, sold out, not enough
    seats, past, notice, horizon, outside availability, offer lapsed or claimed, the tender's
    refusal, payment unavailable, busy); nothing is left behind when it raises.

    The owner's desk (services/desk.py) books for a client with `staff` (the staff user its log
    names; `user` stays the client's own account, if any) and may set a 1-on-1 session's `price`
    (0: free, confirmed at once).
    """
    if (coach is None) == (workshop is None):
        raise NotBookable("Choose either a coach's session or a workshop.")
    validate_guest(guest)
    now = now or timezone.now()
    with booking_transaction():
        if workshop is not None:
            booking = _reserve_seats(
                workshop=workshop,
                seats=seats,
                guest=guest,
                user=user,
                actor=actor,
                offer=offer,
                tender=tender,
                now=now,
            )
        else:
            if start_at is None:
                raise InvalidDetails("Please choose a time.")
            booking = _reserve_slot(
                coach=coach,
                session_type=session_type,
                answers=answers or {},
                start_at=start_at,
                guest=guest,
                user=user,
                actor=actor,
                tender=tender,
                now=now,
                staff=staff,
                price=price,
            )

    if booking.status != Booking.Status.PENDING_PAYMENT:
        return BookingResult(booking=booking)
    try:
        checkout_url = payment.start_checkout(booking=booking)
    except BookingError:
        release_unstarted_hold(booking)
        raise
    except Exception as exc:
        logger.exception("Checkout could not start for booking %s", booking.reference)
        release_unstarted_hold(booking)
        raise PaymentUnavailable() from exc
    return BookingResult(booking=booking, checkout_url=checkout_url)


def validate_guest(guest: Guest) -> None:
    if not guest.name or not guest.name.strip():
        raise InvalidDetails("Please enter your name.")
    if zone_from_name(guest.timezone) is None:
        raise InvalidDetails("Please choose a valid time zone.")


def offered_session_type(coach: Coach, session_type: SessionType | None) -> SessionType:
    """`session_type` if `coach` offers it and it is active (default: the coach's first type guests
    see); else NotBookable. A forged form naming another coach's type or an inactive one ends here."""
    if session_type is None:
        chosen = coach.default_session_type()
    else:
        chosen = coach.session_types_for_guests().filter(pk=session_type.pk).first()
    if chosen is None:
        raise NotBookable(f"{coach.name} does not offer that session.")
    return chosen


def session_snapshot(*, coach: Coach, session_type: SessionType, answers: Mapping[str, object], guest: Guest) -> dict:
    """What a 1-on-1 booking of `session_type` records when it is made (read under the coach's lock):
    the type, its title, length and meeting place, and the guest's answers checked against its
    questions. Raises InvalidDetails (a required answer missing, no phone for a phone session)."""
    intake_answers = clean_answers(session_type.questions.all(), answers)
    if session_type.asks_for_phone and not guest.phone.strip():
        raise InvalidDetails(f"Please give your phone number: {coach.name} will call you on it.")
    return {
        "session_type": session_type,
        "session_title": session_type.title,
        "session_minutes": session_type.duration_minutes,
        "intake_answers": intake_answers,
        "location_kind": session_type.location_kind,
        "location_detail": session_type.location_detail,
    }


def _reserve_slot(
    *,
    coach: Coach,
    session_type: SessionType | None,
    answers: Mapping[str, object],
    start_at: datetime,
    guest: Guest,
    user,
    actor: str,
    tender: Tender | None,
    now: datetime,
    staff=None,
    price: int | None = None,
) -> Booking:
    coach = lock_coach(coach)
    if not coach.is_active:
        raise NotBookable(f"{coach.name} is not taking bookings right now.")
    # Read under the coach's lock: the type's price and length are those the booking snapshots.
    session_type = offered_session_type(coach, session_type)
    snapshot = session_snapshot(coach=coach, session_type=session_type, answers=answers, guest=guest)
    slot = validate_slot(coach=coach, start_at=start_at, now=now, session_type=session_type)
    release_lapsed_holds(coach_bookings_near(coach, slot), now=now)
    booking = _new_booking(
        guest=guest,
        user=user,
        start_at=slot.start_at,
        end_at=slot.end_at,
        seats=1,
        price=session_type.price_amount if price is None else price,
        currency=session_type.currency,
        now=now,
        coach=coach,
        **snapshot,
    )
    _save_new(booking, tender=tender, now=now)
    _record_created(booking, actor=actor, user=staff or user, tender=tender)
    return booking


def _reserve_seats(
    *,
    workshop: Workshop,
    seats: int,
    guest: Guest,
    user,
    actor: str,
    offer: WaitlistEntry | None,
    tender: Tender | None,
    now: datetime,
) -> Booking:
    if not isinstance(seats, int) or seats < 1 or seats > MAX_SEATS_PER_BOOKING:
        raise InvalidDetails(f"Please choose between 1 and {MAX_SEATS_PER_BOOKING} seats.")
    # Seats freed a moment ago go to the people waiting before anyone new can have them.
    workshop, _ = settle_workshop(workshop, now=now)
    if offer is not None:
        offer = claimable_offer(offer, workshop=workshop, seats=seats, now=now)
    left = seats_left(workshop, now=now, claiming=offer)
    refusal = workshop_refusal(workshop, seats_left=left, now=now, seats=seats)
    if refusal is not None:
        raise refusal
    booking = _new_booking(
        guest=guest,
        user=user,
        start_at=workshop.start_at,
        end_at=workshop.end_at,
        seats=seats,
        price=workshop.price_amount,
        currency=workshop.currency,
        now=now,
        workshop=workshop,
    )
    _save_new(booking, tender=tender, now=now)
    if offer is not None:
        take_offer(offer, booking=booking, now=now)
    _record_created(booking, actor=actor, user=user, tender=tender)
    return booking


def coach_bookings_near(coach: Coach, slot: Slot):
    """The coach's bookings that a session at `slot` (widened by the widest buffer) could touch."""
    buffer = timedelta(minutes=MAX_BUFFER_MINUTES)
    return Booking.objects.filter(coach=coach).overlapping(slot.start_at - buffer, slot.end_at + buffer)


def _new_booking(*, guest: Guest, user, start_at, end_at, seats, price, currency, now, **target) -> Booking:
    booking = Booking(
        **target,
        start_at=start_at,
        end_at=end_at,
        seats=seats,
        guest_name=guest.name.strip(),
        guest_email=guest.email.strip(),
        guest_phone=guest.phone.strip(),
        guest_notes=guest.notes.strip(),
        guest_timezone=guest.timezone,
        user=user if getattr(user, "is_authenticated", False) else None,
        amount_due=price * seats,
        currency=currency,
    )
    _set_payment_state(booking, now=now)
    return booking


def _set_payment_state(booking: Booking, *, now: datetime) -> None:
    """Something to pay: a hold awaiting payment. Nothing: confirmed at once."""
    paid = booking.amount_due > 0
    booking.status = Booking.Status.PENDING_PAYMENT if paid else Booking.Status.CONFIRMED
    booking.hold_expires_at = now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES) if paid else None
    booking.confirmed_at = None if paid else now


def _save_new(booking: Booking, *, tender: Tender | None = None, now: datetime | None = None) -> None:
    if tender is not None:
        tender.charge(booking, now=now)
        _set_payment_state(booking, now=now)
    try:
        # Field validation only: the check constraints are the database's job (validating them here
        # would cost one query each), and their IntegrityError is handled by the caller.
        booking.full_clean(exclude=["reference", "stripe_checkout_session_id"], validate_constraints=False)
    except ValidationError as exc:
        messages = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        raise InvalidDetails(f"Please check your details ({messages}).") from exc
    booking.save()
    if tender is not None:
        tender.spent(booking, now=now)


def _record_created(booking: Booking, *, actor: str, user, tender: Tender | None = None) -> None:
    if booking.status == Booking.Status.CONFIRMED:
        message = f"{tender.note} Confirmed at once." if tender else "Free booking confirmed at once."
        log_booking(booking, LogAction.CONFIRMED, actor=actor, user=user, message=message)
        announce(booking, Change.CONFIRMED, actor=actor)
    else:
        log_booking(
            booking,
            LogAction.HELD,
            actor=actor,
            user=user,
            message=f"{tender.note + ' ' if tender else ''}Held for payment until {booking.hold_expires_at:%H:%M} UTC.",
            amount_due=booking.amount_due,
            currency=booking.currency,
        )
        announce(booking, Change.HELD, actor=actor)
