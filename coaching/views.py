"""Guest-facing booking views: parse the request, ask the brain, render.

Every view answers a full page for a normal request and just the swapped region
(`booking_page.html#<region>`) for an HTMX request, so the whole flow works without JavaScript.
Errors a guest can cause become a 4xx with a readable message, in one place: `render_refusal`.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from coaching.exceptions import BookingError, InvalidDetails, NotBookable, SlotInPast, WorkshopFull
from coaching.forms import GuestDetailsForm, TimezoneForm, WorkshopBookingForm
from coaching.middleware import TIMEZONE_COOKIE, zone_from_name
from coaching.models import Booking, Coach, Workshop
from coaching.ratelimit import ratelimit
from coaching.schedule import MonthSchedule, get_month_schedule, get_workshops_month, seats_left
from coaching.services import create_booking, validate_slot

PAGE = "coaching/booking_page.html"
TIMEZONE_CHOSEN_COOKIE = "USER_TIMEZONE_CHOSEN"
ICS_SALT = "coaching.booking-ics.v1"
COOKIE_MAX_AGE = 365 * 24 * 3600


# --- parsing the guest's input --------------------------------------------------------------------


def parse_month(value: str | None, *, zone: zoneinfo.ZoneInfo) -> tuple[int, int]:
    """`YYYY-MM` → (year, month); missing means the viewer's current month. Raises InvalidDetails."""
    if not value:
        today = timezone.now().astimezone(zone).date()
        return today.year, today.month
    try:
        year_text, month_text = value.split("-")
        year, month = int(year_text), int(month_text)
        if len(year_text) != 4 or not 1 <= month <= 12 or not _year_in_range(year):
            raise ValueError(value)
        date(year, month, 1)
    except ValueError as exc:
        raise InvalidDetails("That month is not valid. Use the calendar's previous and next buttons.") from exc
    return year, month


def _year_in_range(year: int) -> bool:
    # Calendars are for booking: a few years either side of today, never the edges of datetime's range.
    this_year = timezone.now().year
    return this_year - 2 <= year <= this_year + 5


def parse_day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
        if not _year_in_range(day.year):
            raise ValueError(value)
    except ValueError as exc:
        raise InvalidDetails("That date is not valid. Please pick a day from the calendar.") from exc
    return day


def parse_start(value: str | None) -> datetime:
    """An ISO-8601 instant with an offset (`Z` or `+00:00`), returned in UTC. Raises InvalidDetails."""
    # A raw '+' in a query string arrives as a space.
    text = (value or "").strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None or not _year_in_range(moment.year):
            raise ValueError(text)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidDetails("That time is not valid. Please pick one of the times shown.") from exc


def get_coach(slug: str) -> Coach:
    coach = Coach.objects.select_related("photo").filter(slug=slug).first()
    if coach is None:
        raise NotBookable("We could not find that coach. Please choose one from our coaches page.")
    return coach


def get_workshop(slug: str) -> Workshop:
    workshop = Workshop.objects.published().select_related("host").filter(slug=slug).first()
    if workshop is None:
        raise NotBookable("We could not find that workshop. Please choose one from the workshop calendar.")
    return workshop


# --- context shared with the Wagtail pages ---------------------------------------------------------


def month_param(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def calendar_context(request: HttpRequest, *, coach: Coach | None, year: int | None = None, month: int | None = None):
    """What the calendar region needs: the month schedule in the viewer's zone and its nav links.

    `coach=None` means the all-workshops calendar. Used by the booking views, CoachPage and
    BookingCalendarBlock alike, so every calendar on the site is the same HTML.
    """
    zone = getattr(request, "user_timezone", None) or zoneinfo.ZoneInfo(timezone.get_default_timezone_name())
    today = timezone.now().astimezone(zone).date()
    if year is None or month is None:
        year, month = default_month(coach=coach, zone=zone, today=today)
    if coach is not None:
        schedule = get_month_schedule(coach=coach, year=year, month=month, tz=zone)
        base_url = reverse("coaching:coach_calendar", args=[coach.slug])
    else:
        schedule = get_workshops_month(year=year, month=month, tz=zone)
        base_url = reverse("coaching:workshops_calendar")
    prev_year, prev_month = schedule.prev_month
    next_year, next_month = schedule.next_month
    can_go_back = (prev_year, prev_month) >= (today.year, today.month)
    return {
        "coach": coach,
        "schedule": schedule,
        "zone": zone,
        "zone_name": zone.key,
        "today": today,
        "prev_url": f"{base_url}?{urlencode({'month': month_param(prev_year, prev_month)})}" if can_go_back else "",
        "next_url": f"{base_url}?{urlencode({'month': month_param(next_year, next_month)})}",
        "month_start": date(year, month, 1),
        "workshop_offers": [offer for day in schedule.days for offer in day.workshops],
    }


def default_month(*, coach: Coach | None, zone: zoneinfo.ZoneInfo, today: date) -> tuple[int, int]:
    """This month, except that the workshops calendar opens on the next workshop's month (an empty
    first page would look like there is nothing to book)."""
    if coach is None:
        next_start = (
            Workshop.objects.published()
            .filter(start_at__gt=timezone.now())
            .order_by("start_at")
            .values_list("start_at", flat=True)
            .first()
        )
        if next_start is not None:
            local = next_start.astimezone(zone)
            return local.year, local.month
    return today.year, today.month


def day_context(schedule: MonthSchedule, day: date) -> dict:
    return {"selected_day": schedule.day(day), "selected_date": day}


def base_context(request: HttpRequest) -> dict:
    return {"timezone_form_zone": request.user_timezone.key, "timezone_choices": timezone_choices()}


_TIMEZONE_CHOICES: list[str] | None = None


def timezone_choices() -> list[str]:
    global _TIMEZONE_CHOICES
    if _TIMEZONE_CHOICES is None:
        _TIMEZONE_CHOICES = sorted(
            name
            for name in zoneinfo.available_timezones()
            if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
        ) + ["UTC"]
    return _TIMEZONE_CHOICES


def render_region(request: HttpRequest, region: str, context: dict, *, status: int = 200) -> HttpResponse:
    """The whole booking page, or only `region` of it for HTMX."""
    template = f"{PAGE}#{region}" if request.htmx else PAGE
    context = {**base_context(request), **context}
    return render(request, template, context, status=status)


def refusal_status(exc: BookingError) -> int:
    # Refusals are the guest's business, not a server fault: always a 4xx, even for "payment not
    # available" or "busy" (5xx in the exception), so monitoring never pages on a business rule and
    # the message still reaches the form.
    return exc.status_code if 400 <= exc.status_code < 500 else 409


def render_refusal(request: HttpRequest, exc: BookingError, *, panel: dict | None = None) -> HttpResponse:
    """The one place a BookingError becomes a response.

    With `panel` (a form context), the form is shown again with the message and what was typed;
    otherwise a message page (full) or a message fragment retargeted at the page's alert region.
    """
    status = refusal_status(exc)
    if panel is not None:
        region = "panel_body" if request.method == "POST" else "slide_over"
        return render_region(request, region, {**panel, "form_error": exc.message}, status=status)
    response = render(
        request,
        "coaching/booking_error.html#message" if request.htmx else "coaching/booking_error.html",
        {"message": exc.message},
        status=status,
    )
    if request.htmx:
        response["HX-Retarget"] = "#booking-alert"
        response["HX-Reswap"] = "innerHTML"
    return response


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
        "slot_end": start_at + coach_session_length(coach),
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


def coach_session_length(coach: Coach) -> timedelta:
    return timedelta(minutes=coach.session_minutes)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def workshop_panel_context(request: HttpRequest, workshop: Workshop, *, form=None) -> dict:
    left = seats_left(workshop)
    return {
        "workshop": workshop,
        "seats_left": left,
        "slot_start": workshop.start_at,
        "slot_end": workshop.end_at,
        "form": form or WorkshopBookingForm(seats_left=left),
        "form_action": reverse("coaching:workshop_book", args=[workshop.slug]),
        "close_url": f"{reverse('coaching:workshops_calendar')}?"
        + urlencode({"month": workshop.start_at.astimezone(request.user_timezone).strftime("%Y-%m")}),
        "price_display": "Free" if workshop.is_free else f"{workshop.price_display} per seat",
        "zone": request.user_timezone,
    }


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
        if panel["seats_left"] <= 0 or workshop.start_at <= timezone.now():
            exc = (
                WorkshopFull()
                if workshop.start_at > timezone.now()
                else SlotInPast("This workshop has already started.")
            )
            return render_refusal(request, exc, panel={**panel, "slot_refused": True})
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


def make_ics_token(booking: Booking) -> str:
    return signing.dumps(booking.reference, salt=ICS_SALT, compress=False)


def ics_url(booking: Booking) -> str:
    return f"{reverse('coaching:booking_ics', args=[booking.reference])}?{urlencode({'t': make_ics_token(booking)})}"


@require_GET
def booking_ics(request: HttpRequest, reference: str) -> HttpResponse:
    """The guest's calendar file. The signed token stops anyone fetching another guest's by guessing."""
    try:
        signed_reference = signing.loads(request.GET.get("t", ""), salt=ICS_SALT)
    except signing.BadSignature:
        signed_reference = None
    booking = None
    if signed_reference == reference:
        booking = Booking.objects.select_related("coach", "workshop__host").filter(reference=reference).first()
    if booking is None:
        return render_refusal(request, NotBookable("This calendar link is not valid."))
    from coaching.utils import build_ics

    response = HttpResponse(build_ics(booking, method="REQUEST"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.reference}.ics"'
    return response


# --- time zone picker -----------------------------------------------------------------------------


@require_POST
def set_timezone(request: HttpRequest) -> HttpResponse:
    """Remember the guest's chosen zone; an unknown zone falls back to the site's zone."""
    form = TimezoneForm(request.POST)
    zone_name = form.cleaned_data["timezone"] if form.is_valid() else timezone.get_default_timezone_name()
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url, status=303)
    response.set_cookie(TIMEZONE_COOKIE, zone_name, max_age=COOKIE_MAX_AGE, samesite="Lax")
    response.set_cookie(TIMEZONE_CHOSEN_COOKIE, "1", max_age=COOKIE_MAX_AGE, samesite="Lax")
    return response
