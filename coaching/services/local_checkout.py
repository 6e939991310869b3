"""The built-in test checkout: a stand-in for Stripe Checkout when no STRIPE_SECRET_KEY is set.

"Pay (test)" builds the `checkout.session.completed` event Stripe would send, signs it with
STRIPE_WEBHOOK_SECRET and Stripe's own scheme, and hands it to the webhook's receiver — the same
verification and handling a delivery from Stripe gets. Nothing here confirms a booking by itself.
"""

from __future__ import annotations

import json
import logging
import secrets
import time

from django.conf import settings

from coaching.integrations import stripe as stripe_api
from coaching.models import Booking, PackageOrder

from . import packages, payment
from .stripe_events import receive_delivery

logger = logging.getLogger(__name__)

test_checkout_enabled = stripe_api.test_checkout_enabled


def local_payment_event(booking: Booking) -> dict:
    """The checkout.session.completed event Stripe would send for this booking, fully paid."""
    return local_session_event(
        session_id=booking.stripe_checkout_session_id,
        reference=booking.reference,
        metadata={"booking_reference": booking.reference},
        email=booking.guest_email,
        amount=booking.amount_due,
        currency=booking.currency,
    )


def local_package_payment_event(order: PackageOrder) -> dict:
    """The checkout.session.completed event Stripe would send for this package order, fully paid."""
    return local_session_event(
        session_id=order.stripe_checkout_session_id,
        reference=order.reference,
        metadata={"purpose": packages.PURPOSE, "package_order": order.reference},
        email=order.buyer_email,
        amount=order.amount_due,
        currency=order.currency,
    )


def local_session_event(*, session_id: str, reference: str, metadata: dict, email: str, amount: int, currency: str):
    token = secrets.token_hex(12)
    return {
        "id": f"evt_test_local_{token}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": reference,
                "metadata": metadata,
                "customer_email": email,
                "amount_total": amount,
                "currency": currency.lower(),
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": f"{payment.LOCAL_PAYMENT_INTENT_PREFIX}{token}",
            }
        },
    }


def deliver_test_payment(booking: Booking) -> bool:
    """Pay a booking's hold on the test checkout (see `deliver_local_event`)."""
    return deliver_local_event(local_payment_event(booking), reference=booking.reference)


def deliver_test_package_payment(order: PackageOrder) -> bool:
    """Pay a package order on the test checkout (see `deliver_local_event`)."""
    return deliver_local_event(local_package_payment_event(order), reference=order.reference)


def deliver_local_event(event: dict, *, reference: str) -> bool:
    """Sign the event with STRIPE_WEBHOOK_SECRET (Stripe's scheme) and hand it to the webhook's own
    receiver in-process (so it works under runserver's single thread as well as in tests): the
    signature is verified exactly as for a delivery from Stripe. True when it was accepted."""
    payload = json.dumps(event)
    header = stripe_api.signature_header(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    try:
        receive_delivery(payload=payload, signature=header)
    except stripe_api.InvalidWebhook:
        return False
    except Exception:  # handling failed (the webhook would answer 500): the guest may try again
        logger.exception("Test payment for %s failed", reference)
        return False
    return True
