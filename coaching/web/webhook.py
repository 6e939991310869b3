"""Stripe's webhook: the only thing that confirms a paid booking.

The raw body's signature is verified and the event applied by services/stripe_events.py; this view
only answers: 400 for anything unsigned, forged, stale or malformed (a real event never gets one);
500 when handling failed, so Stripe retries the delivery later; 200 otherwise, at once.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coaching.services.stripe_events import InvalidWebhook, receive_delivery

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        outcome = receive_delivery(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        logger.warning("Rejected Stripe webhook: %s", exc)
        return HttpResponse("Invalid webhook.", status=400, content_type="text/plain")
    except Exception:
        logger.exception("A Stripe event failed; Stripe will retry")
        return HttpResponse("Handling failed; retry later.", status=500, content_type="text/plain")
    logger.info("Stripe webhook: %s", outcome)
    return JsonResponse({"received": True, "outcome": outcome})
