"""The owner and recurring sessions: cancel what is left of a guest's series in one step."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from coaching.exceptions import BookingError
from coaching.services.recurring import cancel_remaining, remaining_occurrences
from coaching.vocabulary import Actor

from .forms import CancelBookingForm
from .permissions import require_back_office, visible_bookings


def cancel_series_view(request, pk):
    """Cancel every session still to come of the series booking `pk` belongs to, as the owner, with
    the refund chosen (the policy, full or none), applied to each session on its own."""
    require_back_office(request.user)
    booking = get_object_or_404(visible_bookings(request.user).select_related("coach", "series__coach"), pk=pk)
    if booking.series_id is None:
        raise Http404("This booking is not part of a series.")
    series = booking.series
    inspect_url = reverse("coaching_booking_modeladmin_inspect", args=[booking.pk])
    form = CancelBookingForm(request.POST or None)
    context = {
        "booking": booking,
        "series": series,
        "remaining": list(remaining_occurrences(series, now=timezone.now())),
        "form": form,
        "inspect_url": inspect_url,
    }
    if request.method == "POST" and form.is_valid():
        try:
            outcome = cancel_remaining(
                series=series,
                actor=Actor.OWNER,
                user=request.user,
                refund=form.refund_argument(),
                reason=form.cleaned_data["reason"],
            )
        except BookingError as error:
            messages.error(request, error.message)
            return TemplateResponse(request, "coaching/admin/cancel_series.html", context, status=error.http_status)
        cancelled = len(outcome.cancelled)
        messages.success(
            request, f"{cancelled} session{'s' if cancelled != 1 else ''} of series {series.reference} cancelled."
        )
        return redirect(inspect_url)
    return TemplateResponse(request, "coaching/admin/cancel_series.html", context)
