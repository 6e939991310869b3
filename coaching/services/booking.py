"""Write side of the booking brain: every booking state change happens here, and only here.

Each function runs in one transaction, takes its locks in a fixed order (coach → booking, or
workshop → booking), writes the booking log, and sends `booking_changed` inside the transaction
so that owed emails are recorded atomically with the change. Calls to the payment provider happen
outside the transaction, never while a lock is held.

Concurrency: on PostgreSQL the coach (1-on-1) or workshop (seats) row is locked with
SELECT ... FOR UPDATE before the slot is re-checked, and the exclusion constraint is the last line of
defence for 1-on-1 sessions. On SQLite, `transaction_mode=IMMEDIATE` serialises writers.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from coaching import policy
from coaching.exceptions import (
    BeyondHorizon,
    BookingError,
    BookingNotCancellable,
    BookingNotReschedulable,
    Busy,
    InsideMinimumNotice,
    InvalidDetails,
    NotBookable,
    NotEnoughSeats,
    OutsideAvailability,
    PaymentUnavailable,
    SlotInPast,
    SlotUnavailable,
    WorkshopFull,
)
from coaching.middleware import zone_from_name
from coaching.models import Booking, Coach, Workshop
from coaching.schedule import Slot, load_coach_intervals, merge_intervals, seats_left
from coaching.signals import booking_changed

from . import payment
from .log import log_booking

logger = logging.getLogger(__name__)

# Test-only switch (as pretix does): with locking off, the race tests show the oversell is real.
LOCKING_ENABLED = True
MAX_SEATS_PER_BOOKING = 20
LOCK_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    phone: str = ""
    notes: str = ""
    timezone: str = "UTC"


@dataclass
class BookingResult:
    booking: Booking
    checkout_url: str | None = None

    @property
    def needs_payment(self) -> bool:
        return self.checkout_url is not None


# --- helpers ------------------------------------------------------------------------------------


def _set_lock_timeout() -> None:
    # A lock we cannot get within a few seconds becomes a friendly "busy, try again".
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")


@contextmanager
def _booking_transaction():
    """A transaction that takes booking locks: a lock wait past the timeout becomes Busy, and the
    PostgreSQL exclusion constraint's refusal becomes the same SlotUnavailable the re-check gives."""
    try:
        with transaction.atomic():
            _set_lock_timeout()
            yield
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            raise SlotUnavailable() from exc
        raise
    except OperationalError as exc:
        raise Busy() from exc


def _is_overlap_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "23P01" or "booking_no_overlapping_active_one_on_one" in str(exc)


def _lock_coach(coach: Coach) -> Coach:
    query = Coach.objects.select_for_update() if LOCKING_ENABLED else Coach.objects
    return query.get(pk=coach.pk)


def _lock_workshop(workshop: Workshop) -> Workshop:
    query = Workshop.objects.select_for_update() if LOCKING_ENABLED else Workshop.objects
    return query.select_related("host").get(pk=workshop.pk)


def _lock_booking(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().get(pk=booking.pk)


def _changed(booking: Booking, change: str, *, actor: str, **extra) -> None:
    booking_changed.send(sender=Booking, booking=booking, change=change, actor=actor, **extra)


def validate_slot(*, coach: Coach, start_at: datetime, now: datetime, exclude_booking: Booking | None = None) -> Slot:
    """The slot starting at `start_at` exactly as the schedule offers it, or the reason it is not.

    Raises SlotInPast, InsideMinimumNotice, BeyondHorizon, OutsideAvailability or SlotUnavailable.
    """
    if start_at <= now:
        raise SlotInPast()
    if start_at < now + timedelta(minutes=coach.min_notice_minutes):
        raise InsideMinimumNotice(
            f"Sessions with {coach.name} need to be booked at least {_duration(coach.min_notice_minutes)} ahead."
        )
    if start_at > now + timedelta(days=coach.horizon_days):
        raise BeyondHorizon(f"Sessions with {coach.name} can be booked up to {coach.horizon_days} days ahead.")
    length = timedelta(minutes=coach.session_minutes)
    wanted = Slot(start_at, start_at + length)
    intervals = load_coach_intervals(
        coach=coach, start=start_at, end=wanted.end_at, now=now, exclude_booking=exclude_booking
    )
    buffer = timedelta(minutes=coach.buffer_minutes)
    # The same grid as schedule.candidate_starts (steps of length + buffer from each merged block's
    # start), checked arithmetically instead of listing a long block's every slot.
    block = next((b for b in merge_intervals(intervals.availability) if b[0] <= start_at and wanted.end_at <= b[1]), None)
    if block is None or (start_at - block[0]) % (length + buffer):
        raise OutsideAvailability()
    if any(start < wanted.end_at and wanted.start_at < end for start, end in intervals.blockers(buffer)):
        raise SlotUnavailable()
    return wanted


def _duration(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def _validate_guest(guest: Guest) -> None:
    if not guest.name or not guest.name.strip():
        raise InvalidDetails("Please enter your name.")
    if zone_from_name(guest.timezone) is None:
        raise InvalidDetails("Please choose a valid time zone.")


def _save_new(booking: Booking) -> None:
    try:
        # Field validation only: the check constraints are the database's job (validating them here
        # would cost one query each), and their IntegrityError is handled by the caller.
        booking.full_clean(exclude=["reference", "stripe_checkout_session_id"], validate_constraints=False)
    except ValidationError as exc:
        messages = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        raise InvalidDetails(f"Please check your details ({messages}).") from exc
    booking.save()


# --- create -------------------------------------------------------------------------------------


def create_booking(
    *,
    guest: Guest,
    coach: Coach | None = None,
    start_at: datetime | None = None,
    workshop: Workshop | None = None,
    seats: int = 1,
    user=None,
    actor: str = "guest",
    now: datetime | None = None,
) -> BookingResult:
    """Book a 1-on-1 slot (`coach` + `start_at`) or `seats` in a `workshop`.

    Guarantees: the slot is re-checked under lock exactly as the schedule offers it; a free booking
    comes back CONFIRMED; a paid one comes back PENDING_PAYMENT with a hold of
    BOOKING_HOLD_MINUTES and a checkout URL. Raises a BookingError subclass with a guest-readable
    message (slot taken, sold out, not enough seats, past, notice, horizon, outside availability,
    payment unavailable, busy); nothing is left behind when it raises.
    """
    if (coach is None) == (workshop is None):
        raise NotBookable("Choose either a coach's session or a workshop.")
    _validate_guest(guest)
    now = now or timezone.now()
    with _booking_transaction():
        if workshop is not None:
            booking = _reserve_seats(workshop=workshop, seats=seats, guest=guest, user=user, actor=actor, now=now)
        else:
            if start_at is None:
                raise InvalidDetails("Please choose a time.")
            booking = _reserve_slot(coach=coach, start_at=start_at, guest=guest, user=user, actor=actor, now=now)

    if booking.status != Booking.Status.PENDING_PAYMENT:
        return BookingResult(booking=booking)
    try:
        checkout_url = payment.start_checkout(booking=booking)
    except BookingError:
        _release_unstarted_hold(booking)
        raise
    except Exception as exc:
        logger.exception("Checkout could not start for booking %s", booking.reference)
        _release_unstarted_hold(booking)
        raise PaymentUnavailable() from exc
    return BookingResult(booking=booking, checkout_url=checkout_url)


def _new_booking(*, guest: Guest, user, start_at, end_at, seats, price, currency, now, **target) -> Booking:
    paid = price > 0
    return Booking(
        **target,
        start_at=start_at,
        end_at=end_at,
        seats=seats,
        status=Booking.Status.PENDING_PAYMENT if paid else Booking.Status.CONFIRMED,
        guest_name=guest.name.strip(),
        guest_email=guest.email.strip(),
        guest_phone=guest.phone.strip(),
        guest_notes=guest.notes.strip(),
        guest_timezone=guest.timezone,
        user=user if getattr(user, "is_authenticated", False) else None,
        amount_due=price * seats,
        currency=currency,
        hold_expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES) if paid else None,
        confirmed_at=None if paid else now,
    )


def _record_created(booking: Booking, *, actor: str, user) -> None:
    if booking.status == Booking.Status.CONFIRMED:
        log_booking(booking, "confirmed", actor=actor, user=user, message="Free booking confirmed at once.")
        _changed(booking, "confirmed", actor=actor)
    else:
        log_booking(
            booking,
            "held",
            actor=actor,
            user=user,
            message=f"Held for payment until {booking.hold_expires_at:%H:%M} UTC.",
            amount_due=booking.amount_due,
            currency=booking.currency,
        )
        _changed(booking, "held", actor=actor)


def _reserve_slot(*, coach: Coach, start_at: datetime, guest: Guest, user, actor: str, now: datetime) -> Booking:
    coach = _lock_coach(coach)
    if not coach.is_active:
        raise NotBookable(f"{coach.name} is not taking bookings right now.")
    slot = validate_slot(coach=coach, start_at=start_at, now=now)
    _release_lapsed_holds(_coach_bookings_near(coach, slot), now=now)
    booking = _new_booking(
        guest=guest, user=user, start_at=slot.start_at, end_at=slot.end_at, seats=1,
        price=coach.price_amount, currency=coach.currency, now=now, coach=coach,
    )
    _save_new(booking)
    _record_created(booking, actor=actor, user=user)
    return booking


def _reserve_seats(*, workshop: Workshop, seats: int, guest: Guest, user, actor: str, now: datetime) -> Booking:
    if not isinstance(seats, int) or seats < 1 or seats > MAX_SEATS_PER_BOOKING:
        raise InvalidDetails(f"Please choose between 1 and {MAX_SEATS_PER_BOOKING} seats.")
    workshop = _lock_workshop(workshop)
    if not workshop.is_published:
        raise NotBookable()
    if workshop.start_at <= now:
        raise SlotInPast("This workshop has already started.")
    _release_lapsed_holds(Booking.objects.filter(workshop=workshop), now=now)
    left = seats_left(workshop, now=now)
    if left <= 0:
        raise WorkshopFull()
    if seats > left:
        raise NotEnoughSeats(f"Only {left} seat{'s' if left != 1 else ''} left — please choose fewer.")
    booking = _new_booking(
        guest=guest, user=user, start_at=workshop.start_at, end_at=workshop.end_at, seats=seats,
        price=workshop.price_amount, currency=workshop.currency, now=now, workshop=workshop,
    )
    _save_new(booking)
    _record_created(booking, actor=actor, user=user)
    return booking


def _coach_bookings_near(coach: Coach, slot: Slot):
    buffer = timedelta(minutes=coach.buffer_minutes)
    return Booking.objects.filter(coach=coach).overlapping(slot.start_at - buffer, slot.end_at + buffer)


def _release_lapsed_holds(bookings, *, now: datetime) -> None:
    """Properly expire unpaid holds whose time is up before taking their place.

    The schedule already offers their time; this writes the expiry (log, guest email) and keeps the
    PostgreSQL exclusion constraint, which still sees them as pending, from refusing the new booking.
    """
    for hold in bookings.lapsed_holds(now).order_by("pk"):
        if release_hold(booking=hold, actor="system", reason="Not paid within the hold time."):
            transaction.on_commit(functools.partial(_expire_checkout_quietly, hold))


def _expire_checkout_quietly(booking: Booking) -> None:
    try:
        payment.expire_checkout(booking=booking)
    except Exception:  # Stripe also expires the session on its own; a late payment is handled.
        logger.exception("Could not expire checkout for %s", booking.reference)


def _release_unstarted_hold(booking: Booking) -> None:
    """A checkout that never opened: give the slot back at once, silently (the guest sees the error)."""
    with transaction.atomic():
        locked = _lock_booking(booking)
        if locked.status == Booking.Status.PENDING_PAYMENT:
            locked.status = Booking.Status.EXPIRED
            locked.hold_expires_at = None
            locked.save(update_fields=["status", "hold_expires_at", "updated_at"])
            log_booking(locked, "checkout_failed", actor="system", message="Checkout could not be opened; hold released.")
    booking.refresh_from_db()


# --- payment outcomes ---------------------------------------------------------------------------


def confirm_paid_booking(
    *, booking: Booking, amount_paid: int, payment_intent_id: str = "", actor: str = "webhook", now: datetime | None = None
) -> Booking:
    """Record a successful payment and confirm the booking. Idempotent and safe to run concurrently.

    A payment for a hold that already expired re-confirms the booking if its time (or seats) is
    still free; otherwise the whole payment is refunded and the guest told. A payment for a
    booking cancelled meanwhile is refunded. Never keeps money without a booking.
    """
    now = now or timezone.now()
    refund_amount = 0
    with transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        if locked.is_paid and locked.stripe_payment_intent_id == (payment_intent_id or locked.stripe_payment_intent_id):
            if locked.status == Booking.Status.CONFIRMED or locked.amount_refunded:
                return locked
        first_payment = not locked.is_paid
        locked.is_paid = True
        locked.amount_paid = max(locked.amount_paid, amount_paid)
        locked.stripe_payment_intent_id = payment_intent_id or locked.stripe_payment_intent_id
        fields = ["is_paid", "amount_paid", "stripe_payment_intent_id", "updated_at"]
        if first_payment:
            log_booking(locked, "paid", actor=actor, message="Payment received.", amount=amount_paid, currency=locked.currency)

        if locked.status == Booking.Status.PENDING_PAYMENT:
            _confirm(locked, fields, actor=actor, now=now, message="Confirmed by payment.")
        elif locked.status == Booking.Status.EXPIRED and _still_free(locked, now=now):
            _confirm(locked, fields, actor=actor, now=now, message="Payment arrived after the hold expired; time still free, so re-confirmed.")
        elif locked.status == Booking.Status.CONFIRMED:
            locked.save(update_fields=fields)
        else:
            locked.save(update_fields=fields)
            refund_amount = policy.refundable_amount(locked)
            log_booking(
                locked, "late_payment_unplaceable", actor=actor,
                message="Payment arrived for a booking that is no longer active and whose time is taken; refunding in full.",
            )
    if refund_amount:
        payment.refund(booking=locked, amount=refund_amount, actor=actor, reason="Late payment for a released booking")
        locked.refresh_from_db()
    return locked


def _confirm(booking: Booking, fields: list[str], *, actor: str, now: datetime, message: str) -> None:
    booking.status = Booking.Status.CONFIRMED
    booking.confirmed_at = now
    booking.hold_expires_at = None
    booking.save(update_fields=fields + ["status", "confirmed_at", "hold_expires_at"])
    log_booking(booking, "confirmed", actor=actor, message=message)
    _changed(booking, "payment_received", actor=actor)
    _changed(booking, "confirmed", actor=actor)


def _still_free(booking: Booking, *, now: datetime) -> bool:
    """Can a released booking take its place again (ignoring notice: the guest paid in good faith)?"""
    if booking.start_at <= now:
        return False
    if booking.workshop_id:
        workshop = _lock_workshop(booking.workshop)
        return seats_left(workshop, now=now) >= booking.seats
    coach = _lock_coach(booking.coach)
    intervals = load_coach_intervals(
        coach=coach, start=booking.start_at, end=booking.end_at, now=now, exclude_booking=booking
    )
    buffer = timedelta(minutes=coach.buffer_minutes)
    return not any(start < booking.end_at and end > booking.start_at for start, end in intervals.blockers(buffer))


def release_hold(*, booking: Booking, actor: str, reason: str = "", change: str = "expired") -> bool:
    """End an unpaid hold (expired, checkout abandoned, or payment failed). Returns False if nothing to do."""
    with transaction.atomic():
        locked = _lock_booking(booking)
        if locked.status != Booking.Status.PENDING_PAYMENT:
            return False
        locked.status = Booking.Status.EXPIRED
        locked.hold_expires_at = None
        locked.save(update_fields=["status", "hold_expires_at", "updated_at"])
        log_booking(locked, change, actor=actor, message=reason or "Unpaid hold released.")
        _changed(locked, change, actor=actor)
    booking.refresh_from_db()
    return True


def expire_holds(*, now: datetime | None = None) -> int:
    """Release every PENDING_PAYMENT hold whose time is up and close its checkout. Returns how many."""
    now = now or timezone.now()
    due = list(
        Booking.objects.filter(status=Booking.Status.PENDING_PAYMENT, hold_expires_at__lte=now).order_by("id")
    )
    released = 0
    for booking in due:
        if release_hold(booking=booking, actor="task", reason="Not paid within the hold time."):
            released += 1
            _expire_checkout_quietly(booking)
    return released


# --- cancel and reschedule ----------------------------------------------------------------------


def cancel_booking(
    *, booking: Booking, actor: str, user=None, refund: bool | None = None, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel an active booking and free its time.

    `refund`: None follows the owner's policy (full before the cut-off, none after); True refunds
    everything still refundable (owner's choice); False refunds nothing. Guests are held to the
    policy's cancellation rules. The refund itself runs after the cancellation is committed; a
    failed refund is logged on the booking for the owner to retry. Raises BookingNotCancellable.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_booking(booking)
        if not locked.is_active:
            raise BookingNotCancellable(f"This booking is already {locked.get_status_display().lower()}.")
        if actor == "guest":
            current_policy = policy.get_policy()
            if not policy.guest_may_cancel(locked, now=now, policy=current_policy):
                raise BookingNotCancellable(
                    f"Bookings can be cancelled up to {current_policy.cancellation_cutoff_hours} hours before they start."
                )
            refund = None
        if refund is None:
            refund_amount = policy.refund_due_on_cancel(locked, now=now)
        else:
            refund_amount = policy.refundable_amount(locked) if refund else 0
        was_pending = locked.status == Booking.Status.PENDING_PAYMENT
        locked.status = Booking.Status.CANCELLED
        locked.cancelled_at = now
        locked.hold_expires_at = None
        locked.ics_sequence += 1
        locked.save(update_fields=["status", "cancelled_at", "hold_expires_at", "ics_sequence", "updated_at"])
        log_booking(locked, "cancelled", actor=actor, user=user, message=reason, refund_due=refund_amount)
        _changed(locked, "cancelled", actor=actor, refund_amount=refund_amount, reason=reason)
    if was_pending:
        _expire_checkout_quietly(locked)
    if refund_amount:
        try:
            payment.refund(booking=locked, amount=refund_amount, actor=actor, user=user, reason=reason or "Cancellation")
        except Exception as exc:
            logger.exception("Refund failed for %s", locked.reference)
            with transaction.atomic():
                log_booking(locked, "refund_failed", actor="system", message=str(exc)[:500], amount=refund_amount)
        locked.refresh_from_db()
    return locked


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
    with _booking_transaction():
        if booking.coach_id is None:
            raise BookingNotReschedulable("Workshop seats cannot be moved to another date; you can cancel instead.")
        coach = _lock_coach(booking.coach)
        locked = _lock_booking(booking)
        if actor == "guest":
            refusal = policy.guest_reschedule_refusal(locked, now=now)
            if refusal:
                raise BookingNotReschedulable(refusal)
        elif locked.status != Booking.Status.CONFIRMED:
            raise BookingNotReschedulable("Only confirmed bookings can be moved.")
        if new_start_at == locked.start_at:
            raise BookingNotReschedulable("That is already this booking's time.")
        slot = validate_slot(coach=coach, start_at=new_start_at, now=now, exclude_booking=locked)
        _release_lapsed_holds(_coach_bookings_near(coach, slot).exclude(pk=locked.pk), now=now)
        old_start_at, old_end_at = locked.start_at, locked.end_at
        locked.start_at, locked.end_at = slot.start_at, slot.end_at
        locked.reschedule_count += 1
        locked.ics_sequence += 1
        locked.save(update_fields=["start_at", "end_at", "reschedule_count", "ics_sequence", "updated_at"])
        log_booking(
            locked, "rescheduled", actor=actor, user=user,
            message=f"Moved from {old_start_at:%Y-%m-%d %H:%M} UTC to {slot.start_at:%Y-%m-%d %H:%M} UTC.",
            old_start_at=old_start_at, new_start_at=slot.start_at,
        )
        _changed(locked, "rescheduled", actor=actor, old_start_at=old_start_at, old_end_at=old_end_at)
    booking.refresh_from_db()
    return locked
