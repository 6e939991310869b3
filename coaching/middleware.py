import zoneinfo

from django.utils import timezone

from coaching.models import known_timezones

TIMEZONE_COOKIE = "USER_TIMEZONE"


def zone_from_name(name: str | None) -> zoneinfo.ZoneInfo | None:
    """A ZoneInfo for a valid IANA name, else None. Never raises on hostile input."""
    if not name or len(name) > 64 or name not in known_timezones():
        return None
    return zoneinfo.ZoneInfo(name)


class UserTimezoneMiddleware:
    """Activates the guest's zone from the USER_TIMEZONE cookie (set by one line of JS).

    An unknown or malformed value falls back to the site's TIME_ZONE, never an error.
    `request.user_timezone` always holds a valid ZoneInfo.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from_name(request.COOKIES.get(TIMEZONE_COOKIE))
        if zone is None:
            zone = zoneinfo.ZoneInfo(timezone.get_default_timezone_name())
            request.user_timezone_from_cookie = False
        else:
            request.user_timezone_from_cookie = True
        request.user_timezone = zone
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
