"""How the guest pages answer: the booking page or one region of it, and refusals.

`render_refusal` is the one place a BookingError becomes a guest-facing response.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coaching.exceptions import BookingError
from coaching.zones import guest_zone_choices

BOOKING_PAGE = "coaching/booking_page.html"
MESSAGE_PAGE = "coaching/booking_error.html"


def base_context(request: HttpRequest) -> dict:
    return {"timezone_form_zone": request.user_timezone.key, "timezone_choices": guest_zone_choices()}


def render_region(
    request: HttpRequest, region: str, context: dict, *, status: int = 200, page: str = BOOKING_PAGE
) -> HttpResponse:
    """The whole page, or only `region` of it (a django-template-partials partial) for HTMX."""
    template = f"{page}#{region}" if request.htmx else page
    return render(request, template, {**base_context(request), **context}, status=status)


def render_refusal(request: HttpRequest, exc: BookingError, *, panel: dict | None = None) -> HttpResponse:
    """A refused request as the guest sees it, with `exc.http_status`.

    With `panel` (a form context), the form is shown again with the message and what was typed;
    otherwise a message page (full) or a message fragment retargeted at the page's alert region.
    """
    if panel is not None:
        region = "panel_body" if request.method == "POST" else "slide_over"
        return render_region(request, region, {**panel, "form_error": exc.message}, status=exc.http_status)
    template = f"{MESSAGE_PAGE}#message" if request.htmx else MESSAGE_PAGE
    response = render(request, template, {"message": exc.message}, status=exc.http_status)
    if request.htmx:
        response["HX-Retarget"] = "#booking-alert"
        response["HX-Reswap"] = "innerHTML"
    return response
