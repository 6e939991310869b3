"""The guest booking flow: a coach's month, a day's times, the slot form; workshops and their seats.

Every view answers a full page for a normal request and just the swapped region
(`booking_page.html#<region>`) for an HTMX request, so the whole flow works without JavaScript.
`?cal=` names which calendar of the page asked (coaching/web/context.py).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from coaching.exceptions import BookingError
from coaching.schedule import seats_left
from coaching.services import create_booking
from coaching.services.packages import tender_for_code

from .context import (
    CalendarLinks,
    CalendarState,
    calendar_context,
    choose_session_type,
    confirmation_context,
    guest_form,
    read_state,
    requested_instance,
    slot_panel_context,
    workshop_panel_context,
)
from .forms import SessionBookingForm, WorkshopBookingForm
from .parsing import get_coach, get_workshop, parse_day, parse_start
from .ratelimit import ratelimit
from .responses import announce_times_changed, render_refusal, render_region

# --- coach (1-on-1) -------------------------------------------------------------------------------


@require_GET
def coach_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    """The month grid. `?refresh=1` (a calendar redrawing itself: another zone, a booking made)
    brings the chosen day's times and the zone line along, out of band."""
    instance = requested_instance(request.GET)
    try:
        coach = get_coach(slug)
        state = read_state(request, instance, strict=True)
        context = calendar_context(request, coach=coach, state=state, instance=instance, strict=True)
    except BookingError as exc:
        return render_refusal(request, exc)
    context["refresh"] = request.GET.get("refresh") == "1"
    return render_region(request, "calendar", context)


@require_GET
def coach_day(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    instance = requested_instance(request.GET)
    try:
        coach = get_coach(slug)
        chosen = parse_day(day)
        state = CalendarState(day=chosen, session_type=request.GET.get("type", "")[:120])
        context = calendar_context(request, coach=coach, state=state, instance=instance, strict=True)
    except BookingError as exc:
        return render_refusal(request, exc)
    return render_region(request, "day_slots", context)


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def coach_slot(request: HttpRequest, slug: str) -> HttpResponse:
    instance = requested_instance(request.GET)
    try:
        coach = get_coach(slug)
        start_at = parse_start(request.GET.get("start"))
        # The session type rides in the URL (`?type=`); one the coach does not offer is refused.
        type_choice = choose_session_type(coach, request.GET.get("type", "")[:120], strict=True)
    except BookingError as exc:
        return render_refusal(request, exc)
    session_type = type_choice.chosen
    links = CalendarLinks(request, coach=coach, instance=instance, session_type=type_choice.url_slug)
    page = {}
    if not request.htmx:  # the calendar drawn around the panel, on the time's own day
        state = CalendarState(start=start_at, session_type=session_type.slug if session_type else "")
        page = calendar_context(request, coach=coach, state=state, instance=instance, open_panel=False)
    if request.method == "GET":
        panel = {
            **page,
            **slot_panel_context(
                request, coach=coach, start_at=start_at, links=links, validate=True, session_type=session_type
            ),
        }
        if panel.get("refusal") is not None:
            return render_refusal(request, panel["refusal"], panel=panel)
        return render_region(request, "slide_over", panel)
    form = guest_form(SessionBookingForm, instance=instance, data=request.POST, session_type=session_type)
    panel = {
        **page,
        **slot_panel_context(
            request, coach=coach, start_at=start_at, links=links, form=form, session_type=session_type
        ),
    }
    if not form.is_valid():
        return render_region(request, "panel_body" if request.htmx else "slide_over", panel, status=422)
    try:
        result = create_booking(
            guest=form.guest(timezone=panel["zone"].key),
            coach=coach,
            session_type=session_type,
            answers=form.answers(),
            start_at=start_at,
            user=request.user,
            actor="guest",
            tender=tender_for_code(form.cleaned_data["code"], user=request.user),
        )
    except BookingError as exc:
        return render_refusal(request, exc, panel=panel)
    return booking_made(request, result, panel)


# --- workshops ------------------------------------------------------------------------------------


@require_GET
def workshops_calendar(request: HttpRequest) -> HttpResponse:
    instance = requested_instance(request.GET)
    try:
        state = read_state(request, instance, strict=True)
    except BookingError as exc:
        return render_refusal(request, exc)
    context = calendar_context(request, coach=None, state=state, instance=instance)
    context["refresh"] = request.GET.get("refresh") == "1"
    return render_region(request, "calendar", context)


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def workshop_book(request: HttpRequest, slug: str) -> HttpResponse:
    instance = requested_instance(request.GET)
    try:
        workshop = get_workshop(slug)
    except BookingError as exc:
        return render_refusal(request, exc)
    links = CalendarLinks(request, coach=None, instance=instance)
    page = {}
    if not request.htmx:  # the all-workshops calendar around the panel, on the workshop's month
        local = workshop.start_at.astimezone(request.user_timezone)
        state = CalendarState(month=(local.year, local.month))
        page = calendar_context(request, coach=None, state=state, instance=instance, open_panel=False)
    if request.method == "GET":
        panel = {**page, **workshop_panel_context(request, workshop, links=links), "slide_over_open": True}
        if panel["refusal"] is not None:
            return render_refusal(request, panel["refusal"], panel={**panel, "slot_refused": True})
        return render_region(request, "slide_over", panel)
    form = guest_form(WorkshopBookingForm, instance=instance, data=request.POST, seats_left=seats_left(workshop))
    panel = {**page, **workshop_panel_context(request, workshop, form=form, links=links), "slide_over_open": True}
    if not form.is_valid():
        return render_region(request, "panel_body" if request.htmx else "slide_over", panel, status=422)
    try:
        result = create_booking(
            guest=form.guest(timezone=request.user_timezone.key),
            workshop=workshop,
            seats=form.cleaned_data["seats"],
            user=request.user,
            actor="guest",
            tender=tender_for_code(form.cleaned_data["code"], user=request.user),
        )
    except BookingError as exc:
        return render_refusal(request, exc, panel=panel)
    return booking_made(request, result, panel)


# --- after a booking is made -----------------------------------------------------------------------


def booking_made(request: HttpRequest, result, panel: dict) -> HttpResponse:
    """Paid: off to checkout (HX-Redirect for HTMX, 303 otherwise). Free: the confirmation, and the
    page's calendars redraw their times so the time just taken disappears."""
    if result.checkout_url:
        if request.htmx:
            return HttpResponseClientRedirect(result.checkout_url)
        return HttpResponseRedirect(result.checkout_url, status=303)
    context = {**panel, **confirmation_context(request, result.booking)}
    response = render_region(request, "panel_body" if request.htmx else "slide_over", context)
    return announce_times_changed(response) if request.htmx else response
