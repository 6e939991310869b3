"""Stripe's webhook: the only thing that confirms a paid booking.

It verifies the signature on the raw body, then hands the event to the payment service and
answers at once. 400 for anything unsigned, forged, stale or malformed (Stripe does not retry a
4xx from a forger's point of view, and a real event never gets one); 500 when handling failed, so
Stripe retries the delivery later.
"""

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coaching.integrations import stripe as stripe_api
from coaching.services import payment

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        event = stripe_api.construct_event(
            payload=request.body,
            sig_header=request.headers.get("Stripe-Signature"),
            secret=settings.STRIPE_WEBHOOK_SECRET,
        )
    except stripe_api.InvalidWebhook as exc:
        logger.warning("Rejected Stripe webhook: %s", exc)
        return HttpResponse("Invalid webhook.", status=400, content_type="text/plain")
    try:
        outcome = payment.handle_stripe_event(event=event)
    except Exception:
        logger.exception("Stripe event %s (%s) failed; Stripe will retry", event.get("id"), event.get("type"))
        return HttpResponse("Handling failed; retry later.", status=500, content_type="text/plain")
    logger.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return JsonResponse({"received": True, "outcome": outcome})
