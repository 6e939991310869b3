"""Admin screens of one workshop: its seats, waiting list and refunds needing attention (with Retry),
and the owner's "Cancel workshop", with the words every guest receives.

Views parse and render; cancelling and retrying are the services' (services/workshops.py
`cancel_workshop`, services/refunds.py `retry_refund`). Who may see which workshop is
backoffice/permissions.py's: the owner every one, a coach the workshops they host.
"""

from django import forms
from django.contrib import messages
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from coaching.exceptions import BookingError
from coaching.models import Booking, Refund
from coaching.money import format_money
from coaching.schedule import seats_left, seats_offered, seats_sold
from coaching.services.refunds import retry_refund
from coaching.services.workshops import cancel_workshop
from coaching.vocabulary import Actor

from .permissions import require_back_office, visible_refunds, visible_workshops

NEEDS_ATTENTION = (Refund.Status.FAILED, Refund.Status.PENDING)


class CancelWorkshopForm(forms.Form):
    message = forms.CharField(
        label="Your words to the guests",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        help_text="Sent, with the cancellation, to every guest with a seat and to everyone on the waiting list.",
    )


def _workshop(request, pk):
    require_back_office(request.user)
    # Outside the user's own workshops this is a 404, so a coach cannot even learn one exists.
    return get_object_or_404(visible_workshops(request.user).select_related("host"), pk=pk)


def refunds_needing_attention(refunds):
    return refunds.filter(status__in=NEEDS_ATTENTION).select_related("booking").order_by("created_at")


def workshop_overview_view(request, pk):
    """The workshop's seats (every booking), its waiting list, and its refunds not made yet."""
    workshop = _workshop(request, pk)
    now = timezone.now()
    refunds = Refund.objects.filter(booking__workshop=workshop)
    context = {
        "workshop": workshop,
        "bookings": workshop.bookings.order_by("created_at"),
        "waitlist": workshop.waitlist_entries.order_by("joined_at", "pk"),
        "refunds_needing_attention": refunds_needing_attention(refunds),
        "refunds_made": refunds.filter(status=Refund.Status.SUCCEEDED).count(),
        "seats_sold": seats_sold(workshop, now=now),
        "seats_offered": seats_offered(workshop, now=now),
        "seats_left": seats_left(workshop, now=now),
        "now": now,
    }
    return TemplateResponse(request, "coaching/admin/workshop_overview.html", context)


def cancel_workshop_view(request, pk):
    """GET: what cancelling will do (seats, refunds, people waiting) and the words for the guests.
    POST: cancel it, through the service."""
    workshop = _workshop(request, pk)
    form = CancelWorkshopForm(request.POST or None)
    overview_url = reverse("coaching_admin:workshop", args=[workshop.pk])
    if request.method == "POST" and form.is_valid():
        try:
            result = cancel_workshop(
                workshop=workshop, message=form.cleaned_data["message"], actor=Actor.OWNER, user=request.user
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            seats = sum(booking.seats for booking in result.cancelled_bookings)
            messages.success(
                request,
                f"“{workshop.title}” is cancelled: {seats} seat{'s' if seats != 1 else ''} cancelled, "
                f"{len(result.refunds)} refund{'s' if len(result.refunds) != 1 else ''} on the way, "
                f"{len(result.closed_entries)} on the waiting list told. Every guest has been emailed.",
            )
            return redirect(overview_url)
    active = workshop.bookings.filter(status__in=[Booking.Status.CONFIRMED, Booking.Status.PENDING_PAYMENT])
    paid = active.aggregate(paid=Sum("amount_paid"), refunded=Sum("amount_refunded"))
    context = {
        "workshop": workshop,
        "form": form,
        "overview_url": overview_url,
        "active_bookings": active.order_by("created_at"),
        "seats": active.aggregate(total=Sum("seats"))["total"] or 0,
        "refund_display": format_money((paid["paid"] or 0) - (paid["refunded"] or 0), workshop.currency),
        "waiting": workshop.waitlist_entries.active().count(),
    }
    status = 400 if form.errors else 200
    return TemplateResponse(request, "coaching/admin/cancel_workshop.html", context, status=status)


@require_POST
def retry_refund_view(request, pk):
    """The Retry button beside a refund not made yet (on the booking's and the workshop's pages)."""
    require_back_office(request.user)
    refund = get_object_or_404(visible_refunds(request.user).select_related("booking"), pk=pk)
    refund = retry_refund(refund=refund, user=request.user)
    amount = format_money(refund.amount, refund.currency)
    if refund.status == Refund.Status.SUCCEEDED:
        messages.success(request, f"Refunded {amount} to {refund.booking.guest_name}.")
    elif refund.status == Refund.Status.FAILED:
        messages.error(request, f"The refund of {amount} failed again: {refund.last_error}")
    else:
        messages.info(request, f"The refund of {amount} to {refund.booking.guest_name} is being sent again.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("coaching_booking_modeladmin_inspect", args=[refund.booking_id])
    return redirect(next_url)
