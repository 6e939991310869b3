"""The guest's time zone and clock: read on every request, changed with the zone picker.

Where the zone comes from, first match wins:
1. the zone the guest picked in the "Your time zone" picker (USER_TIMEZONE plus the
   USER_TIMEZONE_CHOSEN marker);
2. the browser's own zone, which `static/js/site.js` sends with every HTMX request
   (`X-Timezone`) — so the very first calendar request of a visit is drawn in the right zone
   even before any cookie exists;
3. the USER_TIMEZONE cookie site.js writes from the browser's zone;
4. the site's TIME_ZONE. An unknown or malformed value is skipped, never an error.

The 12- or 24-hour clock follows the browser too (`X-Hour-Cycle` / USER_HOUR_CYCLE, from
`Intl.DateTimeFormat().resolvedOptions().hourCycle`), and before site.js has said anything, the
first language of `Accept-Language`.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from coaching.zones import resolve_zone, zone_from_name, zone_groups

from .context import id_prefix, requested_instance

TIMEZONE_COOKIE = "USER_TIMEZONE"
TIMEZONE_CHOSEN_COOKIE = "USER_TIMEZONE_CHOSEN"
HOUR_CYCLE_COOKIE = "USER_HOUR_CYCLE"
COOKIE_MAX_AGE = 365 * 24 * 3600
HOUR_CYCLES = ("h12", "h23")
# Where people read "9:00 PM" rather than "21:00" (CLDR's preferred hour format), for a browser
# that has not told us its own clock yet. A bare "en" is read as American English, as browsers do.
TWELVE_HOUR_REGIONS = {"US", "CA", "AU", "NZ", "IN", "PH", "PK", "BD", "EG", "SA", "MY", "CO", "MX"}
TWELVE_HOUR_LANGUAGES = {"hi", "bn", "ur", "ar"}


def hour_cycle_from_language(accept_language: str) -> str:
    """'h12' or 'h23' for the first language in an Accept-Language header."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().replace("_", "-")
    parts = first.split("-")
    language = parts[0].lower()
    region = parts[-1].upper() if len(parts) > 1 else ""
    if language == "en" and not region:
        return "h12"
    return "h12" if region in TWELVE_HOUR_REGIONS or language in TWELVE_HOUR_LANGUAGES else "h23"


def guest_hour_cycle(request: HttpRequest) -> str:
    for value in (request.headers.get("X-Hour-Cycle"), request.COOKIES.get(HOUR_CYCLE_COOKIE)):
        if value in HOUR_CYCLES:
            return value
    return hour_cycle_from_language(request.headers.get("Accept-Language", ""))


class UserTimezoneMiddleware:
    """Activates the guest's zone; `request.user_timezone` always holds a valid ZoneInfo and
    `request.hour_cycle` is 'h12' or 'h23'."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookie_zone = zone_from_name(request.COOKIES.get(TIMEZONE_COOKIE))
        chosen = cookie_zone is not None and request.COOKIES.get(TIMEZONE_CHOSEN_COOKIE) == "1"
        browser_zone = zone_from_name(request.headers.get("X-Timezone"))
        zone = cookie_zone if chosen else (browser_zone or cookie_zone)
        request.user_timezone_from_cookie = cookie_zone is not None
        request.user_timezone_chosen = chosen
        if zone is None:
            zone = zoneinfo.ZoneInfo(timezone.get_default_timezone_name())
        request.user_timezone = zone
        request.hour_cycle = guest_hour_cycle(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class TimezoneForm(forms.Form):
    timezone = forms.CharField(max_length=100)
    next = forms.CharField(required=False, max_length=2000)

    def clean_timezone(self):
        zone = resolve_zone(self.cleaned_data["timezone"])
        if zone is None:
            raise forms.ValidationError("We don't know that time zone. Type a city and pick one from the list.")
        return zone.key


def local_path(request: HttpRequest, url: str, *, under: str = "/") -> str | None:
    if url.startswith(under) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


@require_POST
def set_timezone(request: HttpRequest) -> HttpResponse:
    """Remember the guest's chosen zone and show the calendar again in it.

    Without JavaScript: back to `next` (the page, with its month and day). With HTMX: to `region`,
    the calendar's own refresh URL (its grid, chosen day and zone line), so the calendar is redrawn
    in place and the picker, with the guest's focus in it, stays where it is. A zone the picker
    cannot resolve is a 422 with the reason, and changes nothing.
    """
    form = TimezoneForm(request.POST)
    if not form.is_valid():
        message = form.errors["timezone"][0] if "timezone" in form.errors else "Please try again."
        if request.htmx:
            response = HttpResponse(message, status=422, content_type="text/plain; charset=utf-8")
            response["HX-Retarget"] = f"#{id_prefix(requested_instance(request.POST))}zone-error"
            response["HX-Reswap"] = "innerHTML"
            return response
        return render(request, "coaching/booking_error.html", {"message": message}, status=422)
    zone_name = form.cleaned_data["timezone"]
    region = local_path(request, request.POST.get("region", ""), under="/book/") if request.htmx else None
    next_url = region or local_path(request, request.POST.get("next", "")) or "/"
    response = HttpResponseRedirect(next_url, status=303)
    response.set_cookie(TIMEZONE_COOKIE, zone_name, max_age=COOKIE_MAX_AGE, samesite="Lax")
    response.set_cookie(TIMEZONE_CHOSEN_COOKIE, "1", max_age=COOKIE_MAX_AGE, samesite="Lax")
    return response


@require_GET
@cache_control(max_age=3600)
def timezone_options(request: HttpRequest) -> HttpResponse:
    """The picker's suggestions (a <datalist>), fetched when the guest first focuses the picker, so
    the ~420 zones are not in every page's HTML. Grouped by region, each with its offset now."""
    return render(request, "coaching/partials/timezone_options.html", {"zone_groups": zone_groups()})
