"""The one module that talks to Stripe (the `stripe` SDK). Everything else calls these functions.

A `StripeClient` is built per call from settings, so `STRIPE_API_BASE` (a local stand-in in tests)
and the timeouts apply without global state. Stripe's errors come out as two kinds:

- `PaymentUnavailable` (coaching.exceptions) — Stripe is down, slow, rate-limiting or unreachable:
  the guest can simply try again. The SDK has already retried with the same idempotency key.
- `StripeRefused` — Stripe understood and said no (bad parameters, a session that is no longer
  open, a wrong key). Retrying the same request will not help.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

import stripe
from django.conf import settings

from coaching.exceptions import PaymentUnavailable

TRY_AGAIN = "Our payment provider is not answering right now. Please try again in a minute."


class StripeRefused(Exception):
    """Stripe refused the request (4xx). `code` is Stripe's error code when it gave one."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidWebhook(Exception):
    """A webhook delivery that is unsigned, forged, stale or not JSON."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str
    payment_status: str
    payment_intent: str
    amount_total: int


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    status: str


def is_configured() -> bool:
    """Real Stripe (a secret key) is set; otherwise the built-in test checkout may stand in."""
    return bool(settings.STRIPE_SECRET_KEY)


def test_checkout_enabled() -> bool:
    """The built-in test checkout: only without real keys, and never in production unless asked for."""
    return not is_configured() and settings.STRIPE_TEST_CHECKOUT


def _client() -> stripe.StripeClient:
    base_addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses,
        # Retries reuse the idempotency key, so a retried create never makes a second session.
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _call(request):
    try:
        return request()
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise PaymentUnavailable(TRY_AGAIN) from exc
    except stripe.APIError as exc:  # Stripe's own 5xx
        raise PaymentUnavailable(TRY_AGAIN) from exc
    except stripe.StripeError as exc:
        raise StripeRefused(
            exc.user_message or str(exc) or "Stripe refused the request.",
            code=getattr(exc, "code", "") or "",
            status=exc.http_status,
        ) from exc


def _session(response) -> CheckoutSession:
    obj = response.to_dict()
    payment_intent = obj.get("payment_intent") or ""
    if not isinstance(payment_intent, str):  # expanded object
        payment_intent = payment_intent.get("id", "")
    return CheckoutSession(
        id=obj["id"],
        url=obj.get("url") or "",
        status=obj.get("status") or "",
        payment_status=obj.get("payment_status") or "",
        payment_intent=payment_intent,
        amount_total=obj.get("amount_total") or 0,
    )


def create_checkout_session(
    *,
    reference: str,
    product_name: str,
    description: str,
    unit_amount: int,
    quantity: int,
    currency: str,
    customer_email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
    idempotency_key: str,
    metadata: dict | None = None,
) -> CheckoutSession:
    """Open a Checkout Session with the price set here on the server (minor units), never by the form.

    The same `idempotency_key` with the same parameters returns the session Stripe already made.
    `metadata` says what the checkout buys (default: the booking `reference`); the webhook reads it.
    """
    metadata = metadata or {"booking_reference": reference}
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": quantity,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": unit_amount,
                    "product_data": {"name": product_name, "description": description},
                },
            }
        ],
        "client_reference_id": reference,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "customer_email": customer_email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    client = _client()
    obj = _call(lambda: client.v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}))
    return _session(obj)


def expire_checkout_session(session_id: str) -> CheckoutSession:
    """Close an open session so the guest can no longer pay. Raises StripeRefused if it is not open."""
    client = _client()
    return _session(_call(lambda: client.v1.checkout.sessions.expire(session_id)))


def create_refund(*, payment_intent: str, amount: int, idempotency_key: str, reference: str) -> Refund:
    client = _client()
    params = {"payment_intent": payment_intent, "amount": amount, "metadata": {"booking_reference": reference}}
    obj = _call(lambda: client.v1.refunds.create(params, {"idempotency_key": idempotency_key})).to_dict()
    return Refund(id=obj["id"], amount=obj.get("amount") or amount, status=obj.get("status") or "")


def construct_event(*, payload: bytes | str, sig_header: str | None, secret: str) -> dict:
    """Verify a webhook delivery's signature and return the decoded JSON object.

    Raises InvalidWebhook for a missing, forged or stale signature (Stripe's 300 s tolerance), a
    signature timestamp too far in the future (a clock trick a replay could use), a wrong secret, or
    a body that is not a JSON object with an id and a type. The event's *contents* are checked by
    the caller (coaching/services/stripe_events.py), which knows which fields it needs.
    """
    if not secret:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set; refusing every event.")
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else payload
        # Verify only: building the SDK's Event object from an arbitrary (signed) body can raise
        # anything (a JSON list gives an AttributeError inside the library).
        stripe.WebhookSignature.verify_header(text, sig_header, secret, stripe.Webhook.DEFAULT_TOLERANCE)
        event = json.loads(text)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"Bad signature: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidWebhook(f"Not a JSON event: {exc}") from exc
    if _signed_at(sig_header) > time.time() + stripe.Webhook.DEFAULT_TOLERANCE:
        raise InvalidWebhook("Signature timestamp is in the future.")
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidWebhook("Not a Stripe event (no id and type).")
    return event


def _signed_at(sig_header: str | None) -> int:
    for part in (sig_header or "").split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value)
    return 0


def signature_header(*, payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`, made with Stripe's own signing scheme (v1 HMAC)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
