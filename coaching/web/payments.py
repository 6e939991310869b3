"""Pages around payment: the return ("confirming…") page, the cancel link, and the built-in test
checkout that stands in for Stripe Checkout when no STRIPE_SECRET_KEY is set.

These views only parse, call the payment service and render; the webhook alone confirms.
"""

import logging

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from coaching.links import booking_page_path
from coaching.models import Booking
from coaching.money import format_money
from coaching.services import payment
from coaching.services.holds import abandon_checkout
from coaching.services.local_checkout import deliver_test_payment, test_checkout_enabled

from .context import CHECKOUT_CANCELLED_KEY, confirmation_context
from .parsing import iso_z

logger = logging.getLogger(__name__)


def _booking_query():
    return Booking.objects.select_related("coach", "workshop__host")


def _payment_state(booking: Booking) -> str:
    if booking.status == Booking.Status.CONFIRMED:
        return "confirmed"
    if booking.status == Booking.Status.PENDING_PAYMENT:
        return "waiting"
    if booking.is_paid:
        return "refunded" if booking.amount_refunded else "paid_unplaced"
    if booking.status == Booking.Status.CANCELLED:
        return "cancelled"
    return "released"


@require_GET
def checkout_return(request):
    """Where the guest lands after paying: "Confirming your payment…" until the webhook confirms,
    then the same confirmation a free booking shows."""
    session_id = request.GET.get("session_id", "")
    if not session_id:
        raise Http404("No checkout session.")
    booking = get_object_or_404(_booking_query(), stripe_checkout_session_id=session_id)
    state = _payment_state(booking)
    context = {
        "booking": booking,
        "state": state,
        "poll_url": f"{reverse('coaching:checkout_return')}?session_id={session_id}",
        "calendar_url": booking_page_path(booking),
    }
    if state == "confirmed":
        context.update(confirmation_context(request, booking))
        context["paid_display"] = format_money(booking.amount_paid, booking.currency)
    template = "coaching/payments/return.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)


@require_GET
def checkout_cancel(request):
    """Stripe's cancel_url: the guest went back without paying. The booking is cancelled (by the
    guest), its slot free again at once, and the guest is back on the page they booked from, with
    the same time's form filled in again and "Payment cancelled — nothing was booked"."""
    booking = payment.booking_for_cancel_token(request.GET.get("booking", ""))
    if booking is None:
        raise Http404("Unknown booking.")
    if booking.status == Booking.Status.PENDING_PAYMENT:
        abandon_checkout(booking=booking)
    page = booking_page_path(booking)
    if booking.status == Booking.Status.CONFIRMED:
        return redirect(page)  # it was paid after all: nothing to offer again
    # What they typed waits in their session (never in the URL) for the form they return to.
    request.session[CHECKOUT_CANCELLED_KEY] = {
        "coach": booking.coach.slug if booking.coach_id else "",
        "workshop": booking.workshop.slug if booking.workshop_id else "",
        "start": iso_z(booking.start_at),
        "guest": {
            "name": booking.guest_name,
            "email": booking.guest_email,
            "phone": booking.guest_phone,
            "notes": booking.guest_notes,
            "seats": booking.seats,
        },
    }
    if booking.workshop_id:
        return redirect(page)
    query = {"start": iso_z(booking.start_at)}
    # Back to the same session type's calendar and form (the coach's first needs no `type`).
    if booking.session_type_id and booking.session_type != booking.coach.default_session_type():
        query["type"] = booking.session_type.slug
    return redirect(f"{page}?{urlencode(query)}")


# --- built-in test checkout (embedded mode only) ---------------------------------------------------


def _test_checkout_booking(session_id: str) -> Booking:
    # With real keys this page must not exist at all.
    if not test_checkout_enabled() or not payment.is_local_session(session_id):
        raise Http404("No test checkout here.")
    return get_object_or_404(_booking_query(), stripe_checkout_session_id=session_id)


@require_http_methods(["GET", "POST"])
def test_checkout(request, session_id: str):
    """A stand-in for Stripe Checkout. "Pay (test)" sends a signed checkout.session.completed
    through the webhook's own receiver; nothing here confirms the booking itself."""
    booking = _test_checkout_booking(session_id)
    error = ""
    if request.method == "POST":
        if "cancel" in request.POST:
            return redirect(payment.cancel_url(booking).removeprefix(settings.SITE_URL))
        if booking.status != Booking.Status.PENDING_PAYMENT:
            error = "This checkout is no longer open."
        else:
            if deliver_test_payment(booking):
                return redirect(f"{reverse('coaching:checkout_return')}?session_id={session_id}")
            error = "The test payment was not accepted by the webhook. Please try again."
    context = {
        "booking": booking,
        "error": error,
        "open": booking.status == Booking.Status.PENDING_PAYMENT,
    }
    return render(request, "coaching/payments/test_checkout.html", context, status=409 if error else 200)
