"""The guest booking flow: a coach's month, a day's times, the slot form; workshops and their seats.

Every view answers a full page for a normal request and just the swapped region
(`booking_page.html#<region>`) for an HTMX request, so the whole flow works without JavaScript.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from coaching.exceptions import BookingError
from coaching.links import ics_url
from coaching.schedule import seats_left, validate_slot
from coaching.services import create_booking
from coaching.zones import zone_from_name

from .context import calendar_context, day_context, workshop_panel_context
from .forms import GuestDetailsForm, WorkshopBookingForm
from .parsing import get_coach, get_workshop, iso_z, parse_day, parse_month, parse_start
from .ratelimit import ratelimit
from .responses import render_refusal, render_region

# --- coach (1-on-1) -------------------------------------------------------------------------------


@require_GET
def coach_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        coach = get_coach(slug)
        year, month = parse_month(request.GET.get("month"), zone=request.user_timezone)
    except BookingError as exc:
        return render_refusal(request, exc)
    context = calendar_context(request, coach=coach, year=year, month=month)
    return render_region(request, "calendar", context)


@require_GET
def coach_day(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    try:
        coach = get_coach(slug)
        chosen = parse_day(day)
    except BookingError as exc:
        return render_refusal(request, exc)
    context = calendar_context(request, coach=coach, year=chosen.year, month=chosen.month)
    context.update(day_context(context["schedule"], chosen))
    return render_region(request, "day_slots", context)


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def coach_slot(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        coach = get_coach(slug)
        start_at = parse_start(request.GET.get("start"))
    except BookingError as exc:
        return render_refusal(request, exc)
    zone = request.user_timezone
    local_day = start_at.astimezone(zone).date()
    panel = {
        "coach": coach,
        "slot_start": start_at,
        "slot_end": start_at + timedelta(minutes=coach.session_minutes),
        "form_action": f"{reverse('coaching:coach_slot', args=[coach.slug])}?{urlencode({'start': iso_z(start_at)})}",
        "close_url": reverse("coaching:coach_day", args=[coach.slug, local_day.isoformat()]),
        "price_display": "Free" if coach.is_free else coach.price_display,
        "zone": zone,
    }
    page = {}
    if not request.htmx:
        page = calendar_context(request, coach=coach, year=local_day.year, month=local_day.month)
        page.update(day_context(page["schedule"], local_day))
    if request.method == "GET":
        panel["form"] = GuestDetailsForm()
        try:
            validate_slot(coach=coach, start_at=start_at, now=timezone.now())
        except BookingError as exc:
            return render_refusal(request, exc, panel={**page, **panel, "slot_refused": True})
        return render_region(request, "slide_over", {**page, **panel, "slide_over_open": True})
    form = GuestDetailsForm(request.POST)
    panel["form"] = form
    panel = {**page, **panel, "slide_over_open": True}
    if not form.is_valid():
        return render_region(request, "panel_body" if request.htmx else "slide_over", panel, status=422)
    try:
        result = create_booking(
            guest=form.guest(timezone=zone.key), coach=coach, start_at=start_at, user=request.user, actor="guest"
        )
    except BookingError as exc:
        return render_refusal(request, exc, panel=panel)
    return booking_made(request, result, panel)


# --- workshops ------------------------------------------------------------------------------------


@require_GET
def workshops_calendar(request: HttpRequest) -> HttpResponse:
    year = month = None
    try:
        if request.GET.get("month"):
            year, month = parse_month(request.GET["month"], zone=request.user_timezone)
    except BookingError as exc:
        return render_refusal(request, exc)
    return render_region(request, "calendar", calendar_context(request, coach=None, year=year, month=month))


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def workshop_book(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        workshop = get_workshop(slug)
    except BookingError as exc:
        return render_refusal(request, exc)
    page = {}
    if not request.htmx:
        local_day = workshop.start_at.astimezone(request.user_timezone).date()
        page = calendar_context(request, coach=None, year=local_day.year, month=local_day.month)
    if request.method == "GET":
        panel = {**page, **workshop_panel_context(request, workshop), "slide_over_open": True}
        if panel["refusal"] is not None:
            return render_refusal(request, panel["refusal"], panel={**panel, "slot_refused": True})
        return render_region(request, "slide_over", panel)
    form = WorkshopBookingForm(request.POST, seats_left=seats_left(workshop))
    panel = {**page, **workshop_panel_context(request, workshop, form=form), "slide_over_open": True}
    if not form.is_valid():
        return render_region(request, "panel_body" if request.htmx else "slide_over", panel, status=422)
    try:
        result = create_booking(
            guest=form.guest(timezone=request.user_timezone.key),
            workshop=workshop,
            seats=form.cleaned_data["seats"],
            user=request.user,
            actor="guest",
        )
    except BookingError as exc:
        return render_refusal(request, exc, panel=panel)
    return booking_made(request, result, panel)


# --- after a booking is made -----------------------------------------------------------------------


def booking_made(request: HttpRequest, result, panel: dict) -> HttpResponse:
    """Paid: off to checkout (HX-Redirect for HTMX, 303 otherwise). Free: the confirmation."""
    if result.checkout_url:
        if request.htmx:
            return HttpResponseClientRedirect(result.checkout_url)
        return HttpResponseRedirect(result.checkout_url, status=303)
    booking = result.booking
    context = {
        **panel,
        "booking": booking,
        "guest_zone": zone_from_name(booking.guest_timezone) or request.user_timezone,
        "host_zone": booking.host.zone,
        "ics_url": ics_url(booking),
    }
    return render_region(request, "panel_body" if request.htmx else "slide_over", context)
