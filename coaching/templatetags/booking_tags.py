"""Template helpers for showing times: every time a guest sees carries its zone."""

import zoneinfo
from datetime import datetime

from django import template

register = template.Library()


class ZonedDatetime(datetime):
    """A datetime that Django's `date`/`time` filters show in its own zone.

    Without this they convert every aware datetime to the active zone (the guest's), so a time
    meant for the coach's zone would be printed in the guest's zone under the coach's label.
    """

    convert_to_local_time = False


@register.filter
def in_zone(moment, zone):
    """The aware datetime `moment` converted to `zone` (a ZoneInfo or an IANA name)."""
    if moment is None or not zone:
        return moment
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    local = moment.astimezone(zone)
    return ZonedDatetime(
        local.year,
        local.month,
        local.day,
        local.hour,
        local.minute,
        local.second,
        local.microsecond,
        tzinfo=local.tzinfo,
        fold=local.fold,
    )


@register.filter
def zone_label(moment):
    """'Europe/London, GMT' for an aware datetime: the IANA name a guest recognises, plus the abbreviation."""
    if moment is None or moment.tzinfo is None:
        return ""
    name = getattr(moment.tzinfo, "key", None) or str(moment.tzinfo)
    abbreviation = moment.tzname() or ""
    if abbreviation and abbreviation != name and not abbreviation.startswith(("+", "-")):
        return f"{name}, {abbreviation}"
    return f"{name}, UTC{moment.strftime('%z')[:3]}:{moment.strftime('%z')[3:]}" if name != "UTC" else "UTC"


@register.filter
def iso_utc(moment):
    """The UTC instant as the slot URL carries it: 2026-12-03T09:00:00Z."""
    return moment.astimezone(zoneinfo.ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


@register.simple_tag
def timezone_choices():
    """IANA zones a guest may pick, A–Z."""
    from coaching.zones import guest_zone_choices

    return guest_zone_choices()
