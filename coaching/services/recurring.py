"""Recurring sessions: a series of 1-on-1 sessions booked, paid and cancelled as one.

Correct by construction, as a single booking is: every chosen occurrence is re-checked with
`validate_slot` and written in one transaction under the coach's lock, so either every chosen
occurrence is booked or none is; on PostgreSQL the exclusion constraint refuses any overlap that
slipped past (the whole series then rolls back). Each occurrence is an ordinary Booking, built by
the same helpers as a single one (services/booking.py), so everything after — the manage link,
moving or cancelling one occurrence, the refund policy, reminders, Google Calendar — treats it as
a booking of its own.

A paid series has one checkout for all its occurrences and one hold covering them all; the webhook
confirms the series once (each occurrence through `confirm_paid_booking`, with its own share of the
payment, so a late payment re-confirms the occurrences still free and refunds the others, exactly
the rule for a single booking).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from coaching import policy
from coaching.exceptions import (
    BookingError,
    BookingNotCancellable,
    NotBookable,
    OccurrenceUnavailable,
    PaymentUnavailable,
    SlotUnavailable,
)
from coaching.links import make_checkout_cancel_token
from coaching.models import Booking, BookingSeries, Coach, SessionType
from coaching.schedule import validate_slot
from coaching.schedule.recurrence import occurrence_starts, recurrence_refusal, series_intervals
from coaching.schedule.session_rules import session_rules
from coaching.vocabulary import Actor, Change
from coaching.wallclock import format_in_zone

from . import payment
from .booking import (
    Guest,
    _new_booking,
    _record_created,
    _save_new,
    coach_bookings_near,
    offered_session_type,
    session_snapshot,
    validate_guest,
)
from .changes import cancel_locked_booking
from .holds import (
    confirm_paid_booking,
    expire_checkout_quietly,
    release_hold,
    release_lapsed_holds,
    release_unstarted_hold,
)
from .locks import booking_transaction, lock_coach, set_lock_timeout

logger = logging.getLogger(__name__)


@dataclass
class SeriesResult:
    series: BookingSeries
    bookings: list[Booking]
    checkout_url: str | None = None


def book_series(
    *,
    guest: Guest,
    coach: Coach,
    first_start_at: datetime,
    count: int,
    every_weeks: int,
    numbers: list[int] | None = None,
    session_type: SessionType | None = None,
    answers: Mapping[str, object] | None = None,
    user=None,
    actor: str = Actor.GUEST,
    tender=None,
    now: datetime | None = None,
) -> SeriesResult:
    """Book the occurrences `numbers` (1 = the first; all of them when None) of the series of
    `session_type` (default: the coach's first) that starts at `first_start_at` and repeats every
    `every_weeks` weeks, `count` times, on the coach's wall clock. The type must allow that repeat
    and count (its "recurring" setting); each occurrence snapshots the type, its meeting place and
    the guest's `answers` to its questions (asked once for the series) as a single booking does.

    Guarantees: all chosen occurrences are re-checked under the coach's lock and written in one
    transaction — all of them or none. Free: every occurrence comes back CONFIRMED. Paid: every
    occurrence is a PENDING_PAYMENT hold with the same expiry, and the result carries one checkout
    URL for the whole series. Raises RecurringNotAllowed (the repeat or count is not offered),
    OccurrenceUnavailable (naming the occurrence that is not free any more), the guest-detail
    errors of create_booking, PaymentUnavailable or Busy; nothing is left behind when it raises.

    A package `tender` (services/packages.py CreditTender, from `tender_for_code`) pays one credit
    per occurrence, under the purchase's lock (taken after the coach's), in the same transaction:
    every occurrence CONFIRMED at once with no checkout, or the whole series refused
    (PackageNotUsable: too few credits, type not covered, expiring before the last occurrence).
    A promotion code is refused for a series (NotBookable) for now.
    """
    chosen = sorted(set(numbers if numbers is not None else range(1, count + 1)))
    if not chosen or chosen[0] < 1 or chosen[-1] > count:
        raise NotBookable("Please choose at least one of the dates shown.")
    validate_guest(guest)
    if tender is not None and not hasattr(tender, "check_series"):
        raise NotBookable(
            "A promotion code cannot be used for recurring sessions yet. "
            "Please clear the code, or book one session at a time to use it."
        )
    now = now or timezone.now()
    starts = occurrence_starts(first_start_at, zone=coach.zone, every_weeks=every_weeks, count=count)
    with booking_transaction():
        coach = lock_coach(coach)
        if not coach.is_active:
            raise NotBookable(f"{coach.name} is not taking bookings right now.")
        # Read under the coach's lock: the type's price, length and repeat are those the series keeps.
        session_type = offered_session_type(coach, session_type)
        refusal = recurrence_refusal(coach=coach, session_type=session_type, every_weeks=every_weeks, count=count)
        if refusal is not None:
            raise refusal
        # The guest answers the type's questions once; every occurrence keeps the answers.
        snapshot = session_snapshot(coach=coach, session_type=session_type, answers=answers or {}, guest=guest)
        rules = session_rules(coach, session_type)
        chosen_starts = [starts[number - 1] for number in chosen]
        intervals = series_intervals(coach, rules, chosen_starts, now=now)
        slots = [
            (number, _checked_slot(coach, rules, intervals, number, starts[number - 1], now=now)) for number in chosen
        ]
        series = BookingSeries.objects.create(
            coach=coach,
            session_type=session_type,
            session_title=session_type.title,
            every_weeks=every_weeks,
            occurrences_asked=count,
            guest_name=guest.name.strip(),
            guest_email=guest.email.strip(),
            guest_timezone=guest.timezone,
            currency=session_type.currency,
        )
        bookings = []
        for number, slot in slots:
            release_lapsed_holds(coach_bookings_near(coach, slot), now=now)
            bookings.append(
                _new_booking(
                    guest=guest,
                    user=user,
                    start_at=slot.start_at,
                    end_at=slot.end_at,
                    seats=1,
                    price=session_type.price_amount,
                    currency=session_type.currency,
                    now=now,
                    coach=coach,
                    **snapshot,
                    series=series,
                    series_number=number,
                )
            )
        if tender is not None:
            # Under the coach's lock, then the purchase's: enough credits for all, or nothing.
            tender.check_series(bookings, now=now)
        for booking in bookings:
            _save_new(booking, tender=tender, now=now)
        series.amount_due = sum(booking.amount_due for booking in bookings)
        series.hold_expires_at = bookings[0].hold_expires_at
        series.save(update_fields=["amount_due", "hold_expires_at"])
        # Announced once every occurrence exists: the series' one email lists them all.
        for booking in bookings:
            _record_created(booking, actor=actor, user=user, tender=tender)

    if not series.amount_due:
        return SeriesResult(series=series, bookings=bookings)
    try:
        checkout_url = start_series_checkout(series=series, bookings=bookings)
    except Exception as exc:
        logger.exception("Checkout could not start for series %s", series.reference)
        # Silently, as for a single booking: the guest sees the error at once.
        for booking in bookings:
            release_unstarted_hold(booking)
        if isinstance(exc, BookingError):
            raise
        raise PaymentUnavailable() from exc
    return SeriesResult(series=series, bookings=bookings, checkout_url=checkout_url)


def _checked_slot(coach: Coach, rules, intervals, number: int, start_at: datetime, *, now: datetime):
    try:
        return validate_slot(coach=coach, start_at=start_at, now=now, rules=rules, intervals=intervals)
    except BookingError as exc:
        # "Just taken, pick another slot" speaks of one chosen time; here it is one date of several.
        reason = "it was just taken." if isinstance(exc, SlotUnavailable) else exc.message
        raise OccurrenceUnavailable(number=number, when=format_in_zone(start_at, coach.zone), reason=reason) from exc


# --- paying for a series ---------------------------------------------------------------------------


def start_series_checkout(*, series: BookingSeries, bookings: list[Booking]) -> str:
    """One checkout for every occurrence: the occurrence's price × the number of occurrences."""
    session_id, url = payment.open_session(
        reference=series.reference,
        product_name=series.title,
        description=", ".join(
            format_in_zone(booking.start_at, series.coach.zone, "%a %d %b %H:%M") for booking in bookings
        ),
        unit_amount=bookings[0].amount_due,
        quantity=len(bookings),
        currency=series.currency,
        customer_email=series.guest_email,
        cancel_url=series_cancel_url(series),
        hold_expires_at=series.hold_expires_at,
        session_id=series.stripe_checkout_session_id,
        return_url=f"{settings.SITE_URL}{reverse('coaching:series_checkout_return')}?session_id={{CHECKOUT_SESSION_ID}}",
        test_checkout_url_name="coaching:series_test_checkout",
    )
    if series.stripe_checkout_session_id != session_id:
        BookingSeries.objects.filter(pk=series.pk).update(stripe_checkout_session_id=session_id)
        series.stripe_checkout_session_id = session_id
    return url


def series_cancel_url(series: BookingSeries) -> str:
    """The checkout's "back" link for a series: signed like a booking's (a series' reference starts
    with "S-", so it can never name a booking)."""
    token = make_checkout_cancel_token(series)
    return f"{settings.SITE_URL}{reverse('coaching:series_checkout_cancel')}?{urlencode({'series': token})}"


def confirm_paid_series(
    *, series: BookingSeries, amount_paid: int, payment_intent_id: str = "", actor: str = Actor.WEBHOOK
) -> list[Booking]:
    """Record the series' one payment and confirm every occurrence, in one transaction.

    Each occurrence takes its own share (its amount due) through `confirm_paid_booking`, so the
    rules of a single booking apply to each: idempotent, a hold still open is confirmed, a lapsed
    one re-confirmed if its time is still free, and one whose time is gone (or that was cancelled)
    refunded in full. Running it twice, or concurrently, confirms once.
    """
    with transaction.atomic():
        set_lock_timeout()
        # The usual order: the coach, then the series, then each occurrence.
        lock_coach(series.coach)
        locked = BookingSeries.objects.select_for_update().get(pk=series.pk)
        if payment_intent_id and locked.stripe_payment_intent_id != payment_intent_id:
            locked.stripe_payment_intent_id = payment_intent_id
            locked.save(update_fields=["stripe_payment_intent_id"])
        return [
            confirm_paid_booking(
                booking=occurrence,
                amount_paid=occurrence.amount_due,
                payment_intent_id=payment_intent_id,
                actor=actor,
            )
            for occurrence in locked.occurrences.select_related("coach").order_by("series_number")
        ]


def release_series_hold(*, series: BookingSeries, actor: str, reason: str = "", change: Change = Change.EXPIRED) -> int:
    """End the hold of every occurrence still awaiting payment (expired, failed or abandoned), in
    one transaction. Returns how many were released."""
    with transaction.atomic():
        released = sum(
            release_hold(booking=occurrence, actor=actor, reason=reason, change=change)
            for occurrence in series.occurrences.filter(status=Booking.Status.PENDING_PAYMENT).order_by("pk")
        )
        BookingSeries.objects.filter(pk=series.pk).update(hold_expires_at=None)
    return released


def abandon_series_checkout(*, series: BookingSeries) -> int:
    """The guest left the series' checkout: every held occurrence is cancelled by the guest, their
    times free again at once, and the provider's session closed."""
    released = release_series_hold(
        series=series,
        actor=Actor.GUEST,
        reason="Guest left the checkout without paying.",
        change=Change.CHECKOUT_CANCELLED,
    )
    if released and series.stripe_checkout_session_id:
        try:
            payment.expire_session(series.stripe_checkout_session_id, reference=series.reference)
        except PaymentUnavailable:
            logger.warning("Could not expire checkout of series %s; it lapses on its own", series.reference)
    return released


# --- cancelling what is left ---------------------------------------------------------------------


@dataclass
class SeriesCancellation:
    cancelled: list[Booking]
    kept: list[tuple[Booking, str]]  # occurrences that could not be cancelled now, and why
    refund_total: int


def remaining_occurrences(series: BookingSeries, *, now: datetime | None = None):
    """The occurrences still to come and still booked (confirmed or held), in date order."""
    now = now or timezone.now()
    return series.occurrences.active().filter(start_at__gt=now).order_by("start_at")


def cancel_remaining(
    *,
    series: BookingSeries,
    actor: str,
    user=None,
    refund: bool | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> SeriesCancellation:
    """Cancel every occurrence of the series still to come, in one transaction under the coach's
    lock, each exactly as `cancel_booking` would cancel it alone: its own refund by the policy (or
    the owner's `refund` choice), its own cancelled invite. A guest past the cut-off for some
    occurrence keeps that one (when the policy forbids late cancelling) and is told why. Raises
    BookingNotCancellable when nothing is left to cancel."""
    now = now or timezone.now()
    with booking_transaction():
        lock_coach(series.coach)
        occurrences = list(remaining_occurrences(series, now=now).select_for_update().order_by("pk"))
        cancelled, kept, refund_total = [], [], 0
        for occurrence in sorted(occurrences, key=lambda booking: booking.start_at):
            if actor == Actor.GUEST:
                refusal = policy.guest_cancel_refusal(occurrence, now=now)
                if refusal:
                    kept.append((occurrence, refusal))
                    continue
                amount = policy.refund_due_on_cancel(occurrence, now=now)
            elif refund is None:
                amount = policy.refund_due_on_cancel(occurrence, now=now)
            else:
                amount = policy.refundable_amount(occurrence) if refund else 0
            was_pending = occurrence.status == Booking.Status.PENDING_PAYMENT
            cancel_locked_booking(occurrence, actor=actor, user=user, refund_amount=amount, reason=reason, now=now)
            refund_total += amount
            cancelled.append(occurrence)
            if was_pending:
                transaction.on_commit(lambda booking=occurrence: expire_checkout_quietly(booking))
        if not cancelled:
            raise BookingNotCancellable(
                kept[0][1] if kept else "Nothing is left to cancel in this series: no sessions are still to come."
            )
    return SeriesCancellation(cancelled=cancelled, kept=kept, refund_total=refund_total)
