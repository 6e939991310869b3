"""Template helpers for showing times: every time a guest sees carries its zone."""

import zoneinfo
from datetime import date, datetime, time

from django import template
from django.utils import dateformat
from django.utils.html import format_html

from coaching import zones
from coaching.zones import offset_label, zone_city

register = template.Library()


@register.filter
def meeting_place(booking):
    """Where a booking happens (coaching/places.py), or None."""
    from coaching.places import meeting_place as place_of

    return place_of(booking) if booking else None


@register.filter
def answer_text(answer):
    """One stored intake answer as text (coaching/intake.py)."""
    from coaching.intake import answer_text as text_of

    return text_of(answer)


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
    """'New York, GMT−5' for an aware datetime: the place a guest recognises and its offset then."""
    if moment is None or moment.tzinfo is None:
        return ""
    zone = getattr(moment.tzinfo, "key", None) or "UTC"
    city, offset = zone_city(zone), offset_label(moment.utcoffset())
    if city == "UTC":
        return "UTC" if offset == "GMT" else offset
    return f"{city}, {offset}"


@register.filter
def zone_title(zone, at=None):
    """'New York (GMT−5)': a zone (ZoneInfo or IANA name) as a heading names it, with its offset at
    `at` (a date: its noon; a datetime; default now)."""
    if not zone:
        return ""
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    if isinstance(at, date) and not isinstance(at, datetime):
        at = datetime.combine(at, time(12), tzinfo=zone)
    return zones.zone_title(zone, at)


@register.filter
def same_zone(zone, other):
    """Whether two zones (ZoneInfo or IANA names) are the same zone."""

    def key(value):
        return getattr(value, "key", value) or ""

    return bool(zone) and key(zone) == key(other)


@register.filter
def iso_utc(moment):
    """The UTC instant as the slot URL carries it: 2026-12-03T09:00:00Z."""
    return moment.astimezone(zoneinfo.ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


@register.simple_tag(takes_context=True)
def clock(context, moment, zone=None):
    """A time of day as this guest reads clocks: '21:00', or '9:00 PM' where the browser (or its
    language) uses a 12-hour clock (request.hour_cycle, coaching/web/zone.py). In `zone` if given,
    else in the datetime's own zone (pass it through `in_zone` first)."""
    if moment is None:
        return ""
    if zone:
        moment = moment.astimezone(zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone)
    twelve_hour = getattr(context.get("request"), "hour_cycle", "h23") == "h12"
    return dateformat.format(moment, "g:i A" if twelve_hour else "H:i")


@register.simple_tag(takes_context=True)
def when(context, start, end=None, zone=None, date_format="", machine=False):
    """One time in one zone, saying which: 'Monday 7 January 2030, 09:00–10:00 (London, GMT)'
    (components/when.html documents the arguments). Built here rather than in the template, whose
    every line break would land inside the sentence."""
    local_start = in_zone(start, zone)
    text = f"{dateformat.format(local_start, date_format or 'l j F Y')}, {clock(context, local_start)}"
    if end:
        text += f"–{clock(context, in_zone(end, zone))}"
    if machine:
        return format_html('<time datetime="{}">{}</time> ({})', iso_utc(start), text, zone_label(local_start))
    return format_html("{} ({})", text, zone_label(local_start))


@register.filter
def lead_for(lead, message):
    """The bold lead of an alert ("Sorry:"), unless the message already says it ("Sorry — …")."""
    word = (lead or "").rstrip(":").strip()
    return "" if word and str(message).startswith(word) else lead
