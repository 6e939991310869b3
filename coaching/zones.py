"""Time-zone names: which are real, which a guest may pick, and turning hostile input into a zone.

Wall-clock arithmetic in a zone lives in `coaching.wallclock`; this module only deals with names.
"""

import functools
import zoneinfo

from django.core.exceptions import ValidationError


@functools.cache
def known_timezones() -> frozenset[str]:
    # Reading the zone database walks the filesystem (~30 ms): once per process is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in known_timezones():
        raise ValidationError(f"“{value}” is not a time zone name (use an IANA name such as Europe/London).")


def zone_from_name(name: str | None) -> zoneinfo.ZoneInfo | None:
    """A ZoneInfo for a valid IANA name, else None. Never raises on hostile input."""
    if not name or len(name) > 64 or name not in known_timezones():
        return None
    return zoneinfo.ZoneInfo(name)


@functools.cache
def guest_zone_choices() -> list[str]:
    """IANA zones a guest may pick, A–Z: the Region/City names, without legacy aliases."""
    return sorted(
        name
        for name in known_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    ) + ["UTC"]
