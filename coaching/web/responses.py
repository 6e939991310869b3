"""How the guest pages answer: the booking page or one region of it, and refusals.

`render_refusal` is the one place a BookingError becomes a guest-facing response.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coaching.exceptions import (
    BeyondHorizon,
    BookingError,
    InsideMinimumNotice,
    NotEnoughSeats,
    OutsideAvailability,
    SlotInPast,
    SlotUnavailable,
    WorkshopFull,
)

from .context import id_prefix, requested_instance

BOOKING_PAGE = "coaching/booking_page.html"
MESSAGE_PAGE = "coaching/booking_error.html"
# The event every calendar on the page listens for to redraw its times (`hx-trigger="times-changed
# from:body"`): sent after a booking, and with a refusal that shows the page's times were stale.
TIMES_CHANGED = "times-changed"
STALE_OFFER = (SlotUnavailable, OutsideAvailability, SlotInPast, InsideMinimumNotice, BeyondHorizon, WorkshopFull)


def render_region(
    request: HttpRequest, region: str, context: dict, *, status: int = 200, page: str = BOOKING_PAGE
) -> HttpResponse:
    """The whole page, or only `region` of it (a django-template-partials partial) for HTMX."""
    template = f"{page}#{region}" if request.htmx else page
    return render(request, template, context, status=status)


def announce_times_changed(response: HttpResponse) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({TIMES_CHANGED: True})
    return response


def render_refusal(request: HttpRequest, exc: BookingError, *, panel: dict | None = None) -> HttpResponse:
    """A refused request as the guest sees it, with `exc.http_status`.

    With `panel` (a form context), the form is shown again with the message and what was typed;
    otherwise a message page (full) or a message fragment retargeted at the calendar's alert
    region. When the refusal means the times on the page were out of date (just taken, sold out,
    no longer offered), the calendars are told to redraw them.
    """
    if panel is not None:
        region = "panel_body" if request.method == "POST" else "slide_over"
        response = render_region(request, region, {**panel, "form_error": exc.message}, status=exc.http_status)
    else:
        template = f"{MESSAGE_PAGE}#message" if request.htmx else MESSAGE_PAGE
        response = render(request, template, {"message": exc.message}, status=exc.http_status)
        if request.htmx:
            response["HX-Retarget"] = f"#{id_prefix(requested_instance(request.GET))}booking-alert"
            response["HX-Reswap"] = "innerHTML"
    if request.htmx and isinstance(exc, (*STALE_OFFER, NotEnoughSeats)):
        announce_times_changed(response)
    return response
