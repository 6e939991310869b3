"""Files a guest downloads: the booking's calendar file (.ics)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from coaching.exceptions import NotBookable
from coaching.invites import build_ics
from coaching.links import read_ics_token
from coaching.models import Booking

from .responses import render_refusal


@require_GET
def booking_ics(request: HttpRequest, reference: str) -> HttpResponse:
    """The guest's calendar file, as the booking is now: its current time and SEQUENCE, and a
    METHOD:CANCEL once it is cancelled (or its hold lapsed), so a calendar that imports it again
    removes the event instead of keeping a stale one. The signed token stops anyone fetching
    another guest's file by guessing."""
    booking = None
    if read_ics_token(request.GET.get("t", "")) == reference:
        booking = Booking.objects.select_related("coach", "workshop__host").filter(reference=reference).first()
    if booking is None:
        return render_refusal(request, NotBookable("This calendar link is not valid."))
    method = "REQUEST" if booking.is_active else "CANCEL"
    response = HttpResponse(
        build_ics(booking, method=method), content_type=f"text/calendar; charset=utf-8; method={method}"
    )
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.reference}.ics"'
    return response
