"""The guest's time zone: read from a cookie on every request, changed with the zone picker.

`static/js/site.js` sets the USER_TIMEZONE cookie from the browser; the picker sets it too, plus a
USER_TIMEZONE_CHOSEN marker so the script stops overriding the guest's own choice. An unknown or
malformed value falls back to the site's TIME_ZONE, never an error.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from coaching.zones import zone_from_name

TIMEZONE_COOKIE = "USER_TIMEZONE"
TIMEZONE_CHOSEN_COOKIE = "USER_TIMEZONE_CHOSEN"
COOKIE_MAX_AGE = 365 * 24 * 3600


class UserTimezoneMiddleware:
    """Activates the guest's zone; `request.user_timezone` always holds a valid ZoneInfo."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from_name(request.COOKIES.get(TIMEZONE_COOKIE))
        request.user_timezone_from_cookie = zone is not None
        if zone is None:
            zone = zoneinfo.ZoneInfo(timezone.get_default_timezone_name())
        request.user_timezone = zone
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class TimezoneForm(forms.Form):
    timezone = forms.CharField(max_length=64)
    next = forms.CharField(required=False, max_length=2000)

    def clean_timezone(self):
        value = self.cleaned_data["timezone"]
        if zone_from_name(value) is None:
            raise forms.ValidationError("Unknown time zone.")
        return value


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
