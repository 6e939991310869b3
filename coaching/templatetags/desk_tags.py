"""Template filters of the back office: money as people read it, and instants in a coach's zone.

The admin never shows minor units or a bare UTC time: `{{ booking.amount_paid|money:booking.currency }}`
reads "£30.00", `{{ booking.start_at|coach_time:booking }}` "Mon 07 Jan 2030, 09:00 GMT (Europe/London)".
"""

from django import template

from coaching.money import format_money
from coaching.wallclock import format_in_zone, format_span_in_zone

register = template.Library()


@register.filter
def money(amount_minor, currency):
    """'£30.00', '¥5,000'; nothing at all is '—' (not 'Free': an amount refunded can be none)."""
    if not amount_minor:
        return "—"
    return format_money(int(amount_minor), currency)


@register.filter
def coach_time(moment, booking):
    """An instant in the zone of the coach whose time `booking` takes, with the zone named."""
    if moment is None:
        return "—"
    return format_in_zone(moment, booking.host.zone)


@register.filter
def coach_span(booking, zone=None):
    """The booking's start and end in its coach's zone (or `zone`), e.g. 'Mon 07 Jan 2030, 09:00–10:00 GMT'."""
    return format_span_in_zone(booking.start_at, booking.end_at, zone or booking.host.zone)
