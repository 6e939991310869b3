"""What the calendar and booking-panel templates need, shared by the booking views and the Wagtail
pages (CoachPage, WorkshopPage, BookingCalendarBlock), so every calendar on the site is one HTML."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from coaching.models import Coach, Workshop
from coaching.schedule import (
    MonthSchedule,
    get_month_schedule,
    get_workshops_month,
    seats_left,
    series_dates,
    waitlist_refusal,
    workshop_refusal,
)

from .forms import WaitlistForm, WorkshopBookingForm
from .parsing import month_param


def viewer_zone(request: HttpRequest | None) -> zoneinfo.ZoneInfo:
    zone = getattr(request, "user_timezone", None)
    return zone or zoneinfo.ZoneInfo(timezone.get_default_timezone_name())


def month_nav(schedule: MonthSchedule, *, base_url: str, today: date) -> dict:
    """Previous/next month links of a calendar (no "previous" before the viewer's current month)."""
    prev_year, prev_month = schedule.prev_month
    next_year, next_month = schedule.next_month
    can_go_back = (prev_year, prev_month) >= (today.year, today.month)
    return {
        "prev_url": f"{base_url}?{urlencode({'month': month_param(prev_year, prev_month)})}" if can_go_back else "",
        "next_url": f"{base_url}?{urlencode({'month': month_param(next_year, next_month)})}",
    }


def link_days(schedule: MonthSchedule, day_url: Callable[[date], str]) -> None:
    for day in schedule.days:
        day.url = day_url(day.date)


def schedule_context(schedule: MonthSchedule, *, zone: zoneinfo.ZoneInfo, base_url: str, today: date) -> dict:
    """The calendar region's context for any month grid."""
    return {
        "schedule": schedule,
        "zone": zone,
        "zone_name": zone.key,
        "today": today,
        "month_start": schedule.first_day,
        "workshop_offers": schedule.workshop_offers,
        **month_nav(schedule, base_url=base_url, today=today),
    }


def calendar_context(request: HttpRequest, *, coach: Coach | None, year: int | None = None, month: int | None = None):
    """A coach's booking calendar (or, with `coach=None`, the all-workshops calendar) in the viewer's zone."""
    zone = viewer_zone(request)
    today = timezone.now().astimezone(zone).date()
    if year is None or month is None:
        year, month = default_month(coach=coach, zone=zone, today=today)
    if coach is not None:
        schedule = get_month_schedule(coach=coach, year=year, month=month, tz=zone)
        base_url = reverse("coaching:coach_calendar", args=[coach.slug])
        link_days(schedule, lambda day: reverse("coaching:coach_day", args=[coach.slug, day.isoformat()]))
    else:
        schedule = get_workshops_month(year=year, month=month, tz=zone)
        base_url = reverse("coaching:workshops_calendar")
    return {"coach": coach, **schedule_context(schedule, zone=zone, base_url=base_url, today=today)}


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


def workshop_panel_context(request: HttpRequest, workshop: Workshop, *, form=None) -> dict:
    """The "book a seat" panel of a workshop, including whether it can be booked now and why not,
    and whether its waiting list can be joined instead."""
    now = timezone.now()
    left = seats_left(workshop, now=now)
    zone = viewer_zone(request)
    refusal = workshop_refusal(workshop, seats_left=left, now=now)
    waitlist_refused = waitlist_refusal(workshop, seats_left=left, now=now)
    return {
        "waitlist_open": waitlist_refused is None,
        "waitlist_refusal": waitlist_refused,
        "waitlist_action": reverse("coaching:workshop_waitlist", args=[workshop.slug]),
        "workshop": workshop,
        "seats_left": left,
        "bookable": refusal is None,
        "refusal": refusal,
        "slot_start": workshop.start_at,
        "slot_end": workshop.end_at,
        "form": form or WorkshopBookingForm(seats_left=left),
        "form_action": reverse("coaching:workshop_book", args=[workshop.slug]),
        "close_url": f"{reverse('coaching:workshops_calendar')}?"
        + urlencode({"month": workshop.start_at.astimezone(zone).strftime("%Y-%m")}),
        "price_display": "Free" if workshop.is_free else f"{workshop.price_display} per seat",
        "zone": zone,
    }


def workshop_page_context(request: HttpRequest, workshop: Workshop) -> dict:
    """A workshop's own page (pages.WorkshopPage): its booking panel, the waiting-list form when it
    is sold out, and every upcoming date of its series."""
    context = workshop_panel_context(request, workshop)
    if context["waitlist_open"]:
        context["waitlist_form"] = WaitlistForm()
    context["series_dates"] = series_dates(workshop)
    return context
