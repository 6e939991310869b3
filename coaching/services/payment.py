"""The payment seam: everything the booking brain asks of the payment provider (open a checkout,
close it, refund).

Real Stripe when STRIPE_SECRET_KEY is set (calls go through coaching/integrations/stripe.py only);
otherwise the built-in test checkout (coaching/web/payments.py) stands in, with local session ids.
What the provider tells us back (webhook events) is handled in services/stripe_events.py; a paid
booking is confirmed only there.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.http import urlencode

from coaching.exceptions import PaymentUnavailable
from coaching.integrations import stripe as stripe_api
from coaching.links import make_checkout_cancel_token, read_checkout_cancel_token
from coaching.models import Booking
from coaching.vocabulary import Actor, LogAction
from coaching.wallclock import format_in_zone
from coaching.zones import zone_from_name

from .log import log_booking

logger = logging.getLogger(__name__)

# Ids minted by the built-in test checkout (never real money).
LOCAL_SESSION_PREFIX = "cs_test_local_"
LOCAL_PAYMENT_INTENT_PREFIX = "pi_test_local_"
LOCAL_REFUND_PREFIX = "re_test_local_"
# Stripe refuses a Checkout Session that expires sooner than 30 minutes after it is created.
STRIPE_MIN_SESSION_LIFETIME = timedelta(minutes=30)


# --- URLs -----------------------------------------------------------------------------------------


def success_url(session_id: str = "{CHECKOUT_SESSION_ID}") -> str:
    """Where the guest lands after paying. Stripe fills in {CHECKOUT_SESSION_ID} itself."""
    return f"{settings.SITE_URL}{reverse('coaching:checkout_return')}?session_id={session_id}"


def cancel_url(booking: Booking) -> str:
    """Where "back" on the checkout page leads; signed so nobody can release someone else's hold."""
    token = make_checkout_cancel_token(booking)
    return f"{settings.SITE_URL}{reverse('coaching:checkout_cancel')}?{urlencode({'booking': token})}"


def booking_for_cancel_token(token: str) -> Booking | None:
    reference = read_checkout_cancel_token(token)
    return Booking.objects.filter(reference=reference).first() if reference else None


def is_local_session(session_id: str | None) -> bool:
    return bool(session_id) and session_id.startswith(LOCAL_SESSION_PREFIX)


# --- the seam the booking brain calls ------------------------------------------------------------


def checkout_description(booking: Booking) -> str:
    """The line item's time, in the host's zone and the guest's (once when they are the same)."""
    host_zone = booking.host.zone
    guest_zone = zone_from_name(booking.guest_timezone) or host_zone
    in_host_zone = format_in_zone(booking.start_at, host_zone)
    if guest_zone.key == host_zone.key:
        return in_host_zone
    return f"{format_in_zone(booking.start_at, guest_zone)} (your time) · {in_host_zone} ({booking.host.name}'s time)"


def start_checkout(*, booking: Booking) -> str:
    """Open a checkout for a PENDING_PAYMENT hold and return the URL to send the guest to.

    The price comes from the booking (fixed on the server when the hold was made). Calling it again
    for the same booking returns the same session (Stripe idempotency key; deterministic params).
    Raises PaymentUnavailable when Stripe is down or slow (the brain then releases the hold), or
    StripeRefused when Stripe rejects the request.
    """
    # A discount (a promotion code) may leave a total the seats do not divide: one line then.
    divides = booking.amount_due % booking.seats == 0
    unit_amount, quantity = (booking.amount_due // booking.seats, booking.seats) if divides else (booking.amount_due, 1)
    session_id, url = open_session(
        reference=booking.reference,
        product_name=booking.title,
        description=checkout_description(booking),
        unit_amount=unit_amount,
        quantity=quantity,
        currency=booking.currency,
        customer_email=booking.guest_email,
        cancel_url=cancel_url(booking),
        hold_expires_at=booking.hold_expires_at,
        session_id=booking.stripe_checkout_session_id,
    )
    if booking.stripe_checkout_session_id != session_id:
        with transaction.atomic():
            Booking.objects.filter(pk=booking.pk).update(stripe_checkout_session_id=session_id)
            booking.stripe_checkout_session_id = session_id
            log_booking(
                booking,
                LogAction.CHECKOUT_STARTED,
                actor=Actor.SYSTEM,
                message="Checkout opened.",
                session_id=session_id,
                amount=booking.amount_due,
                currency=booking.currency,
            )
    return url


def open_session(
    *,
    reference: str,
    product_name: str,
    description: str,
    unit_amount: int,
    quantity: int,
    currency: str,
    customer_email: str,
    cancel_url: str,
    hold_expires_at,
    session_id: str | None,
    return_url: str = "",
    test_checkout_url_name: str = "coaching:test_checkout",
) -> tuple[str, str]:
    """Open (or, called again, find) the provider's checkout for what `reference` names; returns
    (session id, URL). Real Stripe with an idempotency key, else the built-in test checkout."""
    if stripe_api.is_configured():
        session = stripe_api.create_checkout_session(
            reference=reference,
            product_name=product_name,
            description=description,
            unit_amount=unit_amount,
            quantity=quantity,
            currency=currency,
            customer_email=customer_email,
            success_url=return_url or success_url(),
            cancel_url=cancel_url,
            # Derived from the hold (not "now") so a retried request sends identical parameters,
            # which Stripe's idempotency requires; the hold task expires the session at 15 minutes.
            expires_at=hold_expires_at + STRIPE_MIN_SESSION_LIFETIME,
            idempotency_key=f"booking-{reference}-checkout",
        )
        return session.id, session.url
    if stripe_api.test_checkout_enabled():
        session_id = session_id or LOCAL_SESSION_PREFIX + secrets.token_urlsafe(24)
        return session_id, f"{settings.SITE_URL}{reverse(test_checkout_url_name, args=[session_id])}"
    raise PaymentUnavailable("Online payment is not set up yet. Please contact us to book this.")


def expire_checkout(*, booking: Booking) -> None:
    """Close the provider's checkout for a hold that lapsed or was cancelled (best effort).

    A session that is no longer open (already paid or expired) is left alone: a payment that got
    through arrives by webhook and is re-confirmed or refunded there.
    """
    session_id = booking.stripe_checkout_session_id
    if not session_id and booking.series_id:
        # An occurrence of a recurring series: its series' one checkout closes once no occurrence
        # still waits for it.
        series = booking.series
        if series.occurrences.filter(status=Booking.Status.PENDING_PAYMENT).exists():
            return
        session_id = series.stripe_checkout_session_id
    expire_session(session_id, reference=booking.reference)


def expire_session(session_id: str | None, *, reference: str = "") -> None:
    """Close one provider checkout session (a booking's or a recurring series'), best effort."""
    if not session_id or is_local_session(session_id) or not stripe_api.is_configured():
        return
    try:
        stripe_api.expire_checkout_session(session_id)
    except stripe_api.StripeRefused as exc:
        logger.info("Checkout %s of %s not expired: %s", session_id, reference, exc)


def send_refund(*, payment_intent_id: str, amount: int, idempotency_key: str, reference: str) -> tuple[str, int]:
    """Ask the provider to refund `amount` of a payment; returns (refund id, amount refunded).

    The same idempotency key always means the same refund: a retry after a timeout or a lost answer
    never refunds twice. Raises PaymentUnavailable (try again later) or StripeRefused (it never will).
    Call it outside any transaction: it may take seconds.
    """
    if payment_intent_id.startswith(LOCAL_PAYMENT_INTENT_PREFIX):
        # Paid through the built-in test checkout: no real money moved, so none moves back.
        return LOCAL_REFUND_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24], amount
    if not payment_intent_id:
        raise stripe_api.StripeRefused("We have no record of the payment to refund; refund it by hand.")
    if not stripe_api.is_configured():
        raise stripe_api.StripeRefused("Stripe is not configured (no STRIPE_SECRET_KEY); refund it by hand.")
    result = stripe_api.create_refund(
        payment_intent=payment_intent_id, amount=amount, idempotency_key=idempotency_key, reference=reference
    )
    return result.id, result.amount


StripeRefused = stripe_api.StripeRefused
