"""What Stripe tells us back: verified webhook events applied to bookings.

The webhook view (coaching/web/webhook.py) verifies the signature and hands the event here. A paid
booking is confirmed only by a `checkout.session.*` event handled here.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from coaching.integrations import stripe as stripe_api
from coaching.models import Booking, ProcessedStripeEvent
from coaching.vocabulary import Actor, Change, LogAction

from .holds import confirm_paid_booking, release_hold
from .log import log_booking

logger = logging.getLogger(__name__)

# Raised by receive_delivery for a delivery that is unsigned, forged, stale or malformed.
InvalidWebhook = stripe_api.InvalidWebhook


SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}


def receive_delivery(*, payload: bytes | str, signature: str | None) -> str:
    """Verify one webhook delivery's signature (STRIPE_WEBHOOK_SECRET, Stripe's tolerance) and apply
    its event. Returns the outcome; raises stripe_api.InvalidWebhook for anything unsigned, forged,
    stale or malformed, and lets handling failures propagate (Stripe then retries)."""
    event = stripe_api.construct_event(payload=payload, sig_header=signature, secret=settings.STRIPE_WEBHOOK_SECRET)
    return handle_stripe_event(event=event)


def handle_stripe_event(*, event: dict) -> str:
    """Apply one verified Stripe event. Returns what happened (for the log and the response body).

    The event id is recorded in the same transaction as its effect: a replay is a no-op, and if
    handling fails nothing is recorded, so Stripe's retry tries again. Events may arrive in any
    order and more than once; the booking services lock the row and are idempotent.
    """
    with transaction.atomic():
        _, created = ProcessedStripeEvent.objects.get_or_create(
            event_id=event["id"], defaults={"event_type": str(event.get("type", ""))[:100]}
        )
        if not created:
            return "duplicate"
        if event["type"] not in SESSION_EVENTS:
            return "ignored"
        return _handle_session_event(event["type"], event.get("data", {}).get("object") or {})


def _find_booking(session: dict) -> Booking | None:
    reference = session.get("client_reference_id") or (session.get("metadata") or {}).get("booking_reference")
    query = Booking.objects.select_related("coach", "workshop__host")
    if reference:
        booking = query.filter(reference=reference).first()
        if booking is not None:
            return booking
    if session.get("id"):
        return query.filter(stripe_checkout_session_id=session["id"]).first()
    return None


def _handle_session_event(event_type: str, session: dict) -> str:
    booking = _find_booking(session)
    if booking is None:
        logger.warning("Stripe %s for unknown booking (session %s)", event_type, session.get("id"))
        return "unknown_booking"
    if session.get("currency") and session["currency"].upper() != booking.currency.upper():
        logger.error(
            "Stripe session %s paid in %s, booking %s is in %s",
            session.get("id"),
            session["currency"],
            booking.reference,
            booking.currency,
        )
    same_session = session.get("id") == booking.stripe_checkout_session_id

    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if session.get("payment_status") != "paid":
            # A delayed method (bank debit, …): the money is not there yet; async_payment_* follows.
            log_booking(
                booking,
                LogAction.PAYMENT_PROCESSING,
                actor=Actor.WEBHOOK,
                message="Checkout completed; waiting for the payment to clear.",
                session_id=session.get("id"),
            )
            return "awaiting_payment"
        confirm_paid_booking(
            booking=booking,
            amount_paid=int(session.get("amount_total") or 0),
            payment_intent_id=_payment_intent_id(session),
            actor=Actor.WEBHOOK,
        )
        return "paid"
    if not same_session:
        # Never let a stale session release a hold that belongs to another checkout.
        return "ignored"
    if event_type == "checkout.session.async_payment_failed":
        released = release_hold(
            booking=booking, actor=Actor.WEBHOOK, reason="The payment failed.", change=Change.PAYMENT_FAILED
        )
        return "released" if released else "ignored"
    released = release_hold(booking=booking, actor=Actor.WEBHOOK, reason="The checkout expired unpaid.")
    return "released" if released else "ignored"


def _payment_intent_id(session: dict) -> str:
    intent = session.get("payment_intent") or ""
    return intent.get("id", "") if isinstance(intent, dict) else str(intent)
