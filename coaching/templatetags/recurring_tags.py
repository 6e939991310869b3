"""Where a guest can book a time as recurring sessions (the link under a slot's booking form)."""

from datetime import UTC

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from coaching.schedule.recurrence import recurrence_offer

register = template.Library()


@register.simple_tag
def series_offer(coach, start_at, session_type=None) -> dict | None:
    """{"url", "label"} of the series page for this time when the coach's sessions (of this
    session type) may recur; None otherwise."""
    if coach is None or start_at is None:
        return None
    offer = recurrence_offer(coach=coach, session_type=session_type)
    if offer is None:
        return None
    query = urlencode(
        {"start": start_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "type": offer.session_type.slug}
    )
    weekday = start_at.astimezone(coach.zone).strftime("%A")
    return {
        "url": f"{reverse('coaching:coach_series', args=[coach.slug])}?{query}",
        "label": f"Book this time {offer.repeat_display} — up to {offer.max_occurrences} {weekday}s in one go",
    }
