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
from coaching.models import Booking

from . import payment
from .stripe_events import receive_delivery

logger = logging.getLogger(__name__)

test_checkout_enabled = stripe_api.test_checkout_enabled


def local_payment_event(booking: Booking) -> dict:
    """The checkout.session.completed event Stripe would send for this booking, fully paid."""
    token = secrets.token_hex(12)
    return {
        "id": f"evt_test_local_{token}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": booking.stripe_checkout_session_id,
                "object": "checkout.session",
                "client_reference_id": booking.reference,
                "metadata": {"booking_reference": booking.reference},
                "customer_email": booking.guest_email,
                "amount_total": booking.amount_due,
                "currency": booking.currency.lower(),
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": f"{payment.LOCAL_PAYMENT_INTENT_PREFIX}{token}",
            }
        },
    }


def deliver_test_payment(booking: Booking) -> bool:
    """Sign the event with STRIPE_WEBHOOK_SECRET (Stripe's scheme) and hand it to the webhook's own
    receiver in-process (so it works under runserver's single thread as well as in tests): the
    signature is verified exactly as for a delivery from Stripe. True when it was accepted."""
    payload = json.dumps(local_payment_event(booking))
    header = stripe_api.signature_header(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    try:
        receive_delivery(payload=payload, signature=header)
    except stripe_api.InvalidWebhook:
        return False
    except Exception:  # handling failed (the webhook would answer 500): the guest may try again
        logger.exception("Test payment for %s failed", booking.reference)
        return False
    return True
