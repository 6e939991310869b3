"""What Stripe tells us back: verified webhook events applied to bookings.

The webhook view (coaching/web/webhook.py) hands each delivery to `receive_delivery`, which verifies
the signature, checks the event's shape, and applies it. A paid booking is confirmed only here, and
only by a payment that matches it: its own checkout session, at least its price, in its currency.
Anything else is refunded and flagged for the owner, never confirmed.

A delivery that can never be processed (signed, but not the shape Stripe sends) is refused with
400 before anything is written, so Stripe does not retry it forever; a failure while applying a
well-formed event propagates (500), so Stripe retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from coaching.integrations import stripe as stripe_api
from coaching.models import Booking, BookingSeries, ProcessedStripeEvent
from coaching.money import format_money
from coaching.vocabulary import Actor, Change, LogAction

from . import packages
from .holds import confirm_paid_booking, release_hold
from .locks import lock_booking
from .log import log_booking
from .outbox import owe_owner_alert
from .recurring import confirm_paid_series, release_series_hold
from .refunds import request_refund

logger = logging.getLogger(__name__)

# Raised by receive_delivery for a delivery that is unsigned, forged, stale or malformed.
InvalidWebhook = stripe_api.InvalidWebhook

PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
SESSION_EVENTS = PAID_EVENTS | {"checkout.session.async_payment_failed", "checkout.session.expired"}
MAX_ID_LENGTH = 255


class MalformedEvent(InvalidWebhook):
    """Signed, but not an event we can ever process."""


@dataclass(frozen=True)
class CheckoutFacts:
    """What a checkout.session.* event says, checked for type and size."""

    session_id: str
    reference: str
    amount_total: int | None
    currency: str
    payment_status: str
    payment_intent_id: str
    # What the checkout bought: "booking" (the default), or "package" (services/packages.py).
    purpose: str = "booking"


def receive_delivery(*, payload: bytes | str, signature: str | None) -> str:
    """Verify one webhook delivery (STRIPE_WEBHOOK_SECRET, Stripe's tolerance, no future timestamps),
    check its shape, and apply its event. Returns the outcome; raises InvalidWebhook (MalformedEvent
    for a signed event of the wrong shape) before anything is written."""
    event = stripe_api.construct_event(payload=payload, sig_header=signature, secret=settings.STRIPE_WEBHOOK_SECRET)
    return handle_stripe_event(event=event)


def handle_stripe_event(*, event: dict) -> str:
    """Apply one verified Stripe event. Returns what happened (for the log and the response body).

    The event id is recorded in the same transaction as its effect: a replay is a no-op, and if
    handling fails nothing is recorded, so Stripe's retry tries again. Events may arrive in any
    order and more than once; the booking services lock the row and are idempotent. Raises
    MalformedEvent, before writing anything, for an event we could never process.
    """
    event_id = _text(event.get("id"), "id", required=True)
    event_type = _text(event.get("type"), "type", required=True)
    try:
        facts = parse_checkout_session(event) if event_type in SESSION_EVENTS else None
    except MalformedEvent as exc:
        raise MalformedEvent(f"Event {event_id} ({event_type}): {exc}") from exc
    with transaction.atomic():
        _, created = ProcessedStripeEvent.objects.get_or_create(
            event_id=event_id, defaults={"event_type": event_type[:100]}
        )
        if not created:
            return "duplicate"
        if facts is None:
            return "ignored"
        if facts.purpose == packages.PURPOSE:
            return packages.package_session_event(event_type, facts, paid_event=event_type in PAID_EVENTS)
        return _handle_session_event(event_type, facts)


# --- the event's shape -----------------------------------------------------------------------------


def _text(value, name: str, *, required: bool = False, limit: int = MAX_ID_LENGTH) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > limit or "\x00" in value:
        raise MalformedEvent(f"Field {name!r} is not a valid string: {value!r:.80}")
    return value


def parse_checkout_session(event: dict) -> CheckoutFacts:
    """The checkout session inside a checkout.session.* event, or MalformedEvent naming the problem."""
    data = event.get("data")
    session = data.get("object") if isinstance(data, dict) else None
    if not isinstance(session, dict):
        raise MalformedEvent(f"Event {event.get('id')!r:.80}: data.object is not a checkout session.")
    metadata = session.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise MalformedEvent("Field 'metadata' is not an object.")
    amount = session.get("amount_total")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise MalformedEvent(f"Field 'amount_total' is not a whole number: {amount!r:.80}")
    currency = _text(session.get("currency"), "currency", limit=3)
    if currency and not currency.isalpha():
        raise MalformedEvent(f"Field 'currency' is not a currency code: {currency!r}")
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    reference = _text(session.get("client_reference_id"), "client_reference_id") or _text(
        (metadata or {}).get("booking_reference") or (metadata or {}).get("package_order"), "metadata reference"
    )
    return CheckoutFacts(
        session_id=_text(session.get("id"), "id", required=True),
        reference=reference,
        amount_total=amount,
        currency=currency.upper(),
        payment_status=_text(session.get("payment_status"), "payment_status", limit=40),
        payment_intent_id=_text(intent, "payment_intent"),
        purpose=_text((metadata or {}).get("purpose"), "metadata.purpose", limit=40) or "booking",
    )


# --- applying it -----------------------------------------------------------------------------------


def _find_booking(facts: CheckoutFacts) -> Booking | None:
    query = Booking.objects.select_related("coach", "workshop__host")
    if facts.reference:
        booking = query.filter(reference=facts.reference).first()
        if booking is not None:
            return booking
    return query.filter(stripe_checkout_session_id=facts.session_id).first()


def payment_mismatch(booking: Booking, facts: CheckoutFacts) -> str:
    """Why this paid session cannot confirm `booking` ('' when it can): it must be the booking's own
    checkout session, in the booking's currency, for at least its price."""
    if facts.session_id != booking.stripe_checkout_session_id:
        return f"paid through checkout session {facts.session_id}, which is not this booking's"
    if facts.currency != booking.currency.upper():
        return f"paid in {facts.currency or 'an unknown currency'}, but the booking is in {booking.currency}"
    if facts.amount_total is None or facts.amount_total < booking.amount_due:
        paid = format_money(facts.amount_total or 0, booking.currency)
        return f"paid {paid}, but the booking costs {format_money(booking.amount_due, booking.currency)}"
    return ""


def _handle_session_event(event_type: str, facts: CheckoutFacts) -> str:
    booking = _find_booking(facts)
    if booking is None:
        series = _find_series(facts)
        if series is not None:
            return _handle_series_event(event_type, facts, series)
        logger.warning("Stripe %s for unknown booking (session %s)", event_type, facts.session_id)
        return "unknown_booking"

    if event_type in PAID_EVENTS:
        if facts.payment_status != "paid":
            # A delayed method (bank debit, …): the money is not there yet; async_payment_* follows.
            log_booking(
                booking,
                LogAction.PAYMENT_PROCESSING,
                actor=Actor.WEBHOOK,
                message="Checkout completed; waiting for the payment to clear.",
                session_id=facts.session_id,
            )
            return "awaiting_payment"
        problem = payment_mismatch(booking, facts)
        if problem:
            _refund_and_flag(booking, facts, problem)
            return "flagged"
        confirm_paid_booking(
            booking=booking,
            amount_paid=facts.amount_total,
            payment_intent_id=facts.payment_intent_id,
            actor=Actor.WEBHOOK,
        )
        return "paid"
    if facts.session_id != booking.stripe_checkout_session_id:
        # Never let a stale session release a hold that belongs to another checkout.
        return "ignored"
    if event_type == "checkout.session.async_payment_failed":
        released = release_hold(
            booking=booking, actor=Actor.WEBHOOK, reason="The payment failed.", change=Change.PAYMENT_FAILED
        )
        return "released" if released else "ignored"
    released = release_hold(booking=booking, actor=Actor.WEBHOOK, reason="The checkout expired unpaid.")
    return "released" if released else "ignored"


# --- recurring sessions: one checkout for the whole series ---------------------------------------------


def _find_series(facts: CheckoutFacts) -> BookingSeries | None:
    query = BookingSeries.objects.select_related("coach")
    series = query.filter(reference=facts.reference).first() if facts.reference else None
    return series or query.filter(stripe_checkout_session_id=facts.session_id).first()


def series_payment_mismatch(series: BookingSeries, facts: CheckoutFacts) -> str:
    """Why this paid session cannot confirm `series` ('' when it can): the series' own session, in
    its currency, for at least the price of every occurrence."""
    if facts.session_id != series.stripe_checkout_session_id:
        return f"paid through checkout session {facts.session_id}, which is not this series'"
    if facts.currency != series.currency.upper():
        return f"paid in {facts.currency or 'an unknown currency'}, but the series is in {series.currency}"
    if facts.amount_total is None or facts.amount_total < series.amount_due:
        paid = format_money(facts.amount_total or 0, series.currency)
        return f"paid {paid}, but the series costs {format_money(series.amount_due, series.currency)}"
    return ""


def _handle_series_event(event_type: str, facts: CheckoutFacts, series: BookingSeries) -> str:
    """The series' checkout: paid confirms every occurrence once; failed or expired releases the hold
    of every occurrence. The same rules as a single booking's checkout, applied per occurrence."""
    if event_type in PAID_EVENTS:
        if facts.payment_status != "paid":
            return "awaiting_payment"
        problem = series_payment_mismatch(series, facts)
        if problem:
            first = series.occurrences.order_by("series_number").first()
            _refund_and_flag(first, facts, problem)
            return "flagged"
        confirm_paid_series(series=series, amount_paid=facts.amount_total, payment_intent_id=facts.payment_intent_id)
        return "paid"
    if facts.session_id != series.stripe_checkout_session_id:
        return "ignored"
    if event_type == "checkout.session.async_payment_failed":
        released = release_series_hold(
            series=series, actor=Actor.WEBHOOK, reason="The payment failed.", change=Change.PAYMENT_FAILED
        )
    else:
        released = release_series_hold(series=series, actor=Actor.WEBHOOK, reason="The checkout expired unpaid.")
    return "released" if released else "ignored"


def _refund_and_flag(booking: Booking, facts: CheckoutFacts, problem: str) -> None:
    """A payment that does not match its booking: never confirm it; give the money back and tell the
    owner. It does not count as the booking's payment, so the booking's amounts stay as they are."""
    locked = lock_booking(booking)
    amount = facts.amount_total or 0
    received = format_money(amount, facts.currency or locked.currency)
    logger.error("Stripe session %s does not match booking %s: %s", facts.session_id, locked.reference, problem)
    log_booking(
        locked,
        LogAction.PAYMENT_FLAGGED,
        actor=Actor.WEBHOOK,
        message=f"Payment not accepted: {problem}. Refunding it in full.",
        session_id=facts.session_id,
        amount=amount,
        currency=facts.currency,
        payment_intent=facts.payment_intent_id,
    )
    if amount and facts.payment_intent_id:
        request_refund(
            booking=locked,
            amount=amount,
            actor=Actor.WEBHOOK,
            reason=f"Payment did not match the booking ({problem})",
            payment_intent_id=facts.payment_intent_id,
            counts_toward_booking=False,
        )
    owe_owner_alert(
        kind="payment_flagged",
        booking=locked,
        dedupe_key=f"payment-flagged:{facts.session_id}:{facts.payment_intent_id}",
        context={"problem": problem, "amount_display": received},
    )
